import Crypto

extension WebhookInbox {
    static let maxSliceBytes = 256 * 1024

    /// Expands up to `limit` committed deliveries, after the cursor and in delivery order, into
    /// deduplicated events routed by tenant; returns how many (0 when there was nothing to do or
    /// it failed).
    @discardableResult
    func expandChunk(limit: Int) -> Int {
        do {
            // Not fsynced: events and the cursor commit together and are rebuilt from the
            // durable deliveries if a crash loses them.
            var routed = Set<String>()
            let through = try db.write(durable: false) { c -> Int64 in
                let routes = try SQLiteAccountRepository.tenantRoutes(c)
                let from = Int64(expandedThrough.load(ordering: .relaxed))
                let select = try c.prepare("SELECT id, received_at, body FROM webhook_deliveries WHERE id > ? ORDER BY id LIMIT ?")
                try select.bind([.integer(from), .integer(Int64(limit))])
                var read: [(id: Int64, receivedAt: String, contents: DeliveryContents, body: [UInt8])] = []
                var bytes = 0
                // A slice is at most `limit` deliveries and about 256 KiB of bodies, so one large
                // delivery never holds the acknowledgements queued behind it for long.
                while bytes < WebhookInbox.maxSliceBytes, try select.step() {
                    let body = select.withBlob(at: 2) { Array($0) }
                    bytes += body.count
                    read.append((select.int64(at: 0), select.text(at: 1) ?? clock.timestamp(), reader(body), body))
                }
                select.reset()
                guard let lastId = read.last?.id else { return from }
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
            let moved = Int(through) - expandedThrough.load(ordering: .relaxed)
            expandedThrough.store(Int(through), ordering: .relaxed)
            if !routed.isEmpty, let wake = eventsRouted.withLock({ $0 }) { wake(routed) }
            return max(0, moved)
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            return 0
        }
    }
}

extension DeliveryContents {
    /// The dedup key of a delivery's `n`th quarantine row: a re-sent unreadable delivery (its 200
    /// lost) is quarantined once, keyed on the body's hash and the row's position (all 64 bits).
    static func quarantineKey(bodyHash: [UInt8], problem n: Int) -> [UInt8] {
        var material = bodyHash
        for i in 0..<8 { material.append(UInt8(truncatingIfNeeded: UInt64(n) >> UInt64(8 * i))) }
        return Array(Crypto.sha256(material).prefix(16))
    }

    /// Problems kept one row each up to this many; beyond it the delivery is quarantined once,
    /// with the count, so a poisoned delivery costs one row, not one per bad event.
    static let maxQuarantineRows = 100

    /// The quarantine rows for a delivery's problems: one each, or one summary with the count.
    static func quarantineRows(_ problems: [String]) -> [String] {
        guard problems.count > maxQuarantineRows else { return problems }
        return ["\(problems.count) unreadable parts in this delivery, quarantined together; the first: "
                + problems.prefix(3).joined(separator: "; ")]
    }
}

extension InboxEvent {
    /// The state of a new event: `pending` when its tenant routes to an account, else `unrouted`.
    static func routedState(_ account: String?) -> InboxEventState { account == nil ? .unrouted : .pending }

    /// A quarantined part's `last_error`: the problem, at most 500 characters.
    static func quarantineError(_ problem: String) -> String { String(problem.prefix(500)) }
}
