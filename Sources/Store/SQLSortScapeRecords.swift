import Timekeeping

/// One table of SortScape records in either SQL store, written once; lists run oldest first by
/// `seq`, which is the cursor.
final class SQLRecordRepository<DB: SQLDatabase, Record: StoredRecord>: RecordRepository {
    let db: DB
    let clock: any WallClock

    init(database: DB, clock: any WallClock) {
        db = database
        self.clock = clock
    }

    static var selectList: String { "seq, version, " + Record.columns.joined(separator: ", ") }

    func list(_ query: RecordQuery) throws(StoreError) -> RecordPage<Record> {
        let after = try RecordRules.after(query.cursor)
        let limit = RecordRules.limit(query.limit)
        var sql = "SELECT \(Self.selectList) FROM \(Record.table) WHERE account_id = ? AND seq > ?"
        var args: [SQLValue] = [.text(query.accountId), .integer(after)]
        if let archived = query.archived {
            sql += " AND archived = ?"
            args.append(RecordRules.bool(archived))
        }
        sql += " ORDER BY seq LIMIT ?"
        args.append(.integer(Int64(limit + 1)))
        let rows = try RecordRules.attempt { try db.read { try $0.query(sql, args) } }
        var decoded: [(seq: Int64, record: Record)] = []
        for row in rows {
            guard case .integer(let seq) = row["seq"] else { throw RecordRules.corrupt(Record.table, "seq", row) }
            decoded.append((seq, try Record(row: row)))
        }
        return RecordRules.page(decoded, limit: limit)
    }

    func get(accountId: String, id: String) throws(StoreError) -> Record? {
        let rows = try RecordRules.attempt {
            try db.read { c in
                try c.query("SELECT \(Self.selectList) FROM \(Record.table) WHERE account_id = ? AND id = ?", [.text(accountId), .text(id)])
            }
        }
        guard let row = rows.first else { return nil }
        return try Record(row: row)
    }

    @discardableResult func insert(_ record: Record) throws(StoreError) -> Record {
        let stored = stamped(record)
        try RecordRules.attempt { try db.write(durable: true) { c in try Self.insert(stored, c) } }
        return stored
    }

    /// What a person may change: the record's Xero state (its link, and a linked material's
    /// Xero-owned values) is kept as stored, in the same transaction, so an edit read before a
    /// sync linked the record cannot undo the link (R13, R7).
    @discardableResult func update(_ record: Record) throws(StoreError) -> Record {
        try modify(accountId: record.accountId, id: record.id) { $0 = record }
    }

    @discardableResult func modify(accountId: String, id: String, expectedVersion: Int64?,
                                   _ change: (inout Record) throws(StoreError) -> Void) throws(StoreError) -> Record {
        let ms = clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        let row = try RecordRules.attempt {
            try db.write(durable: true) { c -> Row in
                guard let row = try c.query("SELECT \(Self.selectList) FROM \(Record.table) WHERE account_id = ? AND id = ?",
                                            [.text(accountId), .text(id)]).first else {
                    throw RecordRules.notFound(String(Record.table.dropLast()), id)
                }
                let current = try Record(row: row)
                try VersionRules.check(String(Record.table.dropLast()), id, stored: current.version, expected: expectedVersion)
                var edited = current
                try change(&edited)
                edited.id = current.id
                let stored = try Self.update(Record.keepingXeroState(of: current, edited), now: now, c)
                try Record.afterPersonUpdate(old: current, new: try Record(row: stored), nowMs: ms, c)
                return stored
            }
        }
        return try Record(row: row)
    }

    func stamped(_ record: Record) -> Record { BatchRules.stamped(record, clock.timestamp()) }

    /// Inserts `r`; `orIgnore` skips a row a constraint refuses, as each store can: SQLite's
    /// `INSERT OR IGNORE`, PostgreSQL's `ON CONFLICT DO NOTHING` (it has no `OR IGNORE`).
    static func insert(_ r: Record, _ c: some SQLConnection, orIgnore: Bool = false) throws {
        let cols = Record.columns
        let into = "INTO \(Record.table) (\(cols.joined(separator: ", "))) VALUES (\(cols.map { _ in "?" }.joined(separator: ", ")))"
        switch c.dialect {
        case .sqlite: try c.run("INSERT \(orIgnore ? "OR IGNORE " : "")" + into, r.values)
        case .postgresql: try c.run("INSERT " + into + (orIgnore ? " ON CONFLICT DO NOTHING" : ""), r.values)
        }
    }

