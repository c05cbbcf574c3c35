import Foundation
import Store
import Synchronization
import Testing
import Timekeeping

/// A `WebhookInbox` over one backend's `WebhookInboxRepository`, with that store's accounts and
/// events to see what it did.
final class InboxHarness {
    let clock = TestWallClock()
    let repository: any WebhookInboxRepository
    let accounts: any AccountRepository
    let events: any WebhookEventRepository
    private let finish: () -> Void

    init(_ backend: RepositoryHarness.Backend) throws {
        switch backend {
        case .sqlite:
            let db = try Database(path: temporaryDatabasePath())
            repository = SQLiteWebhookInboxRepository(database: db, clock: clock)
            accounts = SQLiteAccountRepository(database: db, clock: clock)
            events = SQLiteWebhookEventRepository(database: db)
            finish = { db.close() }
        case .memory:
            let store = MemoryStore(clock: clock)
            repository = MemoryWebhookInboxRepository(store: store)
            accounts = MemoryAccountRepository(store: store)
            events = MemoryWebhookEventRepository(store: store)
            finish = {}
        case .postgres:
            let (db, drop) = try temporaryPostgres()
            repository = PostgresWebhookInboxRepository(database: db)
            accounts = PostgresAccountRepository(database: db, clock: clock)
            events = PostgresWebhookEventRepository(database: db)
            finish = drop
        }
    }

    deinit { finish() }

    /// A started inbox over this store (stop it before the next one).
    func inbox() throws -> WebhookInbox { try WebhookInbox(repository: repository, clock: clock, reader: fakeReader) }

    func all(_ state: InboxEventState? = nil) throws -> [InboxEvent] {
        try events.events(accountId: nil, state: state, limit: 1000, afterId: nil)
    }
}

@Suite struct WebhookInboxContractTests {
    typealias Backend = RepositoryHarness.Backend

    @Test(arguments: Backend.allCases)
    func r16_eventsAreExpandedAndDeduplicated(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        defer { inbox.stop() }
        let body = "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE\nt1 INVOICE r2 2024-01-01T00:00:00.000Z CREATE"
        #expect(throws: Never.self) { try appendAndWait(inbox, body).get() }
        #expect(throws: Never.self) { try appendAndWait(inbox, body).get() }  // Xero retried
        #expect(throws: Never.self) { try appendAndWait(inbox, "T1 contact R1 2024-01-01T00:00:00.000Z update").get() }
        #expect(throws: Never.self) { try appendAndWait(inbox, "t1 CONTACT r1 2024-01-01T00:00:01.000Z UPDATE").get() }
        #expect(inbox.waitUntilExpanded())
        let events = try h.all()
        #expect(events.map(\.resourceId) == ["r1", "r2", "r1"])
        #expect(events.allSatisfy { $0.state == .unrouted })
    }

    @Test(arguments: Backend.allCases)
    func r16_unreadablePartsAreQuarantinedNotDropped(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        defer { inbox.stop() }
        #expect(throws: Never.self) { try appendAndWait(inbox, "!body is not JSON\nt1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE").get() }
        #expect(inbox.waitUntilExpanded())
        let q = try h.all(.quarantined)
        #expect(q.map(\.lastError) == ["body is not JSON"])
        #expect(try h.all(.unrouted).count == 1)
    }

    @Test(arguments: Backend.allCases)
    func r16_everyUnreadablePartIsAccountedForAndAPoisonedDeliveryIsQuarantinedOnceWithItsCount(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        defer { inbox.stop() }
        // Up to 100 problems: one row each (past 65 536 rows the old 16-bit key wrapped and dropped rows).
        _ = appendAndWait(inbox, (0..<100).map { "!bad \($0)" }.joined(separator: "\n"))
        // 70 000 problems: one row that says how many.
        let poisoned = (0..<70_000).map { "!bad \($0)" }.joined(separator: "\n")
        _ = appendAndWait(inbox, poisoned)
        _ = appendAndWait(inbox, poisoned)  // re-sent (its 200 lost): quarantined once
        #expect(inbox.waitUntilExpanded(timeout: 30))
        let rows = try h.all(.quarantined)
        #expect(rows.count == 101)
        #expect(Set(rows.prefix(100).compactMap(\.lastError)).count == 100)
        #expect(rows.last?.lastError?.hasPrefix("70000 unreadable parts") == true)
    }

