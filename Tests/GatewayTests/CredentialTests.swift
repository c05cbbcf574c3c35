import Foundation
import Gateway
import HTTPClient
import Store
import StrictJSON
import Testing

/// Credentials can be withdrawn: `user list|revoke|rotate-token`, sessions capped per user,
/// "Sign out everywhere" on the screen and in the API.
@Suite struct CredentialTests {
    func form(_ g: TestGateway, _ path: String, cookie: String?, _ body: String) throws -> ClientResponse {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        if let cookie { headers.append(("Cookie", "xg_session=\(cookie)")) }
        return try g.request("POST", path, headers: headers, body: Array(body.utf8))
    }

    func signIn(_ g: TestGateway, _ token: String) throws -> String {
        let r = try form(g, "/admin/login", cookie: nil, "token=\(token)")
        #expect(r.status == 303)
        let header = try #require(r.header("Set-Cookie"))
        return String(try #require(header.split(separator: ";").first).dropFirst("xg_session=".count))
    }

    /// Whether the cookie's session is live (the Xero screen renders instead of sending to sign-in).
    func live(_ g: TestGateway, _ cookie: String) throws -> Bool {
        try g.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(cookie)")]).status == 200
    }

    func csrf(_ g: TestGateway, _ cookie: String) throws -> String {
        let html = try g.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(cookie)")]).text
        return String(try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)).1)
    }

    func post(_ g: TestGateway, _ path: String, token: String?) throws -> ClientResponse {
        try g.request("POST", path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    @Test func usersAreListedWithoutTokensOneAccountOrAll() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let staff = try g.gateway.accounts.createUser(accountId: a.accountId, role: .staff)
        let op = try g.gateway.accounts.createUser(accountId: nil, role: .operator)
        let lines = try UserCredentials.list(accountId: nil, database: g.database)
        #expect(lines.map { $0["userId"]?.stringValue } == [a.userId, staff.userId, op.userId])
        #expect(lines.map { $0["role"]?.stringValue } == ["admin", "staff", "operator"])
        #expect(lines[2]["accountId"]?.isNull == true && lines[0]["accountId"]?.stringValue == a.accountId)
        #expect(lines.allSatisfy { $0["createdAt"]?.stringValue != nil && $0["revokedAt"]?.isNull == true })
        let text = lines.map(\.serialized).joined(separator: "\n")
        #expect(!text.contains("xgw_") && !text.contains("token") && !text.contains(a.token))
        #expect(try UserCredentials.list(accountId: a.accountId, database: g.database).count == 2)
    }

    @Test func revokingAUserEndsTheirTokenAndEverySessionOfTheirs() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let staff = try g.gateway.accounts.createUser(accountId: a.accountId, role: .staff)
        let staffCookies = [try signIn(g, staff.token), try signIn(g, staff.token)]
        let adminCookie = try signIn(g, a.token)
        #expect(try g.get("/api/v1/contacts", token: staff.token).status == 200)

        let out = try UserCredentials.revoke(userId: staff.userId, database: g.database)
        #expect(out["userId"]?.stringValue == staff.userId && out["sessionsEnded"]?.intValue == 2)
        #expect(out["revokedAt"]?.stringValue != nil)
        #expect(try g.get("/api/v1/contacts", token: staff.token).status == 401)
        #expect(try staffCookies.allSatisfy { try !live(g, $0) })
        #expect(try form(g, "/admin/login", cookie: nil, "token=\(staff.token)").status == 401)
        #expect(try live(g, adminCookie))   // nobody else's
        let listed = try UserCredentials.list(accountId: a.accountId, database: g.database)
        #expect(listed.first { $0["userId"]?.stringValue == staff.userId }?["revokedAt"] == out["revokedAt"])
        #expect { try UserCredentials.revoke(userId: "nobody", database: g.database) } throws: {
            ($0 as? StoreError)?.code == .notFound
        }
        #expect { try UserCredentials.rotateToken(userId: staff.userId, database: g.database) } throws: {
            ($0 as? StoreError)?.code == .conflict
        }
    }

    @Test func rotatingATokenIssuesANewOneOnceAndEndsTheOldAndItsSessions() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let cookie = try signIn(g, a.token)
        let out = try UserCredentials.rotateToken(userId: a.userId, database: g.database)
        let token = try #require(out["token"]?.stringValue)
        #expect(out["userId"]?.stringValue == a.userId && out["role"]?.stringValue == "admin" && out["accountId"]?.stringValue == a.accountId)
        #expect(token.hasPrefix("xgw_") && token != a.token)
        #expect(try g.get("/api/v1/xero/status", token: a.token).status == 401)
        #expect(try g.get("/api/v1/xero/status", token: token).status == 200)
        #expect(try !live(g, cookie))
        #expect(try live(g, signIn(g, token)))
    }

    /// 300 sign-ins used to leave 300 live sessions; a user now holds at most ten, the oldest ending.
    @Test func sessionsPerUserAreCappedAtTenTheOldestEnding() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let cookies = try (0..<13).map { _ in try signIn(g, a.token) }
        #expect(try cookies.map { try live(g, $0) } == Array(repeating: false, count: 3) + Array(repeating: true, count: 10))
        let rows = try g.database.read { try $0.query("SELECT COUNT(*) AS n FROM admin_sessions").first!.int("n")! }
        #expect(rows == 10)
    }

    @Test func signOutEverywhereOnTheScreenEndsEverySessionOfThatUserOnly() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let staff = try g.gateway.accounts.createUser(accountId: a.accountId, role: .staff)
        let here = try signIn(g, a.token), there = try signIn(g, a.token), theirs = try signIn(g, staff.token)
        let page = try g.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(here)")]).text
        #expect(page.contains(#"action="/admin/logout-everywhere""#) && page.contains("Sign out everywhere"))
        #expect(try form(g, "/admin/logout-everywhere", cookie: here, "").status == 403)
        #expect(try form(g, "/admin/logout-everywhere", cookie: here, "csrf=\(try csrf(g, there))").status == 403)
        #expect(try live(g, here) && live(g, there))
        let r = try form(g, "/admin/logout-everywhere", cookie: here, "csrf=\(try csrf(g, here))")
        #expect(r.status == 303 && r.header("Location") == "/admin" && r.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(try !live(g, here) && !live(g, there))
        #expect(try live(g, theirs))
        #expect(try g.get("/api/v1/xero/status", token: a.token).status == 200)   // the token itself stays
    }

    @Test func signOutEverywhereInTheAPIEndsTheCallersSessions() throws {
        let g = try TestGateway(store: .sqlite)
        let a = try g.gateway.accounts.createAccount(name: "A")
        let staff = try g.gateway.accounts.createUser(accountId: a.accountId, role: .staff)
        let mine = [try signIn(g, staff.token), try signIn(g, staff.token)], admins = try signIn(g, a.token)
        #expect(try post(g, "/api/v1/sessions/revoke-all", token: nil).status == 401)
        #expect(try post(g, "/api/v1/sessions/revoke-all", token: "xgw_wrong").status == 401)
        let r = try post(g, "/api/v1/sessions/revoke-all", token: staff.token)
        #expect(r.status == 200 && r.text == #"{"sessionsEnded":2}"#)
        #expect(try mine.allSatisfy { try !live(g, $0) } && live(g, admins))
        #expect(try post(g, "/api/v1/sessions/revoke-all", token: g.operatorToken()).text == #"{"sessionsEnded":0}"#)
    }
}
