import Foundation
import Store
@testable import Sync
import Testing
import Timekeeping
import Xero

/// A fake Xero that replays a cached response for a repeated Idempotency-Key (FACTS §6: ~6 minutes).
final class IdemXero: XeroAccounting, @unchecked Sendable {
    let inner: FakeXero
    var cache: [String: [Xero.Contact]] = [:]
    let lock = NSLock()
    init(inner: FakeXero) { self.inner = inner }
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] { try inner.invoices(tenantId: tenantId, ids: ids) }
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] { try inner.invoices(tenantId: tenantId, reference: reference) }
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        try inner.createInvoices(tenantId: tenantId, invoices, idempotencyKey: idempotencyKey)
    }
    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool, modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Xero.Contact], pagination: Pagination?) {
        try inner.contactsPage(tenantId: tenantId, page: page, pageSize: pageSize, includeArchived: includeArchived, modifiedSince: modifiedSince)
    }
    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Xero.Contact] { try inner.contacts(tenantId: tenantId, ids: ids) }
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Xero.Contact] { try inner.contacts(tenantId: tenantId, named: name) }
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Xero.Contact] {
        try inner.contacts(tenantId: tenantId, contactNumber: number)
    }
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] { try inner.items(tenantId: tenantId, named: name) }
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] { try inner.saveItems(tenantId: tenantId, items, idempotencyKey: idempotencyKey) }
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] { try inner.items(tenantId: tenantId, modifiedSince: modifiedSince) }
    func saveContacts(tenantId: String, _ contacts: [Xero.Contact], idempotencyKey: String) throws(XeroAPIError) -> [Xero.Contact] {
        lock.lock(); let hit = cache[idempotencyKey]; lock.unlock()
        if let hit { return hit }
        let out = try inner.saveContacts(tenantId: tenantId, contacts, idempotencyKey: idempotencyKey)
        lock.lock(); cache[idempotencyKey] = out; lock.unlock()
        return out
    }
}
struct IdemConnector: XeroConnector {
    let xero: IdemXero
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)? { (xero, "tenant-1") }
}

/// Regressions found by review, each failing on the code before its fix.
@Suite struct ReviewRegressionTests {
    /// Push payloads keyed by their digest: A→B, B→A, A→B within Xero's cache window: the third is a cached replay.
    @Test func r9_theSameValuesPushedAgainLaterAreAppliedNotAnsweredFromXerosIdempotencyCache() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in s.contacts = [FakeXero.contact("x1", "Kowhai Nursery", email: "a@k.nz")] }
        _ = try h.sync()
        let idem = IdemXero(inner: h.xero)
        let engine = SyncEngine(stores: h.stores, connector: IdemConnector(xero: idem), workers: h.workers, clock: h.clock)
        let c = try #require(try h.contacts().first)
        func edit(_ email: String) throws {
            h.clock.advance(milliseconds: 5000)
            _ = try h.records.contacts.modify(accountId: h.accountId, id: c.id, expectedVersion: nil) { $0.email = email }
            _ = try engine.requestSync(accountId: h.accountId, trigger: .push)
            #expect(h.workers.waitUntilIdle(timeout: 10))
        }
        try edit("b@k.nz")
        try edit("a@k.nz")
        try edit("b@k.nz")
        // Then the next sweep reads Xero (unchanged since base says b): the person's edit is lost.
        h.clock.advance(milliseconds: 5000)
        _ = try engine.requestSync(accountId: h.accountId, trigger: .reconcile)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        let after = try #require(try h.contacts().first)
        #expect(after.email == "b@k.nz")
        #expect(h.xero.state.withLock { $0.contacts.first?.emailAddress } == "b@k.nz")
    }

    /// A person adds a company name to a linked Xero contact that has no first/last name.
    @Test func r9_aCompanyAddedToAPersonSurvivesItsOwnPushComingBack() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in s.contacts = [FakeXero.contact("x1", "Jo Bloggs")] }
        _ = try h.sync()
        let c = try #require(try h.contacts().first)
        h.clock.advance(milliseconds: 5000)
        _ = try h.records.contacts.modify(accountId: h.accountId, id: c.id, expectedVersion: nil) { $0.companyName = "Bloggs Gardens Ltd" }
        _ = try h.service.requestSync(accountId: h.accountId, trigger: .push)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        // The webhook of our own push comes back: the engine re-reads and merges.
        h.clock.advance(milliseconds: 5000)
        _ = try h.service.requestSync(accountId: h.accountId, trigger: .reconcile)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        let after = try #require(try h.contacts().first)
        #expect(after.name == "Jo Bloggs" && after.companyName == "Bloggs Gardens Ltd")
    }
}

