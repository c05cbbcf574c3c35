import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// A faithful local Xero: identity (OAuth 2.0), the accounting subset the gateway uses
/// (Contacts, Items, Invoices), per-tenant limits, signed webhooks and a control API under `/sim/`.
///
/// One origin stands in for login.xero.com, identity.xero.com and api.xero.com; paths are
/// Xero's own and match case-insensitively (`/connections` and the SDK's `/Connections`).
///
/// Xero's side
/// - `GET /identity/connect/authorize` login page → consent page (tick organisations) → 302 to
///   `redirect_uri?code=…&scope=…&state=…&session_state=…`. `POST /connect/token`
///   (`authorization_code`, `refresh_token`; Basic or form client auth; PKCE S256/plain);
///   `POST /connect/revocation`; `GET /connections[?authEventId=]`; `DELETE /connections/{id}`.
///   Access tokens: JWT-shaped, 30 minutes. Codes: single use, 5 minutes. Refresh tokens rotate;
///   a superseded one works for 30 more minutes, then `400 {"error":"invalid_grant"}`.
/// - `/api.xro/2.0/`: `Contacts` (GET list/one, PUT, POST, POST /{id}), `Items` (GET list/one,
///   PUT, POST, POST /{id}, DELETE /{id}), `Invoices` (GET list/one, PUT, POST, POST /{id}),
///   `Organisation` (GET). 401/403 problem JSON, plain-text 404, `ValidationException` 400s,
///   `summarizeErrors`, `Idempotency-Key` (6 minutes), `If-Modified-Since` (to the second,
///   inclusive), `where`/`order`, `unitdp`, rate-limit headers on every tenanted answer.
///   `MergedToContactID`, `Balances` and the default line amount types appear only on paged
///   (`page=`), `summaryOnly` or single-contact GETs, as Xero documents; `IDs=` does not bring
///   archived contacts back without `includeArchived=true`.
/// - Webhooks for CONTACT and INVOICE changes (API and control API alike) of tenants connected to
///   the app, batched, signed with the webhook key, retried with backoff until a 200.
///
/// The control API (JSON; errors `{"error": "...", "details": [...]}`)
/// - `POST /sim/reset {"seed": "empty"|"demo"}`; `GET /sim/state`.
/// - `POST /sim/organisations {"name", "tenantId"?, "baseCurrency"?, "countryCode"?}` → `{"tenantId"}`;
///   `POST /sim/logins {"email", "tenantIds", "password"?, "firstName"?, "lastName"?, "userId"?}`.
/// - `POST /sim/organisations/{t}/contacts` `{"Contacts": [Xero contacts, may set ContactID,
///   ContactStatus, IsCustomer, IsSupplier, UpdatedDateUTC], "webhooks": true, "returnIds"?}` or
///   `{"generate": {"count", "prefix", "archivedEvery", "customerEvery", "supplierEvery"}}`:
///   all or nothing, Xero's rules enforced. `GET`/`PATCH …/contacts/{id}` (a user's edit:
///   UpdatedDateUTC moves, webhook); `POST …/contacts/{id}/archive|restore`;
///   `POST …/contacts/{id}/merge {"into": id}`; `POST …/contacts/{id}/flags {"IsCustomer", "IsSupplier"}`
///   (no UpdatedDateUTC change, no webhook).
/// - `POST /sim/organisations/{t}/items {"Items": [...]}`; `PATCH`/`DELETE …/items/{id or code}`
///   (no webhooks: Xero has none for items); `PATCH …/invoices/{id} {"Status", "Reference"}`.
/// - `POST /sim/consent {"login", "tenantIds"?, "clientId"?, "redirectUri", "state"?, "scope"?}` → `{"redirect"}`.
/// - `GET`/`POST /sim/clock {"advanceSeconds"} | {"set": iso} | {"reset": true}`.
/// - `GET`/`POST /sim/limits {"enabled", "perMinute", "perDay", "concurrent", "appPerMinute",
///   "latencyMs", "resetCounters"}`.
/// - `GET`/`POST`/`DELETE /sim/faults`: `{"kind": "500"|"503"|"429"|"hang", "count", "tenantId"?,
///   "path"? (substring), "method"?, "delayMs"?, "process"? (carry the request out first; default
///   true for hang), "retryAfter"?}`; webhook kinds `drop|duplicate|delay|reorder|badSignature`.
/// - `GET /sim/calls?since=&tenantId=&path=&method=&limit=` (method, path, query, the headers that
///   matter, body, status, fault, rate-limit problem); `DELETE /sim/calls`.
/// - `GET /sim/webhooks` (counters, attempts, delivered bodies, idle); `POST /sim/webhooks/config
///   {"url", "key", "batchDelayMs", "maxEventsPerPayload", "retryInitialMs", "retryMaxMs",
///   "timeoutMs", "onlyConnected", "enabled"}`; `POST /sim/webhooks/intent-to-receive {"url"?}`.
/// - `GET`/`POST /sim/app {"clientId", "clientSecret", "redirectUris"}`.
public final class Simulator: Sendable {
    public let configuration: SimulatorConfiguration
    let world: Locked<World>
    let clock = SimClock()
    let scheduler = Scheduler()
    let webhooks: WebhookDispatcher
    let jwtKey = Crypto.randomBytes(32)
    private let server = Locked<Server?>(nil)
    private let routes: [SimRoute]

