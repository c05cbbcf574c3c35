import Foundation
import Store
import Testing
import Synchronization
import Timekeeping

/// The sync engine's store seams over one backend: inbox claims, watermarks, bases, the outbox,
/// conflicts, R10's pending work and R11's link.
final class EngineHarness {
    let clock = TestWallClock(millisecondsSinceEpoch: 1_800_000_000_000)
    let accounts: any AccountRepository
    let records: any SortScapeRecords
    let sync: any XeroSyncRepository
    let engine: any SyncEngineRepository
    let events: any WebhookEventRepository
    private let deliverBody: (String) -> Void
    private let finish: () -> Void

    init(_ backend: RepositoryHarness.Backend) throws {
        switch backend {
        case .sqlite:
            let db = try Database(path: temporaryDatabasePath())
            let inbox = try WebhookInbox(database: db, clock: clock, reader: fakeReader)
            accounts = SQLiteAccountRepository(database: db, clock: clock)
            records = SQLiteSortScapeRecords(database: db, clock: clock)
            sync = SQLiteXeroSyncRepository(database: db, clock: clock)
            engine = SQLiteSyncEngineRepository(database: db, clock: clock)
            events = SQLiteWebhookEventRepository(database: db)
            deliverBody = deliverAndExpand(inbox)
            finish = {
                inbox.stop()
                db.close()
            }
        case .memory:
            let store = MemoryStore(clock: clock)
            let memoryEvents = MemoryWebhookEventRepository(store: store)
            accounts = MemoryAccountRepository(store: store)
            records = MemorySortScapeRecords(store: store)
            sync = MemoryXeroSyncRepository(store: store)
            engine = MemorySyncEngineRepository(store: store)
            events = memoryEvents
            deliverBody = { body in memoryEvents.ingest(Array(body.utf8), contents: fakeReader(Array(body.utf8))) }
            finish = {}
        case .postgres:
            let (db, drop) = try temporaryPostgres()
            let postgresEvents = PostgresWebhookEventRepository(database: db)
            accounts = PostgresAccountRepository(database: db, clock: clock)
            records = PostgresSortScapeRecords(database: db, clock: clock)
            sync = PostgresXeroSyncRepository(database: db, clock: clock)
            engine = PostgresSyncEngineRepository(database: db, clock: clock)
            events = postgresEvents
            let inbox = try WebhookInbox(repository: PostgresWebhookInboxRepository(database: db), clock: clock, reader: fakeReader)
            deliverBody = deliverAndExpand(inbox)
            finish = {
                inbox.stop()
                drop()
            }
        }
    }

    deinit { finish() }

    func deliver(_ lines: String...) { deliverBody(lines.joined(separator: "\n")) }

    /// A connected account with one linked contact (imported, so its base is recorded) and its property.
    func linkedAccount(tenant: String = "tenant-a") throws -> (account: String, contact: ContactRecord, property: PropertyRecord) {
        let a = try accounts.createAccount(name: "Acme").accountId!
        try accounts.connect(accountId: a, tenantId: tenant, tenantName: "Acme Ltd")
        let c = ContactRecord(id: UUID().uuidString.lowercased(), accountId: a, name: "Kauri Landscapes", email: "office@kauri.nz",
                              xeroContactId: "x-kauri", syncState: .linked)
        let p = PropertyRecord(id: UUID().uuidString.lowercased(), accountId: a, contactId: c.id, addressLine1: "1 Kauri Rd",
                               source: .xeroShipping)
        var batch = ImportBatch(accountId: a)
        batch.contacts = [(c, p)]
        _ = try sync.apply(batch)
        let stored = try #require(try records.contacts.get(accountId: a, id: c.id))
        return (a, stored, p)
    }
}

