import Foundation
import HTTPClient
import Store
import Testing

/// The record screens (contacts, materials, visits) without Xero: who sees what, who may act,
/// CSRF, R13's read-only linked materials, completing a visit.
@Suite struct RecordScreenTests {
    struct Signed {
        let g: TestGateway
        let cookie: String
        func get(_ path: String) throws -> ClientResponse {
            try g.request("GET", path, headers: [("Cookie", "xg_session=\(cookie)")])
        }
        func post(_ path: String, _ fields: [(String, String)]) throws -> ClientResponse {
            let body = fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            return try g.request("POST", path, headers: [("Cookie", "xg_session=\(cookie)"),
                                                         ("Content-Type", "application/x-www-form-urlencoded")], body: Array(body.utf8))
        }
        func csrf() throws -> String {
            let html = try get("/admin/contacts").text
            return String(try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)).1)
        }
    }

    func signIn(_ g: TestGateway, _ token: String) throws -> Signed {
        let r = try g.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                              body: Array("token=\(token)".utf8))
        let header = try #require(r.header("Set-Cookie"))
        return Signed(g: g, cookie: String(try #require(header.split(separator: ";").first).dropFirst("xg_session=".count)))
    }

    /// An account with a contact, a linked and an unlinked material and an open visit.
    func seeded() throws -> (g: TestGateway, admin: Signed, staff: Signed, contact: String, linked: String, unlinked: String, visit: String) {
        let g = try TestGateway()
        let account = try g.gateway.accounts.createAccount(name: "Screens Co")
        let accountId = try #require(account.accountId)
        let staff = try g.gateway.accounts.createUser(accountId: accountId, role: .staff).token
        let records = g.gateway.records
        let contact = try records.contacts.insert(ContactRecord(id: "", accountId: accountId, name: "Kowhai Nursery", email: "hi@kowhai.nz"))
        let linked = try records.materials.insert(MaterialRecord(id: "", accountId: accountId, name: "Bark mulch 40L", unitPrice: 12_5000,
                                                                 xeroItemId: "6a2e9c1d-0000-4000-8000-000000000001"))
        let unlinked = try records.materials.insert(MaterialRecord(id: "", accountId: accountId, name: "Weed mat", unitPrice: 4_5000))
        let visit = try records.visits.insert(VisitRecord(id: "", accountId: accountId, contactId: contact.id, lines: [
            .material(unlinked.id, "Weed mat", quantity: 2_5000, unitPrice: 4_5000),
            .labour("Planting", quantity: 1_5000, unitPrice: 65_0000),
        ]))
        return (g, try signIn(g, account.token), try signIn(g, staff), contact.id, linked.id, unlinked.id, visit.id)
    }

    @Test func r11_r13_r15_staffSeeTheRecordScreensReadOnlyAndEveryActionIs403() throws {
        let s = try seeded()
        for path in ["/admin/contacts", "/admin/contacts/\(s.contact)", "/admin/materials", "/admin/materials/\(s.unlinked)",
                     "/admin/visits", "/admin/visits/\(s.visit)"] {
            let r = try s.staff.get(path)
            #expect(r.status == 200, "\(path)")
            #expect(r.header("Content-Security-Policy")?.contains("frame-ancestors 'none'") == true && r.header("Cache-Control") == "no-store")
            for action in ["Create contact in Xero", "id=\"save\"", "id=\"complete\"", "Create Xero invoice", "class=\"edit\""] {
                #expect(!r.text.contains(action), "\(path) shows \(action) to staff")
            }
            #expect(r.text.contains(#"<a href="/admin/contacts""#) && r.text.contains(#"<a href="/admin/visits""#), "navigation on \(path)")
        }
        #expect(try s.staff.get("/admin/visits/\(s.visit)").text.contains("Only an administrator can complete visits"))
        let csrf = try s.staff.csrf()
        for path in ["/admin/contacts/\(s.contact)/xero", "/admin/materials/\(s.unlinked)", "/admin/visits/\(s.visit)/complete",
                     "/admin/visits/\(s.visit)/invoice", "/admin/xero/disconnect"] {
            let r = try s.staff.post(path, [("csrf", csrf), ("name", "Changed"), ("unitPrice", "1")])
            #expect(r.status == 403, "\(path)")
        }
        let accountId = try #require(try s.g.gateway.accounts.accounts().first?.id)
        #expect(try s.g.gateway.records.visits.get(accountId: accountId, id: s.visit)?.status == .scheduled)
    }

    @Test func r15_theRecordScreensNeedASessionAndTheirFormsTheCSRFToken() throws {
        let s = try seeded()
        for path in ["/admin/contacts", "/admin/materials", "/admin/visits/\(s.visit)"] {
            let r = try s.g.request("GET", path)
            #expect(r.status == 303 && r.header("Location") == "/admin", "\(path)")
        }
        let anonymous = Signed(g: s.g, cookie: "nobody")
        #expect(try anonymous.post("/admin/visits/\(s.visit)/complete", [("csrf", "x")]).status == 401)
        for path in ["/admin/contacts/\(s.contact)/xero", "/admin/materials/\(s.unlinked)", "/admin/visits/\(s.visit)/complete",
                     "/admin/visits/\(s.visit)/invoice", "/admin/xero/disconnect"] {
            #expect(try s.admin.post(path, [("name", "Changed"), ("unitPrice", "1")]).status == 403, "\(path) without CSRF")
            #expect(try s.admin.post(path, [("csrf", "wrong"), ("name", "Changed"), ("unitPrice", "1")]).status == 403, "\(path)")
        }
        let accountId = try #require(try s.g.gateway.accounts.accounts().first?.id)
        #expect(try s.g.gateway.records.visits.get(accountId: accountId, id: s.visit)?.status == .scheduled)
        #expect(try s.g.gateway.records.materials.get(accountId: accountId, id: s.unlinked)?.name == "Weed mat")
    }

    @Test func r13_aLinkedMaterialIsReadOnlyOnTheScreenAndItsEditIs409WithTheReason() throws {
        let s = try seeded()
        let accountId = try #require(try s.g.gateway.accounts.accounts().first?.id)
        let list = try s.admin.get("/admin/materials").text
        #expect(list.contains("Read-only here: managed in Xero") && list.contains(#"<a href="/admin/materials/\#(s.unlinked)" class="edit">Edit</a>"#))
        #expect(!list.contains(#"<a href="/admin/materials/\#(s.linked)" class="edit">"#))
        let page = try s.admin.get("/admin/materials/\(s.linked)").text
        #expect(page.contains("managed in Xero") && !page.contains("id=\"save\""))
        let csrf = try s.admin.csrf()
        let refused = try s.admin.post("/admin/materials/\(s.linked)", [("csrf", csrf), ("name", "Renamed"), ("code", ""),
                                                                       ("description", ""), ("unitPrice", "1")])
        #expect(refused.status == 409 && refused.text.contains("This material is linked to a Xero item and is managed in Xero; edit it there."))
        #expect(try s.g.gateway.records.materials.get(accountId: accountId, id: s.linked)?.name == "Bark mulch 40L")

        // An unlinked one is edited by an admin, the price exactly, and the message shows once.
        let bad = try s.admin.post("/admin/materials/\(s.unlinked)", [("csrf", csrf), ("name", "Weed mat 2m"), ("code", "WM2"),
                                                                     ("description", ""), ("unitPrice", "4.12345")])
        #expect(bad.status == 422 && bad.text.contains("Unit price must be a number with at most 4 decimals") && bad.text.contains(#"value="Weed mat 2m""#))
        let saved = try s.admin.post("/admin/materials/\(s.unlinked)", [("csrf", csrf), ("name", "Weed mat 2m"), ("code", "WM2"),
                                                                       ("description", "Per metre"), ("unitPrice", "4.1235")])
        #expect(saved.status == 303 && saved.header("Location") == "/admin/materials")
        let m = try #require(try s.g.gateway.records.materials.get(accountId: accountId, id: s.unlinked))
        #expect(m.name == "Weed mat 2m" && m.code == "WM2" && m.description == "Per metre" && m.unitPrice == 4_1235)
        let flash = try #require(saved.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let after = try s.g.request("GET", "/admin/materials", headers: [("Cookie", "xg_session=\(s.admin.cookie); \(flash)")])
        #expect(after.text.contains("The material was saved.") && after.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(!(try s.admin.get("/admin/materials").text.contains("The material was saved.")))
    }

    @Test func r15_anAdminCompletesAVisitOnItsScreenAndTheInvoiceWaitsForAConnection() throws {
        let s = try seeded()
        let accountId = try #require(try s.g.gateway.accounts.accounts().first?.id)
        let page = try s.admin.get("/admin/visits/\(s.visit)").text
        // 2.5 × 4.50 = 11.25; 1.5 × 65 = 97.50.
        #expect(page.contains(">11.25<") && page.contains(">97.50<") && page.contains(#"<td class="num" id="total" data-label="Total before tax">108.75</td>"#))
        #expect(page.contains("id=\"complete\"") && !page.contains("id=\"create-invoice\""))
        let csrf = try s.admin.csrf()
        let done = try s.admin.post("/admin/visits/\(s.visit)/complete", [("csrf", csrf)])
        #expect(done.status == 303 && done.header("Location") == "/admin/visits/\(s.visit)")
        #expect(try s.g.gateway.records.visits.get(accountId: accountId, id: s.visit)?.status == .completed)
        let completed = try s.admin.get("/admin/visits/\(s.visit)").text
        #expect(completed.contains("id=\"create-invoice\"") && !completed.contains("id=\"complete\""))
        // Not connected to Xero: the sentence in red, nothing invoiced.
        let refused = try s.admin.post("/admin/visits/\(s.visit)/invoice", [("csrf", csrf)])
        #expect(refused.status == 409 && refused.text.contains(#"<p class="msg err" id="message">"#), "\(refused.status)")
        #expect(try s.g.gateway.records.visits.get(accountId: accountId, id: s.visit)?.invoiced == false)
        let list = try s.admin.get("/admin/visits").text
        #expect(list.contains("Kowhai Nursery") && list.contains("Completed") && list.contains("108.75"))
    }

    @Test func r11_contactsAreListedWithTheirLinkStateAndSearched() throws {
        let s = try seeded()
        let accountId = try #require(try s.g.gateway.accounts.accounts().first?.id)
        _ = try s.g.gateway.records.contacts.insert(ContactRecord(id: "", accountId: accountId, name: "Tōtara Homes",
                                                                 xeroContactId: "8d1c2b3a-0000-4000-8000-000000000002", syncState: .linked))
        let list = try s.admin.get("/admin/contacts").text
        #expect(list.contains("Kowhai Nursery") && list.contains("Linked to Xero") && list.contains("Not in Xero"))
        // Not connected: no Create in Xero yet, a note instead.
        #expect(!list.contains("Create contact in Xero") && list.contains("Connect to Xero to create it there"))
        let found = try s.admin.get("/admin/contacts?q=totara").text
        #expect(found.contains("Tōtara Homes") && !found.contains("Kowhai Nursery"))
        #expect(try s.admin.get("/admin/contacts?cursor=zzz").status == 400)
        #expect(try s.admin.get("/admin/contacts/nope").status == 404)
    }
}