    public init(configuration: SimulatorConfiguration = SimulatorConfiguration()) {
        self.configuration = configuration
        world = Locked(World(clientId: configuration.clientId, clientSecret: configuration.clientSecret,
                             redirectURIs: configuration.redirectURIs))
        webhooks = WebhookDispatcher(url: configuration.webhookURL, key: configuration.webhookKey,
                                     resourceOrigin: configuration.resourceOrigin)
        routes = Simulator.routeTable()
        if configuration.seed == .demo { _ = seedDemo() }
    }

    /// Starts listening, the webhook sender and the timer thread.
    public func start() throws {
        // Xero's paths match case-insensitively and its 404 is plain text: route everything here.
        var router = Router()
        router.fallback { [weak self] request in
            guard let self else { return .respond(.text(503, "shutting down")) }
            return self.dispatch(request)
        }
        let config = ServerConfiguration(host: configuration.host, port: configuration.port,
                                         threads: configuration.threads, maxBodyBytes: 256 << 20,
                                         connectionTimeout: 300, connectionLimit: 2000)
        let s = Server(configuration: config, router: router)
        try s.start()
        server.withLock { $0 = s }
        scheduler.start()
        webhooks.start()
    }

    /// The bound port.
    public var port: UInt16 { server.withLock { $0?.port ?? 0 } }

    /// `http://host:port`.
    public var baseURL: String { "http://\(configuration.host):\(port)" }

    /// Answers every waiting request, stops the webhook sender, then the server.
    public func shutdown() {
        scheduler.stop()
        webhooks.stop()
        let s = server.withLock { s -> Server? in
            let current = s
            s = nil
            return current
        }
        s?.shutdown(timeout: 5)
    }

    // MARK: - routing

    struct SimRoute: Sendable {
        let method: String
        let segments: [String]
        let handler: @Sendable (Simulator, Request, [String: String]) -> HandlerResult
    }

    func dispatch(_ request: Request) -> HandlerResult {
        let parts = request.path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        var allowed: [String] = []
        for route in routes where route.segments.count == parts.count {
            var params: [String: String] = [:]
            var ok = true
            for (seg, part) in zip(route.segments, parts) {
                if seg.hasPrefix("{") {
                    params[String(seg.dropFirst().dropLast())] = part
                } else if seg.count != part.count || seg.lowercased() != part.lowercased() {
                    ok = false
                    break
                }
            }
            guard ok else { continue }
            let method = request.method == "HEAD" ? "GET" : request.method
            if route.method == method { return route.handler(self, request, params) }
            allowed.append(route.method)
        }
        if !allowed.isEmpty {
            var r = Response.text(405, "The requested resource does not support http method '\(request.method)'.")
            r.headers.add("Allow", allowed.joined(separator: ", "))
            return .respond(r)
        }
        if parts.first?.lowercased() == "sim" {
            return .respond(Reply.controlError(404, "no such control endpoint: \(request.method) \(request.path)"))
        }
        return .respond(Reply.notFound())
    }

