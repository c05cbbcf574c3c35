/// A JSON value, parsed strictly (RFC 8259) with a nesting limit so no input can exhaust the stack.
public enum JSON: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double, raw: String)
    case string(String)
    case array([JSON])
    case object([(key: String, value: JSON)])

    public static func == (a: JSON, b: JSON) -> Bool {
        switch (a, b) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x, _), .number(y, _)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.array(x), .array(y)): return x == y
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    public subscript(_ key: String) -> JSON? {
        if case .object(let members) = self { return members.last { $0.key == key }?.value }
        return nil
    }

    public var stringValue: String? { if case .string(let s) = self { return s } else { return nil } }
    public var arrayValue: [JSON]? { if case .array(let a) = self { return a } else { return nil } }
    public var boolValue: Bool? { if case .bool(let b) = self { return b } else { return nil } }
    public var doubleValue: Double? { if case .number(let d, _) = self { return d } else { return nil } }
    public var intValue: Int? {
        if case .number(let d, _) = self, d == d.rounded(), abs(d) < 9e15 { return Int(d) }
        return nil
    }
    public var isNull: Bool { if case .null = self { return true } else { return false } }

    public static func number(_ n: Int) -> JSON { .number(Double(n), raw: String(n)) }
    public static func number(_ n: Int64) -> JSON { .number(Double(n), raw: String(n)) }
}
