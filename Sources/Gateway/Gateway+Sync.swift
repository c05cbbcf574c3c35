import Foundation
import HTTPServer
import Store
import StrictJSON
import Sync
import Logging
import Xero

/// How the gateway reaches Xero for an account: the connected tenant and an accounting client
/// on the account's tokens, within the gateway's shared rate limiter, every call counted in
/// `/metrics`.
struct GatewayXeroConnector: XeroConnector {
    let accounts: any AccountRepository
    let tokens: XeroTokenManager
    let endpoints: XeroEndpoints
    let limiter: XeroRateLimiter
    let retry: XeroRetryPolicy
    let metrics: GatewayMetrics

    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)? {
        guard let c = try accounts.connection(accountId: accountId), c.state == .connected, let tenant = c.tenantId else {
            return nil
        }
        let metrics = self.metrics
        let client = XeroAccountingClient(endpoints: endpoints, tokens: tokens, limiter: limiter, retry: retry,
                                          observer: { r in observer(r); metrics.xeroCall(r) })
        return (client, tenant)
    }
}

extension Gateway {
    static let syncRoutes: [Route] = [
        ("POST", "/api/v1/xero/sync", { .respond(try $0.startSync($1)) }),
        ("GET", "/api/v1/xero/sync-runs", { .respond(try $0.listSyncRuns($1)) }),
        ("GET", "/api/v1/xero/sync-runs/{id}", { .respond(try $0.getSyncRun($1)) }),
        ("GET", "/api/v1/xero/matches", { .respond(try $0.listMatches($1)) }),
        ("GET", "/api/v1/xero/matches/{id}", { .respond(try $0.getMatch($1)) }),
        ("POST", "/api/v1/xero/matches/{id}/link", { try $0.linkMatch($1) }),
        ("POST", "/api/v1/xero/matches/{id}/dismiss", { try $0.dismissMatch($1) }),
    ]

    /// The account of an admin's request (staff and operators: 403).
    func adminAccount(_ request: Request) throws(HTTPError) -> String { try accountAdmin(request).1 }

    /// `POST /api/v1/xero/sync` → 202 `{"syncRunId"}`: starts a sync, or joins the one running.
    func startSync(_ request: Request) throws -> Response {
        let accountId = try adminAccount(request)
        guard let c = try accounts.connection(accountId: accountId), c.state == .connected else {
            throw HTTPError(409, code: "not_connected", message: SyncError.notConnected.message)
        }
        let run = try store { () throws(StoreError) in try syncEngine.requestSync(accountId: accountId, trigger: .manual) }
        return .json(202, JSON.object([("syncRunId", .string(run.id))]))
    }

    func listSyncRuns(_ request: Request) throws -> Response {
        let accountId = try adminAccount(request)
        let p = try Page(request)
        let page = try store { () throws(StoreError) in try sync.runs(accountId: accountId, limit: p.limit, cursor: p.after.map(String.init)) }
        return .json(200, JSON.object([("items", .array(page.items.map(\.json))), ("nextCursor", page.nextCursor.map(JSON.string) ?? .null)]))
    }

    func getSyncRun(_ request: Request) throws -> Response {
        let accountId = try adminAccount(request)
        let id = request.pathParameter("id") ?? ""
        guard id.utf8.count <= 100, let run = try store({ () throws(StoreError) in try sync.run(accountId: accountId, id: id) }) else {
            throw HTTPError(404, code: "not_found", message: "no such sync run")
        }
        return .json(200, run.json)
    }

    func listMatches(_ request: Request) throws -> Response {
        let accountId = try adminAccount(request)
        var state: MatchState? = .pending
        if let s = request.queryValue("state") {
            guard s == "all" || MatchState(rawValue: s) != nil else {
                throw HTTPError(400, code: "invalid_state", message: "state must be pending, linked, dismissed or all")
            }
            state = MatchState(rawValue: s)
        }
        let p = try Page(request)
        let page = try store { () throws(StoreError) in
            try sync.matches(accountId: accountId, state: state, limit: p.limit, cursor: p.after.map(String.init))
        }
        let items = try page.items.map { m throws -> JSON in try matchService.review(m).json }
        return .json(200, JSON.object([("items", .array(items)), ("nextCursor", page.nextCursor.map(JSON.string) ?? .null)]))
    }

