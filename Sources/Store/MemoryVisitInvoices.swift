import Timekeeping

/// The engine's writes of visits' invoices and the invoice settings, in memory; behaves as
/// `SQLiteVisitInvoices` does (the shared contract tests hold both to it).
final class MemoryVisitInvoices: VisitInvoiceRepository {
    let store: MemoryStore

    init(store: MemoryStore) { self.store = store }

    func invoiceSettings(accountId: String) throws(StoreError) -> InvoiceSettings {
        try store.tables.withLock { t throws(StoreError) in
            guard t.accounts[accountId] != nil else { throw AccountRules.noAccount(accountId) }
            return t.invoiceSettings[accountId] ?? InvoiceSettings()
        }
    }

    @discardableResult func setInvoiceSettings(accountId: String, _ settings: InvoiceSettings) throws(StoreError) -> InvoiceSettings {
        try store.tables.withLock { t throws(StoreError) in
            guard t.accounts[accountId] != nil else { throw AccountRules.noAccount(accountId) }
            t.invoiceSettings[accountId] = settings
            return settings
        }
    }

    @discardableResult func linkInvoice(accountId: String, visitId: String, _ invoice: VisitInvoice) throws(StoreError) -> VisitRecord {
        let id = invoice.invoiceId.lowercased()
        return try write(accountId: accountId, visitId: visitId) { (v: inout VisitRecord, t: MemoryStore.Tables) throws(StoreError) in
            guard v.xeroInvoiceId == nil || v.xeroInvoiceId == id else {
                throw RecordRules.conflict("visit \(visitId) is invoiced already, as another Xero invoice")
            }
            if t.visits.rows.contains(where: { $0.record.accountId == accountId && $0.record.xeroInvoiceId == id && $0.record.id != visitId }) {
                throw RecordRules.conflict("UNIQUE constraint failed: visits.account_id, visits.xero_invoice_id")
            }
            v.xeroInvoiceId = id
            v.xeroInvoiceNumber = invoice.number
            v.xeroInvoiceStatus = invoice.status
        }
    }

    @discardableResult func invoiceRefused(accountId: String, visitId: String) throws(StoreError) -> VisitRecord {
        try write(accountId: accountId, visitId: visitId) { (v: inout VisitRecord, _: MemoryStore.Tables) throws(StoreError) in
            v.invoiceAttempt += 1
        }
    }

    /// Changes a visit that exists (else `notFound`), stamping `updatedAt` and moving its version.
    func write(accountId: String, visitId: String,
               _ change: (inout VisitRecord, MemoryStore.Tables) throws(StoreError) -> Void) throws(StoreError) -> VisitRecord {
        let now = store.clock.timestamp()
        return try store.tables.withLock { t throws(StoreError) in
            guard let i = t.visits.rows.firstIndex(where: { $0.record.accountId == accountId && $0.record.id == visitId }) else {
                throw RecordRules.notFound("visit", visitId)
            }
            var v = t.visits.rows[i].record
            try change(&v, t)
            v.updatedAt = now
            let changed = v
            return t.visits.write(at: i) { $0 = changed }
        }
    }

    func visits(accountId: String, xeroInvoiceIds: [String]) throws(StoreError) -> [VisitRecord] {
        let wanted = Set(xeroInvoiceIds.map { $0.lowercased() })
        return store.tables.withLock { t in
            t.visits.rows.map(\.record).filter { $0.accountId == accountId && $0.xeroInvoiceId.map(wanted.contains) == true }
        }
    }

    @discardableResult func refreshInvoices(accountId: String, _ invoices: [VisitInvoice]) throws(StoreError) -> Int {
        let now = store.clock.timestamp()
        return store.tables.withLock { t in
            var changed = 0
            for inv in invoices {
                let id = inv.invoiceId.lowercased()
                for i in t.visits.rows.indices {
                    let v = t.visits.rows[i].record
                    guard v.accountId == accountId, v.xeroInvoiceId == id,
                          v.xeroInvoiceNumber != inv.number || v.xeroInvoiceStatus != inv.status else { continue }
                    t.visits.write(at: i) {
                        $0.xeroInvoiceNumber = inv.number
                        $0.xeroInvoiceStatus = inv.status
                        $0.updatedAt = now
                    }
                    changed += 1
                }
            }
            return changed
        }
    }
}
