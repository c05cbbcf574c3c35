import Foundation
import HTTPClient
import Store
import Testing

/// The headers of pages, JSON and the session cookie (issue 13): one place sets them for every
/// answer of its kind.
@Suite struct SecurityHeaderTests {
    func signIn(_ g: TestGateway, _ token: String) throws -> ClientResponse {
        try g.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                      body: Array("token=\(token)".utf8))
    }

    @Test func everyPageForbidsFramingSniffingReferrersAndForeignForms() throws {
        let g = try TestGateway()
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let cookie = try #require(signIn(g, admin).header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let pages = [
            try g.request("GET", "/admin"),                                                      // sign-in page
            try signIn(g, "xgw_wrong"),                                                          // its 401
            try g.request("GET", "/admin/xero", headers: [("Cookie", cookie)]),                  // the Xero screen
            try g.request("GET", "/oauth/xero/callback?state=nope", headers: [("Cookie", cookie)]),  // a 400 page
        ]
        for page in pages {
            #expect(page.header("Content-Type")?.hasPrefix("text/html") == true)
            #expect(page.header("X-Content-Type-Options") == "nosniff")
            #expect(page.header("Referrer-Policy") == "same-origin")
            #expect(page.header("Cache-Control") == "no-store")
            let csp = try #require(page.header("Content-Security-Policy"))
            let directives = Set(csp.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) })
            #expect(directives.contains("frame-ancestors 'none'"), "\(csp)")
            #expect(directives.contains("base-uri 'none'"), "\(csp)")
            #expect(directives.contains("default-src 'none'"), "\(csp)")
            #expect(directives.contains { $0.hasPrefix("form-action 'self'") }, "\(csp)")
        }
    }

    @Test func everyAPIAnswerIsNoStoreErrorsAndDeferredOnesIncluded() throws {
        let g = try TestGateway()
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let auth = [("Authorization", "Bearer \(admin)"), ("Content-Type", "application/json")]
        let created = try g.request("POST", "/api/v1/contacts", headers: auth, body: Array(#"{"name":"Ann Smith","email":"ann@example.com"}"#.utf8))
        #expect(created.status == 201)
        let answers = [
            created,
            try g.get("/api/v1/contacts", token: admin),
            try g.get("/api/v1/contacts/nope", token: admin),                       // 404
            try g.get("/api/v1/contacts", token: nil),                              // 401
            try g.get("/api/v1/xero/status", token: admin),
            try g.get("/api/v1/xero/events", token: admin),                         // answered from a worker
            try g.request("PUT", "/api/v1/contacts"),                               // 405
            try g.get("/api/v1/nothing-here", token: admin),                        // 404 from the router
        ]
        for r in answers {
            #expect(r.header("Cache-Control") == "no-store", "\(r.status) \(r.text.prefix(80))")
            #expect(r.header("X-Content-Type-Options") == "nosniff", "\(r.status)")
        }
    }

    @Test func underHTTPSTheSessionCookieIsHostPrefixedAndReadOnlyUnderThatName() throws {
        let g = try TestGateway(extra: ["GATEWAY_PUBLIC_URL": "https://gateway.example.com"])
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let header = try #require(signIn(g, admin).header("Set-Cookie"))
        #expect(header.hasPrefix("__Host-xg_session="))
        let attributes = Set(header.split(separator: ";").dropFirst().map { $0.trimmingCharacters(in: .whitespaces) })
        #expect(attributes.isSuperset(of: ["Secure", "Path=/", "HttpOnly", "SameSite=Lax"]))
        #expect(!attributes.contains { $0.lowercased().hasPrefix("domain") })
        let value = String(try #require(header.split(separator: ";").first).dropFirst("__Host-xg_session=".count))
        let home = try g.request("GET", "/admin", headers: [("Cookie", "__Host-xg_session=\(value)")])
        #expect(home.status == 303 && home.header("Location") == "/admin/xero")
        // The unprefixed name, which any subdomain could set, is not a session here.
        let tossed = try g.request("GET", "/admin", headers: [("Cookie", "xg_session=\(value)")])
        #expect(tossed.status == 200 && tossed.text.contains("name=\"token\""))
        // Behind a TLS proxy the gateway still says HSTS, on every answer.
        for r in [home, tossed, try g.get("/healthz", token: nil), try g.postWebhook([], signature: "bad")] {
            #expect(r.header("Strict-Transport-Security")?.hasPrefix("max-age=") == true)
        }
    }

    @Test func overPlainHTTPTheCookieKeepsItsPlainNameAndNoHSTS() throws {
        let g = try TestGateway()
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        let r = try signIn(g, admin)
        #expect(r.header("Set-Cookie")?.hasPrefix("xg_session=") == true)
        #expect(r.header("Strict-Transport-Security") == nil)
    }
}
