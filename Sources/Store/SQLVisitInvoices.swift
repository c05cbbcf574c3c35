import Timekeeping

/// The engine's writes of visits' invoices and the invoice settings, in SQLite.
typealias SQLiteVisitInvoices = SQLVisitInvoices<Database>
/// The engine's writes of visits' invoices and the invoice settings, in PostgreSQL (the same tables).
typealias PostgresVisitInvoices = SQLVisitInvoices<PostgresDatabase>

/// The engine's writes of visits' invoices and the invoice settings, in either SQL store, written
/// once (`visits`, `invoice_settings`). Each visit write moves its version in the statement.
final class SQLVisitInvoices<DB: SQLDatabase>: VisitInvoiceRepository {
    let db: DB
    let clock: any WallClock

    init(database: DB, clock: any WallClock) {
        db = database
        self.clock = clock
    }

    static var selectList: String { SQLRecordRepository<DB, VisitRecord>.selectList }

    func invoiceSettings(accountId: String) throws(StoreError) -> InvoiceSettings {
        let (account, row) = try RecordRules.attempt {
            try db.read { c in
                (try c.query("SELECT id FROM accounts WHERE id = ?", [.text(accountId)]).first,
                 try c.query("SELECT invoice_status, labour_account_code FROM invoice_settings WHERE account_id = ?",
                             [.text(accountId)]).first)
            }
        }
        guard account != nil else { throw AccountRules.noAccount(accountId) }
        guard let row else { return InvoiceSettings() }
        return try Self.settings(row)
    }

    @discardableResult func setInvoiceSettings(accountId: String, _ settings: InvoiceSettings) throws(StoreError) -> InvoiceSettings {
        let row = try RecordRules.attempt {
            try db.write(durable: true) { c -> Row in
                guard try c.query("SELECT id FROM accounts WHERE id = ?", [.text(accountId)]).first != nil else {
                    throw AccountRules.noAccount(accountId)
                }
                let rows = try c.query("""
                    INSERT INTO invoice_settings (account_id, invoice_status, labour_account_code) VALUES (?, ?, ?)
                    ON CONFLICT (account_id) DO UPDATE SET invoice_status = excluded.invoice_status,
                        labour_account_code = excluded.labour_account_code
                    RETURNING invoice_status, labour_account_code
                    """, [.text(accountId), .text(settings.invoiceStatus.rawValue), RecordRules.text(settings.labourAccountCode)])
                return rows[0]
            }
        }
        return try Self.settings(row)
    }

    static func settings(_ row: Row) throws(StoreError) -> InvoiceSettings {
        guard let status = InvoiceStatusSetting(rawValue: row.string("invoice_status") ?? "") else {
            throw RecordRules.corrupt("invoice_settings", "invoice_status", row)
        }
        return InvoiceSettings(invoiceStatus: status, labourAccountCode: row.string("labour_account_code"))
    }

    @discardableResult func linkInvoice(accountId: String, visitId: String, _ invoice: VisitInvoice) throws(StoreError) -> VisitRecord {
        let id = invoice.invoiceId.lowercased()
        let row = try write(accountId: accountId, visitId: visitId) { c, now in
            let rows = try c.query("""
                UPDATE visits SET xero_invoice_id = ?, xero_invoice_number = ?, xero_invoice_status = ?, updated_at = ?,
                    version = version + 1
                WHERE account_id = ? AND id = ? AND (xero_invoice_id IS NULL OR xero_invoice_id = ?)
                RETURNING \(Self.selectList)
                """, [.text(id), RecordRules.text(invoice.number), RecordRules.text(invoice.status), .text(now),
                      .text(accountId), .text(visitId), .text(id)])
            if rows.isEmpty { throw RecordRules.conflict("visit \(visitId) is invoiced already, as another Xero invoice") }
            return rows[0]
        }
        return try VisitRecord(row: row)
    }

    @discardableResult func invoiceRefused(accountId: String, visitId: String) throws(StoreError) -> VisitRecord {
        let row = try write(accountId: accountId, visitId: visitId) { c, now in
            try c.query("""
                UPDATE visits SET invoice_attempt = invoice_attempt + 1, updated_at = ?, version = version + 1
                WHERE account_id = ? AND id = ? RETURNING \(Self.selectList)
                """, [.text(now), .text(accountId), .text(visitId)])[0]
        }
        return try VisitRecord(row: row)
    }

    /// Runs `body` in a write transaction on a visit that exists (else `notFound`).
    func write(accountId: String, visitId: String, _ body: (DB.Connection, String) throws -> Row) throws(StoreError) -> Row {
        let now = clock.timestamp()
        return try RecordRules.attempt {
            try db.write(durable: true) { c -> Row in
                guard try c.query("SELECT id FROM visits WHERE account_id = ? AND id = ?", [.text(accountId), .text(visitId)]).first != nil else {
                    throw RecordRules.notFound("visit", visitId)
                }
                return try body(c, now)
            }
        }
    }

    func visits(accountId: String, xeroInvoiceIds: [String]) throws(StoreError) -> [VisitRecord] {
        guard !xeroInvoiceIds.isEmpty else { return [] }
        let rows = try RecordRules.attempt {
            try db.read { c in
                try c.query("""
                    SELECT \(Self.selectList) FROM visits
                    WHERE account_id = ? AND xero_invoice_id IN (\(c.dialect.jsonArrayValues)) ORDER BY seq
                    """, [.text(accountId), .text(RecordRules.jsonArray(xeroInvoiceIds.map { $0.lowercased() }))])
            }
        }
        return try rows.map { row throws(StoreError) in try VisitRecord(row: row) }
    }

    @discardableResult func refreshInvoices(accountId: String, _ invoices: [VisitInvoice]) throws(StoreError) -> Int {
        guard !invoices.isEmpty else { return 0 }
        let now = clock.timestamp()
        return try RecordRules.attempt {
            try db.write(durable: true) { c -> Int in
                var changed = 0
                for inv in invoices {
                    let rows = try c.query("""
                        UPDATE visits SET xero_invoice_number = ?, xero_invoice_status = ?, updated_at = ?, version = version + 1
                        WHERE account_id = ? AND xero_invoice_id = ?
                            AND (xero_invoice_number \(c.dialect.isDistinctFrom) ? OR xero_invoice_status \(c.dialect.isDistinctFrom) ?)
                        RETURNING id
                        """, [RecordRules.text(inv.number), RecordRules.text(inv.status), .text(now), .text(accountId),
                              .text(inv.invoiceId.lowercased()), RecordRules.text(inv.number), RecordRules.text(inv.status)])
                    changed += rows.count
                }
                return changed
            }
        }
    }
}
