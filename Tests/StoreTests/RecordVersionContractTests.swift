import Store
import Testing

/// Records carry a version (DESIGN §3: the API's `ETag`, 412 on a stale `If-Match`): 1 when
/// created, one more with every write of the row, whoever writes it — a person's insert, update,
/// modify or archive, and every write of the sync (engine updates, links, dismissals, import
/// batches, unlinked materials). SQLite and memory alike.
@Suite struct RecordVersionContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    /// One record of every kind: a contact with two properties (one archived already), a job, an
    /// issue and a material.
    struct Family {
        var contact: ContactRecord
        var property: PropertyRecord
        var archivedProperty: PropertyRecord
        var job: JobRecord
        var issue: IssueRecord
        var material: MaterialRecord
    }

    func family(_ h: RecordsHarness, _ a: String, xero: String? = nil) throws -> Family {
        let contact = try h.contact(a, "Ann", xero: xero)
        let property = try h.property(a, contact.id, "1 Ann St")
        var archivedProperty = try h.property(a, contact.id, "2 Ann St")
        archivedProperty = try h.records.properties.modify(accountId: a, id: archivedProperty.id) { $0.archived = true }
        let job = try h.records.jobs.insert(JobRecord(id: "", accountId: a, propertyId: property.id, title: "Prune"))
        let issue = try h.records.issues.insert(IssueRecord(id: "", accountId: a, propertyId: property.id, title: "Leak"))
        let material = try h.records.materials.insert(MaterialRecord(id: "", accountId: a, name: "Mulch", unitPrice: 5))
        return Family(contact: contact, property: property, archivedProperty: archivedProperty, job: job, issue: issue, material: material)
    }

    /// The stored versions: contact, property, archived property, job, issue, material.
    func versions(_ h: RecordsHarness, _ a: String, _ f: Family) throws -> [Int64?] {
        [try h.records.contacts.get(accountId: a, id: f.contact.id)?.version,
         try h.records.properties.get(accountId: a, id: f.property.id)?.version,
         try h.records.properties.get(accountId: a, id: f.archivedProperty.id)?.version,
         try h.records.jobs.get(accountId: a, id: f.job.id)?.version,
         try h.records.issues.get(accountId: a, id: f.issue.id)?.version,
         try h.records.materials.get(accountId: a, id: f.material.id)?.version]
    }

    @Test(arguments: Backend.allCases)
    func aPersonsEveryWriteMovesTheVersionOfTheRowsItWrites(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let f = try family(h, a)
        for v in [f.contact.version, f.property.version, f.job.version, f.issue.version, f.material.version] { #expect(v == 1) }
        #expect(f.archivedProperty.version == 2)
        #expect(try versions(h, a, f) == [1, 1, 2, 1, 1, 1])

        // update: the version given is ignored; the stored one moves by one and is what comes back.
        var c = f.contact
        c.email = "ann@example.com"
        c.version = 99
        let updated = try h.records.contacts.update(c)
        #expect(updated.version == 2)
        #expect(try h.records.contacts.get(accountId: a, id: c.id) == updated)
        // modify, of every kind.
        #expect(try h.records.contacts.modify(accountId: a, id: c.id) { $0.phone = "555" }.version == 3)
        #expect(try h.records.properties.modify(accountId: a, id: f.property.id) { $0.city = "Wellington" }.version == 2)
        #expect(try h.records.jobs.modify(accountId: a, id: f.job.id) { $0.status = .done }.version == 2)
        #expect(try h.records.issues.modify(accountId: a, id: f.issue.id) { $0.status = .resolved }.version == 2)
        #expect(try h.records.materials.modify(accountId: a, id: f.material.id) { $0.unitPrice = 6 }.version == 2)
        #expect(try versions(h, a, f) == [3, 2, 2, 2, 2, 2])
        // Archiving a contact writes it and its properties not archived yet: those move, the rest stay.
        let archived = try h.records.archiveContact(accountId: a, id: c.id)
        #expect(archived.version == 4)
        #expect(try versions(h, a, f) == [4, 3, 2, 2, 2, 2])
        // Archiving anything else is a modify.
        #expect(try h.records.materials.modify(accountId: a, id: f.material.id) { $0.archived = true }.version == 3)
        // Reads move nothing.
        _ = try h.records.contacts.list(RecordQuery(accountId: a))
        #expect(try versions(h, a, f) == [4, 3, 2, 2, 2, 3])
    }

    @Test(arguments: Backend.allCases)
    func aWriteExpectingAnotherVersionWritesNothing(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let f = try family(h, a, xero: "x-ann")
        h.clock.advance(milliseconds: 10)
        let now = try h.records.contacts.modify(accountId: a, id: f.contact.id, expectedVersion: 1) { $0.name = "Ann Smith" }
        #expect(now.version == 2 && now.name == "Ann Smith")
        // A linked contact's edit queues a push; a stale one writes nothing, not even that.
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).map(\.contactId) == [f.contact.id])
        try h.engine.dropOutbound(accountId: a, contactIds: [f.contact.id])
        h.clock.advance(milliseconds: 10)
        #expect { try h.records.contacts.modify(accountId: a, id: f.contact.id, expectedVersion: 1) { $0.name = "Stale" } }
            throws: { code($0) == .preconditionFailed }
        #expect(try h.records.contacts.get(accountId: a, id: f.contact.id) == now)
        #expect(try h.engine.outbound(accountId: a, now: .max, limit: 10).isEmpty)
        // Every kind checks, and a record that is not there is still notFound.
        #expect { try h.records.properties.modify(accountId: a, id: f.property.id, expectedVersion: 7) { $0.city = "X" } }
            throws: { code($0) == .preconditionFailed }
        #expect { try h.records.jobs.modify(accountId: a, id: f.job.id, expectedVersion: 0) { $0.title = "X" } }
            throws: { code($0) == .preconditionFailed }
        #expect { try h.records.issues.modify(accountId: a, id: f.issue.id, expectedVersion: 2) { $0.title = "X" } }
            throws: { code($0) == .preconditionFailed }
        #expect { try h.records.materials.modify(accountId: a, id: f.material.id, expectedVersion: 2) { $0.archived = true } }
            throws: { code($0) == .preconditionFailed }
        #expect { try h.records.jobs.modify(accountId: a, id: "no-such-job", expectedVersion: 1) { $0.title = "X" } }
            throws: { code($0) == .notFound }
        #expect(try versions(h, a, f) == [2, 1, 2, 1, 1, 1])
        #expect(try h.everything(a) == ["c:Ann Smith:false", "p:1 Ann St:false", "p:2 Ann St:true", "m:Mulch:5:-"])
        // A stale archive archives neither the contact nor its properties; the current version does.
        #expect { try h.records.archiveContact(accountId: a, id: f.contact.id, expectedVersion: 1) } throws: { code($0) == .preconditionFailed }
        #expect(try h.everything(a) == ["c:Ann Smith:false", "p:1 Ann St:false", "p:2 Ann St:true", "m:Mulch:5:-"])
        #expect { try h.records.archiveContact(accountId: "no-such-account", id: f.contact.id, expectedVersion: 2) } throws: { code($0) == .notFound }
        #expect(try h.records.archiveContact(accountId: a, id: f.contact.id, expectedVersion: 2).version == 3)
        #expect(try h.everything(a) == ["c:Ann Smith:true", "p:1 Ann St:true", "p:2 Ann St:true", "m:Mulch:5:-"])
        // The version expected is the one stored, not the one handed to modify's change.
        let job = try h.records.jobs.modify(accountId: a, id: f.job.id, expectedVersion: 1) { $0.version = 40; $0.title = "Prune roses" }
        #expect(job.version == 2 && job.title == "Prune roses")
    }

    @Test(arguments: Backend.allCases)
    func theEnginesEveryWriteMovesTheVersionOfTheRowsItWrites(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let f = try family(h, a, xero: "x-ann")
        let fields = ContactFields(name: "Ann Smith", companyName: "Ann's Gardens", email: "ann@example.com", phone: "555")

        // R9: the engine writes Xero's values.
        var current = try #require(try h.records.contacts.get(accountId: a, id: f.contact.id))
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, fields: fields, base: fields)])
            == [f.contact.id: .applied])
        current = try #require(try h.records.contacts.get(accountId: a, id: f.contact.id))
        #expect(current.version == 2 && current.fields == fields)
        // What does not write the row (a base of its own) leaves the version alone.
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, base: ContactFields(name: "B"))])
            == [f.contact.id: .applied])
        #expect(try versions(h, a, f) == [2, 1, 2, 1, 1, 1])
        // A sync state (R10's waiting), a relink (R10's merge), an archive (R10) with its properties.
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, syncState: .waitingArchive)])
            == [f.contact.id: .applied])
        current = try #require(try h.records.contacts.get(accountId: a, id: f.contact.id))
        #expect(current.version == 3)
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, relinkTo: "x-ann-2")])
            == [f.contact.id: .applied])
        current = try #require(try h.records.contacts.get(accountId: a, id: f.contact.id))
        #expect(current.version == 4 && current.xeroContactId == "x-ann-2")
        // R10 checked at the write: the pending job and open issue hold the archive (the contact waits).
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, syncState: .linked, archive: true)]) == [f.contact.id: .applied])
        current = try #require(try h.records.contacts.get(accountId: a, id: f.contact.id))
        #expect(current.syncState == .waitingArchive && !current.archived)
        #expect(try versions(h, a, f) == [4, 1, 2, 1, 1, 1], "already waiting: nothing to write")
        try h.records.jobs.modify(accountId: a, id: f.job.id) { $0.status = .done }
        try h.records.issues.modify(accountId: a, id: f.issue.id) { $0.status = .resolved }
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, syncState: .linked, archive: true)]) == [f.contact.id: .applied])
        #expect(try versions(h, a, f) == [5, 2, 2, 2, 2, 1])
        // A stale update writes nothing and moves nothing.
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: current, fields: ContactFields(name: "X"))])
            == [f.contact.id: .stale])
        #expect(try versions(h, a, f) == [5, 2, 2, 2, 2, 1])

        // R11: linking an unlinked contact to a Xero contact.
        let bob = try h.contact(a, "Bob")
        let linked = try h.engine.linkContact(accountId: a, contactId: bob.id, xeroContactId: "x-bob", fields: ContactFields(name: "Bob"),
                                              base: ContactFields(name: "Bob"), expectedVersion: nil)
        #expect(linked.version == 2)
        #expect(try h.records.contacts.get(accountId: a, id: bob.id)?.version == 2)

        // R7: a match linked; a match dismissed imports a new contact at version 1 and writes no other.
        let cat = try h.contact(a, "Cat"), dan = try h.contact(a, "Dan")
        _ = try h.sync.apply(ImportBatch(accountId: a, matches: [
            ContactMatchRecord(id: "m-cat", accountId: a, contactId: cat.id, xeroContactId: "x-cat", xero: ContactFields(name: "Cat"),
                               reasons: ["name"], xeroContact: Array("{}".utf8)),
            ContactMatchRecord(id: "m-dan", accountId: a, contactId: dan.id, xeroContactId: "x-dan", xero: ContactFields(name: "Dan"),
                               reasons: ["name"], xeroContact: Array("{}".utf8)),
        ]))
        #expect(try h.sync.link(accountId: a, matchId: "m-cat", fields: ContactFields(name: "Cat B")).version == 2)
        #expect(try h.records.contacts.get(accountId: a, id: cat.id)?.version == 2)
        let imported = try h.sync.dismiss(accountId: a, matchId: "m-dan",
                                          contact: { var c = ContactRecord(id: "c-xdan", accountId: a, name: "Dan X"); c.version = 9; return c }(),
                                          property: PropertyRecord(id: "p-xdan", accountId: a, contactId: "c-xdan"))
        #expect(imported.version == 1)
        #expect(try h.records.properties.get(accountId: a, id: "p-xdan")?.version == 1)
        #expect(try h.records.contacts.get(accountId: a, id: dan.id)?.version == 1)

        // R12/R13: an import batch linking a material, then taking the item's new price; the same again writes nothing.
        var item = f.material
        item.xeroItemId = "i-mulch"
        item.unitPrice = 7
        var new = MaterialRecord(id: "m-new", accountId: a, name: "New", xeroItemId: "i-new")
        new.version = 5
        _ = try h.sync.apply(ImportBatch(accountId: a, newMaterials: [new], linkedMaterials: [item]))
        #expect(try h.records.materials.get(accountId: a, id: f.material.id)?.version == 2)
        #expect(try h.records.materials.get(accountId: a, id: "m-new")?.version == 1)
        item.unitPrice = 8
        _ = try h.sync.apply(ImportBatch(accountId: a, linkedMaterials: [item]))
        _ = try h.sync.apply(ImportBatch(accountId: a, linkedMaterials: [item]))
        #expect(try h.records.materials.get(accountId: a, id: f.material.id)?.version == 3)

        // R14: a material whose item Xero deleted is unlinked.
        #expect(try h.engine.unlinkMaterials(accountId: a, materialIds: [f.material.id, "m-new"]) == 2)
        #expect(try h.records.materials.get(accountId: a, id: f.material.id)?.version == 4)
        #expect(try h.records.materials.get(accountId: a, id: "m-new")?.version == 2)
        #expect(try h.engine.unlinkMaterials(accountId: a, materialIds: [f.material.id]) == 0)
        #expect(try h.records.materials.get(accountId: a, id: f.material.id)?.version == 4)
    }

    @Test(arguments: Backend.allCases)
    func aPersonsWriteAfterTheEnginesMustExpectTheEnginesVersion(_ backend: Backend) throws {
        let h = try RecordsHarness(backend)
        let a = try h.account()
        let read = try h.contact(a, "Ann", xero: "x-ann")  // a person reads version 1…
        #expect(try h.engine.applyContactUpdates(accountId: a, [ContactUpdate(expected: read, fields: ContactFields(name: "Ann (Xero)"))])
            == [read.id: .applied])  // …the sync writes Xero's change…
        #expect { try h.records.contacts.modify(accountId: a, id: read.id, expectedVersion: read.version) { $0.name = "Ann (person)" } }
            throws: { code($0) == .preconditionFailed }  // …and the person's edit of version 1 is refused, not applied over it.
        #expect(try h.records.contacts.get(accountId: a, id: read.id)?.name == "Ann (Xero)")
    }
}
