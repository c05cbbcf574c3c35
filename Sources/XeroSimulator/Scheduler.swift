import Crypto
import Foundation

/// Runs closures after a real-time delay on one background thread: deferred answers (latency,
/// "hang past the client's timeout") never hold a server thread.
final class Scheduler: @unchecked Sendable {
    private struct Job {
        let deadline: ContinuousClock.Instant
        let sequence: Int
        let work: @Sendable () -> Void
    }

    private let condition = NSCondition()
    private var jobs: [Job] = []
    private var sequence = 0
    private var stopped = false
    private var thread: Thread?

    func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "xero-sim-scheduler"
        thread = t
        t.start()
    }

    /// Runs `work` after `seconds` (at once when stopping).
    func after(_ seconds: Double, _ work: @escaping @Sendable () -> Void) {
        condition.lock()
        if stopped {
            condition.unlock()
            work()
            return
        }
        sequence += 1
        let job = Job(deadline: .now + .seconds(max(0, seconds)), sequence: sequence, work: work)
        let index = jobs.firstIndex { $0.deadline > job.deadline } ?? jobs.count
        jobs.insert(job, at: index)
        condition.signal()
        condition.unlock()
    }

    /// Runs everything still waiting now, then stops.
    func stop() {
        condition.lock()
        stopped = true
        let pending = jobs
        jobs = []
        condition.broadcast()
        condition.unlock()
        for job in pending { job.work() }
    }

    private func loop() {
        while true {
            condition.lock()
            while !stopped {
                if let first = jobs.first {
                    let wait = first.deadline - .now
                    if wait <= .zero { break }
                    _ = condition.wait(until: Date(timeIntervalSinceNow: wait.seconds))
                } else {
                    condition.wait()
                }
            }
            if stopped {
                condition.unlock()
                return
            }
            let job = jobs.removeFirst()
            condition.unlock()
            job.work()
        }
    }
}
