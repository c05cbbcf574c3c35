import Crypto

/// The inbox's events in memory, for tests; behaves as `SQLiteWebhookEventRepository` over a
/// `WebhookInbox` does (the shared contract tests hold both to it). `ingest` stands in for the
/// inbox's commit and expansion (a `WebhookInbox` over a `MemoryWebhookInboxRepository` does both).
public final class MemoryWebhookEventRepository: WebhookEventRepository {
    /// The tables this repository shares with a `MemoryAccountRepository`.
    public let store: MemoryStore

    /// A repository over `store` (by default, fresh tables on the system clock).
    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    /// Records a delivery as the inbox would once it is expanded: its events deduplicated and
    /// routed by tenant, its unreadable parts quarantined; stamped with the store's clock.
    public func ingest(_ body: [UInt8], contents: DeliveryContents) {
        let receivedAt = store.clock.timestamp()
        store.tables.withLock { t in
            t.lastDeliveryId += 1
            if t.expandedThrough == t.lastDeliveryId - 1 { t.expandedThrough = t.lastDeliveryId }
            _ = t.insertEvents(deliveryId: t.lastDeliveryId, receivedAt: receivedAt, contents: contents, body: body)
        }
    }

    public func events(accountId: String?, state: InboxEventState?, limit: Int, afterId: Int64?) throws(StoreError) -> [InboxEvent] {
        let after = afterId ?? 0
        return store.tables.withLock { t in
            let matching = t.events.lazy.filter { e in
                e.id > after && (accountId == nil || e.accountId == accountId) && (state == nil || e.state == state)
            }
            return limit < 0 ? Array(matching) : Array(matching.prefix(limit))
        }
    }

    public func counts() throws(StoreError) -> [InboxEventState: Int] {
        store.tables.withLock { t in
            var m: [InboxEventState: Int] = [:]
            for e in t.events { m[e.state, default: 0] += 1 }
            return m
        }
    }

    public func pendingByAccount() throws(StoreError) -> [String: Int] {
        store.tables.withLock { t in
            var m: [String: Int] = [:]
            for e in t.events where e.state == .pending {
                if let a = e.accountId { m[a, default: 0] += 1 }
            }
            return m
        }
    }
}

extension MemoryWebhookEventRepository {
    public func pendingCount() throws(StoreError) -> Int {
        store.tables.withLock { t in t.events.lazy.filter { $0.state == .pending }.count }
    }

    public func pendingCounts(accountIds: [String]) throws(StoreError) -> [String: Int] {
        let wanted = Set(accountIds)
        return store.tables.withLock { t in
            var m: [String: Int] = [:]
            for e in t.events where e.state == .pending {
                if let a = e.accountId, wanted.contains(a) { m[a, default: 0] += 1 }
            }
            return m
        }
    }

    public func oldestUnattendedPendingEvent() throws(StoreError) -> Int64? {
        store.tables.withLock { t in
            let running = Set(t.runs.rows.filter { $0.record.state == .running }.map(\.record.accountId))
            return t.events.first { e in
                guard e.state == .pending, let a = e.accountId else { return false }
                return t.connections[a]?.state == .connected && !running.contains(a)
            }?.id
        }
    }
}

extension MemoryStore.Tables {
    /// Inserts a delivery's events as the inbox's expansion does: deduplicated, routed by tenant,
    /// unreadable parts quarantined; returns the accounts given new pending events.
    mutating func insertEvents(deliveryId: Int64, receivedAt: String, contents: DeliveryContents,
                               body: [UInt8]) -> Set<String> {
        let routes = tenantRoutes
        var routed = Set<String>()
        func insert(key: [UInt8], _ make: (Int64) -> InboxEvent) -> Bool {
            guard dedupKeys[key] == nil else { return false }
            let id = (events.last?.id ?? 0) + 1
            dedupKeys[key] = id
            events.append(make(id))
            return true
        }
        for e in contents.events {
            let account = routes[e.tenantId]
            let added = insert(key: e.dedupKey) { id in
                InboxEvent(id: id, deliveryId: deliveryId, accountId: account, tenantId: e.tenantId,
                           category: e.category, type: e.type, resourceId: e.resourceId,
                           eventDateUtc: e.eventDateUtc, state: InboxEvent.routedState(account),
                           attempts: 0, lastError: nil, receivedAt: receivedAt)
            }
            if added, let account { routed.insert(account) }
        }
        guard !contents.problems.isEmpty else { return routed }
        let bodyHash = Crypto.sha256(body)
        for (n, problem) in DeliveryContents.quarantineRows(contents.problems).enumerated() {
            _ = insert(key: DeliveryContents.quarantineKey(bodyHash: bodyHash, problem: n)) { id in
                InboxEvent(id: id, deliveryId: deliveryId, accountId: nil, tenantId: nil, category: nil,
                           type: nil, resourceId: nil, eventDateUtc: nil, state: .quarantined,
                           attempts: 0, lastError: InboxEvent.quarantineError(problem), receivedAt: receivedAt)
            }
        }
        return routed
    }
}