    func getMatch(_ request: Request) throws -> Response {
        let accountId = try adminAccount(request)
        return .json(200, try matchService.review(try match(accountId, request)).json)
    }

    func match(_ accountId: String, _ request: Request) throws -> ContactMatchRecord {
        let id = request.pathParameter("id") ?? ""
        guard id.utf8.count <= 100, let m = try store({ () throws(StoreError) in try sync.match(accountId: accountId, id: id) }) else {
            throw HTTPError(404, code: "not_found", message: "no such match")
        }
        return m
    }

    /// `POST …/matches/{id}/link` with the chosen `{name, companyName, email, phone}` (any left
    /// out take the proposal): writes them to Xero (one call) and to the SortScape contact, and
    /// links the two. The Xero call runs on a worker thread; the request waits for it.
    func linkMatch(_ request: Request) throws -> HandlerResult {
        let accountId = try adminAccount(request)
        let match = try match(accountId, request)
        guard match.state == .pending else {
            throw HTTPError(409, code: "conflict", message: "this match was already \(match.state.rawValue)")
        }
        let review = try matchService.review(match)
        var chosen = review.proposed
        if !request.body.isEmpty {
            var body = try RecordBody(request)
            chosen.name = try body.string("name", required: false, nonEmpty: true) ?? chosen.name
            chosen.companyName = try body.string("companyName") ?? chosen.companyName
            chosen.email = try body.string("email") ?? chosen.email
            chosen.phone = try body.string("phone", max: 50) ?? chosen.phone
            try body.rejectOthers(readOnly: [])
        }
        guard !chosen.name.isEmpty else { throw RecordBody.invalid("name", "is required") }
        let values = chosen
        let matches = matchService, workers = interactiveWorkers, logger = self.logger
        return .deferred { responder in
            workers.submit {
                do {
                    let contact = try matches.link(accountId: accountId, matchId: match.id, chosen: values)
                    responder.respond(.json(200, JSON.object([("contact", contact.fields.json(id: contact.id)),
                                                              ("matchId", .string(match.id)), ("state", .string("linked"))])))
                } catch {
                    responder.respond(Gateway.answer(for: error, logger: logger))
                }
            }
        }
    }

    /// `POST …/matches/{id}/dismiss`: imports the Xero contact as a new SortScape contact.
    func dismissMatch(_ request: Request) throws -> HandlerResult {
        let accountId = try adminAccount(request)
        let match = try match(accountId, request)
        let matches = matchService, logger = self.logger
        do {
            let contact = try matches.dismiss(accountId: accountId, matchId: match.id)
            return .respond(.json(200, JSON.object([("contact", contact.fields.json(id: contact.id)),
                                                    ("matchId", .string(match.id)), ("state", .string("dismissed"))])))
        } catch {
            return .respond(Gateway.answer(for: error, logger: logger))
        }
    }
}

extension ContactFields {
    func json(id: String? = nil) -> JSON {
        var members: [(key: String, value: JSON)] = []
        if let id { members.append(("id", .string(id))) }
        members += [("name", .string(name)), ("companyName", .string(companyName)),
                    ("email", .string(email)), ("phone", .string(phone))]
        return .object(members)
    }
}

extension MatchReview {
    /// DESIGN §3 `match`: `id, contactId, xeroContactId, xero, sortscape, proposed, reasons` (+ `state`).
    var json: JSON {
        .object([
            ("id", .string(match.id)), ("contactId", .string(match.contactId)),
            ("xeroContactId", .string(match.xeroContactId)), ("state", .string(match.state.rawValue)),
            ("xero", match.xero.json()), ("sortscape", sortscape.json()), ("proposed", proposed.json()),
            ("reasons", .array(match.reasons.map(JSON.string))), ("createdAt", .string(match.createdAt)),
        ])
    }
}

extension SyncRunRecord {
    /// DESIGN §3 `sync run`.
    var json: JSON {
        .object([
            ("id", .string(id)), ("trigger", .string(trigger.rawValue)), ("state", .string(state.rawValue)),
            ("startedAt", .string(startedAt)), ("finishedAt", finishedAt.map(JSON.string) ?? .null),
            ("counts", .object(counts.sorted { $0.key < $1.key }.map { ($0.key, JSON.number($0.value)) })),
            ("xeroCalls", .number(xeroCalls)), ("errors", .array(errors.map(JSON.string))),
        ])
    }
}
