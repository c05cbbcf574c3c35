import HTTPServer
import Store
import Xero

extension Gateway {
    /// `GET /api/v1/xero/events[?status=&limit=&cursor=]`: the inbox, as an admin (their
    /// account's events) or an operator (all, including unrouted and quarantined) sees it.
    func listEvents(_ request: Request) -> HandlerResult {
        let user: User
        switch authorize(request, .admin) {
        case .failure(let e): return .respond(e.response)
        case .success(let u): user = u
        }
        var status: InboxEventState?
        if let s = request.queryValue("status") {
            guard let state = InboxEventState(rawValue: s) else {
                return .respond(.error(400, code: "invalid_status",
                                       message: "status must be one of \(InboxEventState.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            status = state
        }
        let page: Page
        switch Page.from(request) {
        case .failure(let e): return .respond(e.response)
        case .success(let p): page = p
        }
        do {
            let events = try inboxEvents.events(accountId: user.role == .operator ? nil : user.accountId,
                                                state: status, limit: page.limit, afterId: page.after)
            let next: JSON = events.count == page.limit ? .string(String(events.last!.id)) : .null
            return .respond(.json(200, Array(JSON.object([("items", .array(events.map(\.json))), ("nextCursor", next)]).serialized.utf8)))
        } catch {
            logger.error("events list failed", metadata: ["error": "\(error)"])
            return .respond(.error(503, code: "store_unavailable", message: "the store is unavailable"))
        }
    }
}

/// `?limit=&cursor=` of list endpoints.
struct Page {
    var limit: Int
    var after: Int64?

    static func from(_ request: Request) -> Result<Page, ResponseError> {
        var page = Page(limit: 50, after: nil)
        if let l = request.queryValue("limit") {
            guard let n = Int(l), (1...500).contains(n) else {
                return .failure(ResponseError(status: 400, code: "invalid_limit", message: "limit must be 1 to 500"))
            }
            page.limit = n
        }
        if let c = request.queryValue("cursor"), !c.isEmpty {
            guard let n = Int64(c), n >= 0 else {
                return .failure(ResponseError(status: 400, code: "invalid_cursor", message: "cursor is not one this API gave"))
            }
            page.after = n
        }
        return .success(page)
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

extension JSON {
    static func number(_ n: Int) -> JSON { .number(Double(n), raw: String(n)) }
}
