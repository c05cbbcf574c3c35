import Foundation
import Gateway
import HTTPClient
import Store
import StrictJSON
import Synchronization
import Testing

/// Edits are never lost (DESIGN §3): a record's answer carries `ETag: "<version>"` and its
/// `version`; a PATCH or archive whose `If-Match` is not the current ETag is a 412 and changes
/// nothing; without `If-Match` they work as before.
@Suite struct RecordVersionAPITests {
    /// A request with headers beside the bearer token; status, JSON and ETag.
    func send(_ c: RecordsClient, _ method: String, _ path: String, _ body: String? = nil,
              ifMatch: [String] = []) throws -> (status: Int, json: JSON, etag: String?) {
        var headers = [("Authorization", "Bearer \(c.token)")]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        headers += ifMatch.map { ("If-Match", $0) }
        let r = try c.t.request(method, path, headers: headers, body: Array((body ?? "").utf8))
        return (r.status, r.body.isEmpty ? .null : try JSON.parse(r.body), r.header("ETag"))
    }

    /// One record of each kind, with a field a PATCH may set: kind, id, patch body, field, value.
    func oneOfEach(_ c: RecordsClient) throws -> [(kind: String, id: String, field: String)] {
        let contact = try c.create("contacts", #"{"name":"Ann"}"#)
        let property = try c.create("properties", #"{"contactId":"\#(contact)"}"#)
        return [("contacts", contact, "name"), ("properties", property, "city"),
                ("materials", try c.create("materials", #"{"name":"Mulch"}"#), "name"),
                ("jobs", try c.create("jobs", #"{"propertyId":"\#(property)","title":"Prune"}"#), "title"),
                ("issues", try c.create("issues", #"{"propertyId":"\#(property)","title":"Leak"}"#), "title")]
    }

    @Test func everyRecordsAnswerCarriesItsVersionAsAStrongETag() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let created = try send(c, "POST", "/api/v1/contacts", #"{"name":"Ann"}"#)
        #expect(created.status == 201 && created.etag == #""1""# && created.json["version"]?.intValue == 1)
        let id = try #require(created.json["id"]?.stringValue)
        _ = try c.create("properties", #"{"contactId":"\#(id)"}"#)
        // Children first: archiving a contact archives its properties, which moves their versions.
        for (kind, id, field) in try oneOfEach(c).reversed() {
            let path = "/api/v1/\(kind)/\(id)"
            let got = try send(c, "GET", path)
            #expect(got.status == 200 && got.etag == #""1""# && got.json["version"]?.intValue == 1, "\(kind)")
            let patched = try send(c, "PATCH", path, #"{"\#(field)":"Changed"}"#)
            #expect(patched.status == 200 && patched.etag == #""2""# && patched.json["version"]?.intValue == 2, "\(kind)")
            #expect(try send(c, "GET", path).etag == #""2""#, "\(kind)")
            let archived = try send(c, "POST", path + "/archive")
            #expect(archived.status == 200 && archived.etag == #""3""# && archived.json["version"]?.intValue == 3, "\(kind)")
            // Archiving again writes nothing (a contact's archive is written again, for properties added since).
            let again = try send(c, "POST", path + "/archive")
            #expect(again.status == 200 && again.etag == (kind == "contacts" ? #""4""# : #""3""#), "\(kind)")
            // A body may not set the version.
            let r = try send(c, "PATCH", path, #"{"version":7}"#)
            #expect(r.status == 422 && errorMessage(r.json) == "version: is read-only", "\(kind)")
        }
        // A list shows each item's version and has no ETag of its own.
        let list = try send(c, "GET", "/api/v1/contacts")
        #expect(list.etag == nil && list.json["items"]?.arrayValue?.compactMap { $0["version"]?.intValue } == [1, 4])
        // A write of the sync moves the version the API shows.
        _ = try t.gateway.syncState.linkContact(accountId: c.accountId, contactId: id, xeroContactId: "x-ann",
                                                fields: ContactFields(name: "Ann"), base: ContactFields(name: "Ann"), expectedVersion: nil)
        #expect(try send(c, "GET", "/api/v1/contacts/\(id)").etag == #""2""#)
    }

    @Test func aStaleIfMatchIs412AndChangesNothing() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        for (kind, id, field) in try oneOfEach(c) {
            let path = "/api/v1/\(kind)/\(id)"
            #expect(try send(c, "PATCH", path, #"{"\#(field)":"First"}"#).etag == #""2""#)  // someone else's edit
            let before = try send(c, "GET", path)
            for stale in [#""1""#, #""3""#, #"W/"2""#, #""abc""#, #""1", "3""#] {
                let r = try send(c, "PATCH", path, #"{"\#(field)":"Lost"}"#, ifMatch: [stale])
                #expect(r.status == 412 && errorCode(r.json) == "precondition_failed", "\(kind) \(stale)")
                let a = try send(c, "POST", path + "/archive", ifMatch: [stale])
                #expect(a.status == 412 && errorCode(a.json) == "precondition_failed", "\(kind) \(stale)")
            }
            // Even a stale PATCH with a bad body is a 412: the precondition comes before the body.
            #expect(try send(c, "PATCH", path, #"{"nope":1}"#, ifMatch: [#""1""#]).status == 412)
            let after = try send(c, "GET", path)
            #expect(after.json == before.json && after.etag == #""2""#, "\(kind)")
            #expect(after.json["archived"]?.boolValue == false)
            if kind == "contacts" {
                let properties = try c.all("properties")
                #expect(properties.allSatisfy { $0["archived"]?.boolValue == false && $0["version"]?.intValue == 1 })
            }
        }
    }

    @Test func theCurrentIfMatchWritesAndMovesTheETag() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        for (kind, id, field) in try oneOfEach(c).reversed() {
            let path = "/api/v1/\(kind)/\(id)"
            let patched = try send(c, "PATCH", path, #"{"\#(field)":"Mine"}"#, ifMatch: [#""1""#])
            #expect(patched.status == 200 && patched.etag == #""2""# && patched.json[field]?.stringValue == "Mine", "\(kind)")
            // A list naming the current tag among others, and `*` (any version of a record that exists).
            #expect(try send(c, "PATCH", path, #"{"\#(field)":"Again"}"#, ifMatch: [#""9", "2""#]).etag == #""3""#, "\(kind)")
            #expect(try send(c, "PATCH", path, #"{"\#(field)":"Star"}"#, ifMatch: ["*"]).etag == #""4""#, "\(kind)")
            #expect(try send(c, "PATCH", path, "{}", ifMatch: [#""7""#, #""4""#]).etag == #""5""#, "\(kind)")  // two fields: one list
            let archived = try send(c, "POST", path + "/archive", ifMatch: [#""5""#])
            #expect(archived.status == 200 && archived.etag == #""6""# && archived.json["archived"]?.boolValue == true, "\(kind)")
            // Archived already: the current tag answers 200 without a write, a stale one 412.
            #expect(try send(c, "POST", path + "/archive", ifMatch: [#""6""#]).status == 200)
            #expect(try send(c, "POST", path + "/archive", ifMatch: [#""5""#]).status == 412)
            #expect(try send(c, "PATCH", "/api/v1/\(kind)/no-such-id", "{}", ifMatch: [#""1""#]).status == 404)
        }
    }

    @Test func aMalformedIfMatchIs400AndChangesNothing() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let id = try c.create("contacts", #"{"name":"Ann"}"#)
        for bad in ["1", #""1"#, #"W/1"#, "*, \"1\"", #""1" "2""#, "\"a\"b\""] {
            let r = try send(c, "PATCH", "/api/v1/contacts/\(id)", #"{"name":"Bad"}"#, ifMatch: [bad])
            #expect(r.status == 400 && errorCode(r.json) == "invalid_if_match", "\(bad)")
            #expect(try send(c, "POST", "/api/v1/contacts/\(id)/archive", ifMatch: [bad]).status == 400, "\(bad)")
        }
        let got = try send(c, "GET", "/api/v1/contacts/\(id)")
        #expect(got.json["name"]?.stringValue == "Ann" && got.json["archived"]?.boolValue == false && got.etag == #""1""#)
    }

    /// A write of the sync between a person's read and their edit: the edit with the ETag read is refused.
    @Test func anEditReadBeforeASyncWriteIs412() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let id = try c.create("contacts", #"{"name":"Ann"}"#)
        let read = try send(c, "GET", "/api/v1/contacts/\(id)")
        _ = try t.gateway.syncState.linkContact(accountId: c.accountId, contactId: id, xeroContactId: "x-ann",
                                                fields: ContactFields(name: "Ann (Xero)"), base: ContactFields(name: "Ann (Xero)"), expectedVersion: nil)
        let r = try send(c, "PATCH", "/api/v1/contacts/\(id)", #"{"name":"Ann (person)"}"#, ifMatch: [try #require(read.etag)])
        #expect(r.status == 412)
        #expect(try send(c, "GET", "/api/v1/contacts/\(id)").json["name"]?.stringValue == "Ann (Xero)")
    }

    /// Sends `request` while another edit of the property is under way: `edit` runs inside the
    /// store's `modify` (what a PATCH's write is), which holds the database's writer until the
    /// request has read the property (its 404 and If-Match checks) and waits to write. The
    /// request's status.
    func duringAnotherEdit(_ t: TestGateway, _ c: RecordsClient, _ id: String, expectedVersion: Int64?,
                           _ edit: @escaping @Sendable (inout PropertyRecord) -> Void,
                           _ request: @escaping @Sendable () -> Int) throws -> Int {
        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), done = DispatchGroup()
        let records = t.gateway.records, accountId = c.accountId
        let status = Mutex(0), other = Mutex<Result<PropertyRecord, StoreError>?>(nil)
        // Threads of their own: two blocked on a 2-core machine would starve Dispatch's global queue.
        done.enter()
        Thread.detachNewThread {
            defer { done.leave() }
            do throws(StoreError) {
                let r = try records.properties.modify(accountId: accountId, id: id, expectedVersion: expectedVersion) { p in
                    edit(&p)
                    held.signal()
                    release.wait()
                }
                other.withLock { $0 = .success(r) }
            } catch { other.withLock { $0 = .failure(error) } }
        }
        held.wait()
        done.enter()
        Thread.detachNewThread {
            defer { done.leave() }
            let s = request()
            status.withLock { $0 = s }
        }
        Thread.sleep(forTimeInterval: 0.5)  // the request reads, then waits for the writer
        release.signal()
        done.wait()
        _ = try #require(other.withLock { $0 }).get()
        return status.withLock { $0 }
    }

    /// A PATCH with the If-Match it read, while another edit of that version writes: the version
    /// is checked again in the PATCH's own transaction, so it is a 412 and the other edit stands.
    @Test func ofTwoEditsOfOneVersionOnlyTheFirstWrites() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let contact = try c.create("contacts", #"{"name":"Ann"}"#)
        let id = try c.create("properties", #"{"contactId":"\#(contact)"}"#)
        let status = try duringAnotherEdit(t, c, id, expectedVersion: 1, { $0.city = "First" }) {
            (try? send(c, "PATCH", "/api/v1/properties/\(id)", #"{"city":"Second"}"#, ifMatch: [#""1""#]).status) ?? 0
        }
        #expect(status == 412)
        let got = try send(c, "GET", "/api/v1/properties/\(id)")
        #expect(got.json["city"]?.stringValue == "First" && got.etag == #""2""#)
    }

    /// Two PATCHes of different fields, the second read before the first wrote: each applies its
    /// fields to the record as stored at its write (one transaction), so both survive.
    @Test func twoPatchesOfDifferentFieldsBothSurvive() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let contact = try c.create("contacts", #"{"name":"Ann"}"#)
        let id = try c.create("properties", #"{"contactId":"\#(contact)"}"#)
        let status = try duringAnotherEdit(t, c, id, expectedVersion: nil, { $0.city = "Wellington" }) {
            (try? send(c, "PATCH", "/api/v1/properties/\(id)", #"{"addressLine1":"1 Main St"}"#).status) ?? 0
        }
        #expect(status == 200)
        let got = try send(c, "GET", "/api/v1/properties/\(id)")
        #expect(got.json["addressLine1"]?.stringValue == "1 Main St" && got.json["city"]?.stringValue == "Wellington")
        #expect(got.etag == #""3""#)
    }
}
