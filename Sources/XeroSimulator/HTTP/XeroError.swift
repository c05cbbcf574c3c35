import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

struct ResponseError: Error {
    let response: Response
    init(_ r: Response) { response = r }
}

/// Xero's error bodies.
enum Errors {
    static func validation(_ elements: [JSON]) -> Response {
        Reply.xeroJSON(400, ValidationException(elements: elements).json)
    }

    static func postDataInvalid(_ message: String) -> Response {
        Reply.xeroJSON(400, .object([("ErrorNumber", .number(14)), ("Type", .string("PostDataInvalidException")),
                                     ("Message", .string(message))]))
    }

    static func queryParse(_ message: String) -> Response {
        Reply.xeroJSON(400, .object([("ErrorNumber", .number(16)), ("Type", .string("QueryParseException")),
                                     ("Message", .string(message))]))
    }

    static func problem(_ status: Int, _ title: String, _ detail: String) -> Response {
        Reply.xeroJSON(status, XeroProblem(title: title, status: status, detail: detail, instance: Ids.uuid()).json)
    }

    static func unauthorized(_ detail: String) -> Response {
        var r = problem(401, "Unauthorized", detail)
        r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        return r
    }

    static func forbidden() -> Response { problem(403, "Forbidden", "AuthenticationUnsuccessful") }
}
