import Foundation
import Store
import Testing
import Timekeeping

/// SortScape's records and the sync's tables over one backend, with accounts and a test clock.
final class RecordsHarness {
    let clock = TestWallClock()
    let accounts: any AccountRepository
    let records: any SortScapeRecords
    let sync: any XeroSyncRepository
    let engine: any SyncEngineRepository
    private let finish: () -> Void

    init(_ backend: RepositoryHarness.Backend) throws {
        switch backend {
        case .sqlite:
            let db = try Database(path: temporaryDatabasePath())
            accounts = SQLiteAccountRepository(database: db, clock: clock)
            records = SQLiteSortScapeRecords(database: db, clock: clock)
            sync = SQLiteXeroSyncRepository(database: db, clock: clock)
            engine = SQLiteSyncEngineRepository(database: db, clock: clock)
            finish = { db.close() }
        case .memory:
            let store = MemoryStore(clock: clock)
            accounts = MemoryAccountRepository(store: store)
            records = MemorySortScapeRecords(store: store)
            sync = MemoryXeroSyncRepository(store: store)
            engine = MemorySyncEngineRepository(store: store)
            finish = {}
        case .postgres:
            let (db, drop) = try temporaryPostgres()
            accounts = PostgresAccountRepository(database: db, clock: clock)
            records = PostgresSortScapeRecords(database: db, clock: clock)
            sync = PostgresXeroSyncRepository(database: db, clock: clock)
            engine = PostgresSyncEngineRepository(database: db, clock: clock)
            finish = drop
        }
    }

    deinit { finish() }

    func account() throws -> String { try accounts.createAccount(name: "Acme").accountId! }

    func contact(_ account: String, _ name: String, xero: String? = nil) throws -> ContactRecord {
        try records.contacts.insert(ContactRecord(id: "", accountId: account, name: name, xeroContactId: xero,
                                                  syncState: xero == nil ? .unlinked : .linked))
    }

    func property(_ account: String, _ contact: String, _ line: String = "1 Main St") throws -> PropertyRecord {
        try records.properties.insert(PropertyRecord(id: "", accountId: account, contactId: contact, addressLine1: line))
    }

    func everything(_ a: String) throws -> [String] {
        let q = RecordQuery(accountId: a, limit: 1000)
        return try records.contacts.list(q).items.map { "c:\($0.name):\($0.archived)" }
            + records.properties.list(q).items.map { "p:\($0.addressLine1):\($0.archived)" }
            + records.materials.list(q).items.map { "m:\($0.name):\($0.unitPrice):\($0.xeroItemId ?? "-")" }
    }
}

