import Store
import Testing

/// Visits and their Xero invoices (R15), and the account's invoice settings, over SQLite and
/// memory alike: a person's writes through `records.visits`, the engine's through
/// `records.visitInvoices`.
@Suite struct VisitsContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    /// A contact with a property and a material, and a visit of theirs with a material line and a labour line.
    func visit(_ h: RecordsHarness, _ a: String, completed: Bool = true) throws -> VisitRecord {
        let contact = try h.contact(a, "Ann")
        let property = try h.property(a, contact.id)
        let material = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Mulch", unitPrice: 123_456))
        return try h.records.visits.insert(VisitRecord(
            id: "", accountId: a, contactId: contact.id, propertyId: property.id, status: completed ? .completed : .scheduled,
            completedAt: completed ? h.clock.timestamp() : nil,
            lines: [.material(material.id, "Mulch", quantity: 25_000, unitPrice: 123_456),
                    .labour("Hedge trimming", quantity: 12_345, unitPrice: 9_999_999_999)]))
    }

    @Test(arguments: Backend.allCases)
    func aVisitKeepsItsLinesExactlyAndListsLikeTheOtherRecords(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let v = try visit(h, a)
        #expect(v.version == 1 && !v.id.isEmpty && v.createdAt == h.clock.timestamp())
        let stored = try #require(try h.records.visits.get(accountId: a, id: v.id))
        #expect(stored == v)
        try #require(stored.lines.count == 2)
        #expect(stored.lines[0] == .material(try #require(stored.lines[0].materialId), "Mulch", quantity: 25_000, unitPrice: 123_456))
        #expect(stored.lines[1].kind == .labour && stored.lines[1].materialId == nil && stored.lines[1].quantity == 12_345
                && stored.lines[1].unitPrice == 9_999_999_999)
        // A visit without a property, then pages oldest first and the archived filter.
        let second = try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: v.contactId))
        #expect(second.propertyId == nil && second.lines.isEmpty && second.status == .scheduled)
        let archived = try h.records.visits.modify(accountId: a, id: second.id) { $0.archived = true }
        #expect(archived.version == 2)
        let first = try h.records.visits.list(RecordQuery(accountId: a, limit: 1))
        #expect(first.items.map(\.id) == [v.id])
        let rest = try h.records.visits.list(RecordQuery(accountId: a, limit: 1, cursor: first.nextCursor))
        #expect(rest.items.map(\.id) == [second.id] && rest.nextCursor == nil)
        #expect(try h.records.visits.list(RecordQuery(accountId: a, archived: false)).items.map(\.id) == [v.id])
        // Another account sees none of them.
        let b = try h.account()
        #expect(try h.records.visits.list(RecordQuery(accountId: b)).items.isEmpty)
        #expect(try h.records.visits.get(accountId: b, id: v.id) == nil)
    }

    @Test(arguments: Backend.allCases)
    func aVisitNamesAContactAndPropertyOfItsOwnAccount(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        let ann = try h.contact(a, "Ann"), bob = try h.contact(b, "Bob")
        let bobs = try h.property(b, bob.id)
        #expect { try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: bob.id)) } throws: { code($0) == .conflict }
        #expect { try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: ann.id, propertyId: bobs.id)) } throws: {
            code($0) == .conflict
        }
        #expect { try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: "nobody")) } throws: { code($0) == .conflict }
        let v = try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: ann.id))
        #expect { try h.records.visits.modify(accountId: a, id: v.id) { $0.propertyId = bobs.id } } throws: { code($0) == .conflict }
        #expect(try h.records.visits.get(accountId: a, id: v.id)?.version == 1, "nothing written")
    }

    @Test(arguments: Backend.allCases)
    func r15_theInvoiceIsTheEnginesAPersonsEditKeepsItAndAVisitHoldsOneInvoice(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let v = try visit(h, a)
        let invoices = h.records.visitInvoices
        let linked = try invoices.linkInvoice(accountId: a, visitId: v.id, VisitInvoice(invoiceId: "INV-ID-1", number: "INV-0001", status: "DRAFT"))
        #expect(linked.xeroInvoiceId == "inv-id-1" && linked.xeroInvoiceNumber == "INV-0001" && linked.xeroInvoiceStatus == "DRAFT")
        #expect(linked.invoiced && linked.version == v.version + 1)
        #expect(try h.records.visits.get(accountId: a, id: v.id) == linked)
        // The same invoice again is taken again; another is refused and the first kept.
        let again = try invoices.linkInvoice(accountId: a, visitId: v.id, VisitInvoice(invoiceId: "inv-id-1", number: "INV-0001", status: "AUTHORISED"))
        #expect(again.xeroInvoiceStatus == "AUTHORISED")
        #expect { try invoices.linkInvoice(accountId: a, visitId: v.id, VisitInvoice(invoiceId: "inv-id-2", number: "INV-0002", status: "DRAFT")) } throws: {
            code($0) == .conflict
        }
        // No second visit holds the same invoice.
        let other = try h.records.visits.insert(VisitRecord(id: "", accountId: a, contactId: v.contactId))
        #expect { try invoices.linkInvoice(accountId: a, visitId: other.id, VisitInvoice(invoiceId: "inv-id-1", number: nil, status: nil)) } throws: {
            code($0) == .conflict
        }
        #expect { try invoices.linkInvoice(accountId: a, visitId: "nope", VisitInvoice(invoiceId: "x", number: nil, status: nil)) } throws: {
            code($0) == .notFound
        }
        // A person's update or modify cannot change the invoice or the attempts.
        var edited = try #require(try h.records.visits.get(accountId: a, id: v.id))
        edited.xeroInvoiceId = nil
        edited.xeroInvoiceNumber = "INV-9999"
        edited.invoiceAttempt = 7
        edited.lines = []
        let kept = try h.records.visits.update(edited)
        #expect(kept.xeroInvoiceId == "inv-id-1" && kept.xeroInvoiceNumber == "INV-0001" && kept.invoiceAttempt == 0 && kept.lines.isEmpty)
        let modified = try h.records.visits.modify(accountId: a, id: v.id) { $0.xeroInvoiceStatus = "PAID" }
        #expect(modified.xeroInvoiceStatus == "AUTHORISED")
    }

    @Test(arguments: Backend.allCases)
    func aRefusedAttemptCountsSoTheNextGetsANewKey(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let v = try visit(h, a)
        let once = try h.records.visitInvoices.invoiceRefused(accountId: a, visitId: v.id)
        let twice = try h.records.visitInvoices.invoiceRefused(accountId: a, visitId: v.id)
        #expect(once.invoiceAttempt == 1 && twice.invoiceAttempt == 2 && twice.version == v.version + 2)
        #expect(try h.records.visits.get(accountId: a, id: v.id)?.invoiceAttempt == 2)
        #expect { try h.records.visitInvoices.invoiceRefused(accountId: a, visitId: "nope") } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func invoiceWebhooksRefreshTheVisitsHoldingThoseInvoicesOnly(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        let v = try visit(h, a), w = try visit(h, b)
        let invoices = h.records.visitInvoices
        try invoices.linkInvoice(accountId: a, visitId: v.id, VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: "DRAFT"))
        try invoices.linkInvoice(accountId: b, visitId: w.id, VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: "DRAFT"))
        #expect(try invoices.visits(accountId: a, xeroInvoiceIds: ["INV-1", "inv-2"]).map(\.id) == [v.id])
        #expect(try invoices.visits(accountId: a, xeroInvoiceIds: []).isEmpty)
        let before = try #require(try h.records.visits.get(accountId: a, id: v.id))
        // Unchanged values write nothing; a new status is written once; other accounts' visits stay.
        #expect(try invoices.refreshInvoices(accountId: a, [VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: "DRAFT")]) == 0)
        #expect(try h.records.visits.get(accountId: a, id: v.id)?.version == before.version)
        #expect(try invoices.refreshInvoices(accountId: a, [VisitInvoice(invoiceId: "INV-1", number: "INV-0001", status: "AUTHORISED"),
                                                            VisitInvoice(invoiceId: "inv-9", number: "INV-0009", status: "PAID")]) == 1)
        let after = try #require(try h.records.visits.get(accountId: a, id: v.id))
        #expect(after.xeroInvoiceStatus == "AUTHORISED" && after.version == before.version + 1)
        #expect(try h.records.visits.get(accountId: b, id: w.id)?.xeroInvoiceStatus == "DRAFT")
    }

    @Test(arguments: Backend.allCases)
    func r15_aRefreshKeepsTheNumberXeroGivesLaterAndTheStatusItTakesAway(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let v = try visit(h, a)
        let invoices = h.records.visitInvoices
        try invoices.linkInvoice(accountId: a, visitId: v.id, VisitInvoice(invoiceId: "inv-1", number: nil, status: "DRAFT"))
        // A missing value and a present one differ; two missing ones do not.
        #expect(try invoices.refreshInvoices(accountId: a, [VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: "DRAFT")]) == 1)
        #expect(try h.records.visits.get(accountId: a, id: v.id)?.xeroInvoiceNumber == "INV-0001")
        #expect(try invoices.refreshInvoices(accountId: a, [VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: nil)]) == 1)
        #expect(try invoices.refreshInvoices(accountId: a, [VisitInvoice(invoiceId: "inv-1", number: "INV-0001", status: nil)]) == 0)
        let after = try #require(try h.records.visits.get(accountId: a, id: v.id))
        #expect(after.xeroInvoiceNumber == "INV-0001" && after.xeroInvoiceStatus == nil && after.version == v.version + 3)
    }

    @Test(arguments: Backend.allCases)
    func invoiceSettingsDefaultToDraftsAndAreTheAccountsOwn(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        let invoices = h.records.visitInvoices
        #expect(try invoices.invoiceSettings(accountId: a) == InvoiceSettings(invoiceStatus: .draft, labourAccountCode: nil))
        let set = try invoices.setInvoiceSettings(accountId: a, InvoiceSettings(invoiceStatus: .authorised, labourAccountCode: "200"))
        #expect(set == InvoiceSettings(invoiceStatus: .authorised, labourAccountCode: "200"))
        #expect(try invoices.invoiceSettings(accountId: a) == set)
        #expect(try invoices.invoiceSettings(accountId: b) == InvoiceSettings())
        try invoices.setInvoiceSettings(accountId: a, InvoiceSettings(invoiceStatus: .draft, labourAccountCode: nil))
        #expect(try invoices.invoiceSettings(accountId: a) == InvoiceSettings())
        #expect { try invoices.invoiceSettings(accountId: "nope") } throws: { code($0) == .notFound }
        #expect { try invoices.setInvoiceSettings(accountId: "nope", InvoiceSettings()) } throws: { code($0) == .notFound }
    }
}
