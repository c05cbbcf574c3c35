import Crypto
import Foundation
import Synchronization

/// One event of a webhook delivery, normalised for deduplication.
public struct InboxEventInput: Sendable, Equatable {
    public var tenantId: String
    public var tenantType: String
    public var category: String
    public var type: String
    public var resourceId: String
    public var resourceUrl: String
    /// Canonical UTC form, e.g. 2024-06-21T01:15:39.902Z.
    public var eventDateUtc: String

    public init(tenantId: String, tenantType: String, category: String, type: String,
                resourceId: String, resourceUrl: String, eventDateUtc: String) {
        self.tenantId = tenantId.lowercased()
        self.tenantType = tenantType.uppercased()
        self.category = category.uppercased()
        self.type = type.uppercased()
        self.resourceId = resourceId.lowercased()
        self.resourceUrl = resourceUrl
        self.eventDateUtc = eventDateUtc
    }

    /// The deduplication key: (tenant, category, resource, event date, type).
    var dedupKey: [UInt8] {
        Array(Crypto.sha256(Array("\(tenantId)\u{1}\(category)\u{1}\(resourceId)\u{1}\(eventDateUtc)\u{1}\(type)".utf8)).prefix(16))
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
    public let state: String
    public let attempts: Int
    public let lastError: String?
    public let receivedAt: String
}

/// The durable webhook inbox (R16).
///
/// `append` hands a verified raw body to one writer thread, which commits everything queued in
/// one transaction (group commit: one fsync for many deliveries) and only then calls each
/// completion. The same thread then expands committed deliveries into deduplicated events, in
/// delivery order, as soon as no new delivery is waiting (and at least every half second under
/// sustained load). Expansion is idempotent and resumes from `inbox_cursor` after a crash.
public final class WebhookInbox: Sendable {
    public static let eventStates = ["pending", "applied", "failed", "ignored", "unrouted", "quarantined"]

    private let db: Database
    private let accounts: AccountStore
    private let reader: DeliveryReader
    private let condition = NSCondition()
    private let queue = Mutex<Queue>(Queue())
    private let writerDone = Atomic<Bool>(false)
    private let lastDelivery = Atomic<Int>(0)
    private let expandedThrough = Atomic<Int>(0)
    /// Deliveries the writer has committed, for metrics.
    public let committedDeliveries = Atomic<Int>(0)
    public let failedBatches = Atomic<Int>(0)

    /// Deliveries expanded per transaction.
    static let expansionChunk = 256

    struct Pending {
        let body: [UInt8]
        let completion: @Sendable (Result<Void, StoreError>) -> Void
    }
    struct Queue {
        var items: [Pending] = []
        var stopping = false
    }

    public init(database: Database, accounts: AccountStore, reader: @escaping DeliveryReader) throws {
        db = database
        self.accounts = accounts
        self.reader = reader
        let (last, cursor) = try database.read { c -> (Int, Int) in
            let last = try c.query("SELECT COALESCE(MAX(id), 0) AS n FROM webhook_deliveries").first?.int("n") ?? 0
            let cur = try c.query("SELECT delivery_id FROM inbox_cursor WHERE name = 'expanded_through'").first?.int("delivery_id") ?? 0
            return (last, cur)
        }
        lastDelivery.store(last, ordering: .relaxed)
        expandedThrough.store(cursor, ordering: .relaxed)
        let t = Thread { [self] in self.writerLoop() }
        t.name = "inbox-writer"
        t.start()
    }

