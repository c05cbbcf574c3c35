import Foundation
import Gateway
import Store
import StrictJSON
import Testing

/// An account's admin and staff tokens on a test gateway, with JSON helpers.
struct RecordsClient {
    let t: TestGateway
    let accountId: String
    let token: String

    init(_ t: TestGateway, name: String = "Acme") throws {
        self.t = t
        let issued = try t.gateway.accounts.createAccount(name: name)
        accountId = issued.accountId!
        token = issued.token
    }

    func call(_ method: String, _ path: String, _ body: String? = nil, token: String? = nil) throws -> (status: Int, json: JSON) {
        var headers = [("Authorization", "Bearer \(token ?? self.token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        let r = try t.request(method, path, headers: headers, body: Array((body ?? "").utf8))
        return (r.status, r.body.isEmpty ? .null : try JSON.parse(r.body))
    }

    /// Creates a record; its id.
    func create(_ kind: String, _ body: String) throws -> String {
        let r = try call("POST", "/api/v1/\(kind)", body)
        #expect(r.status == 201, "\(kind) \(body): \(r.json.serialized)")
        return try #require(r.json["id"]?.stringValue)
    }

    /// Every item of a list, following cursors.
    func all(_ kind: String, query: String = "", limit: Int = 2) throws -> [JSON] {
        var items: [JSON] = []
        var cursor: String?
        repeat {
            var path = "/api/v1/\(kind)?limit=\(limit)" + (query.isEmpty ? "" : "&\(query)")
            if let cursor { path += "&cursor=\(cursor)" }
            let r = try call("GET", path)
            #expect(r.status == 200)
            items += r.json["items"]?.arrayValue ?? []
            cursor = r.json["nextCursor"]?.stringValue
        } while cursor != nil
        return items
    }
}

func errorCode(_ json: JSON) -> String? { json["error"]?["code"]?.stringValue }
func errorMessage(_ json: JSON) -> String { json["error"]?["message"]?.stringValue ?? "" }

@Suite struct RecordsAPITests {
    @Test func contactsAreCreatedReadPatchedAndShownWithTheirProperties() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let created = try c.call("POST", "/api/v1/contacts", #"{"name":"  Ann Smith ","email":"ann@example.com","phone":"555 1234"}"#)
        #expect(created.status == 201)
        let id = try #require(created.json["id"]?.stringValue)
        #expect(created.json["name"]?.stringValue == "Ann Smith")
        #expect(created.json["companyName"]?.stringValue == "")
        #expect(created.json["syncState"]?.stringValue == "unlinked")
        #expect(created.json["xeroContactId"]?.isNull == true)
        #expect(created.json["archived"]?.boolValue == false)
        #expect(created.json["properties"]?.arrayValue == [])
        #expect(created.json["conflicts"]?.arrayValue == [])
        #expect(created.json["updatedAt"]?.stringValue?.hasSuffix("Z") == true)
        let keys = Set(created.json.objectKeys)
        #expect(keys == ["id", "name", "companyName", "email", "phone", "archived", "xeroContactId", "syncState", "properties",
                         "updatedAt", "conflicts", "version"])

        let pid = try c.create("properties", #"{"contactId":"\#(id)","addressLine1":"1 Main St","city":"Wellington","postalCode":"6011"}"#)
        let property = try c.call("GET", "/api/v1/properties/\(pid)")
        #expect(property.status == 200)
        #expect(property.json["source"]?.stringValue == "manual" && property.json["city"]?.stringValue == "Wellington")
        #expect(Set(property.json.objectKeys) == ["id", "contactId", "addressLine1", "addressLine2", "addressLine3", "addressLine4",
                                                  "city", "region", "postalCode", "country", "source", "archived", "version"])

        let patched = try c.call("PATCH", "/api/v1/contacts/\(id)", #"{"companyName":"Ann's Gardens"}"#)
        #expect(patched.status == 200)
        #expect(patched.json["companyName"]?.stringValue == "Ann's Gardens" && patched.json["email"]?.stringValue == "ann@example.com")
        let got = try c.call("GET", "/api/v1/contacts/\(id)")
        #expect(got.json["properties"]?.arrayValue?.map { $0["id"]?.stringValue } == [pid])
        #expect(try c.all("contacts").first?["properties"]?.arrayValue?.count == 1)
    }

