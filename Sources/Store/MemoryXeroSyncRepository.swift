import Timekeeping

/// Matches, sync runs and import batches in memory, for tests, on a `MemoryStore`; behaves as
/// `SQLiteXeroSyncRepository` does (the shared contract tests hold both to it).
public final class MemoryXeroSyncRepository: XeroSyncRepository {
    public let store: MemoryStore

    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    typealias Contacts = MemoryRecordRepository<ContactRecord>

    public func allContacts(accountId: String) throws(StoreError) -> [ContactRecord] {
        store.tables.withLock { $0.contacts.rows.map(\.record).filter { $0.accountId == accountId } }
    }

    public func allMaterials(accountId: String) throws(StoreError) -> [MaterialRecord] {
        store.tables.withLock { $0.materials.rows.map(\.record).filter { $0.accountId == accountId } }
    }

    public func matchedXeroContactIds(accountId: String) throws(StoreError) -> Set<String> {
        store.tables.withLock { Set($0.matches.rows.map(\.record).filter { $0.accountId == accountId }.map(\.xeroContactId)) }
    }

    public func apply(_ batch: ImportBatch) throws(StoreError) -> ImportOutcome {
        try BatchRules.check(batch)
        let now = store.clock.timestamp()
        return try store.tables.withLock { tables throws(StoreError) in
            var t = tables  // one transaction: applied to a copy, kept only if every step succeeds
            var outcome = ImportOutcome()
            for (contact, property) in batch.contacts {
                guard try Contacts.insertOrIgnore(BatchRules.stamped(contact, now), &t) else { continue }
                outcome.contactsCreated += 1
                if contact.xeroContactId != nil {
                    t.bases[MemoryStore.ContactKey(accountId: batch.accountId, contactId: contact.id)] = contact.fields
                }
                if let property, try MemoryRecordRepository<PropertyRecord>.insertOrIgnore(BatchRules.stamped(property, now), &t) {
                    outcome.propertiesCreated += 1
                }
            }
            for m in batch.matches {
                if try Self.insertMatch(BatchRules.stamped(m, now), &t) { outcome.matchesRecorded += 1 }
            }
            for m in batch.newMaterials {
                if try MemoryRecordRepository<MaterialRecord>.insertOrIgnore(BatchRules.stamped(m, now), &t) { outcome.materialsCreated += 1 }
            }
            for m in batch.linkedMaterials {
                guard let i = t.materials.rows.firstIndex(where: { $0.record.accountId == batch.accountId && $0.record.id == m.id }) else { continue }
                let old = t.materials.rows[i].record
                guard let linked = BatchRules.linked(old, to: m, now: now) else { continue }
                if MaterialRecord.violation(linked, in: t) != nil { continue }  // another material already has this item
                t.materials.write(at: i) { $0 = linked }
                if old.xeroItemId == nil { outcome.materialsLinked += 1 }
            }
            tables = t
            return outcome
        }
    }

    /// INSERT OR IGNORE into the matches: false when (account, Xero contact, contact) or the id is taken.
    static func insertMatch(_ m: ContactMatchRecord, _ t: inout MemoryStore.Tables) throws(StoreError) -> Bool {
        guard t.accounts[m.accountId] != nil,
              t.contacts.rows.contains(where: { $0.record.accountId == m.accountId && $0.record.id == m.contactId }) else {
            throw RecordRules.conflict("FOREIGN KEY constraint failed")
        }
        if t.matches.rows.contains(where: {
            $0.record.id == m.id || ($0.record.accountId == m.accountId && $0.record.xeroContactId == m.xeroContactId
                                     && $0.record.contactId == m.contactId)
        }) { return false }
        t.matches.append(m)
        return true
    }

