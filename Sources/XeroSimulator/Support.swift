import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// A value behind a lock (NSLock; never held across a blocking call).
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()

    init(_ value: Value) { self.value = value }

    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// The simulator's clock: real time plus an offset that tests move forward (`POST /sim/clock`).
final class SimClock: Sendable {
    private let offsetMs = Locked<Int64>(0)

    /// Milliseconds since the epoch, as the simulator sees it.
    func now() -> Int64 { SimClock.realNow() + offsetMs.withLock { $0 } }

    func advance(seconds: Double) { offsetMs.withLock { $0 += Int64(seconds * 1000) } }

    func set(_ ms: Int64) { offsetMs.withLock { $0 = ms - SimClock.realNow() } }

    func reset() { offsetMs.withLock { $0 = 0 } }

    var offsetSeconds: Double { Double(offsetMs.withLock { $0 }) / 1000 }

    static func realNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A success or a failure of any type (`Result` wants an `Error`).
enum Outcome<Success, Failure> {
    case success(Success)
    case failure(Failure)
}

enum Ids {
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A random version-4 UUID, lowercase (Xero's form).
    static func uuid() -> String {
        var b = Crypto.randomBytes(16)
        b[6] = (b[6] & 0x0F) | 0x40
        b[8] = (b[8] & 0x3F) | 0x80
        return format(b)
    }

    static func format(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(36)
        for (i, byte) in b.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `count` random bytes as lowercase hex.
    static func hex(_ count: Int) -> String {
        var out: [UInt8] = []
        for byte in Crypto.randomBytes(count) {
            out.append(hexDigits[Int(byte >> 4)])
            out.append(hexDigits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Random upper-case letters (webhook `entropy`).
    static func letters(_ count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        return String(decoding: Crypto.randomBytes(count).map { alphabet[Int($0) % 26] }, as: UTF8.self)
    }

    /// A canonical lowercase GUID, or nil when `s` is not one (braces and upper case accepted).
    static func normalize(_ s: String) -> String? {
        var t = s.trimmingSpaces.lowercased()
        if t.hasPrefix("{") && t.hasSuffix("}") { t = String(t.dropFirst().dropLast()) }
        let u = Array(t.utf8)
        guard u.count == 36 else { return nil }
        for (i, c) in u.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                guard c == UInt8(ascii: "-") else { return nil }
            } else {
                guard (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) else { return nil }
            }
        }
        return t
    }

    static let zero = "00000000-0000-0000-0000-000000000000"
}

extension String {
    var trimmingSpaces: String {
        // Fast path: nothing to trim at either end (ASCII check on the UTF-8 bytes).
        if let f = utf8.first, let l = utf8.last, f > 0x20, l > 0x20, f < 0x80, l < 0x80 { return self }
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s = s.dropFirst() }
        while let l = s.last, l.isWhitespace { s = s.dropLast() }
        return String(s)
    }

    /// Lower-cased and trimmed, inner runs of spaces collapsed: the key for unique names.
    var nameKey: String {
        var plain = true
        var previousSpace = true
        for b in utf8 {
            if b >= 0x80 || b == 0x09 || b == 0x0A || b == 0x0D || (b == 0x20 && previousSpace) { plain = false; break }
            previousSpace = b == 0x20
        }
        if plain && !previousSpace { return lowercased() }
        return split(whereSeparator: { $0.isWhitespace }).joined(separator: " ").lowercased()
    }

    /// `count > limit`, counting characters only when the byte count says it might be.
    func longer(than limit: Int) -> Bool { utf8.count > limit && count > limit }
}

enum FormCoding {
    /// Decodes `application/x-www-form-urlencoded` (also query strings).
    static func parse(_ body: [UInt8]) -> [(name: String, value: String)] {
        var out: [(String, String)] = []
        for pair in body.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true) {
            let parts = pair.split(separator: UInt8(ascii: "="), maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(Array(parts[0]))
            let value = parts.count > 1 ? percentDecode(Array(parts[1])) : ""
            out.append((name, value))
        }
        return out
    }

    static func percentDecode(_ b: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(b.count)
        var i = 0
        func hexValue(_ c: UInt8) -> UInt8? {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return nil
            }
        }
        while i < b.count {
            let c = b[i]
            if c == UInt8(ascii: "+") {
                out.append(0x20)
            } else if c == UInt8(ascii: "%"), i + 2 < b.count, let h = hexValue(b[i + 1]), let l = hexValue(b[i + 2]) {
                out.append(h << 4 | l)
                i += 2
            } else {
                out.append(c)
            }
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Percent-encodes everything but RFC 3986 unreserved characters.
    static func encode(_ s: String) -> String {
        var out = ""
        for b in s.utf8 {
            switch b {
            case 0x30...0x39, 0x41...0x5A, 0x61...0x7A, UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.unicodeScalars.append(Unicode.Scalar(b))
            default:
                let upper = Array("0123456789ABCDEF".utf8)
                out += "%" + String(upper[Int(b >> 4)].asCharacter) + String(upper[Int(b & 15)].asCharacter)
            }
        }
        return out
    }

    static func value(_ form: [(name: String, value: String)], _ name: String) -> String? {
        form.first { $0.name == name }?.value
    }
}

extension UInt8 {
    var asCharacter: Character { Character(Unicode.Scalar(self)) }
}

enum HTML {
    static func escape(_ s: String) -> String {
        var out = ""
        for c in s.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }
}

/// Query-string booleans as clients send them: `true`, `True`, `1`.
func parseBool(_ s: String?) -> Bool? {
    guard let s else { return nil }
    switch s.lowercased() {
    case "true", "1", "yes": return true
    case "false", "0", "no": return false
    default: return nil
    }
}

/// Case-insensitive query lookup (Xero's query names are case-insensitive).
func queryValue(_ r: Request, _ name: String) -> String? {
    if let v = r.queryValue(name) { return v }
    let lower = name.lowercased()
    return r.query.first { $0.name.lowercased() == lower }?.value
}

// MARK: - responses

enum Reply {
    static let notFoundText = "The resource you're looking for cannot be found"

    /// Xero's 404: plain text, not JSON.
    static func notFound() -> Response { .text(404, notFoundText) }

    static func xeroJSON(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json; charset=utf-8")]),
                 body: XeroWire.bytes(json))
    }

    /// The control API's shape: plain JSON.
    static func json(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: XeroWire.bytes(json))
    }

    static func controlError(_ status: Int, _ message: String, details: [String] = []) -> Response {
        var members: [(key: String, value: JSON)] = [("error", .string(message))]
        if !details.isEmpty { members.append(("details", .array(details.map { .string($0) }))) }
        return json(status, .object(members))
    }

    static func html(_ status: Int, _ body: String) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8"),
                                                       ("Cache-Control", "no-store")]),
                 body: Array(body.utf8))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: 302, headers: HTTPHeaders([("Location", location), ("Cache-Control", "no-store")]))
    }
}

extension JSON {
    static func double(_ d: Double) -> JSON {
        let r = (d * 1000).rounded() / 1000
        return .number(r, raw: r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r))
    }
}
