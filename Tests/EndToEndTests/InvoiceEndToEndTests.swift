import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Synchronization
import Testing
import Xero

/// R15 end to end: the gateway and xero-sim over real HTTP. A completed visit becomes exactly one
/// Xero invoice, with its new contact and items made once, whatever happens on the way: two
/// clicks at once, a timeout, or Xero committing the invoice and the answer being lost.
@Suite(.serialized) struct InvoiceEndToEndTests {
    let k = KeepInStepTests()

    struct Scene {
        let p: ConnectPair
        let admin: String
        let tenant: String
    }

    /// A connected account (the seed imported, webhooks wired).
    func scene() throws -> Scene {
        let (p, admin, tenant) = try k.connected()
        return Scene(p: p, admin: admin, tenant: tenant)
    }

    func json(_ r: ClientResponse) throws -> JSON { try JSON.parse(r.body) }

    func post(_ s: Scene, _ path: String, _ body: String? = nil) throws -> ClientResponse {
        try s.p.request("POST", path, bearer: s.admin, headers: body == nil ? [] : [("Content-Type", "application/json")], body: body)
    }

    func create(_ s: Scene, _ kind: String, _ body: String) throws -> String {
        let r = try post(s, "/api/v1/\(kind)", body)
        #expect(r.status == 201, "\(kind): \(r.text)")
        return try #require(try json(r)["id"]?.stringValue)
    }

