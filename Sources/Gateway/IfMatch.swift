import HTTPServer

/// A record's version as HTTP shows it: a strong entity tag, `"<version>"` (RFC 9110 §8.8.3).
enum ETag {
    static func header(_ version: Int64) -> String { "\"\(version)\"" }
}

/// A request's `If-Match` (RFC 9110 §13.1.1), for writes of one record. Entity tags compare
/// strongly: a weak tag (`W/"3"`) never matches, nor does a tag this API never gives (`"abc"`);
/// `*` matches any record that exists. Several `If-Match` fields are one list.
struct IfMatch: Equatable {
    /// `*`: any current version.
    var any: Bool
    /// The versions the strong tags name (weak and foreign tags left out: they match nothing).
    var versions: [Int64]

    /// The request's condition; nil without `If-Match`. A field that is not `*` or a list of
    /// entity tags is a 400 `invalid_if_match`.
    static func parse(_ request: Request) throws(HTTPError) -> IfMatch? {
        let values = request.headers.filter { $0.name.lowercased() == "if-match" }.map(\.value)
        guard !values.isEmpty else { return nil }
        guard let parsed = parse(values.joined(separator: ",")) else {
            throw HTTPError(400, code: "invalid_if_match",
                            message: "If-Match must be * or a list of entity tags such as \"3\" (a record's ETag)")
        }
        return parsed
    }

    /// `*` or `#entity-tag`; nil when malformed (or empty).
    static func parse(_ field: String) -> IfMatch? {
        let s = Array(field.utf8)
        guard s.count <= 4096 else { return nil }
        let trimmed = field.trimmingOWS
        if trimmed == "*" { return IfMatch(any: true, versions: []) }
        var versions: [Int64] = []
        var tags = 0
        var i = 0
        func skipOWS() { while i < s.count, s[i] == 0x20 || s[i] == 0x09 { i += 1 } }
        while true {
            skipOWS()
            while i < s.count, s[i] == 0x2C { i += 1; skipOWS() }  // empty list elements are allowed
            if i == s.count { break }
            var weak = false
            if i + 1 < s.count, s[i] == 0x57, s[i + 1] == 0x2F { weak = true; i += 2 }  // W/
            guard i < s.count, s[i] == 0x22 else { return nil }
            i += 1
            let start = i
            // etagc = %x21 / %x23-7E / obs-text
            while i < s.count, s[i] != 0x22 {
                guard s[i] == 0x21 || s[i] >= 0x23 && s[i] != 0x7F else { return nil }
                i += 1
            }
            guard i < s.count else { return nil }  // no closing quote
            let opaque = s[start..<i]
            i += 1
            tags += 1
            if !weak, (1...18).contains(opaque.count), opaque.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
               let v = Int64(String(decoding: opaque, as: UTF8.self)) {
                versions.append(v)
            }
            skipOWS()
            guard i == s.count || s[i] == 0x2C else { return nil }
        }
        return tags == 0 ? nil : IfMatch(any: false, versions: versions)
    }

    /// The version a write must find, given the record's version as read: nil for `*`; the read
    /// version when the list names it; otherwise a 412 (nothing written).
    func expectedVersion(current: Int64) throws(HTTPError) -> Int64? {
        if any { return nil }
        guard versions.contains(current) else { throw HTTPError.preconditionFailed }
        return current
    }
}

extension HTTPError {
    /// A write whose `If-Match` is not the record's current ETag.
    static let preconditionFailed = HTTPError(
        412, code: "precondition_failed",
        message: "The record has changed since it was read (If-Match is not its ETag); read it again and retry.")
}

private extension String {
    /// Without leading and trailing spaces and tabs (HTTP's OWS).
    var trimmingOWS: Substring {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
