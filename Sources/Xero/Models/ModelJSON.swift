import StrictJSON
/// Why a JSON document does not fit a Xero model: the field (dotted path) and what is wrong.
public struct XeroModelError: Error, Sendable, Equatable, CustomStringConvertible {
    public let field: String
    public let message: String

    public init(field: String, message: String) {
        self.field = field
        self.message = message
    }

    public var description: String { field.isEmpty ? message : "\(field): \(message)" }
}

/// A Xero model that reads and writes Xero's JSON.
public protocol XeroModel: Sendable {
    /// The envelope key of a collection of these, e.g. `Contacts`.
    static var collectionKey: String { get }
    init(json: JSON) throws(XeroModelError)
    /// Xero's JSON for this value: only the fields that are set, in Xero's order.
    func json(_ options: XeroEncodingOptions) -> JSON
}

/// Choices Xero makes per request when it writes numbers.
public struct XeroEncodingOptions: Sendable {
    /// Decimal places of unit amounts and prices (`unitdp`): 2 unless the caller asked for 4.
    public var unitDecimalPlaces: Int

    public init(unitDecimalPlaces: Int = 2) { self.unitDecimalPlaces = unitDecimalPlaces == 4 ? 4 : 2 }

    public static let standard = XeroEncodingOptions()
    /// Four places: what a write sent with `unitdp=4` carries, so prices stay exact.
    public static let fourPlaces = XeroEncodingOptions(unitDecimalPlaces: 4)
}

extension XeroModel {
    public var json: JSON { json(.standard) }
}

/// Reads an object's members leniently the way Xero does: exact key first, then any case;
/// `null` counts as absent; numbers and booleans may come as strings.
public struct JSONFields {
    public let members: [(key: String, value: JSON)]
    public let path: String

    public init(_ json: JSON, path: String = "") throws(XeroModelError) {
        guard case .object(let m) = json else { throw XeroModelError(field: path, message: "must be an object") }
        members = m
        self.path = path
    }

    func sub(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    public func value(_ key: String) -> JSON? {
        // The last occurrence wins (like JSON's subscript): scan from the end.
        var i = members.count
        while i > 0 {
            i -= 1
            if members[i].key == key { return members[i].value.isNull ? nil : members[i].value }
        }
        i = members.count
        while i > 0 {
            i -= 1
            if JSONFields.equalIgnoringASCIICase(members[i].key, key) { return members[i].value.isNull ? nil : members[i].value }
        }
        return nil
    }

    /// ASCII case-insensitive equality without allocating (the hot path of bulk decoding).
    static func equalIgnoringASCIICase(_ a: String, _ b: String) -> Bool {
        let x = a.utf8, y = b.utf8
        guard x.count == y.count else { return false }
        for (p, q) in zip(x, y) where p != q {
            let lp = (p >= 0x41 && p <= 0x5A) ? p | 0x20 : p
            let lq = (q >= 0x41 && q <= 0x5A) ? q | 0x20 : q
            if lp != lq { return false }
        }
        return true
    }

    public func has(_ key: String) -> Bool { value(key) != nil }

    public func string(_ key: String) throws(XeroModelError) -> String? {
        guard let v = value(key) else { return nil }
        switch v {
        case .string(let s): return s
        case .number(_, let raw): return raw
        case .bool(let b): return b ? "true" : "false"
        default: throw XeroModelError(field: sub(key), message: "must be a string")
        }
    }

    public func bool(_ key: String) throws(XeroModelError) -> Bool? {
        guard let v = value(key) else { return nil }
        switch v {
        case .bool(let b): return b
        case .string(let s) where s.lowercased() == "true": return true
        case .string(let s) where s.lowercased() == "false": return false
        default: throw XeroModelError(field: sub(key), message: "must be true or false")
        }
    }

    public func decimal(_ key: String) throws(XeroModelError) -> Decimal4? {
        guard let v = value(key) else { return nil }
        if case .string(let s) = v, s.isEmpty { return nil }
        guard let d = Decimal4(json: v) else { throw XeroModelError(field: sub(key), message: "must be a number") }
        return d
    }

    public func int(_ key: String) throws(XeroModelError) -> Int? {
        guard let v = value(key) else { return nil }
        if let i = v.intValue { return i }
        if case .string(let s) = v, let i = Int(s) { return i }
        throw XeroModelError(field: sub(key), message: "must be a whole number")
    }

    /// Milliseconds since the epoch from `/Date(ms[+zzzz])/`, ISO-8601 or `YYYY-MM-DD` (UTC midnight).
    public func date(_ key: String) throws(XeroModelError) -> Int64? {
        guard let v = value(key) else { return nil }
        guard case .string(let s) = v else { throw XeroModelError(field: sub(key), message: "must be a date string") }
        if s.isEmpty { return nil }
        guard let ms = XeroModelDate.parseAny(s) else {
            throw XeroModelError(field: sub(key), message: "is not a date: \(s.prefix(40))")
        }
        return ms
    }

    public func array(_ key: String) throws(XeroModelError) -> [JSON]? {
        guard let v = value(key) else { return nil }
        guard case .array(let a) = v else { throw XeroModelError(field: sub(key), message: "must be an array") }
        return a
    }

    public func models<M: XeroModel>(_ key: String, as: M.Type) throws(XeroModelError) -> [M]? {
        guard let items = try array(key) else { return nil }
        var out: [M] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            do {
                out.append(try M(json: item))
            } catch {
                throw XeroModelError(field: "\(sub(key))[\(n)]" + (error.field.isEmpty ? "" : "." + error.field),
                                     message: error.message)
            }
        }
        return out
    }

