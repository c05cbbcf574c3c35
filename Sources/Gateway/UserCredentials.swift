import Store
import StrictJSON

/// What `xero-gateway user list|revoke|rotate-token` do, over the serve database: the command
/// line only parses its flags and prints these answers.
public enum UserCredentials {
    /// One JSON object per user, oldest first (every user, or one account's): `{"userId",
    /// "accountId", "role", "createdAt", "revokedAt"}`. Never a token: only hashes are stored.
    public static func list(accountId: String?, database: Database) throws -> [JSON] {
        try list(accountId: accountId, accounts: SQLiteAccountRepository(database: database))
    }

    /// `list` over any store's accounts (SQLite or PostgreSQL).
    public static func list(accountId: String?, accounts: any AccountRepository) throws -> [JSON] {
        try accounts.users(accountId: accountId).map { u in
            .object([
                ("userId", .string(u.id)),
                ("accountId", u.accountId.map(JSON.string) ?? .null),
                ("role", .string(u.role.rawValue)),
                ("createdAt", .string(u.createdAt)),
                ("revokedAt", u.revokedAt.map(JSON.string) ?? .null),
            ])
        }
    }

    /// Revokes the user's token for good and ends their sessions: `{"userId", "revokedAt",
    /// "sessionsEnded"}`. `StoreError` `.notFound` for an unknown user.
    public static func revoke(userId: String, database: Database) throws -> JSON {
        try revoke(userId: userId, accounts: SQLiteAccountRepository(database: database))
    }

    /// `revoke` over any store's accounts.
    public static func revoke(userId: String, accounts: any AccountRepository) throws -> JSON {
        let ended = try accounts.revokeUser(id: userId)
        let revokedAt = try accounts.users(accountId: nil).first { $0.id == userId }?.revokedAt
        return .object([
            ("userId", .string(userId)),
            ("revokedAt", revokedAt.map(JSON.string) ?? .null),
            ("sessionsEnded", .number(ended)),
        ])
    }

    /// A new token for the user (the old one stops working, their sessions end): `{"userId",
    /// "accountId", "role", "token"}`, the token shown this once. `.notFound`; `.conflict` for a
    /// revoked user.
    public static func rotateToken(userId: String, database: Database) throws -> JSON {
        try rotateToken(userId: userId, accounts: SQLiteAccountRepository(database: database))
    }

    /// `rotateToken` over any store's accounts.
    public static func rotateToken(userId: String, accounts: any AccountRepository) throws -> JSON {
        let u = try accounts.rotateToken(userId: userId)
        return .object([
            ("userId", .string(u.userId)),
            ("accountId", u.accountId.map(JSON.string) ?? .null),
            ("role", .string(u.role.rawValue)),
            ("token", .string(u.token)),
        ])
    }
}
