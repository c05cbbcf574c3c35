import Crypto
import Dispatch
import Foundation
import HTTPServer
import Store
import StrictJSON
import Sync
import Xero

typealias ConnectOutcome = XeroConnections.Outcome

extension Gateway {
    /// OAuth states are good for 10 minutes.
    static let oauthStateLifetime: Int64 = OAuthStateRecord.lifetime


    /// Screen messages, by the `m` query value of a redirect (no request text is ever shown).
    static let screenMessages: [String: (String, Bool)] = [
        "activated": ("The Xero integration is active. Connect to Xero to choose your organisation.", false),
        "connected": ("Connected to Xero. The first sync has started.", false),
        "reconnected": ("Reconnected to Xero.", false),
        "choose": ("Xero gave access to several organisations: choose the one for this account.", false),
        "denied": ("Xero access was not granted, so nothing changed.", true),
        "xero_error": ("Xero did not complete the connection. Try again.", true),
        "sync": ("A sync with Xero has been requested.", false),
        "linked": ("Linked. Both records now carry the values you accepted.", false),
        "dismissed": ("Imported as a new SortScape contact.", false),
        "replayed": ("The change from Xero is being applied again.", false),
    ]

    // MARK: - JSON API

    /// The caller of an admin-only account endpoint: account admins only (staff, operators → 403).
    func accountAdmin(_ request: Request) throws(HTTPError) -> (User, String) {
        let user = try authorize(request, .admin)
        guard user.role == .admin, let accountId = user.accountId else {
            throw HTTPError(403, code: "forbidden", message: "this needs an administrator of a SortScape account")
        }
        return (user, accountId)
    }

    func currentConnection(_ accountId: String) throws(HTTPError) -> AccountConnection {
        guard let c = try store({ () throws(StoreError) in try accounts.connection(accountId: accountId) }) else { throw HTTPError(404, code: "not_found", message: "the account no longer exists") }
        return c
    }

    func statusJSON(_ c: AccountConnection) -> JSON {
        let s = hooks.syncSummary(c.accountId)
        func str(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return .object([
            ("state", .string(c.state.rawValue)),
            ("tenantId", str(c.tenantId)),
            ("tenantName", str(c.tenantName)),
            ("connectedAt", str(c.connectedAt)),
            ("lastSync", str(s.lastSync)),
            ("lastSyncState", str(s.lastSyncState)),
            ("lastSyncErrors", .array(s.lastSyncErrors.map(JSON.string))),
            ("syncing", .bool(s.syncing)),
            ("nextSyncAt", str(s.nextSyncAt)),
            ("pendingMatches", .number(s.pendingMatches)),
            ("waitingArchive", .number(s.waitingArchive)),
            ("apiCallsLeftToday", s.apiCallsLeftToday.map { JSON.number($0) } ?? .null),
        ])
    }

    /// `GET /api/v1/xero/status` (admin).
    func xeroStatus(_ request: Request) throws -> Response {
        let (_, accountId) = try accountAdmin(request)
        return .json(200, statusJSON(try currentConnection(accountId)))
    }

    /// `POST /api/v1/xero/activate` (admin, R1): `inactive` → `active`; 200 with the status.
    func activateAPI(_ request: Request) throws -> Response {
        let (user, accountId) = try accountAdmin(request)
        return .json(200, statusJSON(try activate(accountId, by: user)))
    }

    func activate(_ accountId: String, by user: User) throws(HTTPError) -> AccountConnection {
        let c = try store { () throws(StoreError) in try accounts.activate(accountId: accountId) }
        logger.info("xero integration activated", metadata: ["accountId": "\(accountId)", "userId": "\(user.id)"])
        return c
    }

    /// `POST /api/v1/xero/organisation {"tenantId"}` (admin, R2): picks one of the organisations
    /// the consent offered.
    func chooseAPI(_ request: Request) throws -> HandlerResult {
        let (_, accountId) = try accountAdmin(request)
        let body: JSON
        do { body = try JSON.parse(request.body) } catch {
            throw HTTPError(400, code: "invalid_json", message: "the body is not JSON: \(error)")
        }
        guard case .object(let members) = body, let tenantId = body["tenantId"]?.stringValue,
              members.allSatisfy({ $0.key == "tenantId" }), !tenantId.isEmpty, tenantId.utf8.count <= 100 else {
            throw HTTPError(422, code: "invalid_request", message: "send {\"tenantId\": \"<an offered organisation's id>\"}")
        }
        let outcome = try choose(accountId: accountId, tenantId: tenantId)
        switch outcome {
        case .refused(let message): throw HTTPError(409, code: "connection_locked", message: message)
        default: return .respond(.json(200, statusJSON(try currentConnection(accountId))))
        }
    }

    /// Connects the account to one of its offered organisations; the others' connections are
    /// removed at Xero on a worker thread.
    func choose(accountId: String, tenantId: String) throws(HTTPError) -> ConnectOutcome {
        do {
            let (outcome, strays) = try xeroConnections.choose(accountId: accountId, tenantId: tenantId)
            if !strays.isEmpty {
                let connections = xeroConnections
                interactiveWorkers.submit { connections.removeStrays(accountId: accountId, tenants: strays) }
            }
            return outcome
        } catch {
            switch error.code {
            case XeroConnections.ChoiceError.notChoosing.code: throw HTTPError(409, code: error.code, message: error.message)
            case XeroConnections.ChoiceError.notOffered.code: throw HTTPError(422, code: error.code, message: error.message)
            default: throw .storeUnavailable
            }
        }
    }

    // MARK: - screens

    static func stateLabel(_ s: ConnectionState) -> String {
        switch s {
        case .inactive: return "Not activated"
        case .active: return "Active, not connected to Xero"
        case .choosing: return "Waiting for you to choose an organisation"
        case .connected: return "Connected"
        case .needsReconnect: return "Needs reconnecting"
        }
    }

    /// `POST /admin/xero/activate` (admin session, CSRF).
    func activateFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        _ = try activate(s.user.accountId!, by: s.user)
        return Gateway.seeOther("/admin/xero?m=activated")
    }

