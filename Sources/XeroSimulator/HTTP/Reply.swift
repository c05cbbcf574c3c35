import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

// MARK: - responses

enum Reply {
    static let notFoundText = "The resource you're looking for cannot be found"

    /// Xero's 404: plain text, not JSON.
    static func notFound() -> Response { .text(404, notFoundText) }

    static func xeroJSON(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json; charset=utf-8")]),
                 body: XeroWire.bytes(json))
    }

    /// The control API's shape: plain JSON.
    static func json(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: XeroWire.bytes(json))
    }

    static func controlError(_ status: Int, _ message: String, details: [String] = []) -> Response {
        var members: [(key: String, value: JSON)] = [("error", .string(message))]
        if !details.isEmpty { members.append(("details", .array(details.map { .string($0) }))) }
        return json(status, .object(members))
    }

    static func html(_ status: Int, _ body: String) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8"),
                                                       ("Cache-Control", "no-store")]),
                 body: Array(body.utf8))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: 302, headers: HTTPHeaders([("Location", location), ("Cache-Control", "no-store")]))
    }
}

extension JSON {
    static func double(_ d: Double) -> JSON {
        let r = (d * 1000).rounded() / 1000
        return .number(r, raw: r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r))
    }
}
