import Foundation
import HTTPServer
import Xero
import StrictJSON

/// The simulator's answers that are not errors, and the accounting API's content negotiation.
enum Reply {
    static let notFoundText = "The resource you're looking for cannot be found"

    static func xeroJSON(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json; charset=utf-8")]),
                 body: XeroWire.bytes(json))
    }

    /// The control API's shape: plain JSON.
    static func json(_ status: Int, _ json: JSON) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "application/json")]), body: XeroWire.bytes(json))
    }

    static func html(_ status: Int, _ body: String) -> Response {
        Response(status: status, headers: HTTPHeaders([("Content-Type", "text/html; charset=utf-8"),
                                                       ("Cache-Control", "no-store")]),
                 body: Array(body.utf8))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: 302, headers: HTTPHeaders([("Location", location), ("Cache-Control", "no-store")]))
    }

    /// True when the request's `Accept` asks for JSON (the SDKs always send `application/json`).
    static func wantsJSON(_ request: Request) -> Bool {
        guard let accept = request.headers["Accept"] else { return false }
        return accept.lowercased().contains("application/json")
    }

    /// An accounting answer in the format the request asked for: Xero answers XML unless the
    /// `Accept` header asks for JSON (FACTS §4.3a). Plain-text and empty answers stay as they are.
    static func negotiated(_ response: Response, for request: Request) -> Response {
        guard !wantsJSON(request), let type = response.headers["Content-Type"], type.hasPrefix("application/json"),
              let json = try? JSON.parse(response.body) else { return response }
        var headers = HTTPHeaders([("Content-Type", "text/xml; charset=utf-8")])
        for (name, value) in response.headers where name.lowercased() != "content-type" { headers.add(name, value) }
        return Response(status: response.status, headers: headers, body: Array(XeroXML.document(json).utf8))
    }
}

extension JSON {
    static func double(_ d: Double) -> JSON {
        let r = (d * 1000).rounded() / 1000
        return .number(r, raw: r == r.rounded() && abs(r) < 1e15 ? String(Int64(r)) : String(r))
    }
}
