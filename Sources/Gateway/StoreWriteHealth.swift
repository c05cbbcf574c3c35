import Foundation
import Store
import Synchronization

/// Whether the store can write, for `/healthz`: the outcome of the last durable write (a
/// webhook's commit, or a probe). When nothing has been written for a second, a health check
/// starts a small probe write on its own thread (at most one at a time, at most one a second),
/// so a store that failed recovers in the report by itself once writes succeed again, and one
/// that cannot write is noticed even without webhook traffic.
final class StoreWriteHealth: Sendable {
    private let failed = Atomic<Bool>(false)
    private let lastOutcomeNanos = Atomic<UInt64>(0)
    private let probing = Atomic<Bool>(false)
    private let probe: @Sendable () throws(StoreError) -> Void

    /// `probe` is a small durable write that throws when the store cannot write.
    init(probe: @escaping @Sendable () throws(StoreError) -> Void) { self.probe = probe }

    var writable: Bool { !failed.load(ordering: .relaxed) }

    func record(ok: Bool) {
        failed.store(!ok, ordering: .relaxed)
        lastOutcomeNanos.store(DispatchTime.now().uptimeNanoseconds, ordering: .relaxed)
    }

    /// Starts a probe write if none ran (and no write finished) in the last second.
    func probeIfDue() {
        let now = DispatchTime.now().uptimeNanoseconds
        guard now - min(now, lastOutcomeNanos.load(ordering: .relaxed)) >= 1_000_000_000,
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