    @Test(arguments: Backend.allCases)
    func r16_eventsRouteToTheConnectedAccountAndEarlierOnesFollow(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        defer { inbox.stop() }
        let a = try #require(try h.accounts.createAccount(name: "A").accountId)
        _ = appendAndWait(inbox, "tenant-a CONTACT r1 2024-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        #expect(try h.events.events(accountId: a, state: nil, limit: 10, afterId: nil).isEmpty)

        try h.accounts.connect(accountId: a, tenantId: "TENANT-A", tenantName: "Org A")
        _ = appendAndWait(inbox, "tenant-a CONTACT r2 2024-01-01T00:00:00.000Z UPDATE\nother CONTACT r3 2024-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        #expect(try h.events.events(accountId: a, state: .pending, limit: 10, afterId: nil).map(\.resourceId) == ["r1", "r2"])
        #expect(try h.all(.unrouted).map(\.resourceId) == ["r3"])
        #expect(try h.events.pendingByAccount() == [a: 2])
    }

    @Test(arguments: Backend.allCases)
    func r16_theInboxTellsTheEngineWhichAccountsHaveNewEventsOnceTheyAreCommitted(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let a = try #require(try h.accounts.createAccount(name: "Acme").accountId)
        try h.accounts.connect(accountId: a, tenantId: "tenant-a", tenantName: "Acme")
        let inbox = try h.inbox()
        defer { inbox.stop() }
        let woken = Mutex<[Set<String>]>([])
        inbox.eventsRouted.withLock { $0 = { ids in woken.withLock { $0.append(ids) } } }
        _ = appendAndWait(inbox, "tenant-a CONTACT x1 2026-01-01T00:00:00.000Z UPDATE\nnobody CONTACT x2 2026-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        #expect(woken.withLock { $0 } == [[a]], "only routed events wake the engine")
        // A duplicate delivery adds no event and wakes nobody.
        _ = appendAndWait(inbox, "tenant-a CONTACT x1 2026-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        #expect(woken.withLock { $0 }.count == 1)
    }

    @Test(arguments: Backend.allCases)
    func r16_deliveriesCommittedBeforeACrashAreExpandedAtTheNextStart(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        // As if the process died right after committing, before expanding.
        let bodies = ["r1", "r2", "r1"].map { Array("t1 CONTACT \($0) 2024-01-01T00:00:00.000Z UPDATE".utf8) }
        #expect(try h.repository.commitDeliveries(bodies, receivedAt: "2024-01-01T00:00:00.000Z") == 3)
        #expect(try h.repository.position() == InboxPosition(lastDelivery: 3, expandedThrough: 0))
        let inbox = try h.inbox()
        #expect(inbox.waitUntilExpanded())
        #expect(try h.all().map(\.resourceId) == ["r1", "r2"])
        inbox.stop()
        #expect(try h.repository.position() == InboxPosition(lastDelivery: 3, expandedThrough: 3))
        // And a restart does not expand them twice.
        let again = try h.inbox()
        #expect(again.waitUntilExpanded())
        #expect(try h.events.counts() == [.unrouted: 2])
        again.stop()
    }

    @Test(arguments: Backend.allCases)
    func r16_anExpansionIsBoundedByCountAndBytesAndResumesAtItsCursor(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let bodies = (1...5).map { Array("t1 CONTACT r\($0) 2024-01-01T00:00:00.000Z UPDATE".utf8) }
        _ = try h.repository.commitDeliveries(bodies, receivedAt: "2024-01-01T00:00:00.000Z")
        #expect(try h.repository.expandDeliveries(after: 0, limit: 2, maxBytes: 1 << 20, reader: fakeReader).expandedThrough == 2)
        // One delivery always fits, however small the byte budget.
        #expect(try h.repository.expandDeliveries(after: 2, limit: 10, maxBytes: 1, reader: fakeReader).expandedThrough == 3)
        #expect(try h.repository.expandDeliveries(after: 3, limit: 10, maxBytes: 1 << 20, reader: fakeReader).expandedThrough == 5)
        #expect(try h.repository.expandDeliveries(after: 5, limit: 10, maxBytes: 1 << 20, reader: fakeReader)
                == InboxExpansion(expandedThrough: 5, routedAccounts: []))
        #expect(try h.all().map(\.resourceId) == ["r1", "r2", "r3", "r4", "r5"])
        #expect(try h.all().map(\.deliveryId) == [1, 2, 3, 4, 5])
    }

    @Test(arguments: Backend.allCases)
    func r16_manyConcurrentAppendsShareCommitsAndAllLand(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        defer { inbox.stop() }
        let n = 2000
        let group = DispatchGroup()
        let failures = Atomic<Int>(0)
        for i in 0..<n {
            group.enter()
            inbox.append(Array("t1 CONTACT r\(i) 2024-01-01T00:00:00.000Z UPDATE".utf8)) { r in
                if case .failure = r { failures.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(inbox.committedDeliveries.load(ordering: .relaxed) == n)
        #expect(inbox.waitUntilExpanded(timeout: 20))
        #expect(try h.events.counts() == [.unrouted: n])
    }

    @Test(arguments: Backend.allCases)
    func r16_afterStopNothingIsAcceptedAndCallersAreToldSo(_ backend: Backend) throws {
        let h = try InboxHarness(backend)
        let inbox = try h.inbox()
        inbox.stop()
        #expect(!inbox.writerAlive)
        guard case .failure(let e) = appendAndWait(inbox, "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE") else {
            Issue.record("append after stop succeeded")
            return
        }
        #expect(e.code == .stopping)
    }

    @Test func r16_aDeliveryTheStoreCannotCommitIsRefusedToItsSenderAndNothingIsKept() throws {
        let store = MemoryStore()
        let repository = MemoryWebhookInboxRepository(store: store)
        let inbox = try WebhookInbox(repository: repository, reader: fakeReader)
        defer { inbox.stop() }
        repository.failure.withLock { $0 = StoreError(code: .sqlite(13), message: "database or disk is full") }
        guard case .failure(let e) = appendAndWait(inbox, "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE") else {
            Issue.record("a delivery the store could not commit was acknowledged")
            return
        }
        #expect(e.code == .sqlite(13))
        #expect(inbox.failedBatches.load(ordering: .relaxed) == 1)
        repository.failure.withLock { $0 = nil }
        #expect(try MemoryWebhookEventRepository(store: store).counts().isEmpty)
        #expect(try repository.position() == InboxPosition(lastDelivery: 0, expandedThrough: 0))
    }
}
