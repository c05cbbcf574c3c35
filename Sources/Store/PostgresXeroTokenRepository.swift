import Timekeeping
/// Tokens in PostgreSQL (`xero_tokens`).
public final class PostgresXeroTokenRepository: XeroTokenRepository {
    let db: PostgresDatabase
    let clock: any WallClock

    public init(database: PostgresDatabase, clock: any WallClock = SystemWallClock()) {
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
        try db.write { c in try c.run("DELETE FROM xero_tokens WHERE account_id = ?", [.text(accountId)]) }
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
    static let refreshLockKey: Int32 = 30825

    public func withRefreshLock<T>(accountId: String, _ body: () -> T) throws(StoreError) -> T {
        try db.withAdvisoryLock(Self.refreshLockKey, name: accountId, body)
    }
}
