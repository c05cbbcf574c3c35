import Foundation
import Store
@testable import Sync
import Testing
import Xero

/// R15 through the engine against the fake Xero: a completed visit becomes one invoice, its
/// contact and items first; retries find what Xero made; refusals are sentences.
@Suite struct InvoiceTests {
    /// A completed visit of an unlinked contact: a line of an unlinked material and a labour line.
    func completedVisit(_ h: SyncHarness, contact: ContactRecord? = nil, material: String = "Pea Straw") throws -> VisitRecord {
        let c = try contact ?? h.records.contacts.insert(ContactRecord(id: "", accountId: h.accountId, name: "Jo Bloggs",
                                                                           companyName: "Matai Builders"))
        let straw = try h.records.materials.insert(MaterialRecord(id: "", accountId: h.accountId, name: material, unitPrice: 95_000))
        return try h.records.visits.insert(VisitRecord(
            id: "", accountId: h.accountId, contactId: c.id, status: .completed, completedAt: h.clock.timestamp(),
            lines: [.material(straw.id, "Pea straw, 3 bales", quantity: 30_000, unitPrice: 123_456),
                    .labour("Mulching", quantity: 15_000, unitPrice: 850_000)]))
    }

    func invoices(_ h: SyncHarness) -> [Invoice] { h.xero.state.withLock { $0.invoices } }
    func calls(_ h: SyncHarness, _ name: String) -> Int { h.xero.calls.filter { $0 == name }.count }

    func lastRun(_ h: SyncHarness) throws -> SyncRunRecord {
        try #require(try h.repository.runs(accountId: h.accountId, limit: 100, cursor: nil).items.last)
    }

