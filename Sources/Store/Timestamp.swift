import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A source of wall-clock time, injected into the store so tests can set the time.
public protocol WallClock: Sendable {
    /// Milliseconds since the Unix epoch.
    func nowMilliseconds() -> Int64
}

extension WallClock {
    /// The current time as the store keeps it (see `Timestamp`).
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

/// Timestamps as the store keeps them: ISO-8601 UTC with milliseconds, e.g. 2026-11-26T18:10:07.123Z.
public enum Timestamp {
    /// The system clock's current time, formatted. Store types use their injected `WallClock`.
    public static func now() -> String { SystemWallClock().timestamp() }

    /// Formats milliseconds since the epoch, e.g. 2026-11-26T18:10:07.123Z.
    public static func format(millisecondsSinceEpoch ms: Int64) -> String {
        var secs = time_t(ms >= 0 ? ms / 1000 : (ms - 999) / 1000)
        let millis = Int(ms - Int64(secs) * 1000)
        var t = tm()
        gmtime_r(&secs, &t)
        func pad(_ v: Int32, _ w: Int) -> String {
            let s = String(v)
            return s.count >= w ? s : String(repeating: "0", count: w - s.count) + s
        }
        return "\(pad(t.tm_year + 1900, 4))-\(pad(t.tm_mon + 1, 2))-\(pad(t.tm_mday, 2))T"
            + "\(pad(t.tm_hour, 2)):\(pad(t.tm_min, 2)):\(pad(t.tm_sec, 2)).\(pad(Int32(millis), 3))Z"
    }
}
