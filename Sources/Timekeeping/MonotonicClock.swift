import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A clock that only moves forward, for waits and deadlines (never shown to people), injected so
/// tests can move it instead of sleeping.
public protocol MonotonicClock: Sendable {
    /// Milliseconds since an arbitrary fixed point.
    func nowMilliseconds() -> Int64
    /// Nanoseconds since the same point, for pacing finer than a millisecond (by default the
    /// milliseconds, scaled).
    func nowNanoseconds() -> Int64
}

extension MonotonicClock {
    public func nowNanoseconds() -> Int64 { nowMilliseconds() * 1_000_000 }
}

/// The system's monotonic clock (`CLOCK_MONOTONIC`); the default everywhere.
public struct SystemMonotonicClock: MonotonicClock {
    public init() {}

    public func nowMilliseconds() -> Int64 { nowNanoseconds() / 1_000_000 }

    public func nowNanoseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }
}

/// A monotonic clock that stands still until a test advances it.
public final class TestMonotonicClock: MonotonicClock {
    private let now: Mutex<Int64>

    public init(milliseconds: Int64 = 1_000_000) { now = Mutex(milliseconds) }

    public func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    /// Moves the clock forward.
    public func advance(milliseconds: Int64) { now.withLock { $0 += max(0, milliseconds) } }
}