    /// A completed visit for a customer Xero has never seen (name `customer`), using a material
    /// Xero has never seen (`material`), the imported Bark Mulch and labour.
    func completedVisit(_ s: Scene, customer: String = "Tui Orchards", material: String = "Pea Straw") throws -> String {
        let contact = try create(s, "contacts", #"{"name":"Mere Tui","companyName":"\#(customer)","email":"mere@tui.nz"}"#)
        let property = try create(s, "properties", #"{"contactId":"\#(contact)","addressLine1":"3 Tui Lane"}"#)
        let straw = try create(s, "materials", #"{"name":"\#(material)","unitPrice":9.5}"#)
        let mulch = try #require(try k.f.all(s.p, s.admin, "materials").first { $0["name"]?.stringValue == "Bark Mulch" }?["id"]?.stringValue)
        let visit = try create(s, "visits", #"""
            {"contactId":"\#(contact)","propertyId":"\#(property)","lines":[
              {"materialId":"\#(straw)","description":"\#(material), 3 bales","quantity":3,"unitPrice":12.3456},
              {"materialId":"\#(mulch)","quantity":2.5},
              {"description":"Pruning","quantity":1.5,"unitPrice":85}]}
            """#)
        #expect(try post(s, "/api/v1/visits/\(visit)/complete").status == 200)
        return visit
    }

    func labourVisit(_ s: Scene, contactNamed name: String) throws -> String {
        let contact = try #require(try k.contact(s.p, s.admin, named: name)["id"]?.stringValue)
        let visit = try create(s, "visits", #"{"contactId":"\#(contact)","lines":[{"description":"Hedge trimming","quantity":2,"unitPrice":72.5}]}"#)
        #expect(try post(s, "/api/v1/visits/\(visit)/complete").status == 200)
        return visit
    }

    func invoice(_ s: Scene, _ visit: String) throws -> ClientResponse { try post(s, "/api/v1/visits/\(visit)/invoice") }

    /// What the organisation holds: contacts, items, invoices.
    func counts(_ s: Scene) throws -> (contacts: Int, items: Int, invoices: Int) {
        let org = try #require(try s.p.sim("GET", "/sim/state")["organisations"]?.arrayValue?.first { $0["tenantId"]?.stringValue == s.tenant })
        return (org["contacts"]?.intValue ?? -1, org["items"]?.intValue ?? -1, org["invoices"]?.intValue ?? -1)
    }

    func xeroInvoices(_ s: Scene, visit: String) throws -> [JSON] {
        (try s.p.sim("GET", "/sim/organisations/\(s.tenant)/invoices")["Invoices"]?.arrayValue ?? [])
            .filter { $0["Reference"]?.stringValue == "SortScape visit \(visit)" }
    }

    func fault(_ s: Scene, count: Int, process: Bool) throws {
        try s.p.sim("POST", "/sim/faults", #"{"kind":"hang","count":\#(count),"path":"/Invoices","method":"PUT","delayMs":3500,"process":\#(process)}"#)
    }

    // MARK: - R15

    @Test func r15_aCompletedVisitBecomesOneDraftSalesInvoiceItsContactAndItemMadeFirstAndWebhooksKeepItsStatus() throws {
        let s = try scene()
        let visit = try completedVisit(s)
        let before = try counts(s)
        let r = try invoice(s, visit)
        #expect(r.status == 200, "\(r.text)")
        let v = try json(r)
        #expect(v["xeroInvoiceNumber"]?.stringValue == "INV-0001" && v["xeroInvoiceStatus"]?.stringValue == "DRAFT")
        let after = try counts(s)
        #expect(after.contacts == before.contacts + 1 && after.items == before.items + 1 && after.invoices == before.invoices + 1)
        let x = try #require(try xeroInvoices(s, visit: visit).first)
        #expect(x["InvoiceID"]?.stringValue == v["xeroInvoiceId"]?.stringValue)
        #expect(x["Type"]?.stringValue == "ACCREC" && x["Status"]?.stringValue == "DRAFT" && x["LineAmountTypes"]?.stringValue == "Exclusive")
        // Its contact: the visit's, now linked (R11); its lines exact, the materials as items (R14).
        let tui = try k.contact(s.p, s.admin, named: "Mere Tui")
        #expect(x["Contact"]?["ContactID"]?.stringValue == tui["xeroContactId"]?.stringValue && tui["syncState"]?.stringValue == "linked")
        #expect(x["Contact"]?["Name"]?.stringValue == "Tui Orchards")
        let lines = try #require(x["LineItems"]?.arrayValue)
        try #require(lines.count == 3)
        let straw = try #require(try k.f.all(s.p, s.admin, "materials").first { $0["name"]?.stringValue == "Pea Straw" })
        #expect(straw["readOnly"]?.boolValue == true)
        #expect(lines[0]["ItemCode"]?.stringValue == straw["code"]?.stringValue && lines[0]["Description"]?.stringValue == "Pea Straw, 3 bales")
        #expect(lines[0]["UnitAmount"].map { JSON.quotedNumber($0) } == "12.3456" && lines[0]["Quantity"]?.doubleValue == 3)
        #expect(lines[1]["ItemCode"]?.stringValue == "MULCH" && lines[1]["Quantity"]?.doubleValue == 2.5
                && lines[1]["UnitAmount"]?.doubleValue == 12.5)
        #expect(lines[2]["ItemCode"] == nil && lines[2]["Description"]?.stringValue == "Pruning" && lines[2]["UnitAmount"]?.doubleValue == 85)
        #expect(lines[2]["TaxType"] == nil, "a draft's line without an account has no tax type")
        // No Date sent: dated by the organisation's own day (New Zealand's).
        let clock = try #require(try s.p.sim("GET", "/sim/clock")["now"]?.stringValue)
        let now = try #require(XeroModelDate.parseAny(clock))
        let day = DateFormatter()
        day.dateFormat = "yyyy-MM-dd"
        day.timeZone = TimeZone(identifier: "Pacific/Auckland")
        #expect(x["DateString"]?.stringValue == day.string(from: Date(timeIntervalSince1970: Double(now) / 1000)) + "T00:00:00")
        let put = try #require(try k.apiCalls(s.p, method: "PUT").last { $0["path"]?.stringValue?.hasSuffix("/Invoices") == true })
        #expect(put["body"]?.stringValue?.contains(#""Date""#) == false)
        #expect(put["headers"]?["Idempotency-Key"]?.stringValue?.hasSuffix("\(visit)-0") == true, "the visit's own key: \(put)")
        // Recorded as an invoice run.
        let run = try #require(try k.f.runs(s.p, s.admin).last { $0["trigger"]?.stringValue == "invoice" })
        #expect(run["state"]?.stringValue == "succeeded" && run["counts"]?["invoicesCreated"]?.intValue == 1)
        // A Xero user approves it: the INVOICE webhook brings the status back.
        let id = try #require(v["xeroInvoiceId"]?.stringValue)
        try s.p.sim("PATCH", "/sim/organisations/\(s.tenant)/invoices/\(id)", #"{"Status":"AUTHORISED"}"#)
        try k.eventually("the visit shows AUTHORISED") {
            try json(s.p.request("GET", "/api/v1/visits/\(visit)", bearer: s.admin))["xeroInvoiceStatus"]?.stringValue == "AUTHORISED"
        }
        // Invoicing it again makes nothing.
        let again = try invoice(s, visit)
        #expect(try again.status == 200 && json(again)["xeroInvoiceId"]?.stringValue == id)
        #expect(try counts(s).invoices == after.invoices)
    }

    @Test func r15_aVisitInvoicedTwiceAtOnceMakesOneInvoiceAndItsContactAndItemOnce() throws {
        let s = try scene()
        let visit = try completedVisit(s)
        let before = try counts(s)
        try s.p.sim("POST", "/sim/limits", #"{"latencyMs": 300}"#)  // both requests in flight together
        let answers = Mutex<[(Int, String?)]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { _ in
            let r = try? invoice(s, visit)
            let id = r.flatMap { try? JSON.parse($0.body)["xeroInvoiceId"]?.stringValue }
            answers.withLock { $0.append((r?.status ?? 0, id)) }
        }
        try s.p.sim("POST", "/sim/limits", #"{"latencyMs": 0}"#)
        let got = answers.withLock { $0 }
        #expect(got.count == 2 && got.allSatisfy { $0.0 == 200 && $0.1 != nil } && Set(got.map(\.1)).count == 1, "\(got)")
        let after = try counts(s)
        #expect(after.invoices == before.invoices + 1 && after.contacts == before.contacts + 1 && after.items == before.items + 1)
        #expect(try xeroInvoices(s, visit: visit).count == 1)
    }

    @Test func r15_aVisitRetriedAfterATimeoutMakesOneInvoice() throws {
        let s = try scene()
        // The client's own retry: the first try hangs (nothing made), the second makes it.
        let first = try completedVisit(s)
        try fault(s, count: 1, process: false)
        let quick = try invoice(s, first)
        #expect(quick.status == 200, "\(quick.text)")
        #expect(try xeroInvoices(s, visit: first).count == 1)
        // Every try hangs: the person is told to try again; the retry makes the one invoice.
        let second = try completedVisit(s, customer: "Rimu Farm", material: "Sheep Pellets")
        let before = try counts(s)
        try fault(s, count: 3, process: false)
        let failed = try invoice(s, second)
        #expect(try failed.status == 502 && json(failed)["error"]?["code"]?.stringValue == "xero_unavailable", "\(failed.text)")
        #expect(try json(failed)["error"]?["message"]?.stringValue?.contains("a retry never makes a second invoice") == true)
        #expect(try xeroInvoices(s, visit: second).isEmpty)
        let mid = try counts(s)
        #expect(mid.contacts == before.contacts + 1 && mid.items == before.items + 1 && mid.invoices == before.invoices)
        let retried = try invoice(s, second)
        #expect(retried.status == 200, "\(retried.text)")
        let after = try counts(s)
        #expect(try xeroInvoices(s, visit: second).count == 1)
        #expect(after.invoices == before.invoices + 1 && after.contacts == mid.contacts && after.items == mid.items,
                "the contact and item were made by the first attempt, once")
    }

    @Test func r15_aVisitRetriedAfterXeroCommittedButTheAnswerWasLostMakesOneInvoice() throws {
        let s = try scene()
        // The client's own retry, under the visit's key: Xero answers with the invoice it made.
        let first = try completedVisit(s)
        try fault(s, count: 1, process: true)
        let replayed = try invoice(s, first)
        #expect(replayed.status == 200, "\(replayed.text)")
        let made = try xeroInvoices(s, visit: first)
        #expect(try made.count == 1 && made.first?["InvoiceID"]?.stringValue == json(replayed)["xeroInvoiceId"]?.stringValue)
        // Every answer lost; the person retries long after, when Xero has forgotten the key: the
        // invoice is found by its reference, none is made.
        let second = try completedVisit(s, customer: "Rimu Farm", material: "Sheep Pellets")
        let before = try counts(s)
        try fault(s, count: 3, process: true)
        #expect(try invoice(s, second).status == 502)
        #expect(try xeroInvoices(s, visit: second).count == 1, "Xero made it")
        #expect(try json(s.p.request("GET", "/api/v1/visits/\(second)", bearer: s.admin))["xeroInvoiceId"]?.isNull == true)
        try s.p.sim("POST", "/sim/clock", #"{"advanceSeconds": 420}"#)
        let found = try invoice(s, second)
        #expect(found.status == 200, "\(found.text)")
        let invoices = try xeroInvoices(s, visit: second)
        #expect(try invoices.count == 1 && invoices.first?["InvoiceID"]?.stringValue == json(found)["xeroInvoiceId"]?.stringValue)
        let after = try counts(s)
        #expect(after.invoices == before.invoices + 1 && after.contacts == before.contacts + 1 && after.items == before.items + 1)
        let run = try #require(try k.f.runs(s.p, s.admin).last { $0["trigger"]?.stringValue == "invoice" })
        #expect(run["counts"]?["invoicesFound"]?.intValue == 1)
    }

    @Test func r15_xerosRefusalsComeBackAsOneSentenceSayingWhatToFixAndTheFixedRetryGoesThrough() throws {
        let s = try scene()
        try s.p.sim("POST", "/sim/webhooks/config", #"{"enabled": false}"#)
        func refusal(_ visit: String) throws -> String {
            let r = try invoice(s, visit)
            #expect(try r.status == 422 && json(r)["error"]?["code"]?.stringValue == "xero_refused", "\(r.text)")
            return try json(r)["error"]?["message"]?.stringValue ?? ""
        }
        // An archived contact.
        let rata = try labourVisit(s, contactNamed: "Rata Gardens")
        let rataXero = try #require(try k.contact(s.p, s.admin, named: "Rata Gardens")["xeroContactId"]?.stringValue)
        try s.p.sim("POST", "/sim/organisations/\(s.tenant)/contacts/\(rataXero)/archive")
        let archived = try refusal(rata)
        #expect(archived.contains("Rata Gardens is archived in Xero") && archived.contains("restore the contact in Xero"), "\(archived)")
        try s.p.sim("POST", "/sim/organisations/\(s.tenant)/contacts/\(rataXero)/restore")
        #expect(try invoice(s, rata).status == 200, "restored: the retry is not answered with the refusal Xero remembers")
        // A missing account code (approved invoices).
        #expect(try s.p.request("PATCH", "/api/v1/xero/invoice-settings", bearer: s.admin, body: #"{"invoiceStatus":"AUTHORISED"}"#).status == 200)
        let kauri = try labourVisit(s, contactNamed: "Kauri Landscapes")
        let account = try refusal(kauri)
        #expect(account.contains("no sales account") && account.contains("labour account in the invoice settings"), "\(account)")
        #expect(try s.p.request("PATCH", "/api/v1/xero/invoice-settings", bearer: s.admin, body: #"{"labourAccountCode":"200"}"#).status == 200)
        // A locked period.
        try s.p.sim("PATCH", "/sim/organisations/\(s.tenant)", #"{"endOfYearLockDate":"2099-12-31"}"#)
        let locked = try refusal(kauri)
        #expect(locked.contains("locked in Xero") && locked.contains("31-Dec-2099"), "\(locked)")
        try s.p.sim("PATCH", "/sim/organisations/\(s.tenant)", #"{"endOfYearLockDate":null}"#)
        let approved = try invoice(s, kauri)
        #expect(try approved.status == 200 && json(approved)["xeroInvoiceStatus"]?.stringValue == "AUTHORISED", "\(approved.text)")
        // Each refusal is one sentence, recorded on its run.
        let failedRuns = try k.f.runs(s.p, s.admin).filter { $0["trigger"]?.stringValue == "invoice" && $0["state"]?.stringValue == "failed" }
        #expect(failedRuns.compactMap { $0["errors"]?.arrayValue?.first?.stringValue } == [archived, account, locked])
        for sentence in [archived, account, locked] { #expect(sentence.hasSuffix(".") && !sentence.contains("\n")) }
        #expect(try xeroInvoices(s, visit: rata).count == 1 && xeroInvoices(s, visit: kauri).count == 1)
    }
}
