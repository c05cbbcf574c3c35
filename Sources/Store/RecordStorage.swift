import StrictJSON
import Foundation

/// How one kind of SortScape record is kept, shared by the SQL and memory repositories so they
/// cannot drift: its table and columns, its values, and the rules a write must keep.
protocol StoredRecord: Sendable, Equatable {
    var id: String { get set }
    var accountId: String { get }
    var archived: Bool { get set }
    var createdAt: String { get set }
    var updatedAt: String { get set }
    /// Not among `columns`: the database starts it at 1 and every UPDATE of the row moves it
    /// (migration 6's triggers), whoever writes it.
    var version: Int64 { get set }

    /// The SQL table.
    static var table: String { get }
    /// Every stored column but `seq` and `version`, in `values` order; begins with `id, account_id`,
    /// ends with `created_at, updated_at`.
    static var columns: [String] { get }
    var values: [SQLValue] { get }
    init(row: Row) throws(StoreError)

    /// The memory table.
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<Self>> { get }
    /// What SQLite's constraints would refuse, for the memory store: the parent this record names
    /// missing from its account, or a duplicate Xero id.
    static func violation(_ record: Self, in tables: MemoryStore.Tables) -> String?

    /// `edited` with the Xero state of `stored` kept (what a person's edit may not change).
    static func keepingXeroState(of stored: Self, _ edited: Self) -> Self

    /// What a person's edit sets going in the same transaction (a linked contact's push, R9).
    static func afterPersonUpdate(old: Self, new: Self, nowMs: Int64, _ c: some SQLConnection) throws
    static func afterPersonUpdate(old: Self, new: Self, nowMs: Int64, _ t: inout MemoryStore.Tables)
}

extension StoredRecord {
    static func keepingXeroState(of stored: Self, _ edited: Self) -> Self { edited }
    static func afterPersonUpdate(old: Self, new: Self, nowMs: Int64, _ c: some SQLConnection) throws {}
    static func afterPersonUpdate(old: Self, new: Self, nowMs: Int64, _ t: inout MemoryStore.Tables) {}
}

extension ContactRecord {
    /// A person's change to a linked contact's shared fields is queued for Xero (R9), atomically
    /// with the edit: the push reads the values when it runs, so one row per contact is enough.
    static func afterPersonUpdate(old: ContactRecord, new: ContactRecord, nowMs: Int64, _ c: some SQLConnection) throws {
        guard SyncEngineRules.needsPush(old: old, new: new) else { return }
        let d = c.dialect
        try c.run("""
            INSERT INTO contact_outbox (account_id, contact_id, queued_at, edited_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (account_id, contact_id) DO UPDATE SET
                edited_at = \(d.greatest("contact_outbox.edited_at + 1", "excluded.edited_at")),
                queued_at = \(d.least("contact_outbox.queued_at", "excluded.queued_at")), attempts = 0
            """, [.text(new.accountId), .text(new.id), .integer(nowMs), .integer(nowMs)])
    }

    static func afterPersonUpdate(old: ContactRecord, new: ContactRecord, nowMs: Int64, _ t: inout MemoryStore.Tables) {
        guard SyncEngineRules.needsPush(old: old, new: new) else { return }
        let key = MemoryStore.ContactKey(accountId: new.accountId, contactId: new.id)
        if var row = t.outbox[key] {
            row.editedAt = max(row.editedAt + 1, nowMs)
            row.queuedAt = min(row.queuedAt, nowMs)
            row.attempts = 0
            t.outbox[key] = row
        } else {
            t.outbox[key] = OutboundContact(contactId: new.id, queuedAt: nowMs, editedAt: nowMs)
        }
    }
}

extension ContactRecord {
    /// The link is the sync's: an edit keeps the Xero contact and the sync state as stored.
    static func keepingXeroState(of stored: ContactRecord, _ edited: ContactRecord) -> ContactRecord {
        var r = edited
        r.xeroContactId = stored.xeroContactId
        r.syncState = stored.syncState
        return r
    }
}

extension MaterialRecord {
    /// The link is the sync's, and a linked material's values are Xero's (R13): only archiving
    /// is a person's to change on it.
    static func keepingXeroState(of stored: MaterialRecord, _ edited: MaterialRecord) -> MaterialRecord {
        var r = edited
        r.xeroItemId = stored.xeroItemId
        if stored.xeroItemId != nil {
            r.name = stored.name
            r.code = stored.code
            r.description = stored.description
            r.unitPrice = stored.unitPrice
        }
        return r
    }
}

/// One memory table: rows in insertion order, each with its `seq` (the list cursor).
struct MemoryTable<Record: Sendable>: Sendable {
    var rows: [(seq: Int64, record: Record)] = []
    var nextSeq: Int64 = 1

    mutating func append(_ r: Record) {
        rows.append((nextSeq, r))
        nextSeq += 1
    }
}

