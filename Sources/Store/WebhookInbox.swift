import Crypto
import Foundation
import Synchronization
import Timekeeping

/// One event of a webhook delivery, normalised for deduplication.
public struct InboxEventInput: Sendable, Equatable {
    public var tenantId: String
    public var category: String
    public var type: String
    public var resourceId: String
    /// Canonical UTC form, e.g. 2024-06-21T01:15:39.902Z.
    public var eventDateUtc: String
    /// The same instant in milliseconds since the epoch.
    public var eventDateMilliseconds: Int64

    public init(tenantId: String, category: String, type: String, resourceId: String,
                eventDateUtc: String, eventDateMilliseconds: Int64) {
        self.tenantId = tenantId.lowercased()
        self.category = category.uppercased()
        self.type = type.uppercased()
        self.resourceId = resourceId.lowercased()
        self.eventDateUtc = eventDateUtc
        self.eventDateMilliseconds = eventDateMilliseconds
    }

    /// The deduplication key for (tenant, category, resource, event date, type): the event date
    /// (8 bytes, big-endian, so new keys land at the index's right edge instead of on random
    /// pages) and 8 bytes of SHA-256 over the rest.
    var dedupKey: [UInt8] {
        var key = [UInt8](repeating: 0, count: 16)
        let ms = UInt64(bitPattern: eventDateMilliseconds) ^ (1 << 63)  // order negatives first
        for i in 0..<8 { key[i] = UInt8(truncatingIfNeeded: ms >> UInt64(56 - 8 * i)) }
        let rest = Crypto.sha256(Array("\(tenantId)\u{1}\(category)\u{1}\(resourceId)\u{1}\(type)".utf8))
        for i in 0..<8 { key[8 + i] = rest[i] }
        return key
    }
}

/// What a delivery body says: its events, and why any part of it could not be read.
public struct DeliveryContents: Sendable {
    public var events: [InboxEventInput]
    /// A non-empty list keeps the unreadable part in quarantine (visible as `quarantined` events).
    public var problems: [String]

    public init(events: [InboxEventInput], problems: [String] = []) {
        self.events = events
        self.problems = problems
    }
}

/// Reads a stored delivery body; supplied by the layer that knows Xero's payload format.
public typealias DeliveryReader = @Sendable ([UInt8]) -> DeliveryContents

/// The durable webhook inbox (R16).
///
/// `append` hands a verified raw body to one writer thread, which commits everything queued in
/// one transaction (group commit: one fsync for many deliveries) and only then calls each
/// completion. The same thread then expands committed deliveries into deduplicated events, in
/// delivery order: at full speed whenever deliveries pause for 2 ms, and with a tenth of the
/// wall-clock time while they keep arriving, so acknowledgements come first and events still
/// keep pace with any stream that leaves the writer some idle time. Expansion is idempotent and
/// resumes from the store's cursor after a crash.
///
/// The jobs live apart: the writer thread and its time budget in `WebhookInbox+Writer.swift`,
/// the group commit in `WebhookInbox+Commit.swift`, the expansion into deduplicated events in
/// `WebhookInbox+Expansion.swift`; the store behind them is a `WebhookInboxRepository`, and the
/// events are read through the same store's `WebhookEventRepository`.
public final class WebhookInbox: Sendable {
    let repository: any WebhookInboxRepository
    let clock: any WallClock
    /// Paces expansion against acknowledgements (see `ExpansionBudget`).
    let monotonicClock: any MonotonicClock
    let reader: DeliveryReader
    let condition = NSCondition()
    let queue = Mutex<Queue>(Queue())
    let writerDone = Atomic<Bool>(false)
    let lastDelivery = Atomic<Int>(0)
    let expandedThrough = Atomic<Int>(0)
    /// Told, on the writer thread, which accounts have new pending events once they are
    /// committed (the sync engine's wake-up: events are applied at once, never polled for).
    public let eventsRouted = Mutex<(@Sendable (Set<String>) -> Void)?>(nil)
    /// Deliveries the writer has committed, for metrics.
    public let committedDeliveries = Atomic<Int>(0)
    /// Commits and expansions that failed, for metrics.
    public let failedBatches = Atomic<Int>(0)

    struct Pending {
        let body: [UInt8]
        let completion: @Sendable (Result<Void, StoreError>) -> Void
    }
    struct Queue {
        var items: [Pending] = []
        var stopping = false
    }

    /// Opens the inbox over `repository` and starts its writer thread. Events are routed to
    /// accounts by the tenants connected when they are expanded; `clock` stamps deliveries;
    /// `monotonicClock` times the writer's expansion budget.
    public init(repository: any WebhookInboxRepository, clock: any WallClock = SystemWallClock(),
                monotonicClock: any MonotonicClock = SystemMonotonicClock(),
                reader: @escaping DeliveryReader) throws(StoreError) {
        self.repository = repository
        self.clock = clock
        self.monotonicClock = monotonicClock
        self.reader = reader
        let position = try repository.position()
        lastDelivery.store(Int(position.lastDelivery), ordering: .relaxed)
        expandedThrough.store(Int(position.expandedThrough), ordering: .relaxed)
        let t = Thread { [self] in self.writerLoop() }
        t.name = "inbox-writer"
        t.start()
    }

    /// Opens the inbox over the SQLite `database` (see `init(repository:clock:reader:)`).
    public convenience init(database: Database, clock: any WallClock = SystemWallClock(),
                            reader: @escaping DeliveryReader) throws(StoreError) {
        try self.init(repository: SQLiteWebhookInboxRepository(database: database, clock: clock),
                      clock: clock, reader: reader)
    }

    /// Queues a verified body; `completion` runs on the writer thread once it is on disk (or failed).
    public func append(_ body: [UInt8], completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let accepted = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.items.append(Pending(body: body, completion: completion))
            return true
        }
        guard accepted else {
            completion(.failure(StoreError(code: .stopping, message: "the inbox is shutting down")))
            return
        }
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// Deliveries waiting for the writer.
    public var queueDepth: Int { queue.withLock { $0.items.count } }

    /// Committed deliveries not yet expanded into events.
    public var unexpandedDeliveries: Int {
        max(0, lastDelivery.load(ordering: .relaxed) - expandedThrough.load(ordering: .relaxed))
    }

    /// True while the writer thread runs.
    public var writerAlive: Bool { !writerDone.load(ordering: .relaxed) }

    /// Commits what is queued, refuses new work, expands what it can in a few seconds, and
    /// waits for the writer to finish. Anything left is expanded at the next start.
    public func stop() {
        queue.withLock { $0.stopping = true }
        condition.lock()
        condition.signal()
        condition.unlock()
        while !writerDone.load(ordering: .acquiring) { usleep(1_000) }
    }

    /// Expands every committed delivery now (tests and shutdown).
    public func waitUntilExpanded(timeout: Double = 5) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while unexpandedDeliveries > 0 || queueDepth > 0 {
            if Date() > deadline { return false }
            usleep(1_000)
        }
        return true
    }
}