/// One contract for `SortScapeRecords` and `XeroSyncRepository`, SQLite and memory alike.
@Suite struct RecordsContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    // MARK: records

    @Test(arguments: Backend.allCases)
    func insertGivesAnIdAndStampsUpdateKeepsCreatedAt(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let created = h.clock.timestamp()
        var c = try h.contact(a, "Ann")
        #expect(c.id.wholeMatch(of: /[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/) != nil)
        #expect(c.createdAt == created && c.updatedAt == created)
        #expect(try h.records.contacts.get(accountId: a, id: c.id) == c)
        h.clock.advance(milliseconds: 1000)
        c.email = "ann@example.com"
        let updated = try h.records.contacts.update(c)
        #expect(updated.createdAt == created && updated.updatedAt == h.clock.timestamp() && updated.email == "ann@example.com")
        #expect(try h.records.contacts.get(accountId: a, id: c.id) == updated)
        let m = try h.records.materials.insert(MaterialRecord(id: "m-1", accountId: a, name: "Mulch", unitPrice: 123_456))
        #expect(m.id == "m-1" && !m.readOnly)
        #expect(try h.records.materials.get(accountId: a, id: "m-1")?.unitPrice == 123_456)
        #expect { try h.records.materials.insert(MaterialRecord(id: "m-1", accountId: a, name: "Again")) } throws: { code($0) == .conflict }
    }

    @Test(arguments: Backend.allCases)
    func anotherAccountCanNeverReadOrUpdateARecord(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        let c = try h.contact(a, "Ann")
        let p = try h.property(a, c.id)
        let j = try h.records.jobs.insert(JobRecord(id: "", accountId: a, propertyId: p.id, title: "Prune"))
        let i = try h.records.issues.insert(IssueRecord(id: "", accountId: a, propertyId: p.id, title: "Leak"))
        #expect(try h.records.contacts.get(accountId: b, id: c.id) == nil)
        #expect(try h.records.properties.get(accountId: b, id: p.id) == nil)
        #expect(try h.records.jobs.get(accountId: b, id: j.id) == nil)
        #expect(try h.records.issues.get(accountId: b, id: i.id) == nil)
        var stolen = c
        stolen.accountId = b
        stolen.name = "Mallory"
        #expect { try h.records.contacts.update(stolen) } throws: { code($0) == .notFound }
        #expect { try h.records.archiveContact(accountId: b, id: c.id) } throws: { code($0) == .notFound }
        #expect(try h.records.contacts.list(RecordQuery(accountId: b)).items.isEmpty)
        #expect(try h.records.properties.list(RecordQuery(accountId: b)).items.isEmpty)
        #expect(try h.records.jobs.list(RecordQuery(accountId: b)).items.isEmpty)
        #expect(try h.records.properties(accountId: b, contactIds: [c.id]).isEmpty)
        #expect(try h.records.contacts.get(accountId: a, id: c.id)?.name == "Ann")
        // Nor can B hang its own records on A's.
        #expect { try h.property(b, c.id) } throws: { code($0) == .conflict }
        #expect { try h.records.jobs.insert(JobRecord(id: "", accountId: b, propertyId: p.id, title: "x")) } throws: { code($0) == .conflict }
        #expect { try h.records.issues.insert(IssueRecord(id: "", accountId: b, propertyId: "nope", title: "x")) } throws: { code($0) == .conflict }
        #expect { try h.contact("no-such-account", "Ghost") } throws: { code($0) == .conflict }
    }

    @Test(arguments: Backend.allCases)
    func listsPageOldestFirstWithCursorsAndFilterArchived(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        var ids: [String] = []
        for n in 0..<5 {
            ids.append(try h.contact(a, "c\(n)").id)
            _ = try h.contact(b, "other\(n)")
        }
        try h.records.archiveContact(accountId: a, id: ids[1])
        try h.records.archiveContact(accountId: a, id: ids[3])
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try h.records.contacts.list(RecordQuery(accountId: a, limit: 2, cursor: cursor))
            seen += page.items.map(\.id)
            cursor = page.nextCursor
            pages += 1
        } while cursor != nil
        #expect(seen == ids && pages == 3)
        #expect(try h.records.contacts.list(RecordQuery(accountId: a, limit: 5)).nextCursor == nil)
        #expect(try h.records.contacts.list(RecordQuery(accountId: a, archived: true)).items.map(\.id) == [ids[1], ids[3]])
        let active = try h.records.contacts.list(RecordQuery(accountId: a, archived: false, limit: 2))
        #expect(active.items.map(\.id) == [ids[0], ids[2]])
        #expect(try h.records.contacts.list(RecordQuery(accountId: a, archived: false, limit: 2, cursor: active.nextCursor)).items.map(\.id) == [ids[4]])
        for bad in ["x", "-1", "1.5", String(repeating: "9", count: 30)] {
            #expect { try h.records.contacts.list(RecordQuery(accountId: a, cursor: bad)) } throws: { code($0) == .invalidCursor }
        }
    }

    @Test(arguments: Backend.allCases)
    func r8_archivingAContactArchivesItsPropertiesAndChangesNothingElse(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let ann = try h.contact(a, "Ann", xero: "x-ann"), bob = try h.contact(a, "Bob")
        _ = try h.property(a, ann.id, "1 Ann St")
        _ = try h.property(a, ann.id, "2 Ann St")
        _ = try h.property(a, bob.id, "1 Bob St")
        try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Mulch", unitPrice: 5, xeroItemId: "item-1"))
        h.clock.advance(milliseconds: 10)
        let archived = try h.records.archiveContact(accountId: a, id: ann.id)
        #expect(archived.archived && archived.updatedAt == h.clock.timestamp())
        #expect(archived.xeroContactId == "x-ann" && archived.syncState == .linked)  // the link stays: R8's "not imported again"
        #expect(try h.everything(a) == ["c:Ann:true", "c:Bob:false", "p:1 Ann St:true", "p:2 Ann St:true", "p:1 Bob St:false",
                                        "m:Mulch:5:item-1"])
        #expect(try h.records.properties(accountId: a, contactIds: [ann.id, bob.id]).map(\.addressLine1) == ["1 Ann St", "2 Ann St", "1 Bob St"])
        #expect(try h.sync.allContacts(accountId: a).map(\.archived) == [true, false])
    }

    @Test(arguments: Backend.allCases)
    func xeroIdsAreUniquePerAccountAndMissingOnesRepeat(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        _ = try h.contact(a, "One", xero: "x1")
        #expect { try h.contact(a, "Two", xero: "x1") } throws: { code($0) == .conflict }
        _ = try h.contact(b, "Two", xero: "x1")
        _ = try h.contact(a, "Three")
        _ = try h.contact(a, "Four")
        try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "M1", xeroItemId: "i1"))
        #expect { try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "M2", xeroItemId: "i1")) } throws: { code($0) == .conflict }
        try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "M3"))
        try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "M4"))
        #expect(try h.sync.allMaterials(accountId: a).map(\.name) == ["M1", "M3", "M4"])
    }

    @Test(arguments: Backend.allCases)
    func r13_updatingALinkedMaterialKeepsXerosValuesAndAnUnlinkedOneTakesThePersons(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let linked = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Mulch", code: "MU",
                                                                   description: "Bark mulch", unitPrice: 12_3456, xeroItemId: "item-1"))
        var edit = linked
        edit.name = "Cheap mulch"
        edit.code = "CM"
        edit.description = "Renamed by a person"
        edit.unitPrice = 1
        edit.xeroItemId = nil
        edit.archived = true
        h.clock.advance(milliseconds: 10)
        let stored = try h.records.materials.update(edit)
        let fetched = try #require(try h.records.materials.get(accountId: a, id: linked.id))
        for m in [stored, fetched] {
            #expect(m.name == "Mulch" && m.code == "MU" && m.description == "Bark mulch" && m.unitPrice == 12_3456)
            #expect(m.xeroItemId == "item-1" && m.readOnly)
            #expect(m.archived)  // archiving is a person's to change
        }
        // An unlinked material is the person's: every value is taken, and no link can be made by an edit.
        let own = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Gravel", code: "GR", unitPrice: 5))
        var ownEdit = own
        ownEdit.name = "Fine gravel"
        ownEdit.code = "FG"
        ownEdit.description = "10 mm"
        ownEdit.unitPrice = 7_5000
        ownEdit.xeroItemId = "item-2"
        let ownStored = try h.records.materials.update(ownEdit)
        #expect(ownStored.name == "Fine gravel" && ownStored.code == "FG" && ownStored.description == "10 mm" && ownStored.unitPrice == 7_5000)
        #expect(ownStored.xeroItemId == nil && !ownStored.readOnly)
        #expect(try h.records.materials.get(accountId: a, id: own.id) == ownStored)
    }

    @Test(arguments: Backend.allCases)
    func r9_anEditInTheMillisecondAPushReadIsPushedTooAndAnEditAfterAFailedPushIsDueAtOnce(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let c = try h.contact(a, "Kauri Landscapes", xero: "x-kauri")
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.email = "jobs@kauri.nz" }
        let read = try #require(try h.engine.outbound(accountId: a, now: .max, limit: 10).first)
        // The clock has not moved: a push that read the first edit must not clear the second.
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.phone = "09 300 1000" }
        let placeholder = ContactRecord(id: c.id, accountId: a, name: "")
        _ = try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: placeholder, clearOutboxEditedAt: read.editedAt,
                                                                          checked: false)])
        let queued = try #require(try h.engine.outbound(accountId: a, now: .max, limit: 10).first)
        #expect(queued.contactId == c.id && queued.queuedAt == read.queuedAt && queued.editedAt > read.editedAt)
        // A failed push waits out its backoff; a person's next edit makes it due at once, its attempts counted afresh.
        let now = h.clock.nowMilliseconds()
        try h.engine.failOutbound(accountId: a, contactIds: [c.id], error: "Xero answered 503")
        #expect(try h.engine.outbound(accountId: a, now: now, limit: 10).isEmpty)
        try h.records.contacts.modify(accountId: a, id: c.id) { $0.name = "Kauri Landscapes Ltd" }
        let due = try #require(try h.engine.outbound(accountId: a, now: now, limit: 10).first)
        #expect(due.contactId == c.id && due.attempts == 0 && due.queuedAt <= now)
    }

    // MARK: import

    func batch(_ a: String) -> ImportBatch {
        ImportBatch(accountId: a, contacts: [
            (ContactRecord(id: "c-new", accountId: a, name: "New", xeroContactId: "x-new", syncState: .linked),
             PropertyRecord(id: "p-new", accountId: a, contactId: "c-new", addressLine1: "9 New St", source: .xeroShipping)),
            (ContactRecord(id: "c-bare", accountId: a, name: "Bare", xeroContactId: "x-bare", syncState: .linked), nil),
        ], newMaterials: [MaterialRecord(id: "m-new", accountId: a, name: "Gravel", unitPrice: 1_2345, xeroItemId: "i-gravel")])
    }

    @Test(arguments: Backend.allCases)
    func applyIsOneIdempotentTransaction(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let ann = try h.contact(a, "Ann")
        let mulch = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Mulch", unitPrice: 1))
        var b = batch(a)
        b.matches = [ContactMatchRecord(id: "match-1", accountId: a, contactId: ann.id, xeroContactId: "x-ann",
                                        xero: ContactFields(name: "ANN"), reasons: ["name"], xeroContact: Array("{}".utf8))]
        b.linkedMaterials = [MaterialRecord(id: mulch.id, accountId: a, name: "Mulch", code: "MU", unitPrice: 2_5000, xeroItemId: "i-mulch")]
        var expected = ImportOutcome()
        expected.contactsCreated = 2
        expected.propertiesCreated = 1
        expected.matchesRecorded = 1
        expected.materialsCreated = 1
        expected.materialsLinked = 1
        #expect(try h.sync.apply(b) == expected)
        let after = try h.everything(a)
        #expect(after == ["c:Ann:false", "c:New:false", "c:Bare:false", "p:9 New St:false",
                          "m:Mulch:25000:i-mulch", "m:Gravel:12345:i-gravel"])
        #expect(try h.sync.matchedXeroContactIds(accountId: a) == ["x-ann"])
        // Again, with fresh ids: the Xero ids and the match key already exist, so nothing changes,
        // and the skipped contact's property is skipped with it.
        var again = batch(a)
        again.contacts = again.contacts.map { c, p in
            var c = c, p = p
            c.id = "c2-" + c.id
            p?.id = "p2"
            p?.contactId = c.id
            return (c, p)
        }
        again.newMaterials[0].id = "m2"
        again.matches = b.matches.map { var m = $0; m.id = "match-2"; return m }
        again.linkedMaterials = b.linkedMaterials
        #expect(try h.sync.apply(again) == ImportOutcome())
        #expect(try h.everything(a) == after)
        #expect(try h.sync.matches(accountId: a, state: nil, limit: 10, cursor: nil).items.map(\.id) == ["match-1"])
        // A batch with a record of another account is refused whole.
        let other = try h.account()
        var mixed = batch(a)
        mixed.newMaterials = [MaterialRecord(id: "m-x", accountId: other, name: "X")]
        #expect { try h.sync.apply(mixed) } throws: { code($0) == .invalidAccount }
        // A failing batch leaves nothing behind.
        var failing = batch(a)
        failing.contacts = [(ContactRecord(id: "c-ok", accountId: a, name: "Ok", xeroContactId: "x-ok"), nil),
                            (ContactRecord(id: "c-bad", accountId: a, name: "Bad", xeroContactId: "x-bad"),
                             PropertyRecord(id: "p-bad", accountId: a, contactId: "no-such-contact"))]
        #expect { try h.sync.apply(failing) } throws: { code($0) == .conflict }
        #expect(try h.everything(a) == after)
    }

    // MARK: matches

    func matched(_ h: RecordsHarness) throws -> (a: String, ann: ContactRecord, anne: ContactRecord) {
        let a = try h.account()
        let ann = try h.contact(a, "Ann"), anne = try h.contact(a, "Anne")
        let xero = ContactFields(name: "Ann", companyName: "Ann's Gardens", email: "ann@example.com", phone: "555")
        _ = try h.sync.apply(ImportBatch(accountId: a, matches: [
            ContactMatchRecord(id: "m-ann", accountId: a, contactId: ann.id, xeroContactId: "x-ann", xero: xero,
                               reasons: ["name", "email"], xeroContact: Array(#"{"ContactID":"x-ann"}"#.utf8)),
            ContactMatchRecord(id: "m-anne", accountId: a, contactId: anne.id, xeroContactId: "x-ann", xero: xero,
                               reasons: ["phone"], xeroContact: Array("{}".utf8)),
            ContactMatchRecord(id: "m-bob", accountId: a, contactId: anne.id, xeroContactId: "x-bob", xero: ContactFields(name: "Bob"),
                               reasons: ["phone"], xeroContact: Array("{}".utf8)),
        ]))
        return (a, ann, anne)
    }

    @Test(arguments: Backend.allCases)
    func matchesAreKeptWithTheirXeroValuesAndReasons(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let (a, ann, _) = try matched(h)
        let m = try #require(try h.sync.match(accountId: a, id: "m-ann"))
        #expect(m.contactId == ann.id && m.xero.companyName == "Ann's Gardens" && m.reasons == ["name", "email"] && m.state == .pending)
        #expect(m.xeroContact == Array(#"{"ContactID":"x-ann"}"#.utf8) && m.createdAt == h.clock.timestamp())
        #expect(try h.sync.pendingMatchCount(accountId: a) == 3)
        let first = try h.sync.matches(accountId: a, state: .pending, limit: 2, cursor: nil)
        #expect(first.items.map(\.id) == ["m-ann", "m-anne"])
        #expect(try h.sync.matches(accountId: a, state: .pending, limit: 2, cursor: first.nextCursor).items.map(\.id) == ["m-bob"])
        let b = try h.account()
        #expect(try h.sync.match(accountId: b, id: "m-ann") == nil)
        #expect(try h.sync.matches(accountId: b, state: nil, limit: 10, cursor: nil).items.isEmpty)
        #expect(try h.sync.pendingMatchCount(accountId: b) == 0)
    }

    @Test(arguments: Backend.allCases)
    func r7_linkTakesTheChosenValuesAndSettlesTheXeroContactsOtherMatches(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let (a, ann, anne) = try matched(h)
        let b = try h.account()
        let chosen = ContactFields(name: "Ann Smith", companyName: "Ann's Gardens", email: "ann@example.com", phone: "555 1234")
        #expect { try h.sync.link(accountId: b, matchId: "m-ann", fields: chosen) } throws: { code($0) == .notFound }
        h.clock.advance(milliseconds: 5)
        let linked = try h.sync.link(accountId: a, matchId: "m-ann", fields: chosen)
        #expect(linked.id == ann.id && linked.fields == chosen && linked.xeroContactId == "x-ann" && linked.syncState == .linked)
        #expect(linked.updatedAt == h.clock.timestamp() && linked.createdAt == ann.createdAt)
        #expect(try h.records.contacts.get(accountId: a, id: ann.id) == linked)
        #expect(try h.sync.match(accountId: a, id: "m-ann")?.state == .linked)
        #expect(try h.sync.match(accountId: a, id: "m-anne")?.state == .dismissed)
        #expect(try h.sync.match(accountId: a, id: "m-bob")?.state == .pending)
        #expect(try h.sync.pendingMatchCount(accountId: a) == 1)
        // A settled match cannot be linked again.
        #expect { try h.sync.link(accountId: a, matchId: "m-ann", fields: chosen) } throws: { code($0) == .conflict }
        #expect { try h.sync.link(accountId: a, matchId: "m-anne", fields: chosen) } throws: { code($0) == .conflict }
        // A person's edit can neither make nor undo a link: the sync owns it.
        let edited = try h.records.contacts.update({ var c = anne; c.xeroContactId = "x-other"; c.syncState = .linked; c.name = "Anne B"; return c }())
        #expect(edited.xeroContactId == nil && edited.syncState == .unlinked && edited.name == "Anne B")
        let unlinked = try h.records.contacts.update({ var c = linked; c.xeroContactId = nil; c.syncState = .unlinked; return c }())
        #expect(unlinked.xeroContactId == "x-ann" && unlinked.syncState == .linked)
        #expect(try h.sync.match(accountId: a, id: "m-bob")?.state == .pending)
    }

    @Test(arguments: Backend.allCases)
    func r7_dismissImportsTheXeroContactOnceWithItsProperty(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let (a, _, _) = try matched(h)
        let imported = ContactRecord(id: "c-xann", accountId: a, name: "Ann", companyName: "Ann's Gardens", syncState: .linked)
        let property = PropertyRecord(id: "p-xann", accountId: a, contactId: "c-xann", addressLine1: "1 Xero St", source: .xeroBilling)
        #expect { try h.sync.dismiss(accountId: a, matchId: "nope", contact: imported, property: property) } throws: { code($0) == .notFound }
        let c = try h.sync.dismiss(accountId: a, matchId: "m-ann", contact: imported, property: property)
        #expect(c.id == "c-xann" && c.xeroContactId == "x-ann" && c.companyName == "Ann's Gardens")
        #expect(try h.records.properties(accountId: a, contactIds: [c.id]).map(\.source) == [.xeroBilling])
        #expect(try h.sync.match(accountId: a, id: "m-ann")?.state == .dismissed)
        #expect(try h.sync.match(accountId: a, id: "m-anne")?.state == .dismissed)
        #expect(try h.sync.match(accountId: a, id: "m-bob")?.state == .pending)
        #expect { try h.sync.dismiss(accountId: a, matchId: "m-anne", contact: imported, property: property) } throws: { code($0) == .conflict }
        #expect(try h.sync.allContacts(accountId: a).count == 3)
    }

    @Test(arguments: Backend.allCases)
    func dismissOfAXeroContactTheAccountAlreadyHasImportsNothing(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let (a, _, _) = try matched(h)
        let existing = try h.contact(a, "Ann (imported)", xero: "x-bob")
        let c = try h.sync.dismiss(accountId: a, matchId: "m-bob", contact: ContactRecord(id: "", accountId: a, name: "Bob"), property: nil)
        #expect(c == existing)
        #expect(try h.sync.allContacts(accountId: a).count == 3)
        #expect(try h.sync.pendingMatchCount(accountId: a) == 2)
    }

    // MARK: sync runs

    @Test(arguments: Backend.allCases)
    func r17_startRunCoalescesWithTheRunningOnePerAccount(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account(), b = try h.account()
        let (first, started) = try h.sync.startRun(accountId: a, trigger: .initial)
        #expect(started && first.state == .running && first.trigger == .initial && first.startedAt == h.clock.timestamp())
        let (again, startedAgain) = try h.sync.startRun(accountId: a, trigger: .manual)
        #expect(!startedAgain && again == first)
        #expect(try h.sync.startRun(accountId: b, trigger: .manual).started)
        #expect { try h.sync.startRun(accountId: "nobody", trigger: .manual) } throws: { code($0) == .notFound }
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: nil) == nil)
        h.clock.advance(milliseconds: 2000)
        var done = first
        done.state = .succeeded
        done.counts = ["contactsCreated": 3, "contactsSkippedSupplier": 1]
        done.xeroCalls = 4
        done.errors = ["Item \"X\": \"quoted\"\nline"]
        let finished = try h.sync.finishRun(done)
        #expect(finished.finishedAt == h.clock.timestamp() && finished.counts == done.counts && finished.errors == done.errors)
        #expect(try h.sync.run(accountId: a, id: first.id) == finished)
        #expect(try h.sync.run(accountId: b, id: first.id) == nil)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: nil) == finished)
        #expect { try h.sync.finishRun(done) } throws: { code($0) == .conflict }
        var stray = done
        stray.accountId = b
        #expect { try h.sync.finishRun(stray) } throws: { code($0) == .notFound }
        let (second, startedSecond) = try h.sync.startRun(accountId: a, trigger: .scheduled)
        #expect(startedSecond && second.id != first.id)
        let page = try h.sync.runs(accountId: a, limit: 1, cursor: nil)
        #expect(page.items.map(\.id) == [first.id])
        #expect(try h.sync.runs(accountId: a, limit: 1, cursor: page.nextCursor).items.map(\.id) == [second.id])
        #expect(try h.sync.recentRuns(accountId: a, limit: 10).map(\.id) == [second.id, first.id])
        #expect(try h.sync.recentRuns(accountId: a, limit: 1).map(\.id) == [second.id])
        #expect(try h.sync.recentRuns(accountId: "nobody", limit: 10).isEmpty)
    }

    /// The next sweep is timed from the last finished sweep (R17): runs of other triggers, and
    /// one still going on, do not count; a failed run does.
    @Test(arguments: Backend.allCases)
    func r17_theLastSweepIsTheNewestFinishedRunOfTheSweepTriggers(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        func finished(_ trigger: SyncTrigger, _ state: SyncRunState) throws -> SyncRunRecord {
            var run = try h.sync.startRun(accountId: a, trigger: trigger).run
            h.clock.advance(milliseconds: 1000)
            run.state = state
            return try h.sync.finishRun(run)
        }
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: SyncTrigger.sweeps) == nil)
        let manual = try finished(.manual, .succeeded)
        let scheduled = try finished(.scheduled, .failed)
        let webhook = try finished(.webhook, .succeeded)
        try #require(try h.sync.startRun(accountId: a, trigger: .reconcile).started)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: SyncTrigger.sweeps) == scheduled)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: [.manual, .link]) == manual)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: [.webhook]) == webhook)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: [.reconcile, .push]) == nil)
        #expect(try h.sync.lastFinishedRun(accountId: a, triggers: nil) == webhook)
    }

    @Test(arguments: Backend.allCases)
    func runsARestartLeftRunningFailAsInterrupted(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let (run, _) = try h.sync.startRun(accountId: a, trigger: .initial)
        h.clock.advance(milliseconds: 60_000)
        try h.sync.failAbandonedRuns()
        let failed = try #require(try h.sync.run(accountId: a, id: run.id))
        #expect(failed.state == .failed && failed.errors == ["interrupted by a restart"] && failed.finishedAt == h.clock.timestamp())
        #expect(try h.sync.startRun(accountId: a, trigger: .manual).started)
    }

    @Test(arguments: Backend.allCases)
    func aRunAnotherLiveProcessCarriesOutIsNotAbandonedUntilItsHeartbeatStops(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        // The command line's `sync` runs the account; a server starts beside it.
        let (cli, started) = try h.sync.startRun(accountId: a, trigger: .manual, owner: "pid 7 cli")
        try #require(started)
        #expect(cli.owner == "pid 7 cli")
        h.clock.advance(milliseconds: 50_000)
        try h.sync.heartbeat(owner: "pid 7 cli")
        h.clock.advance(milliseconds: 50_000)
        try h.sync.heartbeat(owner: "pid 9 server")  // another owner's beat moves nothing of the CLI's
        try h.sync.failAbandonedRuns()
        #expect(try h.sync.run(accountId: a, id: cli.id)?.state == .running, "its heartbeat is 50 s old: alive")
        #expect(try h.sync.startRun(accountId: a, trigger: .scheduled, owner: "pid 9 server").started == false)
        // The CLI is killed: its heartbeat stops, and a minute later the run is abandoned.
        h.clock.advance(milliseconds: 10_000)
        let taken = try h.sync.startRun(accountId: a, trigger: .scheduled, owner: "pid 9 server")
        #expect(taken.started && taken.run.owner == "pid 9 server")
        let failed = try #require(try h.sync.run(accountId: a, id: cli.id))
        #expect(failed.state == .failed && failed.errors == ["interrupted by a restart"])
        try h.sync.failAbandonedRuns()
        #expect(try h.sync.run(accountId: a, id: taken.run.id)?.state == .running, "the new run's heartbeat is fresh")
    }
}
