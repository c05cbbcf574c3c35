import Foundation
import HTTPClient
import Store
import Testing

/// Browser sessions of /admin: cookie, CSRF, strict forms.
@Suite struct SessionTests {
    func form(_ g: TestGateway, _ path: String, cookie: String?, _ body: String,
              type: String = "application/x-www-form-urlencoded") throws -> ClientResponse {
        var headers = [("Content-Type", type)]
        if let cookie { headers.append(("Cookie", "xg_session=\(cookie)")) }
        return try g.request("POST", path, headers: headers, body: Array(body.utf8))
    }

    func sessionRows(_ g: TestGateway) throws -> Int {
        try g.database.read { try $0.query("SELECT COUNT(*) AS n FROM admin_sessions").first!.int("n")! }
    }

    func signIn(_ g: TestGateway, _ token: String) throws -> (cookie: String, header: String) {
        let r = try form(g, "/admin/login", cookie: nil, "token=\(token)")
        #expect(r.status == 303 && r.header("Location") == "/admin")
        let header = try #require(r.header("Set-Cookie"))
        return (String(try #require(header.split(separator: ";").first).dropFirst("xg_session=".count)), header)
    }

    func csrf(_ g: TestGateway, _ cookie: String) throws -> String {
        let html = try g.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(cookie)")]).text
        return String(try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)).1)
    }

    @Test func aSessionCookieIsHttpOnlyLaxRandomAndOnlyItsHashIsStored() throws {
        let g = try TestGateway(store: .sqlite)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let (cookie, header) = try signIn(g, admin)
        let attributes = Set(header.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(attributes.isSuperset(of: ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"]))
        #expect(!attributes.contains("Secure"))   // plain http here
        let second = try signIn(g, admin).cookie
        #expect(cookie.count == 43 && cookie != second)
        let stored = try g.database.read { try $0.query("SELECT token_hash FROM admin_sessions").map { $0.blob("token_hash") ?? [] } }
        #expect(stored.count == 2 && stored.allSatisfy { $0.count == 32 && $0 != Array(cookie.utf8) })
        // Signed in: /admin goes to the Xero screen.
        let home = try g.request("GET", "/admin", headers: [("Cookie", "xg_session=\(cookie)")])
        #expect(home.status == 303 && home.header("Location") == "/admin/xero")
    }

    @Test func underHTTPSTheCookieIsSecure() throws {
        let g = try TestGateway(extra: ["GATEWAY_PUBLIC_URL": "https://gateway.example.com"], store: .sqlite)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        #expect(try signIn(g, admin).header.contains("; Secure"))
    }

    @Test func aBadTokenIsA401PageAndStoresNothing() throws {
        let g = try TestGateway(store: .sqlite)
        for body in ["token=xgw_nope", "token=", ""] {
            let r = try form(g, "/admin/login", cookie: nil, body)
            #expect(r.status == 401 && r.header("Set-Cookie") == nil && r.header("Content-Type")?.hasPrefix("text/html") == true)
        }
        let op = try g.operatorToken()
        #expect(try form(g, "/admin/login", cookie: nil, "token=\(op)").status == 403)
        #expect(try sessionRows(g) == 0)
        let page = try g.request("GET", "/admin")
        #expect(page.status == 200 && page.text.contains("name=\"token\""))
        #expect(try g.request("GET", "/admin/xero").header("Location") == "/admin")
    }

    @Test func formsAreParsedStrictlyAndCapped() throws {
        let g = try TestGateway(store: .sqlite)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        #expect(try form(g, "/admin/login", cookie: nil, "token=\(admin)", type: "application/json").status == 415)
        #expect(try form(g, "/admin/login", cookie: nil, "token=\(admin)&token=x").status == 400)
        #expect(try form(g, "/admin/login", cookie: nil, "token=%zz").status == 400)
        #expect(try form(g, "/admin/login", cookie: nil, "token").status == 400)
        #expect(try form(g, "/admin/login", cookie: nil, "token=%FF%FE").status == 400)
        #expect(try form(g, "/admin/login", cookie: nil, "token=" + String(repeating: "a", count: 9000)).status == 413)
        #expect(try sessionRows(g) == 0)
    }

    @Test func everyFormPostNeedsTheSessionsCSRFToken() throws {
        let g = try TestGateway(store: .sqlite)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let (cookie, _) = try signIn(g, admin)
        let (other, _) = try signIn(g, admin)
        let token = try csrf(g, cookie)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "").status == 403)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=wrong").status == 403)
        let othersToken = try csrf(g, other)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(othersToken)").status == 403)
        #expect(try form(g, "/admin/logout", cookie: cookie, "").status == 403)
        #expect(try g.gateway.accounts.connections().first?.state == .inactive)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(token)").status == 303)
        #expect(try g.gateway.accounts.connections().first?.state == .active)
        // Logout ends the session.
        let out = try form(g, "/admin/logout", cookie: cookie, "csrf=\(token)")
        #expect(out.status == 303 && out.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try g.request("GET", "/admin", headers: [("Cookie", "xg_session=\(cookie)")]).status == 200)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(token)").status == 401)
        #expect(try sessionRows(g) == 1)
    }

    @Test func statusIsForAccountAdmins() throws {
        let g = try TestGateway(store: .sqlite)
        let admin = try g.gateway.accounts.createAccount(name: "A")
        let staff = try g.gateway.accounts.createUser(accountId: admin.accountId, role: .staff).token
        #expect(try g.get("/api/v1/xero/status", token: nil).status == 401)
        #expect(try g.get("/api/v1/xero/status", token: staff).status == 403)
        let op = try g.operatorToken()
        #expect(try g.get("/api/v1/xero/status", token: op).status == 403)
        let r = try g.get("/api/v1/xero/status", token: admin.token)
        #expect(r.status == 200)
        #expect(r.text == #"{"state":"inactive","tenantId":null,"tenantName":null,"connectedAt":null,"lastSync":null,"lastSyncState":null,"lastSyncErrors":[],"syncing":false,"nextSyncAt":null,"pendingMatches":0,"waitingArchive":0,"apiCallsLeftToday":null}"#)
    }
}

@Suite struct LoginOriginTests {
    @Test func r2_aSignInFormOnAnotherSiteCannotSignABrowserIn() throws {
        let t = try TestGateway(store: .sqlite)
        let admin = try t.gateway.accounts.createAccount(name: "Origin Co").token
        let form = Array("token=\(admin)".utf8)
        let type = ("Content-Type", "application/x-www-form-urlencoded")
        let foreign = try t.request("POST", "/admin/login", headers: [type, ("Origin", "https://evil.example")], body: form)
        #expect(foreign.status == 403 && foreign.header("Set-Cookie") == nil)
        let referred = try t.request("POST", "/admin/login", headers: [type, ("Referer", "https://evil.example/x")], body: form)
        #expect(referred.status == 403 && referred.header("Set-Cookie") == nil)
        let own = try t.request("POST", "/admin/login", headers: [type, ("Origin", t.gateway.configuration.publicURL)], body: form)
        #expect(own.status == 303 && own.header("Set-Cookie") != nil)
        let plain = try t.request("POST", "/admin/login", headers: [type], body: form)  // no Origin: a script
        #expect(plain.status == 303)
    }
}