    /// Queues a verified body; `completion` runs on the writer thread once it is on disk (or failed).
    public func append(_ body: [UInt8], completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let accepted = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.items.append(Pending(body: body, completion: completion))
            return true
        }
        guard accepted else {
            completion(.failure(StoreError(code: "stopping", message: "the inbox is shutting down")))
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

    private func take() -> (batch: [Pending], stopping: Bool) {
        queue.withLock { q in
            let n = min(q.items.count, 4096)
            let b = Array(q.items.prefix(n))
            q.items.removeFirst(n)
            return (b, q.stopping)
        }
    }

    private var lagging: Bool { expandedThrough.load(ordering: .relaxed) < lastDelivery.load(ordering: .relaxed) }

    private func writerLoop() {
        defer { writerDone.store(true, ordering: .releasing) }
        var lastExpansion = Date()
        while true {
            condition.lock()
            var (batch, stopping) = take()
            if batch.isEmpty && !stopping {
                if lagging {
                    // Briefly idle: new deliveries come first, expansion after.
                    _ = condition.wait(until: Date().addingTimeInterval(0.001))
                } else {
                    condition.wait()
                }
                (batch, stopping) = take()
            }
            condition.unlock()

            if !batch.isEmpty { commit(batch) }
            if lagging && (batch.isEmpty || Date().timeIntervalSince(lastExpansion) > 0.5) {
                expandChunk()
                lastExpansion = Date()
            }
            if stopping && batch.isEmpty {
                let deadline = Date().addingTimeInterval(3)
                while lagging && Date() < deadline && expandChunk() {}
                return
            }
        }
    }

    private func commit(_ batch: [Pending]) {
        let result: Result<Void, StoreError>
        do {
            let now = Timestamp.now()
            let last = try db.write { c -> Int64 in
                let insert = try c.prepare("INSERT INTO webhook_deliveries (received_at, body) VALUES (?, ?)")
                for p in batch {
                    try insert.bind(.text(now), at: 1)
                    try p.body.withUnsafeBytes { try insert.bindBlob($0, at: 2) }
                    while try insert.step() {}
                    insert.reset()
                }
                return c.lastInsertRowID
            }
            lastDelivery.store(Int(last), ordering: .relaxed)
            committedDeliveries.add(batch.count, ordering: .relaxed)
            result = .success(())
        } catch let e as StoreError {
            failedBatches.add(1, ordering: .relaxed)
            result = .failure(e)
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            result = .failure(StoreError(code: "store", message: "\(error)"))
        }
        for p in batch { p.completion(result) }
    }

    /// Expands the next chunk of deliveries; false when there was nothing to do or it failed.
    @discardableResult
    private func expandChunk() -> Bool {
        do {
            let routes = try accounts.tenantRoutes()
            let through = try db.write { c -> Int64 in
                let from = Int64(expandedThrough.load(ordering: .relaxed))
                let rows = try c.query("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?",
                                       [.integer(from), .integer(Int64(WebhookInbox.expansionChunk))])
                guard let lastRow = rows.last, let lastId = lastRow.int("id") else { return from }
                let insertEvent = try c.prepare("""
                    INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, account_id, tenant_id, tenant_type,
                        category, type, resource_id, resource_url, event_date_utc, state, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for row in rows {
                    let deliveryId = Int64(row.int("id") ?? 0)
                    let receivedAt = row.string("received_at") ?? Timestamp.now()
                    let contents = reader(row.blob("body") ?? [])
                    for e in contents.events {
                        let account = routes[e.tenantId]
                        try insertEvent.bind([
                            .integer(deliveryId), .blob(e.dedupKey), account.map { .text($0) } ?? .null,
                            .text(e.tenantId), .text(e.tenantType), .text(e.category), .text(e.type),
                            .text(e.resourceId), .text(e.resourceUrl), .text(e.eventDateUtc),
                            .text(account == nil ? "unrouted" : "pending"), .text(receivedAt),
                        ])
                        while try insertEvent.step() {}
                        insertEvent.reset()
                    }
                    for problem in contents.problems {
                        try c.run("""
                            INSERT INTO webhook_events (delivery_id, state, last_error, received_at)
                            VALUES (?, 'quarantined', ?, ?)
                            """, [.integer(deliveryId), .text(String(problem.prefix(500))), .text(receivedAt)])
                    }
                }
                try c.run("UPDATE inbox_cursor SET delivery_id = ? WHERE name = 'expanded_through'", [.integer(Int64(lastId))])
                return Int64(lastId)
            }
            let moved = Int(through) > expandedThrough.load(ordering: .relaxed)
            expandedThrough.store(Int(through), ordering: .relaxed)
            return moved
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            return false
        }
    }

    // MARK: - reading

    /// Events visible to `accountId` (nil: every event, for operators), oldest first, after `afterId`.
    public func events(accountId: String?, state: String?, limit: Int, afterId: Int64?) throws -> [InboxEvent] {
        var sql = """
            SELECT id, delivery_id, account_id, tenant_id, category, type, resource_id, event_date_utc, state,
                   attempts, last_error, received_at FROM webhook_events WHERE id > ?
            """
        var values: [SQLValue] = [.integer(afterId ?? 0)]
        if let accountId { sql += " AND account_id = ?"; values.append(.text(accountId)) }
        if let state { sql += " AND state = ?"; values.append(.text(state)) }
        sql += " ORDER BY id LIMIT ?"
        values.append(.integer(Int64(limit)))
        return try db.read { c in
            try c.query(sql, values).map { r in
                InboxEvent(id: Int64(r.int("id") ?? 0), deliveryId: Int64(r.int("delivery_id") ?? 0),
                           accountId: r.string("account_id"), tenantId: r.string("tenant_id"),
                           category: r.string("category"), type: r.string("type"),
                           resourceId: r.string("resource_id"), eventDateUtc: r.string("event_date_utc"),
                           state: r.string("state") ?? "", attempts: r.int("attempts") ?? 0,
                           lastError: r.string("last_error"), receivedAt: r.string("received_at") ?? "")
            }
        }
    }

    /// Count of events per state (a scan: for metrics scrapes, not hot paths).
    public func counts() throws -> [String: Int] {
        try db.read { c in
            var m: [String: Int] = [:]
            for r in try c.query("SELECT state, COUNT(*) AS n FROM webhook_events GROUP BY state") {
                if let s = r.string("state") { m[s] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    /// Pending events per account (the backlog the applier has yet to work through).
    public func pendingByAccount() throws -> [String: Int] {
        try db.read { c in
            var m: [String: Int] = [:]
            for r in try c.query("SELECT account_id, COUNT(*) AS n FROM webhook_events WHERE state = 'pending' GROUP BY account_id") {
                if let a = r.string("account_id") { m[a] = r.int("n") ?? 0 }
            }
            return m
        }
    }
}
