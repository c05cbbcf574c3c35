/// Accounts, users, tokens and connection routing in memory, for tests; behaves as
/// `SQLiteAccountRepository` does (the shared contract tests hold both to it).
public final class MemoryAccountRepository: AccountRepository {
    /// The tables this repository shares with a `MemoryWebhookEventRepository`.
    public let store: MemoryStore

    /// A repository over `store` (by default, fresh tables on the system clock).
    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    public func createAccount(name: String) throws(StoreError) -> IssuedUser {
        let name = try AccountRules.accountName(name)
        let accountId = AccountRules.newID(), userId = AccountRules.newID(), token = AccountRules.newToken()
        let now = store.clock.timestamp()
        try store.tables.withLock { t throws(StoreError) in
            let hash = AccountRules.hash(token)
            guard t.accounts[accountId] == nil, t.users[hash] == nil else { throw MemoryAccountRepository.conflict("accounts.id") }
            t.accounts[accountId] = MemoryStore.StoredAccount(account: Account(id: accountId, name: name), createdAt: now)
            t.connections[accountId] = AccountConnection(accountId: accountId, state: .inactive, tenantId: nil,
                                                         tenantName: nil, connectedAt: nil)
            t.sequence += 1
            t.users[hash] = MemoryStore.StoredUser(user: User(id: userId, accountId: accountId, role: .admin), createdAt: now,
                                                   revokedAt: nil, seq: t.sequence)
        }
        return IssuedUser(accountId: accountId, userId: userId, role: .admin, token: token)
    }

    public func createUser(accountId: String?, role: Role) throws(StoreError) -> IssuedUser {
        try AccountRules.checkRole(role, accountId: accountId)
        let userId = AccountRules.newID(), token = AccountRules.newToken()
        let now = store.clock.timestamp()
        try store.tables.withLock { t throws(StoreError) in
            if let accountId, t.accounts[accountId] == nil { throw AccountRules.noAccount(accountId) }
            let hash = AccountRules.hash(token)
            guard t.users[hash] == nil else { throw MemoryAccountRepository.conflict("users.token_hash") }
            t.sequence += 1
            t.users[hash] = MemoryStore.StoredUser(user: User(id: userId, accountId: accountId, role: role), createdAt: now,
                                                   revokedAt: nil, seq: t.sequence)
        }
        return IssuedUser(accountId: accountId, userId: userId, role: role, token: token)
    }

    public func authenticate(token: String) throws(StoreError) -> User? {
        guard token.utf8.count <= AccountRules.maxTokenBytes else { return nil }
        let h = AccountRules.hash(token)
        return store.tables.withLock { t in t.users[h].flatMap { $0.revokedAt == nil ? $0.user : nil } }
    }

    public func users(accountId: String?) throws(StoreError) -> [UserRecord] {
        store.tables.withLock { t in
            t.users.values.filter { accountId == nil || $0.user.accountId == accountId }
                .sorted { ($0.createdAt, $0.seq) < ($1.createdAt, $1.seq) }
                .map { UserRecord(id: $0.user.id, accountId: $0.user.accountId, role: $0.user.role, createdAt: $0.createdAt,
                                  revokedAt: $0.revokedAt) }
        }
    }

    @discardableResult
    public func revokeUser(id: String) throws(StoreError) -> Int {
        let now = store.clock.timestamp()
        return try store.tables.withLock { t throws(StoreError) in
            guard let hash = t.users.first(where: { $0.value.user.id == id })?.key else { throw AccountRules.noUser(id) }
            if t.users[hash]?.revokedAt == nil { t.users[hash]?.revokedAt = now }
            return t.endSessions(userId: id)
        }
    }

    public func rotateToken(userId: String) throws(StoreError) -> IssuedUser {
        let token = AccountRules.newToken()
        return try store.tables.withLock { t throws(StoreError) in
            guard let (hash, stored) = t.users.first(where: { $0.value.user.id == userId }) else { throw AccountRules.noUser(userId) }
            if stored.revokedAt != nil { throw AccountRules.revoked(userId) }
            let new = AccountRules.hash(token)
            guard t.users[new] == nil else { throw MemoryAccountRepository.conflict("users.token_hash") }
            t.users[hash] = nil
            t.users[new] = stored
            t.endSessions(userId: userId)
            return IssuedUser(accountId: stored.user.accountId, userId: userId, role: stored.user.role, token: token)
        }
    }

    public func accounts() throws(StoreError) -> [Account] {
        store.tables.withLock { t in
            t.accounts.values.sorted { ($0.createdAt, $0.account.id) < ($1.createdAt, $1.account.id) }.map(\.account)
        }
    }

    public func connections() throws(StoreError) -> [AccountConnection] {
        store.tables.withLock { $0.connections.values.sorted { $0.accountId < $1.accountId } }
    }

    public func connection(accountId: String) throws(StoreError) -> AccountConnection? {
        store.tables.withLock { $0.connections[accountId] }
    }

