import Foundation
import HTTPClient
import Testing
import Xero
import XeroSimulator
import StrictJSON

func jwtPayload(_ token: String) -> JSON? {
    let parts = token.split(separator: ".")
    guard parts.count == 3 else { return nil }
    var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
    while b64.count % 4 != 0 { b64 += "=" }
    guard let data = Data(base64Encoded: b64) else { return nil }
    return try? JSON.parse(Array(data))
}

@Suite("xero-sim identity", .serialized)
struct IdentityTests {
    @Test("code exchange, refresh rotation and the 30-minute grace of the previous refresh token")
    func codeExchangeRefreshAndGrace() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        let b = try h.organisation("Beta Ltd")
        try h.login("owner@alpha.test", tenants: [a, b])
        let t = try h.connect("owner@alpha.test")

        // The token response as Xero sends it.
        #expect(t.json["expires_in"]?.intValue == 1800)
        #expect(t.json["token_type"]?.stringValue == "Bearer")
        #expect(t.json["id_token"]?.stringValue?.split(separator: ".").count == 3)
        let scope = try #require(t.json["scope"]?.stringValue)
        #expect(scope.split(separator: " ").contains("offline_access"))
        let claims = try #require(jwtPayload(t.access))
        for claim in ["exp", "nbf", "xero_userid", "authentication_event_id", "client_id", "scope", "sub", "jti"] {
            #expect(claims[claim] != nil, "access token lacks \(claim)")
        }
        #expect(claims["client_id"]?.stringValue == Harness.clientId)
        #expect(claims["scope"]?.arrayValue?.contains(.string("accounting.contacts")) == true)
        let authEvent = try #require(claims["authentication_event_id"]?.stringValue)

        // Connections: both organisations, one auth event, Xero's date form.
        let conns = try h.send("GET", "/connections", headers: [("Authorization", "Bearer \(t.access)")])
        #expect(conns.status == 200)
        #expect(conns.header("X-AppMinLimit-Remaining") != nil)
        let list = try #require(conns.json.arrayValue)
        #expect(list.count == 2)
        #expect(Set(list.compactMap { $0["tenantId"]?.stringValue }) == [a, b])
        #expect(list.allSatisfy { $0["authEventId"]?.stringValue == authEvent && $0["tenantType"]?.stringValue == "ORGANISATION" })
        let created = try #require(list.first?["createdDateUtc"]?.stringValue)
        #expect(created.count == 27 && !created.hasSuffix("Z"), "\(created)")
        // The SDK spells it /Connections.
        #expect(try h.send("GET", "/Connections?authEventId=\(authEvent)", headers: [("Authorization", "Bearer \(t.access)")]).json.arrayValue?.count == 2)
        #expect(try h.send("GET", "/connections?authEventId=\(UUID().uuidString.lowercased())", headers: [("Authorization", "Bearer \(t.access)")]).json.arrayValue?.count == 0)

        // Refresh rotates (form client auth, as the Python SDK sends it).
        let r2 = try h.tokenRequest("grant_type=refresh_token&refresh_token=\(t.refresh)", basic: false)
        #expect(r2.status == 200)
        let refresh2 = try #require(r2.json["refresh_token"]?.stringValue)
        #expect(refresh2 != t.refresh)
        #expect(r2.json["access_token"]?.stringValue != t.access)

        // The previous refresh token still works inside 30 minutes…
        try h.advanceClock(29 * 60)
        let again = try h.tokenRequest("grant_type=refresh_token&refresh_token=\(t.refresh)")
        #expect(again.status == 200, "\(again.text)")
        let refresh3 = try #require(again.json["refresh_token"]?.stringValue)

        // …and not after.
        try h.advanceClock(2 * 60)
        let dead = try h.tokenRequest("grant_type=refresh_token&refresh_token=\(t.refresh)")
        #expect(dead.status == 400)
        #expect(dead.json == JSON.object([("error", .string("invalid_grant"))]))
        // The newest one is fine.
        #expect(try h.tokenRequest("grant_type=refresh_token&refresh_token=\(refresh3)").status == 200)

