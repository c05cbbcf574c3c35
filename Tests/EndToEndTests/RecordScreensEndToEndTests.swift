import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Testing

/// The record screens and Disconnect against xero-sim: "Create contact in Xero" (R11) and
/// "Create Xero invoice" (R15) through the engine from the screens, then a Disconnect that
/// removes the connection at Xero and keeps the organisation lock (R3).
@Suite(.serialized) struct RecordScreensEndToEndTests {
    /// A connected account (one organisation) with one SortScape contact Xero does not have.
    func connected(_ p: ConnectPair) throws -> (admin: String, tenant: String, cookie: String, contact: String) {
        let (_, admin) = try p.account()
        let tenant = try p.organisation("Harbour Landscaping Ltd")
        let created = try JSON.parse(p.request("POST", "/api/v1/contacts", bearer: admin, body: #"{"name":"Kauri Builders","email":"jobs@kauri.nz"}"#).body)
        let contact = try #require(created["id"]?.stringValue)
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        #expect(try p.dance(cookie: cookie, login: login, tenants: [tenant]).status == 303)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, try p.status(admin)["lastSync"]?.stringValue == nil { usleep(50_000) }
        return (admin, tenant, cookie, contact)
    }

    @Test func r11_r15_aContactCreatedInXeroAndAVisitInvoicedFromTheirScreens() throws {
        let p = try ConnectPair(realSync: true)
        let (admin, tenant, cookie, contact) = try connected(p)
        let csrf = try p.csrf(cookie)
        let list = try p.request("GET", "/admin/contacts", cookie: cookie).text
        #expect(list.contains("Kauri Builders") && list.contains("Create contact in Xero"))
        let made = try p.form("/admin/contacts/\(contact)/xero", cookie: cookie, [("csrf", csrf), ("back", "list")])
        #expect(made.status == 303 && made.header("Location") == "/admin/contacts", "\(made.status) \(made.text)")
        let linked = try JSON.parse(p.request("GET", "/api/v1/contacts/\(contact)", bearer: admin).body)
        let xeroId = try #require(linked["xeroContactId"]?.stringValue)
        #expect(try p.sim("GET", "/sim/organisations/\(tenant)/contacts/\(xeroId)")["Name"]?.stringValue == "Kauri Builders")
        let page = try p.request("GET", "/admin/contacts/\(contact)", cookie: cookie).text
        #expect(page.contains(#"id="link-state">Linked to Xero<"#) && !page.contains("Create contact in Xero"))

        let visit = try JSON.parse(p.request("POST", "/api/v1/visits", bearer: admin, body: #"""
            {"contactId":"\#(contact)","lines":[{"kind":"labour","description":"Deck repair","quantity":2,"unitPrice":80}]}
            """#).body)
        let id = try #require(visit["id"]?.stringValue)
        #expect(try p.form("/admin/visits/\(id)/complete", cookie: cookie, [("csrf", csrf)]).status == 303)
        let invoiced = try p.form("/admin/visits/\(id)/invoice", cookie: cookie, [("csrf", csrf)])
        #expect(invoiced.status == 303 && invoiced.header("Location") == "/admin/visits/\(id)", "\(invoiced.status) \(invoiced.text)")
        let stored = try JSON.parse(p.request("GET", "/api/v1/visits/\(id)", bearer: admin).body)
        let number = try #require(stored["xeroInvoiceNumber"]?.stringValue)
        let screen = try p.request("GET", "/admin/visits/\(id)", cookie: cookie).text
        #expect(screen.contains(#"<dd id="invoice-number">\#(number)</dd>"#) && screen.contains(#"id="invoice-status">DRAFT<"#))
        #expect(!screen.contains("id=\"create-invoice\""))
        let state = try p.sim("GET", "/sim/state")
        let org = try #require(state["organisations"]?.arrayValue?.first { $0["tenantId"]?.stringValue == tenant })
        #expect(org["invoices"]?.intValue == 1)
        // Again: the same one invoice.
        #expect(try p.form("/admin/visits/\(id)/invoice", cookie: cookie, [("csrf", csrf)]).status == 303)
        #expect(try p.sim("GET", "/sim/state")["organisations"]?.arrayValue?.first { $0["tenantId"]?.stringValue == tenant }?["invoices"]?.intValue == 1)
    }

    @Test func r15_xerosRefusalOfAnInvoiceIsItsSentenceInRedOnTheVisit() throws {
        let p = try ConnectPair(realSync: true)
        let (admin, tenant, cookie, contact) = try connected(p)
        // Approved invoices with no labour account: Xero refuses the line with no account code.
        #expect(try p.request("PATCH", "/api/v1/xero/invoice-settings", bearer: admin, body: #"{"invoiceStatus":"AUTHORISED"}"#).status == 200)
        let visit = try JSON.parse(p.request("POST", "/api/v1/visits", bearer: admin, body: #"""
            {"contactId":"\#(contact)","lines":[{"kind":"labour","description":"Deck repair","quantity":1,"unitPrice":80}]}
            """#).body)
        let id = try #require(visit["id"]?.stringValue)
        let csrf = try p.csrf(cookie)
        #expect(try p.form("/admin/visits/\(id)/complete", cookie: cookie, [("csrf", csrf)]).status == 303)
        let refused = try p.form("/admin/visits/\(id)/invoice", cookie: cookie, [("csrf", csrf)])
        #expect(refused.status == 422, "\(refused.status)")
        let message = try #require(refused.text.firstMatch(of: /<p class="msg err" id="message">([^<]+)<\/p>/)).1
        #expect(message.contains("no sales account") && message.hasSuffix(".") && !message.contains("\n"), "\(message)")
        #expect(!(try p.sim("GET", "/sim/state")["organisations"]?.arrayValue?.contains { $0["tenantId"]?.stringValue == tenant && $0["invoices"]?.intValue != 0 } ?? true))
        #expect(try JSON.parse(p.request("GET", "/api/v1/visits/\(id)", bearer: admin).body)["xeroInvoiceId"] == .null)
    }

    @Test func r3_disconnectRemovesTheConnectionAtXeroAndKeepsTheOrganisationLock() throws {
        let p = try ConnectPair(realSync: true)
        let (admin, tenant, cookie, _) = try connected(p)
        let before = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(before.contains("id=\"disconnect\"") && !before.contains("id=\"connect\""))
        #expect(try p.sim("GET", "/sim/state")["connections"]?.arrayValue?.count == 1)
        let csrf = try p.csrf(cookie)
        #expect(try p.form("/admin/xero/disconnect", cookie: cookie, []).status == 403)
        let r = try p.form("/admin/xero/disconnect", cookie: cookie, [("csrf", csrf)])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero", "\(r.status) \(r.text)")
        #expect(try p.sim("GET", "/sim/state")["connections"]?.arrayValue?.isEmpty == true)
        let status = try p.status(admin)
        #expect(status["state"]?.stringValue == "needs_reconnect" && status["tenantId"]?.stringValue == tenant)
        #expect(try p.tokenRows() == 0)
        let after = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(after.contains("id=\"connect\"") && !after.contains("id=\"disconnect\"") && after.contains(">Disconnected<"))
        // R3: another organisation is still refused; the same one reconnects.
        let other = try p.organisation("Other Org Ltd")
        let refused = try p.dance(cookie: cookie, login: try p.xeroLogin([other]), tenants: [other])
        #expect(refused.status == 409 && refused.text.contains("contact support"), "\(refused.status)")
        let again = try p.dance(cookie: cookie, login: try p.xeroLogin([tenant]), tenants: [tenant])
        #expect(again.status == 303)
        #expect(try p.status(admin)["state"]?.stringValue == "connected")
    }

    @Test func theScreensTellTimeInTheOrganisationsTimeZoneOnceXeroHasSaidWhichItIs() throws {
        let p = try ConnectPair(realSync: true)
        let (_, tenant, cookie, _) = try connected(p)
        try p.sim("PATCH", "/sim/organisations/\(tenant)", #"{"timezone":"AUSEASTERNSTANDARDTIME"}"#)
        var live = try JSON.parse(p.request("GET", "/admin/xero/status.json", cookie: cookie).body)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, live["timesNote"]?.stringValue?.contains("Australia/Sydney") != true {
            usleep(100_000)
            live = try JSON.parse(p.request("GET", "/admin/xero/status.json", cookie: cookie).body)
        }
        #expect(live["timesNote"]?.stringValue == "Times are in the organisation's time zone (Australia/Sydney).", "\(live)")
        let last = try #require(live["lastSync"]?.stringValue)
        #expect(last.hasPrefix("just now (") && !last.hasSuffix("UTC)"), "\(last)")
        #expect(try p.gateway.accounts.organisationTimezone(tenantId: tenant) == "AUSEASTERNSTANDARDTIME")
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains(#"<p class="muted" id="times-note">Times are in the organisation&#39;s time zone (Australia/Sydney).</p>"#))
    }
}
