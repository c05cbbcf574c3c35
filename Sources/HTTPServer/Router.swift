/// What a handler gives back: a response now, or a promise to answer later from another
/// thread (the connection is suspended meanwhile, and no server thread waits).
public enum HandlerResult: Sendable {
    case respond(Response)
    case deferred(@Sendable (DeferredResponse) -> Void)
}

/// A route's handler. A thrown `HTTPResponseError` becomes its response; any other error a 500.
public typealias Handler = @Sendable (Request) throws -> HandlerResult

/// Routes `METHOD /path/{param}` patterns to handlers.
public struct Router: Sendable {
    /// How paths are matched.
    public struct Options: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        /// Literal segments match whatever their case (Xero's paths do).
        public static let caseInsensitive = Options(rawValue: 1)
    }

    struct Route: Sendable {
        let method: String
        let segments: [Segment]
        let pattern: String
        let handler: Handler
    }
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    public let options: Options
    private var routes: [Route] = []
    /// Headers for every answer under a path prefix, however it is made (`addHeaders`).
    private var prefixHeaders: [(prefix: String, headers: HTTPHeaders)] = []
    private var notFound: Handler?
    private var methodNotAllowed: (@Sendable (Request, [String]) throws -> Response)?

    public init(options: Options = []) { self.options = options }

    /// Handles every request no route matches, instead of the JSON 404.
    public mutating func fallback(_ handler: @escaping Handler) { notFound = handler }

    /// Answers a path that exists for other methods, instead of the JSON 405 (the `Allow`
    /// header is added for you).
    public mutating func methodNotAllowed(_ answer: @escaping @Sendable (Request, [String]) throws -> Response) {
        methodNotAllowed = answer
    }

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let ci = options.contains(.caseInsensitive)
        let segments = Router.split(pattern).map { s -> Segment in
            if s.hasPrefix("{") && s.hasSuffix("}") { return .parameter(String(s.dropFirst().dropLast())) }
            return .literal(ci ? s.lowercased() : s)
        }
        routes.append(Route(method: method, segments: segments, pattern: pattern, handler: handler))
    }

    /// Every answer to a path under `prefix` (a handler's, a thrown error's, a deferred one, a 404
    /// or 405) carries `headers`, unless the answer sets that header itself. The one place to say
    /// e.g. "no JSON under /api/ is cached". `prefix` ends in "/" to name a folder.
    public mutating func addHeaders(_ headers: HTTPHeaders, toPathsUnder prefix: String) {
        prefixHeaders.append((prefix, headers))
    }

    /// The headers `addHeaders` gave the paths `path` is under, in the order added.
    public func headers(forPath path: String) -> [(name: String, value: String)] {
        if prefixHeaders.isEmpty { return [] }
        var out: [(name: String, value: String)] = []
        for (prefix, headers) in prefixHeaders where path.hasPrefix(prefix) {
            out.append(contentsOf: headers.fields)
        }
        return out
    }

    public mutating func get(_ p: String, _ h: @escaping Handler) { add("GET", p, h) }
    public mutating func post(_ p: String, _ h: @escaping Handler) { add("POST", p, h) }
    public mutating func put(_ p: String, _ h: @escaping Handler) { add("PUT", p, h) }
    public mutating func patch(_ p: String, _ h: @escaping Handler) { add("PATCH", p, h) }
    public mutating func delete(_ p: String, _ h: @escaping Handler) { add("DELETE", p, h) }

    public enum Match {
        case found(Handler, pattern: String, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public func match(method: String, path: String) -> Match {
        let parts = Router.split(path)
        let ci = options.contains(.caseInsensitive)
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            var params: [String: String] = [:]
            var ok = true
            for (seg, part) in zip(route.segments, parts) {
                switch seg {
                case .literal(let l):
                    if ci ? (l.utf8.count != part.utf8.count || l != part.lowercased()) : l != part { ok = false }
                case .parameter(let name): if part.isEmpty { ok = false } else { params[name] = part }
                }
                if !ok { break }
            }
            guard ok else { continue }
            if route.method == method || (method == "HEAD" && route.method == "GET") {
                return .found(route.handler, pattern: route.pattern, parameters: params)
            }
            allowed.append(route.method)
        }
        if !allowed.isEmpty {
            if let answer = methodNotAllowed {
                let allowed = allowed
                return .found({ request in
                    var r = try answer(request, allowed)
                    r.headers.add("Allow", allowed.joined(separator: ", "))
                    return .respond(r)
                }, pattern: "unmatched", parameters: [:])
            }
            if notFound == nil { return .methodNotAllowed(allowed: allowed) }
        }
        if let notFound { return .found(notFound, pattern: "fallback", parameters: [:]) }
        return .notFound
    }

    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
