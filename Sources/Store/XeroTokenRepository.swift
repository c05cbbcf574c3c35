import Timekeeping
/// An account's Xero tokens as stored: each sealed (AES-256-GCM, the account id as associated
/// data) by whoever saves them; the store never sees them in the clear.
public struct SealedXeroTokens: Sendable, Equatable {
    public let accessToken: [UInt8]
    public let refreshToken: [UInt8]
    /// When the access token expires, milliseconds since the epoch.
    public let accessExpiresAt: Int64

    public init(accessToken: [UInt8], refreshToken: [UInt8], accessExpiresAt: Int64) {
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.accessExpiresAt = accessExpiresAt
    }
}

/// Sealed Xero tokens, one set per account (R4).
public protocol XeroTokenRepository: Sendable {
    /// Replaces the account's tokens; committed durably before it returns (a rotated refresh
    /// token must survive a crash before the new access token is used). `.notFound` for an
    /// unknown account.
    func saveTokens(accountId: String, _ tokens: SealedXeroTokens) throws(StoreError)
    func tokens(accountId: String) throws(StoreError) -> SealedXeroTokens?
    func deleteTokens(accountId: String) throws(StoreError)
    /// Replaces the account's tokens only while they are still `expected`, byte for byte
    /// (durably, as `saveTokens`); false when another writer changed or removed them meanwhile,
    /// so a re-seal never undoes a refresh's rotation.
    func replaceTokens(accountId: String, expected: SealedXeroTokens, with tokens: SealedXeroTokens) throws(StoreError) -> Bool
    /// Runs `body` holding the account's refresh lock for every process using this store, so
    /// the read, refresh and store of a rotated refresh token happen one at a time per account
    /// across them (PostgreSQL: an advisory lock keyed by the account, for every gateway; SQLite:
    /// a file lock, for a `xero-gateway sync` beside the server). The memory store, one
    /// process's, runs `body` as it is: the caller's own lock is enough.
    func withRefreshLock<T>(accountId: String, _ body: () -> T) throws(StoreError) -> T
}

extension XeroTokenRepository {
    public func withRefreshLock<T>(accountId: String, _ body: () -> T) throws(StoreError) -> T { body() }
}

/// Tokens in SQLite (`xero_tokens`).
public typealias SQLiteXeroTokenRepository = SQLXeroTokenRepository<Database>
/// Tokens in PostgreSQL (`xero_tokens`), with the refresh lock every gateway on the database sees.
public typealias PostgresXeroTokenRepository = SQLXeroTokenRepository<PostgresDatabase>

/// Tokens in either SQL store (`xero_tokens`), written once.
public final class SQLXeroTokenRepository<DB: SQLDatabase>: XeroTokenRepository {
    let db: DB
    let clock: any WallClock

    public init(database: DB, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    public func saveTokens(accountId: String, _ tokens: SealedXeroTokens) throws(StoreError) {
        let now = clock.timestamp()
        try db.write(durable: true) { c in
            guard try !c.query("SELECT 1 FROM accounts WHERE id = ?", [.text(accountId)]).isEmpty else {
                throw AccountRules.noAccount(accountId)
            }
            try c.run("""
                INSERT INTO xero_tokens (account_id, access_token, refresh_token, access_expires_at, updated_at)
                VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (account_id) DO UPDATE SET access_token = excluded.access_token,
                    refresh_token = excluded.refresh_token, access_expires_at = excluded.access_expires_at,
                    updated_at = excluded.updated_at
                """, [.text(accountId), .blob(tokens.accessToken), .blob(tokens.refreshToken),
                      .integer(tokens.accessExpiresAt), .text(now)])
        }
    }

    public func tokens(accountId: String) throws(StoreError) -> SealedXeroTokens? {
        try db.read { c in
            guard let row = try c.query("""
                SELECT access_token, refresh_token, access_expires_at FROM xero_tokens WHERE account_id = ?
                """, [.text(accountId)]).first else { return nil }
            return SealedXeroTokens(accessToken: row.blob("access_token") ?? [], refreshToken: row.blob("refresh_token") ?? [],
                                    accessExpiresAt: Int64(row.int("access_expires_at") ?? 0))
        }
    }

    public func deleteTokens(accountId: String) throws(StoreError) {
        try db.write(durable: true) { c in try c.run("DELETE FROM xero_tokens WHERE account_id = ?", [.text(accountId)]) }
    }

    public func replaceTokens(accountId: String, expected: SealedXeroTokens, with tokens: SealedXeroTokens) throws(StoreError) -> Bool {
        let now = clock.timestamp()
        return try db.write(durable: true) { c in
            try c.run("""
                UPDATE xero_tokens SET access_token = ?, refresh_token = ?, access_expires_at = ?, updated_at = ?
                WHERE account_id = ? AND access_token = ? AND refresh_token = ? AND access_expires_at = ?
                """, [.blob(tokens.accessToken), .blob(tokens.refreshToken), .integer(tokens.accessExpiresAt), .text(now),
                      .text(accountId), .blob(expected.accessToken), .blob(expected.refreshToken),
                      .integer(expected.accessExpiresAt)])
            return c.changes == 1
        }
    }

    /// The advisory lock key (with a hash of the schema and account) of an account's refresh.
    static var refreshLockKey: Int32 { 30825 }

    public func withRefreshLock<T>(accountId: String, _ body: () -> T) throws(StoreError) -> T {
        // A rotated refresh token must never be sent twice, whoever else uses the database: on
        // PostgreSQL every gateway sharing it (an advisory lock keyed by the account), on SQLite
        // a `xero-gateway sync` beside the server (a lock on the database's `-locks` file).
        if let postgres = db as? PostgresDatabase { return try postgres.withAdvisoryLock(Self.refreshLockKey, name: accountId, body) }
        if let sqlite = db as? Database { return try sqlite.withFileLock(name: "refresh " + accountId, body) }
        return body()
    }
}

/// Tokens in memory, for tests.
public final class MemoryXeroTokenRepository: XeroTokenRepository {
    public let store: MemoryStore

    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    public func saveTokens(accountId: String, _ tokens: SealedXeroTokens) throws(StoreError) {
        try store.tables.withLock { t throws(StoreError) in
            guard t.accounts[accountId] != nil else { throw AccountRules.noAccount(accountId) }
            t.xeroTokens[accountId] = tokens
        }
    }

    public func tokens(accountId: String) throws(StoreError) -> SealedXeroTokens? {
        store.tables.withLock { $0.xeroTokens[accountId] }
    }

    public func deleteTokens(accountId: String) throws(StoreError) {
        store.tables.withLock { $0.xeroTokens[accountId] = nil }
    }

    public func replaceTokens(accountId: String, expected: SealedXeroTokens, with tokens: SealedXeroTokens) throws(StoreError) -> Bool {
        store.tables.withLock { t in
            guard t.xeroTokens[accountId] == expected else { return false }
            t.xeroTokens[accountId] = tokens
            return true
        }
    }
}
