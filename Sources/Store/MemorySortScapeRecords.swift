import Timekeeping
/// One table of SortScape records in memory; behaves as `SQLRecordRepository` does.
final class MemoryRecordRepository<Record: StoredRecord>: RecordRepository {
    let store: MemoryStore

    init(store: MemoryStore) { self.store = store }

    func list(_ query: RecordQuery) throws(StoreError) -> RecordPage<Record> {
        let after = try RecordRules.after(query.cursor)
        let limit = RecordRules.limit(query.limit)
        let rows = store.tables.withLock { t in
            Array(t[keyPath: Record.memory].rows.lazy.filter {
                $0.seq > after && $0.record.accountId == query.accountId && (query.archived == nil || $0.record.archived == query.archived)
            }.prefix(limit + 1))
        }
        return RecordRules.page(rows, limit: limit)
    }

    func get(accountId: String, id: String) throws(StoreError) -> Record? {
        store.tables.withLock { t in
            t[keyPath: Record.memory].rows.first { $0.record.accountId == accountId && $0.record.id == id }?.record
        }
    }

    @discardableResult func insert(_ record: Record) throws(StoreError) -> Record {
        let stored = BatchRules.stamped(record, store.clock.timestamp())
        try store.tables.withLock { t throws(StoreError) in try Self.insert(stored, &t) }
        return stored
    }

    @discardableResult func update(_ record: Record) throws(StoreError) -> Record {
        try modify(accountId: record.accountId, id: record.id) { $0 = record }
    }

    @discardableResult func modify(accountId: String, id: String, expectedVersion: Int64?,
                                   _ change: (inout Record) throws(StoreError) -> Void) throws(StoreError) -> Record {
        let ms = store.clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        return try store.tables.withLock { t throws(StoreError) in
            guard let current = t[keyPath: Record.memory].rows.first(where: { $0.record.accountId == accountId && $0.record.id == id })?.record else {
                throw RecordRules.notFound(String(Record.table.dropLast()), id)
            }
            try VersionRules.check(String(Record.table.dropLast()), id, stored: current.version, expected: expectedVersion)
            var edited = current
            try change(&edited)
            edited.id = current.id
            let stored = try Self.update(Record.keepingXeroState(of: current, edited), now: now, &t)
            Record.afterPersonUpdate(old: current, new: stored, nowMs: ms, &t)
            return stored
        }
    }

    /// Inserts as SQLite would: `conflict` for an unknown account, a duplicate id, a missing parent
    /// or a duplicate Xero id.
    static func insert(_ r: Record, _ t: inout MemoryStore.Tables) throws(StoreError) {
        if let why = insertViolation(r, t) { throw RecordRules.conflict(why) }
        var r = r
        r.version = 1
        t[keyPath: Record.memory].append(r)
    }

    /// Inserts unless a constraint refuses; true when inserted (SQLite's INSERT OR IGNORE).
    static func insertOrIgnore(_ r: Record, _ t: inout MemoryStore.Tables) throws(StoreError) -> Bool {
        if let why = insertViolation(r, t) {
            if why.hasPrefix("FOREIGN KEY") { throw RecordRules.conflict(why) }  // IGNORE does not cover foreign keys
            return false
        }
        var r = r
        r.version = 1
        t[keyPath: Record.memory].append(r)
        return true
    }

    static func insertViolation(_ r: Record, _ t: MemoryStore.Tables) -> String? {
        if t.accounts[r.accountId] == nil { return "FOREIGN KEY constraint failed" }
        if t[keyPath: Record.memory].rows.contains(where: { $0.record.id == r.id }) { return "UNIQUE constraint failed: \(Record.table).id" }
        return Record.violation(r, in: t)
    }

    static func update(_ r: Record, now: String, _ t: inout MemoryStore.Tables) throws(StoreError) -> Record {
        guard let i = t[keyPath: Record.memory].rows.firstIndex(where: { $0.record.accountId == r.accountId && $0.record.id == r.id }) else {
            throw RecordRules.notFound(String(Record.table.dropLast()), r.id)
        }
        var stored = r
        stored.createdAt = t[keyPath: Record.memory].rows[i].record.createdAt
        stored.updatedAt = now
        if let why = Record.violation(stored, in: t) { throw RecordRules.conflict(why) }
        return t[keyPath: Record.memory].write(at: i) { $0 = stored }
    }
}

/// SortScape's records in memory, for tests, on a `MemoryStore` (its accounts and its clock);
/// behaves as `SQLiteSortScapeRecords` does (the shared contract tests hold both to it).
public final class MemorySortScapeRecords: SortScapeRecords {
    public let store: MemoryStore
    public let contacts: any RecordRepository<ContactRecord>
    public let properties: any RecordRepository<PropertyRecord>
    public let materials: any RecordRepository<MaterialRecord>
    public let jobs: any RecordRepository<JobRecord>
    public let issues: any RecordRepository<IssueRecord>
    public let visits: any RecordRepository<VisitRecord>
    public let visitInvoices: any VisitInvoiceRepository

    public init(store: MemoryStore = MemoryStore()) {
        self.store = store
        contacts = MemoryRecordRepository<ContactRecord>(store: store)
        properties = MemoryRecordRepository<PropertyRecord>(store: store)
        materials = MemoryRecordRepository<MaterialRecord>(store: store)
        jobs = MemoryRecordRepository<JobRecord>(store: store)
        issues = MemoryRecordRepository<IssueRecord>(store: store)
        visits = MemoryRecordRepository<VisitRecord>(store: store)
        visitInvoices = MemoryVisitInvoices(store: store)
    }

    @discardableResult public func archiveContact(accountId: String, id: String, expectedVersion: Int64?) throws(StoreError) -> ContactRecord {
        let now = store.clock.timestamp()
        return try store.tables.withLock { t throws(StoreError) in
            guard let i = t.contacts.rows.firstIndex(where: { $0.record.accountId == accountId && $0.record.id == id }) else {
                throw RecordRules.notFound("contact", id)
            }
            try VersionRules.check("contact", id, stored: t.contacts.rows[i].record.version, expected: expectedVersion)
            let archived = t.contacts.write(at: i) {
                $0.archived = true
                $0.updatedAt = now
            }
            Self.archiveProperties(accountId: accountId, contactId: id, now: now, &t)
            return archived
        }
    }

    /// Archives the contact's properties not archived yet (as one SQLite UPDATE does).
    static func archiveProperties(accountId: String, contactId: String, now: String, _ t: inout MemoryStore.Tables) {
        for j in t.properties.rows.indices
        where t.properties.rows[j].record.accountId == accountId && t.properties.rows[j].record.contactId == contactId
            && !t.properties.rows[j].record.archived {
            t.properties.write(at: j) {
                $0.archived = true
                $0.updatedAt = now
            }
        }
    }

    public func properties(accountId: String, contactIds: [String]) throws(StoreError) -> [PropertyRecord] {
        let wanted = Set(contactIds)
        return store.tables.withLock { t in
            t.properties.rows.map(\.record).filter { $0.accountId == accountId && wanted.contains($0.contactId) }
        }
    }
}
