import Crypto
import Foundation
import Store
import Synchronization
import Sync
import Testing
import Timekeeping
import Xero

/// A token endpoint in memory: counts refreshes, rotates, and can refuse or fail.
final class FakeRefresher: XeroTokenRefresher {
    enum Mode { case rotate, invalidGrant, serverError, timeout }
    let calls = Mutex(0)
    let mode = Mutex(Mode.rotate)
    /// Runs while a refresh is at Xero (to change the world meanwhile).
    let during = Mutex<(@Sendable () -> Void)?>(nil)

    func refresh(_ refreshToken: String) throws(XeroAPIError) -> XeroTokenResponse {
        let n = calls.withLock { n -> Int in n += 1; return n }
        Thread.sleep(forTimeInterval: 0.05)   // long enough for every waiter to pile up
        during.withLock { $0 }?()
        switch mode.withLock({ $0 }) {
        case .rotate:
            return XeroTokenResponse(idToken: nil, accessToken: "access-\(n)", expiresIn: 1800, refreshToken: "refresh-\(n)",
                                     scope: "offline_access")
        case .invalidGrant: throw XeroAPIError(.invalidGrant, status: 400, message: "invalid_grant")
        case .serverError: throw XeroAPIError(.server, status: 503, message: "503")
        case .timeout: throw XeroAPIError(.timeout, message: "timed out")
        }
    }
}

/// A token store whose writes can be made to fail (a full disk, a lost database), reads still
/// working.
final class FailingTokenStore: XeroTokenRepository {
    static let writeFailed = StoreError(code: .sqlite(13), message: "database or disk is full")
    let inner: any XeroTokenRepository
    let failWrites = Mutex(false)

    init(_ inner: any XeroTokenRepository) { self.inner = inner }

    func saveTokens(accountId: String, _ tokens: SealedXeroTokens) throws(StoreError) {
        if failWrites.withLock({ $0 }) { throw FailingTokenStore.writeFailed }
        try inner.saveTokens(accountId: accountId, tokens)
    }
    func tokens(accountId: String) throws(StoreError) -> SealedXeroTokens? { try inner.tokens(accountId: accountId) }
    func deleteTokens(accountId: String) throws(StoreError) { try inner.deleteTokens(accountId: accountId) }
    func replaceTokens(accountId: String, expected: SealedXeroTokens, with tokens: SealedXeroTokens) throws(StoreError) -> Bool {
        if failWrites.withLock({ $0 }) { throw FailingTokenStore.writeFailed }
        return try inner.replaceTokens(accountId: accountId, expected: expected, with: tokens)
    }
    func withRefreshLock<T>(accountId: String, _ body: () -> T) throws(StoreError) -> T {
        try inner.withRefreshLock(accountId: accountId, body)
    }
}

@Suite struct XeroTokenManagerTests {
    let clock = TestWallClock()
    let store: MemoryStore
    let accounts: MemoryAccountRepository
    let tokens: MemoryXeroTokenRepository
    let refresher = FakeRefresher()
    let manager: XeroTokenManager
    let accountId: String

    init() throws {
        store = MemoryStore(clock: clock)
        accounts = MemoryAccountRepository(store: store)
        tokens = MemoryXeroTokenRepository(store: store)
        manager = try XeroTokenManager(accounts: accounts, tokens: tokens, refresher: refresher,
                                       secretKey: Crypto.randomBytes(32), clock: clock)
        accountId = try accounts.createAccount(name: "A").accountId!
        try accounts.connect(accountId: accountId, tenantId: "t1", tenantName: "One")
        try manager.save(accountId: accountId, XeroTokenResponse(idToken: nil, accessToken: "access-0", expiresIn: 1800,
                                                                 refreshToken: "refresh-0", scope: "offline_access"))
    }

    @Test func r4_tokensAreSealedWithTheAccountAsAssociatedData() throws {
        let sealed = try #require(try tokens.tokens(accountId: accountId))
        #expect(!sealed.accessToken.contains(subsequence: Array("access-0".utf8)))
        #expect(!sealed.refreshToken.contains(subsequence: Array("refresh-0".utf8)))
        // Moved to another account's row, they do not open.
        let other = try accounts.createAccount(name: "B").accountId!
        try tokens.saveTokens(accountId: other, sealed)
        #expect(throws: (any Error).self) { try manager.tokens(accountId: other) }
    }

