import Foundation
import Store
import Synchronization
import Timekeeping

/// Where `/healthz` draws the line, in seconds.
struct HealthLimits: Sendable {
    /// The sync scheduler looks for due work every 0.1 s; this long without a look, it has stopped.
    var schedulerStall = 30.0
    /// A pending event of a connected account is picked up within 100 ms of its commit (2 s at
    /// worst, by the scheduler's store scan) unless a run holds the account; one seen waiting
    /// this long with no run going on means the applier has stopped.
    var applierStall = 300.0
    /// How often the store is read for health.
    var readingsInterval = 1.0
    /// Readings this old mean the store has stopped answering.
    var readingsStale = 15.0
}

/// What `/healthz` reads from the store, refreshed once a `readingsInterval` on its own thread
/// so that a health check only copies them, whatever the number of accounts: accounts by
/// connection state (one GROUP BY), pending inbox events (counted on their partial index), and
/// the oldest pending event of a connected account that no run works on, with when the readings
/// first saw it waiting.
final class HealthReadings: Sendable {
    struct Snapshot: Sendable {
        var readable = true
        var accounts: [ConnectionState: Int] = [:]
        var pendingEvents = 0
        /// The oldest pending event no run works on, and when (monotonic ms) the readings first saw it.
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
    /// Time for the readings' age and how long an event has waited (a test moves it instead of sleeping).
    let clock: any MonotonicClock
    let limits = Mutex(HealthLimits())
    private let snapshot = Mutex<Snapshot?>(nil)
    private let wake = NSCondition()
    private let stopped = Atomic<Bool>(false)
    private let done = Atomic<Bool>(true)

    init(accounts: any AccountRepository, events: any WebhookEventRepository, clock: any MonotonicClock) {
        self.accounts = accounts
        self.events = events
        self.clock = clock
    }

    /// The latest readings (read now if there are none yet).
    func current() -> Snapshot {
        if let s = snapshot.withLock({ $0 }) { return s }
        return refresh()
    }

    /// Reads the store now.
    @discardableResult
    func refresh() -> Snapshot {
        let now = clock.nowMilliseconds()
        var fresh = Snapshot(takenAt: now)
        do {
            fresh.accounts = try accounts.connectionCounts()
            fresh.pendingEvents = try events.pendingCount()
            fresh.unattendedEvent = try events.oldestUnattendedPendingEvent()
        } catch {
            fresh.readable = false
        }
        return snapshot.withLock { s in
            if !fresh.readable {
                fresh.unattendedEvent = s?.unattendedEvent
                fresh.unattendedSince = s?.unattendedSince ?? now
            } else if let id = fresh.unattendedEvent {
                fresh.unattendedSince = s?.unattendedEvent == id ? s?.unattendedSince ?? now : now
            }
            s = fresh
            return fresh
        }
    }

    /// Starts the thread that refreshes the readings.
    func start() {
        guard done.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let t = Thread { [self] in
            defer { done.store(true, ordering: .releasing) }
            while !stopped.load(ordering: .acquiring) {
                refresh()
                let interval = max(0.01, limits.withLock { $0.readingsInterval })
                wake.lock()
                if !stopped.load(ordering: .acquiring) { _ = wake.wait(until: Date().addingTimeInterval(interval)) }
                wake.unlock()
            }
        }
        t.name = "health-readings"
        t.start()
    }

    /// Stops the thread (before the store closes).
    func stop() {
        stopped.store(true, ordering: .releasing)
        wake.lock()
        wake.signal()
        wake.unlock()
        while !done.load(ordering: .acquiring) { usleep(1_000) }
    }
}