    @Test func r15_aCompletedVisitBecomesOneSalesInvoiceWithItsContactAndItemsMadeFirst() throws {
        let h = try SyncHarness()
        let visit = try completedVisit(h)
        let invoiced = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        #expect(h.xero.calls == ["contacts numbered", "contacts named", "save contacts", "items named", "save items", "invoices by reference", "create invoices"])
        let sent = try #require(h.xero.state.withLock { $0.invoiceWrites.first })
        #expect(sent.key == "invoice-\(h.accountId)-\(visit.id)-0", "the visit's own key")
        let invoice = try #require(sent.invoices.first)
        let contact = try #require(try h.records.contacts.get(accountId: h.accountId, id: visit.contactId))
        #expect(invoice.type == .accRec && invoice.status == .draft && invoice.lineAmountTypes == .exclusive && invoice.date == nil)
        #expect(invoice.contact?.contactID == contact.xeroContactId && contact.xeroContactId != nil)
        #expect(invoice.reference == "SortScape visit \(visit.id)")
        let lines = try #require(invoice.lineItems)
        try #require(lines.count == 2)
        let straw = try #require(try h.records.materials.list(RecordQuery(accountId: h.accountId)).items.first)
        #expect(straw.xeroItemId != nil, "R14: the material went to Xero as an item first")
        #expect(lines[0].itemCode == straw.code && lines[0].description == "Pea straw, 3 bales"
                && lines[0].quantity == Decimal4(units: 30_000) && lines[0].unitAmount == Decimal4(units: 123_456))
        #expect(lines[1].itemCode == nil && lines[1].accountCode == nil && lines[1].description == "Mulching"
                && lines[1].quantity == Decimal4(units: 15_000) && lines[1].unitAmount == Decimal4(units: 850_000))
        #expect(invoiced.xeroInvoiceId == "inv-1" && invoiced.xeroInvoiceNumber == "INV-0001" && invoiced.xeroInvoiceStatus == "DRAFT")
        let run = try lastRun(h)
        #expect(run.trigger == .invoice && run.state == .succeeded && run.xeroCalls == 7)
        #expect(run.counts["invoicesCreated"] == 1 && run.counts["contactsCreatedInXero"] == 1 && run.counts["itemsCreated"] == 1)
        // Invoicing it again calls Xero no more.
        let again = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        #expect(again == invoiced && h.xero.calls.count == 7 && invoices(h).count == 1)
    }

    @Test func r15_theAuthorisedSettingAndTheLabourAccountGoOnTheInvoice() throws {
        let h = try SyncHarness()
        try h.records.visitInvoices.setInvoiceSettings(accountId: h.accountId, InvoiceSettings(invoiceStatus: .authorised, labourAccountCode: "200"))
        let visit = try completedVisit(h)
        let invoiced = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        let sent = try #require(invoices(h).first)
        #expect(sent.status == .authorised && invoiced.xeroInvoiceStatus == "AUTHORISED")
        #expect(sent.lineItems?.map(\.accountCode) == [nil, "200"], "the item's own account for materials, the setting for labour")
    }

    @Test func r15_aRetryAfterALostAnswerFindsTheInvoiceByItsReferenceAndMakesNothingTwice() throws {
        let h = try SyncHarness()
        let visit = try completedVisit(h)
        h.xero.state.withLock { $0.lostAnswers = 1 }
        #expect { try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id) } throws: { e in
            (e as? SyncError)?.unreachable == true && (e as? SyncError)?.message.contains("never makes a second invoice") == true
        }
        #expect(invoices(h).count == 1, "Xero made it; the answer was lost")
        #expect(try h.records.visits.get(accountId: h.accountId, id: visit.id)?.xeroInvoiceId == nil)
        #expect(try lastRun(h).state == .failed)
        // Long after: the key has expired at Xero; the reference finds the invoice.
        h.xero.state.withLock { $0.invoiceKeys = [:] }
        let invoiced = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        #expect(invoiced.xeroInvoiceId == "inv-1" && invoices(h).count == 1)
        #expect(calls(h, "create invoices") == 1 && calls(h, "save contacts") == 1 && calls(h, "save items") == 1)
        #expect(try lastRun(h).counts["invoicesFound"] == 1)
    }

    @Test func r15_aRetryAfterATimeoutUsesTheSameKeySoXeroAnswersWithTheSameInvoice() throws {
        let h = try SyncHarness()
        let visit = try completedVisit(h)
        // A timeout before anything was made: nothing is, and the retry makes the invoice.
        h.xero.state.withLock { $0.failures = [XeroAPIError(.timeout, message: "timed out")] }
        #expect { try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id) } throws: { ($0 as? SyncError)?.unreachable == true }
        #expect(invoices(h).isEmpty)
        _ = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        #expect(invoices(h).count == 1)
        // A timeout after Xero made it, and a reference lookup that misses it: the key holds.
        let contact: ContactRecord = try #require(try h.records.contacts.get(accountId: h.accountId, id: visit.contactId))
        let other = try completedVisit(h, contact: contact, material: "Bark Mulch")
        h.xero.state.withLock { $0.lostAnswers = 1 }
        #expect(throws: SyncError.self) { try h.service.invoiceVisit(accountId: h.accountId, visitId: other.id) }
        // The reference lookup misses (Xero has not indexed it yet, say): the key still holds.
        let keys = h.xero.state.withLock { s in s.invoiceWrites.map(\.key) }
        h.xero.state.withLock { s in s.invoices = s.invoices.map { var i = $0; i.reference = "not yet searchable"; return i } }
        let invoiced = try h.service.invoiceVisit(accountId: h.accountId, visitId: other.id)
        let after = h.xero.state.withLock { s in s.invoiceWrites.map(\.key) }
        #expect(after.count == keys.count + 1 && after.last == keys.last, "the same key both times")
        #expect(invoiced.xeroInvoiceId == "inv-2" && invoices(h).count == 2, "one invoice per visit")
    }

    @Test func r15_aRefusalIsOneSentenceSayingWhatToFixAndTheRetryAfterTheFixIsNotAnsweredWithTheCachedRefusal() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { $0.contacts = [FakeXero.contact("x-old", "Old Mill Bakery", status: .archived)] }
        let bakery = try h.records.contacts.insert(ContactRecord(id: "", accountId: h.accountId, name: "Old Mill Bakery",
                                                                   xeroContactId: "x-old", syncState: .linked))
        let visit = try completedVisit(h, contact: bakery)
        #expect { try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id) } throws: { e in
            guard let e = e as? SyncError, !e.unreachable else { return false }
            return e.message.contains("Old Mill Bakery is archived in Xero") && e.message.contains("restore the contact in Xero")
                && !e.message.contains("\n")
        }
        #expect(try h.records.visits.get(accountId: h.accountId, id: visit.id)?.invoiceAttempt == 1)
        #expect(try lastRun(h).errors.first?.contains("archived in Xero") == true)
        // Restored in Xero: the next attempt has a key of its own, so Xero does not replay its refusal.
        h.xero.state.withLock { s in s.contacts = s.contacts.map { var c = $0; c.contactStatus = .active; return c } }
        let invoiced = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        #expect(invoiced.xeroInvoiceId != nil && invoices(h).count == 1)
        #expect(h.xero.state.withLock { $0.invoiceWrites.map(\.key) }
                == ["invoice-\(h.accountId)-\(visit.id)-0", "invoice-\(h.accountId)-\(visit.id)-1"])
    }

    @Test func xerosRefusalsReadAsWhatToFix() {
        let archived = InvoiceRules.refusal(["The contact 'Old Mill' is archived."], contact: "Old Mill")
        #expect(archived.hasPrefix("Xero refused the invoice because the contact Old Mill is archived in Xero"))
        let account = InvoiceRules.refusal(["Account code '' is not a valid code for this document."], contact: "A")
        #expect(account.contains("sales account") && account.contains("invoice settings"))
        let lock = InvoiceRules.refusal(["The document date cannot be before the end of year lock date, currently set at 31-Jul-2026"], contact: "A")
        #expect(lock.contains("locked in Xero") && lock.contains("31-Jul-2026") && lock.contains("lock date"))
        let other = InvoiceRules.refusal(["Something new", "and more"], contact: "A")
        #expect(other == "Xero refused the invoice: Something new; and more; fix that in Xero or on the visit, then create the invoice again.")
        for s in [archived, account, lock, other] { #expect(s.filter { $0 == "." }.count <= 2 && s.hasSuffix(".")) }
    }

    @Test func r15_aVisitThatIsNotCompletedOrHasNoLinesIsNotSentToXero() throws {
        let h = try SyncHarness()
        let c = try h.records.contacts.insert(ContactRecord(id: "", accountId: h.accountId, name: "Ann"))
        let scheduled = try h.records.visits.insert(VisitRecord(id: "", accountId: h.accountId, contactId: c.id,
                                                                lines: [.labour("Weeding", quantity: 10_000, unitPrice: 10_000)]))
        let empty = try h.records.visits.insert(VisitRecord(id: "", accountId: h.accountId, contactId: c.id, status: .completed))
        #expect(throws: StoreError.self) { try h.service.invoiceVisit(accountId: h.accountId, visitId: scheduled.id) }
        #expect { try h.service.invoiceVisit(accountId: h.accountId, visitId: empty.id) } throws: {
            ($0 as? SyncError)?.message.contains("no lines") == true
        }
        #expect(h.xero.calls.isEmpty)
    }

    @Test func r15_invoiceEventsKeepTheVisitsNumberAndStatusFreshAndOthersAreIgnoredWithWhy() throws {
        let h = try SyncHarness()
        try MemoryAccountRepository(store: h.store).connect(accountId: h.accountId, tenantId: "tenant-1", tenantName: "Harbour")
        let visit = try completedVisit(h)
        _ = try h.service.invoiceVisit(accountId: h.accountId, visitId: visit.id)
        // A Xero user approves it and it is paid; another invoice (not ours) changes too.
        h.xero.state.withLock { s in s.invoices = s.invoices.map { var i = $0; i.status = .paid; return i } }
        let events = [("inv-1", "2026-01-01T00:00:01.000Z", 1), ("inv-1", "2026-01-01T00:00:02.000Z", 2),
                      ("not-ours", "2026-01-01T00:00:03.000Z", 3)]
        MemoryWebhookEventRepository(store: h.store).ingest([1], contents: DeliveryContents(events: events.map {
            InboxEventInput(tenantId: "tenant-1", category: "INVOICE", type: "UPDATE", resourceId: $0.0, eventDateUtc: $0.1,
                            eventDateMilliseconds: Int64($0.2))
        }))
        let run = try h.sync(.webhook)
        #expect(run.state == .succeeded && run.counts["invoicesUpdatedFromXero"] == 1 && run.counts["eventsApplied"] == 2
                && run.counts["eventsIgnored"] == 1, "\(run)")
        #expect(try h.records.visits.get(accountId: h.accountId, id: visit.id)?.xeroInvoiceStatus == "PAID")
        #expect(calls(h, "invoices by id") == 1, "one GET Invoices?IDs= for both events")
        let ignored = try MemoryWebhookEventRepository(store: h.store).events(accountId: h.accountId, state: .ignored, limit: 10, afterId: nil)
        #expect(ignored.map(\.lastError) == ["no SortScape visit holds this invoice"])
        // Xero failing: the events fail and are tried again later.
        h.xero.state.withLock { s in s.invoices = s.invoices.map { var i = $0; i.status = .voided; return i } }
        MemoryWebhookEventRepository(store: h.store).ingest([2], contents: DeliveryContents(events: [
            InboxEventInput(tenantId: "tenant-1", category: "INVOICE", type: "UPDATE", resourceId: "inv-1", eventDateUtc: "2026-01-01T00:00:04.000Z",
                            eventDateMilliseconds: 4)]))
        h.xero.state.withLock { $0.failures = [XeroAPIError(.server, status: 503, message: "Xero answered 503")] }
        #expect(try h.sync(.webhook).state == .failed)
        #expect(try MemoryWebhookEventRepository(store: h.store).events(accountId: h.accountId, state: .failed, limit: 10, afterId: nil).count == 1)
        #expect(try h.records.visits.get(accountId: h.accountId, id: visit.id)?.xeroInvoiceStatus == "PAID")
    }
}
