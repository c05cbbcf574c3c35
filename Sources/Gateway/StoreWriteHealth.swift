import Foundation
import Store
import Synchronization
import Timekeeping

/// Whether the store can write, for `/healthz`: the outcome of the last durable write (a
/// webhook's commit, or a probe). When nothing has been written for a second, a health check
/// starts a small probe write on its own thread (at most one at a time, at most one a second),
/// so a store that failed recovers in the report by itself once writes succeed again, and one
/// that cannot write is noticed even without webhook traffic.
final class StoreWriteHealth: Sendable {
    private let failed = Atomic<Bool>(false)
    /// When the last write finished (monotonic ms; 0: none yet).
    private let lastOutcome = Atomic<Int64>(0)
    private let probing = Atomic<Bool>(false)
    private let probe: @Sendable () throws(StoreError) -> Void
    private let clock: any MonotonicClock

    /// `probe` is a small durable write that throws when the store cannot write; `clock` says
    /// when one is due (a test moves it instead of sleeping).
    init(probe: @escaping @Sendable () throws(StoreError) -> Void, clock: any MonotonicClock) {
        self.probe = probe
        self.clock = clock
    }

    var writable: Bool { !failed.load(ordering: .relaxed) }

    func record(ok: Bool) {
        failed.store(!ok, ordering: .relaxed)
        lastOutcome.store(clock.nowMilliseconds(), ordering: .relaxed)
    }

    /// Starts a probe write if none ran (and no write finished) in the last second.
    func probeIfDue() {
        let last = lastOutcome.load(ordering: .relaxed)
        guard last == 0 || clock.nowMilliseconds() - last >= 1_000,
              !probing.exchange(true, ordering: .acquiring) else { return }
        let t = Thread { [self] in
            defer { probing.store(false, ordering: .releasing) }
            do {
                try probe()
                record(ok: true)
            } catch {
                record(ok: false)
            }
        }
        t.name = "store-probe"
        t.start()
    }
}
