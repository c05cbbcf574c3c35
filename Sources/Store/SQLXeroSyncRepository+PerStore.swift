/// What the import, link and dismiss share with repositories still written once per store (the
/// record tables' inserts and updates, the sync engine's base, `RecordRules`' JSON readers):
/// each call goes to the copy for the connection's store. Once those are written over
/// `SQLDatabase` too, call them directly and delete this file.
extension SQLXeroSyncRepository {
    static func selectList<R: StoredRecord>(_: R.Type) -> String {
        DB.self == PostgresDatabase.self ? PostgresRecordRepository<R>.selectList : SQLiteRecordRepository<R>.selectList
    }

    static func insert<R: StoredRecord>(_ r: R, _ c: DB.Connection, orIgnore: Bool = false) throws {
        try perStore(c, { try SQLiteRecordRepository<R>.insert(r, $0, orIgnore: orIgnore) },
                     { try PostgresRecordRepository<R>.insert(r, $0, orIgnore: orIgnore) })
    }

    static func update<R: StoredRecord>(_ r: R, now: String, _ c: DB.Connection) throws -> Row {
        try perStore(c, { try SQLiteRecordRepository<R>.update(r, now: now, $0) },
                     { try PostgresRecordRepository<R>.update(r, now: now, $0) })
    }

    static func writeBase(accountId: String, contactId: String, _ b: ContactFields, _ c: DB.Connection) throws {
        try perStore(c, { try SQLiteSyncEngineRepository.writeBase(accountId: accountId, contactId: contactId, b, $0) },
                     { try PostgresSyncEngineRepository.writeBase(accountId: accountId, contactId: contactId, b, $0) })
    }

    static func strings(_ json: String, _ c: DB.Connection) throws -> [String] {
        try perStore(c, { try RecordRules.strings(json, $0) }, { try RecordRules.strings(json, $0) })
    }

    static func counts(_ json: String, _ c: DB.Connection) throws -> [String: Int] {
        try perStore(c, { try RecordRules.counts(json, $0) }, { try RecordRules.counts(json, $0) })
    }

    private static func perStore<T>(_ c: DB.Connection, _ sqlite: (SQLiteConnection) throws -> T,
                                    _ postgresql: (PostgresConnection) throws -> T) throws -> T {
        switch c {
        case let c as SQLiteConnection: return try sqlite(c)
        case let c as PostgresConnection: return try postgresql(c)
        default: throw StoreError(code: .store, message: "no statements for a connection of type \(type(of: c))")
        }
    }
}