    public func matches(accountId: String, state: MatchState?, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<ContactMatchRecord> {
        let after = try RecordRules.after(cursor)
        let limit = RecordRules.limit(limit)
        let rows = store.tables.withLock { t in
            Array(t.matches.rows.lazy.filter {
                $0.seq > after && $0.record.accountId == accountId && (state == nil || $0.record.state == state)
            }.prefix(limit + 1))
        }
        return RecordRules.page(rows, limit: limit)
    }

    public func match(accountId: String, id: String) throws(StoreError) -> ContactMatchRecord? {
        store.tables.withLock { $0.matches.rows.first { $0.record.accountId == accountId && $0.record.id == id }?.record }
    }

    public func pendingMatchCount(accountId: String) throws(StoreError) -> Int {
        store.tables.withLock { $0.matches.rows.count { $0.record.accountId == accountId && $0.record.state == .pending } }
    }

    /// The pending match `matchId` of the account, or `notFound` / `conflict`.
    static func pending(_ accountId: String, _ matchId: String, _ t: MemoryStore.Tables) throws(StoreError) -> ContactMatchRecord {
        guard let m = t.matches.rows.first(where: { $0.record.accountId == accountId && $0.record.id == matchId })?.record else {
            throw RecordRules.notFound("match", matchId)
        }
        guard m.state == .pending else { throw RecordRules.conflict("match \(matchId) is already \(m.state.rawValue)") }
        return m
    }

    static func setMatches(_ t: inout MemoryStore.Tables, _ now: String, to state: MatchState, where pick: (ContactMatchRecord) -> Bool) {
        for i in t.matches.rows.indices where pick(t.matches.rows[i].record) {
            t.matches.rows[i].record.state = state
            t.matches.rows[i].record.updatedAt = now
        }
    }

    public func link(accountId: String, matchId: String, fields: ContactFields) throws(StoreError) -> ContactRecord {
        let now = store.clock.timestamp()
        return try store.tables.withLock { tables throws(StoreError) in
            var t = tables
            let m = try Self.pending(accountId, matchId, t)
            guard var contact = t.contacts.rows.first(where: { $0.record.accountId == accountId && $0.record.id == m.contactId })?.record else {
                throw RecordRules.notFound("contact", m.contactId)
            }
            guard contact.xeroContactId == nil else {
                throw RecordRules.conflict("contact \(contact.id) is already linked to a Xero contact")
            }
            contact.fields = fields
            contact.xeroContactId = m.xeroContactId
            contact.syncState = .linked
            let stored = try Contacts.update(contact, now: now, &t)
            t.bases[MemoryStore.ContactKey(accountId: accountId, contactId: contact.id)] = fields
            Self.setMatches(&t, now, to: .linked) { $0.accountId == accountId && $0.id == matchId }
            Self.setMatches(&t, now, to: .dismissed) {
                $0.accountId == accountId && $0.xeroContactId == m.xeroContactId && $0.state == .pending
            }
            tables = t
            return stored
        }
    }

    public func dismiss(accountId: String, matchId: String, contact: ContactRecord, property: PropertyRecord?) throws(StoreError) -> ContactRecord {
        let now = store.clock.timestamp()
        return try store.tables.withLock { tables throws(StoreError) in
            var t = tables
            let m = try Self.pending(accountId, matchId, t)
            func existing(_ t: MemoryStore.Tables) -> ContactRecord? {
                t.contacts.rows.first { $0.record.accountId == accountId && $0.record.xeroContactId == m.xeroContactId }?.record
            }
            if existing(t) == nil {
                var new = BatchRules.stamped(contact, now)
                new.xeroContactId = m.xeroContactId
                try BatchRules.check(new.accountId, accountId)
                try Contacts.insert(new, &t)
                t.bases[MemoryStore.ContactKey(accountId: accountId, contactId: new.id)] = new.fields
                if var property {
                    property.contactId = new.id
                    try BatchRules.check(property.accountId, accountId)
                    try MemoryRecordRepository<PropertyRecord>.insert(BatchRules.stamped(property, now), &t)
                }
            }
            Self.setMatches(&t, now, to: .dismissed) {
                $0.accountId == accountId && $0.xeroContactId == m.xeroContactId && $0.state == .pending
            }
            tables = t
            return existing(t)!
        }
    }

    // MARK: sync runs

    public func startRun(accountId: String, trigger: SyncTrigger, owner: String?) throws(StoreError) -> (run: SyncRunRecord, started: Bool) {
        let ms = store.clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        return try store.tables.withLock { t throws(StoreError) in
            if let i = t.runs.rows.firstIndex(where: { $0.record.accountId == accountId && $0.record.state == .running }) {
                guard SyncRunOwnership.isStale(t.runs.rows[i].record, now: ms) else { return (t.runs.rows[i].record, false) }
                Self.abandon(&t.runs.rows[i].record, at: now)
            }
            guard t.accounts[accountId] != nil else { throw AccountRules.noAccount(accountId) }
            let run = SyncRunRecord(id: RecordRules.newID(), accountId: accountId, trigger: trigger, state: .running, startedAt: now,
                                    owner: owner, heartbeatAt: ms)
            t.runs.append(run)
            return (run, true)
        }
    }

    static func abandon(_ run: inout SyncRunRecord, at now: String) {
        run.state = .failed
        run.finishedAt = now
        run.errors.append(BatchRules.interrupted)
    }

    public func heartbeat(owner: String) throws(StoreError) {
        let ms = store.clock.nowMilliseconds()
        store.tables.withLock { t in
            for i in t.runs.rows.indices where t.runs.rows[i].record.state == .running && t.runs.rows[i].record.owner == owner {
                t.runs.rows[i].record.heartbeatAt = ms
            }
        }
    }

    @discardableResult public func finishRun(_ run: SyncRunRecord) throws(StoreError) -> SyncRunRecord {
        guard run.state != .running else { throw RecordRules.conflict("a run finishes as succeeded or failed") }
        let now = store.clock.timestamp()
        return try store.tables.withLock { t throws(StoreError) in
            guard let i = t.runs.rows.firstIndex(where: { $0.record.accountId == run.accountId && $0.record.id == run.id }) else {
                throw RecordRules.notFound("sync run", run.id)
            }
            guard t.runs.rows[i].record.state == .running else { throw RecordRules.conflict("sync run \(run.id) has already finished") }
            var stored = t.runs.rows[i].record
            stored.state = run.state
            stored.finishedAt = now
            stored.counts = run.counts
            stored.xeroCalls = run.xeroCalls
            stored.errors = run.errors
            t.runs.rows[i].record = stored
            return stored
        }
    }

    public func runs(accountId: String, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<SyncRunRecord> {
        let after = try RecordRules.after(cursor)
        let limit = RecordRules.limit(limit)
        let rows = store.tables.withLock { t in
            Array(t.runs.rows.lazy.filter { $0.seq > after && $0.record.accountId == accountId }.prefix(limit + 1))
        }
        return RecordRules.page(rows, limit: limit)
    }

    public func run(accountId: String, id: String) throws(StoreError) -> SyncRunRecord? {
        store.tables.withLock { $0.runs.rows.first { $0.record.accountId == accountId && $0.record.id == id }?.record }
    }

    public func recentRuns(accountId: String, limit: Int) throws(StoreError) -> [SyncRunRecord] {
        store.tables.withLock { t in
            Array(t.runs.rows.lazy.reversed().filter { $0.record.accountId == accountId }.prefix(min(max(limit, 1), 100)).map(\.record))
        }
    }

    public func lastFinishedRun(accountId: String, triggers: Set<SyncTrigger>?) throws(StoreError) -> SyncRunRecord? {
        store.tables.withLock {
            $0.runs.rows.last {
                $0.record.accountId == accountId && $0.record.state != .running && (triggers?.contains($0.record.trigger) ?? true)
            }?.record
        }
    }

    public func failAbandonedRuns() throws(StoreError) {
        let ms = store.clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        store.tables.withLock { t in
            for i in t.runs.rows.indices where SyncRunOwnership.isStale(t.runs.rows[i].record, now: ms) {
                Self.abandon(&t.runs.rows[i].record, at: now)
            }
        }
    }
}
