import Foundation
import Store
import Sync
import Testing
import Timekeeping
import Workers
import Xero

/// Connects every account to one fake Xero tenant.
struct FakeConnector: XeroConnector {
    let xero: FakeXero
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)? {
        (CountingXero(inner: xero, observer: observer), "tenant-1")
    }
}

/// Tells the observer of each call, as the real client does.
struct CountingXero: XeroAccounting {
    let inner: FakeXero
    let observer: XeroCallObserver
    func note(_ path: String) { observer(XeroCallRecord(tenantId: "tenant-1", method: "GET", path: path, status: 200, milliseconds: 0, attempt: 1)) }
    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Xero.Contact], pagination: Pagination?) {
        note("/Contacts")
        return try inner.contactsPage(tenantId: tenantId, page: page, pageSize: pageSize, includeArchived: includeArchived, modifiedSince: modifiedSince)
    }
    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Xero.Contact] { note("/Contacts"); return try inner.contacts(tenantId: tenantId, ids: ids) }
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Xero.Contact] { note("/Contacts"); return try inner.contacts(tenantId: tenantId, named: name) }
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Xero.Contact] {
        note("/Contacts"); return try inner.contacts(tenantId: tenantId, contactNumber: number)
    }
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] { note("/Items"); return try inner.items(tenantId: tenantId, modifiedSince: modifiedSince) }
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] { note("/Items"); return try inner.items(tenantId: tenantId, named: name) }
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] {
        note("/Items"); return try inner.saveItems(tenantId: tenantId, items, idempotencyKey: idempotencyKey)
    }
    func saveContacts(tenantId: String, _ contacts: [Xero.Contact], idempotencyKey: String) throws(XeroAPIError) -> [Xero.Contact] {
        note("/Contacts"); return try inner.saveContacts(tenantId: tenantId, contacts, idempotencyKey: idempotencyKey)
    }
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] { note("/Invoices"); return try inner.invoices(tenantId: tenantId, ids: ids) }
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] {
        note("/Invoices"); return try inner.invoices(tenantId: tenantId, reference: reference)
    }
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        note("/Invoices"); return try inner.createInvoices(tenantId: tenantId, invoices, idempotencyKey: idempotencyKey)
    }
}

/// An account on the in-memory store with a fake Xero and the sync service over them.
struct SyncHarness {
    let clock = TestWallClock()
    let store: MemoryStore
    let records: MemorySortScapeRecords
    let repository: MemoryXeroSyncRepository
    let xero = FakeXero()
    let engineStore: MemorySyncEngineRepository
    let service: SyncEngine
    let workers = WorkerPool(threads: 1, name: "sync-test")
    let accountId: String

    init() throws {
        store = MemoryStore(clock: clock)
        records = MemorySortScapeRecords(store: store)
        repository = MemoryXeroSyncRepository(store: store)
        accountId = try MemoryAccountRepository(store: store).createAccount(name: "Harbour").accountId!
        engineStore = MemorySyncEngineRepository(store: store)
        service = SyncEngine(stores: SyncStores(runs: repository, engine: engineStore, records: records,
                                                accounts: MemoryAccountRepository(store: store)),
                             connector: FakeConnector(xero: xero), workers: workers, clock: clock)
    }

    func sync(_ trigger: SyncTrigger = .initial) throws -> SyncRunRecord {
        let run = try service.requestSync(accountId: accountId, trigger: trigger)
        #expect(workers.waitUntilIdle(timeout: 10))
        return try #require(try repository.run(accountId: accountId, id: run.id))
    }

    func contacts() throws -> [ContactRecord] { try repository.allContacts(accountId: accountId) }

    var stores: SyncStores {
        SyncStores(runs: repository, engine: MemorySyncEngineRepository(store: store), records: records,
                   accounts: MemoryAccountRepository(store: store))
    }
}

