import Crypto
import Foundation

/// A SortScape account.
public struct Account: Sendable, Equatable {
    public let id: String
    public let name: String

    public init(id: String, name: String) {
        self.id = id
        self.name = name
    }
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

    public init(id: String, accountId: String?, role: Role) {
        self.id = id
        self.accountId = accountId
        self.role = role
    }
}

/// A user as the command line lists them: never a token (only its hash is kept anyway).
public struct UserRecord: Sendable, Equatable {
    public let id: String
    public let accountId: String?
    public let role: Role
    /// ISO-8601 UTC.
    public let createdAt: String
    /// When the user's token was revoked (ISO-8601 UTC); nil while it works.
    public let revokedAt: String?

    public init(id: String, accountId: String?, role: Role, createdAt: String, revokedAt: String?) {
        self.id = id
        self.accountId = accountId
        self.role = role
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }
}

/// A freshly issued credential; the token is shown once and only its hash is stored.
public struct IssuedUser: Sendable {
    public let accountId: String?
    public let userId: String
    public let role: Role
    public let token: String
}

/// The state of an account's Xero connection; raw values are the stored and JSON strings
/// (they must equal the CHECK list of `xero_connections.state`).
public enum ConnectionState: String, Sendable, CaseIterable {
    case inactive, active, choosing, connected
    case needsReconnect = "needs_reconnect"
}

/// An account's Xero connection.
public struct AccountConnection: Sendable, Equatable {
    public let accountId: String
    public let state: ConnectionState
    public let tenantId: String?
    public let tenantName: String?
    public let connectedAt: String?

    public init(accountId: String, state: ConnectionState, tenantId: String?, tenantName: String?, connectedAt: String?) {
        self.accountId = accountId
        self.state = state
        self.tenantId = tenantId
        self.tenantName = tenantName
        self.connectedAt = connectedAt
    }
}

/// Accounts, users and their tokens, and the tenant → account routing of Xero connections.
///
/// Implementations: `SQLiteAccountRepository` (production) and `MemoryAccountRepository`
/// (tests); one contract test suite runs against both.
public protocol AccountRepository: Sendable {
    /// Creates an account (name trimmed, 1 to 200 characters, else `.invalidName`), its
    /// `inactive` connection and its first admin.
    func createAccount(name: String) throws(StoreError) -> IssuedUser
    /// Creates a user; operators have no account (`.invalidRole`), everyone else needs one
    /// (`.invalidAccount`) that exists (`.notFound`).
    func createUser(accountId: String?, role: Role) throws(StoreError) -> IssuedUser
    /// The user a bearer token belongs to, if any (never a revoked one).
    func authenticate(token: String) throws(StoreError) -> User?

    // MARK: withdrawing credentials

    /// Users, oldest first: every one, or those of one account. Revoked ones too (`revokedAt`).
    func users(accountId: String?) throws(StoreError) -> [UserRecord]
    /// Revokes the user's token for good and ends every session of theirs (their OAuth states
    /// with them), in one transaction; returns how many sessions ended. Revoking a revoked user
    /// changes nothing. `.notFound` for an unknown user.
    @discardableResult
    func revokeUser(id: String) throws(StoreError) -> Int
    /// Issues the user a new token (shown once), so the old one stops working, and ends every
    /// session of theirs, in one transaction. `.notFound` for an unknown user, `.conflict` for a
    /// revoked one (create a new user instead).
    func rotateToken(userId: String) throws(StoreError) -> IssuedUser
    /// Every account, oldest first.
    func accounts() throws(StoreError) -> [Account]
    /// Every account's connection, by account id.
    func connections() throws(StoreError) -> [AccountConnection]
    /// One account's connection, if the account exists.
    func connection(accountId: String) throws(StoreError) -> AccountConnection?
    /// Records that `accountId` (else `.notFound`) is connected to `tenantId` (another
    /// account's tenant: `.conflict`); its `unrouted` inbox events become the account's `pending` ones.
    func connect(accountId: String, tenantId: String, tenantName: String) throws(StoreError)

