import Foundation
import HTTPClient
import Testing
import Xero
import XeroSimulator
import StrictJSON

/// One connected organisation, ready for accounting calls.
struct Connected {
    let h: Harness
    let tenant: String
    let token: String

    init(seed: SimulatorConfiguration.Seed = .empty, webhookURL: String? = nil) throws {
        h = try Harness(seed: seed, webhookURL: webhookURL)
        tenant = try h.organisation("Harbour Landscaping Ltd")
        try h.login("owner@harbour.test", tenants: [tenant])
        token = try h.connect("owner@harbour.test").access
    }

    @discardableResult
    func api(_ method: String, _ path: String, _ body: String? = nil, headers: [(String, String)] = [],
             timeout: Double = 30) throws -> Harness.Reply {
        try h.api(method, path, token: token, tenant: tenant, body: body, headers: headers, timeout: timeout)
    }

    /// Creates contacts through the control API; returns their ids.
    @discardableResult
    func seedContacts(_ json: String) throws -> [String] {
        try h.control("POST", "/sim/organisations/\(tenant)/contacts", json)["ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }
}

func contacts(_ r: Harness.Reply) -> [JSON] { r.json["Contacts"]?.arrayValue ?? [] }

@Suite("xero-sim contacts", .serialized)
struct ContactsTests {
    @Test("paging, pageSize up to 1000, IDs, includeArchived, where, searchTerm, order, If-Modified-Since")
    func listing() throws {
        let c = try Connected()
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts",
                        #"{"generate":{"count":250,"prefix":"Customer","archivedEvery":10},"webhooks":false}"#)

        let p1 = try c.api("GET", "/Contacts?page=1")
        #expect(p1.status == 200)
        #expect(p1.json["pagination"] == JSON.object([("page", .number(1)), ("pageSize", .number(100)),
                                                       ("pageCount", .number(3)), ("itemCount", .number(225))]))
        #expect(contacts(p1).count == 100)
        #expect(contacts(p1).first?["Name"]?.stringValue == "Customer 001")
        #expect(p1.json.keys == ["Id", "Status", "ProviderName", "DateTimeUTC", "pagination", "Contacts"])
        #expect(p1.text.contains(#""DateTimeUTC":"\/Date("#))
        #expect(p1.text.contains(#""UpdatedDateUTC":"\/Date("#) && p1.text.contains(#"+0000)\/""#))
        let first = try #require(contacts(p1).first)
        #expect(first["Addresses"]?.arrayValue?.count == 2)
        #expect(first["Phones"]?.arrayValue?.compactMap { $0["PhoneType"]?.stringValue } == ["DEFAULT", "DDI", "FAX", "MOBILE"])
        #expect(first["Balances"] != nil)

        #expect(contacts(try c.api("GET", "/Contacts?page=3")).count == 25)
        #expect(contacts(try c.api("GET", "/Contacts?page=4")).isEmpty)
        let big = try c.api("GET", "/Contacts?page=1&pageSize=5000")
        #expect(big.json["pagination"]?["pageSize"]?.intValue == 1000)
        #expect(contacts(big).count == 225)
        let all = try c.api("GET", "/Contacts?page=1&pageSize=1000&includeArchived=True")
        #expect(contacts(all).count == 250)
        let unpaged = try c.api("GET", "/Contacts")
        #expect(unpaged.json["pagination"] == nil)
        #expect(contacts(unpaged).count == 225)
        #expect(contacts(unpaged).first?["Balances"] == nil)

        let archived = try #require(contacts(all).first { $0["ContactStatus"]?.stringValue == "ARCHIVED" }?["ContactID"]?.stringValue)
        let active = try #require(contacts(all).first { $0["ContactStatus"]?.stringValue == "ACTIVE" }?["ContactID"]?.stringValue)
        #expect(contacts(try c.api("GET", "/Contacts?IDs=\(active),\(archived)")).count == 1)
        #expect(contacts(try c.api("GET", "/Contacts?IDs=\(active),\(archived)&includeArchived=true")).count == 2)
        #expect(contacts(try c.api("GET", "/Contacts?IDs=\(active.uppercased())")).first?["ContactID"]?.stringValue == active)

