import Crypto

extension WebhookInbox {
    /// Expands up to `limit` committed deliveries, after the cursor and in delivery order, into
    /// deduplicated events routed by tenant; returns how many (0 when there was nothing to do or
    /// it failed).
    @discardableResult
    func expandChunk(limit: Int) -> Int {
        do {
            // Not fsynced: events and the cursor commit together and are rebuilt from the
            // durable deliveries if a crash loses them.
            let through = try db.write(durable: false) { c -> Int64 in
                let routes = try SQLiteAccountRepository.tenantRoutes(c)
                let from = Int64(expandedThrough.load(ordering: .relaxed))
                let select = try c.prepare("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?")
                try select.bind([.integer(from), .integer(Int64(limit))])
                var read: [(id: Int64, receivedAt: String, contents: DeliveryContents, body: [UInt8])] = []
                while try select.step() {
                    let body = select.withBlob(at: 2) { Array($0) }
                    read.append((select.int64(at: 0), select.text(at: 1) ?? clock.timestamp(), reader(body), body))
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
                            .text(InboxEvent.routedState(account).rawValue), .text(receivedAt),
                        ])
                        while try insertEvent.step() {}
                        insertEvent.reset()
                    }
                    for (n, problem) in contents.problems.enumerated() {
                        try c.run("""
                            INSERT OR IGNORE INTO webhook_events (delivery_id, dedup_key, state, last_error, received_at)
                            VALUES (?, ?, '\(InboxEventState.quarantined.rawValue)', ?, ?)
                            """, [.integer(deliveryId), .blob(DeliveryContents.quarantineKey(body: body, problem: n)),
                                  .text(InboxEvent.quarantineError(problem)), .text(receivedAt)])
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
}

extension DeliveryContents {
    /// The dedup key of a delivery's `problem`th unreadable part: a re-sent unreadable delivery
    /// (its 200 lost) is quarantined once, keyed on the body and the problem's position in it.
    static func quarantineKey(body: [UInt8], problem n: Int) -> [UInt8] {
        Array(Crypto.sha256(body + [0, UInt8(truncatingIfNeeded: n), UInt8(truncatingIfNeeded: n >> 8)]).prefix(16))
    }
}

extension InboxEvent {
    /// The state of a new event: `pending` when its tenant routes to an account, else `unrouted`.
    static func routedState(_ account: String?) -> InboxEventState { account == nil ? .unrouted : .pending }

    /// A quarantined part's `last_error`: the problem, at most 500 characters.
    static func quarantineError(_ problem: String) -> String { String(problem.prefix(500)) }
}
