import Crypto
import Synchronization

/// A SortScape account.
public struct Account: Sendable, Equatable {
    public let id: String
    public let name: String
}

/// User roles. Operators run the gateway (all accounts' inbox, unrouted and quarantined
/// deliveries); they belong to no account.
public enum Role: String, Sendable, CaseIterable {
    case admin, staff, `operator`
}

/// An authenticated user.
public struct User: Sendable, Equatable {
    public let id: String
    public let accountId: String?
    public let role: Role
}

/// A freshly issued credential; the token is shown once and only its hash is stored.
public struct IssuedUser: Sendable {
    public let accountId: String?
    public let userId: String
    public let role: Role
    public let token: String
}

/// The state of an account's Xero connection.
public struct AccountConnection: Sendable, Equatable {
    public let accountId: String
    public let state: String
    public let tenantId: String?
    public let tenantName: String?
    public let connectedAt: String?
}

/// Accounts, users and their tokens, and the tenant → account routing of Xero connections.
public final class AccountStore: Sendable {
    let db: Database

    public init(database: Database) { db = database }

    public static func newID() -> String {
        var b = Crypto.randomBytes(16)
        b[6] = (b[6] & 0x0f) | 0x40
        b[8] = (b[8] & 0x3f) | 0x80
        let hex = b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
        let c = Array(hex)
        return String(c[0..<8]) + "-" + String(c[8..<12]) + "-" + String(c[12..<16]) + "-"
            + String(c[16..<20]) + "-" + String(c[20..<32])
    }

    static func newToken() -> String { "xgw_" + Base64.encodeURL(Crypto.randomBytes(32)) }
    static func hash(_ token: String) -> [UInt8] { Crypto.sha256(Array(token.utf8)) }

    /// Creates an account and its first admin.
    public func createAccount(name: String) throws -> IssuedUser {
        let trimmed = name.trimmingSpaces()
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw StoreError(code: "invalid_name", message: "account name must be 1 to 200 characters")
        }
        let accountId = AccountStore.newID(), userId = AccountStore.newID(), token = AccountStore.newToken()
        let now = Timestamp.now()
        try db.write { c in
            try c.run("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)",
                      [.text(accountId), .text(trimmed), .text(now)])
            try c.run("INSERT INTO xero_connections (account_id, state) VALUES (?, 'inactive')", [.text(accountId)])
            try c.run("INSERT INTO users (id, account_id, role, token_hash, created_at) VALUES (?, ?, 'admin', ?, ?)",
                      [.text(userId), .text(accountId), .blob(AccountStore.hash(token)), .text(now)])
        }
        return IssuedUser(accountId: accountId, userId: userId, role: .admin, token: token)
    }

    /// Creates a user; operators have no account, everyone else needs an existing one.
    public func createUser(accountId: String?, role: Role) throws -> IssuedUser {
        if role == .operator, accountId != nil {
            throw StoreError(code: "invalid_role", message: "an operator belongs to no account; omit --account")
        }
        if role != .operator, accountId == nil {
            throw StoreError(code: "invalid_account", message: "\(role.rawValue) users need --account")
        }
        let userId = AccountStore.newID(), token = AccountStore.newToken()
        try db.write { c in
            if let accountId {
                guard try !c.query("SELECT 1 FROM accounts WHERE id = ?", [.text(accountId)]).isEmpty else {
                    throw StoreError(code: "not_found", message: "no account with id \(accountId)")
                }
            }
            try c.run("INSERT INTO users (id, account_id, role, token_hash, created_at) VALUES (?, ?, ?, ?, ?)",
                      [.text(userId), accountId.map { .text($0) } ?? .null, .text(role.rawValue),
                       .blob(AccountStore.hash(token)), .text(Timestamp.now())])
        }
        return IssuedUser(accountId: accountId, userId: userId, role: role, token: token)
    }

    /// The user a bearer token belongs to, if any.
    public func authenticate(token: String) throws -> User? {
        guard token.utf8.count <= 200 else { return nil }
        let h = AccountStore.hash(token)
        return try db.read { c in
            guard let row = try c.query("SELECT id, account_id, role FROM users WHERE token_hash = ?", [.blob(h)]).first,
                  let id = row.string("id"), let role = row.string("role").flatMap(Role.init(rawValue:)) else { return nil }
            return User(id: id, accountId: row.string("account_id"), role: role)
        }
    }

    public func accounts() throws -> [Account] {
        try db.read { c in
            try c.query("SELECT id, name FROM accounts ORDER BY created_at, id").map {
                Account(id: $0.string("id") ?? "", name: $0.string("name") ?? "")
            }
        }
    }

    public func connections() throws -> [AccountConnection] {
        try db.read { c in
            try c.query("SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections ORDER BY account_id")
                .map(AccountConnection.init(row:))
        }
    }

    public func connection(accountId: String) throws -> AccountConnection? {
        try db.read { c in
            try c.query("SELECT account_id, state, tenant_id, tenant_name, connected_at FROM xero_connections WHERE account_id = ?",
                        [.text(accountId)]).first.map(AccountConnection.init(row:))
        }
    }

    /// Records that `accountId` is connected to `tenantId`; inbox events that arrived for that
    /// tenant before anyone was connected to it are routed to the account (they were kept).
    public func connect(accountId: String, tenantId: String, tenantName: String) throws {
        let tenant = tenantId.lowercased()
        try db.write { c in
            try c.run("""
                UPDATE xero_connections SET state = 'connected', tenant_id = ?, tenant_name = ?,
                       connected_at = COALESCE(connected_at, ?) WHERE account_id = ?
                """, [.text(tenant), .text(tenantName), .text(Timestamp.now()), .text(accountId)])
            guard c.changes == 1 else { throw StoreError(code: "not_found", message: "no account with id \(accountId)") }
            try c.run("UPDATE webhook_events SET account_id = ?, state = 'pending' WHERE tenant_id = ? AND state = 'unrouted'",
                      [.text(accountId), .text(tenant)])
        }
    }

    /// Tenant id (lowercase) → account id, for every account with a tenant. Read it inside the
    /// transaction that uses it, so a connection made meanwhile cannot be missed.
    static func tenantRoutes(_ c: SQLiteConnection) throws -> [String: String] {
        var m: [String: String] = [:]
        for row in try c.query("SELECT account_id, tenant_id FROM xero_connections WHERE tenant_id IS NOT NULL") {
            if let t = row.string("tenant_id"), let a = row.string("account_id") { m[t] = a }
        }
        return m
    }
}

extension AccountConnection {
    init(row: Row) {
        self.init(accountId: row.string("account_id") ?? "", state: row.string("state") ?? "inactive",
                  tenantId: row.string("tenant_id"), tenantName: row.string("tenant_name"),
                  connectedAt: row.string("connected_at"))
    }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }
}
