import Logging
import Crypto
import Store
import Synchronization
import Timekeeping
import Xero

/// What refreshes a Xero token set: `XeroIdentityClient` in production, a fake in tests.
public protocol XeroTokenRefresher: Sendable {
    /// A new access token and the rotated refresh token; `.invalidGrant` when Xero refuses it.
    func refresh(_ refreshToken: String) throws(XeroAPIError) -> XeroTokenResponse
}

extension XeroIdentityClient: XeroTokenRefresher {}

/// The plain tokens of one account, as the token manager hands them out.
public struct XeroTokenSet: Sendable, Equatable {
    public let accessToken: String
    public let refreshToken: String
    /// Milliseconds since the epoch.
    public let accessExpiresAt: Int64
}

/// Xero tokens for every connected account (R4): sealed at rest with AES-256-GCM under the
/// token-seal subkey of the gateway's secret key (the account id as associated data), refreshed
/// ahead of expiry, one refresh at a time per account however many threads ask (the others
/// wait and reuse it) and however many gateways share the store (its refresh lock), the
/// rotated refresh token committed durably before the new access token is handed out.
///
/// Key rotation: tokens are always sealed under the current key's subkey; they open under, in
/// turn, the current key's subkey, the current key itself (seals made before subkeys existed),
/// then the previous key's subkey and the previous key itself (`GATEWAY_SECRET_KEY_PREVIOUS`).
/// Every refresh re-seals an account's tokens under the current subkey; `resealAll` does it
/// for every account at once.
///
/// `invalid_grant` marks the connection `needs_reconnect` and nothing else; a timeout or a 5xx
/// is just an error (tokens kept, state kept). Blocking: call it from worker threads.
public final class XeroTokenManager: XeroAccessTokenSource {
    let accounts: any AccountRepository
    let store: any XeroTokenRepository
    let refresher: any XeroTokenRefresher
    /// Seals with the current key's token-seal subkey; opens with the keys `sealingKeys` lists.
    let cipher: AESGCMKeyRing
    let clock: any WallClock
    /// Refresh when the access token has less than this left (milliseconds).
    public let refreshAhead: Int64
    /// One gate per account: the refresh (and the read before it) happens under it.
    private let gates = Mutex<[String: Gate]>([:])
    /// Told (a warning) when Xero refused an account's refresh token (state now `needs_reconnect`).
    let logger: Logger

    final class Gate: Sendable {
        let lock = Mutex(())
    }

    /// `secretKey` is `GATEWAY_SECRET_KEY` (32 bytes), `previousSecretKey` the one it replaced
    /// (`GATEWAY_SECRET_KEY_PREVIOUS`), if any.
    public init(accounts: any AccountRepository, tokens: any XeroTokenRepository, refresher: any XeroTokenRefresher,
                secretKey: [UInt8], previousSecretKey: [UInt8]? = nil, clock: any WallClock = SystemWallClock(),
                refreshAhead: Int64 = 120_000, logger: Logger = Logger(label: "xero-gateway.tokens")) throws {
        self.accounts = accounts
        store = tokens
        self.refresher = refresher
        cipher = try AESGCMKeyRing(keys: XeroTokenManager.sealingKeys(current: SecretKey(secretKey),
                                                                      previous: previousSecretKey.map(SecretKey.init)))
        self.clock = clock
        self.refreshAhead = refreshAhead
        self.logger = logger
    }

    /// The keys tokens open under, in the order tried; the first seals. Today's seals are under
    /// the token-seal subkey; seals made before subkeys existed are under the raw key.
    static func sealingKeys(current: SecretKey, previous: SecretKey?) -> [[UInt8]] {
        var keys = [current.subkey(.tokenSeal), current.raw]
        if let previous { keys += [previous.subkey(.tokenSeal), previous.raw] }
        return keys
    }

    // MARK: - XeroAccessTokenSource

    public func accessToken(for tenantId: String, rejected: String?) throws(XeroAPIError) -> String {
        let connection: AccountConnection?
        do { connection = try accounts.connection(tenantId: tenantId) } catch {
            throw XeroAPIError(.unexpected, message: "token store unavailable: \(error)")
        }
        guard let connection else {
            throw XeroAPIError(.forbidden, message: "no SortScape account is connected to tenant \(tenantId)")
        }
        return try accessToken(accountId: connection.accountId, rejected: rejected)
    }

