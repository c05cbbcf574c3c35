import Foundation
import HTTPServer
import Xero
import StrictJSON

/// The simulator's one thrown error: the answer Xero (or the control API) gives, already
/// wire-shaped. Xero's bodies are not the project's `{"error": {code, message}}` (that is
/// `HTTPError`), so the simulator carries its own `HTTPResponseError`.
struct XeroError: HTTPResponseError, Sendable, CustomStringConvertible {
    let response: Response
    /// What went wrong, in words (the Swift API and the control API show it).
    let message: String

    init(_ response: Response, message: String) {
        self.response = response
        self.message = message
    }

    var description: String { "\(response.status) \(message)" }

    /// The answer for whatever a handler threw (anything but a `XeroError` is Xero's 500).
    static func response(for error: any Error) -> Response {
        (error as? XeroError)?.response ?? unhandled().response
    }

    // MARK: - accounting API

    /// Xero's 404: plain text, not JSON.
    static func notFound() -> XeroError {
        XeroError(.text(404, Reply.notFoundText), message: Reply.notFoundText)
    }

    static func validation(_ elements: [JSON]) -> XeroError {
        XeroError(Reply.xeroJSON(400, ValidationException(elements: elements).json), message: "A validation exception occurred")
    }

    static func postDataInvalid(_ message: String) -> XeroError {
        apiException(14, "PostDataInvalidException", message)
    }

    static func queryParse(_ message: String) -> XeroError {
        apiException(16, "QueryParseException", message)
    }

    static func apiException(_ number: Int, _ type: String, _ message: String) -> XeroError {
        XeroError(Reply.xeroJSON(400, .object([("ErrorNumber", .number(number)), ("Type", .string(type)),
                                                ("Message", .string(message))])), message: message)
    }

    /// The problem shape of 401, 403 and idempotency conflicts.
    static func problem(_ status: Int, _ title: String, _ detail: String) -> XeroError {
        XeroError(Reply.xeroJSON(status, XeroProblem(title: title, status: status, detail: detail,
                                                     instance: Ids.uuid()).json), message: detail)
    }

    static func unauthorized(_ detail: String) -> XeroError {
        var r = problem(401, "Unauthorized", detail).response
        r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        return XeroError(r, message: detail)
    }

    static func forbidden() -> XeroError { problem(403, "Forbidden", "AuthenticationUnsuccessful") }

    static func unhandled() -> XeroError {
        let detail = "An unhandled error occurred in Xero. Please try again and contact Xero if problems persist."
        return XeroError(Reply.xeroJSON(500, .object([
            ("Title", .string("An error occurred")), ("Detail", .string(detail)),
            ("Status", .number(500)), ("Instance", .string(Ids.uuid()))])), message: detail)
    }

    // MARK: - identity

    /// The token and revocation endpoints' `{"error": "invalid_grant"}`.
    static func token(_ error: String, status: Int = 400) -> XeroError {
        var r = Reply.json(status, .object([("error", .string(error))]))
        r.headers.add("Cache-Control", "no-store")
        return XeroError(r, message: error)
    }

    /// The login site's error page.
    static func page(_ status: Int, _ code: String, _ message: String) -> XeroError {
        XeroError(Reply.html(status, """
        <!doctype html><html><head><meta charset="utf-8"><title>Error</title></head>
        <body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>Sorry, something went wrong</h1>
        <p id="error" data-error="\(Markup.escape(code))">\(Markup.escape(message))</p></body></html>
        """), message: message)
    }

    /// An OAuth error sent back to the app's redirect URI.
    static func redirect(_ location: String, error: String) -> XeroError {
        XeroError(Reply.redirect(location), message: error)
    }

    // MARK: - control API

    /// The control API's `{"error": "...", "details": [...]}`.
    static func control(_ status: Int, _ message: String, details: [String] = []) -> XeroError {
        var members: [(key: String, value: JSON)] = [("error", .string(message))]
        if !details.isEmpty { members.append(("details", .array(details.map { .string($0) }))) }
        return XeroError(Reply.json(status, .object(members)), message: message)
    }
}

/// Xero's rules refused an element: the messages its `ValidationErrors` carry.
struct Refusal: Error {
    let messages: [String]
    init(_ messages: [String]) { self.messages = messages }
    init(_ message: String) { messages = [message] }
}
