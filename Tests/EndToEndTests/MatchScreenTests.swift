import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Testing

/// R7's link-review screen end to end: the gateway connected to xero-sim, its first sync leaving
/// one pending match, reviewed and decided through the screen's forms.
@Suite(.serialized) struct MatchScreenTests {
    static let contacts = #"""
    {"webhooks": false, "Contacts": [
      {"Name": "HARBOUR  landscaping", "IsCustomer": true, "EmailAddress": "ops@harbour.nz"},
      {"Name": "Harbour Gardens", "IsCustomer": true, "EmailAddress": "hi@gardens.nz"}
    ]}
    """#

    /// A connected account whose first sync left two pending matches (one per SortScape look-alike).
    func reviewing(_ p: ConnectPair) throws -> (account: String, admin: String, tenant: String, cookie: String) {
        let (account, admin) = try p.account()
        let tenant = try p.organisation("Harbour Landscaping Ltd")
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts", Self.contacts)
        for body in [#"{"name":"Harbour Landscaping","phone":"09 300 1234"}"#, #"{"name":"harbour gardens","email":"old@gardens.nz"}"#] {
            #expect(try p.request("POST", "/api/v1/contacts", bearer: admin, body: body).status == 201)
        }
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        #expect(try p.dance(cookie: cookie, login: login, tenants: [tenant]).status == 303)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try p.status(admin)["pendingMatches"]?.intValue != 2 { usleep(50_000) }
        #expect(try p.status(admin)["pendingMatches"]?.intValue == 2)
        return (account, admin, tenant, cookie)
    }

    func matches(_ p: ConnectPair, _ admin: String) throws -> [JSON] {
        try JSON.parse(p.request("GET", "/api/v1/xero/matches", bearer: admin).body)["items"]?.arrayValue ?? []
    }

    @Test func r7_theReviewScreenShowsThreeColumnsAndLinksWithTheChosenValues() throws {
        let p = try ConnectPair(realSync: true)
        let (_, admin, tenant, cookie) = try reviewing(p)
        let m = try #require(try matches(p, admin).first { $0["xero"]?["name"]?.stringValue == "HARBOUR  landscaping" })
        let id = try #require(m["id"]?.stringValue), contactId = try #require(m["contactId"]?.stringValue)
        let xeroContactId = try #require(m["xeroContactId"]?.stringValue)

        let screen = try p.request("GET", "/admin/xero/matches", cookie: cookie)
        #expect(screen.status == 200)
        let html = screen.text
        // Xero's value left, the proposal as an input in the middle, SortScape's right; arrows where they differ.
        #expect(html.contains(#"<td class="xero" data-label="In Xero">ops@harbour.nz</td>"#))
        #expect(html.contains(#"<td class="sortscape" data-label="In SortScape">09 300 1234</td>"#))
        #expect(html.contains(#"<input id="phone-\#(id)" name="phone" value="09 300 1234">"#))
        #expect(html.contains(#"data-target="name-\#(id)" data-value="Harbour Landscaping""#))
        #expect(html.contains("Accept values and link") && html.contains("Not the same — import as new"))
        #expect(html.contains(#"<script src="/admin/assets/screens.js""#))
        let js = try p.request("GET", "/admin/assets/screens.js")
        #expect(js.status == 200 && js.header("Content-Type")?.hasPrefix("text/javascript") == true)
        let csp = try #require(screen.header("Content-Security-Policy"))
        #expect(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"))

        // Without its CSRF token the post changes nothing.
        let forged = try p.form("/admin/xero/matches/\(id)/link", cookie: cookie, [("name", "X")])
        #expect(forged.status == 403)
        // A bad value is a sentence on the page, nothing written.
        let csrf = try p.csrf(cookie)
        let empty = try p.form("/admin/xero/matches/\(id)/link", cookie: cookie,
                               [("csrf", csrf), ("name", " "), ("companyName", ""), ("email", "a@b.nz"), ("phone", "")])
        #expect(empty.status == 422 && empty.text.contains("Name must not be empty."))
        #expect(try matches(p, admin).count == 2)

        let linked = try p.form("/admin/xero/matches/\(id)/link", cookie: cookie,
                                [("csrf", csrf), ("name", "Harbour Landscaping Ltd"), ("companyName", ""),
                                 ("email", "ops@harbour.nz"), ("phone", "09 300 1234")])
        #expect(linked.status == 303 && linked.header("Location") == "/admin/xero/matches", "\(linked.status) \(linked.text)")
        let flash = try #require(linked.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        // The message shows once: the page clears the cookie that carried it.
        let after = try p.request("GET", "/admin/xero/matches", headers: [("Cookie", "xg_session=\(cookie); \(flash)")])
        #expect(after.text.contains("Linked. Both records now carry the values you accepted."))
        #expect(after.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(!after.text.contains("match-\(id)"))
        #expect(!(try p.request("GET", "/admin/xero/matches", cookie: cookie).text.contains("Linked.")))

        let contact = try JSON.parse(p.request("GET", "/api/v1/contacts/\(contactId)", bearer: admin).body)
        #expect(contact["name"]?.stringValue == "Harbour Landscaping Ltd" && contact["email"]?.stringValue == "ops@harbour.nz")
        #expect(contact["phone"]?.stringValue == "09 300 1234" && contact["syncState"]?.stringValue == "linked")
        let xero = try p.sim("GET", "/sim/organisations/\(tenant)/contacts/\(xeroContactId)")
        #expect(xero["Name"]?.stringValue == "Harbour Landscaping Ltd")
        #expect(xero["Phones"]?.arrayValue?.contains { $0["PhoneNumber"]?.stringValue == "09 300 1234" } == true)

        // Deciding it again is a sentence on the review, not a JSON error.
        let again = try p.form("/admin/xero/matches/\(id)/dismiss", cookie: cookie, [("csrf", csrf)])
        #expect(again.status == 409 && again.text.contains("That match was already linked."))

        // "Not the same — import as new" on the other.
        let other = try #require(try matches(p, admin).first?["id"]?.stringValue)
        let dismissed = try p.form("/admin/xero/matches/\(other)/dismiss", cookie: cookie, [("csrf", csrf), ("name", "ignored")])
        #expect(dismissed.status == 303 && dismissed.header("Location") == "/admin/xero/matches")
        #expect(try matches(p, admin).isEmpty)
        #expect(try p.request("GET", "/admin/xero/matches", cookie: cookie).text.contains("No customers are waiting to be linked."))
    }

    @Test func r7_staffSeeTheReviewReadOnlyAndCannotDecide() throws {
        let p = try ConnectPair(realSync: true)
        let (account, admin, _, _) = try reviewing(p)
        let staff = try p.gateway.accounts.createUser(accountId: account, role: .staff).token
        let cookie = try p.signIn(staff)
        let screen = try p.request("GET", "/admin/xero/matches", cookie: cookie)
        #expect(screen.status == 200 && screen.text.contains("ops@harbour.nz") && screen.text.contains(" readonly>"))
        #expect(!screen.text.contains("Accept values and link") && screen.text.contains("Only an administrator"))
        let id = try #require(try matches(p, admin).first?["id"]?.stringValue)
        let csrf = try #require(screen.text.firstMatch(of: /name="csrf" value="([^"]+)"/)).1
        for action in ["link", "dismiss"] {
            let r = try p.form("/admin/xero/matches/\(id)/\(action)", cookie: cookie, [("csrf", String(csrf)), ("name", "X")])
            #expect(r.status == 403)
        }
        #expect(try matches(p, admin).count == 2)
        #expect(try p.request("GET", "/admin/xero/matches").status == 303)
    }
}

/// The Xero Integration screen end to end: the connection card in words, its live JSON, a failed
/// sync in red with its sentence.
@Suite(.serialized) struct XeroScreenTests {
    @Test func r17_theScreenSaysWhatTheLastSyncDidAndAFailureInRed() throws {
        let p = try ConnectPair(realSync: true)
        let (_, admin, _, cookie) = try MatchScreenTests().reviewing(p)
        let live = try JSON.parse(p.request("GET", "/admin/xero/status.json", cookie: cookie).body)
        #expect(live["badge"]?.stringValue == "connected" && live["resultFailed"]?.boolValue == false)
        #expect(live["result"]?.stringValue == "2 to review", "\(live)")
        #expect(live["lastSync"]?.stringValue?.hasPrefix("just now (") == true)
        #expect(live["pendingText"]?.stringValue == "2 customers to link or import")
        #expect(try p.request("GET", "/admin/xero/status.json").status == 401)
        let html = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(html.contains(#"<span class="badge connected" id="badge" data-state="connected">Connected</span>"#))
        #expect(html.contains("id=\"sync\"") && !html.contains("id=\"connect\""), "no Connect while connected")
        #expect(html.contains(#"<a href="/admin/xero/matches">Link customers to existing contacts</a>"#))

        // Xero answering 503: the run fails, and the screen says so in red with the sentence.
        try p.sim("POST", "/sim/faults", #"{"kind": "503", "count": 1000}"#)
        let sync = try p.form("/admin/xero/sync", cookie: cookie, [("csrf", try p.csrf(cookie))])
        #expect(sync.status == 303)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try p.status(admin)["lastSyncState"]?.stringValue != "failed" { usleep(100_000) }
        let failed = try JSON.parse(p.request("GET", "/admin/xero/status.json", cookie: cookie).body)
        #expect(failed["badge"]?.stringValue == "failed" && failed["resultFailed"]?.boolValue == true)
        #expect(failed["result"]?.stringValue?.hasPrefix("The last sync failed: ") == true, "\(failed)")
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains(#"<dd id="result" class="bad">The last sync failed: "#))
        // Recent runs, newest first, with their counts and errors.
        let runs = try #require(page.firstRange(of: #"<section class="card" id="runs">"#)).upperBound
        let history = String(page[runs...])
        let manual = try #require(history.firstRange(of: #"<tr class="run failed">"#)), initial = try #require(history.firstRange(of: #"<tr class="run succeeded">"#))
        #expect(manual.lowerBound < initial.lowerBound && history.contains("First import") && history.contains("Sync with Xero"))
        #expect(history.contains("2 to review"))
    }
}
