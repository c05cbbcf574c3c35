import Foundation

/// The expansion time budget of the inbox writer. While deliveries keep arriving, expansion may
/// take a tenth of wall-clock time: a busy writer (saturation) keeps nine tenths for
/// acknowledgements; a lightly loaded one earns budget while it waits, so events keep pace with
/// steady streams. When deliveries pause, expansion runs at full speed.
struct ExpansionBudget {
    /// Share of wall-clock time that expansion may take while deliveries keep arriving.
    static let share = 0.1
    /// Most expansion time banked, which bounds what one chunk adds to an acknowledgement.
    static let maxBudget = Duration.milliseconds(5)
    /// Deliveries per chunk when none are arriving.
    static let quietChunk = 128

    private var budget = Duration.zero
    private var lastTick: Instant
    private var costPerDelivery = Duration.microseconds(30)
    /// After a failed expansion, acknowledgements only for a second.
    private var pausedUntil: Instant

    /// A moment on the inbox's monotonic clock, in nanoseconds.
    struct Instant: Comparable {
        var nanoseconds: Int64
        static func < (a: Instant, b: Instant) -> Bool { a.nanoseconds < b.nanoseconds }
        static func - (a: Instant, b: Instant) -> Duration { .nanoseconds(a.nanoseconds - b.nanoseconds) }
        static func + (a: Instant, d: Duration) -> Instant {
            Instant(nanoseconds: a.nanoseconds + d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000)
        }
    }

    init(now: Instant) {
        lastTick = now
        pausedUntil = now
    }

    /// Earns the share of the time since the last tick.
    mutating func tick(now: Instant) {
        budget = min(budget + (now - lastTick) * ExpansionBudget.share, ExpansionBudget.maxBudget)
        lastTick = now
    }

    /// How many deliveries to expand now, or nil for none: a full chunk when no deliveries
    /// arrived (`busy` false), else what the budget buys (4 to 256).
    func limit(busy: Bool, now: Instant) -> Int? {
        guard now >= pausedUntil else { return nil }
        guard busy else { return ExpansionBudget.quietChunk }
        guard budget > .zero else { return nil }
        return max(4, Int(min(256, budget / costPerDelivery)))
    }

    /// Accounts for a chunk that expanded `count` deliveries in `spent`.
    mutating func spent(_ spent: Duration, expanding count: Int, busy: Bool, now: Instant) {
        if busy { budget -= spent }
        if count > 0 {
            costPerDelivery = costPerDelivery * 0.8 + (spent / count) * 0.2
        } else {
            pausedUntil = now + .seconds(1)
        }
    }
}

extension WebhookInbox {
    /// The writer thread: commits what is queued, then expands within the budget; at stop,
    /// commits the rest and expands for up to 5 s.
    func writerLoop() {
        defer { writerDone.store(true, ordering: .releasing) }
        let clock = monotonicClock
        var now: ExpansionBudget.Instant { ExpansionBudget.Instant(nanoseconds: clock.nowNanoseconds()) }
        var budget = ExpansionBudget(now: now)
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

            let busy = !batch.isEmpty
            budget.tick(now: now)
            if busy { commit(batch) }
            if lagging, let limit = budget.limit(busy: busy, now: now) {
                let started = now
                let count = expandChunk(limit: limit)
                let finished = now
                budget.spent(finished - started, expanding: count, busy: busy, now: finished)
            }
            if stopping && batch.isEmpty {
                let deadline = Date().addingTimeInterval(5)
                while lagging && Date() < deadline && expandChunk(limit: 256) > 0 {}
                return
            }
        }
    }

    /// Takes up to 4096 queued deliveries.
    private func take() -> (batch: [Pending], stopping: Bool) {
        queue.withLock { q in
            let n = min(q.items.count, 4096)
            let b = Array(q.items.prefix(n))
            q.items.removeFirst(n)
            return (b, q.stopping)
        }
    }

    /// Committed deliveries wait for expansion.
    var lagging: Bool { expandedThrough.load(ordering: .relaxed) < lastDelivery.load(ordering: .relaxed) }
}
