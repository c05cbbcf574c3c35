/// What a handler gives back: a response now, or a promise to answer later from another
/// thread (the connection is suspended meanwhile, and no server thread waits).
public enum HandlerResult: Sendable {
    case respond(Response)
    case deferred(@Sendable (Responder) -> Void)
}

public typealias Handler = @Sendable (Request) -> HandlerResult

/// Routes `METHOD /path/{param}` patterns to handlers.
public struct Router: Sendable {
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

    private var routes: [Route] = []
    private var fallback: Handler?

    public init() {}

    /// Handles every request no route matches (any method), instead of the JSON 404/405.
    public mutating func fallback(_ handler: @escaping Handler) { fallback = handler }

    public mutating func add(_ method: String, _ pattern: String, _ handler: @escaping Handler) {
        let segments = Router.split(pattern).map { s -> Segment in
            if s.hasPrefix("{") && s.hasSuffix("}") { return .parameter(String(s.dropFirst().dropLast())) }
            return .literal(s)
        }
        routes.append(Route(method: method, segments: segments, pattern: pattern, handler: handler))
    }

    public mutating func get(_ p: String, _ h: @escaping Handler) { add("GET", p, h) }
    public mutating func post(_ p: String, _ h: @escaping Handler) { add("POST", p, h) }
    public mutating func patch(_ p: String, _ h: @escaping Handler) { add("PATCH", p, h) }

    public enum Match {
        case found(Handler, pattern: String, parameters: [String: String])
        case methodNotAllowed(allowed: [String])
        case notFound
    }

    public func match(method: String, path: String) -> Match {
        let parts = Router.split(path)
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            var params: [String: String] = [:]
            var ok = true
            for (seg, part) in zip(route.segments, parts) {
                switch seg {
                case .literal(let l): if l != part { ok = false }
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
        if let fallback { return .found(fallback, pattern: "fallback", parameters: [:]) }
        return allowed.isEmpty ? .notFound : .methodNotAllowed(allowed: allowed)
    }

    static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }
}