    /// A usable access token for the account: the stored one while it has more than
    /// `refreshAhead` left (and is not `rejected`), else a refreshed one.
    public func accessToken(accountId: String, rejected: String? = nil) throws(XeroAPIError) -> String {
        try gate(accountId).lock.withLock { _ throws(XeroAPIError) -> String in
            // Most calls find a usable token: this process's gate is all they take.
            let stored = try currentTokens(accountId: accountId)
            if usable(stored, rejected: rejected) { return stored.accessToken }
            // A refresh takes the store's lock too, for every instance sharing the store: the
            // read, the refresh and the store happen one at a time per account, so a rotated
            // refresh token is never sent twice.
            let outcome: Result<String, XeroAPIError>
            do {
                outcome = try store.withRefreshLock(accountId: accountId) {
                    Result { () throws(XeroAPIError) -> String in
                        // Another instance may have refreshed while this one waited.
                        let current = try currentTokens(accountId: accountId)
                        if usable(current, rejected: rejected) { return current.accessToken }
                        return try refresh(accountId: accountId, current)
                    }
                }
            } catch {
                throw XeroAPIError(.unexpected, message: "token store unavailable: \(error)")
            }
            return try outcome.get()
        }
    }

    /// Whether `tokens`' access token has more than `refreshAhead` left and is not `rejected`.
    private func usable(_ tokens: XeroTokenSet, rejected: String?) -> Bool {
        tokens.accessExpiresAt - clock.nowMilliseconds() > refreshAhead && tokens.accessToken != rejected
    }

    /// The account's stored tokens, or why there are none to use.
    private func currentTokens(accountId: String) throws(XeroAPIError) -> XeroTokenSet {
        let state: ConnectionState?
        do { state = try accounts.connection(accountId: accountId)?.state } catch {
            throw XeroAPIError(.unexpected, message: "token store unavailable: \(error)")
        }
        if state == .needsReconnect {
            throw XeroAPIError(.invalidGrant, message: "the Xero connection needs to be reconnected")
        }
        let current: XeroTokenSet?
        do { current = try tokens(accountId: accountId) } catch {
            throw XeroAPIError(.unexpected, message: "stored tokens unreadable: \(error)")
        }
        guard let current else { throw XeroAPIError(.unauthorized, message: "the account has no Xero tokens") }
        return current
    }

    /// Refreshes `current` at Xero and stores the rotated tokens durably; the new access token.
    private func refresh(accountId: String, _ current: XeroTokenSet) throws(XeroAPIError) -> String {
        let response: XeroTokenResponse
        do throws(XeroAPIError) { response = try refresher.refresh(current.refreshToken) } catch {
            // Only the grant this refresh used can be declared dead: tokens a new consent
            // stored meanwhile (a reconnect) are not.
            if error.code == .invalidGrant, (try? tokens(accountId: accountId))??.refreshToken == current.refreshToken {
                _ = try? accounts.markNeedsReconnect(accountId: accountId)
                logger.warning("Xero refused the refresh token; connection needs reconnect", metadata: ["accountId": "\(accountId)"])
            }
            throw error
        }
        do {
            // Durable before the new access token leaves this function (rotation: the old
            // refresh token stops working once Xero's grace runs out).
            try save(accountId: accountId, response, keepRefreshToken: current.refreshToken)
        } catch {
            throw XeroAPIError(.unexpected, message: "could not store the refreshed tokens: \(error)")
        }
        return response.accessToken
    }

    // MARK: - storing

    /// The per-account lock every refresh and every consent's save take, so a refresh in flight
    /// and a reconnect cannot overwrite each other's tokens.
    func gate(_ accountId: String) -> Gate {
        gates.withLock { g -> Gate in
            if let existing = g[accountId] { return existing }
            let new = Gate()
            g[accountId] = new
            return new
        }
    }

    /// Stores the tokens of a new consent (a connect or a reconnect), after any refresh in
    /// flight for the account has finished.
    public func replace(accountId: String, _ response: XeroTokenResponse) throws {
        try gate(accountId).lock.withLock { _ in try save(accountId: accountId, response) }
    }

    /// Runs `body` holding the account's lock, the one every refresh and `replace` take, so a
    /// whole connect (decide, store the tokens, lock the tenant, or put back what was there) is
    /// one step for every other consent and refresh of the account. Inside, store with `save`
    /// (never `replace` or `accessToken`, which take the lock again), and call no one slow.
    func withAccountLock<T>(_ accountId: String, _ body: () throws -> T) rethrows -> T {
        try gate(accountId).lock.withLock { _ in try body() }
    }

