import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// Xero's date forms: webhook `eventDateUtc` (ISO, often without a zone: UTC) and the
/// accounting API's `/Date(ms+0000)/`.
public enum XeroDate {
    /// Milliseconds since the epoch for an ISO-8601 date-time; a missing zone means UTC.
    /// Accepts `2024-06-21T01:15:39`, `.9`, `.902`, `.9025400`, `Z`, `+00:00`, `-0800`.
    public static func parseISO(_ s: String) -> Int64? {
        let c = Array(s.utf8)
        func digits(_ at: Int, _ n: Int) -> Int? {
            guard at + n <= c.count else { return nil }
            var v = 0
            for k in at..<(at + n) {
                guard c[k] >= 0x30 && c[k] <= 0x39 else { return nil }
                v = v * 10 + Int(c[k] - 0x30)
            }
            return v
        }
        guard c.count >= 19, let y = digits(0, 4), c[4] == 0x2D, let mo = digits(5, 2), c[7] == 0x2D,
              let d = digits(8, 2), c[10] == UInt8(ascii: "T") || c[10] == UInt8(ascii: " "),
              let h = digits(11, 2), c[13] == 0x3A, let mi = digits(14, 2), c[16] == 0x3A, let se = digits(17, 2),
              (1...12).contains(mo), (1...31).contains(d), h < 24, mi < 60, se < 61 else { return nil }
        var i = 19
        var millis = 0
        if i < c.count, c[i] == UInt8(ascii: ".") {
            i += 1
            var n = 0
            while i < c.count, c[i] >= 0x30, c[i] <= 0x39 {
                if n < 3 { millis = millis * 10 + Int(c[i] - 0x30) }
                n += 1
                i += 1
            }
            guard n > 0, n <= 9 else { return nil }
            for _ in min(n, 3)..<3 { millis *= 10 }
        }
        var offsetMinutes = 0
        if i < c.count {
            if c[i] == UInt8(ascii: "Z") {
                i += 1
            } else if c[i] == UInt8(ascii: "+") || c[i] == UInt8(ascii: "-") {
                let sign = c[i] == UInt8(ascii: "-") ? -1 : 1
                i += 1
                guard let oh = digits(i, 2) else { return nil }
                i += 2
                if i < c.count, c[i] == 0x3A { i += 1 }
                guard let om = digits(i, 2), oh < 24, om < 60 else { return nil }
                i += 2
                offsetMinutes = sign * (oh * 60 + om)
            } else {
                return nil
            }
        }
        guard i == c.count else { return nil }
        var t = tm()
        t.tm_year = Int32(y - 1900)
        t.tm_mon = Int32(mo - 1)
        t.tm_mday = Int32(d)
        t.tm_hour = Int32(h)
        t.tm_min = Int32(mi)
        t.tm_sec = Int32(se)
        let secs = Int64(timegm(&t))
        // Reject dates timegm normalised (e.g. 31 February).
        var back = time_t(secs)
        var check = tm()
        gmtime_r(&back, &check)
        guard check.tm_mday == Int32(d) || se == 60 else { return nil }
        return (secs - Int64(offsetMinutes) * 60) * 1000 + Int64(millis)
    }

    /// `2024-06-21T01:15:39.902Z`.
    public static func formatISO(milliseconds ms: Int64) -> String { Timestamp.format(millisecondsSinceEpoch: ms) }

    /// Milliseconds from `/Date(1573755038314)/` or `/Date(1503348544227+0000)/`. The number is
    /// UTC already; an offset only names the local day Xero meant, so it is checked, not applied.
    public static func parseMS(_ s: String) -> Int64? {
        guard s.hasPrefix("/Date("), s.hasSuffix(")/") else { return nil }
        let inner = s.dropFirst(6).dropLast(2)
        var digits = inner
        if let sign = inner.dropFirst().firstIndex(where: { $0 == "+" || $0 == "-" }) {
            let offset = inner[inner.index(after: sign)...]
            guard offset.count == 4, offset.allSatisfy(\.isNumber) else { return nil }
            digits = inner[..<sign]
        }
        return Int64(digits)
    }

    /// `/Date(1573755038314+0000)/`.
    public static func formatMS(milliseconds ms: Int64) -> String { "/Date(\(ms)+0000)/" }
}