    @Test func r4_aFreshTokenIsReusedAndAnExpiringOneRefreshedOnceForTenConcurrentCallers() throws {
        #expect(try manager.accessToken(for: "T1", rejected: nil) == "access-0")
        #expect(refresher.calls.withLock { $0 } == 0)
        clock.advance(milliseconds: 29 * 60 * 1000)   // under two minutes left
        let results = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 10) { _ in
            let t = (try? manager.accessToken(for: "t1", rejected: nil)) ?? "failed"
            results.withLock { $0.append(t) }
        }
        #expect(refresher.calls.withLock { $0 } == 1)
        #expect(results.withLock { $0 } == Array(repeating: "access-1", count: 10))
        #expect(try manager.tokens(accountId: accountId)?.refreshToken == "refresh-1")
    }

    @Test func r4_aRejectedTokenIsReplaced() throws {
        #expect(try manager.accessToken(for: "t1", rejected: "access-0") == "access-1")
        #expect(try manager.accessToken(for: "t1", rejected: "access-0") == "access-1")   // already replaced
        #expect(refresher.calls.withLock { $0 } == 1)
    }

    @Test func r4_invalidGrantMarksNeedsReconnectAndKeepsEverythingElse() throws {
        refresher.mode.withLock { $0 = .invalidGrant }
        clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try manager.accessToken(for: "t1", rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        let c = try #require(try accounts.connection(accountId: accountId))
        #expect(c.state == .needsReconnect && c.tenantId == "t1")
        // No more calls to Xero until the admin reconnects.
        #expect { try manager.accessToken(for: "t1", rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        #expect(refresher.calls.withLock { $0 } == 1)
    }

    @Test(arguments: [FakeRefresher.Mode.serverError, .timeout])
    func r4_aServerErrorOrTimeoutIsNotInvalidGrant(_ mode: FakeRefresher.Mode) throws {
        refresher.mode.withLock { $0 = mode }
        clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try manager.accessToken(for: "t1", rejected: nil) } throws: {
            let code = ($0 as? XeroAPIError)?.code
            return code == (mode == .timeout ? .timeout : .server)
        }
        #expect(try accounts.connection(accountId: accountId)?.state == .connected)
        #expect(try manager.tokens(accountId: accountId)?.refreshToken == "refresh-0")
        refresher.mode.withLock { $0 = .rotate }
        #expect(try manager.accessToken(for: "t1", rejected: nil) == "access-2")
    }

    @Test func r4_whenTheRotatedTokensCannotBeStoredTheNewAccessTokenIsNotHandedOut() throws {
        let failing = FailingTokenStore(tokens)
        let manager = try XeroTokenManager(accounts: accounts, tokens: failing, refresher: refresher,
                                           secretKey: Crypto.randomBytes(32), clock: clock)
        try manager.save(accountId: accountId, XeroTokenResponse(idToken: nil, accessToken: "access-0", expiresIn: 1800,
                                                                 refreshToken: "refresh-0", scope: "offline_access"))
        clock.advance(milliseconds: 29 * 60 * 1000)   // under two minutes left: the next call refreshes
        failing.failWrites.withLock { $0 = true }
        var handedOut: String?
        var refusal: XeroAPIError?
        do throws(XeroAPIError) { handedOut = try manager.accessToken(for: "t1", rejected: nil) } catch { refusal = error }
        #expect(handedOut == nil, "an access token was handed out though its rotated refresh token was not stored")
        #expect(refusal != nil && refusal?.code != .invalidGrant)
        #expect(refresher.calls.withLock { $0 } == 1)
        // Nothing half-stored, and a store failure is not a refused grant.
        #expect(try manager.tokens(accountId: accountId)?.refreshToken == "refresh-0")
        #expect(try manager.tokens(accountId: accountId)?.accessToken == "access-0")
        #expect(try accounts.connection(accountId: accountId)?.state == .connected)
        // Once the store takes writes again, the next call refreshes and stores before handing out.
        failing.failWrites.withLock { $0 = false }
        #expect(try manager.accessToken(for: "t1", rejected: nil) == "access-2")
        #expect(try manager.tokens(accountId: accountId)?.refreshToken == "refresh-2")
    }

    @Test func anUnknownTenantIsRefused() {
        #expect { try manager.accessToken(for: "nobody", rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .forbidden }
    }

    @Test func r4_aRefusedRefreshOfAGrantAReconnectReplacedMeanwhileDoesNotMarkNeedsReconnect() throws {
        let manager = self.manager, accountId = self.accountId
        refresher.mode.withLock { $0 = .invalidGrant }
        // While the old grant's refresh is at Xero, new tokens arrive (a store write outside the
        // account's lock, as a reset or another process would make).
        refresher.during.withLock { $0 = {
            try? manager.save(accountId: accountId, XeroTokenResponse(idToken: nil, accessToken: "access-new", expiresIn: 1800,
                                                                     refreshToken: "refresh-new", scope: "offline_access"))
        } }
        clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try manager.accessToken(for: "t1", rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        #expect(try accounts.connection(accountId: accountId)?.state == .connected)
        #expect(try manager.tokens(accountId: accountId)?.refreshToken == "refresh-new")
    }
}

