import Timekeeping
/// A signed-in browser session of `/admin`: whose it is and until when.
public struct AdminSession: Sendable, Equatable {
    /// Live sessions one user may hold; signing in once more ends the oldest.
    public static let maxPerUser = 10

    public let user: User
    /// Milliseconds since the epoch.
    public let expiresAt: Int64

    public init(user: User, expiresAt: Int64) {
        self.user = user
        self.expiresAt = expiresAt
    }
}

/// An OAuth `state` handed out by `/oauth/xero/connect` (R2): bound to the session (by the
/// hash of its cookie) and the account, valid until `expiresAt`.
public struct OAuthStateRecord: Sendable, Equatable {
    /// How long a state is good for (milliseconds): 10 minutes (R2).
    public static let lifetime: Int64 = 10 * 60 * 1000
    /// Live states one session may hold; a newer one retires the oldest.
    public static let maxPerSession = 10

    public let sessionHash: [UInt8]
    public let accountId: String
    /// Milliseconds since the epoch.
    public let expiresAt: Int64

    public init(sessionHash: [UInt8], accountId: String, expiresAt: Int64) {
        self.sessionHash = sessionHash
        self.accountId = accountId
        self.expiresAt = expiresAt
    }
}

/// Browser sessions and OAuth states. Only SHA-256 hashes of cookie and state values are
/// given to it and kept; the values themselves never reach the store.
///
/// Implementations: `SQLiteSessionRepository` and `MemorySessionRepository`; one contract test
/// suite runs against both.
public protocol SessionRepository: Sendable {
    /// Records a session for `userId` (`.notFound` if there is no such user), forgets sessions
    /// and states that expired before `now`, and ends the user's oldest sessions beyond
    /// `AdminSession.maxPerUser` (with their OAuth states).
    func createSession(tokenHash: [UInt8], userId: String, expiresAt: Int64, now: Int64) throws(StoreError)
    /// The session's user, if the session exists, has not expired at `now` and its user is not revoked.
    func session(tokenHash: [UInt8], now: Int64) throws(StoreError) -> AdminSession?
    /// Ends a session and the OAuth states bound to it.
    func deleteSession(tokenHash: [UInt8]) throws(StoreError)
    /// Ends every session of the user and their OAuth states ("sign out everywhere"); returns
    /// how many sessions ended.
    @discardableResult
    func deleteSessions(userId: String) throws(StoreError) -> Int
    /// Records an OAuth state.
    func createOAuthState(stateHash: [UInt8], record: OAuthStateRecord) throws(StoreError)
    /// Removes the state and returns what it was bound to: a state is spent by its first use,
    /// whatever that use's outcome. Nil when unknown (forged or already spent).
    func spendOAuthState(stateHash: [UInt8]) throws(StoreError) -> OAuthStateRecord?
}

/// Sessions and OAuth states in SQLite (`admin_sessions`, `oauth_states`).
public typealias SQLiteSessionRepository = SQLSessionRepository<Database>
/// Sessions and OAuth states in PostgreSQL (the same tables).
public typealias PostgresSessionRepository = SQLSessionRepository<PostgresDatabase>

/// Sessions and OAuth states in either SQL store, written once.
public final class SQLSessionRepository<DB: SQLDatabase>: SessionRepository {
    let db: DB

    public init(database: DB) { db = database }

