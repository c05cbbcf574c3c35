import Foundation
import HTTPServer
import StrictJSON

/// A create or patch body: a JSON object whose fields are read one by one and checked; a field
/// nobody read is unknown. Every failure is a 422 naming the field (`invalid_field`,
/// "<field>: <reason>"); a body that is not a JSON object is a 400.
struct RecordBody {
    let members: [(key: String, value: JSON)]
    private(set) var read: Set<String> = []

    init(_ request: Request) throws(HTTPError) {
        let json: JSON
        do { json = try JSON.parse(request.body) } catch {
            throw HTTPError(400, code: "malformed_json", message: "the body is not valid JSON: \(error)")
        }
        guard case .object(let members) = json else {
            throw HTTPError(400, code: "malformed_json", message: "the body must be a JSON object")
        }
        try self.init(members: members)
    }

    /// A JSON object's members, read the same way (a visit's line is one).
    init(members: [(key: String, value: JSON)]) throws(HTTPError) {
        var seen = Set<String>()
        for m in members where !seen.insert(m.key).inserted {
            throw RecordBody.invalid(m.key, "appears more than once")
        }
        self.members = members
    }

    static func invalid(_ field: String, _ reason: String) -> HTTPError {
        HTTPError(422, code: "invalid_field", message: "\(field.prefix(100)): \(reason)")
    }

    mutating func value(_ field: String) -> JSON? {
        read.insert(field)
        return members.first { $0.key == field }?.value
    }

    /// A string field, trimmed, at most `max` characters; `required` ones must be present and
    /// non-empty, `nonEmpty` ones non-empty when present.
    mutating func string(_ field: String, max: Int = 255, required: Bool = false, nonEmpty: Bool = false) throws(HTTPError) -> String? {
        guard let v = value(field) else {
            if required { throw RecordBody.invalid(field, "is required") }
            return nil
        }
        guard case .string(let raw) = v else { throw RecordBody.invalid(field, "must be a string") }
        let s = raw.trimmingCharacters(in: .whitespacesAndNewlines)
        if required || nonEmpty, s.isEmpty { throw RecordBody.invalid(field, "must not be empty") }
        // Characters and bytes both: combining marks make one character of any number of bytes.
        guard s.count <= max, s.utf8.count <= max * 4 else { throw RecordBody.invalid(field, "must be at most \(max) characters") }
        // Short fields are one line; long ones (descriptions) may break lines. No NUL anywhere.
        let allowed: Set<Unicode.Scalar> = max > 255 ? ["\t", "\n", "\r"] : []
        guard !s.unicodeScalars.contains(where: { ($0.value < 0x20 || $0.value == 0x7f) && !allowed.contains($0) }) else {
            throw RecordBody.invalid(field, "must not contain control characters")
        }
        return s
    }

    /// One of an enum's raw values.
    mutating func choice<E: RawRepresentable & CaseIterable>(_ field: String, _ type: E.Type) throws(HTTPError) -> E?
    where E.RawValue == String {
        guard let v = value(field) else { return nil }
        guard case .string(let s) = v, let e = E(rawValue: s) else {
            throw RecordBody.invalid(field, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return e
    }

    /// A money amount ≥ 0 with at most 4 decimals, in ten-thousandths.
    mutating func money(_ field: String) throws(HTTPError) -> Int64? {
        guard let v = value(field) else { return nil }
        guard case .number(_, let raw) = v else { throw RecordBody.invalid(field, "must be a number") }
        // Any price fits in 40 characters; longer text is refused before it is looked at.
        guard raw.utf8.count <= 40 else { throw RecordBody.invalid(field, "must have at most 4 decimals and be at most \(Money.maxText)") }
        guard !raw.hasPrefix("-") || Money.tenThousandths(raw) == 0 else { throw RecordBody.invalid(field, "must not be negative") }
        guard let units = Money.tenThousandths(raw) else {
            throw RecordBody.invalid(field, "must have at most 4 decimals and be at most \(Money.maxText)")
        }
        return units
    }

    /// Refuses the fields the API shows but nobody may write, then any field no one read.
    func rejectOthers(readOnly: [String]) throws(HTTPError) {
        for m in members where !read.contains(m.key) {
            if readOnly.contains(m.key) { throw RecordBody.invalid(m.key, "is read-only") }
            throw RecordBody.invalid(m.key, "is not a known field")
        }
    }
}

/// Money as exact decimal text ↔ ten-thousandths (Xero's `unitdp=4`), never through a `Double`.
enum Money {
    /// 99 999 999 999.9999: the largest amount accepted.
    static let maxUnits: Int64 = 999_999_999_999_999
    static let maxText = "99999999999.9999"

    /// The ten-thousandths of a JSON number's text, or nil when it has more than 4 decimals
    /// (after dropping trailing zeros) or exceeds `maxUnits`. A negative number gives its negative.
    static func tenThousandths(_ raw: String) -> Int64? {
        var s = Substring(raw)
        var negative = false
        if s.first == "-" { negative = true; s = s.dropFirst() }
        var exponent = 0
        if let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            let expText = s[s.index(after: e)...]
            guard expText.count <= 8, let x = Int(expText.hasPrefix("+") ? String(expText.dropFirst()) : String(expText)) else { return nil }
            exponent = x
            s = s[..<e]
        }
        let parts = s.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty else { return nil }
        let frac = parts.count == 2 ? parts[1] : ""
        var digits = Array(String(whole + frac).utf8)
        guard !digits.isEmpty, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else { return nil }
        exponent -= frac.count
        while let f = digits.first, f == 0x30 { digits.removeFirst() }
        if digits.isEmpty { return 0 }
        while digits.last == 0x30 { digits.removeLast(); exponent += 1 }
        let scale = exponent + 4
        guard scale >= 0, digits.count + scale <= 15 else { return nil }
        var units: Int64 = 0
        for d in digits { units = units * 10 + Int64(d - 0x30) }
        for _ in 0..<scale { units *= 10 }
        guard units <= maxUnits else { return nil }
        return negative ? -units : units
    }

    /// The shortest exact JSON number: `12`, `12.5`, `0.0125`.
    static func json(_ units: Int64) -> JSON {
        let whole = units / 10_000, frac = units % 10_000
        var text = String(whole)
        if frac != 0 {
            var f = String(frac)
            f = String(repeating: "0", count: 4 - f.count) + f
            while f.hasSuffix("0") { f.removeLast() }
            text += "." + f
        }
        return .number(Double(units) / 10_000, raw: text)
    }
}
