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
///   `summarizeErrors`, `Idempotency-Key` (6 minutes; PUT, POST and PATCH), `If-Modified-Since`
///   (to the second, inclusive), `where`/`order`, `unitdp`, rate-limit headers on every tenanted
///   answer. JSON when the request's `Accept` includes `application/json` (the SDKs always send
///   it), otherwise Xero-style XML (`text/xml`), as Xero does; the identity endpoints answer JSON.
///   `MergedToContactID`, `Balances` and the default line amount types appear only on paged
///   (`page=`), `summaryOnly` or single-contact GETs, as Xero documents; `IDs=` does not bring
///   archived contacts back without `includeArchived=true`.
/// - Webhooks for CONTACT and INVOICE changes (API and control API alike) of tenants connected to
///   the app, batched, signed with the webhook key, retried with backoff until a 200.
///
/// Layout: `Identity/`, `Accounting/` (one file per resource, `CallContext` and its batch
/// writer, `Query/`), `Webhooks/`, `Control/` (the `/sim/` API), `HTTP/` (the one thrown error
/// `XeroError`, replies, XML) around this core: the world (`State.swift`), its clock and
/// scheduler, configuration and the demo seed. One `Router` serves every path.
///
/// The control API (JSON; errors `{"error": "...", "details": [...]}`)
/// - `POST /sim/reset {"seed": "empty"|"demo"}`; `GET /sim/state`.
/// - `POST /sim/organisations {"name", "tenantId"?, "baseCurrency"?, "countryCode"?, "timezone"?}` → `{"tenantId"}`;
///   `PATCH /sim/organisations/{t} {"timezone"?, "endOfYearLockDate"?: "YYYY-MM-DD" | null}` (its own
///   day dates documents sent without a `Date`; nothing is approved on or before the lock date);
///   `POST /sim/logins {"email", "tenantIds", "password"?, "firstName"?, "lastName"?, "userId"?}`.
/// - `POST /sim/organisations/{t}/contacts` `{"Contacts": [Xero contacts, may set ContactID,
///   ContactStatus, IsCustomer, IsSupplier, UpdatedDateUTC], "webhooks": true, "returnIds"?}` or
///   `{"generate": {"count", "prefix", "archivedEvery", "customerEvery", "supplierEvery"}}`:
///   all or nothing, Xero's rules enforced. `GET`/`PATCH …/contacts/{id}` (a user's edit:
///   UpdatedDateUTC moves, webhook); `POST …/contacts/{id}/archive|restore`;
///   `POST …/contacts/{id}/merge {"into": id}`; `POST …/contacts/{id}/flags {"IsCustomer", "IsSupplier"}`
///   (no UpdatedDateUTC change, no webhook).
/// - `POST /sim/organisations/{t}/items {"Items": [...]}`; `PATCH`/`DELETE …/items/{id or code}`
///   (no webhooks: Xero has none for items); `GET …/invoices` (all, with lines, four places);
///   `PATCH …/invoices/{id} {"Status", "Reference"}`.
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

    public init(configuration: SimulatorConfiguration = SimulatorConfiguration()) {
        self.configuration = configuration
        world = Locked(World(clientId: configuration.clientId, clientSecret: configuration.clientSecret,
                             redirectURIs: configuration.redirectURIs))
        webhooks = WebhookDispatcher(url: configuration.webhookURL, key: configuration.webhookKey,
                                     resourceOrigin: configuration.resourceOrigin)
        if configuration.seed == .demo { _ = seedDemo() }
    }

    /// Starts listening, the webhook sender and the timer thread.
    public func start() throws {
        let router = makeRouter()
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

    /// One router for everything: Xero's paths match case-insensitively (`/connections` and the
    /// SDK's `/Connections`); unknown paths get Xero's plain-text 404 (the control API's JSON one
    /// under `/sim/`), known paths with another method Xero's 405 text.
    func makeRouter() -> Router {
        var router = Router(options: .caseInsensitive)
        router.add("GET", "/", on: self) { s, _ in .respond(s.indexPage()) }
        addIdentityRoutes(&router)
        addAccountingRoutes(&router)
        addControlRoutes(&router)
        router.methodNotAllowed { request, _ in
            .text(405, "The requested resource does not support http method '\(request.method)'.")
        }
        router.fallback { request in
            if request.path.split(separator: "/").first?.lowercased() == "sim" {
                throw XeroError.control(404, "no such control endpoint: \(request.method) \(request.path)")
            }
            throw XeroError.notFound()
        }
        return router
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

extension Router {
    /// Registers a simulator handler without keeping the simulator alive (a request that
    /// arrives after it is gone gets a 503).
    mutating func add(_ method: String, _ pattern: String, on sim: Simulator,
                      _ handler: @escaping @Sendable (Simulator, Request) throws -> HandlerResult) {
        add(method, pattern) { [weak sim] request in
            guard let sim else { return .respond(.text(503, "shutting down")) }
            return try handler(sim, request)
        }
    }
}