    private func write<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try db.write(durable: true, body)
    }

    public func createSession(tokenHash: [UInt8], userId: String, expiresAt: Int64, now: Int64) throws(StoreError) {
        try write { c in
            guard try !c.query("SELECT 1 FROM users WHERE id = ?", [.text(userId)]).isEmpty else {
                throw StoreError(code: .notFound, message: "no user with id \(userId)")
            }
            try c.run("DELETE FROM oauth_states WHERE expires_at <= ?", [.integer(now)])
            try c.run("DELETE FROM admin_sessions WHERE expires_at <= ?", [.integer(now)])
            try c.run("INSERT INTO admin_sessions (token_hash, user_id, expires_at, created_at) VALUES (?, ?, ?, ?)",
                      [.blob(tokenHash), .text(userId), .integer(expiresAt), .text(Timestamp.format(millisecondsSinceEpoch: now))])
            // The cap: all but the user's newest few (rowids, or seqs, grow with every insert) end.
            let older = """
                SELECT token_hash FROM admin_sessions WHERE user_id = ?1 AND token_hash NOT IN
                    (SELECT token_hash FROM admin_sessions WHERE user_id = ?1 ORDER BY \(c.dialect.insertionOrder) DESC LIMIT ?2)
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
        try write { c in
            try c.run("DELETE FROM oauth_states WHERE session_hash = ?", [.blob(tokenHash)])
            try c.run("DELETE FROM admin_sessions WHERE token_hash = ?", [.blob(tokenHash)])
        }
    }

    @discardableResult
    public func deleteSessions(userId: String) throws(StoreError) -> Int {
        try write { c in try SessionRules.endSessions(userId: userId, c) }
    }

    public func createOAuthState(stateHash: [UInt8], record: OAuthStateRecord) throws(StoreError) {
        try write { c in
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
        try write { c in
            guard let row = try c.query("SELECT session_hash, account_id, expires_at FROM oauth_states WHERE state_hash = ?",
                                        [.blob(stateHash)]).first else { return nil }
            try c.run("DELETE FROM oauth_states WHERE state_hash = ?", [.blob(stateHash)])
            return OAuthStateRecord(sessionHash: row.blob("session_hash") ?? [], accountId: row.string("account_id") ?? "",
                                    expiresAt: Int64(row.int("expires_at") ?? 0))
        }
    }
}

/// What both SQL stores do alike to sessions.
enum SessionRules {
    /// Ends every session of the user and their OAuth states, inside the caller's transaction
    /// (revoking or rotating a token does it in the same one); returns how many ended.
    @discardableResult
    static func endSessions(userId: String, _ c: some SQLConnection) throws -> Int {
        try c.run("DELETE FROM oauth_states WHERE session_hash IN (SELECT token_hash FROM admin_sessions WHERE user_id = ?)",
                  [.text(userId)])
        try c.run("DELETE FROM admin_sessions WHERE user_id = ?", [.text(userId)])
        return c.changes
    }
}

/// Sessions and OAuth states in memory, for tests; shares a `MemoryStore` with the other
/// memory repositories.
public final class MemorySessionRepository: SessionRepository {
    public let store: MemoryStore

    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    public func createSession(tokenHash: [UInt8], userId: String, expiresAt: Int64, now: Int64) throws(StoreError) {
        try store.tables.withLock { t throws(StoreError) in
            guard t.users.values.contains(where: { $0.user.id == userId }) else {
                throw StoreError(code: .notFound, message: "no user with id \(userId)")
            }
            t.oauthStates = t.oauthStates.filter { $0.value.expiresAt > now }
            t.sessions = t.sessions.filter { $0.value.expiresAt > now }
            guard t.sessions[tokenHash] == nil else { throw MemoryAccountRepository.conflict("admin_sessions.token_hash") }
            t.sequence += 1
            t.sessions[tokenHash] = MemoryStore.MemorySession(userId: userId, expiresAt: expiresAt, seq: t.sequence)
            let mine = t.sessions.filter { $0.value.userId == userId }.sorted { $0.value.seq > $1.value.seq }
            for old in mine.dropFirst(AdminSession.maxPerUser) { t.endSession(old.key) }
        }
    }

    public func session(tokenHash: [UInt8], now: Int64) throws(StoreError) -> AdminSession? {
        store.tables.withLock { t in
            guard let s = t.sessions[tokenHash], s.expiresAt > now,
                  let stored = t.users.values.first(where: { $0.user.id == s.userId }), stored.revokedAt == nil else { return nil }
            return AdminSession(user: stored.user, expiresAt: s.expiresAt)
        }
    }

    public func deleteSession(tokenHash: [UInt8]) throws(StoreError) {
        store.tables.withLock { $0.endSession(tokenHash) }
    }

    @discardableResult
    public func deleteSessions(userId: String) throws(StoreError) -> Int {
        store.tables.withLock { $0.endSessions(userId: userId) }
    }

    public func createOAuthState(stateHash: [UInt8], record: OAuthStateRecord) throws(StoreError) {
        try store.tables.withLock { t throws(StoreError) in
            guard t.accounts[record.accountId] != nil else { throw MemoryAccountRepository.conflict("oauth_states.account_id") }
            guard t.oauthStates[stateHash] == nil else { throw MemoryAccountRepository.conflict("oauth_states.state_hash") }
            t.oauthStates = t.oauthStates.filter { $0.value.expiresAt > record.expiresAt - OAuthStateRecord.lifetime }
            let mine = t.oauthStates.filter { $0.value.sessionHash == record.sessionHash }
                .sorted { $0.value.expiresAt > $1.value.expiresAt }
            for old in mine.dropFirst(OAuthStateRecord.maxPerSession - 1) { t.oauthStates[old.key] = nil }
            t.oauthStates[stateHash] = record
        }
    }

    public func spendOAuthState(stateHash: [UInt8]) throws(StoreError) -> OAuthStateRecord? {
        store.tables.withLock { $0.oauthStates.removeValue(forKey: stateHash) }
    }
}