    // MARK: connecting (R1–R4)

    /// Activates the integration: `inactive` → `active`; any other state is kept (idempotent).
    /// Returns the connection afterwards; `.notFound` for an unknown account.
    func activate(accountId: String) throws(StoreError) -> AccountConnection
    /// State `choosing` with the organisations one consent offered (replacing any earlier
    /// offer). `.locked` when the account is already locked to a tenant; `.notFound`.
    func setChoosing(accountId: String, tenants: [OfferedTenant]) throws(StoreError)
    /// The organisations on offer, in the order offered (empty unless `choosing`).
    func offeredTenants(accountId: String) throws(StoreError) -> [OfferedTenant]
    /// `connected` → `needs_reconnect` (Xero refused the refresh token). Other states are kept;
    /// nothing else changes. Returns whether the state changed.
    @discardableResult
    func markNeedsReconnect(accountId: String) throws(StoreError) -> Bool
    /// Support's reset: the tenant lock, offers and tokens are cleared and the state is `active`
    /// (the account's records and inbox stay). `.notFound` for an unknown account.
    func reset(accountId: String) throws(StoreError)
    /// The connection locked to `tenantId` (any case), if any.
    func connection(tenantId: String) throws(StoreError) -> AccountConnection?
    /// The organisation's time zone as Xero names it (`NEWZEALANDSTANDARDTIME`), once stored.
    func organisationTimezone(tenantId: String) throws(StoreError) -> String?
    /// Stores (or replaces) the organisation's time zone.
    func setOrganisationTimezone(tenantId: String, timezone: String) throws(StoreError)

    // MARK: operators

    /// How many accounts are in each connection state; states with none are absent.
    func connectionCounts() throws(StoreError) -> [ConnectionState: Int]
    /// A page of connections by account id: at most `limit` (1 to 1000), with ids after `afterAccountId`.
    func connections(afterAccountId: String?, limit: Int) throws(StoreError) -> [AccountConnection]
}

/// One organisation a consent offered while the connection is `choosing`.
public struct OfferedTenant: Sendable, Equatable {
    public let tenantId: String
    public let tenantName: String

    public init(tenantId: String, tenantName: String) {
        self.tenantId = tenantId
        self.tenantName = tenantName
    }
}

/// What both account repositories share: ids, tokens and names.
enum AccountRules {
    static func newID() -> String { UUID().uuidString.lowercased() }
    static func newToken() -> String { "xgw_" + Base64.encodeURL(Crypto.randomBytes(32)) }
    static func hash(_ token: String) -> [UInt8] { Crypto.sha256(Array(token.utf8)) }
    /// Longest bearer token looked up at all (bytes).
    static let maxTokenBytes = 200

    /// The account name as stored, or `.invalidName`.
    static func accountName(_ name: String) throws(StoreError) -> String {
        let trimmed = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw StoreError(code: .invalidName, message: "account name must be 1 to 200 characters")
        }
        return trimmed
    }

    /// Checks the role against the account; `.invalidRole` or `.invalidAccount`.
    static func checkRole(_ role: Role, accountId: String?) throws(StoreError) {
        if role == .operator, accountId != nil {
            throw StoreError(code: .invalidRole, message: "an operator belongs to no account; omit --account")
        }
        if role != .operator, accountId == nil {
            throw StoreError(code: .invalidAccount, message: "\(role.rawValue) users need --account")
        }
    }

    static func noUser(_ userId: String) -> StoreError {
        StoreError(code: .notFound, message: "no user with id \(userId)")
    }

    static func revoked(_ userId: String) -> StoreError {
        StoreError(code: .conflict, message: "user \(userId) is revoked; create a new user instead")
    }

    static func noAccount(_ accountId: String) -> StoreError {
        StoreError(code: .notFound, message: "no account with id \(accountId)")
    }

    static func locked(_ tenantName: String?) -> StoreError {
        StoreError(code: .locked, message: "the account is connected to \(tenantName ?? "another organisation")")
    }
}
