import HTTPServer
import Store
import StrictJSON

/// Visits as `/api/v1/visits` serves them (DESIGN §3 `visit`). A visit is for a contact, at one
/// of its properties or none; its `lines` (replaced whole by a patch) are materials used and
/// labour, quantities and prices exact to 4 decimals. `status` moves only by
/// `POST …/complete`; the invoice fields only by the engine (R15). An invoiced visit cannot be
/// patched: its invoice is changed in Xero.
extension VisitRecord: APIRecord {
    static let kind = "visits"
    static let noun = "visit"
    static let readOnlyFields = ["id", "archived", "status", "completedAt", "xeroInvoiceId", "xeroInvoiceNumber",
                                 "xeroInvoiceStatus", "version"]
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<VisitRecord> { records.visits }
    static func render(_ items: [VisitRecord], _ gateway: Gateway) throws(HTTPError) -> [JSON] { items.map(\.json) }

    /// Lines a visit may have.
    static let maxLines = 100
    /// 999 999.9999: the largest quantity of a line.
    static let maxQuantity: Int64 = 9_999_999_999

    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> VisitRecord {
        let contactId = try body.string("contactId", max: 100, required: true) ?? ""
        try gateway.requireParent(ContactRecord.self, "contactId", accountId: accountId, id: contactId)
        var v = VisitRecord(id: "", accountId: accountId, contactId: contactId)
        try v.setFields(&body, gateway)
        return v
    }

    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if invoiced { throw HTTPError.visitInvoiced(self) }
        if let contactId = try body.string("contactId", max: 100, nonEmpty: true) {
            try gateway.requireParent(ContactRecord.self, "contactId", accountId: accountId, id: contactId)
            self.contactId = contactId
        }
        try setFields(&body, gateway)
    }

    /// `propertyId` (null for none) and `lines`; then the property must be the contact's.
    private mutating func setFields(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if let p = body.value("propertyId") {
            switch p {
            case .null: propertyId = nil
            case .string: propertyId = try body.string("propertyId", max: 100, nonEmpty: true)
            default: throw RecordBody.invalid("propertyId", "must be a string or null")
            }
        }
        if let l = body.value("lines") {
            guard case .array(let items) = l else { throw RecordBody.invalid("lines", "must be an array") }
            guard items.count <= Self.maxLines else { throw RecordBody.invalid("lines", "must have at most \(Self.maxLines) lines") }
            var lines: [VisitLine] = []
            for (i, item) in items.enumerated() { lines.append(try Self.line(item, at: i, accountId: accountId, gateway)) }
            self.lines = lines
        }
        if let propertyId {
            let property = try gateway.store { () throws(StoreError) in try gateway.records.properties.get(accountId: accountId, id: propertyId) }
            guard let property else { throw RecordBody.invalid("propertyId", "no property with id \(propertyId.prefix(100))") }
            guard property.contactId == contactId else { throw RecordBody.invalid("propertyId", "is not a property of the visit's contact") }
        }
    }

    /// One line of a body: `{kind?, materialId?, description?, quantity, unitPrice?}`. A material
    /// line (one naming `materialId`) takes the material's name and price unless given; a labour
    /// line needs its description and price.
    static func line(_ json: JSON, at i: Int, accountId: String, _ gateway: Gateway) throws(HTTPError) -> VisitLine {
        let path = "lines[\(i)]"
        guard case .object(let members) = json else { throw RecordBody.invalid(path, "must be an object") }
        var body: RecordBody
        do { body = try RecordBody(members: members) } catch { throw prefixed(error, path) }
        do throws(HTTPError) {
            let kind = try body.choice("kind", VisitLineKind.self)
            let materialId = try body.string("materialId", max: 100, nonEmpty: true)
            var material: MaterialRecord?
            if let materialId {
                guard kind != .labour else { throw RecordBody.invalid("materialId", "a labour line names no material") }
                material = try gateway.store { () throws(StoreError) in try gateway.records.materials.get(accountId: accountId, id: materialId) }
                guard material != nil else { throw RecordBody.invalid("materialId", "no material with id \(materialId.prefix(100))") }
            } else if kind == .material {
                throw RecordBody.invalid("materialId", "is required on a material line")
            }
            let description = try body.string("description", max: 4000) ?? ""
            guard let quantity = try body.money("quantity") else { throw RecordBody.invalid("quantity", "is required") }
            guard quantity > 0, quantity <= maxQuantity else { throw RecordBody.invalid("quantity", "must be more than 0 and at most 999999.9999") }
            let price = try body.money("unitPrice")
            try body.rejectOthers(readOnly: [])
            if let material {
                return .material(material.id, description.isEmpty ? material.name : description, quantity: quantity,
                                 unitPrice: price ?? material.unitPrice)
            }
            guard !description.isEmpty else { throw RecordBody.invalid("description", "is required on a labour line") }
            guard let price else { throw RecordBody.invalid("unitPrice", "is required on a labour line") }
            return .labour(description, quantity: quantity, unitPrice: price)
        } catch {
            throw prefixed(error, path)
        }
    }

    /// The error with its field named within the lines (`lines[2].quantity: …`).
    static func prefixed(_ error: HTTPError, _ path: String) -> HTTPError {
        guard error.code == "invalid_field" else { return error }
        return HTTPError(error.status, code: error.code, message: "\(path).\(error.message)")
    }

    var json: JSON {
        func str(_ s: String?) -> JSON { s.map(JSON.string) ?? .null }
        return .object([
            ("id", .string(id)), ("contactId", .string(contactId)), ("propertyId", str(propertyId)),
            ("status", .string(status.rawValue)), ("completedAt", str(completedAt)),
            ("lines", .array(lines.map { l in
                .object([("kind", .string(l.kind.rawValue)), ("materialId", str(l.materialId)), ("description", .string(l.description)),
                         ("quantity", Money.json(l.quantity)), ("unitPrice", Money.json(l.unitPrice))])
            })),
            ("xeroInvoiceId", str(xeroInvoiceId)), ("xeroInvoiceNumber", str(xeroInvoiceNumber)),
            ("xeroInvoiceStatus", str(xeroInvoiceStatus)), ("archived", .bool(archived)), ("updatedAt", .string(updatedAt)),
            ("version", .number(version)),
        ])
    }
}

extension HTTPError {
    /// R15: an invoiced visit is changed in Xero.
    static func visitInvoiced(_ visit: VisitRecord) -> HTTPError {
        HTTPError(409, code: "invoiced", message: "This visit is invoiced in Xero\(visit.xeroInvoiceNumber.map { " as \($0)" } ?? ""); change the invoice in Xero.")
    }
}
