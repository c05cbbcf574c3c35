import Foundation
import Store
import Testing
import Timekeeping

/// The connection-related contract (R1–R4): activation, choosing, the tenant lock, reset,
/// sessions, OAuth states and sealed tokens, held the same for SQLite and memory.
@Suite struct ConnectionContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    @Test(arguments: Backend.allCases)
    func r1_activateMovesInactiveToActiveAndIsIdempotent(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        #expect(try h.accounts.activate(accountId: a).state == .active)
        #expect(try h.accounts.activate(accountId: a).state == .active)
        try h.accounts.connect(accountId: a, tenantId: "T1", tenantName: "One")
        #expect(try h.accounts.activate(accountId: a).state == .connected)
        #expect { try h.accounts.activate(accountId: "nope") } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func r2_choosingKeepsTheOfferUntilOneIsConnected(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        _ = try h.accounts.activate(accountId: a)
        #expect(try h.accounts.offeredTenants(accountId: a).isEmpty)
        try h.accounts.setChoosing(accountId: a, tenants: [OfferedTenant(tenantId: "T2", tenantName: "Two"),
                                                           OfferedTenant(tenantId: "T1", tenantName: "One")])
        #expect(try h.accounts.connection(accountId: a)?.state == .choosing)
        #expect(try h.accounts.offeredTenants(accountId: a) == [OfferedTenant(tenantId: "t2", tenantName: "Two"),
                                                                 OfferedTenant(tenantId: "t1", tenantName: "One")])
        try h.accounts.connect(accountId: a, tenantId: "T1", tenantName: "One")
        #expect(try h.accounts.offeredTenants(accountId: a).isEmpty)
        let c = try #require(try h.accounts.connection(accountId: a))
        #expect(c.state == .connected && c.tenantId == "t1" && c.tenantName == "One")
        #expect(try h.accounts.connection(tenantId: "T1")?.accountId == a)
        // Locked: no more choosing, no other tenant.
        #expect { try h.accounts.setChoosing(accountId: a, tenants: []) } throws: { code($0) == .locked }
        #expect { try h.accounts.connect(accountId: a, tenantId: "t9", tenantName: "Nine") } throws: { code($0) == .locked }
        #expect(try h.accounts.connection(accountId: a) == c)
    }

    @Test(arguments: Backend.allCases)
    func r3_theSameTenantReconnectsAndResetClearsTheLockAndTokens(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        try h.accounts.connect(accountId: a, tenantId: "t1", tenantName: "One")
        let connectedAt = try h.accounts.connection(accountId: a)?.connectedAt
        #expect(try h.accounts.markNeedsReconnect(accountId: a))
        #expect(try !h.accounts.markNeedsReconnect(accountId: a))
        #expect(try h.accounts.connection(accountId: a)?.state == .needsReconnect)
        h.clock.advance(milliseconds: 60_000)
        try h.accounts.connect(accountId: a, tenantId: "t1", tenantName: "One Ltd")
        let again = try #require(try h.accounts.connection(accountId: a))
        #expect(again.state == .connected && again.tenantName == "One Ltd" && again.connectedAt == connectedAt)

        try h.tokens.saveTokens(accountId: a, SealedXeroTokens(accessToken: [1], refreshToken: [2], accessExpiresAt: 5))
        try h.accounts.reset(accountId: a)
        #expect(try h.accounts.connection(accountId: a) == AccountConnection(accountId: a, state: .active, tenantId: nil,
                                                                           tenantName: nil, connectedAt: nil))
        #expect(try h.tokens.tokens(accountId: a) == nil)
        #expect(try h.accounts.connection(tenantId: "t1") == nil)
        // Another account may now take the tenant; a fresh connect of this one may use another.
        try h.accounts.connect(accountId: a, tenantId: "t2", tenantName: "Two")
        #expect { try h.accounts.reset(accountId: "nope") } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func r4_needsReconnectOnlyFromConnected(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        #expect(try !h.accounts.markNeedsReconnect(accountId: a))
        #expect(try h.accounts.connection(accountId: a)?.state == .inactive)
    }

    @Test(arguments: Backend.allCases)
    func r4_tokensAreReplacedWhole(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        #expect(try h.tokens.tokens(accountId: a) == nil)
        let t1 = SealedXeroTokens(accessToken: [1, 2], refreshToken: [3], accessExpiresAt: 10)
        let t2 = SealedXeroTokens(accessToken: [4], refreshToken: [5, 6], accessExpiresAt: 20)
        try h.tokens.saveTokens(accountId: a, t1)
        try h.tokens.saveTokens(accountId: a, t2)
        #expect(try h.tokens.tokens(accountId: a) == t2)
        try h.tokens.deleteTokens(accountId: a)
        #expect(try h.tokens.tokens(accountId: a) == nil)
        #expect { try h.tokens.saveTokens(accountId: "nope", t1) } throws: { code($0) == .notFound }
    }

    /// A re-seal (key rotation) replaces tokens only while they are what it read.
    @Test(arguments: Backend.allCases)
    func tokensAreReplacedOnlyWhileStillAsExpected(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let t1 = SealedXeroTokens(accessToken: [1, 2], refreshToken: [3], accessExpiresAt: 10)
        let t2 = SealedXeroTokens(accessToken: [4], refreshToken: [5, 6], accessExpiresAt: 20)
        let t3 = SealedXeroTokens(accessToken: [7], refreshToken: [8], accessExpiresAt: 10)
        #expect(try !h.tokens.replaceTokens(accountId: a, expected: t1, with: t2))   // nothing stored
        #expect(try h.tokens.tokens(accountId: a) == nil)
        try h.tokens.saveTokens(accountId: a, t1)
        #expect(try !h.tokens.replaceTokens(accountId: a, expected: t3, with: t2))   // not what is stored
        #expect(try !h.tokens.replaceTokens(accountId: a, expected: SealedXeroTokens(accessToken: [1, 2], refreshToken: [3],
                                                                                   accessExpiresAt: 11), with: t2))
        #expect(try h.tokens.tokens(accountId: a) == t1)
        #expect(try h.tokens.replaceTokens(accountId: a, expected: t1, with: t2))
        #expect(try h.tokens.tokens(accountId: a) == t2)
    }

    @Test(arguments: Backend.allCases)
    func sessionsExpireAndEndWithTheirStates(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let admin = try h.accounts.createAccount(name: "A")
        let now = h.clock.nowMilliseconds()
        let s = Array(repeating: UInt8(7), count: 32), state = Array(repeating: UInt8(9), count: 32)
        try h.sessions.createSession(tokenHash: s, userId: admin.userId, expiresAt: now + 1000, now: now)
        #expect(try h.sessions.session(tokenHash: s, now: now)?.user == User(id: admin.userId, accountId: admin.accountId, role: .admin))
        #expect(try h.sessions.session(tokenHash: s, now: now + 1000) == nil)
        #expect(try h.sessions.session(tokenHash: [1], now: now) == nil)
        #expect { try h.sessions.createSession(tokenHash: [2], userId: "nobody", expiresAt: now + 1, now: now) } throws: {
            code($0) == .notFound
        }
        let record = OAuthStateRecord(sessionHash: s, accountId: admin.accountId!, expiresAt: now + 600_000)
        try h.sessions.createOAuthState(stateHash: state, record: record)
        #expect(try h.sessions.spendOAuthState(stateHash: state) == record)
        #expect(try h.sessions.spendOAuthState(stateHash: state) == nil)   // single use
        try h.sessions.createOAuthState(stateHash: state, record: record)
        try h.sessions.deleteSession(tokenHash: s)
        #expect(try h.sessions.session(tokenHash: s, now: now) == nil)
        #expect(try h.sessions.spendOAuthState(stateHash: state) == nil)   // gone with its session
    }

    @Test(arguments: Backend.allCases)
    func r2_oauthStatesDoNotPileUpASessionKeepsItsNewestTenAndExpiredOnesGo(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let admin = try h.accounts.createAccount(name: "A")
        let now = h.clock.nowMilliseconds()
        let session = Array(repeating: UInt8(3), count: 32)
        func state(_ n: Int) -> [UInt8] { Array(repeating: UInt8(n), count: 32) }
        let expired = OAuthStateRecord(sessionHash: Array(repeating: UInt8(4), count: 32), accountId: admin.accountId!,
                                       expiresAt: now - 1)
        try h.sessions.createOAuthState(stateHash: state(99), record: expired)
        for n in 1...12 {
            try h.sessions.createOAuthState(stateHash: state(n), record: OAuthStateRecord(
                sessionHash: session, accountId: admin.accountId!, expiresAt: now + OAuthStateRecord.lifetime + Int64(n)))
        }
        #expect(try h.sessions.spendOAuthState(stateHash: state(99)) == nil)  // expired: purged
        #expect(try h.sessions.spendOAuthState(stateHash: state(1)) == nil)   // the oldest two retired
        #expect(try h.sessions.spendOAuthState(stateHash: state(2)) == nil)
        for n in 3...12 { #expect(try h.sessions.spendOAuthState(stateHash: state(n)) != nil) }
    }
}
