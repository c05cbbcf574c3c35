/// Where the inbox's deliveries stand: the last one committed and the last one expanded into
/// events (everything between waits for expansion).
public struct InboxPosition: Sendable, Equatable {
    public var lastDelivery: Int64
    public var expandedThrough: Int64

    public init(lastDelivery: Int64, expandedThrough: Int64) {
        self.lastDelivery = lastDelivery
        self.expandedThrough = expandedThrough
    }
}

/// What one expansion did: how far the cursor moved, and which accounts got new pending events
/// (the engine's wake-up).
public struct InboxExpansion: Sendable, Equatable {
    /// The id of the last delivery expanded (the cursor, unchanged when there was nothing to do).
    public var expandedThrough: Int64
    /// Accounts with at least one new pending event from this expansion.
    public var routedAccounts: Set<String>

    public init(expandedThrough: Int64, routedAccounts: Set<String>) {
        self.expandedThrough = expandedThrough
        self.routedAccounts = routedAccounts
    }
}

/// The store under `WebhookInbox` (R16): durable deliveries, and their expansion into
/// deduplicated events routed to accounts by tenant. Only the inbox's one writer thread calls it.
///
/// Implementations: `SQLiteWebhookInboxRepository` and `PostgresWebhookInboxRepository`
/// (production) and `MemoryWebhookInboxRepository` (tests); one contract test suite runs against
/// all three. The events it makes are read through the
/// same store's `WebhookEventRepository`.
public protocol WebhookInboxRepository: Sendable {
    /// Where deliveries stand now (at start: what a crash left to expand).
    func position() throws(StoreError) -> InboxPosition

    /// Commits `bodies` as deliveries received at `receivedAt`, in one transaction that is
    /// durable (fsynced) before it returns; returns the id of the last one. Ids increase.
    func commitDeliveries(_ bodies: [[UInt8]], receivedAt: String) throws(StoreError) -> Int64

    /// Expands the deliveries after `cursor`, in id order, at most `limit` of them and about
    /// `maxBytes` of bodies (always at least one), into events read by `reader`: each event once
    /// per dedup key, `pending` for the account that holds its tenant at that moment (else
    /// `unrouted`), unreadable parts `quarantined`. The events and the new cursor commit together
    /// (need not be durable: they are rebuilt from the deliveries).
    func expandDeliveries(after cursor: Int64, limit: Int, maxBytes: Int,
                          reader: DeliveryReader) throws(StoreError) -> InboxExpansion
}

extension StoreError {
    /// `error` as a store error: itself when it is one, else `.store` with its description.
    public static func wrapping(_ error: any Error) -> StoreError {
        error as? StoreError ?? StoreError(code: .store, message: "\(error)")
    }

    /// Runs `body`, turning anything it throws into a store error.
    public static func catching<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch { throw wrapping(error) }
    }
}
