import HTTPServer
import Store
import StrictJSON

/// `/api/v1/{contacts,properties,materials,jobs,issues}`: list, get, create, patch, archive
/// (DESIGN §3). Admins and staff of an account use them on that account's records only; another
/// account's id is a 404, as an unknown one is. Operators get 403. Nothing here calls Xero (R8).
///
/// A record's answer carries its version as `ETag: "<version>"`; a PATCH or archive with an
/// `If-Match` that is not the current one is a 412 and writes nothing (checked in the write's
/// transaction), without `If-Match` it writes whatever the version.
extension Gateway {
    typealias Route = (method: String, pattern: String, handle: @Sendable (Gateway, Request) throws -> HandlerResult)

    static let recordRoutes: [Route] = [
        ("GET", "/api/v1/contacts", { .respond(try $0.listRecords(ContactRecord.self, $1)) }),
        ("POST", "/api/v1/contacts", { .respond(try $0.createRecord(ContactRecord.self, $1)) }),
        ("GET", "/api/v1/contacts/{id}", { .respond(try $0.getRecord(ContactRecord.self, $1)) }),
        ("PATCH", "/api/v1/contacts/{id}", { .respond(try $0.patchRecord(ContactRecord.self, $1)) }),
        ("POST", "/api/v1/contacts/{id}/archive", { .respond(try $0.archiveRecord(ContactRecord.self, $1)) }),
        ("POST", "/api/v1/contacts/{id}/xero", { try $0.createContactInXero($1) }),
        ("GET", "/api/v1/issues", { .respond(try $0.listRecords(IssueRecord.self, $1)) }),
        ("POST", "/api/v1/issues", { .respond(try $0.createRecord(IssueRecord.self, $1)) }),
        ("GET", "/api/v1/issues/{id}", { .respond(try $0.getRecord(IssueRecord.self, $1)) }),
        ("PATCH", "/api/v1/issues/{id}", { .respond(try $0.patchRecord(IssueRecord.self, $1)) }),
        ("POST", "/api/v1/issues/{id}/archive", { .respond(try $0.archiveRecord(IssueRecord.self, $1)) }),
        ("GET", "/api/v1/jobs", { .respond(try $0.listRecords(JobRecord.self, $1)) }),
        ("POST", "/api/v1/jobs", { .respond(try $0.createRecord(JobRecord.self, $1)) }),
        ("GET", "/api/v1/jobs/{id}", { .respond(try $0.getRecord(JobRecord.self, $1)) }),
        ("PATCH", "/api/v1/jobs/{id}", { .respond(try $0.patchRecord(JobRecord.self, $1)) }),
        ("POST", "/api/v1/jobs/{id}/archive", { .respond(try $0.archiveRecord(JobRecord.self, $1)) }),
        ("GET", "/api/v1/materials", { .respond(try $0.listRecords(MaterialRecord.self, $1)) }),
        ("POST", "/api/v1/materials", { .respond(try $0.createRecord(MaterialRecord.self, $1)) }),
        ("GET", "/api/v1/materials/{id}", { .respond(try $0.getRecord(MaterialRecord.self, $1)) }),
        ("PATCH", "/api/v1/materials/{id}", { .respond(try $0.patchRecord(MaterialRecord.self, $1)) }),
        ("POST", "/api/v1/materials/{id}/archive", { .respond(try $0.archiveRecord(MaterialRecord.self, $1)) }),
        ("GET", "/api/v1/properties", { .respond(try $0.listRecords(PropertyRecord.self, $1)) }),
        ("POST", "/api/v1/properties", { .respond(try $0.createRecord(PropertyRecord.self, $1)) }),
        ("GET", "/api/v1/properties/{id}", { .respond(try $0.getRecord(PropertyRecord.self, $1)) }),
        ("PATCH", "/api/v1/properties/{id}", { .respond(try $0.patchRecord(PropertyRecord.self, $1)) }),
        ("POST", "/api/v1/properties/{id}/archive", { .respond(try $0.archiveRecord(PropertyRecord.self, $1)) }),
    ]

    /// `GET /api/v1/{kind}?archived=true|false&limit=&cursor=`: oldest first; without
    /// `archived`, archived and active records both.
    func listRecords<R: APIRecord>(_ type: R.Type, _ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        var archived: Bool?
        if let a = request.queryValue("archived") {
            switch a {
            case "true": archived = true
            case "false": archived = false
            default: throw HTTPError(400, code: "invalid_archived", message: "archived must be true or false")
            }
        }
        let page = try Page(request)
        let query = RecordQuery(accountId: accountId, archived: archived, limit: page.limit, cursor: page.after.map { String($0) })
        let result = try store { () throws(StoreError) in try R.repository(records).list(query) }
        return .json(200, .object([
            ("items", .array(try R.render(result.items, self))),
            ("nextCursor", result.nextCursor.map(JSON.string) ?? .null),
        ]))
    }

