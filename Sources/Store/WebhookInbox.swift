import Crypto
import Foundation
import Synchronization

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
/// delivery order: at full speed whenever deliveries pause for 2 ms, and with a tenth of the
/// wall-clock time while they keep arriving, so acknowledgements come first and events still
/// keep pace with any stream that leaves the writer some idle time. Expansion is idempotent and resumes from `inbox_cursor`
/// after a crash.
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

    /// Share of wall-clock time that expansion may take while deliveries keep arriving. A busy
    /// writer (saturation) thus keeps nine tenths of its time for acknowledgements; a lightly
    /// loaded one earns budget while it waits, so events keep pace with steady streams.
    static let expansionShare = 0.1
    /// Most expansion time banked, which bounds what one chunk adds to an acknowledgement.
    static let maxBudget = 0.005

    private func writerLoop() {
        defer { writerDone.store(true, ordering: .releasing) }
        var budget = 0.0
        var lastTick = monotonicNow()
        var costPerDelivery = 30e-6
        var pausedUntil = 0.0  // after a failed expansion, acknowledgements only for a second
        while true {
            condition.lock()
            var (batch, stopping) = take()
            if batch.isEmpty && !stopping {
                if lagging {
                    // Quiet for 2 ms: expand at full speed; new deliveries still come first.
                    _ = condition.wait(until: Date().addingTimeInterval(0.002))
                } else {
                    condition.wait()
                }
                (batch, stopping) = take()
            }
            condition.unlock()

            let now = monotonicNow()
            budget = min(budget + (now - lastTick) * WebhookInbox.expansionShare, WebhookInbox.maxBudget)
            lastTick = now
            if !batch.isEmpty { commit(batch) }
            if lagging && (batch.isEmpty || budget > 0) && monotonicNow() >= pausedUntil {
                let limit = batch.isEmpty ? 128 : max(4, min(256, Int(budget / costPerDelivery)))
                let started = monotonicNow()
                let count = expandChunk(limit: limit)
                let spent = monotonicNow() - started
                if !batch.isEmpty { budget -= spent }
                if count > 0 {
                    costPerDelivery = 0.8 * costPerDelivery + 0.2 * spent / Double(count)
                } else {
                    pausedUntil = monotonicNow() + 1
                }
            }
            if stopping && batch.isEmpty {
                let deadline = Date().addingTimeInterval(5)
                while lagging && Date() < deadline && expandChunk(limit: 256) > 0 {}
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

    /// Expands up to `limit` deliveries; returns how many (0 when there was nothing to do or it failed).
    @discardableResult
    private func expandChunk(limit: Int) -> Int {
        do {
            // Not fsynced: events and the cursor commit together and are rebuilt from the
            // durable deliveries if a crash loses them.
            let through = try db.write(durable: false) { c -> Int64 in
                let routes = try AccountStore.tenantRoutes(c)
                let from = Int64(expandedThrough.load(ordering: .relaxed))
                let select = try c.prepare("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?")
                try select.bind([.integer(from), .integer(Int64(limit))])
                var read: [(id: Int64, receivedAt: String, contents: DeliveryContents, body: [UInt8])] = []
                while try select.step() {
                    let body = select.withBlob(at: 2) { Array($0) }
                    read.append((select.int64(at: 0), select.text(at: 1) ?? Timestamp.now(), reader(body), body))
                }
                select.reset()
                guard let lastId = read.last?.id else { return from }
                let insertEvent = try c.prepare("""
                    INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, account_id, tenant_id,
                        category, type, resource_id, event_date_utc, state, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                for (deliveryId, receivedAt, contents, body) in read {
                    for e in contents.events {
                        let account = routes[e.tenantId]
                        try insertEvent.bind([
                            .integer(deliveryId), .blob(e.dedupKey), account.map { .text($0) } ?? .null,
                            .text(e.tenantId), .text(e.category), .text(e.type),
                            .text(e.resourceId), .text(e.eventDateUtc),
                            .text(account == nil ? "unrouted" : "pending"), .text(receivedAt),
                        ])
                        while try insertEvent.step() {}
                        insertEvent.reset()
                    }
                    // A re-sent unreadable delivery (its 200 lost) is quarantined once: keyed on
                    // the body and the problem's position in it.
                    for (n, problem) in contents.problems.enumerated() {
                        let key = Array(Crypto.sha256(body + [0, UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8)]).prefix(16))
                        try c.run("""
                            INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, state, last_error, received_at)
                            VALUES (?, ?, 'quarantined', ?, ?)
                            """, [.integer(deliveryId), .blob(key), .text(String(problem.prefix(500))), .text(receivedAt)])
                    }
                }
                try c.run("UPDATE inbox_cursor SET delivery_id = ? WHERE name = 'expanded_through'", [.integer(lastId)])
                return lastId
            }
            let moved = Int(through) - expandedThrough.load(ordering: .relaxed)
            expandedThrough.store(Int(through), ordering: .relaxed)
            return max(0, moved)
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            return 0
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

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}