        // Bad client credentials.
        let badClient = try h.send("POST", "/connect/token", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                   body: "grant_type=refresh_token&refresh_token=x&client_id=\(Harness.clientId)&client_secret=wrong")
        #expect(badClient.status == 400)
        #expect(badClient.json["error"]?.stringValue == "invalid_client")
    }

    @Test("authorization codes are single-use and bound to the redirect URI")
    func codesSingleUse() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        try h.login("owner@alpha.test", tenants: [a])
        let redirect = try #require(try h.control("POST", "/sim/consent", #"{"login":"owner@alpha.test","redirectUri":"\#(Harness.redirect)"}"#)["redirect"]?.stringValue)
        let code = try #require(Harness.queryItem(redirect, "code"))
        let wrongRedirect = try h.tokenRequest("grant_type=authorization_code&code=\(code)&redirect_uri=http%3A%2F%2Fevil.test%2Fcb")
        #expect(wrongRedirect.status == 400)
        // The failed attempt spent the code.
        let reuse = try h.tokenRequest("grant_type=authorization_code&code=\(code)&redirect_uri=\(FormEncode.encode(Harness.redirect))")
        #expect(reuse.json["error"]?.stringValue == "invalid_grant")

        let redirect2 = try #require(try h.control("POST", "/sim/consent", #"{"login":"owner@alpha.test","redirectUri":"\#(Harness.redirect)"}"#)["redirect"]?.stringValue)
        let code2 = try #require(Harness.queryItem(redirect2, "code"))
        let ok = try h.tokenRequest("grant_type=authorization_code&code=\(code2)&redirect_uri=\(FormEncode.encode(Harness.redirect))")
        #expect(ok.status == 200)
        let twice = try h.tokenRequest("grant_type=authorization_code&code=\(code2)&redirect_uri=\(FormEncode.encode(Harness.redirect))")
        #expect(twice.status == 400)
        #expect(twice.json["error"]?.stringValue == "invalid_grant")

        // An unregistered redirect URI is refused by the control API as by the page.
        try h.control("POST", "/sim/consent", #"{"login":"owner@alpha.test","redirectUri":"http://evil.test/cb"}"#, expect: 400)
    }

    @Test("PKCE: S256 verifier instead of a secret; the public grant refreshes without one")
    func pkce() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        try h.login("owner@alpha.test", tenants: [a])
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        // base64url(SHA-256(verifier)), RFC 7636's example.
        let challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        func code() throws -> String {
            let r = try h.control("POST", "/sim/consent", #"{"login":"owner@alpha.test","redirectUri":"\#(Harness.redirect)","codeChallenge":"\#(challenge)"}"#)
            let redirect = try #require(r["redirect"]?.stringValue)
            return try #require(Harness.queryItem(redirect, "code"))
        }
        let form = "grant_type=authorization_code&client_id=\(Harness.clientId)&redirect_uri=\(FormEncode.encode(Harness.redirect))"
        let headers = [("Content-Type", "application/x-www-form-urlencoded")]
        let wrong = try h.send("POST", "/connect/token", headers: headers, body: form + "&code=\(try code())&code_verifier=nope")
        #expect(wrong.json["error"]?.stringValue == "invalid_grant")
        let ok = try h.send("POST", "/connect/token", headers: headers, body: form + "&code=\(try code())&code_verifier=\(verifier)")
        #expect(ok.status == 200, "\(ok.text)")
        let refresh = try #require(ok.json["refresh_token"]?.stringValue)
        let again = try h.send("POST", "/connect/token", headers: headers,
                               body: "grant_type=refresh_token&client_id=\(Harness.clientId)&refresh_token=\(refresh)")
        #expect(again.status == 200)
        // A confidential grant cannot refresh without its secret.
        let t = try h.connect("owner@alpha.test")
        let noSecret = try h.send("POST", "/connect/token", headers: headers,
                                  body: "grant_type=refresh_token&client_id=\(Harness.clientId)&refresh_token=\(t.refresh)")
        #expect(noSecret.json["error"]?.stringValue == "invalid_client")
    }

    @Test("the login and consent pages: tick organisations, get redirected with code and state")
    func browserFlow() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        let b = try h.organisation("Beta & Co")
        try h.login("owner@alpha.test", tenants: [a, b])
        let q = "response_type=code&client_id=\(Harness.clientId)&redirect_uri=\(FormEncode.encode(Harness.redirect))"
            + "&scope=\(FormEncode.encode("openid offline_access accounting.contacts"))&state=abc"
        let page = try h.send("GET", "/identity/connect/authorize?" + q)
        #expect(page.status == 200)
        #expect(page.text.contains("<form method=\"post\" action=\"/identity/connect/authorize\""))

        let login = try h.send("POST", "/identity/connect/authorize", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: q + "&email=owner%40alpha.test&password=x")
        #expect(login.status == 200)
        #expect(login.text.contains("Alpha Ltd") && login.text.contains("Beta &amp; Co"))
        let session = try #require(login.text.components(separatedBy: "name=\"session\" value=\"").dropFirst().first?.prefix(32))

        let consent = try h.send("POST", "/identity/connect/consent", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                 body: "session=\(session)&tenantId=\(b)&decision=allow")
        #expect(consent.status == 302)
        let location = try #require(consent.header("Location"))
        #expect(location.hasPrefix(Harness.redirect + "?code="))
        #expect(Harness.queryItem(location, "state") == "abc")
        let code = try #require(Harness.queryItem(location, "code"))
        let token = try h.tokenRequest("grant_type=authorization_code&code=\(code)&redirect_uri=\(FormEncode.encode(Harness.redirect))")
        #expect(token.status == 200)
        let access = try #require(token.json["access_token"]?.stringValue)
        let conns = try h.send("GET", "/connections", headers: [("Authorization", "Bearer \(access)")]).json.arrayValue ?? []
        #expect(conns.compactMap { $0["tenantId"]?.stringValue } == [b])

        // Unknown client or redirect: an error page, no redirect.
        let badClient = try h.send("GET", "/identity/connect/authorize?" + q.replacingOccurrences(of: Harness.clientId, with: "nope"))
        #expect(badClient.status == 400)
        let badRedirect = try h.send("GET", "/identity/connect/authorize?response_type=code&client_id=\(Harness.clientId)&redirect_uri=http%3A%2F%2Fevil.test&scope=openid")
        #expect(badRedirect.status == 400)
        // A wrong password shows the login page again.
        try h.control("POST", "/sim/logins", #"{"email":"locked@alpha.test","password":"s3cret","tenantIds":["\#(a)"]}"#)
        let wrong = try h.send("POST", "/identity/connect/authorize", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                               body: q + "&email=locked%40alpha.test&password=nope")
        #expect(wrong.text.contains("incorrect"))
    }

    @Test("401 for missing, unknown and expired tokens; 403 for tenants the token does not cover")
    func unauthorizedAndForbidden() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        let other = try h.organisation("Not Connected Ltd")
        try h.login("owner@alpha.test", tenants: [a])
        let t = try h.connect("owner@alpha.test")

        #expect(try h.api("GET", "/Contacts", token: t.access, tenant: a).status == 200)
        let none = try h.send("GET", "/api.xro/2.0/Contacts", headers: [("xero-tenant-id", a)])
        #expect(none.status == 401)
        let junk = try h.api("GET", "/Contacts", token: "junk", tenant: a)
        #expect(junk.status == 401)
        #expect(junk.json["Title"]?.stringValue == "Unauthorized")

        let forbidden = try h.api("GET", "/Contacts", token: t.access, tenant: other)
        #expect(forbidden.status == 403)
        let expected = try JSON.parse(Fixtures.error403Forbidden)
        #expect(forbidden.json.keys == expected.keys)
        #expect(forbidden.json["Detail"] == expected["Detail"])
        #expect(forbidden.json["Type"] == .null)
        #expect(try h.send("GET", "/api.xro/2.0/Contacts", headers: [("Authorization", "Bearer \(t.access)")]).status == 403)

        // Expiry after 30 minutes, with Xero's detail.
        try h.advanceClock(1801)
        let expired = try h.api("GET", "/Contacts", token: t.access, tenant: a)
        #expect(expired.status == 401)
        let fixture = try JSON.parse(Fixtures.error401TokenExpired)
        #expect(expired.json.keys == fixture.keys)
        #expect(expired.json["Detail"]?.stringValue?.hasPrefix("TokenExpired: token expired at ") == true)

        // A disconnected tenant is forbidden to a fresh token.
        let fresh = try #require(try h.tokenRequest("grant_type=refresh_token&refresh_token=\(t.refresh)").json["access_token"]?.stringValue)
        let conn = try #require(h.send("GET", "/connections", headers: [("Authorization", "Bearer \(fresh)")]).json.arrayValue?.first?["id"]?.stringValue)
        #expect(try h.send("DELETE", "/connections/\(conn)", headers: [("Authorization", "Bearer \(fresh)")]).status == 204)
        #expect(try h.send("DELETE", "/connections/\(conn)", headers: [("Authorization", "Bearer \(fresh)")]).status == 404)
        #expect(try h.api("GET", "/Contacts", token: fresh, tenant: a).status == 403)
    }

    @Test("scopes: a token without accounting.settings cannot read items; revocation kills the grant")
    func scopesAndRevocation() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        try h.login("owner@alpha.test", tenants: [a])
        let t = try h.connect("owner@alpha.test", scope: "offline_access accounting.contacts")
        #expect(try h.api("GET", "/Contacts", token: t.access, tenant: a).status == 200)
        #expect(try h.api("GET", "/Items", token: t.access, tenant: a).status == 403)
        #expect(t.json["id_token"] == nil)

        let revoke = try h.send("POST", "/connect/revocation", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                body: "token=\(t.refresh)&client_id=\(Harness.clientId)&client_secret=\(Harness.clientSecret)")
        #expect(revoke.status == 200)
        #expect(try h.tokenRequest("grant_type=refresh_token&refresh_token=\(t.refresh)").json["error"]?.stringValue == "invalid_grant")
        #expect(try h.api("GET", "/Contacts", token: t.access, tenant: a).status == 401)
    }
}

extension JSON {
    /// Object keys in order (empty for non-objects).
    var keys: [String] {
        if case .object(let m) = self { return m.map(\.key) }
        return []
    }
}
