import HTTPServer
import Store
import StrictJSON

/// A kind of SortScape record as `/api/v1` serves it: its repository, its JSON shape
/// (DESIGN §3) and how a create or patch body sets its fields.
protocol APIRecord: Sendable {
    /// The path segment: `contacts`, `properties`, …
    static var kind: String { get }
    /// For messages: `contact`, `property`, …
    static var noun: String { get }
    /// Fields the API shows but no body may set.
    static var readOnlyFields: [String] { get }
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<Self>
    /// A new record of the account from a create body.
    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> Self
    /// This record with a patch body's fields.
    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError)
    /// The JSON of these records of one account.
    static func render(_ items: [Self], _ gateway: Gateway) throws(HTTPError) -> [JSON]

    var id: String { get }
    var archived: Bool { get set }
    /// The `ETag`, and the record's `version` field.
    var version: Int64 { get }
}

extension ContactRecord: APIRecord {
    static let kind = "contacts"
    static let noun = "contact"
    static let readOnlyFields = ["id", "archived", "xeroContactId", "syncState", "properties", "updatedAt", "conflicts", "version"]
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<ContactRecord> { records.contacts }

    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> ContactRecord {
        var c = ContactRecord(id: "", accountId: accountId, name: try body.string("name", required: true) ?? "")
        try c.setOptional(&body)
        return c
    }

    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if let name = try body.string("name", nonEmpty: true) { self.name = name }
        try setOptional(&body)
    }

    private mutating func setOptional(_ body: inout RecordBody) throws(HTTPError) {
        if let v = try body.string("companyName") { companyName = v }
        if let v = try body.string("email") {
            guard v.isEmpty || (v.contains("@") && !v.contains(where: \.isWhitespace)) else {
                throw RecordBody.invalid("email", "must be an email address")
            }
            email = v
        }
        if let v = try body.string("phone") { phone = v }
    }

    static func render(_ items: [ContactRecord], _ gateway: Gateway) throws(HTTPError) -> [JSON] {
        guard let accountId = items.first?.accountId else { return [] }
        let properties = try gateway.store { () throws(StoreError) in
            try gateway.records.properties(accountId: accountId, contactIds: items.map(\.id))
        }
        let byContact = Dictionary(grouping: properties, by: \.contactId)
        let conflicts = try gateway.store { () throws(StoreError) in
            try gateway.syncState.conflicts(accountId: accountId, contactIds: items.map(\.id))
        }
        return items.map { $0.json(properties: byContact[$0.id] ?? [], conflicts: conflicts[$0.id] ?? []) }
    }

    func json(properties: [PropertyRecord], conflicts: [ContactConflict] = []) -> JSON {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("companyName", .string(companyName)), ("email", .string(email)),
            ("phone", .string(phone)), ("archived", .bool(archived)), ("xeroContactId", xeroContactId.map(JSON.string) ?? .null),
            ("syncState", .string(syncState.rawValue)), ("properties", .array(properties.map(\.json))),
            ("updatedAt", .string(updatedAt)), ("version", .number(version)),
            ("conflicts", .array(conflicts.prefix(20).map { k in
                .object([("field", .string(k.field)), ("sortscape", .string(k.sortscape)), ("xero", .string(k.xero)),
                         ("kept", .string(k.kept)), ("at", .string(k.at))])
            })),
        ])
    }
}

extension PropertyRecord: APIRecord {
    static let kind = "properties"
    static let noun = "property"
    static let readOnlyFields = ["id", "archived", "source", "version"]
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<PropertyRecord> { records.properties }
    static func render(_ items: [PropertyRecord], _ gateway: Gateway) throws(HTTPError) -> [JSON] { items.map(\.json) }
    static var lines: [(field: String, path: WritableKeyPath<PropertyRecord, String>)] {[
        ("addressLine1", \.addressLine1), ("addressLine2", \.addressLine2), ("addressLine3", \.addressLine3),
        ("addressLine4", \.addressLine4), ("city", \.city), ("region", \.region), ("postalCode", \.postalCode), ("country", \.country),
    ]}

    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> PropertyRecord {
        let contactId = try body.string("contactId", required: true) ?? ""
        try gateway.requireParent(ContactRecord.self, "contactId", accountId: accountId, id: contactId)
        var p = PropertyRecord(id: "", accountId: accountId, contactId: contactId, source: .manual)
        try p.setLines(&body)
        return p
    }

    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if let contactId = try body.string("contactId", nonEmpty: true) {
            try gateway.requireParent(ContactRecord.self, "contactId", accountId: accountId, id: contactId)
            self.contactId = contactId
        }
        try setLines(&body)
    }

    private mutating func setLines(_ body: inout RecordBody) throws(HTTPError) {
        for (field, path) in Self.lines {
            if let v = try body.string(field) { self[keyPath: path] = v }
        }
    }

    var json: JSON {
        .object([("id", .string(id)), ("contactId", .string(contactId))]
                + Self.lines.map { ($0.field, JSON.string(self[keyPath: $0.path])) }
                + [("source", .string(source.rawValue)), ("archived", .bool(archived)), ("version", .number(version))])
    }
}

