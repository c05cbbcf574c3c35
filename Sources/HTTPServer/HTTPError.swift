import StrictJSON

/// An error a handler throws that carries its own HTTP answer. The server turns any thrown
/// `HTTPResponseError` into its `response`; any other error becomes a 500.
public protocol HTTPResponseError: Error {
    var response: Response { get }
}

/// The project's error answer: a status and `{"error": {"code": "...", "message": "..."}}`.
public struct HTTPError: HTTPResponseError, Sendable, CustomStringConvertible {
    public let status: Int
    public let code: String
    public let message: String
    /// Extra headers, e.g. `Allow` on a 405 or `Retry-After` on a 503.
    public var headers: HTTPHeaders

    public init(_ status: Int, code: String, message: String, headers: HTTPHeaders = HTTPHeaders()) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var response: Response {
        var r = Response.json(status, JSON.object([
            ("error", .object([("code", .string(code)), ("message", .string(message))])),
        ]))
        for (name, value) in headers { r.headers.add(name, value) }
        return r
    }

    public var description: String { "\(status) \(code): \(message)" }
}
