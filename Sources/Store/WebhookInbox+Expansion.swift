import Crypto

extension WebhookInbox {
    static let maxSliceBytes = 256 * 1024

    /// Expands up to `limit` committed deliveries, after the cursor and in delivery order, into
    /// deduplicated events routed by tenant; returns how many (0 when there was nothing to do or
    /// it failed).
    @discardableResult
    func expandChunk(limit: Int) -> Int {
        do {
            // A slice is at most `limit` deliveries and about 256 KiB of bodies, so one large
            // delivery never holds the acknowledgements queued behind it for long.
            let from = Int64(expandedThrough.load(ordering: .relaxed))
            let expansion = try repository.expandDeliveries(after: from, limit: limit,
                                                            maxBytes: WebhookInbox.maxSliceBytes, reader: reader)
            expandedThrough.store(Int(expansion.expandedThrough), ordering: .relaxed)
            if !expansion.routedAccounts.isEmpty, let wake = eventsRouted.withLock({ $0 }) { wake(expansion.routedAccounts) }
            return max(0, Int(expansion.expandedThrough - from))
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
