import Crypto
import Timekeeping
/// The inbox's events in PostgreSQL (`webhook_events`). The webhook inbox does not run on
/// PostgreSQL yet: `ingest` records a delivery and expands it in one transaction.
public final class PostgresWebhookEventRepository: WebhookEventRepository {
    let db: PostgresDatabase
    let clock: any WallClock

    /// A repository over `database`; `ingest` stamps deliveries with `clock`.
    public init(database: PostgresDatabase, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    public func events(accountId: String?, state: InboxEventState?, limit: Int, afterId: Int64?) throws(StoreError) -> [InboxEvent] {
        var sql = """
            SELECT id, delivery_id, account_id, tenant_id, category, type, resource_id, event_date_utc, state,
                   attempts, last_error, received_at FROM webhook_events WHERE id > ?
            """
        var values: [SQLValue] = [.integer(afterId ?? 0)]
        if let accountId { sql += " AND account_id = ?"; values.append(.text(accountId)) }
        if let state { sql += " AND state = ?"; values.append(.text(state.rawValue)) }
        sql += " ORDER BY id LIMIT ?"
        values.append(.integer(Int64(limit)))
        return try db.read { c in try c.query(sql, values).map(InboxEvent.init(row:)) }
    }

    public func counts() throws(StoreError) -> [InboxEventState: Int] {
        try db.read { c in
            var m: [InboxEventState: Int] = [:]
            for r in try c.query("SELECT state, COUNT(*) AS n FROM webhook_events GROUP BY state") {
                if let s = r.string("state").flatMap(InboxEventState.init(rawValue:)) { m[s] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    /// The literal keeps the query on the partial index `webhook_events_pending`.
    static let pendingByAccountSQL =
        "SELECT account_id, COUNT(*) AS n FROM webhook_events WHERE state = '\(InboxEventState.pending.rawValue)' GROUP BY account_id"

    public func pendingByAccount() throws(StoreError) -> [String: Int] {
        try db.read { c in
            var m: [String: Int] = [:]
            for r in try c.query(PostgresWebhookEventRepository.pendingByAccountSQL) {
                if let a = r.string("account_id") { m[a] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    public func pendingCount() throws(StoreError) -> Int {
        try db.read { c in
            try c.query("SELECT COUNT(*) AS n FROM webhook_events WHERE state = '\(InboxEventState.pending.rawValue)'").first?.int("n") ?? 0
        }
    }

    public func pendingCounts(accountIds: [String]) throws(StoreError) -> [String: Int] {
        guard !accountIds.isEmpty else { return [:] }
        let marks = Array(repeating: "?", count: accountIds.count).joined(separator: ", ")
        return try db.read { c in
            var m: [String: Int] = [:]
            for r in try c.query("""
                SELECT account_id, COUNT(*) AS n FROM webhook_events
                WHERE state = '\(InboxEventState.pending.rawValue)' AND account_id IN (\(marks)) GROUP BY account_id
                """, accountIds.map { .text($0) }) {
                if let a = r.string("account_id") { m[a] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    /// Each account's oldest pending event from the partial index (so the cost follows the pending
    /// events, never the accounts or the events of all time), then the connected accounts' oldest.
    public func oldestUnattendedPendingEvent() throws(StoreError) -> Int64? {
        try db.read { c in
            try c.query("""
                SELECT MIN(p.first) AS id
                FROM (SELECT account_id, MIN(id) AS first FROM webhook_events
                      WHERE state = '\(InboxEventState.pending.rawValue)' GROUP BY account_id) p
                JOIN xero_connections c ON c.account_id = p.account_id
                WHERE c.state = '\(ConnectionState.connected.rawValue)'
                  AND NOT EXISTS (SELECT 1 FROM sync_runs r WHERE r.account_id = p.account_id AND r.state = 'running')
                """).first?.int("id").map(Int64.init)
        }
    }
}


extension PostgresWebhookEventRepository {
    /// Records a delivery and its events in one durable transaction, as the inbox's commit and
    /// expansion do on SQLite: events deduplicated on their key and routed by tenant, unreadable
    /// parts quarantined once. Returns the delivery's id.
    @discardableResult
    public func ingest(_ body: [UInt8], contents: DeliveryContents) throws(StoreError) -> Int64 {
        let receivedAt = clock.timestamp()
        return try db.write { c in
            guard let deliveryId = try c.query("INSERT INTO webhook_deliveries (received_at, body) VALUES (?, ?) RETURNING id",
                                               [.text(receivedAt), .blob(body)]).first?.int("id").map(Int64.init) else {
                throw StoreError(code: .store, message: "the delivery was not stored")
            }
            let routes = try PostgresAccountRepository.tenantRoutes(c)
            // NOT EXISTS first, so a duplicate takes no id; ON CONFLICT for a concurrent writer.
            func insert(_ key: [UInt8], _ columns: String, _ values: [SQLValue]) throws {
                let marks = Array(repeating: "?", count: values.count + 2).joined(separator: ", ")
                try c.run("""
                    INSERT INTO webhook_events (delivery_id, dedup_key, \(columns))
                    SELECT \(marks) WHERE NOT EXISTS (SELECT 1 FROM webhook_events WHERE dedup_key = ?)
                    ON CONFLICT (dedup_key) DO NOTHING
                    """, [.integer(deliveryId), .blob(key)] + values + [.blob(key)])
            }
            for e in contents.events {
                let account = routes[e.tenantId]
                try insert(e.dedupKey, "account_id, tenant_id, category, type, resource_id, event_date_utc, state, received_at", [
                    account.map { .text($0) } ?? .null, .text(e.tenantId), .text(e.category), .text(e.type),
                    .text(e.resourceId), .text(e.eventDateUtc), .text(InboxEvent.routedState(account).rawValue), .text(receivedAt),
                ])
            }
            if !contents.problems.isEmpty {
                let bodyHash = Crypto.sha256(body)
                for (n, problem) in DeliveryContents.quarantineRows(contents.problems).enumerated() {
                    try insert(DeliveryContents.quarantineKey(bodyHash: bodyHash, problem: n), "state, last_error, received_at", [
                        .text(InboxEventState.quarantined.rawValue), .text(InboxEvent.quarantineError(problem)), .text(receivedAt),
                    ])
                }
            }
            try c.run("UPDATE inbox_cursor SET delivery_id = ? WHERE name = 'expanded_through'", [.integer(deliveryId)])
            return deliveryId
        }
    }
}