@Suite struct SyncEngineTests {
    @Test func r5_r6_theFirstImportTakesCustomersAndNeitherWithOnePropertyEach() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in
            s.contacts = [
                FakeXero.contact("x1", "Customer With Both", street: "1 Street Rd", poBox: "PO Box 1"),
                FakeXero.contact("x2", "Customer Billing Only", poBox: "PO Box 2"),
                FakeXero.contact("x3", "Neither", customer: false, supplier: false),
                FakeXero.contact("x4", "Supplier Only", customer: false, supplier: true, street: "4 Supply St"),
                FakeXero.contact("x5", "Archived Customer", status: .archived),
                FakeXero.contact("x6", "Gone", status: .gdprRequest),
            ]
        }
        let run = try h.sync()
        #expect(run.state == .succeeded && run.trigger == .initial)
        let contacts = try h.contacts()
        #expect(Set(contacts.map(\.name)) == ["Customer With Both", "Customer Billing Only", "Neither"])
        #expect(contacts.allSatisfy { $0.syncState == .linked && $0.xeroContactId != nil })
        let props = try h.records.properties.list(RecordQuery(accountId: h.accountId, limit: 100)).items
        #expect(props.count == 2)
        let both = try #require(contacts.first { $0.name == "Customer With Both" })
        #expect(props.first { $0.contactId == both.id }?.addressLine1 == "1 Street Rd")
        #expect(props.first { $0.contactId == both.id }?.source == .xeroShipping)
        #expect(props.contains { $0.addressLine1 == "PO Box 2" && $0.source == .xeroBilling })
        #expect(run.counts["contactsCreated"] == 3 && run.counts["contactsSkippedSupplierOnly"] == 1)
    }

    @Test func r7_aXeroContactLikeASortScapeOneIsNotImportedButMatched() throws {
        let h = try SyncHarness()
        let mine = try h.records.contacts.insert(ContactRecord(id: "s1", accountId: h.accountId, name: "Harbour Landscaping",
                                                                email: "ops@harbour.nz"))
        h.xero.state.withLock { s in
            s.contacts = [FakeXero.contact("x1", "HARBOUR  landscaping"), FakeXero.contact("x2", "Other Name", email: "OPS@harbour.nz"),
                          FakeXero.contact("x3", "Fresh Co")]
        }
        let run = try h.sync()
        #expect(try h.contacts().count == 2)  // mine + Fresh Co
        let matches = try h.repository.matches(accountId: h.accountId, state: .pending, limit: 10, cursor: nil).items
        #expect(Set(matches.map(\.xeroContactId)) == ["x1", "x2"])
        #expect(matches.allSatisfy { $0.contactId == mine.id })
        #expect(run.counts["contactsMatched"] == 2)
        // A second run does not match or import them again.
        _ = try h.sync(.manual)
        #expect(try h.contacts().count == 2)
        #expect(try h.repository.matches(accountId: h.accountId, state: nil, limit: 10, cursor: nil).items.count == 2)
    }

    @Test func r12_itemsBecomeMaterialsOrLinkToTheSameNamedOne() throws {
        let h = try SyncHarness()
        try h.records.materials.insert(MaterialRecord(id: "m1", accountId: h.accountId, name: "bark mulch", unitPrice: 10_0000))
        h.xero.state.withLock { s in
            var a = Item(); a.itemID = "i1"; a.code = "MULCH"; a.name = "Bark Mulch"; a.salesDetails = ItemDetails(unitPrice: Decimal4("12.3456"))
            var b = Item(); b.itemID = "i2"; b.code = "LAB"; b.name = ""; b.salesDetails = ItemDetails(unitPrice: Decimal4("80"))
            s.items = [a, b]
        }
        let run = try h.sync()
        let materials = try h.repository.allMaterials(accountId: h.accountId)
        #expect(materials.count == 2)
        let linked = try #require(materials.first { $0.id == "m1" })
        #expect(linked.xeroItemId == "i1" && linked.name == "Bark Mulch" && linked.unitPrice == 123_456)  // the item's values win
        #expect(materials.contains { $0.name == "LAB" && $0.xeroItemId == "i2" && $0.unitPrice == 800_000 })
        #expect(run.counts["materialsLinked"] == 1 && run.counts["materialsCreated"] == 1)
    }

    @Test func r18_theFirstImportCostsOneCallPerThousandContactsPlusOneForItems() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in s.contacts = (0..<2500).map { FakeXero.contact("x\($0)", "Customer \($0)") } }
        let run = try h.sync()
        #expect(try h.contacts().count == 2500)
        #expect(h.xero.calls == ["contacts page 1", "contacts page 2", "contacts page 3", "items"])
        #expect(run.xeroCalls == 4)
    }

    @Test func r18_afterAFailedRunTheNextCompletesWithExactlyTheSameRecords() throws {
        let contacts = (0..<2500).map { FakeXero.contact("x\($0)", "Customer \($0)") }
        let clean = try SyncHarness(), faulty = try SyncHarness()
        clean.xero.state.withLock { $0.contacts = contacts }
        faulty.xero.state.withLock { $0.contacts = contacts }
        _ = try clean.sync()
        // Xero fails after the first page: what was applied stays, the run says why it stopped.
        let first = try faulty.syncFailingAfterFirstPage()
        #expect(first.state == .failed && first.errors.count == 1)
        #expect(first.errors.first?.contains("carry on at its next run") == true)
        #expect(try faulty.contacts().count == 1000)
        // Once Xero answers again, the next run completes with exactly the fault-free records.
        let second = try faulty.sync(.manual)
        #expect(second.state == .succeeded)
        let a = try clean.contacts().compactMap(\.xeroContactId).sorted()
        let b = try faulty.contacts().compactMap(\.xeroContactId).sorted()
        #expect(a == b && b.count == 2500)
    }

    @Test func syncRequestsWhileOneRunsJoinIt() throws {
        let h = try SyncHarness()
        let first = try h.repository.startRun(accountId: h.accountId, trigger: .manual)
        let again = try h.service.requestSync(accountId: h.accountId, trigger: .manual)
        #expect(first.started && again.id == first.run.id)
    }

    @Test func r7_linkWritesTheChosenValuesToBothSidesInOneCallAndDismissImports() throws {
        let h = try SyncHarness()
        _ = try h.records.contacts.insert(ContactRecord(id: "s1", accountId: h.accountId, name: "Harbour Landscaping", phone: "09 300 1234"))
        h.xero.state.withLock { s in
            s.contacts = [FakeXero.contact("x1", "Harbour Landscaping", email: "ops@harbour.nz"),
                          FakeXero.contact("x2", "harbour landscaping ", street: "2 Second St")]
        }
        _ = try h.sync()
        let matches = try h.repository.matches(accountId: h.accountId, state: .pending, limit: 10, cursor: nil).items
        let m1 = try #require(matches.first { $0.xeroContactId == "x1" })
        let m2 = try #require(matches.first { $0.xeroContactId == "x2" })
        let service = ContactMatches(engine: h.service)
        let review = try service.review(m1)
        #expect(review.proposed == ContactFields(name: "Harbour Landscaping", email: "ops@harbour.nz", phone: "09 300 1234"))
        let linked = try service.link(accountId: h.accountId, matchId: m1.id, chosen: review.proposed)
        #expect(linked.xeroContactId == "x1" && linked.syncState == .linked && linked.email == "ops@harbour.nz")
        #expect(h.xero.calls.filter { $0 == "save contacts" }.count == 1)
        #expect(h.xero.state.withLock { $0.contacts.first { $0.contactID == "x1" }?.emailAddress } == "ops@harbour.nz")
        #expect(throws: StoreError.self) { try service.link(accountId: h.accountId, matchId: m1.id, chosen: review.proposed) }
        let imported = try service.dismiss(accountId: h.accountId, matchId: m2.id)
        #expect(imported.xeroContactId == "x2" && imported.syncState == .linked)
        #expect(try h.records.properties.list(RecordQuery(accountId: h.accountId, limit: 10)).items.contains { $0.contactId == imported.id && $0.addressLine1 == "2 Second St" })
    }
}

