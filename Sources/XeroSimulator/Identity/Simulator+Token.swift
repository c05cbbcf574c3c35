import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - token endpoint

    /// Client credentials from `Authorization: Basic` or the form.
    func clientCredentials(_ r: Request, _ form: [(name: String, value: String)]) -> (id: String, secret: String?)? {
        if let auth = r.headers["Authorization"], auth.lowercased().hasPrefix("basic ") {
            guard let raw = Base64.decode(String(auth.dropFirst(6)).trimmingCharacters(in: .whitespacesAndNewlines)) else { return nil }
            let text = String(decoding: raw, as: UTF8.self)
            guard let colon = text.firstIndex(of: ":") else { return nil }
            return (FormCoding.percentDecode(Array(text[..<colon].utf8)),
                    FormCoding.percentDecode(Array(text[text.index(after: colon)...].utf8)))
        }
        guard let id = FormCoding.value(form, "client_id") else { return nil }
        return (id, FormCoding.value(form, "client_secret"))
    }

    func token(_ r: Request) -> Response {
        logged(r) { try tokenResponse(r) }
    }

    func tokenResponse(_ r: Request) throws -> Response {
        let form = FormCoding.parse(r.body)
        let now = clock.now()
        guard let client = clientCredentials(r, form) else { throw XeroError.token("invalid_client") }
        return try world.withLock { w -> Response in
            guard client.id == w.clientId else { throw XeroError.token("invalid_client") }
            let secretOK = client.secret == w.clientSecret
            if client.secret != nil && !secretOK { throw XeroError.token("invalid_client") }
            switch FormCoding.value(form, "grant_type") {
            case "authorization_code":
                guard let code = FormCoding.value(form, "code"), let ac = w.codes.removeValue(forKey: code) else {
                    throw XeroError.token("invalid_grant")
                }
                guard ac.expires > now, ac.clientId == client.id,
                      FormCoding.value(form, "redirect_uri") == ac.redirectURI,
                      let grant = w.grants[ac.grantId], !grant.revoked else {
                    throw XeroError.token("invalid_grant")
                }
                if let challenge = ac.codeChallenge {
                    guard let verifier = FormCoding.value(form, "code_verifier") else { throw XeroError.token("invalid_grant") }
                    let computed = ac.codeChallengeMethod == "plain" ? verifier : Base64.encodeURL(Crypto.sha256(Array(verifier.utf8)))
                    guard computed == challenge else { throw XeroError.token("invalid_grant") }
                } else if !secretOK {
                    throw XeroError.token("invalid_client")
                }
                if !secretOK { w.grants[grant.id]?.publicClient = true }
                return try issueTokens(w, grant, now: now)
            case "refresh_token":
                guard let rt = FormCoding.value(form, "refresh_token"), let rec = w.refreshTokens[rt],
                      let grant = w.grants[rec.grantId], !grant.revoked, grant.clientId == client.id else {
                    throw XeroError.token("invalid_grant")
                }
                if !secretOK && !grant.publicClient { throw XeroError.token("invalid_client") }
                if let superseded = rec.supersededAt, now - superseded > Simulator.refreshGrace {
                    throw XeroError.token("invalid_grant")
                }
                if now - rec.lastUsed > Simulator.refreshIdleLifetime { throw XeroError.token("invalid_grant") }
                // Rotate: every live token of this grant is now superseded (30-minute grace).
                for (key, var other) in w.refreshTokens where other.grantId == grant.id && other.supersededAt == nil {
                    other.supersededAt = now
                    w.refreshTokens[key] = other
                }
                return try issueTokens(w, grant, now: now)
            case nil:
                throw XeroError.token("invalid_request")
            default:
                throw XeroError.token("unsupported_grant_type")
            }
        }
    }

    func issueTokens(_ w: World, _ grant: Grant, now: Int64) throws -> Response {
        guard let login = w.logins[grant.loginId] else { throw XeroError.token("invalid_grant") }
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
        logged(r) {
            let form = FormCoding.parse(r.body)
            return try world.withLock { w in
                guard let client = clientCredentials(r, form), client.id == w.clientId,
                      client.secret == nil || client.secret == w.clientSecret else { throw XeroError.token("invalid_client") }
                guard let token = FormCoding.value(form, "token") else { throw XeroError.token("invalid_request") }
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
                }
                return Response(status: 200)
            }
        }
    }

    /// The grant behind a bearer token, or the 401 answer.
    func bearerGrant(_ w: World, _ r: Request, now: Int64) throws -> Grant {
        guard let auth = r.headers["Authorization"], auth.lowercased().hasPrefix("bearer ") else {
            throw XeroError.unauthorized("AuthorizationUnsuccessful")
        }
        let token = String(auth.dropFirst(7)).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let access = w.accessTokens[token], let grant = w.grants[access.grantId], !grant.revoked else {
            throw XeroError.unauthorized("AuthorizationUnsuccessful")
        }
        guard now < access.expires else {
            throw XeroError.unauthorized("TokenExpired: token expired at \(Simulator.usDate(access.expires))")
        }
        return grant
    }

    func appMinuteHeader(_ w: World, now: Int64) -> String {
        if w.appMinuteCount > 0 && now >= w.appMinuteStart + 60_000 { w.appMinuteCount = 0 }
        return String(max(0, w.limits.appPerMinute - w.appMinuteCount))
    }

    /// `07/22/2026 02:00:00` (Xero's TokenExpired detail).
    static func usDate(_ ms: Int64) -> String {
        let iso = XeroDate.formatISO(milliseconds: ms)  // 2026-07-22T02:00:00.000Z
        let c = Array(iso)
        return "\(String(c[5...6]))/\(String(c[8...9]))/\(String(c[0...3])) \(String(c[11...18]))"
    }
}