extension MemoryTable where Record: StoredRecord {
    /// Row `i` changed by `change`, its version moved as SQLite's trigger moves it: every write of
    /// a SortScape record in memory goes through here.
    @discardableResult
    mutating func write<E: Error>(at i: Int, _ change: (inout Record) throws(E) -> Void) throws(E) -> Record {
        var r = rows[i].record
        let version = r.version
        try change(&r)
        r.version = version + 1
        rows[i].record = r
        return r
    }
}

/// Ids, cursors and the few JSON texts the record tables keep.
enum RecordRules {
    static func newID() -> String { UUID().uuidString.lowercased() }

    /// The list position a cursor names (0 for none), or `invalidCursor`.
    static func after(_ cursor: String?) throws(StoreError) -> Int64 {
        guard let cursor, !cursor.isEmpty else { return 0 }
        guard cursor.utf8.count <= 19, cursor.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int64(cursor) else {
            throw StoreError(code: .invalidCursor, message: "cursor \(cursor.prefix(40)) is not one this store gave")
        }
        return n
    }

    /// The page size a query may ask for: 1 to 1000.
    static func limit(_ n: Int) -> Int { max(1, min(n, 1000)) }

    /// The first `limit` of `rows` (fetched with one extra to see whether more follow).
    static func page<R>(_ rows: [(seq: Int64, record: R)], limit: Int) -> RecordPage<R> {
        let items = Array(rows.prefix(limit))
        return RecordPage(items: items.map(\.record), nextCursor: rows.count > limit ? items.last.map { String($0.seq) } : nil)
    }

    static func bool(_ b: Bool) -> SQLValue { .integer(b ? 1 : 0) }
    static func text(_ s: String?) -> SQLValue { s.map { .text($0) } ?? .null }

    /// Runs `body`, giving any error as a `StoreError`.
    static func attempt<T>(_ body: () throws -> T) throws(StoreError) -> T { try StoreError.catching(body) }

    static func corrupt(_ table: String, _ column: String, _ row: Row) -> StoreError {
        StoreError(code: .corrupt, message: "\(table).\(column) holds \(row.string(column) ?? "NULL")")
    }

    /// A row's `version`, or `corrupt`.
    static func version(_ table: String, _ row: Row) throws(StoreError) -> Int64 {
        guard case .integer(let v) = row["version"] else { throw corrupt(table, "version", row) }
        return v
    }

    static func notFound(_ what: String, _ id: String) -> StoreError {
        StoreError(code: .notFound, message: "no \(what) with id \(id)")
    }

    static func conflict(_ message: String) -> StoreError { StoreError(code: .conflict, message: message) }

    // MARK: JSON texts (sync runs' counts and errors, matches' reasons)

    static func jsonArray(_ strings: [String]) -> String { JSON.array(strings.map(JSON.string)).serialized }

    static func jsonObject(_ counts: [String: Int]) -> String {
        JSON.object(counts.sorted { $0.key < $1.key }.map { ($0.key, JSON.number($0.value)) }).serialized
    }

    /// The strings of a JSON array text, in order, read by the store: SQLite's `json_each` numbers
    /// them by `key`; PostgreSQL's `json_array_elements_text` needs `WITH ORDINALITY` for that.
    static func strings(_ json: String, _ c: some SQLConnection) throws -> [String] {
        let sql = switch c.dialect {
        case .sqlite: "SELECT value FROM json_each(?) ORDER BY key"
        case .postgresql: "SELECT value FROM json_array_elements_text(?::json) WITH ORDINALITY ORDER BY ordinality"
        }
        return try c.query(sql, [.text(json)]).map { $0.string("value") ?? "" }
    }

    /// The integers of a JSON object text, read by the store (PostgreSQL's as text, which `Row.int` reads).
    static func counts(_ json: String, _ c: some SQLConnection) throws -> [String: Int] {
        var m: [String: Int] = [:]
        let sql = switch c.dialect {
        case .sqlite: "SELECT key, value FROM json_each(?)"
        case .postgresql: "SELECT key, value FROM json_each_text(?::json)"
        }
        for row in try c.query(sql, [.text(json)]) {
            if let k = row.string("key") { m[k] = row.int("value") ?? 0 }
        }
        return m
    }
}

// MARK: - the five kinds

extension ContactRecord: StoredRecord {
    static let table = "contacts"
    static let columns = ["id", "account_id", "name", "company_name", "email", "phone", "archived", "xero_contact_id",
                          "sync_state", "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(name), .text(companyName), .text(email), .text(phone), RecordRules.bool(archived),
         RecordRules.text(xeroContactId), .text(syncState.rawValue), .text(createdAt), .text(updatedAt)]
    }
    init(row: Row) throws(StoreError) {
        guard let state = ContactSyncState(rawValue: row.string("sync_state") ?? "") else {
            throw RecordRules.corrupt("contacts", "sync_state", row)
        }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", name: row.string("name") ?? "",
                  companyName: row.string("company_name") ?? "", email: row.string("email") ?? "",
                  phone: row.string("phone") ?? "", archived: row.int("archived") == 1,
                  xeroContactId: row.string("xero_contact_id"), syncState: state,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<ContactRecord>> { \.contacts }
    static func violation(_ r: ContactRecord, in t: MemoryStore.Tables) -> String? {
        guard let x = r.xeroContactId else { return nil }
        return t.contacts.rows.contains { $0.record.accountId == r.accountId && $0.record.xeroContactId == x && $0.record.id != r.id }
            ? "UNIQUE constraint failed: contacts.account_id, contacts.xero_contact_id" : nil
    }
}