    /// `POST /admin/xero/organisation` (admin session, CSRF; form `tenantId`).
    func chooseFromScreen(_ request: Request) throws -> HandlerResult {
        let s = try adminSession(request)
        let form = try checkedForm(request, s)
        guard let tenantId = form["tenantId"], !tenantId.isEmpty, tenantId.utf8.count <= 100 else {
            return .respond(page(400, title: "Choose an organisation", message: "Pick one of the organisations.", session: s))
        }
        let outcome: ConnectOutcome
        do throws(HTTPError) {
            outcome = try choose(accountId: s.user.accountId!, tenantId: tenantId)
        } catch {
            guard error.status < 500 else { throw error }
            return .respond(page(error.status, title: "Not connected", message: error.message, session: s))
        }
        switch outcome {
        case .refused(let message): return .respond(page(409, title: "Not connected", message: message, session: s))
        default: return .respond(Gateway.seeOther("/admin/xero?m=connected"))
        }
    }

    /// `POST /admin/xero/sync` (admin session, CSRF): asks the sync engine for a manual run.
    func syncFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        let c = try currentConnection(s.user.accountId!)
        guard c.state == .connected else {
            return page(409, title: "Not connected", message: "Connect to Xero before syncing.", session: s)
        }
        requestSync(accountId: c.accountId, trigger: .manual)
        return Gateway.seeOther("/admin/xero?m=sync")
    }

    // MARK: - OAuth (R2, R3)

    /// `GET /oauth/xero/connect` (admin session): 302 to Xero's consent with a fresh state bound
    /// to this session.
    func oauthConnect(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        let accountId = s.user.accountId!
        let c = try currentConnection(accountId)
        guard [.active, .needsReconnect, .connected, .choosing].contains(c.state) else {
            throw PageError(response: page(403, title: "Activate first",
                                           message: "Activate the Xero integration before connecting.", session: s))
        }
        let state = Base64.encodeURL(Crypto.randomBytes(32))
        try sessions.createOAuthState(stateHash: Crypto.sha256(Array(state.utf8)), record: OAuthStateRecord(
            sessionHash: s.hash, accountId: accountId, expiresAt: clock.nowMilliseconds() + Gateway.oauthStateLifetime))
        return Response(status: 302, headers: HTTPHeaders([("Location", identity.authorizeURL(state: state)),
                                                           ("Cache-Control", "no-store")]))
    }

    /// `GET /oauth/xero/callback?code&state`: the state is spent whatever follows; a forged,
    /// spent, expired or other session's state is a 400 page and changes nothing. Then the code
    /// is exchanged and this consent's organisations decide: one connects, several → chooser.
    func oauthCallback(_ request: Request) throws -> HandlerResult {
        func bad(_ message: String) -> PageError {
            PageError(response: page(400, title: "Connection not completed", message: message))
        }
        guard let state = request.queryValue("state"), !state.isEmpty, state.utf8.count <= 200 else {
            throw bad("The request from Xero had no state. Start again from the Xero screen.")
        }
        guard let record = try sessions.spendOAuthState(stateHash: Crypto.sha256(Array(state.utf8))) else {
            logger.warning("oauth callback with an unknown or spent state")
            throw bad("This connection attempt is not valid or was already used. Start again from the Xero screen.")
        }
        guard record.expiresAt > clock.nowMilliseconds() else {
            throw bad("This connection attempt expired. Start again from the Xero screen.")
        }
        guard let session = try browserSession(request),
              Crypto.constantTimeEquals(session.hash, record.sessionHash),
              session.user.role == .admin, session.user.accountId == record.accountId else {
            logger.warning("oauth callback from another session", metadata: ["accountId": "\(record.accountId)"])
            throw bad("This connection attempt belongs to another sign-in. Start again from the Xero screen.")
        }
        if let error = request.queryValue("error") {
            logger.info("xero consent not given", metadata: ["accountId": "\(record.accountId)", "error": "\(error.prefix(60))"])
            return .respond(Gateway.seeOther(error == "access_denied" ? "/admin/xero?m=denied" : "/admin/xero?m=xero_error"))
        }
        guard let code = request.queryValue("code"), !code.isEmpty, code.utf8.count <= 2048 else {
            throw bad("The request from Xero had no authorization code. Start again from the Xero screen.")
        }
        let accountId = record.accountId
        // Xero calls run on a worker thread, never on the server's.
        return .deferred { [self] answer in
            interactiveWorkers.submit { [self] in
                answer.respond(completeConsent(accountId: accountId, code: code, session: session))
            }
        }
    }

    /// The page a consent ends on (R2, R3), once `XeroConnections` has decided.
    func completeConsent(accountId: String, code: String, session: BrowserSession) -> Response {
        switch xeroConnections.completeConsent(accountId: accountId, code: code) {
        case .connected(_, let first):
            return Gateway.seeOther(first ? "/admin/xero?m=connected" : "/admin/xero?m=reconnected")
        case .choosing:
            return Gateway.seeOther("/admin/xero?m=choose")
        case .refused(let message):
            return page(409, title: "Not connected", message: message, session: session)
        case .xeroError:
            return Gateway.seeOther("/admin/xero?m=xero_error")
        case .noOrganisation:
            return page(400, title: "No organisation", message: "Xero gave access to no organisation. Connect again and tick one.",
                        session: session)
        case .storeUnavailable:
            return page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: session)
        }
    }
}
