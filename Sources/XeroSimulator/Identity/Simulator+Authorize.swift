import Crypto
import Foundation
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

    /// The authorize request, or the answer that refuses it: an error page while the app is not
    /// known to be asking, then an OAuth error sent back to its redirect URI.
    func authorizeParameters(_ values: [(name: String, value: String)]) throws -> AuthorizeRequest {
        func v(_ n: String) -> String? { values.first { $0.name == n }?.value }
        let (clientId, appRedirects) = world.withLock { ($0.clientId, $0.redirectURIs) }
        guard let cid = v("client_id"), cid == clientId else {
            throw XeroError.page(400, "unauthorized_client", "Unknown client or client not enabled (client_id).")
        }
        guard let redirect = v("redirect_uri"), isAcceptableRedirect(redirect, registered: appRedirects) else {
            throw XeroError.page(400, "invalid_request", "Invalid redirect_uri: it must be registered for this app.")
        }
        func back(_ error: String) -> XeroError {
            var q = "error=\(FormCoding.encode(error))"
            if let s = v("state") { q += "&state=\(FormCoding.encode(s))" }
            return XeroError.redirect(redirect + (redirect.contains("?") ? "&" : "?") + q, error: error)
        }
        guard v("response_type") == "code" else { throw back("unsupported_response_type") }
        let scope = (v("scope") ?? "").split(separator: " ").map(String.init).filter { !$0.isEmpty }
        guard !scope.isEmpty else { throw back("invalid_scope") }
        for s in scope where !Simulator.identityScopes.contains(s) && !Simulator.knownScopePrefixes.contains(where: s.hasPrefix) {
            throw back("invalid_scope")
        }
        if let m = v("code_challenge_method"), m != "S256" && m != "plain" { throw back("invalid_request") }
        return AuthorizeRequest(clientId: cid, redirectURI: redirect, scope: scope, state: v("state"),
                                codeChallenge: v("code_challenge"), codeChallengeMethod: v("code_challenge_method"))
    }

    func isAcceptableRedirect(_ uri: String, registered: [String]) -> Bool {
        if !registered.isEmpty { return registered.contains(uri) }
        return (uri.hasPrefix("http://") || uri.hasPrefix("https://")) && !uri.contains("#") && uri.count < 2048
    }

    func authorizePage(_ r: Request) -> Response {
        logged(r) { loginPage(try authorizeParameters(r.query), message: nil) }
    }

    func hiddenFields(_ req: AuthorizeRequest) -> String {
        var pairs: [(String, String)] = [("response_type", "code"), ("client_id", req.clientId),
                                         ("redirect_uri", req.redirectURI), ("scope", req.scope.joined(separator: " "))]
        if let s = req.state { pairs.append(("state", s)) }
        if let c = req.codeChallenge { pairs.append(("code_challenge", c)) }
        if let m = req.codeChallengeMethod { pairs.append(("code_challenge_method", m)) }
        return pairs.map { "<input type=\"hidden\" name=\"\($0.0)\" value=\"\(Markup.escape($0.1))\">" }.joined(separator: "\n")
    }

    func loginPage(_ req: AuthorizeRequest, message: String?) -> Response {
        let emails = world.withLock { w in w.logins.values.map(\.email) }
        let hint = emails.isEmpty ? "No logins exist yet: create one with <code>POST /sim/logins</code>."
            : "Simulator logins: " + emails.map { "<code>\(Markup.escape($0))</code>" }.joined(separator: ", ")
            + ". Any password is accepted unless one was set."
        let body = """
        <!doctype html><html><head><meta charset="utf-8"><title>Log in to Xero (simulator)</title></head>
        <body style="font-family:sans-serif;max-width:28em;margin:3em auto">
        <h1>Log in to Xero</h1><p style="color:#666">xero-sim — a local stand-in for login.xero.com</p>
        \(message.map { "<p style=\"color:#b00\" id=\"error\">\(Markup.escape($0))</p>" } ?? "")
        <form method="post" action="/identity/connect/authorize">
        \(hiddenFields(req))
        <p><label>Email address<br><input type="email" name="email" value="\(Markup.escape(emails.first ?? ""))" required></label></p>
        <p><label>Password<br><input type="password" name="password"></label></p>
        <p><button type="submit">Log in</button></p>
        </form><p style="font-size:small;color:#666">\(hint)</p></body></html>
        """
        return Reply.html(200, body)
    }

    func authorizeLogin(_ r: Request) -> Response {
        logged(r) {
            let form = FormCoding.parse(r.body)
            let req = try authorizeParameters(form)
            let email = (FormCoding.value(form, "email") ?? "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
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
            guard let result else { return loginPage(req, message: "Your email or password is incorrect.") }
            return consentPage(req, session: result.session, login: result.login, orgs: result.orgs)
        }
    }

    func consentPage(_ req: AuthorizeRequest, session: String, login: Login, orgs: [(String, String)]) -> Response {
        let boxes = orgs.enumerated().map { n, org in
            "<p><label><input type=\"checkbox\" name=\"tenantId\" value=\"\(org.0)\"\(n == 0 ? " checked" : "")> \(Markup.escape(org.1))</label></p>"
        }.joined(separator: "\n")
        let scopes = req.scope.map { "<li><code>\(Markup.escape($0))</code></li>" }.joined()
        let body = """
        <!doctype html><html><head><meta charset="utf-8"><title>Allow access (simulator)</title></head>
        <body style="font-family:sans-serif;max-width:32em;margin:3em auto">
        <h1>\(Markup.escape(configuration.appName)) wants to access your Xero data</h1>
        <p>Logged in as \(Markup.escape(login.firstName)) \(Markup.escape(login.lastName)) (\(Markup.escape(login.email))).</p>
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
        logged(r) {
            let form = FormCoding.parse(r.body)
            let now = clock.now()
            let session = FormCoding.value(form, "session") ?? ""
            let chosen = form.filter { $0.name == "tenantId" }.map(\.value)
            let pending = world.withLock { w -> LoginSession? in
                guard let s = w.loginSessions.removeValue(forKey: session), s.expires > now else { return nil }
                return s
            }
            guard let pending else {
                throw XeroError.page(400, "invalid_request", "The login session has expired. Start again from the app.")
            }
            if FormCoding.value(form, "decision") == "deny" {
                var q = "error=access_denied"
                if let s = pending.request.state { q += "&state=\(FormCoding.encode(s))" }
                return Reply.redirect(pending.request.redirectURI + (pending.request.redirectURI.contains("?") ? "&" : "?") + q)
            }
            do {
                return Reply.redirect(try consent(loginId: pending.loginId, tenantIds: chosen, request: pending.request))
            } catch let refusal as Refusal {
                throw XeroError.page(400, "invalid_request", refusal.messages.joined(separator: " "))
            }
        }
    }

    /// Grants the app access to `tenantIds` for the login (creating or refreshing connections)
    /// and returns the redirect with a fresh code.
    /// A `Refusal` says why not.
    func consent(loginId: String, tenantIds: [String], request req: AuthorizeRequest) throws -> String {
        let now = clock.now()
        return try world.withLock { w -> String in
            guard let login = w.logins[loginId] else { throw Refusal("Unknown login.") }
            let tenants = tenantIds.compactMap { Ids.normalize($0) }
            guard !tenants.isEmpty else { throw Refusal("Choose at least one organisation to connect.") }
            for t in tenants where !login.tenantIds.contains(t) {
                throw Refusal("The login \(login.email) has no access to organisation \(t).")
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
            return req.redirectURI + (req.redirectURI.contains("?") ? "&" : "?") + q
        }
    }
}
