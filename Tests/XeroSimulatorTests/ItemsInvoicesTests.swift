import Foundation
import HTTPClient
import Testing
import Xero
import XeroSimulator
import StrictJSON

func items(_ r: Harness.Reply) -> [JSON] { r.json["Items"]?.arrayValue ?? [] }
func invoices(_ r: Harness.Reply) -> [JSON] { r.json["Invoices"]?.arrayValue ?? [] }

@Suite("xero-sim items and invoices", .serialized)
struct ItemsInvoicesTests {
    @Test("items: create, duplicate code, limits, update, unitdp, If-Modified-Since, delete")
    func itemsCrud() throws {
        let c = try Connected()
        let created = try c.api("PUT", "/Items", #"{"Items":[{"Code":"Item-1"}]}"#)
        #expect(created.status == 200)
        let id = try #require(items(created).first?["ItemID"]?.stringValue)
        #expect(created.json["pagination"] == nil)

        let dup = try c.api("PUT", "/Items", #"{"Items":[{"Code":"item-1","Name":"Again"}]}"#)
        #expect(dup.status == 400)
        #expect(try ValidationException(json: dup.json).validationMessages == ["Price List Item with Code 'item-1' already exists"])
        let dupList = try c.api("PUT", "/Items?summarizeErrors=false", #"{"Items":[{"Code":"Item-1"},{"Code":"Item-2"}]}"#)
        #expect(dupList.status == 200)
        #expect(items(dupList).map { $0["StatusAttributeString"]?.stringValue } == ["ERROR", "OK"])

        let tooLong = try c.api("PUT", "/Items", #"{"Items":[{"Code":"\#(String(repeating: "C", count: 31))"}]}"#)
        #expect(tooLong.status == 400)
        let longName = try c.api("PUT", "/Items", #"{"Items":[{"Code":"OK-1","Name":"\#(String(repeating: "n", count: 51))"}]}"#)
        #expect(longName.status == 400)
        let noCode = try c.api("PUT", "/Items", #"{"Items":[{"Name":"No code"}]}"#)
        #expect(noCode.status == 400)

        try c.h.advanceClock(3)
        let mark = try #require(c.h.control("GET", "/sim/clock")["now"]?.stringValue)
        try c.h.advanceClock(3)
        let upd = try c.api("POST", "/Items/\(id)?unitdp=4", #"{"Name":"Widget","Description":"A widget","SalesDetails":{"UnitPrice":12.34567,"AccountCode":"200","TaxType":"OUTPUT2"}}"#)
        #expect(upd.status == 200, "\(upd.text)")
        #expect(upd.text.contains(#""UnitPrice":12.3457"#))
        let two = try c.api("GET", "/Items/\(id)")
        #expect(two.text.contains(#""UnitPrice":12.35"#))
        #expect(try c.api("GET", "/Items/Item-1").status == 200)
        let changed = try c.api("GET", "/Items", headers: [("If-Modified-Since", mark)])
        #expect(items(changed).compactMap { $0["Code"]?.stringValue } == ["Item-1"])
        let byCode = try c.api("GET", "/Items?where=" + FormEncode.encode(#"Code=="Item-2""#))
        #expect(items(byCode).count == 1)
        // POST /Items with an existing Code updates it.
        let viaCode = try c.api("POST", "/Items", #"{"Items":[{"Code":"Item-2","Name":"Second"}]}"#)
        #expect(items(viaCode).first?["Name"]?.stringValue == "Second")
        #expect(items(try c.api("GET", "/Items")).count == 2)

        #expect(try c.api("DELETE", "/Items/\(id)").status == 204)
        let gone = try c.api("GET", "/Items/\(id)")
        #expect(gone.status == 404)
        #expect(gone.text == "The resource you're looking for cannot be found")
        #expect(try c.api("DELETE", "/Items/\(id)").status == 404)
        // The code is free again.
        #expect(try c.api("PUT", "/Items", #"{"Items":[{"Code":"Item-1"}]}"#).status == 200)
    }

    @Test("the fixture invoice: same totals, per-line rounding, dates and shape as Xero's answer")
    func fixtureInvoice() throws {
        let c = try Connected()
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts", #"""
        {"Contacts":[{"ContactID":"5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c","ContactNumber":"CUST-0042","AccountNumber":"HV-1001",
          "Name":"Harbour View Cafe Ltd","FirstName":"Aroha","LastName":"Ngata","EmailAddress":"accounts@harbourviewcafe.co.nz",
          "ContactPersons":[{"FirstName":"Tom","LastName":"Reid","EmailAddress":"tom@harbourviewcafe.co.nz","IncludeInEmails":true}]}]}
        """#)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/items", #"""
        {"Items":[{"Code":"PUMP-2HP","Name":"Water pump 2HP","SalesDetails":{"UnitPrice":349,"AccountCode":"200","TaxType":"OUTPUT2"}},
                  {"Code":"SVC-INSTALL","Name":"Installation labour (hourly)","SalesDetails":{"UnitPrice":95,"AccountCode":"200","TaxType":"OUTPUT2"}}]}
        """#)
        let r = try c.api("PUT", "/Invoices", Fixtures.invoicePutRequest)
        #expect(r.status == 200, "\(r.text)")
        let ours = try #require(invoices(r).first)
        let theirs = try #require(try JSON.parse(Fixtures.invoicePutResponse)["Invoices"]?.arrayValue?.first)
        #expect(r.json.keys == ["Id", "Status", "ProviderName", "DateTimeUTC", "Invoices"])
        #expect(Set(ours.keys) == Set(theirs.keys), "keys differ: \(Set(ours.keys).symmetricDifference(Set(theirs.keys)))")
        for key in ["Type", "Reference", "AmountDue", "AmountPaid", "SubTotal", "TotalTax", "Total", "Status", "LineAmountTypes",
                    "DateString", "Date", "DueDateString", "DueDate", "CurrencyCode", "CurrencyRate", "StatusAttributeString"] {
            #expect(ours[key] == theirs[key], "\(key): \(String(describing: ours[key])) vs \(String(describing: theirs[key]))")
        }
        #expect(ours["InvoiceNumber"]?.stringValue == "INV-0001")
        let ourLines = try #require(ours["LineItems"]?.arrayValue), theirLines = try #require(theirs["LineItems"]?.arrayValue)
        #expect(ourLines.count == 2)
        for (a, b) in zip(ourLines, theirLines) {
            #expect(Set(a.keys) == Set(b.keys))
            for key in ["ItemCode", "Description", "UnitAmount", "TaxType", "TaxAmount", "LineAmount", "AccountCode", "AccountID", "Quantity"] {
                #expect(a[key] == b[key], "line \(key)")
            }
            #expect(a["Item"]?["Code"] == b["Item"]?["Code"])
        }
        #expect(ours["Contact"].map { Set($0.keys) } == theirs["Contact"].map { Set($0.keys) })
        #expect(ours["Contact"]?["IsCustomer"] == .bool(true))
        // Wire form: exact decimals and escaped dates.
        for text in [#""SubTotal":1030.50"#, #""TotalTax":154.58"#, #""Total":1185.08"#, #""Quantity":2.0000"#,
                     #""UnitAmount":349.00"#, #""TaxAmount":49.88"#, #""CurrencyRate":1.000000"#,
                     #""Date":"\/Date(1784678400000+0000)\/""#, #""DateString":"2026-07-22T00:00:00""#] {
            #expect(r.text.contains(text), "missing \(text)")
        }
        // GET by id and by number.
        let id = try #require(ours["InvoiceID"]?.stringValue)
        #expect(invoices(try c.api("GET", "/Invoices/\(id)")).first?["Total"] == theirs["Total"])
        #expect(invoices(try c.api("GET", "/Invoices/INV-0001")).first?["InvoiceID"]?.stringValue == id)
        let paged = try c.api("GET", "/Invoices?page=1&Statuses=AUTHORISED")
        #expect(paged.json["pagination"]?["itemCount"]?.intValue == 1)
    }

    @Test("Idempotency-Key: the same key and body replays the answer; a different body is refused")
    func idempotency() throws {
        let c = try Connected()
        let contact = try #require(c.seedContacts(#"{"Contacts":[{"Name":"Greenleaf Property Management"}]}"#).first)
        let body = #"{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"\#(contact)"},"Status":"AUTHORISED","LineItems":[{"Description":"Visit 42: hedge trimming","Quantity":2,"UnitAmount":72.5,"AccountCode":"200"}]}]}"#
        let key = [("Idempotency-Key", "visit-42")]
        let first = try c.api("PUT", "/Invoices", body, headers: key)
        #expect(first.status == 200)
        let id = try #require(invoices(first).first?["InvoiceID"]?.stringValue)
        #expect(invoices(first).first?["InvoiceNumber"]?.stringValue == "INV-0001")

        let second = try c.api("PUT", "/Invoices", body, headers: key)
        #expect(second.status == 200)
        #expect(second.body == first.body)
        #expect(invoices(second).first?["InvoiceID"]?.stringValue == id)

        let changed = try c.api("PUT", "/Invoices", body.replacingOccurrences(of: "72.5", with: "80"), headers: key)
        #expect(changed.status == 400)
        #expect(invoices(try c.api("GET", "/Invoices")).count == 1)

        let other = try c.api("PUT", "/Invoices", body, headers: [("Idempotency-Key", "visit-43")])
        #expect(invoices(other).first?["InvoiceNumber"]?.stringValue == "INV-0002")
        // Keys are remembered for a while only.
        try c.h.advanceClock(7 * 60)
        let later = try c.api("PUT", "/Invoices", body, headers: key)
        #expect(invoices(later).first?["InvoiceID"]?.stringValue != id)
    }

    @Test("an archived contact, an unknown item and a missing account code are refused with clear messages")
    func invoiceRefusals() throws {
        let c = try Connected()
        let ids = try c.seedContacts(#"{"Contacts":[{"Name":"Old Mill Bakery"},{"Name":"Kowhai Kindergarten"}]}"#)
        try #require(ids.count == 2)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts/\(ids[0])/archive")
        func invoice(_ contact: String, _ line: String, status: String = "DRAFT") -> String {
            #"{"Invoices":[{"Type":"ACCREC","Status":"\#(status)","Contact":{"ContactID":"\#(contact)"},"LineItems":[\#(line)]}]}"#
        }
        let archived = try c.api("PUT", "/Invoices", invoice(ids[0], #"{"Description":"Bread","Quantity":1,"UnitAmount":5}"#))
        #expect(archived.status == 400)
        let messages = try ValidationException(json: archived.json).validationMessages
        #expect(messages.count == 1 && messages.first?.contains("archived") == true, "\(messages)")

        let list = try c.api("PUT", "/Invoices?summarizeErrors=false", invoice(ids[0], #"{"Description":"Bread","Quantity":1,"UnitAmount":5}"#))
        #expect(list.status == 200)
        #expect(invoices(list).first?["HasErrors"] == .bool(true))
        #expect(invoices(list).first?["StatusAttributeString"]?.stringValue == "ERROR")

        let unknownItem = try c.api("PUT", "/Invoices", invoice(ids[1], #"{"ItemCode":"NOPE","Quantity":1}"#))
        #expect(try ValidationException(json: unknownItem.json).validationMessages == ["Item code 'NOPE' is not valid."])
        let noAccount = try c.api("PUT", "/Invoices", invoice(ids[1], #"{"Description":"Labour","Quantity":1,"UnitAmount":50}"#, status: "AUTHORISED"))
        #expect(try ValidationException(json: noAccount.json).validationMessages == ["Account code '' is not a valid code for this document."])
        let missingContact = try c.api("PUT", "/Invoices", invoice(UUID().uuidString, #"{"Description":"Labour","Quantity":1,"UnitAmount":50}"#))
        #expect(missingContact.status == 400)
        // A draft without an account code is fine; a new contact name creates the contact.
        #expect(try c.api("PUT", "/Invoices", invoice(ids[1], #"{"Description":"Labour","Quantity":1,"UnitAmount":50}"#)).status == 200)
        let byName = try c.api("PUT", "/Invoices", #"{"Invoices":[{"Type":"ACCREC","Contact":{"Name":"Brand New Customer"},"LineItems":[{"Description":"Labour","Quantity":1,"UnitAmount":50}]}]}"#)
        #expect(byName.status == 200)
        #expect(contacts(try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"Name=="Brand New Customer""#))).first?["IsCustomer"] == .bool(true))
    }
}