extension PropertyRecord: StoredRecord {
    static let table = "properties"
    static let columns = ["id", "account_id", "contact_id", "address_line1", "address_line2", "address_line3", "address_line4",
                          "city", "region", "postal_code", "country", "source", "archived", "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(contactId), .text(addressLine1), .text(addressLine2), .text(addressLine3),
         .text(addressLine4), .text(city), .text(region), .text(postalCode), .text(country), .text(source.rawValue),
         RecordRules.bool(archived), .text(createdAt), .text(updatedAt)]
    }
    init(row: Row) throws(StoreError) {
        guard let source = PropertySource(rawValue: row.string("source") ?? "") else {
            throw RecordRules.corrupt("properties", "source", row)
        }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", contactId: row.string("contact_id") ?? "",
                  addressLine1: row.string("address_line1") ?? "", addressLine2: row.string("address_line2") ?? "",
                  addressLine3: row.string("address_line3") ?? "", addressLine4: row.string("address_line4") ?? "",
                  city: row.string("city") ?? "", region: row.string("region") ?? "", postalCode: row.string("postal_code") ?? "",
                  country: row.string("country") ?? "", source: source, archived: row.int("archived") == 1,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<PropertyRecord>> { \.properties }
    static func violation(_ r: PropertyRecord, in t: MemoryStore.Tables) -> String? {
        t.contacts.rows.contains { $0.record.accountId == r.accountId && $0.record.id == r.contactId }
            ? nil : "FOREIGN KEY constraint failed"
    }
}

extension MaterialRecord: StoredRecord {
    static let table = "materials"
    static let columns = ["id", "account_id", "name", "code", "description", "unit_price", "xero_item_id", "archived",
                          "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(name), .text(code), .text(description), .integer(unitPrice),
         RecordRules.text(xeroItemId), RecordRules.bool(archived), .text(createdAt), .text(updatedAt)]
    }
    init(row: Row) throws(StoreError) {
        guard case .integer(let price) = row["unit_price"] else { throw RecordRules.corrupt("materials", "unit_price", row) }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", name: row.string("name") ?? "",
                  code: row.string("code") ?? "", description: row.string("description") ?? "", unitPrice: price,
                  xeroItemId: row.string("xero_item_id"), archived: row.int("archived") == 1,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<MaterialRecord>> { \.materials }
    static func violation(_ r: MaterialRecord, in t: MemoryStore.Tables) -> String? {
        if r.unitPrice < 0 { return "CHECK constraint failed: unit_price >= 0" }
        guard let x = r.xeroItemId else { return nil }
        return t.materials.rows.contains { $0.record.accountId == r.accountId && $0.record.xeroItemId == x && $0.record.id != r.id }
            ? "UNIQUE constraint failed: materials.account_id, materials.xero_item_id" : nil
    }
}

extension JobRecord: StoredRecord {
    static let table = "jobs"
    static let columns = ["id", "account_id", "property_id", "title", "status", "archived", "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(propertyId), .text(title), .text(status.rawValue), RecordRules.bool(archived),
         .text(createdAt), .text(updatedAt)]
    }
    init(row: Row) throws(StoreError) {
        guard let status = JobStatus(rawValue: row.string("status") ?? "") else { throw RecordRules.corrupt("jobs", "status", row) }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", propertyId: row.string("property_id") ?? "",
                  title: row.string("title") ?? "", status: status, archived: row.int("archived") == 1,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<JobRecord>> { \.jobs }
    static func violation(_ r: JobRecord, in t: MemoryStore.Tables) -> String? {
        t.properties.rows.contains { $0.record.accountId == r.accountId && $0.record.id == r.propertyId }
            ? nil : "FOREIGN KEY constraint failed"
    }
}

extension IssueRecord: StoredRecord {
    static let table = "issues"
    static let columns = ["id", "account_id", "property_id", "title", "status", "archived", "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(propertyId), .text(title), .text(status.rawValue), RecordRules.bool(archived),
         .text(createdAt), .text(updatedAt)]
    }
    init(row: Row) throws(StoreError) {
        guard let status = IssueStatus(rawValue: row.string("status") ?? "") else { throw RecordRules.corrupt("issues", "status", row) }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", propertyId: row.string("property_id") ?? "",
                  title: row.string("title") ?? "", status: status, archived: row.int("archived") == 1,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }
    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<IssueRecord>> { \.issues }
    static func violation(_ r: IssueRecord, in t: MemoryStore.Tables) -> String? {
        t.properties.rows.contains { $0.record.accountId == r.accountId && $0.record.id == r.propertyId }
            ? nil : "FOREIGN KEY constraint failed"
    }
}