extension MaterialRecord: APIRecord {
    static let kind = "materials"
    static let noun = "material"
    static let readOnlyFields = ["id", "archived", "xeroItemId", "readOnly", "version"]
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<MaterialRecord> { records.materials }
    static func render(_ items: [MaterialRecord], _ gateway: Gateway) throws(HTTPError) -> [JSON] { items.map(\.json) }

    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> MaterialRecord {
        var m = MaterialRecord(id: "", accountId: accountId, name: try body.string("name", required: true) ?? "")
        try m.setOptional(&body)
        return m
    }

    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if let name = try body.string("name", nonEmpty: true) { self.name = name }
        try setOptional(&body)
    }

    private mutating func setOptional(_ body: inout RecordBody) throws(HTTPError) {
        if let v = try body.string("code") { code = v }
        if let v = try body.string("description", max: 4000) { description = v }
        if let v = try body.money("unitPrice") { unitPrice = v }
    }

    var json: JSON {
        .object([
            ("id", .string(id)), ("name", .string(name)), ("code", .string(code)), ("description", .string(description)),
            ("unitPrice", Money.json(unitPrice)), ("xeroItemId", xeroItemId.map(JSON.string) ?? .null),
            ("readOnly", .bool(readOnly)), ("archived", .bool(archived)), ("version", .number(version)),
        ])
    }
}

/// Jobs and issues: a titled record of a property, with a status.
protocol PropertyTask: APIRecord {
    associatedtype Status: RawRepresentable & CaseIterable where Status.RawValue == String
    init(id: String, accountId: String, propertyId: String, title: String, status: Status, archived: Bool,
         createdAt: String, updatedAt: String)
    var accountId: String { get }
    var propertyId: String { get set }
    var title: String { get set }
    var status: Status { get set }
    static var initialStatus: Status { get }
}

extension PropertyTask {
    static var readOnlyFields: [String] { ["id", "archived", "version"] }
    static func render(_ items: [Self], _ gateway: Gateway) throws(HTTPError) -> [JSON] { items.map(\.json) }

    static func create(accountId: String, _ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) -> Self {
        let propertyId = try body.string("propertyId", required: true) ?? ""
        try gateway.requireParent(PropertyRecord.self, "propertyId", accountId: accountId, id: propertyId)
        let title = try body.string("title", required: true) ?? ""
        return Self(id: "", accountId: accountId, propertyId: propertyId, title: title,
                    status: try body.choice("status", Status.self) ?? initialStatus, archived: false, createdAt: "", updatedAt: "")
    }

    mutating func patch(_ body: inout RecordBody, _ gateway: Gateway) throws(HTTPError) {
        if let propertyId = try body.string("propertyId", nonEmpty: true) {
            try gateway.requireParent(PropertyRecord.self, "propertyId", accountId: accountId, id: propertyId)
            self.propertyId = propertyId
        }
        if let title = try body.string("title", nonEmpty: true) { self.title = title }
        if let status = try body.choice("status", Status.self) { self.status = status }
    }

    var json: JSON {
        .object([("id", .string(id)), ("propertyId", .string(propertyId)), ("title", .string(title)),
                 ("status", .string(status.rawValue)), ("archived", .bool(archived)), ("version", .number(version))])
    }
}

extension JobRecord: PropertyTask {
    static let kind = "jobs"
    static let noun = "job"
    static let initialStatus = JobStatus.pending
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<JobRecord> { records.jobs }
}

extension IssueRecord: PropertyTask {
    static let kind = "issues"
    static let noun = "issue"
    static let initialStatus = IssueStatus.open
    static func repository(_ records: any SortScapeRecords) -> any RecordRepository<IssueRecord> { records.issues }
}