    /// Seals and stores a token response (from a code exchange or a refresh), durably.
    public func save(accountId: String, _ response: XeroTokenResponse, keepRefreshToken: String? = nil) throws {
        guard let refresh = response.refreshToken ?? keepRefreshToken else {
            throw XeroAPIError(.unreadable, message: "Xero gave no refresh token (is offline_access among the scopes?)")
        }
        let ad = Array(accountId.utf8)
        let sealed = SealedXeroTokens(
            accessToken: try cipher.seal(Array(response.accessToken.utf8), associatedData: ad),
            refreshToken: try cipher.seal(Array(refresh.utf8), associatedData: ad),
            accessExpiresAt: clock.nowMilliseconds() + Int64(min(max(response.expiresIn, 0), 86_400)) * 1000)
        try store.saveTokens(accountId: accountId, sealed)
    }

    /// The account's tokens in the clear, if it has any.
    public func tokens(accountId: String) throws -> XeroTokenSet? {
        guard let sealed = try store.tokens(accountId: accountId) else { return nil }
        let ad = Array(accountId.utf8)
        let access = try cipher.open(sealed.accessToken, associatedData: ad).plaintext
        let refresh = try cipher.open(sealed.refreshToken, associatedData: ad).plaintext
        return XeroTokenSet(accessToken: String(decoding: access, as: UTF8.self),
                            refreshToken: String(decoding: refresh, as: UTF8.self),
                            accessExpiresAt: sealed.accessExpiresAt)
    }

    /// Forgets the account's tokens.
    public func delete(accountId: String) throws { try store.deleteTokens(accountId: accountId) }

    // MARK: - key rotation

    /// What `resealAll` did.
    public struct ResealReport: Sendable, Equatable {
        /// Accounts whose tokens were sealed under an older key (or the raw key) and now are
        /// under the current key's subkey.
        public var resealed = 0
        /// Accounts whose tokens were already under the current key's subkey.
        public var current = 0
        /// Accounts whose tokens no key opens (left as they are: a support reset clears them).
        public var unreadable: [String] = []

        public init(resealed: Int = 0, current: Int = 0, unreadable: [String] = []) {
            self.resealed = resealed
            self.current = current
            self.unreadable = unreadable
        }
    }

    /// Re-seals every stored token set under the current key's subkey, so the previous key can
    /// be retired. Safe while the gateway serves: a set written meanwhile (a refresh, in this
    /// process or another) is never overwritten; it was sealed under the writer's current key
    /// and is read again.
    public func resealAll() throws -> ResealReport {
        var report = ResealReport()
        for account in try accounts.accounts() {
            switch try reseal(accountId: account.id) {
            case .none: break
            case .resealed: report.resealed += 1
            case .current: report.current += 1
            case .unreadable: report.unreadable.append(account.id)
            }
        }
        return report
    }

    enum ResealOutcome { case none, resealed, current, unreadable }

    func reseal(accountId: String) throws -> ResealOutcome {
        try gate(accountId).lock.withLock { _ throws -> ResealOutcome in
            let ad = Array(accountId.utf8)
            for _ in 0..<5 {
                guard let sealed = try store.tokens(accountId: accountId) else { return .none }
                guard let access = try? cipher.open(sealed.accessToken, associatedData: ad),
                      let refresh = try? cipher.open(sealed.refreshToken, associatedData: ad) else { return .unreadable }
                if access.keyIndex == 0 && refresh.keyIndex == 0 { return .current }
                let fresh = SealedXeroTokens(accessToken: try cipher.seal(access.plaintext, associatedData: ad),
                                             refreshToken: try cipher.seal(refresh.plaintext, associatedData: ad),
                                             accessExpiresAt: sealed.accessExpiresAt)
                if try store.replaceTokens(accountId: accountId, expected: sealed, with: fresh) { return .resealed }
            }
            throw XeroAPIError(.unexpected, message: "the tokens of account \(accountId) kept changing while being resealed")
        }
    }
}

extension SecretKey.Purpose {
    /// Seals Xero tokens at rest (AES-256-GCM).
    public static let tokenSeal = SecretKey.Purpose(info: "xero-gateway token seal v1")
}
