import Foundation
import StrictJSON
import Testing
import Xero

/// The accounting client's invoice calls (R15) against xero-sim: exact to four places, created
/// with their idempotency key, found again by reference and by id.
@Suite(.serialized) struct InvoiceClientTests {
    let c = XeroClientTests()

    func customer(_ x: SimulatedXero) throws -> String {
        try #require(try x.control("POST", "/sim/organisations/\(x.tenant)/contacts",
                                   #"{"Contacts":[{"Name":"Totara \"North\" Ltd"}]}"#)["ids"]?.arrayValue?.first?.stringValue)
    }

    @Test func r15_anInvoiceIsCreatedUnderItsKeyWithExactLinesAndFoundAgainByReferenceAndId() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try c.connected(x)
        let contact = try customer(x)
        var invoice = Invoice(type: .accRec, contact: Contact(contactID: contact), lineItems: [
            LineItem(description: "Hedge trimming", quantity: Decimal4(units: 25_000), unitAmount: Decimal4(units: 123_456)),
        ])
        invoice.status = .draft
        invoice.reference = #"SortScape visit "v-1""#
        let saved = try client.createInvoices(tenantId: x.tenant, [invoice], idempotencyKey: "invoice-a-v-1-0")
        let made = try #require(saved.first)
        let id = try #require(made.invoiceID)
        #expect(made.invoiceNumber == "INV-0001" && made.status == .draft && (made.validationErrors ?? []).isEmpty)
        #expect(made.lineItems?.first?.unitAmount == Decimal4(units: 123_456) && made.lineItems?.first?.quantity == Decimal4(units: 25_000))
        // What went over the wire: PUT, its key, four places, no Date.
        let put = try #require(try x.loggedCalls(path: "/Invoices").first { $0["method"]?.stringValue == "PUT" })
        #expect(put["query"]?.stringValue == "summarizeErrors=false&unitdp=4")
        #expect(put["headers"]?["Idempotency-Key"]?.stringValue == "invoice-a-v-1-0", "\(put)")
        let body = try #require(put["body"]?.stringValue)
        #expect(body.contains(#""UnitAmount":12.3456"#) && !body.contains(#""Date""#), "\(body)")
        // Found again: by its reference (quotes and all), and by id.
        #expect(try client.invoices(tenantId: x.tenant, reference: #"SortScape visit "v-1""#).compactMap(\.invoiceID) == [id])
        #expect(try client.invoices(tenantId: x.tenant, reference: "SortScape visit v-2").isEmpty)
        let byId = try client.invoices(tenantId: x.tenant, ids: [id])
        #expect(byId.map(\.invoiceNumber) == ["INV-0001"] && byId.first?.status == .draft)
        // The same key with the same request: the same invoice, nothing new.
        let again = try client.createInvoices(tenantId: x.tenant, [invoice], idempotencyKey: "invoice-a-v-1-0")
        #expect(again.first?.invoiceID == id)
        #expect(try client.invoices(tenantId: x.tenant, reference: #"SortScape visit "v-1""#).count == 1)
    }

    @Test func r15_xerosRefusalsComeBackAsValidationErrorsWithTheirMessages() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try c.connected(x)
        let contact = try customer(x)
        // An element Xero refused comes back with its own errors (summarizeErrors=false).
        let empty = try client.createInvoices(tenantId: x.tenant, [Invoice(type: .accRec, contact: Contact(contactID: contact), lineItems: [])],
                                              idempotencyKey: "empty-1")
        #expect(empty.first?.validationErrors?.map(\.message) == ["One or more line items must be specified"])
        // A key used before with another request: a 400 whose message says so.
        let line = LineItem(description: "Labour", quantity: Decimal4(1), unitAmount: Decimal4(50))
        _ = try client.createInvoices(tenantId: x.tenant, [Invoice(type: .accRec, contact: Contact(contactID: contact), lineItems: [line])],
                                      idempotencyKey: "key-1")
        var other = line
        other.unitAmount = Decimal4(60)
        #expect {
            try client.createInvoices(tenantId: x.tenant, [Invoice(type: .accRec, contact: Contact(contactID: contact), lineItems: [other])],
                                      idempotencyKey: "key-1")
        } throws: { e in
            guard let e = e as? XeroAPIError else { return false }
            return e.code == .validation && e.message.contains("Idempotency-Key")
        }
    }
}
