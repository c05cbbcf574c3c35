import Crypto
import Foundation
import Xero

/// Xero's `where` expressions, the common forms: `Name=="X"`, `ContactStatus=="ACTIVE"`,
/// `IsCustomer==true`, `Name.Contains("x")`, `Contact.ContactID==Guid("…")`, joined with
/// `&&`/`AND`, `||`/`OR`, `!`, parentheses.
struct WhereParser<T> {
    enum Token: Equatable {
        case ident(String), string(String), number(String), op(String), lparen, rparen, comma
    }

    let fields: EntityFields<T>
    var tokens: [Token] = []
    var i = 0

    init(_ fields: EntityFields<T>) { self.fields = fields }

    static func compile(_ text: String, _ fields: EntityFields<T>) throws(QueryError) -> (T) -> Bool {
        var p = WhereParser(fields)
        p.tokens = try tokenize(text)
        guard !p.tokens.isEmpty else { return { _ in true } }
        let f = try p.orExpr()
        guard p.i == p.tokens.count else { throw QueryError(message: "Operator '\(p.describe(p.tokens[p.i]))' unexpected") }
        return f
    }

    func describe(_ t: Token) -> String {
        switch t {
        case .ident(let s), .string(let s), .number(let s), .op(let s): return s
        case .lparen: return "("
        case .rparen: return ")"
        case .comma: return ","
        }
    }

    static func tokenize(_ text: String) throws(QueryError) -> [Token] {
        let c = Array(text.unicodeScalars)
        var out: [Token] = []
        var i = 0
        while i < c.count {
            let ch = c[i]
            if ch.properties.isWhitespace { i += 1; continue }
            if ch == "(" { out.append(.lparen); i += 1; continue }
            if ch == ")" { out.append(.rparen); i += 1; continue }
            if ch == "," { out.append(.comma); i += 1; continue }
            if ch == "\"" {
                var s = ""
                i += 1
                var closed = false
                while i < c.count {
                    if c[i] == "\\", i + 1 < c.count { s.unicodeScalars.append(c[i + 1]); i += 2; continue }
                    if c[i] == "\"" { closed = true; i += 1; break }
                    s.unicodeScalars.append(c[i])
                    i += 1
                }
                guard closed else { throw QueryError(message: "Unterminated string literal") }
                out.append(.string(s))
                continue
            }
            let two = i + 1 < c.count ? String(ch) + String(c[i + 1]) : ""
            if ["==", "!=", ">=", "<=", "&&", "||"].contains(two) { out.append(.op(two)); i += 2; continue }
            if ch == ">" || ch == "<" || ch == "!" || ch == "=" {
                out.append(.op(ch == "=" ? "==" : String(ch)))
                i += 1
                continue
            }
            if ch.properties.numericType != nil || ch == "-" {
                var s = String(ch)
                i += 1
                while i < c.count, c[i].properties.numericType != nil || c[i] == "." { s.unicodeScalars.append(c[i]); i += 1 }
                out.append(.number(s))
                continue
            }
            if ch.properties.isAlphabetic || ch == "_" {
                var s = ""
                while i < c.count, c[i].properties.isAlphabetic || c[i].properties.numericType != nil || c[i] == "_" || c[i] == "." {
                    s.unicodeScalars.append(c[i])
                    i += 1
                }
                switch s.uppercased() {
                case "AND": out.append(.op("&&"))
                case "OR": out.append(.op("||"))
                case "NOT": out.append(.op("!"))
                default: out.append(.ident(s))
                }
                continue
            }
            throw QueryError(message: "Syntax error '\(ch)'")
        }
        return out
    }

    mutating func peek() -> Token? { i < tokens.count ? tokens[i] : nil }

    mutating func orExpr() throws(QueryError) -> (T) -> Bool {
        var terms = [try andExpr()]
        while peek() == .op("||") { i += 1; terms.append(try andExpr()) }
        if terms.count == 1 { return terms[0] }
        let all = terms
        return { v in all.contains { $0(v) } }
    }

    mutating func andExpr() throws(QueryError) -> (T) -> Bool {
        var terms = [try unary()]
        while peek() == .op("&&") { i += 1; terms.append(try unary()) }
        if terms.count == 1 { return terms[0] }
        let all = terms
        return { v in all.allSatisfy { $0(v) } }
    }

