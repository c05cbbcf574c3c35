import Crypto
import Foundation

enum Ids {
    static let hexDigits = Array("0123456789abcdef".utf8)

    /// A random version-4 UUID, lowercase (Xero's form).
    static func uuid() -> String { UUID().uuidString.lowercased() }

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
        var t = s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
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
