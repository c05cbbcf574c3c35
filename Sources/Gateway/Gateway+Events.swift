import HTTPServer
import Store
import Sync
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
        let events = try inboxEvents.events(accountId: user.role == .operator ? nil : user.accountId,
                                            state: status, limit: page.limit, afterId: page.after)
        let next: JSON = events.count == page.limit ? .string(String(events.last!.id)) : .null
        return .json(200, JSON.object([("items", .array(events.map(\.json))), ("nextCursor", next)]))
    }
}

/// `?limit=&cursor=` of list endpoints.
struct Page {
    var limit: Int
    var after: Int64?

    init(_ request: Request) throws(HTTPError) {
        limit = try Page.limit(request)
        if let c = request.queryValue("cursor"), !c.isEmpty {
            guard let n = Int64(c), n >= 0 else {
                throw HTTPError(400, code: "invalid_cursor", message: "cursor is not one this API gave")
            }
            after = n
        }
    }

    /// `?limit=`: 1 to 500, 50 when left out.
    static func limit(_ request: Request) throws(HTTPError) -> Int {
        guard let l = request.queryValue("limit") else { return 50 }
        guard let n = Int(l), (1...500).contains(n) else {
            throw HTTPError(400, code: "invalid_limit", message: "limit must be 1 to 500")
        }
        return n
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

extension Gateway {
    /// `POST /api/v1/xero/events/{id}/replay`: applies an event again (its account's admin, or an
    /// operator); 202 with the event, now `pending`.
    func replayEvent(_ request: Request) throws -> Response {
        let user = try authorize(request, .admin)
        guard user.role == .admin || user.role == .operator else {
            throw HTTPError(403, code: "forbidden", message: "this needs an administrator of a SortScape account")
        }
        guard let id = request.pathParameter("id").flatMap({ $0.utf8.count <= 19 ? Int64($0) : nil }), id > 0 else {
            throw HTTPError(404, code: "not_found", message: "no such event")
        }
        let event: InboxEvent
        do {
            event = try syncState.replay(accountId: user.role == .operator ? nil : user.accountId, eventId: id)
        } catch {
            switch error.code {
            case .notFound: throw HTTPError(404, code: "not_found", message: "no such event")
            case .conflict: throw HTTPError(409, code: "not_replayable", message: error.message)
            default: throw error
            }
        }
        if let accountId = event.accountId { syncEngine.eventsArrived(accountIds: [accountId]) }
        return .json(202, event.json)
    }

    /// `POST /api/v1/contacts/{id}/xero` (R11): creates the contact in Xero, or links it to the
    /// one Xero already has under that name; 200 with the linked contact. The Xero calls run on
    /// a worker thread through the sync engine; the request waits for them.
    func createContactInXero(_ request: Request) throws -> HandlerResult {
        let accountId = try adminAccount(request)
        let contact = try existing(ContactRecord.self, accountId: accountId, request)
        guard contact.xeroContactId == nil else {
            throw HTTPError(409, code: "already_linked", message: "this contact is already linked to a Xero contact")
        }
        let connection = try currentConnection(accountId)
        guard connection.state == .connected else {
            throw HTTPError(409, code: "not_connected", message: SyncError.notConnected.message)
        }
        let engine = syncEngine, workers = interactiveWorkers, logger = self.logger, gateway = self
        return .deferred { responder in
            workers.submit {
                do {
                    let linked = try engine.createContactInXero(accountId: accountId, contactId: contact.id)
                    responder.respond(try gateway.rendered(linked, 200))
                } catch {
                    responder.respond(Gateway.answer(for: error, logger: logger))
                }
            }
        }
    }
}
