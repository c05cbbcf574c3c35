import Foundation
import HTTPClient
import Testing
import Xero
import XeroSimulator
import StrictJSON

/// What Xero does with the invoices the gateway sends (R15): its own day dates them, lines are
/// required, a draft's line without an account has no tax type, the lock date refuses approval,
/// and the fault that makes exactly-once hard: the invoice is committed and the answer lost.
@Suite("xero-sim invoice rules", .serialized)
struct InvoiceRulesTests {
    /// A connected organisation with one customer; its id.
    func customer(_ c: Connected) throws -> String {
        try #require(try c.seedContacts(#"{"Contacts":[{"Name":"Kowhai Kindergarten"}]}"#).first)
    }

    func invoice(_ contact: String, status: String = "DRAFT", lines: String = #"[{"Description":"Labour","Quantity":1,"UnitAmount":50}]"#,
                 extra: String = "") -> String {
        #"{"Invoices":[{"Type":"ACCREC","Status":"\#(status)","Contact":{"ContactID":"\#(contact)"}\#(extra),"LineItems":\#(lines)}]}"#
    }

    @Test("an invoice sent without a Date is dated by the organisation's own day, in its time zone")
    func datedByTheOrganisationsDay() throws {
        let c = try Connected()
        let contact = try customer(c)
        // 13:30 UTC on 21 July is 01:30 on 22 July in New Zealand (NZST, UTC+12).
        try c.h.control("POST", "/sim/clock", #"{"set":"2026-07-21T13:30:00Z"}"#)
        let nz = try #require(invoices(try c.api("PUT", "/Invoices", invoice(contact))).first)
        #expect(nz["DateString"]?.stringValue == "2026-07-22T00:00:00", "\(nz)")
        #expect(nz["Date"]?.stringValue == "/Date(1784678400000+0000)/")
        let org = try #require(try c.api("GET", "/Organisation").json["Organisations"]?.arrayValue?.first)
        #expect(org["Timezone"]?.stringValue == "NEWZEALANDSTANDARDTIME")
        // The same moment in an organisation kept in London is still the 21st; a Date given is kept.
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"timezone":"GMTSTANDARDTIME"}"#)
        let uk = try #require(invoices(try c.api("PUT", "/Invoices", invoice(contact))).first)
        #expect(uk["DateString"]?.stringValue == "2026-07-21T00:00:00")
        let given = try #require(invoices(try c.api("PUT", "/Invoices", invoice(contact, extra: #","Date":"2026-07-01""#))).first)
        #expect(given["DateString"]?.stringValue == "2026-07-01T00:00:00")
        // New Zealand summer time (UTC+13): 11:30 UTC on 31 December is already 1 January.
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"timezone":"NEWZEALANDSTANDARDTIME"}"#)
        try c.h.control("POST", "/sim/clock", #"{"set":"2026-12-31T11:30:00Z"}"#)
        let token = try c.h.connect("owner@harbour.test").access  // the first one has expired by then
        let summer = try #require(invoices(try c.h.api("PUT", "/Invoices", token: token, tenant: c.tenant, body: invoice(contact))).first)
        #expect(summer["DateString"]?.stringValue == "2027-01-01T00:00:00")
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"timezone":"MARS"}"#, expect: 400)
    }

    @Test("an invoice without lines is refused, and nothing is stored")
    func noLinesIsRefused() throws {
        let c = try Connected()
        let contact = try customer(c)
        for lines in ["[]", "null"] {
            let r = try c.api("PUT", "/Invoices", invoice(contact, lines: lines))
            #expect(r.status == 400)
            #expect(try ValidationException(json: r.json).validationMessages == ["One or more line items must be specified"], "\(r.text)")
        }
        let list = try c.api("PUT", "/Invoices?summarizeErrors=false", invoice(contact, status: "AUTHORISED", lines: "[]"))
        #expect(list.status == 200)
        #expect(invoices(list).first?["StatusAttributeString"]?.stringValue == "ERROR")
        #expect(invoices(try c.api("GET", "/Invoices")).isEmpty)
    }

    @Test("a DRAFT line without an account code has no tax type, as in Xero; approving it needs the account")
    func draftLineWithoutAccountHasNoTaxType() throws {
        let c = try Connected()
        let contact = try customer(c)
        let r = try c.api("PUT", "/Invoices", invoice(contact, lines: #"[{"Description":"Labour","Quantity":2,"UnitAmount":50},{"Description":"Mulch","Quantity":1,"UnitAmount":10,"AccountCode":"200"}]"#))
        #expect(r.status == 200, "\(r.text)")
        let inv = try #require(invoices(r).first)
        let lines = try #require(inv["LineItems"]?.arrayValue)
        try #require(lines.count == 2)
        #expect(lines[0]["TaxType"] == nil && lines[0]["AccountCode"] == nil, "\(lines[0])")
        #expect(lines[0]["TaxAmount"] == .number(0, raw: "0.00"))
        #expect(lines[1]["TaxType"]?.stringValue == "OUTPUT2" && lines[1]["TaxAmount"]?.doubleValue == 1.5)
        #expect(inv["SubTotal"]?.doubleValue == 110 && inv["TotalTax"]?.doubleValue == 1.5 && inv["Total"]?.doubleValue == 111.5)
        // The control API lists it as a Xero user sees it (four places).
        let listed = try #require(try c.h.control("GET", "/sim/organisations/\(c.tenant)/invoices")["Invoices"]?.arrayValue)
        #expect(listed.count == 1 && listed.first?["InvoiceID"] == inv["InvoiceID"])
        #expect(listed.first?["LineItems"]?.arrayValue?.first?["UnitAmount"] == .number(50, raw: "50.0000"))
        // Approving it later, with the line still without an account, is refused.
        let id = try #require(inv["InvoiceID"]?.stringValue)
        let approve = try c.api("POST", "/Invoices/\(id)", #"{"Invoices":[{"Status":"AUTHORISED"}]}"#)
        #expect(try ValidationException(json: approve.json).validationMessages == ["Account code '' is not a valid code for this document."])
    }

    @Test("the end of year lock date refuses approving an invoice dated on or before it; drafts are not posted")
    func lockDateRefusesApproval() throws {
        let c = try Connected()
        let contact = try customer(c)
        try c.h.control("POST", "/sim/clock", #"{"set":"2026-07-22T01:00:00Z"}"#)
        let set = try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"endOfYearLockDate":"2026-07-31"}"#)
        #expect(set["endOfYearLockDate"]?.stringValue == "2026-07-31")
        let line = #"[{"Description":"Labour","Quantity":1,"UnitAmount":50,"AccountCode":"200"}]"#
        let locked = try c.api("PUT", "/Invoices", invoice(contact, status: "AUTHORISED", lines: line))
        #expect(locked.status == 400)
        #expect(try ValidationException(json: locked.json).validationMessages
                == ["The document date cannot be before the end of year lock date, currently set at 31-Jul-2026"])
        #expect(try c.api("PUT", "/Invoices", invoice(contact, lines: line)).status == 200, "a draft may be dated in a locked period")
        let later = try c.api("PUT", "/Invoices", invoice(contact, status: "AUTHORISED", lines: line, extra: #","Date":"2026-08-01""#))
        #expect(later.status == 200)
        let org = try #require(try c.api("GET", "/Organisation").json["Organisations"]?.arrayValue?.first)
        #expect(org["EndOfYearLockDate"]?.stringValue == "/Date(1785456000000+0000)/")
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"endOfYearLockDate":null}"#)
        let unlocked = try c.api("PUT", "/Invoices", invoice(contact, status: "AUTHORISED", lines: line))
        #expect(unlocked.status == 200, "\(unlocked.text)")
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)", #"{"endOfYearLockDate":"31/07/2026"}"#, expect: 400)
    }

    @Test("the answer-lost fault: Xero commits the invoice and never answers; the same key then answers with that invoice")
    func answerLostFault() throws {
        let c = try Connected()
        let contact = try customer(c)
        try c.h.control("POST", "/sim/faults", #"{"kind":"hang","count":1,"path":"/Invoices","method":"PUT","delayMs":3000,"process":true}"#)
        let body = invoice(contact)
        let key = [("Idempotency-Key", "visit-7")]
        #expect(throws: ClientError.self) { try c.api("PUT", "/Invoices", body, headers: key, timeout: 0.5) }
        // Committed all the same: Xero has it, and a retry under the same key gets it back.
        let stored = invoices(try c.api("GET", "/Invoices"))
        try #require(stored.count == 1)
        let retry = try c.api("PUT", "/Invoices", body, headers: key)
        #expect(retry.status == 200)
        #expect(invoices(retry).first?["InvoiceID"] == stored.first?["InvoiceID"])
        #expect(invoices(try c.api("GET", "/Invoices")).count == 1)
        // Without `process`, the hung call is not carried out: nothing is committed.
        try c.h.control("POST", "/sim/faults", #"{"kind":"hang","count":1,"path":"/Invoices","method":"PUT","delayMs":3000,"process":false}"#)
        #expect(throws: ClientError.self) { try c.api("PUT", "/Invoices", body, headers: [("Idempotency-Key", "visit-8")], timeout: 0.5) }
        #expect(invoices(try c.api("GET", "/Invoices")).count == 1)
        let calls = try c.h.control("GET", "/sim/calls?path=/Invoices&method=PUT")["calls"]?.arrayValue ?? []
        #expect(calls.compactMap { $0["fault"]?.stringValue } == ["hang", "hang"])
    }
}
