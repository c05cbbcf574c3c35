import HTTPServer
import Store
import Xero
import StrictJSON

extension Gateway {
    /// `GET /api/v1/xero/events[?status=&limit=&cursor=]`: the inbox, as an admin (their
    /// account's events) or an operator (all, including unrouted and quarantined) sees it.
    func listEvents(_ request: Request) throws -> Response {
        let user = try authorize(request, .admin)
        var status: InboxEventState?
        if let s = request.queryValue("status") {
            guard let state = InboxEventState(rawValue: s) else {
                throw HTTPError(400, code: "invalid_status",
                                message: "status must be one of \(InboxEventState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            status = state
        }
        let page = try Page(request)
        let events: [InboxEvent]
        do {
            events = try inboxEvents.events(accountId: user.role == .operator ? nil : user.accountId,
                                            state: status, limit: page.limit, afterId: page.after)
        } catch {
            logger.error("events list failed", metadata: ["error": "\(error)"])
            throw HTTPError.storeUnavailable
        }
        let next: JSON = events.count == page.limit ? .string(String(events.last!.id)) : .null
        return .json(200, JSON.object([("items", .array(events.map(\.json))), ("nextCursor", next)]))
    }
}

/// `?limit=&cursor=` of list endpoints.
struct Page {
    var limit: Int
    var after: Int64?

    init(_ request: Request) throws(HTTPError) {
        limit = 50
        if let l = request.queryValue("limit") {
            guard let n = Int(l), (1...500).contains(n) else {
                throw HTTPError(400, code: "invalid_limit", message: "limit must be 1 to 500")
            }
            limit = n
        }
        if let c = request.queryValue("cursor"), !c.isEmpty {
            guard let n = Int64(c), n >= 0 else {
                throw HTTPError(400, code: "invalid_cursor", message: "cursor is not one this API gave")
            }
            after = n
        }
    }
}

extension InboxEvent {
    var json: JSON {
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return .object([
            ("id", .string(String(id))),
            ("tenantId", s(tenantId)),
            ("category", s(category)),
            ("type", s(type)),
            ("resourceId", s(resourceId)),
            ("eventDateUtc", s(eventDateUtc)),
            ("state", .string(state.rawValue)),
            ("attempts", .number(attempts)),
            ("lastError", s(lastError)),
            ("receivedAt", .string(receivedAt)),
        ])
    }
}
