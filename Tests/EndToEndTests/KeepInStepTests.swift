import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Testing

/// Keeping both sides in step end to end: the gateway's sync engine against xero-sim over real
/// HTTP, the simulator's signed webhooks going to the gateway (R8–R11, R13, R16, R17).
@Suite(.serialized) struct KeepInStepTests {
    let f = FirstSyncTests()

    static let seed = #"""
    {"webhooks": false, "Contacts": [
      {"Name": "Kauri Landscapes", "IsCustomer": true, "EmailAddress": "office@kauri.nz",
       "Phones": [{"PhoneType": "DEFAULT", "PhoneCountryCode": "64", "PhoneAreaCode": "9", "PhoneNumber": "300 1000"}],
       "Addresses": [{"AddressType": "STREET", "AddressLine1": "1 Kauri Rd", "City": "Auckland"}]},
      {"Name": "Rata Gardens", "IsCustomer": true, "EmailAddress": "hello@rata.nz",
       "Addresses": [{"AddressType": "STREET", "AddressLine1": "2 Rata St", "City": "Wellington"}]},
      {"Name": "Pohutukawa Supplies", "IsCustomer": false, "IsSupplier": true}
    ]}
    """#

    /// A connected account with the seed imported, the simulator's webhooks going to the gateway.
    func connected(_ extra: [String: String] = [:], backend: StoreBackend = .sqlite) throws -> (ConnectPair, admin: String, tenant: String) {
        var env = ["SYNC_PUSH_DEBOUNCE_MS": "100"]
        env.merge(extra) { $1 }
        let p = try ConnectPair(extra: env, realSync: true, backend: backend)
        let (_, admin, tenant) = try f.connectedAndSynced(p, seed: { t in
            try p.sim("POST", "/sim/organisations/\(t)/contacts", Self.seed)
            try p.sim("POST", "/sim/organisations/\(t)/items",
                      #"{"Items": [{"Code": "MULCH", "Name": "Bark Mulch", "SalesDetails": {"UnitPrice": 12.5}}]}"#)
        })
        p.simulator.setWebhookURL(p.base + "/webhooks/xero")
        try p.sim("POST", "/sim/webhooks/config", #"{"batchDelayMs": 20}"#)
        return (p, admin, tenant)
    }

    func contacts(_ p: ConnectPair, _ admin: String) throws -> [JSON] { try f.all(p, admin, "contacts") }

    func contact(_ p: ConnectPair, _ admin: String, named name: String) throws -> JSON {
        try #require(try contacts(p, admin).first { $0["name"]?.stringValue == name }, "no contact \(name)")
    }

    /// Waits until `check` holds (polling), or records a failure after `seconds`.
    func eventually(_ what: String, seconds: Double = 10, _ check: () throws -> Bool) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try check() { return }
            usleep(50_000)
        }
        Issue.record("not within \(seconds) s: \(what)")
    }

    func xeroContact(_ p: ConnectPair, _ tenant: String, _ id: String) throws -> JSON {
        try p.sim("GET", "/sim/organisations/\(tenant)/contacts/\(id)")
    }

    func apiCalls(_ p: ConnectPair, since: Int = 0, method: String? = nil) throws -> [JSON] {
        try p.sim("GET", "/sim/calls?path=/api.xro&limit=10000&since=\(since)" + (method.map { "&method=\($0)" } ?? ""))["calls"]?.arrayValue ?? []
    }

    func lastCallSeq(_ p: ConnectPair) throws -> Int { try p.sim("GET", "/sim/calls?limit=0")["lastSeq"]?.intValue ?? 0 }

    // MARK: - R16

    @Test(arguments: StoreBackend.all)
    func r16_changesMadeInXeroArriveByWebhookAndAreAppliedAtOnce(_ backend: StoreBackend) throws {
        let (p, admin, tenant) = try connected(backend: backend)
        let kauri = try contact(p, admin, named: "Kauri Landscapes")
        let xid = try #require(kauri["xeroContactId"]?.stringValue)
        let before = try lastCallSeq(p)
        // A Xero user changes the email; a new customer is added; a supplier is added.
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "accounts@kauri.nz"}"#)
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts",
                  #"{"webhooks": true, "Contacts": [{"Name": "Kowhai Nursery", "IsCustomer": true}, {"Name": "Totara Timber", "IsSupplier": true, "IsCustomer": false}]}"#)
        try eventually("the Xero change and the new customer in SortScape") {
            let all = try contacts(p, admin)
            return all.contains { $0["name"]?.stringValue == "Kowhai Nursery" }
                && all.contains { $0["name"]?.stringValue == "Kauri Landscapes" && $0["email"]?.stringValue == "accounts@kauri.nz" }
        }
        #expect(try !contacts(p, admin).contains { $0["name"]?.stringValue == "Totara Timber" }, "R5: supplier-only")
        // Events end applied or ignored with why; none stays pending.
        try eventually("no pending events") {
            let pending = try JSON.parse(p.request("GET", "/api/v1/xero/events?status=pending", bearer: admin).body)["items"]?.arrayValue ?? []
            return pending.isEmpty
        }
        let ignored = try JSON.parse(p.request("GET", "/api/v1/xero/events?status=ignored", bearer: admin).body)["items"]?.arrayValue ?? []
        #expect(ignored.contains { ($0["lastError"]?.stringValue ?? "").contains("supplier-only") })
        // Applied with GET Contacts?IDs=…, never a full read.
        let gets = try apiCalls(p, since: before, method: "GET")
        #expect(!gets.isEmpty && gets.allSatisfy { ($0["query"]?.stringValue ?? "").contains("IDs=") }, "\(gets)")
        // A duplicated delivery changes nothing twice.
        let count = try contacts(p, admin).count
        try p.sim("POST", "/sim/faults", #"{"kind":"duplicate","count":2}"#)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "again@kauri.nz"}"#)
        try eventually("the second change") { try contact(p, admin, named: "Kauri Landscapes")["email"]?.stringValue == "again@kauri.nz" }
        #expect(try contacts(p, admin).count == count)
    }

    @Test func r16_aFailedEventRetriesAndCanBeReplayed() throws {
        let (p, admin, tenant) = try connected()
        let rata = try contact(p, admin, named: "Rata Gardens")
        let xid = try #require(rata["xeroContactId"]?.stringValue)
        try p.sim("POST", "/sim/faults", #"{"kind":"503","count":20,"path":"/Contacts"}"#)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "new@rata.nz"}"#)
        var failed: JSON?
        try eventually("a failed event with its error") {
            failed = (try JSON.parse(p.request("GET", "/api/v1/xero/events?status=failed", bearer: admin).body)["items"]?.arrayValue ?? []).first
            return failed != nil
        }
        let event = try #require(failed)
        #expect((event["attempts"]?.intValue ?? 0) >= 1 && event["lastError"]?.stringValue?.isEmpty == false)
        try p.sim("DELETE", "/sim/faults")
        let id = try #require(event["id"]?.stringValue)
        let replay = try p.request("POST", "/api/v1/xero/events/\(id)/replay", bearer: admin)
        #expect(replay.status == 202, "\(replay.text)")
        try eventually("the replayed event applied") { try contact(p, admin, named: "Rata Gardens")["email"]?.stringValue == "new@rata.nz" }
        #expect(try p.request("POST", "/api/v1/xero/events/999999/replay", bearer: admin).status == 404)
    }

    @Test func r16_aFailedEventIsShownOnTheXeroScreenAndReplayedFromIt() throws {
        let (p, admin, tenant) = try connected()
        let xid = try #require(try contact(p, admin, named: "Rata Gardens")["xeroContactId"]?.stringValue)
        try p.sim("POST", "/sim/faults", #"{"kind":"503","count":20,"path":"/Contacts"}"#)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "screen@rata.nz"}"#)
        let cookie = try p.signIn(admin)
        var id: String?
        try eventually("a failed event") {
            id = (try JSON.parse(p.request("GET", "/api/v1/xero/events?status=failed", bearer: admin).body)["items"]?.arrayValue ?? [])
                .first?["id"]?.stringValue
            return id != nil
        }
        let eventId = try #require(id)
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains(#"<section class="card" id="failed-events">"#) && page.contains("contact update"))
        #expect(page.contains(#"action="/admin/xero/events/\#(eventId)/replay""#))
        try p.sim("DELETE", "/sim/faults")
        #expect(try p.form("/admin/xero/events/\(eventId)/replay", cookie: cookie, []).status == 403, "no CSRF token")
        let replay = try p.form("/admin/xero/events/\(eventId)/replay", cookie: cookie, [("csrf", try p.csrf(cookie))])
        #expect(replay.status == 303 && replay.header("Location") == "/admin/xero")
        try eventually("the replayed event applied") { try contact(p, admin, named: "Rata Gardens")["email"]?.stringValue == "screen@rata.nz" }
        #expect(try p.form("/admin/xero/events/999999/replay", cookie: cookie, [("csrf", try p.csrf(cookie))]).status == 404)
    }

    // MARK: - R9

    @Test(arguments: StoreBackend.all)
    func r9_aSortScapeEditReachesXeroWithinSecondsAndKeepsXerosPhoneSplit(_ backend: StoreBackend) throws {
        let (p, admin, tenant) = try connected(backend: backend)
        let kauri = try contact(p, admin, named: "Kauri Landscapes")
        let id = try #require(kauri["id"]?.stringValue), xid = try #require(kauri["xeroContactId"]?.stringValue)
        let r = try p.request("PATCH", "/api/v1/contacts/\(id)", bearer: admin, body: #"{"email": "jobs@kauri.nz"}"#)
        #expect(r.status == 200)
        try eventually("the email in Xero", seconds: 5) { try xeroContact(p, tenant, xid)["EmailAddress"]?.stringValue == "jobs@kauri.nz" }
        // The push run records its end just after Xero answered (and the echo webhook may start
        // another run meanwhile): wait for the push run itself to finish.
        try eventually("the push run recorded as succeeded", seconds: 5) {
            try f.runs(p, admin).contains { $0["trigger"]?.stringValue == "push" && $0["state"]?.stringValue == "succeeded" }
        }
        #expect(try f.runs(p, admin).allSatisfy { $0["state"]?.stringValue != "failed" })
        let x = try xeroContact(p, tenant, xid)
        // Written back unchanged, the phone keeps its split; the name stays.
        let phone = try #require(x["Phones"]?.arrayValue?.first { $0["PhoneType"]?.stringValue == "DEFAULT" })
        #expect(phone["PhoneAreaCode"]?.stringValue == "9" && phone["PhoneCountryCode"]?.stringValue == "64" && phone["PhoneNumber"]?.stringValue == "300 1000")
        #expect(x["Name"]?.stringValue == "Kauri Landscapes" && (x["FirstName"]?.stringValue ?? "").isEmpty)
        // Our own push coming back as a webhook is not a change: no conflict, the value stays.
        usleep(500_000)
        let after = try contact(p, admin, named: "Kauri Landscapes")
        #expect(after["email"]?.stringValue == "jobs@kauri.nz" && after["conflicts"]?.arrayValue?.isEmpty == true)
        let posts = try apiCalls(p, method: "POST").filter { ($0["path"]?.stringValue ?? "").hasSuffix("/Contacts") }
        #expect(posts.count == 1, "one push: \(posts.count)")
    }

    @Test func r9_aFieldChangedOnOneSideTakesThatSideAndBothSidesIsAConflictTheLaterWins() throws {
        let (p, admin, tenant) = try connected(["SYNC_PUSH_DEBOUNCE_MS": "60000"])  // pushes only when asked
        let rata = try contact(p, admin, named: "Rata Gardens")
        let id = try #require(rata["id"]?.stringValue), xid = try #require(rata["xeroContactId"]?.stringValue)
        try p.sim("POST", "/sim/webhooks/config", #"{"enabled": false}"#)
        // SortScape: phone and email. Xero, a moment later: name and email.
        #expect(try p.request("PATCH", "/api/v1/contacts/\(id)", bearer: admin, body: #"{"phone": "04 555 0199", "email": "ours@rata.nz"}"#).status == 200)
        usleep(20_000)
        try p.sim("POST", "/sim/clock", #"{"advanceSeconds": 5}"#)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"Name": "Rata Gardens & Co", "EmailAddress": "theirs@rata.nz"}"#)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try eventually("both sides merged") {
            let x = try xeroContact(p, tenant, xid)
            return x["Phones"]?.arrayValue?.contains { $0["PhoneNumber"]?.stringValue == "04 555 0199" } == true
        }
        let local = try contact(p, admin, named: "Rata Gardens & Co")
        let history = try f.runs(p, admin)
        #expect(local["phone"]?.stringValue == "04 555 0199" && local["email"]?.stringValue == "theirs@rata.nz", "\(local) \(history)")
        let x = try xeroContact(p, tenant, xid)
        #expect(x["Name"]?.stringValue == "Rata Gardens & Co" && x["EmailAddress"]?.stringValue == "theirs@rata.nz")
        let conflicts = local["conflicts"]?.arrayValue ?? []
        #expect(conflicts.count == 1, "\(conflicts)")
        #expect(conflicts.first?["field"]?.stringValue == "email" && conflicts.first?["kept"]?.stringValue == "xero"
                && conflicts.first?["sortscape"]?.stringValue == "ours@rata.nz")
        // Another sweep records it no second time.
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try f.waitForRuns(p, admin, count: try f.runs(p, admin).count)
        usleep(300_000)
        #expect(try contact(p, admin, named: "Rata Gardens & Co")["conflicts"]?.arrayValue?.count == 1)
    }

    // MARK: - R8, R10

    @Test func r8_archivingInSortScapeNeverTouchesXeroAndTheContactIsNotImportedAgain() throws {
        let (p, admin, tenant) = try connected()
        let rata = try contact(p, admin, named: "Rata Gardens")
        let id = try #require(rata["id"]?.stringValue), xid = try #require(rata["xeroContactId"]?.stringValue)
        let before = try lastCallSeq(p)
        #expect(try p.request("POST", "/api/v1/contacts/\(id)/archive", bearer: admin).status == 200)
        usleep(300_000)
        #expect(try apiCalls(p, since: before).isEmpty, "archiving called Xero")
        #expect(try xeroContact(p, tenant, xid)["ContactStatus"]?.stringValue == "ACTIVE")
        // A later change in Xero neither revives it nor imports it again.
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "x@rata.nz"}"#)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try eventually("the event settled") {
            (try JSON.parse(p.request("GET", "/api/v1/xero/events?status=ignored", bearer: admin).body)["items"]?.arrayValue ?? [])
                .contains { ($0["lastError"]?.stringValue ?? "").contains("R8") }
        }
        let all = try contacts(p, admin).filter { $0["xeroContactId"]?.stringValue == xid }
        #expect(all.count == 1 && all.first?["archived"]?.boolValue == true && all.first?["email"]?.stringValue == "hello@rata.nz")
    }

    @Test func r10_aContactArchivedInXeroIsArchivedHereUnlessWorkIsPendingThenItWaits() throws {
        let (p, admin, tenant) = try connected()
        let kauri = try contact(p, admin, named: "Kauri Landscapes"), rata = try contact(p, admin, named: "Rata Gardens")
        let property = try #require(kauri["properties"]?.arrayValue?.first?["id"]?.stringValue)
        let job = try JSON.parse(p.request("POST", "/api/v1/jobs", bearer: admin, body: #"{"propertyId": "\#(property)", "title": "Prune"}"#).body)
        let jobId = try #require(job["id"]?.stringValue)
        for c in [kauri, rata] {
            try p.sim("POST", "/sim/organisations/\(tenant)/contacts/\(try #require(c["xeroContactId"]?.stringValue))/archive")
        }
        try eventually("Rata archived with its property, Kauri waiting") {
            let r = try contact(p, admin, named: "Rata Gardens"), k = try contact(p, admin, named: "Kauri Landscapes")
            return r["archived"]?.boolValue == true && r["properties"]?.arrayValue?.allSatisfy { $0["archived"]?.boolValue == true } == true
                && k["syncState"]?.stringValue == "waiting_archive" && k["archived"]?.boolValue == false
        }
        #expect(try f.json(p.request("GET", "/api/v1/xero/status", bearer: admin))["waitingArchive"]?.intValue == 1)
        // Once the job is done, the next sync archives it.
        #expect(try p.request("PATCH", "/api/v1/jobs/\(jobId)", bearer: admin, body: #"{"status": "done"}"#).status == 200)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try eventually("Kauri archived") { try contact(p, admin, named: "Kauri Landscapes")["archived"]?.boolValue == true }
        #expect(try f.json(p.request("GET", "/api/v1/xero/status", bearer: admin))["waitingArchive"]?.intValue == 0)
        _ = rata
    }

    @Test func r10_aContactMergedInXeroIsRelinkedToTheSurvivorNotArchived() throws {
        let (p, admin, tenant) = try connected()
        let rata = try contact(p, admin, named: "Rata Gardens")
        let xid = try #require(rata["xeroContactId"]?.stringValue)
        let created = try p.sim("POST", "/sim/organisations/\(tenant)/contacts",
                                #"{"webhooks": false, "Contacts": [{"Name": "Rata Holdings", "IsSupplier": true, "IsCustomer": false, "EmailAddress": "hq@rata.nz"}]}"#)
        let survivor = try #require(created["ids"]?.arrayValue?.first?.stringValue, "\(created)")
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts/\(xid)/merge", #"{"into": "\#(survivor)"}"#)
        try eventually("relinked to the survivor, with its values") {
            try contacts(p, admin).contains {
                $0["id"]?.stringValue == rata["id"]?.stringValue && $0["xeroContactId"]?.stringValue == survivor.lowercased()
                    && $0["email"]?.stringValue == "hq@rata.nz"
            }
        }
        let relinked = try #require(try contacts(p, admin).first { $0["id"]?.stringValue == rata["id"]?.stringValue })
        let history = try f.runs(p, admin)
        #expect(relinked["archived"]?.boolValue == false && relinked["syncState"]?.stringValue == "linked", "\(relinked) \(history)")
        #expect(relinked["email"]?.stringValue == "hq@rata.nz", "the survivor's values")
    }

    // MARK: - R11

    @Test func r11_createContactInXeroCreatesItOnceOrLinksToTheSameNamedOne() throws {
        let (p, admin, tenant) = try connected()
        let made = try JSON.parse(p.request("POST", "/api/v1/contacts", bearer: admin, body: #"{"name": "Jo Bloggs", "companyName": "  Matai   Builders ", "phone": "021 555 0101"}"#).body)
        let id = try #require(made["id"]?.stringValue)
        let r = try p.request("POST", "/api/v1/contacts/\(id)/xero", bearer: admin)
        #expect(r.status == 200, "\(r.text)")
        let linked = try JSON.parse(r.body)
        let xid = try #require(linked["xeroContactId"]?.stringValue)
        let x = try xeroContact(p, tenant, xid)
        #expect(x["Name"]?.stringValue == "Matai Builders" && x["FirstName"]?.stringValue == "Jo" && x["LastName"]?.stringValue == "Bloggs")
        #expect(x["ContactNumber"]?.stringValue == "SortScape \(id)", "the marker a retry whose answer was lost looks up")
        #expect(try p.request("POST", "/api/v1/contacts/\(id)/xero", bearer: admin).status == 409)
        // A contact whose name Xero has already: linked to it, nothing created.
        let twin = try JSON.parse(p.request("POST", "/api/v1/contacts", bearer: admin, body: #"{"name": "pohutukawa supplies", "email": "sales@pohutukawa.nz"}"#).body)
        let before = try apiCalls(p, method: "POST").count
        let l = try p.request("POST", "/api/v1/contacts/\(try #require(twin["id"]?.stringValue))/xero", bearer: admin)
        #expect(l.status == 200, "\(l.text)")
        let twinLinked = try JSON.parse(l.body)
        #expect(twinLinked["name"]?.stringValue == "Pohutukawa Supplies", "Xero's name kept")
        let posts = try apiCalls(p, method: "POST").count - before
        #expect(posts <= 1, "at most the push of the blank email")
        let pohutukawa = try xeroContact(p, tenant, try #require(twinLinked["xeroContactId"]?.stringValue))
        #expect(pohutukawa["EmailAddress"]?.stringValue == "sales@pohutukawa.nz", "Xero's blank filled")
        // Staff may not; nothing is sent for an unknown contact.
        let staff = try p.gateway.accounts.createUser(accountId: try #require(try p.gateway.accounts.accounts().first?.id), role: .staff).token
        #expect(try p.request("POST", "/api/v1/contacts/\(id)/xero", bearer: staff).status == 403)
        #expect(try p.request("POST", "/api/v1/contacts/nope/xero", bearer: admin).status == 404)
    }

    // MARK: - R14

    @Test func r14_aMaterialGoingToXeroLinksToASameNamedItemOrIsCreatedOnce() throws {
        let (p, admin, tenant) = try connected()
        let account = try #require(try p.gateway.accounts.accounts().first?.id)
        func items() throws -> Int { try #require(try p.sim("GET", "/sim/state")["organisations"]?.arrayValue?.first { $0["tenantId"]?.stringValue == tenant }?["items"]?.intValue) }
        let before = try items()
        // A material SortScape made: created in Xero once, then linked and read-only.
        let straw = try JSON.parse(p.request("POST", "/api/v1/materials", bearer: admin, body: #"{"name": "Pea Straw", "unitPrice": 9.5}"#).body)
        let strawId = try #require(straw["id"]?.stringValue)
        let sent = try p.gateway.syncEngine.materialToXero(accountId: account, materialId: strawId)
        #expect(sent.xeroItemId != nil && sent.readOnly)
        #expect(try items() == before + 1)
        _ = try p.gateway.syncEngine.materialToXero(accountId: account, materialId: strawId)
        #expect(try items() == before + 1, "not created twice")
        // A material whose name Xero has already: linked to that item, which wins (R13).
        let compost = try JSON.parse(p.request("POST", "/api/v1/materials", bearer: admin, body: #"{"name": "compost 30l", "unitPrice": 1}"#).body)
        try p.sim("POST", "/sim/organisations/\(tenant)/items", #"{"Items": [{"Code": "COMPOST", "Name": "Compost 30L", "SalesDetails": {"UnitPrice": 18.9}}]}"#)
        let linked = try p.gateway.syncEngine.materialToXero(accountId: account, materialId: try #require(compost["id"]?.stringValue))
        #expect(linked.name == "Compost 30L" && linked.unitPrice == 189_000 && linked.code == "COMPOST")
        #expect(try items() == before + 2, "linked, not duplicated")
        #expect(try p.request("PATCH", "/api/v1/materials/\(linked.id)", bearer: admin, body: #"{"name": "x"}"#).status == 409)
    }

    // MARK: - R17, R12, R13

    @Test(arguments: StoreBackend.all)
    func r17_theSweepReadsOnlyWhatChangedAndItemsFollowXero(_ backend: StoreBackend) throws {
        let (p, admin, tenant) = try connected(backend: backend)
        try p.sim("POST", "/sim/webhooks/config", #"{"enabled": false}"#)  // only the sweep sees these
        let status = try f.json(p.request("GET", "/api/v1/xero/status", bearer: admin))
        #expect(status["nextSyncAt"]?.stringValue != nil, "\(status)")
        // Nothing changed: a sweep costs at most 3 calls.
        var runsBefore = try f.runs(p, admin).count
        var seq = try lastCallSeq(p)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try f.waitForRuns(p, admin, count: runsBefore + 1)
        let quiet = try apiCalls(p, since: seq)
        #expect(quiet.count <= 3, "\(quiet.count) calls")
        #expect(quiet.contains { $0["path"]?.stringValue?.hasSuffix("/Contacts") == true && $0["ifModifiedSince"]?.stringValue != nil })
        // A contact and an item change in Xero, unseen by webhooks.
        let kauri = try contact(p, admin, named: "Kauri Landscapes")
        try p.sim("POST", "/sim/clock", #"{"advanceSeconds": 2}"#)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(try #require(kauri["xeroContactId"]?.stringValue))", #"{"EmailAddress": "sweep@kauri.nz"}"#)
        let materials = try f.all(p, admin, "materials")
        let mulch = try #require(materials.first { $0["code"]?.stringValue == "MULCH" })
        let itemId = try #require(mulch["xeroItemId"]?.stringValue)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/items/\(itemId)", #"{"SalesDetails": {"UnitPrice": 14.25}}"#)
        runsBefore = try f.runs(p, admin).count
        seq = try lastCallSeq(p)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try f.waitForRuns(p, admin, count: runsBefore + 1)
        #expect(try contact(p, admin, named: "Kauri Landscapes")["email"]?.stringValue == "sweep@kauri.nz")
        let price = try f.all(p, admin, "materials").first { $0["code"]?.stringValue == "MULCH" }?["unitPrice"]
        #expect(price.flatMap { JSON.quotedNumber($0) } == "14.25")
        #expect(try apiCalls(p, since: seq).count <= 3)
        // R13: still read-only.
        let mulchId = try #require(mulch["id"]?.stringValue)
        #expect(try p.request("PATCH", "/api/v1/materials/\(mulchId)", bearer: admin, body: #"{"name": "x"}"#).status == 409)
        // The daily reconciliation: a deleted item unlinks its material, which is editable again.
        try p.sim("DELETE", "/sim/organisations/\(tenant)/items/\(itemId)")
        p.clock.advance(milliseconds: 25 * 3_600_000)
        try eventually("the material unlinked by the reconciliation", seconds: 15) {
            try f.all(p, admin, "materials").first { $0["code"]?.stringValue == "MULCH" }?["xeroItemId"]?.isNull == true
        }
        #expect(try f.runs(p, admin).contains { $0["trigger"]?.stringValue == "reconcile" && $0["state"]?.stringValue == "succeeded" })
        #expect(try p.request("PATCH", "/api/v1/materials/\(mulchId)", bearer: admin, body: #"{"name": "Mulch (ours)"}"#).status == 200)
    }
}
