import Xero

/// A field value as the `where` and `order` parameters see it.
enum FieldValue: Comparable {
    case null
    case bool(Bool)
    case number(Decimal4)
    case date(Int64)
    case string(String)

    /// Strings compare case-insensitively (SQL Server's default collation); empty equals null.
    static func == (a: FieldValue, b: FieldValue) -> Bool {
        switch (a.normalized, b.normalized) {
        case (.null, .null): return true
        case let (.bool(x), .bool(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.date(x), .date(y)): return x == y
        case let (.string(x), .string(y)): return x.lowercased() == y.lowercased()
        case let (.bool(x), .string(y)), let (.string(y), .bool(x)): return String(x) == y.lowercased()
        case let (.number(x), .string(y)), let (.string(y), .number(x)): return Decimal4(y) == x
        default: return false
        }
    }

    static func < (a: FieldValue, b: FieldValue) -> Bool {
        switch (a.normalized, b.normalized) {
        case (.null, .null): return false
        case (.null, _): return true
        case (_, .null): return false
        case let (.bool(x), .bool(y)): return !x && y
        case let (.number(x), .number(y)): return x < y
        case let (.date(x), .date(y)): return x < y
        case let (.string(x), .string(y)): return x.lowercased() < y.lowercased()
        default: return a.rank < b.rank
        }
    }

    var normalized: FieldValue {
        if case .string(let s) = self, s.isEmpty { return .null }
        return self
    }

    var rank: Int {
        switch self {
        case .null: return 0
        case .bool: return 1
        case .number: return 2
        case .date: return 3
        case .string: return 4
        }
    }

    var text: String {
        switch self {
        case .null: return ""
        case .bool(let b): return String(b)
        case .number(let d): return d.description
        case .date(let ms): return String(ms)
        case .string(let s): return s
        }
    }
}

/// The fields of one entity type that `where` and `order` may name (keys lower-cased).
struct EntityFields<T>: Sendable {
    let typeName: String
    let fields: [String: @Sendable (T) -> FieldValue]

    func lookup(_ name: String) -> ((T) -> FieldValue)? { fields[name.lowercased()] }
}

struct QueryError: Error {
    let message: String
}