extension SyncHarness {
    /// A run in which Xero fails after the first page of contacts.
    func syncFailingAfterFirstPage() throws -> SyncRunRecord {
        let armed = ArmedXero(inner: xero)
        let service = SyncEngine(stores: stores, connector: ArmedConnector(xero: armed), workers: workers, clock: clock)
        let run = try service.requestSync(accountId: accountId, trigger: .initial)
        #expect(workers.waitUntilIdle(timeout: 10))
        return try #require(try repository.run(accountId: accountId, id: run.id))
    }
}

/// Lets the first contacts page through and fails every later call with a 503.
final class ArmedXero: XeroAccounting {
    let inner: FakeXero
    init(inner: FakeXero) { self.inner = inner }
    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Xero.Contact], pagination: Pagination?) {
        guard page == 1 else { throw XeroAPIError(.server, status: 503, message: "Xero answered 503") }
        return try inner.contactsPage(tenantId: tenantId, page: page, pageSize: pageSize, includeArchived: includeArchived, modifiedSince: modifiedSince)
    }
    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Xero.Contact] { [] }
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Xero.Contact] { [] }
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Xero.Contact] { [] }
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] { [] }
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] { [] }
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] { throw XeroAPIError(.server, status: 503, message: "x") }
    func saveContacts(tenantId: String, _ contacts: [Xero.Contact], idempotencyKey: String) throws(XeroAPIError) -> [Xero.Contact] { [] }
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] { [] }
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] { [] }
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] { [] }
}

