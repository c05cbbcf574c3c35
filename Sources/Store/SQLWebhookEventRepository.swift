/// The inbox's events in SQLite (`webhook_events`), as `WebhookInbox` expands them.
public typealias SQLiteWebhookEventRepository = SQLWebhookEventRepository<Database>
/// The inbox's events in PostgreSQL (`webhook_events`), written by `PostgresWebhookInboxRepository`.
public typealias PostgresWebhookEventRepository = SQLWebhookEventRepository<PostgresDatabase>

/// The inbox's events in either SQL store, written once; it only reads.
public final class SQLWebhookEventRepository<DB: SQLDatabase>: WebhookEventRepository {
    let db: DB

    /// A repository reading `database`.
    public init(database: DB) { db = database }

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
            for r in try c.query("SELECT state, COUNT(*) AS n FROM webhook_events GROUP BY state", []) {
                if let s = r.string("state").flatMap(InboxEventState.init(rawValue:)) { m[s] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    /// The literal keeps the query on the partial index `webhook_events_pending`.
    static var pendingByAccountSQL: String {
        "SELECT account_id, COUNT(*) AS n FROM webhook_events WHERE state = '\(InboxEventState.pending.rawValue)' GROUP BY account_id"
    }

    public func pendingByAccount() throws(StoreError) -> [String: Int] {
        try db.read { c in
            var m: [String: Int] = [:]
            for r in try c.query(Self.pendingByAccountSQL, []) {
                if let a = r.string("account_id") { m[a] = r.int("n") ?? 0 }
            }
            return m
        }
    }

    public func pendingCount() throws(StoreError) -> Int {
        try db.read { c in
            try c.query("SELECT COUNT(*) AS n FROM webhook_events WHERE state = '\(InboxEventState.pending.rawValue)'", []).first?.int("n") ?? 0
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
                """, []).first?.int("id").map(Int64.init)
        }
    }
}

extension InboxEvent {
    init(row r: Row) throws {
        guard let state = InboxEventState(rawValue: r.string("state") ?? "") else {
            throw StoreError(code: .corrupt, message: "unknown inbox event state \(r.string("state") ?? "NULL")")
        }
        self.init(id: Int64(r.int("id") ?? 0), deliveryId: Int64(r.int("delivery_id") ?? 0),
                  accountId: r.string("account_id"), tenantId: r.string("tenant_id"),
                  category: r.string("category"), type: r.string("type"),
                  resourceId: r.string("resource_id"), eventDateUtc: r.string("event_date_utc"),
                  state: state, attempts: r.int("attempts") ?? 0,
                  lastError: r.string("last_error"), receivedAt: r.string("received_at") ?? "")
    }
}