    static func routeTable() -> [SimRoute] {
        var t: [SimRoute] = []
        func add(_ method: String, _ pattern: String,
                 _ h: @escaping @Sendable (Simulator, Request, [String: String]) -> HandlerResult) {
            t.append(SimRoute(method: method, segments: pattern.split(separator: "/").map(String.init), handler: h))
        }
        add("GET", "/") { s, _, _ in .respond(s.indexPage()) }

        // Identity
        add("GET", "/identity/connect/authorize") { s, r, _ in .respond(s.authorizePage(r)) }
        add("POST", "/identity/connect/authorize") { s, r, _ in .respond(s.authorizeLogin(r)) }
        add("POST", "/identity/connect/consent") { s, r, _ in .respond(s.authorizeConsent(r)) }
        add("POST", "/connect/token") { s, r, _ in .respond(s.token(r)) }
        add("POST", "/connect/revocation") { s, r, _ in .respond(s.revoke(r)) }
        add("GET", "/.well-known/openid-configuration") { s, _, _ in .respond(s.openIDConfiguration()) }
        add("GET", "/connections") { s, r, _ in .respond(s.listConnections(r)) }
        add("DELETE", "/connections/{id}") { s, r, p in .respond(s.deleteConnection(r, p["id"]!)) }

        // Accounting
        let api = "/api.xro/2.0"
        add("GET", api + "/Organisation") { s, r, p in s.accounting(r, p, .organisation, Simulator.getOrganisation) }
        add("GET", api + "/Contacts") { s, r, p in s.accounting(r, p, .contactsRead, Simulator.getContacts) }
        add("GET", api + "/Contacts/{id}") { s, r, p in s.accounting(r, p, .contactsRead, Simulator.getContact) }
        add("PUT", api + "/Contacts") { s, r, p in s.accounting(r, p, .contactsWrite, Simulator.putContacts) }
        add("POST", api + "/Contacts") { s, r, p in s.accounting(r, p, .contactsWrite, Simulator.postContacts) }
        add("POST", api + "/Contacts/{id}") { s, r, p in s.accounting(r, p, .contactsWrite, Simulator.postContact) }
        add("GET", api + "/Items") { s, r, p in s.accounting(r, p, .itemsRead, Simulator.getItems) }
        add("GET", api + "/Items/{id}") { s, r, p in s.accounting(r, p, .itemsRead, Simulator.getItem) }
        add("PUT", api + "/Items") { s, r, p in s.accounting(r, p, .itemsWrite, Simulator.putItems) }
        add("POST", api + "/Items") { s, r, p in s.accounting(r, p, .itemsWrite, Simulator.postItems) }
        add("POST", api + "/Items/{id}") { s, r, p in s.accounting(r, p, .itemsWrite, Simulator.postItem) }
        add("DELETE", api + "/Items/{id}") { s, r, p in s.accounting(r, p, .itemsWrite, Simulator.deleteItem) }
        add("GET", api + "/Invoices") { s, r, p in s.accounting(r, p, .invoicesRead, Simulator.getInvoices) }
        add("GET", api + "/Invoices/{id}") { s, r, p in s.accounting(r, p, .invoicesRead, Simulator.getInvoice) }
        add("PUT", api + "/Invoices") { s, r, p in s.accounting(r, p, .invoicesWrite, Simulator.putInvoices) }
        add("POST", api + "/Invoices") { s, r, p in s.accounting(r, p, .invoicesWrite, Simulator.postInvoices) }
        add("POST", api + "/Invoices/{id}") { s, r, p in s.accounting(r, p, .invoicesWrite, Simulator.postInvoice) }

        Simulator.addControlRoutes(&t)
        return t
    }

    func indexPage() -> Response {
        let body = """
        <!doctype html><html><head><meta charset="utf-8"><title>xero-sim</title></head><body style="font-family:sans-serif">
        <h1>xero-sim</h1><p>A local Xero for SortScape's gateway.</p>
        <ul><li>Authorize: <code>/identity/connect/authorize</code></li><li>Token: <code>/connect/token</code></li>
        <li>Connections: <code>/connections</code></li><li>Accounting: <code>/api.xro/2.0/Contacts</code>, <code>/Items</code>, <code>/Invoices</code></li>
        <li>Control: <code>/sim/state</code>, <code>/sim/calls</code>, <code>/sim/webhooks</code>, <code>/sim/faults</code>, <code>/sim/limits</code>, <code>/sim/clock</code></li></ul>
        </body></html>
        """
        return Reply.html(200, body)
    }
}