    public func object(_ key: String) throws(XeroModelError) -> JSONFields? {
        guard let v = value(key) else { return nil }
        return try JSONFields(v, path: sub(key))
    }
}

/// Builds a JSON object in a fixed key order, leaving out absent values.
public struct JSONObjectBuilder {
    public private(set) var members: [(key: String, value: JSON)] = []

    public init(capacity: Int = 8) { members.reserveCapacity(capacity) }

    public mutating func add(_ key: String, _ value: JSON?) {
        if let value { members.append((key, value)) }
    }
    public mutating func add(_ key: String, _ value: String?) {
        if let value { members.append((key, .string(value))) }
    }
    public mutating func add(_ key: String, _ value: Bool?) {
        if let value { members.append((key, .bool(value))) }
    }
    public mutating func add(_ key: String, _ value: Decimal4?, places: Int) {
        if let value { members.append((key, value.json(places: places))) }
    }
    /// A `/Date(ms+0000)/` entity date.
    public mutating func addDate(_ key: String, _ ms: Int64?) {
        if let ms { members.append((key, .string(XeroDate.formatMS(milliseconds: ms)))) }
    }
    public mutating func add<M: XeroModel>(_ key: String, _ models: [M]?, _ options: XeroEncodingOptions) {
        if let models { members.append((key, .array(models.map { $0.json(options) }))) }
    }

    public var json: JSON { .object(members) }
}

/// Date forms accepted in Xero request bodies and headers, and written in responses.
public enum XeroModelDate {
    /// `/Date(…)/`, ISO-8601 date-time (zone optional: UTC), `YYYY-MM-DD`, or an RFC 1123 HTTP date.
    public static func parseAny(_ s: String) -> Int64? {
        let ms: Int64?
        if s.hasPrefix("/Date(") {
            ms = XeroDate.parseMS(s)
        } else if let iso = XeroDate.parseISO(s) {
            ms = iso
        } else if s.utf8.count == 10, let day = XeroDate.parseISO(s + "T00:00:00") {
            ms = day
        } else {
            ms = parseHTTPDate(s)
        }
        guard let ms, validRange.contains(ms) else { return nil }
        return ms
    }

    /// Years 1753…9999 (SQL Server's datetime range, which Xero inherits).
    public static let validRange: ClosedRange<Int64> = -6_847_804_800_000...253_402_300_799_999

    /// `Wed, 22 Jul 2026 01:32:10 GMT`.
    public static func parseHTTPDate(_ s: String) -> Int64? {
        let parts = s.split(separator: " ")
        guard parts.count == 6, parts[5] == "GMT" else { return nil }
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        guard let m = months.firstIndex(of: String(parts[2])), let d = Int(parts[1]), d >= 1, d <= 31 else { return nil }
        func pad(_ v: Int, _ w: Int) -> String { let t = String(v); return String(repeating: "0", count: max(0, w - t.count)) + t }
        return XeroDate.parseISO("\(parts[3])-\(pad(m + 1, 2))-\(pad(d, 2))T\(parts[4])Z")
    }

    /// `2026-07-22T00:00:00` (the `DateString` form: no zone, no fraction).
    public static func dateString(_ ms: Int64) -> String {
        String(XeroDate.formatISO(milliseconds: ms).prefix(19))
    }

    /// `2026-07-22`.
    public static func day(_ ms: Int64) -> String { String(XeroDate.formatISO(milliseconds: ms).prefix(10)) }

    /// UTC midnight of the day containing `ms`.
    public static func startOfDay(_ ms: Int64) -> Int64 {
        let day: Int64 = 86_400_000
        return ms >= 0 ? ms / day * day : ((ms - day + 1) / day) * day
    }
}

/// Xero's wire form of JSON: compact, with the `/` of `/Date(…)/` strings escaped as `\/`
/// (what Xero sends; any JSON parser reads it back unchanged).
public enum XeroWire {
    public static func bytes(_ json: JSON) -> [UInt8] { json.serializedBytes(.xero) }
    public static func string(_ json: JSON) -> String { String(decoding: bytes(json), as: UTF8.self) }
}
