/// The state of an inbox event; raw values are the stored and JSON strings (they must equal
/// the CHECK list of `webhook_events.state`).
public enum InboxEventState: String, Sendable, CaseIterable {
    /// Routed to an account, waiting for the applier.
    case pending
    case applied
    case failed
    case ignored
    /// No account is connected to the event's tenant (yet).
    case unrouted
    /// An unreadable part of a delivery, kept for operators.
    case quarantined
}

/// An event as stored in the inbox.
public struct InboxEvent: Sendable, Equatable {
    public let id: Int64
    public let deliveryId: Int64
    public let accountId: String?
    public let tenantId: String?
    public let category: String?
    public let type: String?
    public let resourceId: String?
    public let eventDateUtc: String?
    public let state: InboxEventState
    public let attempts: Int
    public let lastError: String?
    public let receivedAt: String

    public init(id: Int64, deliveryId: Int64, accountId: String?, tenantId: String?, category: String?,
                type: String?, resourceId: String?, eventDateUtc: String?, state: InboxEventState,
                attempts: Int, lastError: String?, receivedAt: String) {
        self.id = id
        self.deliveryId = deliveryId
        self.accountId = accountId
        self.tenantId = tenantId
        self.category = category
        self.type = type
        self.resourceId = resourceId
        self.eventDateUtc = eventDateUtc
        self.state = state
        self.attempts = attempts
        self.lastError = lastError
        self.receivedAt = receivedAt
    }
}

/// The inbox's events, read side: what the API, health and metrics show.
///
/// Implementations: `SQLiteWebhookEventRepository` (production) and
/// `MemoryWebhookEventRepository` (tests); one contract test suite runs against both.
public protocol WebhookEventRepository: Sendable {
    /// Events visible to `accountId` (nil: every event, for operators), in `state` if given,
    /// oldest first, with ids after `afterId`, at most `limit`.
    func events(accountId: String?, state: InboxEventState?, limit: Int, afterId: Int64?) throws(StoreError) -> [InboxEvent]
    /// Count of events per state; states without events are absent (a scan: for metrics scrapes).
    func counts() throws(StoreError) -> [InboxEventState: Int]
    /// Pending events per account (the backlog the applier has yet to work through).
    func pendingByAccount() throws(StoreError) -> [String: Int]
    /// Pending events in all (the applier's backlog), counted on the pending events' index.
    func pendingCount() throws(StoreError) -> Int
    /// Pending events of these accounts; accounts with none are absent.
    func pendingCounts(accountIds: [String]) throws(StoreError) -> [String: Int]
    /// The id of the oldest pending event of an account that is connected and has no sync run
    /// going on (in any process): one the applier should already have picked up; nil when none.
    func oldestUnattendedPendingEvent() throws(StoreError) -> Int64?
}
