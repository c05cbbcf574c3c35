import Synchronization

/// The inbox's deliveries in memory, for tests; behaves as `SQLiteWebhookInboxRepository` does
/// (the shared contract tests hold both to it). Its events are read through a
/// `MemoryWebhookEventRepository` over the same `MemoryStore`.
public final class MemoryWebhookInboxRepository: WebhookInboxRepository {
    /// The tables this repository shares with the other memory repositories.
    public let store: MemoryStore
    /// When set, every call fails with it (a full disk, say), for tests.
    public let failure = Mutex<StoreError?>(nil)

    /// A repository over `store` (by default, fresh tables on the system clock).
    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    public func position() throws(StoreError) -> InboxPosition {
        try failIfTold()
        return store.tables.withLock { t in
            InboxPosition(lastDelivery: t.lastDeliveryId, expandedThrough: t.expandedThrough)
        }
    }

    public func commitDeliveries(_ bodies: [[UInt8]], receivedAt: String) throws(StoreError) -> Int64 {
        try failIfTold()
        return store.tables.withLock { t in
            for body in bodies {
                t.lastDeliveryId += 1
                t.deliveries.append(MemoryStore.MemoryDelivery(id: t.lastDeliveryId, receivedAt: receivedAt, body: body))
            }
            return t.lastDeliveryId
        }
    }

    public func expandDeliveries(after cursor: Int64, limit: Int, maxBytes: Int,
                                 reader: DeliveryReader) throws(StoreError) -> InboxExpansion {
        try failIfTold()
        return store.tables.withLock { t in
            var slice: [MemoryStore.MemoryDelivery] = []
            var bytes = 0
            for d in t.deliveries where d.id > cursor {
                guard slice.count < limit, bytes < maxBytes else { break }
                slice.append(d)
                bytes += d.body.count
            }
            guard let last = slice.last?.id else { return InboxExpansion(expandedThrough: cursor, routedAccounts: []) }
            var routed = Set<String>()
            for d in slice {
                routed.formUnion(t.insertEvents(deliveryId: d.id, receivedAt: d.receivedAt, contents: reader(d.body), body: d.body))
            }
            t.expandedThrough = last
            // Expanded deliveries are never read again.
            t.deliveries.removeAll { $0.id <= last }
            return InboxExpansion(expandedThrough: last, routedAccounts: routed)
        }
    }

    private func failIfTold() throws(StoreError) {
        if let e = failure.withLock({ $0 }) { throw e }
    }
}