    mutating func unary() throws(QueryError) -> (T) -> Bool {
        if peek() == .op("!") {
            i += 1
            let inner = try unary()
            return { !inner($0) }
        }
        if peek() == .lparen {
            i += 1
            let inner = try orExpr()
            guard peek() == .rparen else { throw QueryError(message: "')' or operator expected") }
            i += 1
            return inner
        }
        return try comparison()
    }

    mutating func comparison() throws(QueryError) -> (T) -> Bool {
        guard case .ident(var name) = peek() else {
            throw QueryError(message: "Expression expected")
        }
        i += 1
        // Method calls: Name.Contains("x"), Name.StartsWith("x"), Name.EndsWith("x"), Name.ToLower()
        var method: String?
        for m in ["Contains", "StartsWith", "EndsWith", "ToLower", "ToUpper", "Equals"] where name.lowercased().hasSuffix("." + m.lowercased()) {
            method = m
            name = String(name.dropLast(m.count + 1))
        }
        guard let getter = fields.lookup(name) else {
            throw QueryError(message: "No property or field '\(name)' exists in type '\(fields.typeName)'")
        }
        if let method {
            guard peek() == .lparen else { throw QueryError(message: "'(' expected") }
            i += 1
            if method == "ToLower" || method == "ToUpper" {
                guard peek() == .rparen else { throw QueryError(message: "')' expected") }
                i += 1
            } else {
                let arg = try literal()
                guard peek() == .rparen else { throw QueryError(message: "')' or ',' expected") }
                i += 1
                let needle = arg.text.lowercased()
                switch method {
                case "Contains": return { getter($0).text.lowercased().contains(needle) }
                case "StartsWith": return { getter($0).text.lowercased().hasPrefix(needle) }
                case "EndsWith": return { getter($0).text.lowercased().hasSuffix(needle) }
                default: return { getter($0) == arg }
                }
            }
        }
        guard case .op(let op) = peek(), ["==", "!=", ">", "<", ">=", "<="].contains(op) else {
            // A bare boolean field: `IsCustomer`.
            return { getter($0) == .bool(true) }
        }
        i += 1
        let value = try literal()
        switch op {
        case "==": return { getter($0) == value }
        case "!=": return { getter($0) != value }
        case ">": return { value < getter($0) }
        case "<": return { getter($0) < value }
        case ">=": return { !(getter($0) < value) }
        default: return { !(value < getter($0)) }
        }
    }

    mutating func literal() throws(QueryError) -> FieldValue {
        guard let t = peek() else { throw QueryError(message: "Expression expected") }
        i += 1
        switch t {
        case .string(let s): return .string(s)
        case .number(let n):
            guard let d = Decimal4(n) else { throw QueryError(message: "Invalid number '\(n)'") }
            return .number(d)
        case .ident(let word):
            switch word.lowercased() {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null": return .null
            case "guid":
                guard peek() == .lparen else { throw QueryError(message: "'(' expected") }
                i += 1
                guard case .string(let g) = peek() else { throw QueryError(message: "Guid string expected") }
                i += 1
                guard peek() == .rparen else { throw QueryError(message: "')' expected") }
                i += 1
                return .string(Ids.normalize(g) ?? g)
            case "datetime":
                guard peek() == .lparen else { throw QueryError(message: "'(' expected") }
                i += 1
                var parts: [Int] = []
                while case .number(let n) = peek() {
                    i += 1
                    parts.append(Int(n) ?? 0)
                    if peek() == .comma { i += 1 }
                }
                guard peek() == .rparen, parts.count >= 3 else { throw QueryError(message: "DateTime(year, month, day) expected") }
                i += 1
                func pad(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
                let iso = "\(parts[0])-\(pad(parts[1]))-\(pad(parts[2]))T\(pad(parts.count > 3 ? parts[3] : 0)):\(pad(parts.count > 4 ? parts[4] : 0)):\(pad(parts.count > 5 ? parts[5] : 0))"
                guard let ms = XeroDate.parseISO(iso) else { throw QueryError(message: "Invalid DateTime") }
                return .date(ms)
            default:
                throw QueryError(message: "No property or field '\(word)' exists in type '\(fields.typeName)'")
            }
        default:
            throw QueryError(message: "Expression expected")
        }
    }
}