struct ArmedConnector: XeroConnector {
    let xero: ArmedXero
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)? {
        (xero, "tenant-1")
    }
}

@Suite struct LinkGuardTests {
    @Test func r7_aSecondXeroContactCannotBeLinkedToAnAlreadyLinkedContactAndXeroIsNotWritten() throws {
        let h = try SyncHarness()
        _ = try h.records.contacts.insert(ContactRecord(id: "s1", accountId: h.accountId, name: "Harbour Landscaping"))
        h.xero.state.withLock { s in
            s.contacts = [FakeXero.contact("x1", "Harbour Landscaping"), FakeXero.contact("x2", "HARBOUR LANDSCAPING")]
        }
        _ = try h.sync()
        let matches = try h.repository.matches(accountId: h.accountId, state: .pending, limit: 10, cursor: nil).items
        try #require(matches.count == 2)
        #expect(matches.allSatisfy { $0.contactId == "s1" })
        let service = ContactMatches(engine: h.service)
        _ = try service.link(accountId: h.accountId, matchId: matches[0].id, chosen: ContactFields(name: "Harbour Landscaping", email: "ops@harbour.nz"))
        #expect(throws: StoreError.self) {
            try service.link(accountId: h.accountId, matchId: matches[1].id, chosen: ContactFields(name: "Harbour Landscaping"))
        }
        #expect(h.xero.calls.filter { $0 == "save contacts" }.count == 1)  // the refused link wrote nothing to Xero
        // Dismissing it imports the Xero contact as a new one instead.
        let imported = try service.dismiss(accountId: h.accountId, matchId: matches[1].id)
        #expect(imported.xeroContactId == matches[1].xeroContactId && imported.id != "s1")
    }
}

/// The engine beside another process that runs an account (`xero-gateway sync`), and what it
/// tells `/healthz`.
@Suite struct SyncEngineBesideAnotherProcessTests {
    @Test func aSweepAnotherProcessHeldTheAccountForComesBackLater() throws {
        let h = try SyncHarness()
        let engine = SyncEngine(stores: h.stores, connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock,
                                settings: SyncSettings(sweepInterval: 1))
        try MemoryAccountRepository(store: h.store).connect(accountId: h.accountId, tenantId: "tenant-1", tenantName: "Harbour")
        #expect(engine.lastSweepEndedAt == nil && engine.secondsSinceSchedulerTick == nil)
        try engine.requestSync(accountId: h.accountId, trigger: .manual)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        #expect(engine.lastSweepEndedAt == h.clock.nowMilliseconds())
        // Another process starts a run of the account; the engine's next sweep falls due meanwhile.
        let (holder, started) = try h.repository.startRun(accountId: h.accountId, trigger: .manual)
        #expect(started)
        engine.startScheduler()
        defer { engine.stop() }
        h.clock.advance(milliseconds: 1_200)
        let retryAt = h.clock.nowMilliseconds() + 1_000
        let deadline = Date().addingTimeInterval(5)
        while engine.nextSweepAt(accountId: h.accountId) != retryAt, Date() < deadline { usleep(10_000) }
        #expect(engine.nextSweepAt(accountId: h.accountId) == retryAt, "the refused sweep was not scheduled again")
        #expect(engine.schedulerRunning && (engine.secondsSinceSchedulerTick ?? 99) < 1)
        var done = holder
        done.state = .succeeded
        try h.repository.finishRun(done)
        h.clock.advance(milliseconds: 1_000)
        // Never reconciled (no first import here), the sweep is the full reconciliation.
        while try h.repository.runs(accountId: h.accountId, limit: 10, cursor: nil).items.filter({ $0.trigger == .reconcile && $0.state != .running }).isEmpty,
              Date() < deadline { usleep(10_000) }
        #expect(try h.repository.runs(accountId: h.accountId, limit: 10, cursor: nil).items.map(\.trigger) == [.manual, .manual, .reconcile])
    }
}