        let q = FormEncode.encode
        #expect(contacts(try c.api("GET", "/Contacts?where=" + q(#"Name=="Customer 042""#))).count == 1)
        #expect(contacts(try c.api("GET", "/Contacts?where=" + q(#"Name=="customer 042""#))).count == 1)
        #expect(contacts(try c.api("GET", "/Contacts?includeArchived=true&where=" + q(#"ContactStatus=="ARCHIVED""#))).count == 25)
        #expect(contacts(try c.api("GET", "/Contacts?where=" + q(#"IsCustomer==true AND ContactStatus=="ACTIVE""#))).count == 100)
        #expect(contacts(try c.api("GET", "/Contacts?includeArchived=true&where=" + q(#"IsSupplier==true && IsCustomer==true"#))).count == 25)
        #expect(contacts(try c.api("GET", "/Contacts?where=" + q(#"EmailAddress=="contact007@customer.example.com""#))).count == 1)
        let badWhere = try c.api("GET", "/Contacts?where=" + q(#"Colour=="red""#))
        #expect(badWhere.status == 400)
        #expect(badWhere.json["Type"]?.stringValue == "QueryParseException")
        #expect(contacts(try c.api("GET", "/Contacts?searchTerm=ustomer%2019")).count == 9)
        #expect(contacts(try c.api("GET", "/Contacts?order=Name%20DESC&page=1")).first?["Name"]?.stringValue == "Customer 249")

        // If-Modified-Since: only what changed after the mark (ISO, UTC, to the second).
        try c.h.advanceClock(5)
        let mark = try #require(c.h.control("GET", "/sim/clock")["now"]?.stringValue)
        try c.h.advanceClock(5)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(active)", #"{"EmailAddress":"new@example.com"}"#)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts/\(archived)/restore")
        let changed = try c.api("GET", "/Contacts?page=1&includeArchived=true", headers: [("If-Modified-Since", mark)])
        #expect(Set(contacts(changed).compactMap { $0["ContactID"]?.stringValue }) == [active, archived])
        let sdkStyle = mark.replacingOccurrences(of: "Z", with: "+00:00")
        #expect(contacts(try c.api("GET", "/Contacts", headers: [("If-Modified-Since", sdkStyle)])).count == 2)

        // Single contact and Xero's plain-text 404.
        let one = try c.api("GET", "/Contacts/\(archived)")
        #expect(contacts(one).count == 1)
        let missing = try c.api("GET", "/Contacts/\(UUID().uuidString)")
        #expect(missing.status == 404)
        #expect(missing.text == "The resource you're looking for cannot be found")
        #expect(missing.header("Content-Type")?.hasPrefix("text/plain") == true)
        #expect(try c.api("GET", "/NoSuchThing").status == 404)
    }

