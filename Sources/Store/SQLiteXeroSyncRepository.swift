import Timekeeping

/// Matches, sync runs and import batches in SQLite (`contact_matches`, `sync_runs`, and the
/// record tables an import writes).
public final class SQLiteXeroSyncRepository: XeroSyncRepository {
    let db: any DatabaseWriter
    let clock: any WallClock

    /// The sync's tables in `database`; timestamps come from `clock`.
    public init(database: any DatabaseWriter, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    typealias Contacts = SQLiteRecordRepository<ContactRecord>

    static let matchColumns = "seq, id, account_id, contact_id, xero_contact_id, xero_name, xero_company_name, xero_email, xero_phone, reasons, state, xero_contact, created_at, updated_at"
    static let runColumns = "seq, id, account_id, trigger, state, started_at, finished_at, counts, xero_calls, errors, owner, heartbeat_at"

    func read<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.read(body) }
    }

    func write<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.write(body) }
    }

    // MARK: import

    public func allContacts(accountId: String) throws(StoreError) -> [ContactRecord] {
        let rows = try read { try $0.query("SELECT \(Contacts.selectList) FROM contacts WHERE account_id = ? ORDER BY seq", [.text(accountId)]) }
        return try rows.map { row throws(StoreError) in try ContactRecord(row: row) }
    }

    public func allMaterials(accountId: String) throws(StoreError) -> [MaterialRecord] {
        let rows = try read {
            try $0.query("SELECT \(SQLiteRecordRepository<MaterialRecord>.selectList) FROM materials WHERE account_id = ? ORDER BY seq",
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
                    try SQLiteSyncEngineRepository.writeBase(accountId: batch.accountId, contactId: contact.id, contact.fields, c)
                }
                if let property {
                    try SQLiteRecordRepository<PropertyRecord>.insert(BatchRules.stamped(property, now), c, orIgnore: true)
                    outcome.propertiesCreated += c.changes
                }
            }
            for m in batch.matches {
                try Self.insertMatch(BatchRules.stamped(m, now), c)
                outcome.matchesRecorded += c.changes
            }
            for m in batch.newMaterials {
                try SQLiteRecordRepository<MaterialRecord>.insert(BatchRules.stamped(m, now), c, orIgnore: true)
                outcome.materialsCreated += c.changes
            }
            for m in batch.linkedMaterials {
                guard let row = try c.query("SELECT \(SQLiteRecordRepository<MaterialRecord>.selectList) FROM materials WHERE account_id = ? AND id = ?",
                                            [.text(batch.accountId), .text(m.id)]).first else { continue }
                let old = try MaterialRecord(row: row)
                guard let linked = BatchRules.linked(old, to: m, now: now) else { continue }
                if let x = linked.xeroItemId, old.xeroItemId == nil,
                   try !c.query("SELECT 1 FROM materials WHERE account_id = ? AND xero_item_id = ?", [.text(batch.accountId), .text(x)]).isEmpty {
                    continue  // another material already has this item
                }
                _ = try SQLiteRecordRepository<MaterialRecord>.update(linked, now: now, c)
                if old.xeroItemId == nil { outcome.materialsLinked += 1 }
            }
            return outcome
        }
    }

    static func insertMatch(_ m: ContactMatchRecord, _ c: SQLiteConnection) throws {
        try c.run("""
            INSERT OR IGNORE INTO contact_matches (id, account_id, contact_id, xero_contact_id, xero_name, xero_company_name,
                xero_email, xero_phone, reasons, state, xero_contact, created_at, updated_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """, [.text(m.id), .text(m.accountId), .text(m.contactId), .text(m.xeroContactId), .text(m.xero.name),
                  .text(m.xero.companyName), .text(m.xero.email), .text(m.xero.phone), .text(RecordRules.jsonArray(m.reasons)),
                  .text(m.state.rawValue), .blob(m.xeroContact), .text(m.createdAt), .text(m.updatedAt)])
    }

    static func match(_ row: Row, _ c: SQLiteConnection) throws -> ContactMatchRecord {
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

    static func match(accountId: String, id: String, _ c: SQLiteConnection) throws -> ContactMatchRecord? {
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
            guard let row = try c.query("SELECT \(Contacts.selectList) FROM contacts WHERE account_id = ? AND id = ?",
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
            try SQLiteSyncEngineRepository.writeBase(accountId: accountId, contactId: contact.id, fields, c)
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
            let existing = "SELECT \(Contacts.selectList) FROM contacts WHERE account_id = ? AND xero_contact_id = ?"
            if try c.query(existing, [.text(accountId), .text(m.xeroContactId)]).isEmpty {
                var new = BatchRules.stamped(contact, now)
                new.xeroContactId = m.xeroContactId
                try BatchRules.check(new.accountId, accountId)
                try Contacts.insert(new, c)
                try SQLiteSyncEngineRepository.writeBase(accountId: accountId, contactId: new.id, new.fields, c)
                if var property {
                    property.contactId = new.id
                    try BatchRules.check(property.accountId, accountId)
                    try SQLiteRecordRepository<PropertyRecord>.insert(BatchRules.stamped(property, now), c)
                }
            }
            try c.run("UPDATE contact_matches SET state = 'dismissed', updated_at = ? WHERE account_id = ? AND xero_contact_id = ? AND state = 'pending'",
                      [.text(now), .text(accountId), .text(m.xeroContactId)])
            return try c.query(existing, [.text(accountId), .text(m.xeroContactId)]).first!
        }
        return try ContactRecord(row: row)
    }

    // MARK: sync runs

    static func run(_ row: Row, _ c: SQLiteConnection) throws -> SyncRunRecord {
        guard let trigger = SyncTrigger(rawValue: row.string("trigger") ?? "") else { throw RecordRules.corrupt("sync_runs", "trigger", row) }
        guard let state = SyncRunState(rawValue: row.string("state") ?? "") else { throw RecordRules.corrupt("sync_runs", "state", row) }
        return SyncRunRecord(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", trigger: trigger, state: state,
                             startedAt: row.string("started_at") ?? "", finishedAt: row.string("finished_at"),
                             counts: try RecordRules.counts(row.string("counts") ?? "{}", c), xeroCalls: row.int("xero_calls") ?? 0,
                             errors: try RecordRules.strings(row.string("errors") ?? "[]", c), owner: row.string("owner"),
                             heartbeatAt: row.int("heartbeat_at").map(Int64.init))
    }

    public func startRun(accountId: String, trigger: SyncTrigger, owner: String?) throws(StoreError) -> (run: SyncRunRecord, started: Bool) {
        let ms = clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        return try write { c in
            if let row = try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND state = 'running'",
                                     [.text(accountId)]).first {
                let running = try Self.run(row, c)
                guard Self.isAbandoned(running, now: ms) else { return (running, false) }
                try Self.abandon(running, at: now, c)
            }
            guard try !c.query("SELECT 1 FROM accounts WHERE id = ?", [.text(accountId)]).isEmpty else {
                throw AccountRules.noAccount(accountId)
            }
            let run = SyncRunRecord(id: RecordRules.newID(), accountId: accountId, trigger: trigger, state: .running, startedAt: now,
                                    owner: owner, heartbeatAt: ms)
            try c.run("INSERT INTO sync_runs (id, account_id, trigger, state, started_at, owner, heartbeat_at) VALUES (?, ?, ?, 'running', ?, ?, ?)",
                      [.text(run.id), .text(accountId), .text(trigger.rawValue), .text(now), owner.map { .text($0) } ?? .null, .integer(ms)])
            return (run, true)
        }
    }

    static func abandon(_ run: SyncRunRecord, at now: String, _ c: SQLiteConnection) throws {
        try c.run("UPDATE sync_runs SET state = 'failed', finished_at = ?, errors = ? WHERE id = ?",
                  [.text(now), .text(RecordRules.jsonArray(run.errors + [BatchRules.interrupted])), .text(run.id)])
    }

    /// Whether a running run is abandoned: its heartbeat is stale, or its owner was a process of
    /// this host that no longer runs (a SQLite file is one machine's).
    static func isAbandoned(_ run: SyncRunRecord, now: Int64) -> Bool {
        SyncRunOwnership.isStale(run, now: now) || SyncRunOwnership.ownerIsGoneFromThisHost(run)
    }

    public func heartbeat(owner: String) throws(StoreError) {
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
        var sql = "SELECT \(Self.runColumns) FROM sync_runs WHERE account_id = ? AND state != 'running'"
        var args: [SQLValue] = [.text(accountId)]
        if let triggers {
            sql += " AND trigger IN (SELECT value FROM json_each(?))"
            args.append(.text(RecordRules.jsonArray(triggers.map(\.rawValue).sorted())))
        }
        sql += " ORDER BY seq DESC LIMIT 1"
        return try read { c in try c.query(sql, args).first.map { try Self.run($0, c) } }
    }

    public func failAbandonedRuns() throws(StoreError) {
        let ms = clock.nowMilliseconds()
        let now = Timestamp.format(millisecondsSinceEpoch: ms)
        try write { c in
            for row in try c.query("SELECT \(Self.runColumns) FROM sync_runs WHERE state = 'running'") {
                let run = try Self.run(row, c)
                if Self.isAbandoned(run, now: ms) { try Self.abandon(run, at: now, c) }
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
