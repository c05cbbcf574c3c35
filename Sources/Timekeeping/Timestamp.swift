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

    /// Milliseconds since the epoch of a timestamp in this format, or nil when it is not one.
    public static func parse(_ s: String) -> Int64? {
        let u = Array(s.utf8)
        guard u.count == 24, u[4] == 0x2D, u[7] == 0x2D, u[10] == 0x54, u[13] == 0x3A, u[16] == 0x3A, u[19] == 0x2E, u[23] == 0x5A else {
            return nil
        }
        func n(_ a: Int, _ b: Int) -> Int? {
            var v = 0
            for i in a..<b { guard u[i] >= 0x30 && u[i] <= 0x39 else { return nil }; v = v * 10 + Int(u[i] - 0x30) }
            return v
        }
        guard let y = n(0, 4), let mo = n(5, 7), let d = n(8, 10), let h = n(11, 13), let mi = n(14, 16), let sec = n(17, 19),
              let ms = n(20, 23), (1...12).contains(mo), (1...31).contains(d) else { return nil }
        // Days from the civil date (Howard Hinnant's algorithm).
        let yy = mo <= 2 ? y - 1 : y
        let era = (yy >= 0 ? yy : yy - 399) / 400
        let yoe = yy - era * 400
        let doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        let days = era * 146_097 + doe - 719_468
        return Int64(((days * 24 + h) * 60 + mi) * 60 + sec) * 1000 + Int64(ms)
    }
}