    @Test func jobsAndIssuesBelongToAPropertyAndTakeOnlyTheirStatuses() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let contact = try c.create("contacts", #"{"name":"Ann"}"#)
        let property = try c.create("properties", #"{"contactId":"\#(contact)"}"#)
        let job = try c.call("POST", "/api/v1/jobs", #"{"propertyId":"\#(property)","title":"Prune roses"}"#)
        #expect(job.status == 201 && job.json["status"]?.stringValue == "pending")
        #expect(Set(job.json.objectKeys) == ["id", "propertyId", "title", "status", "archived", "version"])
        let issue = try c.call("POST", "/api/v1/issues", #"{"propertyId":"\#(property)","title":"Leak","status":"open"}"#)
        #expect(issue.status == 201 && issue.json["status"]?.stringValue == "open")
        let jobId = try #require(job.json["id"]?.stringValue)
        #expect(try c.call("PATCH", "/api/v1/jobs/\(jobId)", #"{"status":"done"}"#).json["status"]?.stringValue == "done")
        let bad = try c.call("PATCH", "/api/v1/jobs/\(jobId)", #"{"status":"resolved"}"#)
        #expect(bad.status == 422 && errorCode(bad.json) == "invalid_field" && errorMessage(bad.json).hasPrefix("status: "))
        let issueId = try #require(issue.json["id"]?.stringValue)
        #expect(try c.call("PATCH", "/api/v1/issues/\(issueId)", #"{"status":"resolved","title":"Leak fixed"}"#).json["title"]?.stringValue == "Leak fixed")
        #expect(try c.call("PATCH", "/api/v1/issues/\(issueId)", #"{"status":"done"}"#).status == 422)
    }

    @Test func materialPricesAreExactToFourDecimals() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let m = try c.call("POST", "/api/v1/materials", #"{"name":"Mulch","code":"MU","unitPrice":12.3456}"#)
        #expect(m.status == 201)
        #expect(m.json["unitPrice"]?.doubleValue == 12.3456 && m.json["readOnly"]?.boolValue == false)
        #expect(m.json.serialized.contains(#""unitPrice":12.3456"#))
        let id = try #require(m.json["id"]?.stringValue)
        #expect(try t.gateway.records.materials.get(accountId: c.accountId, id: id)?.unitPrice == 123_456)
        let described = try c.call("PATCH", "/api/v1/materials/\(id)", #"{"description":"Bark mulch\nper m³"}"#)
        #expect(described.json["description"]?.stringValue == "Bark mulch\nper m³")
        for (price, units) in [("0", 0), ("1e2", 1_000_000), ("0.10", 1_000), ("99999999999.9999", 999_999_999_999_999 as Int64)] as [(String, Int64)] {
            let r = try c.call("PATCH", "/api/v1/materials/\(id)", #"{"unitPrice":\#(price)}"#)
            #expect(r.status == 200, "\(price)")
            #expect(try t.gateway.records.materials.get(accountId: c.accountId, id: id)?.unitPrice == units)
        }
        for bad in ["1.23456", "-1", "\"12\"", "null", "100000000000", "1e400"] {
            let r = try c.call("PATCH", "/api/v1/materials/\(id)", #"{"unitPrice":\#(bad)}"#)
            #expect(r.status == (bad == "1e400" ? 400 : 422), "\(bad)")
            if r.status == 422 { #expect(errorMessage(r.json).hasPrefix("unitPrice: "), "\(bad)") }
        }
    }

    @Test func r13_patchOfALinkedMaterialIs409AndArchivingItIsAllowed() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let id = try c.create("materials", #"{"name":"Gravel","unitPrice":5}"#)
        var m = try #require(try t.gateway.records.materials.get(accountId: c.accountId, id: id))
        m.xeroItemId = "item-1"
        _ = try t.gateway.sync.apply(ImportBatch(accountId: c.accountId, linkedMaterials: [m]))  // as the sync links it
        // An edit read before the link cannot undo it or change Xero's values (R13), even straight at the store.
        var stale = m
        stale.xeroItemId = nil
        stale.name = "Stale"
        let kept = try t.gateway.records.materials.update(stale)
        #expect(kept.xeroItemId == "item-1" && kept.name == "Gravel")
        let shown = try c.call("GET", "/api/v1/materials/\(id)")
        #expect(shown.json["readOnly"]?.boolValue == true && shown.json["xeroItemId"]?.stringValue == "item-1")
        let r = try c.call("PATCH", "/api/v1/materials/\(id)", #"{"name":"Gravel (fine)"}"#)
        #expect(r.status == 409)
        #expect(errorCode(r.json) == "managed_in_xero")
        #expect(errorMessage(r.json) == "This material is linked to a Xero item and is managed in Xero; edit it there.")
        #expect(try t.gateway.records.materials.get(accountId: c.accountId, id: id)?.name == "Gravel")
        let archived = try c.call("POST", "/api/v1/materials/\(id)/archive")
        #expect(archived.status == 200 && archived.json["archived"]?.boolValue == true)
    }

    @Test func r8_archivingAContactArchivesItsPropertiesLocallyOnly() throws {
        // The gateway has no Xero connection here: an archive that tried to reach Xero would fail.
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let ann = try c.create("contacts", #"{"name":"Ann"}"#), bob = try c.create("contacts", #"{"name":"Bob"}"#)
        let p1 = try c.create("properties", #"{"contactId":"\#(ann)","addressLine1":"1 Ann St"}"#)
        let p2 = try c.create("properties", #"{"contactId":"\#(bob)","addressLine1":"1 Bob St"}"#)
        let r = try c.call("POST", "/api/v1/contacts/\(ann)/archive")
        #expect(r.status == 200 && r.json["archived"]?.boolValue == true)
        #expect(r.json["properties"]?.arrayValue?.first?["archived"]?.boolValue == true)
        #expect(try c.call("GET", "/api/v1/properties/\(p1)").json["archived"]?.boolValue == true)
        #expect(try c.call("GET", "/api/v1/properties/\(p2)").json["archived"]?.boolValue == false)
        #expect(try c.all("contacts", query: "archived=false").map { $0["id"]?.stringValue } == [bob])
        #expect(try c.all("contacts", query: "archived=true").map { $0["id"]?.stringValue } == [ann])
        #expect(try t.gateway.sync.runs(accountId: c.accountId, limit: 10, cursor: nil).items.isEmpty)
        // Archiving again is harmless.
        #expect(try c.call("POST", "/api/v1/contacts/\(ann)/archive").status == 200)
    }

    @Test func listsArePagedOldestFirstWithACursor() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        var ids: [String] = []
        for i in 0..<5 { ids.append(try c.create("materials", #"{"name":"M\#(i)"}"#)) }
        _ = try c.call("POST", "/api/v1/materials/\(ids[2])/archive")
        #expect(try c.all("materials").map { $0["id"]?.stringValue } == ids)
        #expect(try c.all("materials", query: "archived=false").map { $0["id"]?.stringValue } == ids.enumerated().filter { $0.offset != 2 }.map(\.element))
        let last = try c.call("GET", "/api/v1/materials?limit=5")
        #expect(last.json["nextCursor"]?.isNull == true && last.json["items"]?.arrayValue?.count == 5)
        for q in ["archived=yes", "limit=0", "limit=501", "cursor=abc", "cursor=-3"] {
            let r = try c.call("GET", "/api/v1/materials?\(q)")
            #expect(r.status == 400, "\(q)")
        }
    }

    @Test func validationFailuresAre422NamingTheField() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let contact = try c.create("contacts", #"{"name":"Ann"}"#)
        let long = String(repeating: "x", count: 256)
        let cases: [(String, String, String)] = [
            ("contacts", #"{}"#, "name"),
            ("contacts", #"{"name":"   "}"#, "name"),
            ("contacts", #"{"name":"\#(long)"}"#, "name"),
            ("contacts", #"{"name":"Ann","email":"not an email"}"#, "email"),
            ("contacts", #"{"name":"Ann","nickname":"A"}"#, "nickname"),
            ("contacts", #"{"name":"Ann","syncState":"linked"}"#, "syncState"),
            ("contacts", #"{"name":7}"#, "name"),
            ("contacts", #"{"name":"Ann\u0000Evil"}"#, "name"),
            ("materials", #"{"name":"M","description":"a\u0000b"}"#, "description"),
            ("properties", #"{"addressLine1":"1 Main St"}"#, "contactId"),
            ("properties", #"{"contactId":"no-such-contact"}"#, "contactId"),
            ("properties", #"{"contactId":"\#(contact)","addressLine2":"\#(long)"}"#, "addressLine2"),
            ("properties", #"{"contactId":"\#(contact)","source":"xero_billing"}"#, "source"),
            ("materials", #"{"unitPrice":1}"#, "name"),
            ("materials", #"{"name":"M","xeroItemId":"i"}"#, "xeroItemId"),
            ("jobs", #"{"title":"T"}"#, "propertyId"),
            ("jobs", #"{"propertyId":"no-such-property","title":"T"}"#, "propertyId"),
            ("issues", #"{"propertyId":"x"}"#, "propertyId"),
        ]
        for (kind, body, field) in cases {
            let r = try c.call("POST", "/api/v1/\(kind)", body)
            #expect(r.status == 422, "\(kind) \(body)")
            #expect(errorCode(r.json) == "invalid_field", "\(kind) \(body)")
            #expect(errorMessage(r.json).hasPrefix("\(field): "), "\(kind) \(body): \(errorMessage(r.json))")
        }
        let property = try c.create("properties", #"{"contactId":"\#(contact)"}"#)
        let job = try c.call("POST", "/api/v1/jobs", #"{"propertyId":"\#(property)"}"#)
        #expect(job.status == 422 && errorMessage(job.json).hasPrefix("title: "))
        let patch = try c.call("PATCH", "/api/v1/contacts/\(contact)", #"{"name":""}"#)
        #expect(patch.status == 422 && errorMessage(patch.json).hasPrefix("name: "))
        #expect(try c.call("PATCH", "/api/v1/contacts/\(contact)", #"{"archived":true}"#).status == 422)
        #expect(try c.call("GET", "/api/v1/contacts/\(contact)").json["name"]?.stringValue == "Ann")
        for bad in ["", "{", "[]", "\"name\"", #"{"name":"A","name":"B"}"#] {
            let r = try c.call("POST", "/api/v1/contacts", bad)
            #expect(r.status == (bad.hasPrefix(#"{"name""#) ? 422 : 400), "\(bad)")
        }
        #expect(try t.gateway.records.contacts.list(RecordQuery(accountId: c.accountId)).items.count == 1)
    }

    @Test func unknownIdsAre404() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        for kind in ["contacts", "properties", "materials", "jobs", "issues"] {
            #expect(try c.call("GET", "/api/v1/\(kind)/no-such-id").status == 404)
            #expect(try c.call("PATCH", "/api/v1/\(kind)/no-such-id", "{}").status == 404)
            let r = try c.call("POST", "/api/v1/\(kind)/no-such-id/archive")
            #expect(r.status == 404 && errorCode(r.json) == "not_found")
        }
    }

    @Test func noTokenReachesAnotherAccountsRecords() throws {
        let t = try TestGateway()
        let a = try RecordsClient(t, name: "A"), b = try RecordsClient(t, name: "B")
        let contact = try a.create("contacts", #"{"name":"Ann"}"#)
        let property = try a.create("properties", #"{"contactId":"\#(contact)"}"#)
        let material = try a.create("materials", #"{"name":"Mulch"}"#)
        let job = try a.create("jobs", #"{"propertyId":"\#(property)","title":"Prune"}"#)
        let issue = try a.create("issues", #"{"propertyId":"\#(property)","title":"Leak"}"#)
        for (kind, id) in [("contacts", contact), ("properties", property), ("materials", material), ("jobs", job), ("issues", issue)] {
            #expect(try b.call("GET", "/api/v1/\(kind)/\(id)").status == 404)
            #expect(try b.call("PATCH", "/api/v1/\(kind)/\(id)", #"{"name":"Mallory"}"#).status == 404)
            #expect(try b.call("POST", "/api/v1/\(kind)/\(id)/archive").status == 404)
            #expect(try b.all(kind).isEmpty)
            #expect(try a.all(kind).count == 1)
        }
        // Nor can B hang its records on A's.
        let stolen = try b.call("POST", "/api/v1/properties", #"{"contactId":"\#(contact)"}"#)
        #expect(stolen.status == 422 && errorMessage(stolen.json).hasPrefix("contactId: "))
        #expect(try b.call("POST", "/api/v1/jobs", #"{"propertyId":"\#(property)","title":"x"}"#).status == 422)
        #expect(try a.call("GET", "/api/v1/contacts/\(contact)").json["archived"]?.boolValue == false)
    }

    @Test func staffUseRecordsOperatorsAndStrangersDoNot() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let staff = try t.gateway.accounts.createUser(accountId: c.accountId, role: .staff).token
        let created = try c.call("POST", "/api/v1/contacts", #"{"name":"By staff"}"#, token: staff)
        #expect(created.status == 201)
        let op = try t.operatorToken()
        for kind in ["contacts", "properties", "materials", "jobs", "issues"] {
            #expect(try t.get("/api/v1/\(kind)", token: nil).status == 401)
            #expect(try t.get("/api/v1/\(kind)", token: "xgw_forged").status == 401)
            let r = try c.call("GET", "/api/v1/\(kind)", token: op)
            #expect(r.status == 403 && errorCode(r.json) == "forbidden")
            #expect(try c.call("POST", "/api/v1/\(kind)", #"{"name":"x"}"#, token: op).status == 403)
            #expect(try c.call("GET", "/api/v1/\(kind)", token: staff).status == 200)
        }
        let id = try #require(created.json["id"]?.stringValue)
        #expect(try c.call("GET", "/api/v1/contacts/\(id)", token: op).status == 403)
        #expect(try c.call("POST", "/api/v1/contacts/\(id)/archive", token: staff).status == 200)
    }
}

extension JSON {
    var objectKeys: [String] { if case .object(let m) = self { return m.map(\.key) } else { return [] } }
}
