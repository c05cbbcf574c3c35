import Foundation
import Synchronization

/// A few dedicated threads for blocking work (Xero calls over libcurl, SQLite writes), so none
/// of it runs on Swift's cooperative pool or on the HTTP server's threads.
public final class WorkerPool: Sendable {
    private let state = Mutex(State())
    private let condition = NSCondition()

    struct State {
        var queue: [@Sendable () -> Void] = []
        var busy = 0
        var stopping = false
    }

    /// Starts `threads` workers named `name-1`, `name-2`, …
    public init(threads: Int, name: String) {
        for i in 1...max(1, threads) {
            let t = Thread { [self] in self.loop() }
            t.name = "\(name)-\(i)"
            t.start()
        }
    }

    /// Queues `work`; it runs on one of the pool's threads (on the caller's once the pool has
    /// stopped, so nothing handed in is ever dropped).
    public func submit(_ work: @escaping @Sendable () -> Void) {
        let queued = state.withLock { s -> Bool in
            guard !s.stopping else { return false }
            s.queue.append(work)
            return true
        }
        guard queued else { work(); return }
        condition.lock()
        condition.signal()
        condition.unlock()
    }

    /// True when nothing is queued or running.
    public var isIdle: Bool { state.withLock { $0.queue.isEmpty && $0.busy == 0 } }

    /// Waits until the pool is idle; false if `timeout` seconds pass first.
    @discardableResult
    public func waitUntilIdle(timeout: Double) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while !isIdle {
            if Date() > deadline { return false }
            usleep(2_000)
        }
        return true
    }

    /// Lets queued work finish, then ends the threads.
    public func stop() {
        state.withLock { $0.stopping = true }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    private func loop() {
        while true {
            condition.lock()
            var next: (@Sendable () -> Void)?
            var stop = false
            while next == nil && !stop {
                (next, stop) = state.withLock { s -> ((@Sendable () -> Void)?, Bool) in
                    if !s.queue.isEmpty {
                        s.busy += 1
                        return (s.queue.removeFirst(), false)
                    }
                    return (nil, s.stopping)
                }
                if next == nil && !stop { condition.wait() }
            }
            condition.unlock()
            guard let work = next else { return }
            work()
            state.withLock { $0.busy -= 1 }
        }
    }
}
