import Xero

/// `order=Name ASC, UpdatedDateUTC DESC`.
struct OrderSpec<T> {
    let keys: [(getter: (T) -> FieldValue, descending: Bool)]
    let canonical: String

    static func parse(_ text: String?, _ fields: EntityFields<T>, defaultField: String) throws(QueryError) -> OrderSpec<T> {
        let source = (text?.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty ?? true) ? defaultField : text!
        var keys: [(getter: (T) -> FieldValue, descending: Bool)] = []
        var canonical: [String] = []
        for part in source.split(separator: ",") {
            let words = part.split(whereSeparator: { $0.isWhitespace }).map(String.init)
            guard let name = words.first else { continue }
            guard let getter = fields.lookup(name) else {
                throw QueryError(message: "No property or field '\(name)' exists in type '\(fields.typeName)'")
            }
            var descending = false
            if words.count > 1 {
                switch words[1].uppercased() {
                case "ASC": descending = false
                case "DESC": descending = true
                default: throw QueryError(message: "Syntax error '\(words[1])'")
                }
            }
            guard words.count <= 2 else { throw QueryError(message: "Syntax error '\(words[2])'") }
            keys.append((getter, descending))
            canonical.append(name.lowercased() + (descending ? " desc" : " asc"))
        }
        return OrderSpec(keys: keys, canonical: canonical.joined(separator: ","))
    }

    /// True when `a` sorts before `b`; `tieBreak` decides equal keys.
    func before(_ a: T, _ b: T, tieBreak: (T, T) -> Bool) -> Bool {
        for k in keys {
            let x = k.getter(a), y = k.getter(b)
            if x == y { continue }
            return k.descending ? y < x : x < y
        }
        return tieBreak(a, b)
    }
}
