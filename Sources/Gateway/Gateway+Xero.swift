import Crypto
import Dispatch
import Foundation
import HTTPServer
import Store
import StrictJSON
import Sync
import Xero

/// What a consent (or a choice among its organisations) came to.
enum ConnectOutcome {
    case connected(tenantName: String, first: Bool)
    case choosing
    /// Nothing changed; the message says why (R3's lock, or another account's organisation).
    case refused(String)
}

extension Gateway {
    /// OAuth states are good for 10 minutes.
    static let oauthStateLifetime: Int64 = OAuthStateRecord.lifetime

    static func lockedMessage(_ tenantName: String?) -> String {
        "This SortScape account is connected to \(tenantName ?? "another Xero organisation"). To connect a different "
            + "Xero organisation, contact support to reset the connection."
    }
    static let takenMessage = "That Xero organisation is already connected to another SortScape account."

    /// Screen messages, by the `m` query value of a redirect (no request text is ever shown).
    static let screenMessages: [String: (String, Bool)] = [
        "activated": ("The Xero integration is active. Connect to Xero to choose your organisation.", false),
        "connected": ("Connected to Xero. The first sync has started.", false),
        "reconnected": ("Reconnected to Xero.", false),
        "choose": ("Xero gave access to several organisations: choose the one for this account.", false),
        "denied": ("Xero access was not granted, so nothing changed.", true),
        "xero_error": ("Xero did not complete the connection. Try again.", true),
        "sync": ("A sync with Xero has been requested.", false),
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
        let c: AccountConnection?
        do { c = try accounts.connection(accountId: accountId) } catch { throw .storeUnavailable }
        guard let c else { throw HTTPError(404, code: "not_found", message: "the account no longer exists") }
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
        do {
            let c = try accounts.activate(accountId: accountId)
            logger.info("xero integration activated", metadata: ["accountId": "\(accountId)", "userId": "\(user.id)"])
            return c
        } catch {
            throw .storeUnavailable
        }
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

    /// Connects the account to one of its offered organisations.
    func choose(accountId: String, tenantId: String) throws(HTTPError) -> ConnectOutcome {
        let c = try currentConnection(accountId)
        guard c.state == .choosing else {
            throw HTTPError(409, code: "not_choosing", message: "there is no organisation to choose: connect to Xero first")
        }
        let offered: [OfferedTenant]
        do { offered = try accounts.offeredTenants(accountId: accountId) } catch { throw .storeUnavailable }
        guard let pick = offered.first(where: { $0.tenantId == tenantId.lowercased() }) else {
            throw HTTPError(422, code: "tenant_not_offered", message: "that organisation is not one Xero offered for this account")
        }
        let outcome = connectTenant(accountId: accountId, tenantId: pick.tenantId, tenantName: pick.tenantName, previous: c)
        if case .connected = outcome {
            // The organisations not chosen: their connections would linger at Xero.
            let others = Set(offered.map(\.tenantId)).subtracting([pick.tenantId])
            if !others.isEmpty {
                interactiveWorkers.submit { [self] in disconnectStrays(accountId: accountId, tenants: others, listed: nil) }
            }
        }
        return outcome
    }

    // MARK: - screens

    /// `GET /admin/xero`: the connection and its sync figures; admins get the buttons, staff a
    /// read-only view.
    func xeroScreen(_ request: Request) throws -> Response {
        guard let session = try browserSession(request) else { return Gateway.seeOther("/admin") }
        guard let accountId = session.user.accountId else {
            return page(403, title: "Not allowed", message: "Operators have no account screens.", session: session)
        }
        let c = try currentConnection(accountId)
        let s = hooks.syncSummary(accountId)
        let isAdmin = session.user.role == .admin
        var context: [String: Any] = [
            "title": "Xero", "signedIn": true, "csrf": session.csrf, "role": session.user.role.rawValue,
            "state": c.state.rawValue, "stateLabel": Gateway.stateLabel(c.state),
            "lastSync": s.lastSync.map { $0 + (s.lastSyncState == "failed" ? " (failed: " + s.lastSyncErrors.joined(separator: " ") + ")" : "") } ?? "never",
            "nextSync": s.nextSyncAt ?? "not scheduled",
            "waitingArchive": String(s.waitingArchive),
            "pendingMatches": String(s.pendingMatches), "hasPendingMatches": s.pendingMatches > 0,
            "apiCallsLeft": s.apiCallsLeftToday.map(String.init) ?? "unknown",
            "canAct": isAdmin,
            "canActivate": c.state == .inactive,
            "canConnect": [.active, .needsReconnect, .connected, .choosing].contains(c.state),
            "canSync": c.state == .connected,
            "choosing": c.state == .choosing,
        ]
        if let n = c.tenantName { context["tenantName"] = n }
        if let at = c.connectedAt { context["connectedAt"] = at }
        if c.state == .choosing {
            let offered = (try? accounts.offeredTenants(accountId: accountId)) ?? []
            context["offered"] = offered.map { ["tenantId": $0.tenantId, "tenantName": $0.tenantName] }
        }
        if let m = request.queryValue("m"), let (text, isError) = Gateway.screenMessages[m] {
            context["message"] = text
            context["isError"] = isError
        } else if c.state == .needsReconnect {
            context["message"] = "Xero no longer accepts this connection. Connect to Xero again to resume syncing."
            context["isError"] = true
        }
        return render(200, "xero", context)
    }

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
        do {
            try sessions.createOAuthState(stateHash: Crypto.sha256(Array(state.utf8)), record: OAuthStateRecord(
                sessionHash: s.hash, accountId: accountId, expiresAt: clock.nowMilliseconds() + Gateway.oauthStateLifetime))
        } catch {
            throw HTTPError.storeUnavailable
        }
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
        let record: OAuthStateRecord?
        do { record = try sessions.spendOAuthState(stateHash: Crypto.sha256(Array(state.utf8))) } catch {
            throw HTTPError.storeUnavailable
        }
        guard let record else {
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

    func completeConsent(accountId: String, code: String, session: BrowserSession) -> Response {
        let tokens: XeroTokenResponse
        let offered: [XeroConnection]
        do {
            tokens = try identity.exchange(code: code)
            offered = try identity.connections(accessToken: tokens.accessToken,
                                               authEventId: XeroIdentityClient.authEventId(fromAccessToken: tokens.accessToken))
        } catch {
            logger.error("xero consent could not be completed", metadata: ["accountId": "\(accountId)", "error": "\(error.code)"])
            return Gateway.seeOther("/admin/xero?m=xero_error")
        }
        var seen = Set<String>()
        let orgs = offered.filter { seen.insert($0.tenantId.lowercased()).inserted }
        guard let previous = try? accounts.connection(accountId: accountId) else {
            return page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: session)
        }
        if orgs.isEmpty {
            return page(400, title: "No organisation", message: "Xero gave access to no organisation. Connect again and tick one.",
                        session: session)
        }
        let outcome: ConnectOutcome
        if let locked = previous.tenantId {
            if let same = orgs.first(where: { $0.tenantId.lowercased() == locked }) {
                outcome = storeAndConnect(accountId: accountId, tokens: tokens, tenantId: locked,
                                          tenantName: same.tenantName ?? previous.tenantName ?? "", previous: previous)
            } else {
                outcome = .refused(Gateway.lockedMessage(previous.tenantName))
            }
            disconnectStrays(accountId: accountId, tenants: Set(orgs.map { $0.tenantId.lowercased() }).subtracting([locked]),
                             listed: (orgs, tokens.accessToken))
        } else if orgs.count == 1 {
            outcome = storeAndConnect(accountId: accountId, tokens: tokens, tenantId: orgs[0].tenantId.lowercased(),
                                      tenantName: orgs[0].tenantName ?? "", previous: previous)
        } else {
            do {
                try xeroTokens.replace(accountId: accountId, tokens)
                try accounts.setChoosing(accountId: accountId, tenants: orgs.map {
                    OfferedTenant(tenantId: $0.tenantId, tenantName: $0.tenantName ?? $0.tenantId)
                })
                outcome = .choosing
            } catch {
                logger.error("choosing not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
                return page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: session)
            }
        }
        switch outcome {
        case .connected(_, let first):
            return Gateway.seeOther(first ? "/admin/xero?m=connected" : "/admin/xero?m=reconnected")
        case .choosing:
            return Gateway.seeOther("/admin/xero?m=choose")
        case .refused(let message):
            return page(409, title: "Not connected", message: message, session: session)
        }
    }

    /// Stores the consent's tokens and connects; the tokens are kept only if the connection is.
    func storeAndConnect(accountId: String, tokens: XeroTokenResponse, tenantId: String, tenantName: String,
                         previous: AccountConnection) -> ConnectOutcome {
        if let holder = try? accounts.connection(tenantId: tenantId), holder.accountId != accountId {
            return .refused(Gateway.takenMessage)
        }
        let oldTokens = try? xeroTokens.tokens(accountId: accountId)
        do {
            try xeroTokens.replace(accountId: accountId, tokens)
        } catch {
            logger.error("tokens not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            return .refused("The connection could not be stored; try again.")
        }
        return connectTenant(accountId: accountId, tenantId: tenantId, tenantName: tenantName, previous: previous,
                             restore: { [self] in
                                 if let oldTokens {
                                     try? xeroTokens.replace(accountId: accountId, XeroTokenResponse(
                                         idToken: nil, accessToken: oldTokens.accessToken,
                                         expiresIn: Int(max(0, (oldTokens.accessExpiresAt - clock.nowMilliseconds()) / 1000)),
                                         refreshToken: oldTokens.refreshToken, scope: ""))
                                 } else {
                                     try? xeroTokens.delete(accountId: accountId)
                                 }
                             })
    }

    /// Locks the account to the tenant (R3) and starts the first sync (R2).
    func connectTenant(accountId: String, tenantId: String, tenantName: String, previous: AccountConnection,
                       restore: () -> Void = {}) -> ConnectOutcome {
        do {
            try accounts.connect(accountId: accountId, tenantId: tenantId, tenantName: tenantName)
        } catch let e as StoreError where e.code == .conflict || e.code == .locked {
            restore()
            return .refused(e.code == .locked ? Gateway.lockedMessage(previous.tenantName) : Gateway.takenMessage)
        } catch {
            restore()
            logger.error("connection not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            return .refused("The connection could not be stored; try again.")
        }
        let first = previous.connectedAt == nil
        logger.info("connected to xero", metadata: ["accountId": "\(accountId)", "tenantId": "\(tenantId)", "first": "\(first)"])
        requestSync(accountId: accountId, trigger: first ? .initial : .manual)
        return .connected(tenantName: tenantName, first: first)
    }

    /// Removes this consent's connections to `tenants` at Xero, so no stray connection lingers
    /// (best effort; logged). Organisations another SortScape account uses are left alone (the
    /// same Xero user may have made that connection). Not a revocation: Xero's revocation ends
    /// every connection of that Xero user, the locked organisation's included (FACTS §2.1).
    func disconnectStrays(accountId: String, tenants: Set<String>, listed: ([XeroConnection], String)?) {
        guard !tenants.isEmpty else { return }
        var list: [XeroConnection], token: String
        if let listed {
            (list, token) = listed
        } else {
            guard let t = try? xeroTokens.tokens(accountId: accountId),
                  let l = try? identity.connections(accessToken: t.accessToken,
                                                    authEventId: XeroIdentityClient.authEventId(fromAccessToken: t.accessToken))
            else { logger.warning("stray xero connections not listed", metadata: ["accountId": "\(accountId)"]); return }
            (list, token) = (l, t.accessToken)
        }
        for c in list where tenants.contains(c.tenantId.lowercased()) {
            if let holder = try? accounts.connection(tenantId: c.tenantId), holder.accountId != accountId { continue }
            do {
                try identity.disconnect(connectionId: c.id, accessToken: token)
                logger.info("stray xero connection removed", metadata: ["accountId": "\(accountId)", "tenantId": "\(c.tenantId)"])
            } catch {
                logger.warning("stray xero connection not removed",
                               metadata: ["accountId": "\(accountId)", "tenantId": "\(c.tenantId)", "error": "\(error.code)"])
            }
        }
    }
}