    @Test("duplicate names: per-element errors with summarizeErrors=false, ValidationException otherwise")
    func duplicateNames() throws {
        let c = try Connected()
        let ids = try c.seedContacts(#"{"Contacts":[{"Name":"Harbour View Cafe","EmailAddress":"accounts@harbourviewcafe.co.nz"}]}"#)
        let cafe = try #require(ids.first)
        let message = "The contact name Harbour View Cafe is already assigned to another contact. The contact name must be unique across all active contacts."

        let mixed = try c.api("POST", "/Contacts?summarizeErrors=false",
                              #"{"Contacts":[{"Name":"Tidewater Plumbing Ltd","EmailAddress":"office@tidewater.co.nz"},{"Name":"Harbour View Cafe","EmailAddress":"hello@harbourviewcafe.co.nz"}]}"#)
        #expect(mixed.status == 200)
        let list = contacts(mixed)
        try #require(list.count == 2)
        #expect(list[0]["StatusAttributeString"]?.stringValue == "OK")
        #expect(list[0]["ContactID"]?.stringValue?.count == 36)
        #expect(list[1]["StatusAttributeString"]?.stringValue == "ERROR")
        #expect(list[1]["ContactID"]?.stringValue == "00000000-0000-0000-0000-000000000000")
        #expect(list[1]["HasValidationErrors"] == .bool(true))
        #expect(list[1]["ValidationErrors"]?.arrayValue?.first?["Message"]?.stringValue == message)
        // Same element shapes as Xero's fixture.
        let fixture = try #require(try JSON.parse(Fixtures.contactsPostSummarizeErrorsFalse)["Contacts"]?.arrayValue)
        try #require(fixture.count == 2)
        #expect(list[0].keys == fixture[0].keys)
        #expect(list[1].keys == fixture[1].keys)

        let summarized = try c.api("PUT", "/Contacts",
                                   #"{"Contacts":[{"Name":"harbour view cafe"},{"Name":"Rangi Ellison","EmailAddress":"rangi.ellison@@example"},{"Name":"Valid Newco"}]}"#)
        #expect(summarized.status == 400)
        let error = try ValidationException(json: summarized.json)
        #expect(error.errorNumber == 10 && error.type == "ValidationException")
        #expect(error.elements.count == 2)
        #expect(error.validationMessages == [
            "The contact name harbour view cafe is already assigned to another contact. The contact name must be unique across all active contacts.",
            "Email address must be valid.",
        ])
        // Not transactional: the valid element was created anyway.
        #expect(contacts(try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"Name=="Valid Newco""#))).count == 1)

        // Archiving frees the name; restoring the old one then collides.
        let archive = try c.api("POST", "/Contacts/\(cafe)", #"{"Contacts":[{"ContactStatus":"ARCHIVED"}]}"#)
        #expect(archive.status == 200)
        #expect(contacts(archive).first?["ContactStatus"]?.stringValue == "ARCHIVED")
        #expect(try c.api("PUT", "/Contacts", #"{"Contacts":[{"Name":"Harbour View Cafe"}]}"#).status == 200)
        let restore = try c.api("POST", "/Contacts/\(cafe)", #"{"ContactStatus":"ACTIVE"}"#)
        #expect(restore.status == 400)
        #expect(try ValidationException(json: restore.json).validationMessages == [message])
        // The control API enforces the same rule.
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts", #"{"Contacts":[{"Name":"Harbour View Cafe"}]}"#, expect: 400)
        // IsCustomer cannot be set through the API.
        let flags = try c.api("POST", "/Contacts", #"{"Contacts":[{"Name":"Flag Tester","IsCustomer":true,"IsSupplier":true}]}"#)
        #expect(contacts(flags).first?["IsCustomer"] == .bool(false))
        #expect(contacts(flags).first?["IsSupplier"] == .bool(false))
    }

    @Test("updates: partial fields, addresses and phones by type, ContactNumber match, unknown id")
    func updates() throws {
        let c = try Connected()
        let created = try c.api("PUT", "/Contacts", #"""
        {"Contacts":[{"Name":"Greenleaf Property Management","ContactNumber":"GL-1","EmailAddress":"a@greenleaf.test",
          "Addresses":[{"AddressType":"STREET","AddressLine1":"88 Willis Street","City":"Wellington","PostalCode":"6011"}],
          "Phones":[{"PhoneType":"MOBILE","PhoneNumber":"555 0101","PhoneAreaCode":"021","PhoneCountryCode":"64"}]}]}
        """#)
        #expect(created.status == 200)
        let c0 = try #require(contacts(created).first)
        let id = try #require(c0["ContactID"]?.stringValue)
        #expect(c0["Addresses"]?.arrayValue?.map { $0["AddressType"]?.stringValue } == ["STREET", "POBOX"])
        #expect(c0["Phones"]?.arrayValue?.first { $0["PhoneType"]?.stringValue == "MOBILE" }?["PhoneAreaCode"]?.stringValue == "021")

        // Found by its ContactNumber (the gateway's R11 marker looks contacts up this way).
        let numbered = try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"ContactNumber=="GL-1""#))
        #expect(contacts(numbered).map { $0["ContactID"]?.stringValue } == [id])
        #expect(contacts(try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"ContactNumber=="GL-2""#))).isEmpty)

        let upd = try c.api("POST", "/Contacts", #"{"Contacts":[{"ContactNumber":"GL-1","Phones":[{"PhoneType":"DEFAULT","PhoneNumber":"499 2100","PhoneAreaCode":"04"}]}]}"#)
        let u = try #require(contacts(upd).first)
        #expect(u["ContactID"]?.stringValue == id)
        #expect(u["EmailAddress"]?.stringValue == "a@greenleaf.test")
        let phones = u["Phones"]?.arrayValue ?? []
        #expect(phones.first { $0["PhoneType"]?.stringValue == "DEFAULT" }?["PhoneNumber"]?.stringValue == "499 2100")
        #expect(phones.first { $0["PhoneType"]?.stringValue == "MOBILE" }?["PhoneNumber"]?.stringValue == "555 0101")

        let unknown = try c.api("POST", "/Contacts?summarizeErrors=false", #"{"Contacts":[{"ContactID":"\#(UUID().uuidString)","Name":"Ghost"}]}"#)
        #expect(contacts(unknown).first?["StatusAttributeString"]?.stringValue == "ERROR")
        #expect(try c.api("POST", "/Contacts/\(UUID().uuidString)", #"{"Name":"Ghost"}"#).status == 404)
        let bad = try c.api("POST", "/Contacts", "{not json")
        #expect(bad.status == 400)
        #expect(bad.json["Type"]?.stringValue == "PostDataInvalidException")
        let badType = try c.api("POST", "/Contacts", #"{"Contacts":[{"Name":"X","Addresses":[{"AddressType":"DELIVERY"}]}]}"#)
        #expect(badType.status == 400)
    }

    @Test("IsCustomer turns true with a sales invoice without moving UpdatedDateUTC; flags flip the same way")
    func customerFlag() throws {
        let c = try Connected()
        let id = try #require(c.seedContacts(#"{"Contacts":[{"Name":"Jane Smith","EmailAddress":"jane@example.com"}]}"#).first)
        let before = try #require(contacts(try c.api("GET", "/Contacts/\(id)")).first)
        #expect(before["IsCustomer"] == .bool(false))
        let stamp = try #require(before["UpdatedDateUTC"])
        try c.h.advanceClock(120)
        let mark = try #require(c.h.control("GET", "/sim/clock")["now"]?.stringValue)

        let inv = try c.api("PUT", "/Invoices", #"{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"\#(id)"},"LineItems":[{"Description":"Garden tidy","Quantity":1,"UnitAmount":120}]}]}"#)
        #expect(inv.status == 200, "\(inv.text)")
        let after = try #require(contacts(try c.api("GET", "/Contacts/\(id)")).first)
        #expect(after["IsCustomer"] == .bool(true))
        #expect(after["UpdatedDateUTC"] == stamp)
        #expect(contacts(try c.api("GET", "/Contacts", headers: [("If-Modified-Since", mark)])).isEmpty)

        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts/\(id)/flags", #"{"IsSupplier":true}"#)
        let flipped = try #require(contacts(try c.api("GET", "/Contacts/\(id)")).first)
        #expect(flipped["IsSupplier"] == .bool(true))
        #expect(flipped["UpdatedDateUTC"] == stamp)
    }

    @Test("merge: the merged contact is archived with MergedToContactID (paged and single GETs show it)")
    func merge() throws {
        let c = try Connected()
        let ids = try c.seedContacts(#"{"Contacts":[{"Name":"Harbour View Cafe"},{"Name":"Harbour View Café Ltd"}]}"#)
        try #require(ids.count == 2)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts/\(ids[1])/merge", #"{"into":"\#(ids[0])"}"#)
        let merged = try #require(contacts(try c.api("GET", "/Contacts/\(ids[1])")).first)
        #expect(merged["ContactStatus"]?.stringValue == "ARCHIVED")
        #expect(merged["MergedToContactID"]?.stringValue == ids[0])
        let paged = contacts(try c.api("GET", "/Contacts?page=1&includeArchived=true&IDs=\(ids[1])"))
        #expect(paged.first?["MergedToContactID"]?.stringValue == ids[0])
        let unpaged = contacts(try c.api("GET", "/Contacts?includeArchived=true&IDs=\(ids[1])"))
        #expect(unpaged.first?["MergedToContactID"] == nil)
    }

    @Test("100 000 contacts load through the control API in seconds (timing printed, not asserted)")
    func bulkLoad() throws {
        let c = try Connected()
        var started = Date()
        let gen = try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts",
                                  #"{"generate":{"count":100000,"prefix":"Bulk Customer"},"webhooks":false}"#)
        let generated = Date().timeIntervalSince(started)
        #expect(gen["created"]?.intValue == 100_000)

        // The same number again as an explicit Xero-shaped list (about 20 MB of JSON).
        var body = "{\"webhooks\":false,\"returnIds\":false,\"Contacts\":["
        body.reserveCapacity(22_000_000)
        for n in 0..<100_000 {
            if n > 0 { body += "," }
            body += #"{"Name":"Listed Contact \#(n)","EmailAddress":"listed\#(n)@example.com","Phones":[{"PhoneType":"MOBILE","PhoneNumber":"555 \#(n % 10000)","PhoneAreaCode":"021","PhoneCountryCode":"64"}],"Addresses":[{"AddressType":"STREET","AddressLine1":"\#(n) Example Road","City":"Wellington","PostalCode":"6011"}]}"#
        }
        body += "]}"
        started = Date()
        let listed = try c.h.send("POST", "/sim/organisations/\(c.tenant)/contacts", headers: [("Content-Type", "application/json")],
                                  body: body, timeout: 300)
        let listedSeconds = Date().timeIntervalSince(started)
        #expect(listed.status == 201, "\(listed.text.prefix(300))")

        started = Date()
        let page = try c.api("GET", "/Contacts?page=150&pageSize=1000")
        let pageSeconds = Date().timeIntervalSince(started)
        #expect(contacts(page).count == 1000)
        #expect(page.json["pagination"]?["itemCount"]?.intValue == 200_000)
        started = Date()
        _ = try c.api("GET", "/Contacts?page=151&pageSize=1000")
        let cachedPageSeconds = Date().timeIntervalSince(started)
        print("bulk load: 100000 generated contacts in \(fmt(generated)) s; 100000 listed contacts (\(body.utf8.count / 1_000_000) MB JSON) in \(fmt(listedSeconds)) s; first page of 1000 out of 200000 in \(fmt(pageSeconds)) s, next page in \(fmt(cachedPageSeconds)) s")
    }
}

func fmt(_ d: Double) -> String { String(format: "%.2f", d) }