@Suite struct SyncEngineContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    /// Issue 14: gateways sharing a store take an account's sweep one at a time; a lease ends by itself.
    @Test(arguments: Backend.allCases)
    func r17_aSweepLeaseIsTakenByOneCallerUntilItEnds(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let a = try #require(try h.accounts.createAccount(name: "Acme").accountId)
        #expect(try h.engine.takeSweepLease(accountId: a, now: 1_000, until: 49_000))
        #expect(try !h.engine.takeSweepLease(accountId: a, now: 1_000, until: 49_000), "the same moment, another instance")
        #expect(try !h.engine.takeSweepLease(accountId: a, now: 48_999, until: 96_999))
        #expect(try h.engine.takeSweepLease(accountId: a, now: 49_000, until: 97_000), "ended: the next taker has it")
        #expect(try h.engine.watermark(accountId: a, .sweepLease) == 97_000)
        let b = try #require(try h.accounts.createAccount(name: "Other").accountId)
        #expect(try h.engine.takeSweepLease(accountId: b, now: 1_000, until: 49_000), "one lease per account")
    }

    @Test(arguments: Backend.allCases)
    func r16_pendingEventsAreClaimedAndSettledAFailedOneRetriesWhenDueAndCanBeReplayed(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, _, _) = try h.linkedAccount()
        h.deliver("tenant-a CONTACT x1 2026-01-01T00:00:00.000Z UPDATE", "tenant-a CONTACT x2 2026-01-01T00:00:01.000Z UPDATE",
                  "tenant-a INVOICE i1 2026-01-01T00:00:02.000Z CREATE", "tenant-b CONTACT x3 2026-01-01T00:00:00.000Z UPDATE")
        let now = h.clock.nowMilliseconds()
        let claimable = try h.engine.claimableEvents(accountId: a, now: now, limit: 10)
        try #require(claimable.count == 3)
        #expect(claimable.map(\.resourceId) == ["x1", "x2", "i1"])
        #expect(try h.engine.accountsWithClaimableEvents(now: now) == [a])
        try h.engine.settle(accountId: a, [(claimable[0].id, .applied), (claimable[1].id, .failed("Xero answered 503", nextAttemptAt: now + 5_000)),
                                           (claimable[2].id, .ignored("not used"))])
        #expect(try h.engine.claimableEvents(accountId: a, now: now, limit: 10).isEmpty, "nothing due yet")
        #expect(try h.engine.nextEventRetries() == [a: now + 5_000])
        let retry = try h.engine.claimableEvents(accountId: a, now: now + 5_000, limit: 10)
        #expect(retry.map(\.id) == [claimable[1].id] && retry.first?.attempts == 1 && retry.first?.lastError == "Xero answered 503")
        let all = try h.events.events(accountId: a, state: nil, limit: 10, afterId: nil)
        #expect(all.map(\.state) == [.applied, .failed, .ignored] && all[2].lastError == "not used")
        // A failed event that has had its attempts (no next attempt) waits for a replay.
        try h.engine.settle(accountId: a, [(claimable[1].id, .failed("again", nextAttemptAt: nil))])
        #expect(try h.engine.claimableEvents(accountId: a, now: .max, limit: 10).isEmpty)
        let replayed = try h.engine.replay(accountId: a, eventId: claimable[1].id)
        #expect(replayed.state == .pending && replayed.attempts == 2)
        #expect(try h.engine.claimableEvents(accountId: a, now: now, limit: 10).map(\.id) == [claimable[1].id])
        // Another account's event is not this account's to replay; nobody's is 404.
        #expect { try h.engine.replay(accountId: "other", eventId: claimable[0].id) } throws: { code($0) == .notFound }
        #expect { try h.engine.replay(accountId: a, eventId: 999_999) } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func oldRunsAndSettledEventsArePrunedButPendingOnesRetriesAndEachAccountsNewestRunsStay(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, _, _) = try h.linkedAccount()
        func finishedRun() throws -> SyncRunRecord {
            var run = try h.sync.startRun(accountId: a, trigger: .webhook).run
            run.state = .succeeded
            return try h.sync.finishRun(run)
        }
        let old = try (0..<3).map { _ in try finishedRun() }
        h.deliver("tenant-a CONTACT x1 2026-01-01T00:00:00.000Z UPDATE", "tenant-a CONTACT x2 2026-01-01T00:00:00.000Z UPDATE")
        h.deliver("tenant-a CONTACT x3 2026-01-01T00:00:00.000Z UPDATE", "tenant-a CONTACT x4 2026-01-01T00:00:00.000Z UPDATE")
        let events = try h.engine.claimableEvents(accountId: a, now: h.clock.nowMilliseconds(), limit: 10)
        try #require(events.count == 4)
        let later = h.clock.nowMilliseconds() + 3_600_000
        try h.engine.settle(accountId: a, [(events[0].id, .applied), (events[1].id, .failed("gone", nextAttemptAt: nil)),
                                           (events[2].id, .failed("503", nextAttemptAt: later))])
        h.clock.advance(milliseconds: 32 * 86_400_000)
        let recent = try finishedRun()
        h.deliver("tenant-a CONTACT x5 2026-02-01T00:00:00.000Z UPDATE")
        let now = h.clock.nowMilliseconds()
        func ago(days: Int64) -> String { Timestamp.format(millisecondsSinceEpoch: now - days * 86_400_000) }
        let pruned = try h.engine.pruneHistory(HistoryRetention(runsEndedBefore: ago(days: 30), keepRunsPerAccount: 2,
                                                                eventsReceivedBefore: ago(days: 31)))
        #expect(pruned.runs == 2 && pruned.events == 2, "\(pruned)")
        #expect(pruned.deliveries == (backend == .memory ? 0 : 1), "the first delivery's events are all gone")
        #expect(try h.sync.recentRuns(accountId: a, limit: 10).map(\.id) == [recent.id, old[2].id], "the newest two stay")
        let left = try h.events.events(accountId: a, state: nil, limit: 10, afterId: nil)
        #expect(left.map(\.resourceId) == ["x3", "x4", "x5"], "a failed event still to be retried and pending ones stay")
        #expect(try h.engine.pruneHistory(HistoryRetention(runsEndedBefore: ago(days: 30), keepRunsPerAccount: 2,
                                                           eventsReceivedBefore: ago(days: 31))) == PrunedHistory())
        // A new delivery after the pruning is taken in as usual.
        h.deliver("tenant-a CONTACT x6 2026-02-01T00:00:00.000Z UPDATE")
        #expect(try h.events.events(accountId: a, state: .pending, limit: 10, afterId: nil).map(\.resourceId) == ["x4", "x5", "x6"])
    }

    @Test(arguments: Backend.allCases)
    func r17_watermarksNeverGoBack(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, _, _) = try h.linkedAccount()
        #expect(try h.engine.watermark(accountId: a, .contacts) == nil)
        try h.engine.setWatermark(accountId: a, .contacts, 2_000)
        try h.engine.setWatermark(accountId: a, .contacts, 1_000)
        try h.engine.setWatermark(accountId: a, .items, 5)
        #expect(try h.engine.watermark(accountId: a, .contacts) == 2_000 && h.engine.watermark(accountId: a, .items) == 5)
        #expect(try h.engine.watermark(accountId: "other", .contacts) == nil)
    }

    @Test(arguments: Backend.allCases)
    func r9_anImportRecordsTheBaseAndAPersonsEditOfALinkedContactIsQueuedOnce(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, c, _) = try h.linkedAccount()
        let linked = try #require(try h.engine.linkedContacts(accountId: a, xeroContactIds: ["X-KAURI"])["x-kauri"])
        #expect(linked.base == ContactFields(name: "Kauri Landscapes", email: "office@kauri.nz"))
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).isEmpty)
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.email = "jobs@kauri.nz" }
        h.clock.advance(milliseconds: 500)
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.phone = "09 300 1000" }
        let rows = try h.engine.outbound(accountId: a, now: .max, limit: 10)
        try #require(rows.count == 1)
        #expect(rows[0].contactId == c.id && rows[0].editedAt > rows[0].queuedAt)
        #expect(try h.engine.outboundQueued() == [a: rows[0].queuedAt])
        // An edit of an unlinked contact, or one that changes nothing shared, queues nothing.
        let local = try h.records.contacts.insert(ContactRecord(id: "", accountId: a, name: "Local Only"))
        try h.records.contacts.modify(accountId: a, id: local.id) { $0.email = "l@x.nz" }
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).count == 1)
        // A push that carried the edits clears the row; one that read an older edit does not.
        let placeholder = ContactRecord(id: c.id, accountId: a, name: "")
        _ = try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: placeholder, clearOutboxEditedAt: rows[0].editedAt - 1, checked: false)])
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).count == 1)
        _ = try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: placeholder, base: ContactFields(name: "Kauri Landscapes", email: "jobs@kauri.nz", phone: "09 300 1000"),
                                                                          clearOutboxEditedAt: rows[0].editedAt, checked: false)])
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).isEmpty)
        #expect(try h.engine.linkedContacts(accountId: a, contactIds: [c.id]).first?.base?.email == "jobs@kauri.nz")
    }

    /// A push Xero refused is not tried again at once: the contact comes due 30 s later, then
    /// 60 s, doubling to an hour and staying there; other contacts' rows are left alone.
    @Test(arguments: Backend.allCases)
    func r9_aFailedPushIsQueuedAgainAfterABackoffThatDoublesToAnHour(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, c, _) = try h.linkedAccount()
        let unlinked = try h.records.contacts.insert(ContactRecord(id: "", accountId: a, name: "Totara Gardens"))
        let other = try h.engine.linkContact(accountId: a, contactId: unlinked.id, xeroContactId: "x-totara", fields: nil,
                                             base: unlinked.fields, expectedVersion: nil)
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.email = "jobs@kauri.nz" }
        try h.records.contacts.modify(accountId: a, id: other.id) { $0.email = "hi@totara.nz" }
        let queued = try h.engine.outbound(accountId: a, now: .max, limit: 10)
        try #require(queued.count == 2)
        let otherQueuedAt = try #require(queued.first { $0.contactId == other.id }?.queuedAt)
        for (i, wait) in [30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 3_600_000, 3_600_000].enumerated() {
            h.clock.advance(milliseconds: 1_000)
            let now = h.clock.nowMilliseconds()
            try h.engine.failOutbound(accountId: a, contactIds: [c.id], error: "Xero refused the contact")
            let due = try h.engine.outbound(accountId: a, now: now + Int64(wait), limit: 10).filter { $0.contactId == c.id }
            #expect(try h.engine.outbound(accountId: a, now: now + Int64(wait) - 1, limit: 10).allSatisfy { $0.contactId != c.id },
                    "failure \(i + 1): not due before \(wait) ms")
            #expect(due.map(\.queuedAt) == [now + Int64(wait)] && due.map(\.attempts) == [i + 1], "failure \(i + 1)")
        }
        let untouched = try #require(try h.engine.outbound(accountId: a, now: .max, limit: 10).first { $0.contactId == other.id })
        #expect(untouched.queuedAt == otherQueuedAt && untouched.attempts == 0)
        #expect(try h.engine.outboundQueued() == [a: otherQueuedAt])
    }

    @Test(arguments: Backend.allCases)
    func r9_anEngineUpdateIsRefusedWhenAPersonChangedTheContactSinceItWasRead(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, c, _) = try h.linkedAccount()
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.name = "Kauri Landscapes Ltd" }
        let stale = ContactUpdate(expected: c, fields: ContactFields(name: "From Xero", email: "office@kauri.nz"))
        #expect(try h.engine.applyContactUpdates(accountId: a, [stale]) == [c.id: .stale])
        #expect(try h.records.contacts.get(accountId: a, id: c.id)?.name == "Kauri Landscapes Ltd")
        let fresh = try #require(try h.records.contacts.get(accountId: a, id: c.id))
        let conflict = ContactConflict(field: "email", sortscape: "a@k.nz", xero: "b@k.nz", kept: "xero", at: "")
        let update = ContactUpdate(expected: fresh, fields: ContactFields(name: "From Xero", email: "b@k.nz"), conflicts: [conflict])
        #expect(try h.engine.applyContactUpdates(accountId: a, [update]) == [c.id: .applied])
        #expect(try h.records.contacts.get(accountId: a, id: c.id)?.email == "b@k.nz")
        // The same conflict is recorded once.
        let again = try #require(try h.records.contacts.get(accountId: a, id: c.id))
        _ = try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: again, conflicts: [conflict])])
        let recorded = try h.engine.conflicts(accountId: a, contactIds: [c.id])[c.id] ?? []
        #expect(recorded.count == 1 && recorded.first?.kept == "xero" && recorded.first?.at.isEmpty == false)
    }

    @Test(arguments: Backend.allCases)
    func r10_pendingWorkHoldsAnArchiveAndArchivingTakesThePropertiesAndRelinkingRefusesATakenContact(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, c, p) = try h.linkedAccount()
        #expect(try !h.engine.hasPendingWork(accountId: a, contactId: c.id))
        let job = try h.records.jobs.insert(JobRecord(id: "", accountId: a, propertyId: p.id, title: "Prune"))
        #expect(try h.engine.hasPendingWork(accountId: a, contactId: c.id))
        try h.records.jobs.modify(accountId: a, id: job.id) { $0.status = .done }
        #expect(try !h.engine.hasPendingWork(accountId: a, contactId: c.id))
        let issue = try h.records.issues.insert(IssueRecord(id: "", accountId: a, propertyId: p.id, title: "Leak"))
        #expect(try h.engine.hasPendingWork(accountId: a, contactId: c.id))
        try h.records.issues.modify(accountId: a, id: issue.id) { $0.archived = true }  // deleted
        #expect(try !h.engine.hasPendingWork(accountId: a, contactId: c.id))

        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: c, syncState: .waitingArchive)]) == [c.id: .applied])
        #expect(try h.engine.contactCount(accountId: a, syncState: .waitingArchive) == 1)
        let waiting = try #require(try h.engine.contacts(accountId: a, syncState: .waitingArchive).first)
        _ = try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: waiting, syncState: .linked, archive: true)])
        #expect(try h.records.contacts.get(accountId: a, id: c.id)?.archived == true)
        #expect(try h.records.properties.get(accountId: a, id: p.id)?.archived == true)
        #expect(try h.engine.contactCount(accountId: a, syncState: .waitingArchive) == 0)

        let other = try h.records.contacts.insert(ContactRecord(id: "", accountId: a, name: "Rata", xeroContactId: "x-rata", syncState: .linked))
        let archived = try #require(try h.records.contacts.get(accountId: a, id: c.id))
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: archived, relinkTo: "X-RATA")]) == [c.id: .relinkTaken])
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: archived, relinkTo: "x-new")]) == [c.id: .applied])
        #expect(try h.records.contacts.get(accountId: a, id: c.id)?.xeroContactId == "x-new")
        _ = other
    }

    @Test(arguments: Backend.allCases)
    func r11_linkingAContactTakesItsValuesAndRefusesASecondLink(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, c, _) = try h.linkedAccount()
        let local = try h.records.contacts.insert(ContactRecord(id: "", accountId: a, name: "Matai Builders", email: "m@m.nz"))
        let theirs = ContactFields(name: "Matai Builders", email: "")
        let chosen = ContactFields(name: "Matai Builders", email: "m@m.nz")
        let linked = try h.engine.linkContact(accountId: a, contactId: local.id, xeroContactId: "X-MATAI", fields: chosen, base: theirs, expectedVersion: nil)
        #expect(linked.xeroContactId == "x-matai" && linked.syncState == .linked && linked.email == "m@m.nz")
        #expect(try h.engine.linkedContacts(accountId: a, contactIds: [local.id]).first?.base == theirs)
        #expect { try h.engine.linkContact(accountId: a, contactId: local.id, xeroContactId: "x-2", fields: chosen, base: theirs, expectedVersion: nil) }
            throws: { code($0) == .conflict }
        let third = try h.records.contacts.insert(ContactRecord(id: "", accountId: a, name: "Third"))
        #expect { try h.engine.linkContact(accountId: a, contactId: third.id, xeroContactId: c.xeroContactId!, fields: chosen, base: theirs, expectedVersion: nil) }
            throws: { code($0) == .conflict }
    }

    @Test(arguments: Backend.allCases)
    func r17_aMaterialWhoseItemIsGoneIsUnlinkedAndEditableAgain(_ backend: Backend) throws {
        let h = try EngineHarness(backend)
        let (a, _, _) = try h.linkedAccount()
        let m = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Bark Mulch", unitPrice: 125_000, xeroItemId: "item-1"))
        #expect(try h.engine.unlinkMaterials(accountId: a, materialIds: [m.id]) == 1)
        #expect(try h.engine.unlinkMaterials(accountId: a, materialIds: [m.id]) == 0)
        let edited = try h.records.materials.modify(accountId: a, id: m.id) { $0.name = "Mulch (ours)" }
        #expect(edited.xeroItemId == nil && edited.name == "Mulch (ours)")
    }
}
