import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A source of wall-clock time, injected wherever time is read so tests can set it.
public protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMilliseconds() -> Int64
}

extension WallClock {
    /// The current time as an ISO-8601 timestamp (see `Timestamp`).
    public func timestamp() -> String { Timestamp.format(millisecondsSinceEpoch: nowMilliseconds()) }
}

/// The system's real-time clock; the default everywhere.
public struct SystemWallClock: WallClock {
    public init() {}

    public func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

extension WallClock where Self == SystemWallClock {
    /// The system's real-time clock.
    public static var system: SystemWallClock { SystemWallClock() }
}

/// A clock that stands still until a test sets or advances it.
public final class TestWallClock: WallClock {
    private let now: Mutex<Int64>

    /// Starts at `millisecondsSinceEpoch` (default 2026-11-26T18:10:07.123Z).
    public init(millisecondsSinceEpoch: Int64 = 1_795_716_607_123) { now = Mutex(millisecondsSinceEpoch) }

    public func nowMilliseconds() -> Int64 { now.withLock { $0 } }

    /// Sets the time.
    public func set(millisecondsSinceEpoch ms: Int64) { now.withLock { $0 = ms } }

    /// Moves the time forward (or back, with a negative value).
    public func advance(milliseconds: Int64) { now.withLock { $0 += milliseconds } }
}

