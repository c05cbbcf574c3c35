import Timekeeping
/// Accounts, users and connection routing in SQLite (`accounts`, `users`, `xero_connections`).
public typealias SQLiteAccountRepository = SQLAccountRepository<Database>
/// Accounts, users and connection routing in PostgreSQL (the same tables).
public typealias PostgresAccountRepository = SQLAccountRepository<PostgresDatabase>

/// Accounts, users and connection routing in either SQL store, written once.
public final class SQLAccountRepository<DB: SQLDatabase>: AccountRepository {
    let db: DB
    let clock: any WallClock

    /// A repository over `database`; timestamps come from `clock`.
    public init(database: DB, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    private func write<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try db.write(durable: true, body)
    }

    public func createAccount(name: String) throws(StoreError) -> IssuedUser {
        let name = try AccountRules.accountName(name)
        let accountId = AccountRules.newID(), userId = AccountRules.newID(), token = AccountRules.newToken()
        let now = clock.timestamp()
        try write { c in
            try c.run("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                      [.text(accountId), .text(name), .text(now)])
            try c.run("INSERT INTO xero_connections (account_id, state) VALUES (?, ?)",
                      [.text(accountId), .text(ConnectionState.inactive.rawValue)])
            try c.run("INSERT INTO users (id, account_id, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                      [.text(userId), .text(accountId), .text(Role.admin.rawValue), .blob(AccountRules.hash(token)), .text(now)])
        }
        return IssuedUser(accountId: accountId, userId: userId, role: .admin, token: token)
    }

    public func createUser(accountId: String?, role: Role) throws(StoreError) -> IssuedUser {
        try AccountRules.checkRole(role, accountId: accountId)
        let userId = AccountRules.newID(), token = AccountRules.newToken()
        let now = clock.timestamp()
        try write { c in
            if let accountId {
                guard try !c.query("SELECT 1 FROM accounts WHERE id = ?", [.text(accountId)]).isEmpty else {
                    throw AccountRules.noAccount(accountId)
                }
            }
            try c.run("INSERT INTO users (id, account_id, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                      [.text(userId), accountId.map { .text($0) } ?? .null, .text(role.rawValue),
                       .blob(AccountRules.hash(token)), .text(now)])
        }
        return IssuedUser(accountId: accountId, userId: userId, role: role, token: token)
    }

    public func authenticate(token: String) throws(StoreError) -> User? {
        guard token.utf8.count <= AccountRules.maxTokenBytes else { return nil }
        let h = AccountRules.hash(token)
        return try db.read { c in
            guard let row = try c.query("SELECT id, account_id, role FROM users WHERE token_hash = ? AND revoked_at IS NULL",
                                        [.blob(h)]).first,
                  let id = row.string("id"), let role = row.string("role").flatMap(Role.init(rawValue:)) else { return nil }
            return User(id: id, accountId: row.string("account_id"), role: role)
        }
    }

    public func users(accountId: String?) throws(StoreError) -> [UserRecord] {
        try db.read { c in
            let rows = try accountId.map {
                try c.query("""
                    SELECT id, account_id, role, created_at, revoked_at FROM users WHERE account_id = ? ORDER BY created_at, \(c.dialect.insertionOrder)
                    """, [.text($0)])
            } ?? c.query("SELECT id, account_id, role, created_at, revoked_at FROM users ORDER BY created_at, \(c.dialect.insertionOrder)", [])
            return try rows.map { row in
                guard let role = Role(rawValue: row.string("role") ?? "") else {
                    throw StoreError(code: .corrupt, message: "unknown role \(row.string("role") ?? "NULL")")
                }
                return UserRecord(id: row.string("id") ?? "", accountId: row.string("account_id"), role: role,
                                  createdAt: row.string("created_at") ?? "", revokedAt: row.string("revoked_at"))
            }
        }
    }

    @discardableResult
    public func revokeUser(id: String) throws(StoreError) -> Int {
        let now = clock.timestamp()
        return try write { c in
            guard try !c.query("SELECT 1 FROM users WHERE id = ?", [.text(id)]).isEmpty else { throw AccountRules.noUser(id) }
            try c.run("UPDATE users SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", [.text(now), .text(id)])
            return try SessionRules.endSessions(userId: id, c)
        }
    }

    public func rotateToken(userId: String) throws(StoreError) -> IssuedUser {
        let token = AccountRules.newToken()
        return try write { c in
            guard let row = try c.query("SELECT account_id, role, revoked_at FROM users WHERE id = ?", [.text(userId)]).first,
                  let role = Role(rawValue: row.string("role") ?? "") else { throw AccountRules.noUser(userId) }
            if row.string("revoked_at") != nil { throw AccountRules.revoked(userId) }
            try c.run("UPDATE users SET token_hash = ? WHERE id = ?", [.blob(AccountRules.hash(token)), .text(userId)])
            try SessionRules.endSessions(userId: userId, c)
            return IssuedUser(accountId: row.string("account_id"), userId: userId, role: role, token: token)
        }
    }

    public func accounts() throws(StoreError) -> [Account] {
        try db.read { c in
            try c.query("SELECT id, name FROM accounts ORDER BY created_at, id", []).map {
                Account(id: $0.string("id") ?? "", name: $0.string("name") ?? "")
            }
        }
    }

    public func connections() throws(StoreError) -> [AccountConnection] {
        try db.read { c in
            try c.query("SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections ORDER BY account_id", [])
                .map(AccountConnection.init(row:))
        }
    }

    public func connection(accountId: String) throws(StoreError) -> AccountConnection? {
        try db.read { c in
            try c.query("SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections WHERE account_id = ?",
                        [.text(accountId)]).first.map(AccountConnection.init(row:))
        }
    }

    public func connect(accountId: String, tenantId: String, tenantName: String) throws(StoreError) {
        let tenant = tenantId.lowercased()
        let now = clock.timestamp()
        try write { c in
            let current = try c.query("SELECT tenant_id, tenant_name FROM xero_connections WHERE account_id = ?",
                                      [.text(accountId)])
            guard let row = current.first else { throw AccountRules.noAccount(accountId) }
            if let locked = row.string("tenant_id"), locked != tenant { throw AccountRules.locked(row.string("tenant_name")) }
            try c.run("DELETE FROM xero_offered_tenants WHERE account_id = ?", [.text(accountId)])
            try c.run("""
                UPDATE xero_connections SET state = ?, tenant_id = ?, tenant_name = ?,
                       connected_at = COALESCE(connected_at, ?) WHERE account_id = ?
                """, [.text(ConnectionState.connected.rawValue), .text(tenant), .text(tenantName), .text(now), .text(accountId)])
            guard c.changes == 1 else { throw AccountRules.noAccount(accountId) }
            try c.run("UPDATE webhook_events SET account_id = ?, state = ? WHERE tenant_id = ? AND state = ?",
                      [.text(accountId), .text(InboxEventState.pending.rawValue), .text(tenant),
                       .text(InboxEventState.unrouted.rawValue)])
        }
    }

    public func activate(accountId: String) throws(StoreError) -> AccountConnection {
        try write { c in
            try c.run("UPDATE xero_connections SET state = ? WHERE account_id = ? AND state = ?",
                      [.text(ConnectionState.active.rawValue), .text(accountId), .text(ConnectionState.inactive.rawValue)])
            guard let row = try c.query("""
                SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections WHERE account_id = ?
                """, [.text(accountId)]).first else { throw AccountRules.noAccount(accountId) }
            return try AccountConnection(row: row)
        }
    }

    public func setChoosing(accountId: String, tenants: [OfferedTenant]) throws(StoreError) {
        try write { c in
            guard let row = try c.query("SELECT tenant_id, tenant_name FROM xero_connections WHERE account_id = ?",
                                        [.text(accountId)]).first else { throw AccountRules.noAccount(accountId) }
            if row.string("tenant_id") != nil { throw AccountRules.locked(row.string("tenant_name")) }
            try c.run("DELETE FROM xero_offered_tenants WHERE account_id = ?", [.text(accountId)])
            for (i, t) in tenants.enumerated() {
                try c.run("""
                    INSERT INTO xero_offered_tenants (account_id, tenant_id, tenant_name, position) VALUES (?, ?, ?, ?)
                    ON CONFLICT (account_id, tenant_id) DO NOTHING
                    """, [.text(accountId), .text(t.tenantId.lowercased()), .text(t.tenantName), .integer(Int64(i))])
            }
            try c.run("UPDATE xero_connections SET state = ? WHERE account_id = ?",
                      [.text(ConnectionState.choosing.rawValue), .text(accountId)])
        }
    }

    public func offeredTenants(accountId: String) throws(StoreError) -> [OfferedTenant] {
        try db.read { c in
            try c.query("""
                SELECT o.tenant_id, o.tenant_name FROM xero_offered_tenants o
                JOIN xero_connections x ON x.account_id = o.account_id AND x.state = 'choosing'
                WHERE o.account_id = ? ORDER BY o.position
                """, [.text(accountId)]).map {
                OfferedTenant(tenantId: $0.string("tenant_id") ?? "", tenantName: $0.string("tenant_name") ?? "")
            }
        }
    }

    @discardableResult
    public func markNeedsReconnect(accountId: String) throws(StoreError) -> Bool {
        try write { c in
            try c.run("UPDATE xero_connections SET state = ? WHERE account_id = ? AND state = ?",
                      [.text(ConnectionState.needsReconnect.rawValue), .text(accountId),
                       .text(ConnectionState.connected.rawValue)])
            return c.changes == 1
        }
    }

    public func reset(accountId: String) throws(StoreError) {
        try write { c in
            try c.run("""
                UPDATE xero_connections SET state = ?, tenant_id = NULL, tenant_name = NULL, connected_at = NULL
                WHERE account_id = ?
                """, [.text(ConnectionState.active.rawValue), .text(accountId)])
            guard c.changes == 1 else { throw AccountRules.noAccount(accountId) }
            try c.run("DELETE FROM xero_offered_tenants WHERE account_id = ?", [.text(accountId)])
            try c.run("DELETE FROM xero_tokens WHERE account_id = ?", [.text(accountId)])
        }
    }

    public func organisationTimezone(tenantId: String) throws(StoreError) -> String? {
        try db.read { c in
            try c.query("SELECT timezone FROM organisation_timezones WHERE tenant_id = ?", [.text(tenantId.lowercased())])
                .first?.string("timezone")
        }
    }

    public func setOrganisationTimezone(tenantId: String, timezone: String) throws(StoreError) {
        try write { c in
            try c.run("INSERT INTO organisation_timezones (tenant_id, timezone) VALUES (?, ?) "
                      + "ON CONFLICT (tenant_id) DO UPDATE SET timezone = excluded.timezone",
                      [.text(tenantId.lowercased()), .text(timezone)])
        }
    }

    public func connection(tenantId: String) throws(StoreError) -> AccountConnection? {
        try db.read { c in
            try c.query("""
                SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections WHERE tenant_id = ?
                """, [.text(tenantId.lowercased())]).first.map(AccountConnection.init(row:))
        }
    }

    public func connectionCounts() throws(StoreError) -> [ConnectionState: Int] {
        try db.read { c in
            var m: [ConnectionState: Int] = [:]
            for r in try c.query("SELECT state, COUNT(*) AS n FROM xero_connections GROUP BY state", []) {
                if let s = r.string("state").flatMap(ConnectionState.init(rawValue:)) { m[s] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    public func connections(afterAccountId: String?, limit: Int) throws(StoreError) -> [AccountConnection] {
        try db.read { c in
            try c.query("""
                SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections
                WHERE account_id > ? ORDER BY account_id LIMIT ?
                """, [.text(afterAccountId ?? ""), .integer(Int64(max(1, min(limit, 1000))))]).map(AccountConnection.init(row:))
        }
    }

    /// Tenant id (lowercase) → account id, for every account with a tenant. Read it inside the
    /// transaction that uses it, so a connection made meanwhile cannot be missed.
    static func tenantRoutes(_ c: some SQLConnection) throws -> [String: String] {
        var m: [String: String] = [:]
        for row in try c.query("SELECT account_id, tenant_id FROM xero_connections WHERE tenant_id IS NOT NULL", []) {
            if let t = row.string("tenant_id"), let a = row.string("account_id") { m[t] = a }
        }
        return m
    }
}

extension AccountConnection {
    init(row: Row) throws {
        guard let state = ConnectionState(rawValue: row.string("state") ?? "") else {
            throw StoreError(code: .corrupt, message: "unknown connection state \(row.string("state") ?? "NULL")")
        }
        self.init(accountId: row.string("account_id") ?? "", state: state,
                  tenantId: row.string("tenant_id"), tenantName: row.string("tenant_name"),
                  connectedAt: row.string("connected_at"))
    }
}
