import Crypto
import Timekeeping

/// The inbox's deliveries and events in SQLite: `webhook_deliveries`, `webhook_events` and the
/// expansion cursor in `inbox_cursor`; tenants are routed by `xero_connections`.
public final class SQLiteWebhookInboxRepository: WebhookInboxRepository {
    let db: any DatabaseWriter
    let clock: any WallClock

    /// A repository over `database`; `clock` stamps a delivery that somehow has no time.
    public init(database: any DatabaseWriter, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    public func position() throws(StoreError) -> InboxPosition {
        try StoreError.catching {
            try db.read { c in
                let last = try c.query("SELECT COALESCE(MAX(id), 0) AS n FROM webhook_deliveries").first?.int("n") ?? 0
                let cur = try c.query("SELECT delivery_id FROM inbox_cursor WHERE name = 'expanded_through'").first?.int("delivery_id") ?? 0
                return InboxPosition(lastDelivery: Int64(last), expandedThrough: Int64(cur))
            }
        }
    }

    public func commitDeliveries(_ bodies: [[UInt8]], receivedAt: String) throws(StoreError) -> Int64 {
        try StoreError.catching {
            try db.write(durable: true) { c -> Int64 in
                let insert = try c.prepare("INSERT INTO webhook_deliveries (received_at, body) VALUES (?, ?)")
                for body in bodies {
                    try insert.bind(.text(receivedAt), at: 1)
                    try body.withUnsafeBytes { try insert.bindBlob($0, at: 2) }
                    while try insert.step() {}
                    insert.reset()
                }
                return c.lastInsertRowID
            }
        }
    }

    public func expandDeliveries(after cursor: Int64, limit: Int, maxBytes: Int,
                                 reader: DeliveryReader) throws(StoreError) -> InboxExpansion {
        try StoreError.catching {
            var routed = Set<String>()
            // Not fsynced: events and the cursor commit together and are rebuilt from the
            // durable deliveries if a crash loses them.
            let through = try db.write(durable: false) { c -> Int64 in
                let routes = try SQLiteAccountRepository.tenantRoutes(c)
                let select = try c.prepare("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?")
                try select.bind([.integer(cursor), .integer(Int64(limit))])
                var read: [(id: Int64, receivedAt: String, contents: DeliveryContents, body: [UInt8])] = []
                var bytes = 0
                while bytes < maxBytes, try select.step() {
                    let body = select.withBlob(at: 2) { Array($0) }
                    bytes += body.count
                    read.append((select.int64(at: 0), select.text(at: 1) ?? clock.timestamp(), reader(body), body))
                }
                select.reset()
                guard let lastId = read.last?.id else { return cursor }
                let insertEvent = try c.prepare("""
                    INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, account_id, tenant_id,
                        category, type, resource_id, event_date_utc, state, received_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """)
                // Prepared only for a slice that has unreadable parts (rare).
                let insertQuarantine = read.contains { !$0.contents.problems.isEmpty } ? try c.prepare("""
                    INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, state, last_error, received_at)
                    VALUES (?, ?, '\(InboxEventState.quarantined.rawValue)', ?, ?)
                    """) : nil
                for (deliveryId, receivedAt, contents, body) in read {
                    for e in contents.events {
                        let account = routes[e.tenantId]
                        try insertEvent.bind([
                            .integer(deliveryId), .blob(e.dedupKey), account.map { .text($0) } ?? .null,
                            .text(e.tenantId), .text(e.category), .text(e.type),
                            .text(e.resourceId), .text(e.eventDateUtc),
                            .text(InboxEvent.routedState(account).rawValue), .text(receivedAt),
                        ])
                        while try insertEvent.step() {}
                        insertEvent.reset()
                        if let account, c.changes == 1 { routed.insert(account) }
                    }
                    guard !contents.problems.isEmpty, let insertQuarantine else { continue }
                    // The body is hashed once per delivery, never once per problem.
                    let bodyHash = Crypto.sha256(body)
                    for (n, problem) in DeliveryContents.quarantineRows(contents.problems).enumerated() {
                        try insertQuarantine.bind([.integer(deliveryId), .blob(DeliveryContents.quarantineKey(bodyHash: bodyHash, problem: n)),
                                                   .text(InboxEvent.quarantineError(problem)), .text(receivedAt)])
                        while try insertQuarantine.step() {}
                        insertQuarantine.reset()
                    }
                }
                try c.run("UPDATE inbox_cursor SET delivery_id = ? WHERE name = 'expanded_through'", [.integer(lastId)])
                return lastId
            }
            return InboxExpansion(expandedThrough: through, routedAccounts: routed)
        }
    }
}
