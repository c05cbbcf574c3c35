import Foundation
import HTTPClient
import Testing
import Xero
import XeroSimulator
import StrictJSON

@Suite("xero-sim control API and demo seed", .serialized)
struct ControlTests {
    @Test("the demo seed: customers, suppliers, both, neither, archived, both address types, split phones, a price list")
    func demoSeed() throws {
        let h = try Harness(seed: .demo)
        let t = try h.connect(Simulator.demoLoginEmail, tenants: [Simulator.demoTenantId])
        let all = contacts(try h.api("GET", "/Contacts?page=1&includeArchived=true", token: t.access, tenant: Simulator.demoTenantId))
        func flag(_ c: JSON, _ k: String) -> Bool { c[k] == .bool(true) }
        let active = all.filter { $0["ContactStatus"]?.stringValue == "ACTIVE" }
        #expect(active.contains { flag($0, "IsCustomer") && !flag($0, "IsSupplier") })
        #expect(active.contains { !flag($0, "IsCustomer") && flag($0, "IsSupplier") })
        #expect(active.contains { flag($0, "IsCustomer") && flag($0, "IsSupplier") })
        #expect(active.contains { !flag($0, "IsCustomer") && !flag($0, "IsSupplier") })
        #expect(all.filter { $0["ContactStatus"]?.stringValue == "ARCHIVED" }.count >= 2)
        let names = Set(all.compactMap { $0["Name"]?.stringValue })
        #expect(names.isSuperset(of: ["Harbour View Cafe", "Greenleaf Property Management", "Jane Smith"]))
        let cafe = try #require(all.first { $0["Name"]?.stringValue == "Harbour View Cafe" })
        let lines = (cafe["Addresses"]?.arrayValue ?? []).map { ($0["AddressType"]?.stringValue ?? "", $0["AddressLine1"]?.stringValue ?? "") }
        #expect(lines.contains { $0.0 == "STREET" && !$0.1.isEmpty } && lines.contains { $0.0 == "POBOX" && !$0.1.isEmpty })
        let phone = try #require(cafe["Phones"]?.arrayValue?.first { $0["PhoneType"]?.stringValue == "DEFAULT" })
        #expect(phone["PhoneCountryCode"]?.stringValue == "64" && phone["PhoneAreaCode"]?.stringValue == "04")
        #expect(cafe["Balances"]?["AccountsReceivable"]?["Outstanding"] != .number(0, raw: "0.00"))

        let list = try h.api("GET", "/Items?unitdp=4", token: t.access, tenant: Simulator.demoTenantId)
        #expect(items(list).count >= 10)
        #expect(list.text.contains(#""UnitPrice":8.1250"#))
        #expect(items(list).contains { $0["IsSold"] == .bool(false) })

        let org = try h.api("GET", "/Organisation", token: t.access, tenant: Simulator.demoTenantId)
        #expect(org.json["Organisations"]?.arrayValue?.first?["Name"]?.stringValue == "Harbour Landscaping Ltd")

        // Reset forgets everything, and can seed again.
        let reset = try h.control("POST", "/sim/reset", #"{"seed":"demo"}"#)
        #expect(reset["demo"]?["tenantId"]?.stringValue == Simulator.demoTenantId)
        #expect(try h.api("GET", "/Contacts", token: t.access, tenant: Simulator.demoTenantId).status == 401)
        try h.control("POST", "/sim/reset")
        #expect(try h.control("GET", "/sim/state")["organisations"]?.arrayValue?.isEmpty == true)
    }

    @Test("items and invoices changed as a Xero user would; the Swift conveniences")
    func controlItemsInvoices() throws {
        let receiver = try WebhookReceiver(key: Harness.webhookKey)
        let c = try Connected()
        c.h.sim.setWebhookURL(receiver.url)
        try c.h.control("POST", "/sim/webhooks/config", #"{"batchDelayMs":20}"#)
        let made = try c.h.control("POST", "/sim/organisations/\(c.tenant)/items",
                                   #"{"Items":[{"Code":"MAT-SOIL","Name":"Garden soil","SalesDetails":{"UnitPrice":"89.1234"}}]}"#)
        let itemId = try #require(made["ids"]?.arrayValue?.first?.stringValue)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/items", #"{"Items":[{"Code":"mat-soil"}]}"#, expect: 400)
        try c.h.advanceClock(2)
        let mark = try #require(c.h.control("GET", "/sim/clock")["now"]?.stringValue)
        try c.h.advanceClock(2)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/items/\(itemId)", #"{"Name":"Premium garden soil"}"#)
        let changed = items(try c.api("GET", "/Items?unitdp=4", headers: [("If-Modified-Since", mark)]))
        #expect(changed.first?["Name"]?.stringValue == "Premium garden soil")
        #expect(changed.first?["SalesDetails"]?["UnitPrice"] == .number(89.1234, raw: "89.1234"))
        let soil = try c.h.send("DELETE", "/sim/organisations/\(c.tenant)/items/MAT-SOIL")
        #expect(soil.status == 204)
        #expect(items(try c.api("GET", "/Items")).isEmpty)

        let cid = try #require(c.seedContacts(#"{"Contacts":[{"Name":"Rata Street Dental"}]}"#).first)
        let inv = try c.api("PUT", "/Invoices", #"{"Invoices":[{"Type":"ACCREC","Status":"AUTHORISED","Contact":{"ContactID":"\#(cid)"},"LineItems":[{"Description":"Planting","Quantity":1,"UnitAmount":100,"AccountCode":"200"}]}]}"#)
        let invoiceId = try #require(invoices(inv).first?["InvoiceID"]?.stringValue)
        let paid = try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/invoices/\(invoiceId)", #"{"Status":"PAID"}"#)
        #expect(paid["Status"]?.stringValue == "PAID")
        #expect(paid["AmountDue"] == .number(0, raw: "0.00"))
        #expect(Harness.eventually { receiver.validEvents.filter { $0["eventCategory"]?.stringValue == "INVOICE" }.count == 2 })
        #expect(receiver.validEvents.last?["eventType"]?.stringValue == "UPDATE")
        // Items never produce webhooks.
        #expect(!receiver.validEvents.contains { $0["resourceUrl"]?.stringValue?.contains("/Items/") == true })

        // Swift conveniences.
        let redirect = try c.h.sim.consentRedirect(login: "owner@harbour.test", redirectURI: Harness.redirect, state: "s")
        #expect(Harness.queryItem(redirect, "state") == "s")
        #expect(throws: Simulator.ControlError.self) {
            try c.h.sim.consentRedirect(login: "nobody@nowhere.test", redirectURI: Harness.redirect)
        }
        let before = c.h.sim.now
        c.h.sim.advanceClock(seconds: 3600)
        #expect(c.h.sim.now - before >= 3_600_000)
        #expect(Harness.eventually { c.h.sim.webhooksIdle })
    }

    @Test("webhook delay and reorder faults: a held payload arrives after the next one")
    func webhookReorder() throws {
        let receiver = try WebhookReceiver(key: Harness.webhookKey)
        let c = try Connected(webhookURL: receiver.url)
        try c.h.control("POST", "/sim/webhooks/config", #"{"batchDelayMs":10}"#)
        let ids = try c.seedContacts(#"{"Contacts":[{"Name":"First Ltd"},{"Name":"Second Ltd"}],"webhooks":false}"#)
        try #require(ids.count == 2)
        try c.h.control("POST", "/sim/faults", #"{"kind":"reorder"}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(ids[0])", #"{"EmailAddress":"a@first.test"}"#)
        usleep(100_000)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(ids[1])", #"{"EmailAddress":"b@second.test"}"#)
        #expect(Harness.eventually { receiver.validEvents.count == 2 })
        #expect(receiver.validEvents.compactMap { $0["resourceId"]?.stringValue } == [ids[1], ids[0]])

        try c.h.control("POST", "/sim/faults", #"{"kind":"delay","delayMs":1500}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(ids[0])", #"{"EmailAddress":"c@first.test"}"#)
        usleep(100_000)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(ids[1])", #"{"EmailAddress":"d@second.test"}"#)
        #expect(Harness.eventually { receiver.validEvents.count == 4 })
        #expect(receiver.validEvents.suffix(2).compactMap { $0["resourceId"]?.stringValue } == [ids[1], ids[0]])
        let faults = try c.h.control("GET", "/sim/faults")["faults"]?.arrayValue ?? []
        #expect(faults.isEmpty)
    }

    @Test("bad control input gets a clear 4xx and changes nothing")
    func badInput() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        try h.control("POST", "/sim/organisations/\(a)/contacts", "{oops", expect: 400)
        try h.control("POST", "/sim/organisations/\(a)/contacts", #"{"Contacts":[{"Name":"Ok"},{"Name":""}]}"#, expect: 400)
        try h.control("POST", "/sim/organisations/\(a)/contacts", #"{"Contacts":[{"Name":"Twin"},{"Name":"twin"}]}"#, expect: 400)
        #expect(try h.control("GET", "/sim/state")["organisations"]?.arrayValue?.first?["contacts"]?.intValue == 0)
        try h.control("POST", "/sim/organisations/\(UUID().uuidString)/contacts", #"{"Contacts":[]}"#, expect: 404)
        try h.control("POST", "/sim/faults", #"{"kind":"teapot"}"#, expect: 400)
        try h.control("POST", "/sim/clock", #"{"advanceSeconds":-5}"#, expect: 400)
        try h.control("POST", "/sim/limits", #"{"perMinute":-1}"#, expect: 400)
        try h.control("POST", "/sim/logins", #"{"email":"x@y.test","tenantIds":["\#(UUID().uuidString)"]}"#, expect: 404)
        try h.control("GET", "/sim/nothing", expect: 404)
        let wrongMethod = try h.send("PATCH", "/api.xro/2.0/Contacts")
        #expect(wrongMethod.status == 405)
    }
}
