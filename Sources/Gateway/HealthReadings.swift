import Foundation
import Store
import Synchronization

/// Where `/healthz` draws the line, in seconds.
struct HealthLimits: Sendable {
    /// The sync scheduler looks for due work every 0.1 s; this long without a look, it has stopped.
    var schedulerStall = 30.0
    /// A pending event of a connected account is picked up within 100 ms of its commit (2 s at
    /// worst, by the scheduler's store scan) unless a run holds the account; one seen waiting
    /// this long with no run going on means the applier has stopped.
    var applierStall = 300.0
    /// Readings from the store are at most this old (the cost of a check does not grow with traffic).
    var readingsMaxAge = 1.0
}

/// What `/healthz` reads from the store, at most once a `readingsMaxAge` however often it is
/// asked: accounts by connection state (one GROUP BY), pending inbox events (counted on their
/// partial index), and the oldest pending event of a connected account that no run works on,
/// with when health checks first saw it waiting. A check that finds the readings stale refreshes
/// them; checks meanwhile answer with the previous ones.
final class HealthReadings: Sendable {
    struct Snapshot: Sendable {
        var readable = true
        var accounts: [ConnectionState: Int] = [:]
        var pendingEvents = 0
        /// The oldest pending event no run works on, and when (monotonic ms) a check first saw it.
        var unattendedEvent: Int64?
        var unattendedSince: Int64 = 0
        /// Monotonic ms.
        var takenAt: Int64 = 0

        /// Seconds the oldest unattended event has been seen waiting (0 when there is none).
        func unattendedSeconds(now: Int64) -> Double {
            unattendedEvent == nil ? 0 : Double(max(0, now - unattendedSince)) / 1000
        }
    }

    let accounts: any AccountRepository
    let events: any WebhookEventRepository
    let limits = Mutex(HealthLimits())
    private let state = Mutex<(snapshot: Snapshot?, refreshing: Bool)>((nil, false))

    init(accounts: any AccountRepository, events: any WebhookEventRepository) {
        self.accounts = accounts
        self.events = events
    }

    static func monotonicNow() -> Int64 { Int64(DispatchTime.now().uptimeNanoseconds / 1_000_000) }

    /// The readings, refreshed first when they are stale and no other check is refreshing them.
    func current() -> Snapshot {
        let now = HealthReadings.monotonicNow()
        let maxAge = Int64(limits.withLock { $0.readingsMaxAge } * 1000)
        let cached = state.withLock { s -> Snapshot? in
            if let snapshot = s.snapshot, now - snapshot.takenAt < maxAge || s.refreshing { return snapshot }
            s.refreshing = true
            return nil
        }
        if let cached { return cached }
        var fresh = Snapshot(takenAt: now)
        do {
            fresh.accounts = try accounts.connectionCounts()
            fresh.pendingEvents = try events.pendingCount()
            fresh.unattendedEvent = try events.oldestUnattendedPendingEvent()
        } catch {
            fresh.readable = false
        }
        return state.withLock { s in
            let previous = s.snapshot
            if !fresh.readable {
                fresh.unattendedEvent = previous?.unattendedEvent
                fresh.unattendedSince = previous?.unattendedSince ?? now
            } else if let id = fresh.unattendedEvent {
                fresh.unattendedSince = previous?.unattendedEvent == id ? previous?.unattendedSince ?? now : now
            }
            s.snapshot = fresh
            s.refreshing = false
            return fresh
        }
    }
}