    /// Updates every column but `id`, `account_id` and `created_at`, and moves the version (here,
    /// so that RETURNING shows it; the trigger moves it for any other UPDATE); the stored row, or
    /// `notFound`.
    static func update(_ r: Record, now: String, _ c: some SQLConnection) throws -> Row {
        var values = r.values
        values[values.count - 1] = .text(now)
        let settable = Array(Record.columns.indices.dropFirst(2)).filter { Record.columns[$0] != "created_at" }
        let set = settable.map { "\(Record.columns[$0]) = ?" }.joined(separator: ", ")
        let rows = try c.query("UPDATE \(Record.table) SET \(set), version = version + 1 WHERE account_id = ? AND id = ? RETURNING \(selectList)",
                               settable.map { values[$0] } + [.text(r.accountId), .text(r.id)])
        guard let row = rows.first else { throw RecordRules.notFound(String(Record.table.dropLast()), r.id) }
        return row
    }
}

/// SortScape's records in SQLite (`contacts`, `properties`, `materials`, `jobs`, `issues`, `visits`).
public typealias SQLiteSortScapeRecords = SQLSortScapeRecords<Database>
/// SortScape's records in PostgreSQL (the same tables).
public typealias PostgresSortScapeRecords = SQLSortScapeRecords<PostgresDatabase>

/// SortScape's records in either SQL store, written once.
public final class SQLSortScapeRecords<DB: SQLDatabase>: SortScapeRecords {
    let db: DB
    let clock: any WallClock
    public let contacts: any RecordRepository<ContactRecord>
    public let properties: any RecordRepository<PropertyRecord>
    public let materials: any RecordRepository<MaterialRecord>
    public let jobs: any RecordRepository<JobRecord>
    public let issues: any RecordRepository<IssueRecord>
    public let visits: any RecordRepository<VisitRecord>
    public let visitInvoices: any VisitInvoiceRepository

    /// The records in `database`; timestamps come from `clock`.
    public init(database: DB, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
        contacts = SQLRecordRepository<DB, ContactRecord>(database: database, clock: clock)
        properties = SQLRecordRepository<DB, PropertyRecord>(database: database, clock: clock)
        materials = SQLRecordRepository<DB, MaterialRecord>(database: database, clock: clock)
        jobs = SQLRecordRepository<DB, JobRecord>(database: database, clock: clock)
        issues = SQLRecordRepository<DB, IssueRecord>(database: database, clock: clock)
        visits = SQLRecordRepository<DB, VisitRecord>(database: database, clock: clock)
        visitInvoices = SQLVisitInvoices(database: database, clock: clock)
    }

    @discardableResult public func archiveContact(accountId: String, id: String, expectedVersion: Int64?) throws(StoreError) -> ContactRecord {
        let now = clock.timestamp()
        let row = try RecordRules.attempt {
            try db.write(durable: true) { c -> Row in
                if let expectedVersion {
                    guard let row = try c.query("SELECT version FROM contacts WHERE account_id = ? AND id = ?",
                                                [.text(accountId), .text(id)]).first else { throw RecordRules.notFound("contact", id) }
                    try VersionRules.check("contact", id, stored: try RecordRules.version("contacts", row), expected: expectedVersion)
                }
                let rows = try c.query("""
                    UPDATE contacts SET archived = 1, updated_at = ?, version = version + 1 WHERE account_id = ? AND id = ?
                    RETURNING \(SQLRecordRepository<DB, ContactRecord>.selectList)
                    """, [.text(now), .text(accountId), .text(id)])
                guard let row = rows.first else { throw RecordRules.notFound("contact", id) }
                try c.run("UPDATE properties SET archived = 1, updated_at = ? WHERE account_id = ? AND contact_id = ? AND archived = 0",
                          [.text(now), .text(accountId), .text(id)])
                return row
            }
        }
        return try ContactRecord(row: row)
    }

    public func properties(accountId: String, contactIds: [String]) throws(StoreError) -> [PropertyRecord] {
        guard !contactIds.isEmpty else { return [] }
        let rows = try RecordRules.attempt {
            try db.read { c in
                try c.query("""
                    SELECT \(SQLRecordRepository<DB, PropertyRecord>.selectList) FROM properties
                    WHERE account_id = ? AND contact_id IN (\(c.dialect.jsonArrayValues)) ORDER BY seq
                    """, [.text(accountId), .text(RecordRules.jsonArray(contactIds))])
            }
        }
        return try rows.map { row throws(StoreError) in try PropertyRecord(row: row) }
    }
}
