import Foundation
import Synchronization

/// One event of a verified webhook delivery, normalised for deduplication.
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
}

/// A verified delivery: the raw body, its events, and why parts of it could not be read.
public struct DeliveryInput: Sendable {
    public var body: [UInt8]
    public var events: [InboxEventInput]
    /// Set when the body (or an element of it) is not a readable Xero payload: kept in quarantine.
    public var quarantineReasons: [String]

    public init(body: [UInt8], events: [InboxEventInput], quarantineReasons: [String] = []) {
        self.body = body
        self.events = events
        self.quarantineReasons = quarantineReasons
    }
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
    public let state: String
    public let attempts: Int
    public let lastError: String?
    public let receivedAt: String
}

/// The durable webhook inbox. `append` hands a delivery to one writer thread, which commits
/// everything queued in one transaction (group commit: one fsync for many deliveries) and only
/// then calls each completion.
public final class WebhookInbox: Sendable {
    public static let eventStates = ["pending", "applied", "failed", "ignored", "unrouted", "quarantined"]

    private let db: Database
    private let accounts: AccountStore
    private let condition = NSCondition()
    private let queue = Mutex<Queue>(Queue())
    private let writerDone = Atomic<Bool>(false)
    /// Deliveries the writer has committed, for metrics.
    public let committedDeliveries = Atomic<Int>(0)
    public let failedBatches = Atomic<Int>(0)

    struct Pending {
        let delivery: DeliveryInput
        let completion: @Sendable (Result<Void, StoreError>) -> Void
    }
    struct Queue {
        var items: [Pending] = []
        var stopping = false
    }

    public init(database: Database, accounts: AccountStore) {
        db = database
        self.accounts = accounts
        let t = Thread { [self] in self.writerLoop() }
        t.name = "inbox-writer"
        t.start()
    }

    /// Queues a delivery; `completion` runs on the writer thread after the commit (or failure).
    public func append(_ delivery: DeliveryInput, completion: @escaping @Sendable (Result<Void, StoreError>) -> Void) {
        let accepted = queue.withLock { q -> Bool in
            guard !q.stopping else { return false }
            q.items.append(Pending(delivery: delivery, completion: completion))
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

    /// True while the writer thread runs.
    public var writerAlive: Bool { !writerDone.load(ordering: .relaxed) }

    /// Commits what is queued, refuses new work, and waits for the writer to finish.
    public func stop() {
        queue.withLock { $0.stopping = true }
        condition.lock()
        condition.signal()
        condition.unlock()
        while !writerDone.load(ordering: .acquiring) { usleep(1_000) }
    }

    private func writerLoop() {
        defer { writerDone.store(true, ordering: .releasing) }
        while true {
            condition.lock()
            var batch: [Pending] = []
            var stop = false
            while true {
                (batch, stop) = queue.withLock { q in
                    let n = min(q.items.count, 2048)
                    let b = Array(q.items.prefix(n))
                    q.items.removeFirst(n)
                    return (b, q.stopping && q.items.isEmpty)
                }
                if !batch.isEmpty || stop { break }
                condition.wait()
            }
            condition.unlock()
            if !batch.isEmpty { commit(batch) }
            if stop && batch.isEmpty { return }
        }
    }

    private func commit(_ batch: [Pending]) {
        let result: Result<Void, StoreError>
        do {
            let routes = try accounts.tenantRoutes()
            let now = Timestamp.now()
            try db.write { c in
                let insertDelivery = try c.prepare(
                    "INSERT INTO webhook_deliveries (received_at, body, event_count, quarantined) VALUES (?, ?, ?, ?)")
                for p in batch {
                    let d = p.delivery
                    try insertDelivery.bind(.text(now), at: 1)
                    try d.body.withUnsafeBytes { try insertDelivery.bindBlob($0, at: 2) }
                    try insertDelivery.bind(.integer(Int64(d.events.count)), at: 3)
                    try insertDelivery.bind(.integer(d.quarantineReasons.isEmpty ? 0 : 1), at: 4)
                    while try insertDelivery.step() {}
                    insertDelivery.reset()
                    let deliveryId = c.lastInsertRowID
                    for e in d.events {
                        let account = routes[e.tenantId]
                        let ins = try c.prepare("""
                            INSERT OR IGNORE INTO webhook_events (delivery_id, account_id, tenant_id, tenant_type,
                                category, type, resource_id, resource_url, event_date_utc, state, received_at)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                            """)
                        try ins.bind([.integer(deliveryId), account.map { .text($0) } ?? .null, .text(e.tenantId),
                                      .text(e.tenantType), .text(e.category), .text(e.type), .text(e.resourceId),
                                      .text(e.resourceUrl), .text(e.eventDateUtc),
                                      .text(account == nil ? "unrouted" : "pending"), .text(now)])
                        while try ins.step() {}
                    }
                    for reason in d.quarantineReasons {
                        try c.run("""
                            INSERT INTO webhook_events (delivery_id, state, last_error, received_at)
                            VALUES (?, 'quarantined', ?, ?)
                            """, [.integer(deliveryId), .text(reason), .text(now)])
                    }
                }
            }
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

    // MARK: - reading

    /// Events visible to `accountId` (nil: every event, for operators), newest last, after `afterId`.
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

    /// Count of events per state, optionally for one account.
    public func counts(accountId: String? = nil) throws -> [String: Int] {
        try db.read { c in
            var m: [String: Int] = [:]
            let rows = accountId == nil
                ? try c.query("SELECT state, COUNT(*) AS n FROM webhook_events GROUP BY state")
                : try c.query("SELECT state, COUNT(*) AS n FROM webhook_events WHERE account_id = ? GROUP BY state",
                              [.text(accountId!)])
            for r in rows { if let s = r.string("state") { m[s] = r.int("n") ?? 0 } }
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
