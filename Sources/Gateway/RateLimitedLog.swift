import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A budget for one kind of repeated log line: at most `burst` lines per `interval` seconds.
/// A line let through after others were held back says how many (`suppressed=N`), so abuse
/// cannot flood the log and the log still tells how much there was.
final class RateLimitedLog: Sendable {
    let burst: Int
    let interval: Double
    private let state = Mutex(State())

    private struct State {
        var windowStart = -Double.infinity
        var inWindow = 0
        var suppressed = 0
    }

    init(burst: Int = 10, interval: Double = 60) {
        self.burst = burst
        self.interval = interval
    }

    /// nil: do not log this one. Otherwise how many were suppressed since the last line logged.
    func permit(now: Double = monotonicSeconds()) -> Int? {
        state.withLock { s in
            if now - s.windowStart >= interval {
                s.windowStart = now
                s.inWindow = 0
            }
            guard s.inWindow < burst else {
                s.suppressed += 1
                return nil
            }
            s.inWindow += 1
            defer { s.suppressed = 0 }
            return s.suppressed
        }
    }
}

func monotonicSeconds() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
}
