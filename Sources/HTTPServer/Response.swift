import StrictJSON

/// An HTTP response.
public struct Response: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response with no body at all (Xero's webhook rule: 200, empty, no cookies).
    public static func empty(_ status: Int) -> Response { Response(status: status) }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", contentType)]), body: Array(text.utf8))
    }

    public static func json(_ status: Int, _ bytes: [UInt8]) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: bytes)
    }

    public static func json(_ status: Int, _ value: JSON) -> Response { json(status, value.serializedBytes()) }

    /// The project's error shape: `{"error": {"code": "...", "message": "..."}}`.
    public static func error(_ status: Int, code: String, message: String) -> Response {
        HTTPError(status, code: code, message: message).response
    }
}
