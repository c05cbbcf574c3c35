/// What the PostgreSQL record tables need beyond `RecordRules`: JSON texts read by PostgreSQL,
/// and the writes that go with a person's edit.
enum PostgresRecordRules {
    /// A person's change to a linked contact's shared fields is queued for Xero (R9) in the same
    /// transaction, as `ContactRecord.afterPersonUpdate` does on SQLite; other records queue nothing.
    static func afterPersonUpdate<R: StoredRecord>(old: R, new: R, nowMs: Int64, _ c: PostgresConnection) throws {
        guard let old = old as? ContactRecord, let new = new as? ContactRecord,
              SyncEngineRules.needsPush(old: old, new: new) else { return }
        try c.run("""
            INSERT INTO contact_outbox (account_id, contact_id, queued_at, edited_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (account_id, contact_id) DO UPDATE SET
                edited_at = GREATEST(contact_outbox.edited_at + 1, excluded.edited_at),
                queued_at = LEAST(contact_outbox.queued_at, excluded.queued_at), attempts = 0
            """, [.text(new.accountId), .text(new.id), .integer(nowMs), .integer(nowMs)])
    }
}

extension RecordRules {
    /// The strings of a JSON array text, read by PostgreSQL.
    static func strings(_ json: String, _ c: PostgresConnection) throws -> [String] {
        try c.query("SELECT value FROM json_array_elements_text(?::json) WITH ORDINALITY ORDER BY ordinality", [.text(json)])
            .map { $0.string("value") ?? "" }
    }

    /// The integers of a JSON object text, read by PostgreSQL.
    static func counts(_ json: String, _ c: PostgresConnection) throws -> [String: Int] {
        var m: [String: Int] = [:]
        for row in try c.query("SELECT key, value FROM json_each_text(?::json)", [.text(json)]) {
            if let k = row.string("key") { m[k] = row.int("value") ?? 0 }
        }
        return m
    }
}
