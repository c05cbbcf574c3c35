import Foundation
import Xero
import StrictJSON

/// Xero's XML form of an accounting answer, made from its JSON form: `<Response>` (or
/// `<ApiException>` for an error with an `ErrorNumber`), one element per field, arrays as
/// their plural name holding one singular element per entry (`<Contacts><Contact>…`), MS
/// dates as `2026-07-22T02:00:00`, nulls left out.
enum XeroXML {
    static func document(_ json: JSON) -> String {
        let root = json["ErrorNumber"] != nil ? "ApiException" : "Response"
        var out = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
        switch json {
        case .object(let members):
            out += "<\(root) xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\">"
            for (key, value) in members { element(key, value, into: &out) }
            out += "</\(root)>"
        case .array:
            element(root, .object([("Items", json)]), into: &out)
        default:
            element(root, json, into: &out)
        }
        return out
    }

    /// The element name of one entry of the array `plural`.
    static func singular(_ plural: String) -> String {
        switch plural {
        case "Tracking", "SalesTrackingCategories", "PurchasesTrackingCategories": return "TrackingCategory"
        case "Elements": return "DataContractBase"
        case "Addresses": return "Address"
        case "Statuses": return "Status"
        default: break
        }
        if plural.hasSuffix("ies") { return String(plural.dropLast(3)) + "y" }
        if plural.hasSuffix("s") { return String(plural.dropLast()) }
        return plural + "Item"
    }

    static func element(_ name: String, _ value: JSON, into out: inout String) {
        let tag = name.isEmpty || !name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) ? "Value" : name
        switch value {
        case .null:
            return
        case .object(let members):
            out += "<\(tag)>"
            for (key, member) in members { element(key, member, into: &out) }
            out += "</\(tag)>"
        case .array(let entries):
            let inner = singular(tag)
            out += "<\(tag)>"
            for entry in entries { element(inner, entry, into: &out) }
            out += "</\(tag)>"
        case .bool(let b):
            out += "<\(tag)>\(b)</\(tag)>"
        case .number(_, let raw):
            out += "<\(tag)>\(raw)</\(tag)>"
        case .string(let s):
            out += "<\(tag)>\(Markup.escape(xmlCharacters(text(s))))</\(tag)>"
        }
    }

    /// `/Date(1573755038314+0000)/` as `2019-11-14T18:10:38.314`; other text unchanged.
    static func text(_ s: String) -> String {
        guard s.hasPrefix("/Date("), s.hasSuffix(")/") else { return s }
        let inner = s.dropFirst(6).dropLast(2)
        let digits = inner.prefix { $0.isNumber || $0 == "-" }
        guard let ms = Int64(digits) else { return s }
        var iso = XeroDate.formatISO(milliseconds: ms)  // 2026-07-22T02:00:00.000Z
        if iso.hasSuffix("Z") { iso.removeLast() }
        if iso.hasSuffix(".000") { iso.removeLast(4) }
        return iso
    }

    /// Leaves out the characters XML 1.0 cannot carry (control characters other than tab and
    /// line breaks, U+FFFE and U+FFFF).
    static func xmlCharacters(_ s: String) -> String {
        guard s.unicodeScalars.contains(where: { !allowed($0) }) else { return s }
        var out = String.UnicodeScalarView()
        out.append(contentsOf: s.unicodeScalars.filter(allowed))
        return String(out)
    }

    static func allowed(_ c: Unicode.Scalar) -> Bool {
        switch c.value {
        case 0x9, 0xA, 0xD, 0x20...0xFFFD, 0x10000...0x10FFFF: return true
        default: return false
        }
    }
}
