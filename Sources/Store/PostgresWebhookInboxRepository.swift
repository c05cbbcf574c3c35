import Crypto
import Timekeeping

/// The inbox's deliveries and events in PostgreSQL: `webhook_deliveries`, `webhook_events` and
/// the expansion cursor in `inbox_cursor`; tenants are routed by `xero_connections`.
///
/// Any number of gateways may share the tables. Commits take a transaction-scoped advisory lock
/// (one per schema) before their ids are drawn, so deliveries commit in id order across
/// instances and an expansion never passes over a lower id that another instance has yet to
/// commit. Expansions take the cursor row `FOR UPDATE` and start from the stored cursor, so
/// two instances never expand one delivery twice, and whichever runs next also expands what an
/// instance that died left committed. An expansion that routes events notifies every gateway
/// listening on the schema's channel (`PostgresEventListener`) as it commits.
public final class PostgresWebhookInboxRepository: WebhookInboxRepository {
    let db: PostgresDatabase

    /// A repository over `database`.
    public init(database: PostgresDatabase) {
        db = database
    }

    /// The advisory lock key (with the schema's hash) that orders deliveries' commits.
    static let commitLockKey = 30824

    /// Rows per `INSERT` (two values each, well under PostgreSQL's 65 535 parameters).
    static let insertChunk = 1000

    public func position() throws(StoreError) -> InboxPosition {
        try db.read { c in
            let last = try c.query("SELECT COALESCE(MAX(id), 0) AS n FROM webhook_deliveries").first?.int("n") ?? 0
            let cur = try c.query("SELECT delivery_id FROM inbox_cursor WHERE name = 'expanded_through'").first?.int("delivery_id") ?? 0
            return InboxPosition(lastDelivery: Int64(last), expandedThrough: Int64(cur))
        }
    }

    public func commitDeliveries(_ bodies: [[UInt8]], receivedAt: String) throws(StoreError) -> Int64 {
        // Durable: `synchronous_commit = on`, so the caller's 200 follows the server's WAL flush.
        try db.write(durable: true) { c -> Int64 in
            try c.run("SELECT pg_advisory_xact_lock(\(Self.commitLockKey), hashtext(current_schema()))")
            var last: Int64 = 0
            var start = 0
            while start < bodies.count {
                let chunk = bodies[start..<min(bodies.count, start + Self.insertChunk)]
                // ?1 is the time every row shares; the bodies follow from ?2.
                let rows = (0..<chunk.count).map { "(?1, ?\($0 + 2))" }.joined(separator: ", ")
                let values: [SQLValue] = [.text(receivedAt)] + chunk.map { .blob($0) }
                let ids = try c.query("INSERT INTO webhook_deliveries (received_at, body) VALUES \(rows) RETURNING id", values)
                last = max(last, ids.compactMap { $0.int("id").map(Int64.init) }.max() ?? 0)
                start += chunk.count
            }
            return last
        }
    }

    public func expandDeliveries(after cursor: Int64, limit: Int, maxBytes: Int,
                                 reader: DeliveryReader) throws(StoreError) -> InboxExpansion {
        var routed = Set<String>()
        // Not durable: events and the cursor commit together and are rebuilt from the durable
        // deliveries if a crash loses them.
        let through = try db.write(durable: false) { c -> Int64 in
            // The cursor row, locked: another instance's expansion waits here, then starts where
            // this one ends.
            let stored = try c.query("SELECT delivery_id FROM inbox_cursor WHERE name = 'expanded_through' FOR UPDATE")
                .first?.int("delivery_id").map(Int64.init) ?? 0
            // The stored cursor, never the caller's: expansions commit without waiting for the
            // flush, so a server crash can take the last ones back while this gateway lives on
            // with its cursor past them; their deliveries are durable and are expanded again.
            let from = stored
            let selected = try c.query("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?",
                                       [.integer(from), .integer(Int64(max(1, limit)))])
            var read: [(id: Int64, receivedAt: String, contents: DeliveryContents, body: [UInt8])] = []
            var bytes = 0
            for row in selected {
                guard bytes < maxBytes, let id = row.int("id"), let body = row.blob("body") else { break }
                bytes += body.count
                read.append((Int64(id), row.string("received_at") ?? "", reader(body), body))
            }
            guard let lastId = read.last?.id else { return from }
            let routes = try PostgresAccountRepository.tenantRoutes(c)
            // NOT EXISTS first, so a duplicate takes no id; ON CONFLICT for a concurrent writer.
            func insert(_ deliveryId: Int64, _ key: [UInt8], _ columns: String, _ values: [SQLValue]) throws -> Bool {
                let marks = Array(repeating: "?", count: values.count + 2).joined(separator: ", ")
                try c.run("""
                    INSERT INTO webhook_events (delivery_id, dedup_key, \(columns))
                    SELECT \(marks) WHERE NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedup_key = ?)
                    ON CONFLICT (dedup_key) DO NOTHING
                    """, [.integer(deliveryId), .blob(key)] + values + [.blob(key)])
                return c.changes == 1
            }
            for (deliveryId, receivedAt, contents, body) in read {
                for e in contents.events {
                    let account = routes[e.tenantId]
                    let added = try insert(deliveryId, e.dedupKey,
                                           "account_id, tenant_id, category, type, resource_id, event_date_utc, state, received_at", [
                        account.map { .text($0) } ?? .null, .text(e.tenantId), .text(e.category), .text(e.type),
                        .text(e.resourceId), .text(e.eventDateUtc), .text(InboxEvent.routedState(account).rawValue), .text(receivedAt),
                    ])
                    if let account, added { routed.insert(account) }
                }
                guard !contents.problems.isEmpty else { continue }
                // The body is hashed once per delivery, never once per problem.
                let bodyHash = Crypto.sha256(body)
                for (n, problem) in DeliveryContents.quarantineRows(contents.problems).enumerated() {
                    _ = try insert(deliveryId, DeliveryContents.quarantineKey(bodyHash: bodyHash, problem: n),
                                   "state, last_error, received_at", [
                        .text(InboxEventState.quarantined.rawValue), .text(InboxEvent.quarantineError(problem)), .text(receivedAt),
                    ])
                }
            }
            try c.run("UPDATE inbox_cursor SET delivery_id = ? WHERE name = 'expanded_through'", [.integer(lastId)])
            // Every gateway listening on the schema's channel wakes for these accounts when this
            // commits (a notification holds at most 8000 bytes: 150 ids each).
            let accounts = routed.sorted()
            for start in stride(from: 0, to: accounts.count, by: 150) {
                try c.run("SELECT pg_notify(\(PostgresEventListener.channelSQL), ?)",
                          [.text(accounts[start..<min(accounts.count, start + 150)].joined(separator: ","))])
            }
            return lastId
        }
        return InboxExpansion(expandedThrough: through, routedAccounts: routed)
    }
}
