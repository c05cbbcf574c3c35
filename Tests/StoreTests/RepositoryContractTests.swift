import Foundation
import Store
import Testing
import Timekeeping

/// The repositories under test, over one backend, with a clock the test sets.
final class RepositoryHarness {
    enum Backend: String, CaseIterable, CustomTestStringConvertible {
        case sqlite, memory, postgres
        var testDescription: String { rawValue }

        /// The backends the contract suites run on: PostgreSQL only when a test server is
        /// given (`XG_TEST_POSTGRES_URL`; scripts/test always gives one).
        static var allCases: [Backend] { postgresTestURL == nil ? [.sqlite, .memory] : [.sqlite, .memory, .postgres] }
    }

    let clock = TestWallClock()
    let accounts: any AccountRepository
    let events: any WebhookEventRepository
    let sessions: any SessionRepository
    let tokens: any XeroTokenRepository
    let runs: any XeroSyncRepository
    private let deliverBody: (String) -> Void
    private let finish: () -> Void

    init(_ backend: Backend) throws {
        switch backend {
        case .sqlite:
            let db = try Database(path: temporaryDatabasePath())
            let accounts = SQLiteAccountRepository(database: db, clock: clock)
            let inbox = try WebhookInbox(database: db, clock: clock, reader: fakeReader)
            self.accounts = accounts
            events = SQLiteWebhookEventRepository(database: db)
            sessions = SQLiteSessionRepository(database: db)
            tokens = SQLiteXeroTokenRepository(database: db, clock: clock)
            runs = SQLiteXeroSyncRepository(database: db, clock: clock)
            deliverBody = deliverAndExpand(inbox)
            finish = {
                inbox.stop()
                db.close()
            }
        case .memory:
            let store = MemoryStore(clock: clock)
            let events = MemoryWebhookEventRepository(store: store)
            accounts = MemoryAccountRepository(store: store)
            self.events = events
            sessions = MemorySessionRepository(store: store)
            tokens = MemoryXeroTokenRepository(store: store)
            runs = MemoryXeroSyncRepository(store: store)
            deliverBody = { body in events.ingest(Array(body.utf8), contents: fakeReader(Array(body.utf8))) }
            finish = {}
        case .postgres:
            let (db, drop) = try temporaryPostgres()
            let events = PostgresWebhookEventRepository(database: db)
            accounts = PostgresAccountRepository(database: db, clock: clock)
            self.events = events
            sessions = PostgresSessionRepository(database: db)
            tokens = PostgresXeroTokenRepository(database: db, clock: clock)
            runs = PostgresXeroSyncRepository(database: db, clock: clock)
            let inbox = try WebhookInbox(repository: PostgresWebhookInboxRepository(database: db), clock: clock, reader: fakeReader)
            deliverBody = deliverAndExpand(inbox)
            finish = {
                inbox.stop()
                drop()
            }
        }
    }

    /// One delivery in the fake format, committed and expanded.
    func deliver(_ lines: String...) { deliverBody(lines.joined(separator: "\n")) }

    func all() throws -> [InboxEvent] { try events.events(accountId: nil, state: nil, limit: 1000, afterId: nil) }

    deinit { finish() }
}

