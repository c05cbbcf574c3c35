/// Where the store lives, from `GATEWAY_DB`: a SQLite file path (the embedded default) or a
/// PostgreSQL URL (`postgres://…` or `postgresql://…`). Any other `scheme://` is refused, so a
/// mistyped URL never becomes a SQLite file of that name.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    /// Reads a `GATEWAY_DB` value; `.openFailed` for a URL of a scheme this build cannot serve.
    public init(_ setting: String) throws(StoreError) {
        guard let scheme = StoreLocation.scheme(of: setting) else {
            self = .sqlite(path: setting)
            return
        }
        switch scheme.lowercased() {
        case "postgres", "postgresql": self = .postgres(url: setting)
        case "file": self = .sqlite(path: setting)   // a SQLite URI filename
        default:
            throw StoreError(code: .openFailed, message: "\(StoreLocation.redacted(setting)) is not a database this build can serve "
                             + "(\(scheme)://): use a SQLite path or a postgres:// URL")
        }
    }

    /// The location for messages: a URL's password (in its user part or a `password=`
    /// parameter) is shown as `***`.
    public var description: String {
        switch self {
        case .sqlite(let path): return path
        case .postgres(let url): return StoreLocation.redacted(url)
        }
    }

    /// The scheme of `text` when it is `scheme://…`, else nil.
    static func scheme(of text: String) -> String? {
        guard let range = text.range(of: "://") else { return nil }
        let scheme = text[..<range.lowerBound]
        guard let first = scheme.first, first.isASCII, first.isLetter,
              scheme.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == ".") })
        else { return nil }
        return String(scheme)
    }

    /// `url` with any password replaced by `***`.
    static func redacted(_ url: String) -> String {
        var out = url
        if let start = out.range(of: "://") {
            let rest = out[start.upperBound...]
            let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? rest.endIndex
            let authority = rest[..<authorityEnd]
            if let at = authority.lastIndex(of: "@"), let colon = authority[..<at].firstIndex(of: ":") {
                out.replaceSubrange(out.index(after: colon)..<at, with: "***")
            }
        }
        // password=… among the query parameters (or key=value pairs)
        var result = "", i = out.startIndex
        while let r = out[i...].range(of: "password=") {
            result += out[i..<r.upperBound] + "***"
            i = out[r.upperBound...].firstIndex(where: { $0 == "&" || $0 == " " || $0 == "#" }) ?? out.endIndex
        }
        return result + out[i...]
    }
}