@Suite struct ReviewRegressionTests2 {
    /// A Xero contact that is a company: a person moves the company into companyName and enters
    /// the contact person's name. Nothing representable is sent, base := target; the next full
    /// read sees Xero "changed" and reverts the person's edit.
    @Test func r9_aPersonNamedBesideACompanyIsSentAndNotRevertedByTheReconciliation() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in s.contacts = [FakeXero.contact("x1", "Acme Ltd")] }
        _ = try h.sync()
        let c = try #require(try h.contacts().first)
        h.clock.advance(milliseconds: 5000)
        _ = try h.records.contacts.modify(accountId: h.accountId, id: c.id, expectedVersion: nil) { $0.name = "Jo Bloggs"; $0.companyName = "Acme Ltd" }
        _ = try h.service.requestSync(accountId: h.accountId, trigger: .push)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        h.clock.advance(milliseconds: 5000)
        _ = try h.service.requestSync(accountId: h.accountId, trigger: .reconcile)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        let after = try #require(try h.contacts().first)
        #expect(after.name == "Jo Bloggs" && after.companyName == "Acme Ltd")
    }

    /// A sweep that comes due while another process (the CLI's `sync`) holds the account's run is
    /// never scheduled again.
    @Test func r17_aSweepThatCouldNotStartIsScheduledAgain() throws {
        let h = try SyncHarness()
        try MemoryAccountRepository(store: h.store).connect(accountId: h.accountId, tenantId: "tenant-1", tenantName: "Harbour")
        let mono = TestMonotonicClock()
        let engine = SyncEngine(stores: SyncStores(runs: h.repository, engine: h.engineStore, records: h.records,
                                                   accounts: MemoryAccountRepository(store: h.store)),
                                connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock, monotonic: mono,
                                settings: SyncSettings(sweepInterval: 60, pushDebounce: 2, webhookWindow: 0.05))
        engine.tick()
        let first = try #require(engine.nextSweepAt(accountId: h.accountId))
        h.clock.set(millisecondsSinceEpoch: first)
        engine.tick()  // first sweep runs (sweeps becomes 1)
        #expect(h.workers.waitUntilIdle(timeout: 10))
        let next = try #require(engine.nextSweepAt(accountId: h.accountId))
        // Another process holds the run when the next sweep is due.
        let other = try h.repository.startRun(accountId: h.accountId, trigger: .manual, owner: "pid 7 cli")
        h.clock.set(millisecondsSinceEpoch: next)
        try h.repository.heartbeat(owner: "pid 7 cli")  // alive: its heartbeat keeps the account
        engine.tick()
        var done = other.run; done.state = .succeeded
        _ = try h.repository.finishRun(done)
        for _ in 0..<10 {
            h.clock.advance(milliseconds: 600_000); mono.advance(milliseconds: 600_000)
            engine.tick()
            #expect(h.workers.waitUntilIdle(timeout: 10))
        }

        #expect(engine.nextSweepAt(accountId: h.accountId) != nil)
    }
}

/// Xero that refuses every contact update element (summarizeErrors=false: 200 with ValidationErrors).
final class RefusingXero: XeroAccounting, @unchecked Sendable {
    let inner: FakeXero
    init(inner: FakeXero) { self.inner = inner }
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] { try inner.invoices(tenantId: tenantId, ids: ids) }
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] { try inner.invoices(tenantId: tenantId, reference: reference) }
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        try inner.createInvoices(tenantId: tenantId, invoices, idempotencyKey: idempotencyKey)
    }
    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool, modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Xero.Contact], pagination: Pagination?) {
        try inner.contactsPage(tenantId: tenantId, page: page, pageSize: pageSize, includeArchived: includeArchived, modifiedSince: modifiedSince)
    }
    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Xero.Contact] { try inner.contacts(tenantId: tenantId, ids: ids) }
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Xero.Contact] { try inner.contacts(tenantId: tenantId, named: name) }
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Xero.Contact] {
        try inner.contacts(tenantId: tenantId, contactNumber: number)
    }
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] { try inner.items(tenantId: tenantId, named: name) }
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] { [] }
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] { try inner.items(tenantId: tenantId, modifiedSince: modifiedSince) }
    func saveContacts(tenantId: String, _ contacts: [Xero.Contact], idempotencyKey: String) throws(XeroAPIError) -> [Xero.Contact] {
        inner.state.withLock { $0.calls.append("save contacts") }
        return contacts.map { var c = $0; c.validationErrors = [ValidationError(message: "The contact name Taken Ltd is already assigned to another contact.")]; return c }
    }
}
struct RefusingConnector: XeroConnector {
    let xero: RefusingXero
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)? { (xero, "tenant-1") }
}

@Suite struct ReviewRegressionTests3 {
    @Test func r9_aPushXeroRefusesBacksOffInsteadOfUsingTheMinutesBudget() throws {
        let h = try SyncHarness()
        h.xero.state.withLock { s in s.contacts = [FakeXero.contact("x1", "Kowhai Nursery")] }
        _ = try h.sync()
        try MemoryAccountRepository(store: h.store).connect(accountId: h.accountId, tenantId: "tenant-1", tenantName: "Harbour")
        let mono = TestMonotonicClock()
        let engine = SyncEngine(stores: h.stores, connector: RefusingConnector(xero: RefusingXero(inner: h.xero)), workers: h.workers,
                                clock: h.clock, monotonic: mono, settings: SyncSettings(sweepInterval: 1800, pushDebounce: 2, webhookWindow: 0.05))
        let c = try #require(try h.contacts().first)
        _ = try h.records.contacts.modify(accountId: h.accountId, id: c.id, expectedVersion: nil) { $0.name = "Taken Ltd" }
        let before = h.xero.calls.count
        for _ in 0..<30 {  // one minute
            mono.advance(milliseconds: 2_000); h.clock.advance(milliseconds: 2_000)
            engine.tick()
            #expect(h.workers.waitUntilIdle(timeout: 10))
        }
        let calls = h.xero.calls.dropFirst(before)

        #expect(calls.count < 10)
    }
}
