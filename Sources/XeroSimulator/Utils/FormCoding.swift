import Crypto
import Foundation

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