    public func connect(accountId: String, tenantId: String, tenantName: String) throws(StoreError) {
        let tenant = tenantId.lowercased()
        let now = store.clock.timestamp()
        try store.tables.withLock { t throws(StoreError) in
            guard let old = t.connections[accountId] else { throw AccountRules.noAccount(accountId) }
            if let locked = old.tenantId, locked != tenant { throw AccountRules.locked(old.tenantName) }
            if t.connections.values.contains(where: { $0.tenantId == tenant && $0.accountId != accountId }) {
                throw MemoryAccountRepository.conflict("xero_connections.tenant_id")
            }
            t.connections[accountId] = AccountConnection(accountId: accountId, state: .connected, tenantId: tenant,
                                                         tenantName: tenantName, connectedAt: old.connectedAt ?? now)
            t.offered[accountId] = nil
            for i in t.events.indices where t.events[i].tenantId == tenant && t.events[i].state == .unrouted {
                t.events[i] = t.events[i].routed(to: accountId)
            }
        }
    }

    public func activate(accountId: String) throws(StoreError) -> AccountConnection {
        try store.tables.withLock { t throws(StoreError) in
            guard let c = t.connections[accountId] else { throw AccountRules.noAccount(accountId) }
            guard c.state == .inactive else { return c }
            let active = c.with(state: .active)
            t.connections[accountId] = active
            return active
        }
    }

    public func setChoosing(accountId: String, tenants: [OfferedTenant]) throws(StoreError) {
        try store.tables.withLock { t throws(StoreError) in
            guard let c = t.connections[accountId] else { throw AccountRules.noAccount(accountId) }
            if c.tenantId != nil { throw AccountRules.locked(c.tenantName) }
            var seen = Set<String>(), list: [OfferedTenant] = []
            for o in tenants where seen.insert(o.tenantId.lowercased()).inserted {
                list.append(OfferedTenant(tenantId: o.tenantId.lowercased(), tenantName: o.tenantName))
            }
            t.offered[accountId] = list
            t.connections[accountId] = c.with(state: .choosing)
        }
    }

    public func offeredTenants(accountId: String) throws(StoreError) -> [OfferedTenant] {
        store.tables.withLock { t in
            t.connections[accountId]?.state == .choosing ? t.offered[accountId] ?? [] : []
        }
    }

    @discardableResult
    public func markNeedsReconnect(accountId: String) throws(StoreError) -> Bool {
        store.tables.withLock { t in
            guard let c = t.connections[accountId], c.state == .connected else { return false }
            t.connections[accountId] = c.with(state: .needsReconnect)
            return true
        }
    }

    public func reset(accountId: String) throws(StoreError) {
        try store.tables.withLock { t throws(StoreError) in
            guard t.connections[accountId] != nil else { throw AccountRules.noAccount(accountId) }
            t.connections[accountId] = AccountConnection(accountId: accountId, state: .active, tenantId: nil,
                                                         tenantName: nil, connectedAt: nil)
            t.offered[accountId] = nil
            t.xeroTokens[accountId] = nil
        }
    }

    public func organisationTimezone(tenantId: String) throws(StoreError) -> String? {
        store.tables.withLock { $0.organisationTimezones[tenantId.lowercased()] }
    }

    public func setOrganisationTimezone(tenantId: String, timezone: String) throws(StoreError) {
        store.tables.withLock { $0.organisationTimezones[tenantId.lowercased()] = timezone }
    }

    public func connection(tenantId: String) throws(StoreError) -> AccountConnection? {
        let tenant = tenantId.lowercased()
        return store.tables.withLock { t in t.connections.values.first { $0.tenantId == tenant } }
    }

    public func connectionCounts() throws(StoreError) -> [ConnectionState: Int] {
        store.tables.withLock { t in
            var m: [ConnectionState: Int] = [:]
            for c in t.connections.values { m[c.state, default: 0] += 1 }
            return m
        }
    }

    public func connections(afterAccountId: String?, limit: Int) throws(StoreError) -> [AccountConnection] {
        let after = afterAccountId ?? ""
        return store.tables.withLock { t in
            Array(t.connections.values.filter { $0.accountId > after }.sorted { $0.accountId < $1.accountId }
                .prefix(max(1, min(limit, 1000))))
        }
    }

    /// The error SQLite's UNIQUE constraint gives.
    static func conflict(_ column: String) -> StoreError {
        StoreError(code: .conflict, message: "UNIQUE constraint failed: \(column)")
    }
}

extension AccountConnection {
    func with(state: ConnectionState) -> AccountConnection {
        AccountConnection(accountId: accountId, state: state, tenantId: tenantId, tenantName: tenantName, connectedAt: connectedAt)
    }
}

extension InboxEvent {
    /// This unrouted event, now `pending` for `accountId`.
    func routed(to accountId: String) -> InboxEvent {
        InboxEvent(id: id, deliveryId: deliveryId, accountId: accountId, tenantId: tenantId, category: category,
                   type: type, resourceId: resourceId, eventDateUtc: eventDateUtc, state: .pending,
                   attempts: attempts, lastError: lastError, receivedAt: receivedAt)
    }
}
