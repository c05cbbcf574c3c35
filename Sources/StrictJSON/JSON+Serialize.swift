/// How a JSON value is written. Every form is compact and escapes `<` (so JSON is safe inside
/// HTML) and control characters; they differ only where a peer expects a particular spelling.
public struct JSONWriteOptions: Sendable, Equatable {
    /// Write the `/` of `/Date(…)/` strings as `\/`, as Xero does.
    public var escapeDateSlashes: Bool

    public init(escapeDateSlashes: Bool = false) { self.escapeDateSlashes = escapeDateSlashes }

    public static let standard = JSONWriteOptions()
    /// Xero's wire form.
    public static let xero = JSONWriteOptions(escapeDateSlashes: true)
}

extension JSON {
    /// The serialised form (compact).
    public var serialized: String { String(decoding: serializedBytes(), as: UTF8.self) }

    /// The serialised form as UTF-8 bytes.
    public func serializedBytes(_ options: JSONWriteOptions = .standard) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(256)
        write(to: &out, options)
        return out
    }

    /// A JSON string literal for `s`, quotes included.
    public static func quoted(_ s: String) -> String {
        var out: [UInt8] = []
        writeString(s, to: &out, .standard)
        return String(decoding: out, as: UTF8.self)
    }

    func write(to out: inout [UInt8], _ options: JSONWriteOptions) {
        switch self {
        case .null: out.append(contentsOf: "null".utf8)
        case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
        case .number(_, let raw): out.append(contentsOf: raw.utf8)
        case .string(let s): JSON.writeString(s, to: &out, options)
        case .array(let a):
            out.append(UInt8(ascii: "["))
            for (i, v) in a.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                v.write(to: &out, options)
            }
            out.append(UInt8(ascii: "]"))
        case .object(let m):
            out.append(UInt8(ascii: "{"))
            for (i, kv) in m.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                JSON.writeString(kv.key, to: &out, options)
                out.append(UInt8(ascii: ":"))
                kv.value.write(to: &out, options)
            }
            out.append(UInt8(ascii: "}"))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    /// The one JSON string escaper.
    static func writeString(_ s: String, to out: inout [UInt8], _ options: JSONWriteOptions) {
        out.append(UInt8(ascii: "\""))
        let escapeSlash = options.escapeDateSlashes && s.hasPrefix("/Date(")
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"): out.append(0x5C); out.append(b)
            case UInt8(ascii: "/") where escapeSlash: out.append(0x5C); out.append(b)
            case 0x0A: out.append(0x5C); out.append(UInt8(ascii: "n"))
            case 0x0D: out.append(0x5C); out.append(UInt8(ascii: "r"))
            case 0x09: out.append(0x5C); out.append(UInt8(ascii: "t"))
            case 0..<0x20, UInt8(ascii: "<"):
                out.append(contentsOf: [0x5C, UInt8(ascii: "u"), 0x30, 0x30])
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default: out.append(b)
            }
        }
        out.append(UInt8(ascii: "\""))
    }
}