/// One contract for every implementation of `AccountRepository` and `WebhookEventRepository`,
/// so the memory ones cannot drift from SQLite.
@Suite struct RepositoryContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    // MARK: organisations' time zones

    @Test(arguments: Backend.allCases)
    func anOrganisationsTimeZoneIsStoredByTenantInAnyCase(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let tenant = "0B1C2D3E-4F50-4617-8293-A4B5C6D7E8F9"
        #expect(try h.accounts.organisationTimezone(tenantId: tenant) == nil)
        try h.accounts.setOrganisationTimezone(tenantId: tenant, timezone: "NEWZEALANDSTANDARDTIME")
        try h.accounts.setOrganisationTimezone(tenantId: tenant.lowercased(), timezone: "AUSEASTERNSTANDARDTIME")
        #expect(try h.accounts.organisationTimezone(tenantId: tenant.lowercased()) == "AUSEASTERNSTANDARDTIME")
        #expect(try h.accounts.organisationTimezone(tenantId: "another") == nil)
    }

    // MARK: accounts and users

    @Test(arguments: Backend.allCases)
    func accountCreationTrimsTheNameIssuesAnAdminAndAnInactiveConnection(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let issued = try h.accounts.createAccount(name: " \tAcme Gardens \n")
        let accountId = try #require(issued.accountId)
        #expect(issued.role == .admin && issued.token.hasPrefix("xgw_"))
        #expect(try h.accounts.authenticate(token: issued.token) == User(id: issued.userId, accountId: accountId, role: .admin))
        #expect(try h.accounts.accounts() == [Account(id: accountId, name: "Acme Gardens")])
        #expect(try h.accounts.connection(accountId: accountId)
                == AccountConnection(accountId: accountId, state: .inactive, tenantId: nil, tenantName: nil, connectedAt: nil))
        #expect(try h.accounts.connection(accountId: "nobody") == nil)
    }

    @Test(arguments: Backend.allCases)
    func idsAreLowercaseUUIDs(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        let ids = [a.accountId!, a.userId]
        let form = /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/
        for id in ids { #expect(id.wholeMatch(of: form) != nil, "\(id)") }
        #expect(Set(ids).count == 2)
    }

    @Test(arguments: Backend.allCases)
    func accountNamesAreOneTo200Characters(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        for bad in ["", "   ", "\n\t", String(repeating: "x", count: 201)] {
            #expect { try h.accounts.createAccount(name: bad) } throws: { code($0) == .invalidName }
        }
        _ = try h.accounts.createAccount(name: String(repeating: "é", count: 200))
        #expect(try h.accounts.accounts().count == 1)
    }

    @Test(arguments: Backend.allCases)
    func onlyTheRightTokenAuthenticates(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let issued = try h.accounts.createAccount(name: "A")
        for wrong in ["", issued.token + "x", String(issued.token.dropLast()), String(repeating: "x", count: 201)] {
            #expect(try h.accounts.authenticate(token: wrong) == nil)
        }
    }

    @Test(arguments: Backend.allCases)
    func usersNeedAnExistingAccountExceptOperators(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let acct = try h.accounts.createAccount(name: "A").accountId!
        let staff = try h.accounts.createUser(accountId: acct, role: .staff)
        #expect(try h.accounts.authenticate(token: staff.token) == User(id: staff.userId, accountId: acct, role: .staff))
        let op = try h.accounts.createUser(accountId: nil, role: .operator)
        #expect(try h.accounts.authenticate(token: op.token) == User(id: op.userId, accountId: nil, role: .operator))
        #expect { try h.accounts.createUser(accountId: nil, role: .admin) } throws: { code($0) == .invalidAccount }
        #expect { try h.accounts.createUser(accountId: nil, role: .staff) } throws: { code($0) == .invalidAccount }
        #expect { try h.accounts.createUser(accountId: acct, role: .operator) } throws: { code($0) == .invalidRole }
        #expect { try h.accounts.createUser(accountId: "no-such-account", role: .staff) } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func accountsAreListedOldestFirstAndConnectionsByAccountId(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let b = try h.accounts.createAccount(name: "B").accountId!
        h.clock.advance(milliseconds: 1)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let c = try h.accounts.createAccount(name: "C").accountId!  // same millisecond as A: by id
        #expect(try h.accounts.accounts().map(\.id) == [b] + [a, c].sorted())
        #expect(try h.accounts.connections().map(\.accountId) == [a, b, c].sorted())
    }

    // MARK: connections

    @Test(arguments: Backend.allCases)
    func connectingRecordsTheTenantAndKeepsTheFirstConnectionTime(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let first = h.clock.timestamp()
        try h.accounts.connect(accountId: a, tenantId: "TENANT-A", tenantName: "Org A")
        #expect(try h.accounts.connection(accountId: a)
                == AccountConnection(accountId: a, state: .connected, tenantId: "tenant-a", tenantName: "Org A", connectedAt: first))
        h.clock.advance(milliseconds: 60_000)
        try h.accounts.connect(accountId: a, tenantId: "tenant-a", tenantName: "Org A renamed")
        #expect(try h.accounts.connection(accountId: a)
                == AccountConnection(accountId: a, state: .connected, tenantId: "tenant-a", tenantName: "Org A renamed", connectedAt: first))
        #expect(try h.accounts.connections().count == 1)
    }

    @Test(arguments: Backend.allCases)
    func connectingNeedsAnAccountAndATenantNoOtherAccountHas(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let b = try h.accounts.createAccount(name: "B").accountId!
        #expect { try h.accounts.connect(accountId: "nobody", tenantId: "t", tenantName: "T") } throws: { code($0) == .notFound }
        try h.accounts.connect(accountId: a, tenantId: "t", tenantName: "T")
        #expect { try h.accounts.connect(accountId: b, tenantId: "T", tenantName: "T") } throws: { code($0) == .conflict }
        #expect(try h.accounts.connection(accountId: b)?.state == .inactive)
        #expect(try h.accounts.connection(accountId: b)?.tenantId == nil)
    }

    // MARK: inbox events

    @Test(arguments: Backend.allCases)
    func eventsAreDeduplicatedRoutedAndStamped(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        try h.accounts.connect(accountId: a, tenantId: "tenant-a", tenantName: "Org A")
        let stamp = h.clock.timestamp()
        h.deliver("tenant-a CONTACT r1 2024-01-01T00:00:00.000Z UPDATE", "other INVOICE r2 2024-01-01T00:00:00.000Z CREATE")
        h.clock.advance(milliseconds: 5)
        h.deliver("TENANT-A contact R1 2024-01-01T00:00:00.000Z update")  // a retry: nothing new
        h.deliver("tenant-a CONTACT r1 2024-01-01T00:00:01.000Z UPDATE")
        #expect(try h.all() == [
            InboxEvent(id: 1, deliveryId: 1, accountId: a, tenantId: "tenant-a", category: "CONTACT", type: "UPDATE",
                       resourceId: "r1", eventDateUtc: "2024-01-01T00:00:00.000Z", state: .pending, attempts: 0,
                       lastError: nil, receivedAt: stamp),
            InboxEvent(id: 2, deliveryId: 1, accountId: nil, tenantId: "other", category: "INVOICE", type: "CREATE",
                       resourceId: "r2", eventDateUtc: "2024-01-01T00:00:00.000Z", state: .unrouted, attempts: 0,
                       lastError: nil, receivedAt: stamp),
            InboxEvent(id: 3, deliveryId: 3, accountId: a, tenantId: "tenant-a", category: "CONTACT", type: "UPDATE",
                       resourceId: "r1", eventDateUtc: "2024-01-01T00:00:01.000Z", state: .pending, attempts: 0,
                       lastError: nil, receivedAt: h.clock.timestamp()),
        ])
        #expect(try h.events.counts() == [.pending: 2, .unrouted: 1])
        #expect(try h.events.pendingByAccount() == [a: 2])
    }

    @Test(arguments: Backend.allCases)
    func unreadablePartsAreQuarantinedOnceAndSeenOnlyByOperators(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let long = String(repeating: "y", count: 600)
        h.deliver("!body is not JSON", "!\(long)", "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE")
        h.deliver("!body is not JSON", "!\(long)", "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE")  // re-sent
        let q = try h.events.events(accountId: nil, state: .quarantined, limit: 10, afterId: nil)
        #expect(q.map(\.lastError) == ["body is not JSON", String(repeating: "y", count: 500)])
        #expect(q.allSatisfy { $0.accountId == nil && $0.tenantId == nil && $0.category == nil && $0.deliveryId == 1 })
        #expect(try h.events.counts() == [.quarantined: 2, .unrouted: 1])
        #expect(try h.events.events(accountId: a, state: nil, limit: 10, afterId: nil).isEmpty)
        #expect(try h.events.pendingByAccount().isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func connectingRoutesTheTenantsEarlierEventsAndNoOthers(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        let b = try h.accounts.createAccount(name: "B").accountId!
        h.deliver("tenant-a CONTACT r1 2024-01-01T00:00:00.000Z UPDATE", "tenant-b CONTACT r2 2024-01-01T00:00:00.000Z UPDATE",
                  "!unreadable")
        #expect(try h.events.events(accountId: a, state: nil, limit: 10, afterId: nil).isEmpty)
        try h.accounts.connect(accountId: a, tenantId: "Tenant-A", tenantName: "Org A")
        h.deliver("tenant-a CONTACT r3 2024-01-01T00:00:00.000Z UPDATE")
        #expect(try h.events.events(accountId: a, state: .pending, limit: 10, afterId: nil).map(\.resourceId) == ["r1", "r3"])
        #expect(try h.events.events(accountId: b, state: nil, limit: 10, afterId: nil).isEmpty)
        #expect(try h.events.events(accountId: nil, state: .unrouted, limit: 10, afterId: nil).map(\.resourceId) == ["r2"])
        #expect(try h.events.pendingByAccount() == [a: 2])
        #expect(try h.events.counts() == [.pending: 2, .unrouted: 1, .quarantined: 1])
    }

    @Test(arguments: Backend.allCases)
    func eventListsPageByIdAndFilterByAccountAndState(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A").accountId!
        try h.accounts.connect(accountId: a, tenantId: "ta", tenantName: "A")
        for i in 0..<5 { h.deliver("ta CONTACT r\(i) 2024-01-01T00:00:00.000Z UPDATE", "tx CONTACT x\(i) 2024-01-01T00:00:00.000Z UPDATE") }
        let mine = try h.events.events(accountId: a, state: nil, limit: 2, afterId: nil)
        #expect(mine.map(\.resourceId) == ["r0", "r1"])
        let next = try h.events.events(accountId: a, state: nil, limit: 2, afterId: try #require(mine.last).id)
        #expect(next.map(\.resourceId) == ["r2", "r3"])
        #expect(try h.events.events(accountId: a, state: nil, limit: 10, afterId: try #require(next.last).id).map(\.resourceId) == ["r4"])
        #expect(try h.events.events(accountId: nil, state: nil, limit: 3, afterId: nil).map(\.resourceId) == ["r0", "x0", "r1"])
        #expect(try h.events.events(accountId: nil, state: .unrouted, limit: 10, afterId: 4).map(\.resourceId) == ["x2", "x3", "x4"])
        #expect(try h.events.events(accountId: a, state: .unrouted, limit: 10, afterId: nil).isEmpty)
        #expect(try h.events.events(accountId: nil, state: .applied, limit: 10, afterId: nil).isEmpty)
        #expect(try h.events.events(accountId: nil, state: nil, limit: 10, afterId: 10).isEmpty)
    }

    // MARK: operators and health

    @Test(arguments: Backend.allCases)
    func connectionsAreCountedByStateAndPagedByAccountId(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let ids = try (0..<5).map { try #require(try h.accounts.createAccount(name: "A\($0)").accountId) }.sorted()
        try h.accounts.connect(accountId: ids[1], tenantId: "t1", tenantName: "One")
        _ = try h.accounts.activate(accountId: ids[2])
        #expect(try h.accounts.connectionCounts() == [.inactive: 3, .connected: 1, .active: 1])
        let first = try h.accounts.connections(afterAccountId: nil, limit: 2)
        #expect(first.map(\.accountId) == Array(ids[0..<2]))
        #expect(first[1].tenantId == "t1" && first[1].state == .connected)
        #expect(try h.accounts.connections(afterAccountId: ids[1], limit: 2).map(\.accountId) == Array(ids[2..<4]))
        #expect(try h.accounts.connections(afterAccountId: ids[4], limit: 2).isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func pendingEventsAreCountedAndTheOldestOneNothingWorksOnIsFound(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try #require(try h.accounts.createAccount(name: "A").accountId)
        let b = try #require(try h.accounts.createAccount(name: "B").accountId)
        #expect(try h.events.pendingCount() == 0)
        #expect(try h.events.oldestUnattendedPendingEvent() == nil)
        try h.accounts.connect(accountId: a, tenantId: "ta", tenantName: "A")
        try h.accounts.connect(accountId: b, tenantId: "tb", tenantName: "B")
        h.deliver("ta CONTACT r1 2024-01-01T00:00:00.000Z UPDATE", "tb CONTACT r2 2024-01-01T00:00:00.000Z UPDATE",
                  "ta CONTACT r3 2024-01-01T00:00:00.000Z UPDATE", "tx CONTACT r4 2024-01-01T00:00:00.000Z UPDATE")
        let ids = Dictionary(uniqueKeysWithValues: try h.all().map { ($0.resourceId ?? "", $0.id) })
        #expect(try h.events.pendingCount() == 3)
        #expect(try h.events.pendingCounts(accountIds: [a, b, "nobody"]) == [a: 2, b: 1])
        #expect(try h.events.pendingCounts(accountIds: [b]) == [b: 1])
        #expect(try h.events.pendingCounts(accountIds: []).isEmpty)
        #expect(try h.events.oldestUnattendedPendingEvent() == ids["r1"])
        // A run going on for A: its events wait for it; B's is the oldest nothing works on.
        let run = try h.runs.startRun(accountId: a, trigger: .scheduled).run
        #expect(try h.events.oldestUnattendedPendingEvent() == ids["r2"])
        // B no longer connected: nothing should be working on its events.
        #expect(try h.accounts.markNeedsReconnect(accountId: b))
        #expect(try h.events.oldestUnattendedPendingEvent() == nil)
        var done = run
        done.state = .succeeded
        try h.runs.finishRun(done)
        #expect(try h.events.oldestUnattendedPendingEvent() == ids["r1"])
    }
}
