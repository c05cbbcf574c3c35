import Timekeeping

/// Matches, sync runs and import batches in SQLite (`contact_matches`, `sync_runs`, and the
/// record tables an import writes).
public typealias SQLiteXeroSyncRepository = SQLXeroSyncRepository<Database>
/// Matches, sync runs and import batches in PostgreSQL (the same tables).
public typealias PostgresXeroSyncRepository = SQLXeroSyncRepository<PostgresDatabase>

/// Matches, sync runs and import batches in either SQL store, written once.
public final class SQLXeroSyncRepository<DB: SQLDatabase>: XeroSyncRepository {
    let db: DB
    let clock: any WallClock

    /// The sync's tables in `database`; timestamps come from `clock`.
    public init(database: DB, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    // The record tables an import, link or dismiss writes, and the sync base, in the same store.
    typealias Contacts = SQLRecordRepository<DB, ContactRecord>
    typealias Properties = SQLRecordRepository<DB, PropertyRecord>
    typealias Materials = SQLRecordRepository<DB, MaterialRecord>
    typealias Engine = SQLSyncEngineRepository<DB>

    static var contactColumns: String { Contacts.selectList }
    static var materialColumns: String { Materials.selectList }
    static var matchColumns: String {
        "seq, id, account_id, contact_id, xero_contact_id, xero_name, xero_company_name, xero_email, xero_phone, reasons, state, xero_contact, created_at, updated_at"
    }
    static var runColumns: String {
        "seq, id, account_id, trigger, state, started_at, finished_at, counts, xero_calls, errors, owner, heartbeat_at"
    }

    func read<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.read(body) }
    }

    func write<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.write(durable: true, body) }
    }

    /// PostgreSQL locks the rows it reads this way until the commit (READ COMMITTED lets another
    /// instance change them meanwhile); SQLite's writes are serialized and it has no `FOR UPDATE`.
    static func lockingRows(_ c: DB.Connection) -> String { c.dialect == .postgresql ? " FOR UPDATE" : "" }

    // MARK: import

    public func allContacts(accountId: String) throws(StoreError) -> [ContactRecord] {
        let rows = try read { try $0.query("SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? ORDER BY seq", [.text(accountId)]) }
        return try rows.map { row throws(StoreError) in try ContactRecord(row: row) }
    }

    public func allMaterials(accountId: String) throws(StoreError) -> [MaterialRecord] {
        let rows = try read {
            try $0.query("SELECT \(Self.materialColumns) FROM materials WHERE account_id = ? ORDER BY seq",
                         [.text(accountId)])
        }
        return try rows.map { row throws(StoreError) in try MaterialRecord(row: row) }
    }

    public func matchedXeroContactIds(accountId: String) throws(StoreError) -> Set<String> {
        let rows = try read { try $0.query("SELECT DISTINCT xero_contact_id FROM contact_matches WHERE account_id = ?", [.text(accountId)]) }
        return Set(rows.compactMap { $0.string("xero_contact_id") })
    }

    public func apply(_ batch: ImportBatch) throws(StoreError) -> ImportOutcome {
        try BatchRules.check(batch)
        let now = clock.timestamp()
        return try write { c in
            var outcome = ImportOutcome()
            for (contact, property) in batch.contacts {
                try Contacts.insert(BatchRules.stamped(contact, now), c, orIgnore: true)
                guard c.changes == 1 else { continue }
                outcome.contactsCreated += 1
                if contact.xeroContactId != nil {
                    try Engine.writeBase(accountId: batch.accountId, contactId: contact.id, contact.fields, c)
                }
                if let property {
                    try Properties.insert(BatchRules.stamped(property, now), c, orIgnore: true)
                    outcome.propertiesCreated += c.changes
                }
            }
            for m in batch.matches {
                try Self.insertMatch(BatchRules.stamped(m, now), c)
                outcome.matchesRecorded += c.changes
            }
            for m in batch.newMaterials {
                try Materials.insert(BatchRules.stamped(m, now), c, orIgnore: true)
                outcome.materialsCreated += c.changes
            }
            for m in batch.linkedMaterials {
                guard let row = try c.query("SELECT \(Self.materialColumns) FROM materials WHERE account_id = ? AND id = ?",
                                            [.text(batch.accountId), .text(m.id)]).first else { continue }
                let old = try MaterialRecord(row: row)
                guard let linked = BatchRules.linked(old, to: m, now: now) else { continue }
                if let x = linked.xeroItemId, old.xeroItemId == nil,
                   try !c.query("SELECT 1 FROM materials WHERE account_id = ? AND xero_item_id = ?", [.text(batch.accountId), .text(x)]).isEmpty {
                    continue  // another material already has this item
                }
                _ = try Materials.update(linked, now: now, c)
                if old.xeroItemId == nil { outcome.materialsLinked += 1 }
            }
            return outcome
        }
    }

    static func insertMatch(_ m: ContactMatchRecord, _ c: DB.Connection) throws {
        // A match already recorded is skipped: SQLite's OR IGNORE, PostgreSQL's ON CONFLICT (each
        // store's own form, as the record tables' inserts).
        let sqlite = c.dialect == .sqlite
        try c.run("""
            INSERT \(sqlite ? "OR IGNORE " : "")INTO contact_matches (id, account_id, contact_id, xero_contact_id, xero_name, xero_company_name,
                xero_email, xero_phone, reasons, state, xero_contact, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)\(sqlite ? "" : " ON CONFLICT DO NOTHING")
            """, [.text(m.id), .text(m.accountId), .text(m.contactId), .text(m.xeroContactId), .text(m.xero.name),
                  .text(m.xero.companyName), .text(m.xero.email), .text(m.xero.phone), .text(RecordRules.jsonArray(m.reasons)),
                  .text(m.state.rawValue), .blob(m.xeroContact), .text(m.createdAt), .text(m.updatedAt)])
    }

    static func match(_ row: Row, _ c: DB.Connection) throws -> ContactMatchRecord {
        guard let state = MatchState(rawValue: row.string("state") ?? "") else { throw RecordRules.corrupt("contact_matches", "state", row) }
        return ContactMatchRecord(
            id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", contactId: row.string("contact_id") ?? "",
            xeroContactId: row.string("xero_contact_id") ?? "",
            xero: ContactFields(name: row.string("xero_name") ?? "", companyName: row.string("xero_company_name") ?? "",
                                email: row.string("xero_email") ?? "", phone: row.string("xero_phone") ?? ""),
            reasons: try RecordRules.strings(row.string("reasons") ?? "[]", c), state: state,
            xeroContact: row.blob("xero_contact") ?? [], createdAt: row.string("created_at") ?? "",
            updatedAt: row.string("updated_at") ?? "")
    }

    // MARK: matches

    public func matches(accountId: String, state: MatchState?, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<ContactMatchRecord> {
        let after = try RecordRules.after(cursor)
        let limit = RecordRules.limit(limit)
        var sql = "SELECT \(Self.matchColumns) FROM contact_matches WHERE account_id = ? AND seq > ?"
        var args: [SQLValue] = [.text(accountId), .integer(after)]
        if let state {
            sql += " AND state = ?"
            args.append(.text(state.rawValue))
        }
        sql += " ORDER BY seq LIMIT ?"
        args.append(.integer(Int64(limit + 1)))
        let rows = try read { c in try c.query(sql, args).map { (Int64($0.int("seq") ?? 0), try Self.match($0, c)) } }
        return RecordRules.page(rows, limit: limit)
    }

    public func match(accountId: String, id: String) throws(StoreError) -> ContactMatchRecord? {
        try read { c in try Self.match(accountId: accountId, id: id, c) }
    }

    static func match(accountId: String, id: String, _ c: DB.Connection) throws -> ContactMatchRecord? {
        try c.query("SELECT \(matchColumns) FROM contact_matches WHERE account_id = ? AND id = ?", [.text(accountId), .text(id)])
            .first.map { try match($0, c) }
    }

    public func pendingMatchCount(accountId: String) throws(StoreError) -> Int {
        try read { c in
            try c.query("SELECT COUNT(*) AS n FROM contact_matches WHERE account_id = ? AND state = 'pending'", [.text(accountId)])
                .first?.int("n") ?? 0
        }
    }

    public func link(accountId: String, matchId: String, fields: ContactFields) throws(StoreError) -> ContactRecord {
        let now = clock.timestamp()
        let row = try write { c -> Row in
            guard let m = try Self.match(accountId: accountId, id: matchId, c) else { throw RecordRules.notFound("match", matchId) }
            guard m.state == .pending else { throw RecordRules.conflict("match \(matchId) is already \(m.state.rawValue)") }
            guard let row = try c.query("SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? AND id = ?",
                                        [.text(accountId), .text(m.contactId)]).first else {
                throw RecordRules.notFound("contact", m.contactId)
            }
            var contact = try ContactRecord(row: row)
            guard contact.xeroContactId == nil else {
                throw RecordRules.conflict("contact \(contact.id) is already linked to a Xero contact")
            }
            contact.fields = fields
            contact.xeroContactId = m.xeroContactId
            contact.syncState = .linked
            let stored = try Contacts.update(contact, now: now, c)
            try Engine.writeBase(accountId: accountId, contactId: contact.id, fields, c)
            try c.run("UPDATE contact_matches SET state = 'linked', updated_at = ? WHERE account_id = ? AND id = ?",
                      [.text(now), .text(accountId), .text(matchId)])
            try c.run("UPDATE contact_matches SET state = 'dismissed', updated_at = ? WHERE account_id = ? AND xero_contact_id = ? AND state = 'pending'",
                      [.text(now), .text(accountId), .text(m.xeroContactId)])
            return stored
        }
        return try ContactRecord(row: row)
    }

    public func dismiss(accountId: String, matchId: String, contact: ContactRecord, property: PropertyRecord?) throws(StoreError) -> ContactRecord {
        let now = clock.timestamp()
        let row = try write { c -> Row in
            guard let m = try Self.match(accountId: accountId, id: matchId, c) else { throw RecordRules.notFound("match", matchId) }
            guard m.state == .pending else { throw RecordRules.conflict("match \(matchId) is already \(m.state.rawValue)") }
            let existing = "SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? AND xero_contact_id = ?"
            if try c.query(existing, [.text(accountId), .text(m.xeroContactId)]).isEmpty {
                var new = BatchRules.stamped(contact, now)
                new.xeroContactId = m.xeroContactId
                try BatchRules.check(new.accountId, accountId)
                try Contacts.insert(new, c)
                try Engine.writeBase(accountId: accountId, contactId: new.id, new.fields, c)
                if var property {
                    property.contactId = new.id
                    try BatchRules.check(property.accountId, accountId)
                    try Properties.insert(BatchRules.stamped(property, now), c)
                }
            }
            try c.run("UPDATE contact_matches SET state = 'dismissed', updated_at = ? WHERE account_id = ? AND xero_contact_id = ? AND state = 'pending'",
                      [.text(now), .text(accountId), .text(m.xeroContactId)])
            return try c.query(existing, [.text(accountId), .text(m.xeroContactId)]).first!
        }
        return try ContactRecord(row: row)
    }

    // MARK: sync runs

    static func run(_ row: Row, _ c: DB.Connection) throws -> SyncRunRecord {
        guard let trigger = SyncTrigger(rawValue: row.string("trigger") ?? "") else { throw RecordRules.corrupt("sync_runs", "trigger", row) }
        guard let state = SyncRunState(rawValue: row.string("state") ?? "") else { throw RecordRules.corrupt("sync_runs", "state", row) }
        return SyncRunRecord(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", trigger: trigger, state: state,
                             startedAt: row.string("started_at") ?? "", finishedAt: row.string("finished_at"),
                             counts: try RecordRules.counts(row.string("counts") ?? "{}", c), xeroCalls: row.int("xero_calls") ?? 0,
                             errors: try RecordRules.strings(row.string("errors") ?? "[]", c), owner: row.string("owner"),
                             heartbeatAt: row.int("heartbeat_at").map(Int64.init))
    }

    public func startRun(accountId: String, trigger: SyncTrigger, owner: String?) throws(StoreError) -> (run: SyncRunRecord, started: Bool) {
        if let owner { try holdOwnerLock(owner) }
        let ms = clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        return try write { c in
            if let row = try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND state = 'running'\(Self.lockingRows(c))",
                                     [.text(accountId)]).first {
                let running = try Self.run(row, c)
                guard try isAbandoned(running, now: ms, c) else { return (running, false) }
                try Self.abandon(running, at: now, c)
            }
            guard try !c.query("SELECT 1 FROM accounts WHERE id = ?", [.text(accountId)]).isEmpty else {
                throw AccountRules.noAccount(accountId)
            }
            let run = SyncRunRecord(id: RecordRules.newID(), accountId: accountId, trigger: trigger, state: .running, startedAt: now,
                                    owner: owner, heartbeatAt: ms)
            let insert = "INSERT INTO sync_runs (id, account_id, trigger, state, started_at, owner, heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?, ?)"
            let values: [SQLValue] = [.text(run.id), .text(accountId), .text(trigger.rawValue), .text(now), owner.map { .text($0) } ?? .null,
                                      .integer(ms)]
            // SQLite's writes are serialized: no other run can have started since the check above.
            guard c.dialect == .postgresql else {
                try c.run(insert, values)
                return (run, true)
            }
            // Another instance may have inserted its run after the check above found none: the
            // insert then waits for that transaction and, once it committed, inserts nothing,
            // and that run is the one going on (read afresh: READ COMMITTED). Should it have
            // ended too before the read, the insert is tried again.
            for _ in 0..<3 {
                let inserted = try c.query(insert + "\nON CONFLICT (account_id) WHERE state = 'running' DO NOTHING RETURNING id", values)
                if !inserted.isEmpty { return (run, true) }
                if let row = try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND state = 'running'",
                                         [.text(accountId)]).first {
                    return (try Self.run(row, c), false)
                }
            }
            throw RecordRules.conflict("runs of the account kept starting and ending elsewhere; try again")
        }
    }

    /// Whether `run` is abandoned, so it may be failed: the one decision `startRun` and
    /// `failAbandonedRuns` share. Its heartbeat is stale, or its owner's process is known to have
    /// ended: on SQLite (one machine's file) a pid this host no longer runs, on PostgreSQL an
    /// owner whose advisory lock is free (`PostgresDatabase.ownerHasEnded`).
    private func isAbandoned(_ run: SyncRunRecord, now: Int64, _ c: DB.Connection) throws -> Bool {
        if SyncRunOwnership.isStale(run, now: now) { return true }
        switch c.dialect {
        case .sqlite: return SyncRunOwnership.ownerIsGoneFromThisHost(run)
        case .postgresql: return try PostgresDatabase.ownerHasEnded(run, c)
        }
    }

    /// On PostgreSQL, holds `owner`'s advisory lock (`PostgresDatabase.holdOwnerLock`) before its
    /// run is recorded or beats: another instance never finds a live owner's lock free.
    private func holdOwnerLock(_ owner: String) throws(StoreError) {
        if let postgres = db as? PostgresDatabase { try postgres.holdOwnerLock(owner) }
    }

    static func abandon(_ run: SyncRunRecord, at now: String, _ c: DB.Connection) throws {
        // Only a run still running: one its owner finished meanwhile keeps how it ended.
        try c.run("UPDATE sync_runs SET state = 'failed', finished_at = ?, errors = ? WHERE id = ? AND state = 'running'",
                  [.text(now), .text(RecordRules.jsonArray(run.errors + [BatchRules.interrupted])), .text(run.id)])
    }

    public func heartbeat(owner: String) throws(StoreError) {
        try holdOwnerLock(owner)
        let ms = clock.nowMilliseconds()
        try write { c in
            try c.run("UPDATE sync_runs SET heartbeat_at = ? WHERE owner = ? AND state = 'running'", [.integer(ms), .text(owner)])
        }
    }

    @discardableResult public func finishRun(_ run: SyncRunRecord) throws(StoreError) -> SyncRunRecord {
        guard run.state != .running else { throw RecordRules.conflict("a run finishes as succeeded or failed") }
        let now = clock.timestamp()
        return try write { c in
            let rows = try c.query("""
                UPDATE sync_runs SET state = ?, finished_at = ?, counts = ?, xero_calls = ?, errors = ?
                WHERE account_id = ? AND id = ? AND state = 'running' RETURNING \(Self.runColumns)
                """, [.text(run.state.rawValue), .text(now), .text(RecordRules.jsonObject(run.counts)), .integer(Int64(run.xeroCalls)),
                      .text(RecordRules.jsonArray(run.errors)), .text(run.accountId), .text(run.id)])
            if let row = rows.first { return try Self.run(row, c) }
            if try c.query("SELECT 1 FROM sync_runs WHERE account_id = ? AND id = ?", [.text(run.accountId), .text(run.id)]).isEmpty {
                throw RecordRules.notFound("sync run", run.id)
            }
            throw RecordRules.conflict("sync run \(run.id) has already finished")
        }
    }

    public func runs(accountId: String, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<SyncRunRecord> {
        let after = try RecordRules.after(cursor)
        let limit = RecordRules.limit(limit)
        let rows = try read { c in
            try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND seq > ? ORDER BY seq LIMIT ?",
                        [.text(accountId), .integer(after), .integer(Int64(limit + 1))])
                .map { (Int64($0.int("seq") ?? 0), try Self.run($0, c)) }
        }
        return RecordRules.page(rows, limit: limit)
    }

    public func run(accountId: String, id: String) throws(StoreError) -> SyncRunRecord? {
        try read { c in
            try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND id = ?", [.text(accountId), .text(id)])
                .first.map { try Self.run($0, c) }
        }
    }

    public func recentRuns(accountId: String, limit: Int) throws(StoreError) -> [SyncRunRecord] {
        try read { c in
            try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? ORDER BY seq DESC LIMIT ?",
                        [.text(accountId), .integer(Int64(min(max(limit, 1), 100)))])
                .map { try Self.run($0, c) }
        }
    }

    public func lastFinishedRun(accountId: String, triggers: Set<SyncTrigger>?) throws(StoreError) -> SyncRunRecord? {
        var args: [SQLValue] = [.text(accountId)]
        if let triggers { args.append(.text(RecordRules.jsonArray(triggers.map(\.rawValue).sorted()))) }
        return try read { c in
            var sql = "SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND state != 'running'"
            if triggers != nil {
                // The triggers come as one JSON array text, read by each store's own JSON functions.
                sql += " AND trigger IN (\(c.dialect.jsonArrayValues))"
            }
            sql += " ORDER BY seq DESC LIMIT 1"
            return try c.query(sql, args).first.map { try Self.run($0, c) }
        }
    }

    public func failAbandonedRuns() throws(StoreError) {
        let ms = clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        try write { c in
            for row in try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE state = 'running'\(Self.lockingRows(c))", []) {
                let run = try Self.run(row, c)
                if try isAbandoned(run, now: ms, c) { try Self.abandon(run, at: now, c) }
            }
        }
    }
}

