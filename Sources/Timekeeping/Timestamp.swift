#if canImport(Glibc)
import Glibc
#endif

/// The one ISO-8601 formatter: UTC with milliseconds, e.g. 2026-11-26T18:10:07.123Z, as the store
/// keeps timestamps, the API shows them and Xero writes webhook event dates.
public enum Timestamp {
    /// The system clock's current time, formatted. Code with an injected `WallClock` uses that.
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
