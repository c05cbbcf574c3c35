import Timekeeping

/// The sync engine's tables in SQLite (migration 5) and the rows of `webhook_events` and
/// `contacts` it changes.
public typealias SQLiteSyncEngineRepository = SQLSyncEngineRepository<Database>
/// The same tables and rows in PostgreSQL.
public typealias PostgresSyncEngineRepository = SQLSyncEngineRepository<PostgresDatabase>

/// The sync engine's tables (migration 5) and the rows of `webhook_events` and `contacts` it
/// changes, in either SQL store, written once.
public final class SQLSyncEngineRepository<DB: SQLDatabase>: SyncEngineRepository {
    let db: DB
    let clock: any WallClock

    /// A repository over `database`; timestamps come from `clock`.
    public init(database: DB, clock: any WallClock = SystemWallClock()) {
        db = database
        self.clock = clock
    }

    func read<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.read(body) }
    }

    func write<T>(_ body: (DB.Connection) throws -> T) throws(StoreError) -> T {
        try RecordRules.attempt { try db.write(durable: true, body) }
    }

    /// The contacts table's statements in the same store.
    typealias Contacts = SQLRecordRepository<DB, ContactRecord>

    static var contactColumns: String { Contacts.selectList }

    static var eventColumns: String {
        """
        id, delivery_id, account_id, tenant_id, category, type, resource_id, event_date_utc, state,
        attempts, last_error, received_at
        """
    }

    // MARK: inbox

    /// On PostgreSQL, takes the events with `FOR UPDATE SKIP LOCKED` (so in a write transaction):
    /// an event another transaction (another instance's settle or replay) holds is passed over
    /// rather than waited for or read half-settled. The row locks last for this transaction only;
    /// what keeps two instances off one account's events is the one running sync run per account
    /// (`sync_runs_running`). SQLite has one process and one writer, so nothing is held by anyone
    /// else: a plain read, the two partial indexes' halves joined by UNION ALL.
    public func claimableEvents(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [InboxEvent] {
        let limit = Int64(max(1, limit))
        switch db.dialect {
        case .sqlite:
            return try read { c in
                try c.query("""
                    SELECT \(Self.eventColumns) FROM webhook_events WHERE account_id = ? AND state = 'pending'
                    UNION ALL
                    SELECT \(Self.eventColumns) FROM webhook_events WHERE account_id = ? AND state = 'failed' AND next_attempt_at <= ?
                    ORDER BY id LIMIT ?
                    """, [.text(accountId), .text(accountId), .integer(now), .integer(limit)]).map(InboxEvent.init(row:))
            }
        case .postgresql:
            return try write { c in
                try c.query("""
                    SELECT \(Self.eventColumns) FROM webhook_events
                    WHERE account_id = ? AND (state = 'pending' OR (state = 'failed' AND next_attempt_at <= ?))
                    ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
                    """, [.text(accountId), .integer(now), .integer(limit)]).map(InboxEvent.init(row:))
            }
        }
    }

    public func accountsWithClaimableEvents(now: Int64) throws(StoreError) -> [String] {
        try read { c in
            try c.query("""
                SELECT DISTINCT account_id FROM webhook_events WHERE state = 'pending' AND account_id IS NOT NULL
                UNION SELECT DISTINCT account_id FROM webhook_events WHERE state = 'failed' AND next_attempt_at <= ?
                """, [.integer(now)]).compactMap { $0.string("account_id") }
        }
    }

    public func settle(accountId: String, _ outcomes: [(id: Int64, outcome: EventOutcome)]) throws(StoreError) {
        guard !outcomes.isEmpty else { return }
        try write { c in
            for (id, outcome) in outcomes {
                switch outcome {
                case .applied:
                    try c.run("UPDATE webhook_events SET state = 'applied', attempts = attempts + 1, last_error = NULL, next_attempt_at = NULL WHERE account_id = ? AND id = ?",
                              [.text(accountId), .integer(id)])
                case .ignored(let why):
                    try c.run("UPDATE webhook_events SET state = 'ignored', attempts = attempts + 1, last_error = ?, next_attempt_at = NULL WHERE account_id = ? AND id = ?",
                              [.text(String(why.prefix(500))), .text(accountId), .integer(id)])
                case .failed(let error, let next):
                    try c.run("UPDATE webhook_events SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE account_id = ? AND id = ?",
                              [.text(String(error.prefix(500))), next.map { .integer($0) } ?? .null, .text(accountId), .integer(id)])
                }
            }
        }
    }

    public func replay(accountId: String?, eventId: Int64) throws(StoreError) -> InboxEvent {
        try write { c in
            var sql = "UPDATE webhook_events SET state = 'pending', next_attempt_at = NULL WHERE id = ? AND state IN ('failed', 'applied', 'ignored')"
            var args: [SQLValue] = [.integer(eventId)]
            if let accountId { sql += " AND account_id = ?"; args.append(.text(accountId)) } else { sql += " AND account_id IS NOT NULL" }
            try c.run(sql, args)
            var select = "SELECT \(Self.eventColumns) FROM webhook_events WHERE id = ?"
            var selectArgs: [SQLValue] = [.integer(eventId)]
            if let accountId { select += " AND account_id = ?"; selectArgs.append(.text(accountId)) }
            guard let row = try c.query(select, selectArgs).first else { throw RecordRules.notFound("event", String(eventId)) }
            let event = try InboxEvent(row: row)
            guard event.state == .pending else {
                throw RecordRules.conflict("an event that is \(event.state.rawValue) cannot be replayed")
            }
            return event
        }
    }

    public func nextEventRetries() throws(StoreError) -> [String: Int64] {
        try read { c in
            var m: [String: Int64] = [:]
            for r in try c.query("SELECT account_id, MIN(next_attempt_at) AS t FROM webhook_events WHERE state = 'failed' AND next_attempt_at IS NOT NULL GROUP BY account_id", []) {
                if let a = r.string("account_id"), case .integer(let t) = r["t"] { m[a] = t }
            }
            return m
        }
    }

    // MARK: watermarks

    public func watermark(accountId: String, _ resource: SyncResource) throws(StoreError) -> Int64? {
        try read { c in
            guard let row = try c.query("SELECT value FROM sync_watermarks WHERE account_id = ? AND resource = ?",
                                        [.text(accountId), .text(resource.rawValue)]).first,
                  case .integer(let v) = row["value"] else { return nil }
            return v
        }
    }

    public func setWatermark(accountId: String, _ resource: SyncResource, _ value: Int64) throws(StoreError) {
        try write { c in
            try c.run("""
                INSERT INTO sync_watermarks (account_id, resource, value) VALUES (?, ?, ?)
                ON CONFLICT (account_id, resource) DO UPDATE SET
                    value = \(c.dialect.greatest("sync_watermarks.value", "excluded.value"))
                """, [.text(accountId), .text(resource.rawValue), .integer(value)])
        }
    }

    /// One conditional upsert: the row is locked while it is decided, so of two instances at the
    /// same moment the second sees the first's lease.
    public func takeSweepLease(accountId: String, now: Int64, until: Int64) throws(StoreError) -> Bool {
        try write { c in
            try c.run("""
                INSERT INTO sync_watermarks (account_id, resource, value) VALUES (?, ?, ?)
                ON CONFLICT (account_id, resource) DO UPDATE SET value = excluded.value
                WHERE sync_watermarks.value <= ? AND excluded.value > sync_watermarks.value
                """, [.text(accountId), .text(SyncResource.sweepLease.rawValue), .integer(until), .integer(now)])
            return c.changes == 1
        }
    }

    // MARK: linked contacts

    static var linkedSelect: String {
        """
        SELECT \(contactColumns.split(separator: ",").map { "c." + $0.trimmingCharacters(in: .whitespaces) }.joined(separator: ", ")),
               b.name AS base_name, b.company_name AS base_company_name, b.email AS base_email, b.phone AS base_phone
        FROM contacts c LEFT JOIN contact_sync_base b ON b.account_id = c.account_id AND b.contact_id = c.id
        """
    }

    static func linked(_ row: Row) throws(StoreError) -> LinkedContact {
        let contact = try ContactRecord(row: row)
        let base = row.string("base_name").map {
            ContactFields(name: $0, companyName: row.string("base_company_name") ?? "", email: row.string("base_email") ?? "",
                          phone: row.string("base_phone") ?? "")
        }
        return LinkedContact(contact: contact, base: base)
    }

    public func linkedContacts(accountId: String, xeroContactIds: [String]) throws(StoreError) -> [String: LinkedContact] {
        guard !xeroContactIds.isEmpty else { return [:] }
        let rows = try read { c in
            try c.query(Self.linkedSelect + " WHERE c.account_id = ? AND c.xero_contact_id IN (\(c.dialect.jsonArrayValues))",
                        [.text(accountId), .text(RecordRules.jsonArray(xeroContactIds.map { $0.lowercased() }))])
        }
        var m: [String: LinkedContact] = [:]
        for row in rows {
            let l = try Self.linked(row)
            if let x = l.contact.xeroContactId { m[x] = l }
        }
        return m
    }

    public func linkedContacts(accountId: String, contactIds: [String]) throws(StoreError) -> [LinkedContact] {
        guard !contactIds.isEmpty else { return [] }
        let rows = try read { c in
            try c.query(Self.linkedSelect + " WHERE c.account_id = ? AND c.id IN (\(c.dialect.jsonArrayValues))",
                        [.text(accountId), .text(RecordRules.jsonArray(contactIds))])
        }
        return try rows.map { row throws(StoreError) in try Self.linked(row) }
    }

    public func applyContactUpdates(accountId: String, _ updates: [ContactUpdate]) throws(StoreError) -> [String: ContactUpdateResult] {
        let now = clock.timestamp()
        return try write { c in
            var results: [String: ContactUpdateResult] = [:]
            for u in updates where !u.isEmpty {
                let id = u.expected.id
                guard let row = try c.query("SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? AND id = ?",
                                            [.text(accountId), .text(id)]).first else {
                    results[id] = .stale
                    continue
                }
                let current = try ContactRecord(row: row)
                guard !u.checked || SyncEngineRules.same(current, u.expected) else {
                    results[id] = .stale
                    continue
                }
                var contact = current
                if let target = u.relinkTo?.lowercased() {
                    if try !c.query("SELECT 1 FROM contacts WHERE account_id = ? AND xero_contact_id = ? AND id != ?",
                                    [.text(accountId), .text(target), .text(id)]).isEmpty {
                        results[id] = .relinkTaken
                        continue
                    }
                    contact.xeroContactId = target
                }
                if let f = u.fields { contact.fields = f }
                if let s = u.syncState { contact.syncState = s }
                var archive = u.archive
                if archive, try Self.hasPendingWork(accountId: accountId, contactId: id, c) {
                    archive = false  // work came in since the engine looked (R10)
                    contact.syncState = .waitingArchive
                }
                if archive { contact.archived = true }
                if contact != current { _ = try Contacts.update(contact, now: now, c) }
                if archive {
                    try c.run("UPDATE properties SET archived = 1, updated_at = ? WHERE account_id = ? AND contact_id = ? AND archived = 0",
                              [.text(now), .text(accountId), .text(id)])
                    try c.run("DELETE FROM contact_outbox WHERE account_id = ? AND contact_id = ?", [.text(accountId), .text(id)])
                }
                if let b = u.base { try Self.writeBase(accountId: accountId, contactId: id, b, c) }
                // A conflict already recorded is skipped: SQLite's OR IGNORE, PostgreSQL's ON CONFLICT DO NOTHING.
                let (orIgnore, doNothing) = c.dialect == .sqlite ? (" OR IGNORE", "") : ("", " ON CONFLICT DO NOTHING")
                for k in u.conflicts {
                    try c.run("""
                        INSERT\(orIgnore) INTO contact_conflicts (account_id, contact_id, field, sortscape, xero, kept, at)
                        VALUES (?, ?, ?, ?, ?, ?, ?)\(doNothing)
                        """, [.text(accountId), .text(id), .text(k.field), .text(k.sortscape), .text(k.xero), .text(k.kept),
                              .text(k.at.isEmpty ? now : k.at)])
                }
                if let edited = u.clearOutboxEditedAt {
                    try c.run("DELETE FROM contact_outbox WHERE account_id = ? AND contact_id = ? AND edited_at <= ?",
                              [.text(accountId), .text(id), .integer(edited)])
                }
                results[id] = .applied
            }
            return results
        }
    }

    static func writeBase(accountId: String, contactId: String, _ b: ContactFields, _ c: DB.Connection) throws {
        try c.run("""
            INSERT INTO contact_sync_base (account_id, contact_id, name, company_name, email, phone) VALUES (?, ?, ?, ?, ?, ?)
            ON CONFLICT (account_id, contact_id) DO UPDATE SET name = excluded.name, company_name = excluded.company_name,
                email = excluded.email, phone = excluded.phone
            """, [.text(accountId), .text(contactId), .text(b.name), .text(b.companyName), .text(b.email), .text(b.phone)])
    }

    public func linkContact(accountId: String, contactId: String, xeroContactId: String, fields: ContactFields?,
                            base: ContactFields, expectedVersion: Int64?) throws(StoreError) -> ContactRecord {
        let now = clock.timestamp()
        let row = try write { c -> Row in
            guard let row = try c.query("SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? AND id = ?",
                                        [.text(accountId), .text(contactId)]).first else {
                throw RecordRules.notFound("contact", contactId)
            }
            var contact = try ContactRecord(row: row)
            guard contact.xeroContactId == nil else { throw RecordRules.conflict("this contact is already linked to a Xero contact") }
            if let expectedVersion, contact.version != expectedVersion {
                throw RecordRules.conflict("the contact changed while it was being sent to Xero; try again")
            }
            let x = xeroContactId.lowercased()
            guard try c.query("SELECT 1 FROM contacts WHERE account_id = ? AND xero_contact_id = ?", [.text(accountId), .text(x)]).isEmpty else {
                throw RecordRules.conflict("the Xero contact with this name is already linked to another SortScape contact")
            }
            contact.xeroContactId = x
            contact.syncState = .linked
            if let fields { contact.fields = fields }
            let stored = try Contacts.update(contact, now: now, c)
            try Self.writeBase(accountId: accountId, contactId: contactId, base, c)
            try c.run("UPDATE contact_matches SET state = 'dismissed', updated_at = ? WHERE account_id = ? AND contact_id = ? AND state = 'pending'",
                      [.text(now), .text(accountId), .text(contactId)])
            return stored
        }
        return try ContactRecord(row: row)
    }

    public func contacts(accountId: String, syncState: ContactSyncState) throws(StoreError) -> [ContactRecord] {
        let rows = try read { c in
            try c.query("SELECT \(Self.contactColumns) FROM contacts WHERE account_id = ? AND sync_state = ? ORDER BY seq",
                        [.text(accountId), .text(syncState.rawValue)])
        }
        return try rows.map { row throws(StoreError) in try ContactRecord(row: row) }
    }

    public func contactCount(accountId: String, syncState: ContactSyncState) throws(StoreError) -> Int {
        try read { c in
            try c.query("SELECT COUNT(*) AS n FROM contacts WHERE account_id = ? AND sync_state = ?",
                        [.text(accountId), .text(syncState.rawValue)]).first?.int("n") ?? 0
        }
    }

    public func hasPendingWork(accountId: String, contactId: String) throws(StoreError) -> Bool {
        try read { c in try Self.hasPendingWork(accountId: accountId, contactId: contactId, c) }
    }

    static func hasPendingWork(accountId: String, contactId: String, _ c: DB.Connection) throws -> Bool {
            try !c.query("""
                SELECT 1 FROM properties p WHERE p.account_id = ? AND p.contact_id = ? AND (
                    EXISTS (SELECT 1 FROM jobs j WHERE j.account_id = p.account_id AND j.property_id = p.id AND j.status = 'pending' AND j.archived = 0)
                 OR EXISTS (SELECT 1 FROM issues i WHERE i.account_id = p.account_id AND i.property_id = p.id AND i.status = 'open' AND i.archived = 0))
                LIMIT 1
                """, [.text(accountId), .text(contactId)]).isEmpty
    }

    public func conflicts(accountId: String, contactIds: [String]) throws(StoreError) -> [String: [ContactConflict]] {
        guard !contactIds.isEmpty else { return [:] }
        return try read { c in
            var m: [String: [ContactConflict]] = [:]
            for r in try c.query("""
                SELECT contact_id, field, sortscape, xero, kept, at FROM contact_conflicts
                WHERE account_id = ? AND contact_id IN (\(c.dialect.jsonArrayValues)) ORDER BY seq DESC
                """, [.text(accountId), .text(RecordRules.jsonArray(contactIds))]) {
                m[r.string("contact_id") ?? "", default: []].append(ContactConflict(
                    field: r.string("field") ?? "", sortscape: r.string("sortscape") ?? "", xero: r.string("xero") ?? "",
                    kept: r.string("kept") ?? "", at: r.string("at") ?? ""))
            }
            return m
        }
    }

    // MARK: outbox

    public func outbound(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [OutboundContact] {
        try read { c in
            try c.query("SELECT contact_id, queued_at, edited_at, attempts FROM contact_outbox WHERE account_id = ? AND queued_at <= ? ORDER BY queued_at LIMIT ?",
                        [.text(accountId), .integer(now), .integer(Int64(max(1, limit)))]).map { r in
                guard case .integer(let q) = r["queued_at"], case .integer(let e) = r["edited_at"] else {
                    throw RecordRules.corrupt("contact_outbox", "queued_at", r)
                }
                return OutboundContact(contactId: r.string("contact_id") ?? "", queuedAt: q, editedAt: e, attempts: r.int("attempts") ?? 0)
            }
        }
    }

    public func outboundQueued() throws(StoreError) -> [String: Int64] {
        try read { c in
            var m: [String: Int64] = [:]
            for r in try c.query("SELECT account_id, MIN(queued_at) AS t FROM contact_outbox GROUP BY account_id", []) {
                if let a = r.string("account_id"), case .integer(let t) = r["t"] { m[a] = t }
            }
            return m
        }
    }

    public func failOutbound(accountId: String, contactIds: [String], error: String) throws(StoreError) {
        guard !contactIds.isEmpty else { return }
        try write { c in
            // 30 s doubling per attempt up to an hour; PostgreSQL spells MIN as LEAST and shifts a
            // bigint by an int.
            let backoff = c.dialect == .sqlite ? "MIN(3600000, 30000 * (1 << MIN(attempts, 7)))"
                : "LEAST(3600000, 30000 * (1::bigint << LEAST(attempts, 7)::int))"
            try c.run("""
                UPDATE contact_outbox SET attempts = attempts + 1, last_error = ?, queued_at = ? + \(backoff)
                WHERE account_id = ? AND contact_id IN (\(c.dialect.jsonArrayValues))
                """, [.text(String(error.prefix(500))), .integer(clock.nowMilliseconds()), .text(accountId),
                      .text(RecordRules.jsonArray(contactIds))])
        }
    }

    public func dropOutbound(accountId: String, contactIds: [String]) throws(StoreError) {
        guard !contactIds.isEmpty else { return }
        try write { c in
            try c.run("DELETE FROM contact_outbox WHERE account_id = ? AND contact_id IN (\(c.dialect.jsonArrayValues))",
                      [.text(accountId), .text(RecordRules.jsonArray(contactIds))])
        }
    }

    // MARK: items

    public func unlinkMaterials(accountId: String, materialIds: [String]) throws(StoreError) -> Int {
        guard !materialIds.isEmpty else { return 0 }
        let now = clock.timestamp()
        return try write { c in
            try c.run("UPDATE materials SET xero_item_id = NULL, updated_at = ? WHERE account_id = ? AND xero_item_id IS NOT NULL AND id IN (\(c.dialect.jsonArrayValues))",
                      [.text(now), .text(accountId), .text(RecordRules.jsonArray(materialIds))])
            return c.changes
        }
    }

    // MARK: retention

    public func pruneHistory(_ r: HistoryRetention) throws(StoreError) -> PrunedHistory {
        try write { c in
            var pruned = PrunedHistory()
            try c.run("""
                DELETE FROM sync_runs WHERE state != 'running' AND finished_at < ? AND seq NOT IN (
                    SELECT seq FROM (SELECT seq, ROW_NUMBER() OVER (PARTITION BY account_id ORDER BY seq DESC) AS n FROM sync_runs) ranked
                    WHERE n <= ?)
                """, [.text(r.runsEndedBefore), .integer(Int64(max(0, r.keepRunsPerAccount)))])
            pruned.runs = c.changes
            try c.run("""
                DELETE FROM webhook_events WHERE received_at < ?
                    AND (state IN ('applied', 'ignored', 'unrouted', 'quarantined') OR (state = 'failed' AND next_attempt_at IS NULL))
                    AND id < (SELECT MAX(id) FROM webhook_events)
                """, [.text(r.eventsReceivedBefore)])
            pruned.events = c.changes
            // A delivery no event still names: SQLite reads the events' delivery ids once into a
            // set (NOT IN), PostgreSQL plans NOT EXISTS as an anti-join (delivery_id is NOT NULL
            // on both, so the two say the same).
            let unreferenced = c.dialect == .sqlite ? "id NOT IN (SELECT delivery_id FROM webhook_events)"
                : "NOT EXISTS (SELECT 1 FROM webhook_events e WHERE e.delivery_id = webhook_deliveries.id)"
            try c.run("""
                DELETE FROM webhook_deliveries WHERE received_at < ?
                    AND id <= (SELECT delivery_id FROM inbox_cursor WHERE name = 'expanded_through')
                    AND id < (SELECT MAX(id) FROM webhook_deliveries)
                    AND \(unreferenced)
                """, [.text(r.eventsReceivedBefore)])
            pruned.deliveries = c.changes
            return pruned
        }
    }
}

/// What the engine repositories (SQL and memory) share.
enum SyncEngineRules {
    /// Whether the stored contact still holds what the engine read (all a person or the engine may change).
    static func same(_ stored: ContactRecord, _ expected: ContactRecord) -> Bool {
        stored.version == expected.version && stored.fields == expected.fields && stored.archived == expected.archived
            && stored.syncState == expected.syncState && stored.xeroContactId == expected.xeroContactId
    }

    /// Whether a person's edit of a linked contact is one the push must carry (R9).
    static func needsPush(old: ContactRecord, new: ContactRecord) -> Bool {
        new.xeroContactId != nil && !new.archived && new.syncState == .linked && old.fields != new.fields
    }
}