/// What both sync repositories share: a batch's checks and stamps, and how a linked material
/// takes its item's values.
enum BatchRules {
    static let interrupted = "interrupted by a restart"

    static func check(_ batch: ImportBatch) throws(StoreError) {
        let a = batch.accountId
        for (contact, property) in batch.contacts {
            try check(contact.accountId, a)
            if let property { try check(property.accountId, a) }
        }
        for m in batch.matches { try check(m.accountId, a) }
        for m in batch.newMaterials + batch.linkedMaterials { try check(m.accountId, a) }
    }

    static func check(_ recordAccount: String, _ accountId: String) throws(StoreError) {
        guard recordAccount == accountId else {
            throw StoreError(code: .invalidAccount, message: "a record of account \(recordAccount) cannot be written to account \(accountId)")
        }
    }

    static func stamped<R: StoredRecord>(_ r: R, _ now: String) -> R {
        var r = r
        if r.id.isEmpty { r.id = RecordRules.newID() }
        r.version = 1
        r.createdAt = now
        r.updatedAt = now
        return r
    }

    static func stamped(_ m: ContactMatchRecord, _ now: String) -> ContactMatchRecord {
        var m = m
        if m.id.isEmpty { m.id = RecordRules.newID() }
        m.createdAt = now
        m.updatedAt = now
        return m
    }

    /// `old` with the item's values of `new` (R13), or nil when nothing changes or `old` is
    /// linked to another item.
    static func linked(_ old: MaterialRecord, to new: MaterialRecord, now: String) -> MaterialRecord? {
        if let x = old.xeroItemId, x != new.xeroItemId { return nil }
        var m = old
        m.name = new.name
        m.code = new.code
        m.description = new.description
        m.unitPrice = new.unitPrice
        m.xeroItemId = new.xeroItemId
        guard m != old else { return nil }
        m.updatedAt = now
        return m
    }
}
