import Timekeeping
/// Sessions and OAuth states in PostgreSQL (`admin_sessions`, `oauth_states`).
public final class PostgresSessionRepository: SessionRepository {
    let db: PostgresDatabase

    public init(database: PostgresDatabase) { db = database }

    public func createSession(tokenHash: [UInt8], userId: String, expiresAt: Int64, now: Int64) throws(StoreError) {
        try db.write { c in
            guard try !c.query("SELECT 1 FROM users WHERE id = ?", [.text(userId)]).isEmpty else {
                throw StoreError(code: .notFound, message: "no user with id \(userId)")
            }
            try c.run("DELETE FROM oauth_states WHERE expires_at <= ?", [.integer(now)])
            try c.run("DELETE FROM admin_sessions WHERE expires_at <= ?", [.integer(now)])
            try c.run("INSERT INTO admin_sessions (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                      [.blob(tokenHash), .text(userId), .integer(expiresAt), .text(Timestamp.format(millisecondsSinceEpoch: now))])
            // The cap: all but the user's newest few (seqs grow with every insert) end.
            let older = """
                SELECT token_hash FROM admin_sessions WHERE user_id = ?1 AND token_hash NOT IN
                    (SELECT token_hash FROM admin_sessions WHERE user_id = ?1 ORDER BY seq DESC LIMIT ?2)
                """
            let args: [SQLValue] = [.text(userId), .integer(Int64(AdminSession.maxPerUser))]
            try c.run("DELETE FROM oauth_states WHERE session_hash IN (\(older))", args)
            try c.run("DELETE FROM admin_sessions WHERE token_hash IN (\(older))", args)
        }
    }

    public func session(tokenHash: [UInt8], now: Int64) throws(StoreError) -> AdminSession? {
        try db.read { c in
            guard let row = try c.query("""
                SELECT u.id, u.account_id, u.role, s.expires_at FROM admin_sessions s JOIN users u ON u.id = s.user_id
                WHERE s.token_hash = ? AND s.expires_at > ? AND u.revoked_at IS NULL
                """, [.blob(tokenHash), .integer(now)]).first,
                let id = row.string("id"), let role = row.string("role").flatMap(Role.init(rawValue:)),
                let expires = row.int("expires_at") else { return nil }
            return AdminSession(user: User(id: id, accountId: row.string("account_id"), role: role), expiresAt: Int64(expires))
        }
    }

    public func deleteSession(tokenHash: [UInt8]) throws(StoreError) {
        try db.write { c in
            try c.run("DELETE FROM oauth_states WHERE session_hash = ?", [.blob(tokenHash)])
            try c.run("DELETE FROM admin_sessions WHERE token_hash = ?", [.blob(tokenHash)])
        }
    }

    @discardableResult
    public func deleteSessions(userId: String) throws(StoreError) -> Int {
        try db.write { c in try PostgresSessionRepository.endSessions(userId: userId, c) }
    }

    /// Ends every session of the user and their OAuth states, inside the caller's transaction
    /// (revoking or rotating a token does it in the same one); returns how many ended.
    @discardableResult
    static func endSessions(userId: String, _ c: PostgresConnection) throws -> Int {
        try c.run("DELETE FROM oauth_states WHERE session_hash IN (SELECT token_hash FROM admin_sessions WHERE user_id = ?)",
                  [.text(userId)])
        try c.run("DELETE FROM admin_sessions WHERE user_id = ?", [.text(userId)])
        return c.changes
    }

    public func createOAuthState(stateHash: [UInt8], record: OAuthStateRecord) throws(StoreError) {
        try db.write { c in
            // States are not left to pile up: expired ones go (a state lives OAuthState.lifetime),
            // and a session keeps only its newest few.
            try c.run("DELETE FROM oauth_states WHERE expires_at <= ?", [.integer(record.expiresAt - OAuthStateRecord.lifetime)])
            try c.run("""
                DELETE FROM oauth_states WHERE session_hash = ? AND state_hash NOT IN
                    (SELECT state_hash FROM oauth_states WHERE session_hash = ? ORDER BY expires_at DESC LIMIT ?)
                """, [.blob(record.sessionHash), .blob(record.sessionHash), .integer(Int64(OAuthStateRecord.maxPerSession - 1))])
            try c.run("INSERT INTO oauth_states (state_hash, session_hash, account_id, expires_at) VALUES (?, ?, ?, ?)",
                      [.blob(stateHash), .blob(record.sessionHash), .text(record.accountId), .integer(record.expiresAt)])
        }
    }

    public func spendOAuthState(stateHash: [UInt8]) throws(StoreError) -> OAuthStateRecord? {
        try db.write { c in
            guard let row = try c.query("SELECT session_hash, account_id, expires_at FROM oauth_states WHERE state_hash = ?",
                                        [.blob(stateHash)]).first else { return nil }
            try c.run("DELETE FROM oauth_states WHERE state_hash = ?", [.blob(stateHash)])
            return OAuthStateRecord(sessionHash: row.blob("session_hash") ?? [], accountId: row.string("account_id") ?? "",
                                    expiresAt: Int64(row.int("expires_at") ?? 0))
        }
    }
}