/// Key rotation: `GATEWAY_SECRET_KEY_PREVIOUS` opens old seals; a re-seal retires it.
@Suite struct TokenKeyRotationTests {
    let clock = TestWallClock()
    let store: MemoryStore
    let accounts: MemoryAccountRepository
    let tokens: MemoryXeroTokenRepository
    let old = Crypto.randomBytes(32), new = Crypto.randomBytes(32)
    let accountId: String

    init() throws {
        store = MemoryStore(clock: clock)
        accounts = MemoryAccountRepository(store: store)
        tokens = MemoryXeroTokenRepository(store: store)
        accountId = try accounts.createAccount(name: "A").accountId!
        try accounts.connect(accountId: accountId, tenantId: "t1", tenantName: "One")
    }

    func manager(_ key: [UInt8], previous: [UInt8]? = nil) throws -> XeroTokenManager {
        try XeroTokenManager(accounts: accounts, tokens: tokens, refresher: FakeRefresher(), secretKey: key,
                             previousSecretKey: previous, clock: clock)
    }

    static let response = XeroTokenResponse(idToken: nil, accessToken: "access-0", expiresIn: 1800, refreshToken: "refresh-0",
                                            scope: "offline_access")

    /// Seals the way the gateway did before subkeys: AES-256-GCM under the raw key.
    func sealUnderRawKey(_ key: [UInt8], accountId: String) throws {
        let box = try AESGCM(key: key), ad = Array(accountId.utf8)
        try tokens.saveTokens(accountId: accountId, SealedXeroTokens(
            accessToken: try box.seal(Array("access-0".utf8), associatedData: ad),
            refreshToken: try box.seal(Array("refresh-0".utf8), associatedData: ad),
            accessExpiresAt: clock.nowMilliseconds() + 1_800_000))
    }

    @Test func tokensAreSealedUnderTheTokenSealSubkeyNotTheRawKey() throws {
        try manager(new).save(accountId: accountId, Self.response)
        let sealed = try #require(try tokens.tokens(accountId: accountId))
        let ad = Array(accountId.utf8)
        #expect(throws: CryptoError.self) { try AESGCM(key: new).open(sealed.refreshToken, associatedData: ad) }
        let subkey = try SecretKey(new).subkey(.tokenSeal)
        #expect(try AESGCM(key: subkey).open(sealed.refreshToken, associatedData: ad) == Array("refresh-0".utf8))
    }

    @Test func sealsMadeUnderTheRawKeyBeforeSubkeysStillOpen() throws {
        try sealUnderRawKey(new, accountId: accountId)
        #expect(try manager(new).tokens(accountId: accountId)?.refreshToken == "refresh-0")
    }

    @Test(arguments: [false, true])
    func aTokenSealedUnderThePreviousKeyOpensOnlyWithThePreviousKeySet(_ rawSeal: Bool) throws {
        if rawSeal {
            try sealUnderRawKey(old, accountId: accountId)
        } else {
            try manager(old).save(accountId: accountId, Self.response)
        }
        #expect(throws: CryptoError.self) { try manager(new).tokens(accountId: accountId) }
        #expect(try manager(new, previous: old).tokens(accountId: accountId)?.refreshToken == "refresh-0")
        #expect(try manager(new, previous: old).accessToken(for: "t1", rejected: nil) == "access-0")
    }

    @Test func resealMakesOldSealsReadableWithoutThePreviousKey() throws {
        let b = try accounts.createAccount(name: "B").accountId!, c = try accounts.createAccount(name: "C").accountId!
        let d = try accounts.createAccount(name: "D").accountId!
        _ = try accounts.createAccount(name: "E (no tokens)")
        try manager(old).save(accountId: accountId, Self.response)           // previous key's subkey
        try sealUnderRawKey(old, accountId: b)                                // previous raw key
        try manager(new).save(accountId: c, Self.response)                    // already current
        try sealUnderRawKey(Crypto.randomBytes(32), accountId: d)             // a key nobody has
        let expiresBefore = try #require(try tokens.tokens(accountId: accountId)).accessExpiresAt
        clock.advance(milliseconds: 60_000)

        let report = try manager(new, previous: old).resealAll()
        #expect(report == XeroTokenManager.ResealReport(resealed: 2, current: 1, unreadable: [d]))
        for id in [accountId, b, c] {
            let set = try manager(new).tokens(accountId: id)
            #expect(set?.accessToken == "access-0" && set?.refreshToken == "refresh-0")
        }
        #expect(try tokens.tokens(accountId: accountId)?.accessExpiresAt == expiresBefore)  // expiry kept
        // Again: nothing left to do.
        #expect(try manager(new, previous: old).resealAll() == XeroTokenManager.ResealReport(resealed: 0, current: 3, unreadable: [d]))
    }

