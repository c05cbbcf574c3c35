import StrictJSON

/// How a visit is kept (migration 8): one row, its lines a JSON array of
/// `{kind, materialId, description, quantity, unitPrice}` with amounts in ten-thousandths.
extension VisitRecord: StoredRecord {
    static let table = "visits"
    static let columns = ["id", "account_id", "contact_id", "property_id", "status", "completed_at", "lines", "xero_invoice_id",
                          "xero_invoice_number", "xero_invoice_status", "invoice_attempt", "archived", "created_at", "updated_at"]
    var values: [SQLValue] {
        [.text(id), .text(accountId), .text(contactId), RecordRules.text(propertyId), .text(status.rawValue),
         RecordRules.text(completedAt), .text(VisitLines.text(lines)), RecordRules.text(xeroInvoiceId),
         RecordRules.text(xeroInvoiceNumber), RecordRules.text(xeroInvoiceStatus), .integer(invoiceAttempt),
         RecordRules.bool(archived), .text(createdAt), .text(updatedAt)]
    }

    init(row: Row) throws(StoreError) {
        guard let status = VisitStatus(rawValue: row.string("status") ?? "") else { throw RecordRules.corrupt("visits", "status", row) }
        guard let lines = VisitLines.lines(row.string("lines") ?? "") else { throw RecordRules.corrupt("visits", "lines", row) }
        guard case .integer(let attempt) = row["invoice_attempt"] else { throw RecordRules.corrupt("visits", "invoice_attempt", row) }
        self.init(id: row.string("id") ?? "", accountId: row.string("account_id") ?? "", contactId: row.string("contact_id") ?? "",
                  propertyId: row.string("property_id"), status: status, completedAt: row.string("completed_at"), lines: lines,
                  xeroInvoiceId: row.string("xero_invoice_id"), xeroInvoiceNumber: row.string("xero_invoice_number"),
                  xeroInvoiceStatus: row.string("xero_invoice_status"), invoiceAttempt: attempt, archived: row.int("archived") == 1,
                  createdAt: row.string("created_at") ?? "", updatedAt: row.string("updated_at") ?? "")
        version = try RecordRules.version(Self.table, row)
    }

    static var memory: WritableKeyPath<MemoryStore.Tables, MemoryTable<VisitRecord>> { \.visits }

    static func violation(_ r: VisitRecord, in t: MemoryStore.Tables) -> String? {
        guard t.contacts.rows.contains(where: { $0.record.accountId == r.accountId && $0.record.id == r.contactId }) else {
            return "FOREIGN KEY constraint failed"
        }
        if let p = r.propertyId, !t.properties.rows.contains(where: { $0.record.accountId == r.accountId && $0.record.id == p }) {
            return "FOREIGN KEY constraint failed"
        }
        if r.invoiceAttempt < 0 { return "CHECK constraint failed: invoice_attempt >= 0" }
        guard let x = r.xeroInvoiceId else { return nil }
        return t.visits.rows.contains { $0.record.accountId == r.accountId && $0.record.xeroInvoiceId == x && $0.record.id != r.id }
            ? "UNIQUE constraint failed: visits.account_id, visits.xero_invoice_id" : nil
    }

    /// The invoice is the engine's: a person's edit keeps it (and the count of refused attempts) as stored.
    static func keepingXeroState(of stored: VisitRecord, _ edited: VisitRecord) -> VisitRecord {
        var r = edited
        r.xeroInvoiceId = stored.xeroInvoiceId
        r.xeroInvoiceNumber = stored.xeroInvoiceNumber
        r.xeroInvoiceStatus = stored.xeroInvoiceStatus
        r.invoiceAttempt = stored.invoiceAttempt
        return r
    }
}

/// A visit's lines as the JSON text the `lines` column holds.
enum VisitLines {
    static func text(_ lines: [VisitLine]) -> String {
        JSON.array(lines.map { l in
            .object([("kind", .string(l.kind.rawValue)), ("materialId", l.materialId.map(JSON.string) ?? .null),
                     ("description", .string(l.description)), ("quantity", .number(l.quantity)), ("unitPrice", .number(l.unitPrice))])
        }).serialized
    }

    /// The lines of a `lines` text; nil when it is not what `text` writes.
    static func lines(_ text: String) -> [VisitLine]? {
        guard let json = try? JSON.parse(text), let items = json.arrayValue else { return nil }
        var out: [VisitLine] = []
        for item in items {
            guard let kind = item["kind"]?.stringValue.flatMap(VisitLineKind.init(rawValue:)),
                  let description = item["description"]?.stringValue,
                  let quantity = integer(item["quantity"]), let unitPrice = integer(item["unitPrice"]) else { return nil }
            out.append(VisitLine(kind: kind, materialId: item["materialId"]?.stringValue, description: description,
                                 quantity: quantity, unitPrice: unitPrice))
        }
        return out
    }

    static func integer(_ json: JSON?) -> Int64? {
        guard case .number(_, let raw)? = json else { return nil }
        return Int64(raw)
    }
}
