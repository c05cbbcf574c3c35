/// An HTTP request as the router sees it: the whole body has been read.
public struct Request: Sendable {
    public let method: String
    /// The decoded path, without the query string.
    public let path: String
    /// Query arguments, decoded, in the order received.
    public let query: [(name: String, value: String)]
    public let headers: HTTPHeaders
    public let body: [UInt8]
    /// Values of `{name}` segments in the matched route.
    public internal(set) var pathParameters: [String: String] = [:]
    /// The client's address as the socket saw it (IPv4 dotted, IPv6 without brackets, an
    /// IPv4-mapped address as IPv4); nil when unknown. Behind a proxy: the proxy's.
    public var remoteAddress: String?

    public init(method: String, path: String, query: [(name: String, value: String)] = [],
                headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
    }

    /// The first query argument with this name.
    public func queryValue(_ name: String) -> String? {
        query.first { $0.name == name }?.value
    }

    public func pathParameter(_ name: String) -> String? { pathParameters[name] }
}

/// Header fields with case-insensitive lookup.
public struct HTTPHeaders: Sendable, Sequence {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public subscript(_ name: String) -> String? {
        for f in fields where f.name.count == name.count && f.name.lowercased() == name.lowercased() {
            return f.value
        }
        return nil
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> { fields.makeIterator() }
}