    @Test func aResealNeverOverwritesTokensARefreshWroteMeanwhile() throws {
        try manager(old).save(accountId: accountId, Self.response)
        let stale = try #require(try tokens.tokens(accountId: accountId))
        // Another process refreshes (sealing under the new key) between the re-seal's read and write.
        try manager(new).save(accountId: accountId, XeroTokenResponse(
            idToken: nil, accessToken: "access-1", expiresIn: 1800, refreshToken: "refresh-1", scope: "offline_access"))
        let rotated = try #require(try tokens.tokens(accountId: accountId))
        #expect(try !tokens.replaceTokens(accountId: accountId, expected: stale, with: stale))
        #expect(try tokens.tokens(accountId: accountId) == rotated)
        #expect(try manager(new, previous: old).resealAll() == XeroTokenManager.ResealReport(resealed: 0, current: 1, unreadable: []))
        #expect(try manager(new).tokens(accountId: accountId)?.refreshToken == "refresh-1")
    }
}

extension Array where Element == UInt8 {
    func contains(subsequence s: [UInt8]) -> Bool {
        guard !s.isEmpty, s.count <= count else { return false }
        return (0...(count - s.count)).contains { Array(self[$0..<($0 + s.count)]) == s }
    }
}

/// Ten callers, five on each of two token managers over `one` and `other` (two processes or
/// gateways on one database), around an expiring token: exactly one refresh, and every caller
/// gets the new token.
func expectTenCallersOnTwoMakeOneRefresh<DB: SQLDatabase>(_ one: DB, _ other: DB) throws {
    let clock = TestWallClock(), refresher = FakeRefresher(), key = Crypto.randomBytes(32)
    let managers = try [one, other].map { db in
        try XeroTokenManager(accounts: SQLAccountRepository(database: db, clock: clock),
                             tokens: SQLXeroTokenRepository(database: db, clock: clock),
                             refresher: refresher, secretKey: key, clock: clock)
    }
    let accounts = SQLAccountRepository(database: one, clock: clock)
    let accountId = try #require(try accounts.createAccount(name: "A").accountId)
    try accounts.connect(accountId: accountId, tenantId: "t1", tenantName: "One")
    try managers[0].save(accountId: accountId, XeroTokenResponse(idToken: nil, accessToken: "access-0", expiresIn: 1800,
                                                                 refreshToken: "refresh-0", scope: "offline_access"))
    clock.advance(milliseconds: 29 * 60 * 1000)   // under two minutes left
    let results = Mutex<[String]>([])
    DispatchQueue.concurrentPerform(iterations: 10) { i in
        let t = (try? managers[i % 2].accessToken(for: "t1", rejected: nil)) ?? "failed"
        results.withLock { $0.append(t) }
    }
    #expect(refresher.calls.withLock { $0 } == 1)
    #expect(results.withLock { $0 } == Array(repeating: "access-1", count: 10))
    #expect(try managers[1].tokens(accountId: accountId)?.refreshToken == "refresh-1")
}

/// A `xero-gateway sync` beside the server on one SQLite file: the refresh is one at a time per
/// account across the processes too (a lock on the database's `-locks` file). Two `Database`s
/// on one file stand for the two processes: the lock belongs to each call's own descriptor.
struct SQLiteSharedRefreshTests {
    @Test func r4_tenCallersOnTwoProcessesOfOneSQLiteFileMakeExactlyOneRefresh() throws {
        let path = NSTemporaryDirectory() + "xg-refresh-\(UUID().uuidString)/gateway.db"
        let one = try Database(path: path), other = try Database(path: path)
        defer { one.close(); other.close() }
        try expectTenCallersOnTwoMakeOneRefresh(one, other)
        var st = stat()
        #expect(stat(path + "-locks", &st) == 0 && st.st_mode & 0o777 == 0o600, "the lock file is private")
    }
}

/// Two gateways on one PostgreSQL database (issue 14): the refresh is one at a time per account
/// across them, so a rotated refresh token is sent to Xero once.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["XG_TEST_POSTGRES_URL"].map { !$0.isEmpty } == true,
                "XG_TEST_POSTGRES_URL is not set: scripts/test starts a PostgreSQL and sets it"))
struct SharedStoreRefreshTests {
    @Test func r4_tenCallersOnTwoInstancesAroundAnExpiringTokenMakeExactlyOneRefresh() throws {
        let url = try #require(ProcessInfo.processInfo.environment["XG_TEST_POSTGRES_URL"])
        let schema = "xg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let one = try PostgresDatabase(url: url, schema: schema), other = try PostgresDatabase(url: url, schema: schema)
        defer {
            try? one.write { c in try c.execute("DROP SCHEMA \(schema) CASCADE") }
            one.close()
            other.close()
        }
        try expectTenCallersOnTwoMakeOneRefresh(one, other)
    }
}
