import Crypto
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    static let accessTokenLifetime: Int64 = 1800 * 1000
    static let refreshGrace: Int64 = 30 * 60 * 1000
    static let refreshIdleLifetime: Int64 = 60 * 86_400 * 1000
    static let codeLifetime: Int64 = 5 * 60 * 1000
    static let knownScopePrefixes = ["accounting.", "payroll.", "files", "assets", "projects", "bankfeeds", "finance.",
                                     "paymentservices", "marketplace.", "app.connections"]
    static let identityScopes: Set<String> = ["openid", "profile", "email", "offline_access"]

    // MARK: - authorize (browser)

    func authorizeParameters(_ values: [(name: String, value: String)]) -> Outcome<AuthorizeRequest, Response> {
        func v(_ n: String) -> String? { values.first { $0.name == n }?.value }
        let (clientId, appRedirects) = world.withLock { ($0.clientId, $0.redirectURIs) }
        guard let cid = v("client_id"), cid == clientId else {
            return .failure(errorPage(400, "unauthorized_client", "Unknown client or client not enabled (client_id)."))
        }
        guard let redirect = v("redirect_uri"), isAcceptableRedirect(redirect, registered: appRedirects) else {
            return .failure(errorPage(400, "invalid_request", "Invalid redirect_uri: it must be registered for this app."))
        }
        func back(_ error: String) -> Response {
            var q = "error=\(FormCoding.encode(error))"
            if let s = v("state") { q += "&state=\(FormCoding.encode(s))" }
            return Reply.redirect(redirect + (redirect.contains("?") ? "&" : "?") + q)
        }
        guard v("response_type") == "code" else { return .failure(back("unsupported_response_type")) }
        let scope = (v("scope") ?? "").split(separator: " ").map(String.init).filter { !$0.isEmpty }
        guard !scope.isEmpty else { return .failure(back("invalid_scope")) }
        for s in scope where !Simulator.identityScopes.contains(s) && !Simulator.knownScopePrefixes.contains(where: s.hasPrefix) {
            return .failure(back("invalid_scope"))
        }
        if let m = v("code_challenge_method"), m != "S256" && m != "plain" { return .failure(back("invalid_request")) }
        return .success(AuthorizeRequest(clientId: cid, redirectURI: redirect, scope: scope, state: v("state"),
                                          codeChallenge: v("code_challenge"), codeChallengeMethod: v("code_challenge_method")))
    }

    func isAcceptableRedirect(_ uri: String, registered: [String]) -> Bool {
        if !registered.isEmpty { return registered.contains(uri) }
        return (uri.hasPrefix("http://") || uri.hasPrefix("https://")) && !uri.contains("#") && uri.count < 2048
    }

    func authorizePage(_ r: Request) -> Response {
        let started = monotonicNow()
        let response: Response
        switch authorizeParameters(r.query) {
        case .failure(let page): response = page
        case .success(let req): response = loginPage(req, message: nil)
        }
        logSimple(r, response, started: started)
        return response
    }

    func hiddenFields(_ req: AuthorizeRequest) -> String {
        var pairs: [(String, String)] = [("response_type", "code"), ("client_id", req.clientId),
                                         ("redirect_uri", req.redirectURI), ("scope", req.scope.joined(separator: " "))]
        if let s = req.state { pairs.append(("state", s)) }
        if let c = req.codeChallenge { pairs.append(("code_challenge", c)) }
        if let m = req.codeChallengeMethod { pairs.append(("code_challenge_method", m)) }
        return pairs.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\(HTML.escape($0.1))\">" }.joined(separator: "\n")
    }

    func loginPage(_ req: AuthorizeRequest, message: String?) -> Response {
        let emails = world.withLock { w in w.loginOrder.compactMap { w.logins[$0]?.email } }
        let hint = emails.isEmpty ? "No logins exist yet: create one with <code>POST /sim/logins</code>."
            : "Simulator logins: " + emails.map { "<code>\(HTML.escape($0))</code>" }.joined(separator: ", ")
            + ". Any password is accepted unless one was set."
        let body = """
        <!doctype html><html><head><meta charset="utf-8"><title>Log in to Xero (simulator)</title></head>
        <body style="font-family:sans-serif;max-width:28em;margin:3em auto">
        <h1>Log in to Xero</h1><p style="color:#666">xero-sim — a local stand-in for login.xero.com</p>
        \(message.map { "<p style=\"color:#b00\" id=\"error\">\(HTML.escape($0))</p>" } ?? "")
        <form method="post" action="/identity/connect/authorize">
        \(hiddenFields(req))
        <p><label>Email address<br><input type="email" name="email" value="\(HTML.escape(emails.first ?? ""))" required></label></p>
        <p><label>Password<br><input type="password" name="password"></label></p>
        <p><button type="submit">Log in</button></p>
        </form><p style="font-size:small;color:#666">\(hint)</p></body></html>
        """
        return Reply.html(200, body)
    }

    func authorizeLogin(_ r: Request) -> Response {
        let started = monotonicNow()
        let form = FormCoding.parse(r.body)
        let response: Response
        switch authorizeParameters(form) {
        case .failure(let page):
            response = page
        case .success(let req):
            let email = (FormCoding.value(form, "email") ?? "").trimmingSpaces.lowercased()
            let password = FormCoding.value(form, "password") ?? ""
            let now = clock.now()
            let result: (session: String, login: Login, orgs: [(String, String)])? = world.withLock { w in
                guard let login = w.logins.values.first(where: { $0.email.lowercased() == email }),
                      login.password == nil || login.password == password else { return nil }
                let session = Ids.hex(16)
                w.loginSessions = w.loginSessions.filter { $0.value.expires > now }
                w.loginSessions[session] = LoginSession(loginId: login.id, request: req, expires: now + 30 * 60 * 1000)
                let orgs = login.tenantIds.compactMap { t in w.orgs[t].map { (t, $0.name) } }
                return (session, login, orgs)
            }
            if let result {
                response = consentPage(req, session: result.session, login: result.login, orgs: result.orgs)
            } else {
                response = loginPage(req, message: "Your email or password is incorrect.")
            }
        }
        logSimple(r, response, started: started)
        return response
    }

    func consentPage(_ req: AuthorizeRequest, session: String, login: Login, orgs: [(String, String)]) -> Response {
        let boxes = orgs.enumerated().map { n, org in
            "<p><label><input type=\"checkbox\" name=\"tenantId\" value=\"\(org.0)\"\(n == 0 ? " checked" : "")> \(HTML.escape(org.1))</label></p>"
        }.joined(separator: "\n")
        let scopes = req.scope.map { "<li><code>\(HTML.escape($0))</code></li>" }.joined()
        let body = """
        <!doctype html><html><head><meta charset="utf-8"><title>Allow access (simulator)</title></head>
        <body style="font-family:sans-serif;max-width:32em;margin:3em auto">
        <h1>\(HTML.escape(configuration.appName)) wants to access your Xero data</h1>
        <p>Logged in as \(HTML.escape(login.firstName)) \(HTML.escape(login.lastName)) (\(HTML.escape(login.email))).</p>
        <p>Permissions requested:</p><ul>\(scopes)</ul>
        <form method="post" action="/identity/connect/consent">
        <input type="hidden" name="session" value="\(session)">
        <p>Organisations to connect:</p>
        \(orgs.isEmpty ? "<p><em>This login has no organisations.</em></p>" : boxes)
        <p><button type="submit" name="decision" value="allow">Allow access</button>
        <button type="submit" name="decision" value="deny">Cancel</button></p>
        </form></body></html>
        """
        return Reply.html(200, body)
    }

    func authorizeConsent(_ r: Request) -> Response {
        let started = monotonicNow()
        let form = FormCoding.parse(r.body)
        let now = clock.now()
        let session = FormCoding.value(form, "session") ?? ""
        let chosen = form.filter { $0.name == "tenantId" }.map(\.value)
        let pending = world.withLock { w -> LoginSession? in
            guard let s = w.loginSessions.removeValue(forKey: session), s.expires > now else { return nil }
            return s
        }
        let response: Response
        if let pending {
            if FormCoding.value(form, "decision") == "deny" {
                var q = "error=access_denied"
                if let s = pending.request.state { q += "&state=\(FormCoding.encode(s))" }
                response = Reply.redirect(pending.request.redirectURI + (pending.request.redirectURI.contains("?") ? "&" : "?") + q)
            } else {
                switch consent(loginId: pending.loginId, tenantIds: chosen, request: pending.request) {
                case .success(let location): response = Reply.redirect(location)
                case .failure(let message): response = errorPage(400, "invalid_request", message)
                }
            }
        } else {
            response = errorPage(400, "invalid_request", "The login session has expired. Start again from the app.")
        }
        logSimple(r, response, started: started)
        return response
    }

    /// Grants the app access to `tenantIds` for the login (creating or refreshing connections)
    /// and returns the redirect with a fresh code.
    func consent(loginId: String, tenantIds: [String], request req: AuthorizeRequest) -> Outcome<String, String> {
        let now = clock.now()
        return world.withLock { w -> Outcome<String, String> in
            guard let login = w.logins[loginId] else { return .failure("Unknown login.") }
            let tenants = tenantIds.compactMap { Ids.normalize($0) }
            guard !tenants.isEmpty else { return .failure("Choose at least one organisation to connect.") }
            for t in tenants where !login.tenantIds.contains(t) {
                return .failure("The login \(login.email) has no access to organisation \(t).")
            }
            let grant = Grant(id: Ids.uuid(), loginId: login.id, clientId: req.clientId, scope: req.scope,
                              authEventId: Ids.uuid(), authTime: now, sessionId: Ids.hex(16))
            w.grants[grant.id] = grant
            for t in tenants {
                if let existing = w.connection(loginId: login.id, clientId: req.clientId, tenantId: t) {
                    w.connections[existing.id]?.authEventId = grant.authEventId
                    w.connections[existing.id]?.updated = now
                } else {
                    let c = SimConnection(id: Ids.uuid(), loginId: login.id, clientId: req.clientId, tenantId: t,
                                          authEventId: grant.authEventId, created: now, updated: now)
                    w.connections[c.id] = c
                    w.connectionOrder.append(c.id)
                }
            }
            let code = Ids.hex(32)
            w.codes = w.codes.filter { $0.value.expires > now }
            w.codes[code] = AuthCode(grantId: grant.id, clientId: req.clientId, redirectURI: req.redirectURI,
                                     codeChallenge: req.codeChallenge, codeChallengeMethod: req.codeChallengeMethod,
                                     expires: now + Simulator.codeLifetime)
            var q = "code=\(code)&scope=\(FormCoding.encode(req.scope.joined(separator: " ")))"
            if let s = req.state { q += "&state=\(FormCoding.encode(s))" }
            q += "&session_state=\(grant.sessionId)"
            return .success(req.redirectURI + (req.redirectURI.contains("?") ? "&" : "?") + q)
        }
    }

    func errorPage(_ status: Int, _ code: String, _ message: String) -> Response {
        Reply.html(status, """
        <!doctype html><html><head><meta charset="utf-8"><title>Error</title></head>
        <body style="font-family:sans-serif;max-width:32em;margin:3em auto"><h1>Sorry, something went wrong</h1>
        <p id="error" data-error="\(HTML.escape(code))">\(HTML.escape(message))</p></body></html>
        """)
    }

    // MARK: - token endpoint

    func tokenError(_ error: String, status: Int = 400) -> Response {
        var r = Reply.json(status, .object([("error", .string(error))]))
        r.headers.add("Cache-Control", "no-store")
        return r
    }

    /// Client credentials from `Authorization: Basic` or the form.
    func clientCredentials(_ r: Request, _ form: [(name: String, value: String)]) -> (id: String, secret: String?)? {
        if let auth = r.headers["Authorization"], auth.lowercased().hasPrefix("basic ") {
            guard let raw = Base64.decode(String(auth.dropFirst(6)).trimmingSpaces) else { return nil }
            let text = String(decoding: raw, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { return nil }
            return (FormCoding.percentDecode(Array(text[..<colon].utf8)),
                    FormCoding.percentDecode(Array(text[text.index(after: colon)...].utf8)))
        }
        guard let id = FormCoding.value(form, "client_id") else { return nil }
        return (id, FormCoding.value(form, "client_secret"))
    }

    func token(_ r: Request) -> Response {
        let started = monotonicNow()
        let response = tokenResponse(r)
        logSimple(r, response, started: started)
        return response
    }

    func tokenResponse(_ r: Request) -> Response {
        let form = FormCoding.parse(r.body)
        let now = clock.now()
        guard let client = clientCredentials(r, form) else { return tokenError("invalid_client") }
        return world.withLock { w -> Response in
            guard client.id == w.clientId else { return tokenError("invalid_client") }
            let secretOK = client.secret == w.clientSecret
            if client.secret != nil && !secretOK { return tokenError("invalid_client") }
            switch FormCoding.value(form, "grant_type") {
            case "authorization_code":
                guard let code = FormCoding.value(form, "code"), let ac = w.codes.removeValue(forKey: code) else {
                    return tokenError("invalid_grant")
                }
                guard ac.expires > now, ac.clientId == client.id,
                      FormCoding.value(form, "redirect_uri") == ac.redirectURI,
                      let grant = w.grants[ac.grantId], !grant.revoked else {
                    return tokenError("invalid_grant")
                }
                if let challenge = ac.codeChallenge {
                    guard let verifier = FormCoding.value(form, "code_verifier") else { return tokenError("invalid_grant") }
                    let computed = ac.codeChallengeMethod == "plain" ? verifier : Base64.encodeURL(Crypto.sha256(Array(verifier.utf8)))
                    guard computed == challenge else { return tokenError("invalid_grant") }
                } else if !secretOK {
                    return tokenError("invalid_client")
                }
                if !secretOK { w.grants[grant.id]?.publicClient = true }
                return issueTokens(w, grant, now: now)
            case "refresh_token":
                guard let rt = FormCoding.value(form, "refresh_token"), let rec = w.refreshTokens[rt],
                      let grant = w.grants[rec.grantId], !grant.revoked, grant.clientId == client.id else {
                    return tokenError("invalid_grant")
                }
                if !secretOK && !grant.publicClient { return tokenError("invalid_client") }
                if let superseded = rec.supersededAt, now - superseded > Simulator.refreshGrace {
                    return tokenError("invalid_grant")
                }
                if now - rec.lastUsed > Simulator.refreshIdleLifetime { return tokenError("invalid_grant") }
                // Rotate: every live token of this grant is now superseded (30-minute grace).
                for (key, var other) in w.refreshTokens where other.grantId == grant.id && other.supersededAt == nil {
                    other.supersededAt = now
                    w.refreshTokens[key] = other
                }
                return issueTokens(w, grant, now: now)
            case nil:
                return tokenError("invalid_request")
            default:
                return tokenError("unsupported_grant_type")
            }
        }
    }

    func issueTokens(_ w: World, _ grant: Grant, now: Int64) -> Response {
        guard let login = w.logins[grant.loginId] else { return tokenError("invalid_grant") }
        let seconds = now / 1000
        let header = #"{"alg":"RS256","kid":"1CAF8E66772D6DC028D6726FD0261581570EFC19","typ":"JWT","x5t":"HK-OZnctbcAo1nJv0CYVgVcO_Bk"}"#
        let access = JSON.object([
            ("nbf", .number(seconds)), ("exp", .number(seconds + 1800)), ("iss", .string("https://identity.xero.com")),
            ("aud", .string("https://identity.xero.com/resources")), ("client_id", .string(grant.clientId)),
            ("sub", .string(login.id.replacingOccurrences(of: "-", with: ""))), ("auth_time", .number(grant.authTime / 1000)),
            ("xero_userid", .string(login.id)), ("global_session_id", .string(grant.sessionId)),
            ("sid", .string(grant.sessionId)), ("jti", .string(Ids.hex(16).uppercased())),
            ("authentication_event_id", .string(grant.authEventId)),
            ("scope", .array(grant.scope.map { .string($0) })), ("amr", .array([.string("pwd")])),
        ])
        let accessToken = jwt(header, access)
        w.accessTokens[accessToken] = AccessRecord(grantId: grant.id, expires: now + Simulator.accessTokenLifetime)
        var idToken: String?
        if grant.scope.contains("openid") {
            var claims: [(key: String, value: JSON)] = [
                ("nbf", .number(seconds)), ("exp", .number(seconds + 300)), ("iss", .string("https://identity.xero.com")),
                ("aud", .string(grant.clientId)), ("iat", .number(seconds)), ("auth_time", .number(grant.authTime / 1000)),
                ("sub", .string(login.id.replacingOccurrences(of: "-", with: ""))), ("xero_userid", .string(login.id)),
                ("global_session_id", .string(grant.sessionId)),
            ]
            if grant.scope.contains("email") {
                claims += [("preferred_username", .string(login.email)), ("email", .string(login.email))]
            }
            if grant.scope.contains("profile") {
                claims += [("given_name", .string(login.firstName)), ("family_name", .string(login.lastName))]
            }
            claims.append(("amr", .array([.string("pwd")])))
            idToken = jwt(header, .object(claims))
        }
        var refresh: String?
        if grant.scope.contains("offline_access") {
            let rt = Ids.hex(32)
            w.refreshTokens[rt] = RefreshRecord(grantId: grant.id, lastUsed: now, supersededAt: nil)
            refresh = rt
        }
        // Forget access tokens long expired.
        if w.accessTokens.count > 5000 { w.accessTokens = w.accessTokens.filter { $0.value.expires > now - 86_400_000 } }
        let body = XeroTokenResponse(idToken: idToken, accessToken: accessToken, expiresIn: 1800,
                                     refreshToken: refresh, scope: grant.scope.joined(separator: " "))
        var r = Reply.json(200, body.json)
        r.headers.add("Cache-Control", "no-store")
        r.headers.add("Pragma", "no-cache")
        return r
    }

    /// header.payload.signature, base64url; signed with the simulator's own key (HMAC).
    func jwt(_ header: String, _ payload: JSON) -> String {
        let signingInput = Base64.encodeURL(Array(header.utf8)) + "." + Base64.encodeURL(XeroWire.bytes(payload))
        return signingInput + "." + Base64.encodeURL(Crypto.hmacSHA256(key: jwtKey, message: Array(signingInput.utf8)))
    }

    // MARK: - revocation and connections

    func revoke(_ r: Request) -> Response {
        let started = monotonicNow()
        let form = FormCoding.parse(r.body)
        let response: Response = world.withLock { w in
            guard let client = clientCredentials(r, form), client.id == w.clientId,
                  client.secret == nil || client.secret == w.clientSecret else { return tokenError("invalid_client") }
            guard let token = FormCoding.value(form, "token") else { return tokenError("invalid_request") }
            if let rec = w.refreshTokens[token], var grant = w.grants[rec.grantId] {
                grant.revoked = true
                w.grants[grant.id] = grant
                // The user's grants for this app and all their connections go.
                for (id, g) in w.grants where g.loginId == grant.loginId && g.clientId == grant.clientId {
                    w.grants[id]?.revoked = true
                }
                w.refreshTokens = w.refreshTokens.filter { w.grants[$0.value.grantId]?.revoked == false }
                let dead = w.connections.values.filter { $0.loginId == grant.loginId && $0.clientId == grant.clientId }.map(\.id)
                for id in dead { w.connections[id] = nil }
                w.connectionOrder.removeAll { dead.contains($0) }
            }
            return Response(status: 200)
        }
        logSimple(r, response, started: started)
        return response
    }

    /// The grant behind a bearer token, or the 401 answer.
    func bearerGrant(_ w: World, _ r: Request, now: Int64) -> Outcome<Grant, Response> {
        guard let auth = r.headers["Authorization"], auth.lowercased().hasPrefix("bearer ") else {
            return .failure(Errors.unauthorized("AuthorizationUnsuccessful"))
        }
        let token = String(auth.dropFirst(7)).trimmingSpaces
        guard let access = w.accessTokens[token], let grant = w.grants[access.grantId], !grant.revoked else {
            return .failure(Errors.unauthorized("AuthorizationUnsuccessful"))
        }
        guard now < access.expires else {
            return .failure(Errors.unauthorized("TokenExpired: token expired at \(Simulator.usDate(access.expires))"))
        }
        return .success(grant)
    }

    func appMinuteHeader(_ w: World, now: Int64) -> String {
        if w.appMinuteCount > 0 && now >= w.appMinuteStart + 60_000 { w.appMinuteCount = 0 }
        return String(max(0, w.limits.appPerMinute - w.appMinuteCount))
    }

    func listConnections(_ r: Request) -> Response {
        let started = monotonicNow()
        let now = clock.now()
        let response: Response = world.withLock { w in
            switch bearerGrant(w, r, now: now) {
            case .failure(let e): return e
            case .success(let grant):
                let filter = queryValue(r, "authEventId").flatMap { Ids.normalize($0) }
                let list = w.connectionOrder.compactMap { w.connections[$0] }.filter {
                    $0.loginId == grant.loginId && $0.clientId == grant.clientId && (filter == nil || $0.authEventId == filter)
                }
                let json = JSON.array(list.map { c in
                    XeroConnection(id: c.id, authEventId: c.authEventId, tenantId: c.tenantId, tenantName: w.orgs[c.tenantId]?.name,
                                   createdDateUtc: c.created, updatedDateUtc: c.updated).json
                })
                var resp = Reply.json(200, json)
                resp.headers.add("X-AppMinLimit-Remaining", appMinuteHeader(w, now: now))
                return resp
            }
        }
        logSimple(r, response, started: started)
        return response
    }

    func deleteConnection(_ r: Request, _ id: String) -> Response {
        let started = monotonicNow()
        let now = clock.now()
        let response: Response = world.withLock { w in
            switch bearerGrant(w, r, now: now) {
            case .failure(let e): return e
            case .success(let grant):
                guard let key = Ids.normalize(id), let c = w.connections[key],
                      c.loginId == grant.loginId, c.clientId == grant.clientId else { return Reply.notFound() }
                w.connections[key] = nil
                w.connectionOrder.removeAll { $0 == key }
                return Response.empty(204)
            }
        }
        logSimple(r, response, started: started)
        return response
    }

    func openIDConfiguration() -> Response {
        let base = baseURL
        return Reply.json(200, .object([
            ("issuer", .string("https://identity.xero.com")),
            ("authorization_endpoint", .string(base + "/identity/connect/authorize")),
            ("token_endpoint", .string(base + "/connect/token")),
            ("revocation_endpoint", .string(base + "/connect/revocation")),
            ("response_types_supported", .array([.string("code")])),
            ("grant_types_supported", .array([.string("authorization_code"), .string("refresh_token")])),
            ("code_challenge_methods_supported", .array([.string("plain"), .string("S256")])),
        ]))
    }
}