    /// `GET /api/v1/{kind}/{id}`.
    func getRecord<R: APIRecord>(_ type: R.Type, _ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        return try rendered(try existing(R.self, accountId: accountId, request), 200)
    }

    /// `POST /api/v1/{kind}` → 201 with the record.
    func createRecord<R: APIRecord>(_ type: R.Type, _ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        var body = try RecordBody(request)
        let record = try R.create(accountId: accountId, &body, self)
        try body.rejectOthers(readOnly: R.readOnlyFields)
        let stored = try store { () throws(StoreError) in try R.repository(records).insert(record) }
        return try rendered(stored, 201)
    }

    /// `PATCH /api/v1/{kind}/{id}`: the fields given, no others; a linked material is 409 (R13).
    func patchRecord<R: APIRecord>(_ type: R.Type, _ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        var record = try existing(R.self, accountId: accountId, request)
        if let m = record as? MaterialRecord, m.readOnly { throw HTTPError.managedInXero }
        let expected = try IfMatch.parse(request)?.expectedVersion(current: record.version)
        var body = try RecordBody(request)
        let given = body
        try record.patch(&body, self)
        try body.rejectOthers(readOnly: R.readOnlyFields)
        // The fields given are applied to the record as stored at the write, in one transaction,
        // so a sync or another edit in between is not undone.
        let gateway = self
        let stored = try store { () throws(StoreError) in
            try R.repository(records).modify(accountId: accountId, id: record.id, expectedVersion: expected) { (current: inout R) throws(StoreError) in
                var b = given
                do { try current.patch(&b, gateway) } catch {
                    throw StoreError(code: .conflict, message: "the record changed while it was being edited")
                }
            }
        }
        if let c = stored as? ContactRecord, c.xeroContactId != nil { syncEngine.contactEdited(accountId: accountId) }
        return try rendered(stored, 200)
    }

    /// `POST /api/v1/{kind}/{id}/archive` → 200 with the archived record; a contact's properties
    /// are archived with it. Local only: Xero is never told (R8). Archiving a linked material is fine.
    /// Archiving a record archived already writes nothing (a contact's is written again, for
    /// properties added since).
    func archiveRecord<R: APIRecord>(_ type: R.Type, _ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        let record = try existing(R.self, accountId: accountId, request)
        let expected = try IfMatch.parse(request)?.expectedVersion(current: record.version)
        if R.self == ContactRecord.self {
            let archived = try store { () throws(StoreError) in
                try records.archiveContact(accountId: accountId, id: record.id, expectedVersion: expected)
            }
            return try rendered(archived, 200)
        }
        guard !record.archived else { return try rendered(record, 200) }
        let stored = try store { () throws(StoreError) in
            try R.repository(records).modify(accountId: accountId, id: record.id, expectedVersion: expected) { $0.archived = true }
        }
        return try rendered(stored, 200)
    }

    // MARK: helpers

    /// The caller's account: admins and staff only (401/403 otherwise).
    func recordsAccount(_ request: Request) throws(HTTPError) -> String {
        let user = try authorize(request, .staff)
        guard let accountId = user.accountId else {
            throw HTTPError(403, code: "forbidden", message: "operators see no account's records")
        }
        return accountId
    }

    /// The record the path names, in the caller's account, or 404.
    func existing<R: APIRecord>(_ type: R.Type, accountId: String, _ request: Request) throws(HTTPError) -> R {
        let id = request.pathParameter("id") ?? ""
        guard id.utf8.count <= 100,
              let record = try store({ () throws(StoreError) in try R.repository(records).get(accountId: accountId, id: id) }) else {
            throw HTTPError(404, code: "not_found", message: "no \(R.noun) with id \(id.prefix(100))")
        }
        return record
    }

    /// 422 unless the account has the parent record `id` names.
    func requireParent<R: APIRecord>(_ type: R.Type, _ field: String, accountId: String, id: String) throws(HTTPError) {
        let found = id.utf8.count <= 100 ? try store { () throws(StoreError) in try R.repository(records).get(accountId: accountId, id: id) } : nil
        guard found != nil else { throw RecordBody.invalid(field, "no \(R.noun) with id \(id.prefix(100))") }
    }

    /// The record's JSON with its `ETag`.
    func rendered<R: APIRecord>(_ record: R, _ status: Int) throws(HTTPError) -> Response {
        var response = Response.json(status, try R.render([record], self)[0])
        response.headers.add("ETag", ETag.header(record.version))
        return response
    }
}

extension HTTPError {
    /// R13: a material linked to a Xero item is edited in Xero.
    static let managedInXero = HTTPError(409, code: "managed_in_xero",
                                         message: "This material is linked to a Xero item and is managed in Xero; edit it there.")
}
