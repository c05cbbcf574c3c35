import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Testing

/// The first sync end to end: the gateway connected to xero-sim over real HTTP, its own sync
/// engine importing what the organisation has (R5, R6, R7, R12, R13, R18).
@Suite(.serialized) struct FirstSyncTests {
    /// An account connected to a fresh organisation holding `seed`; the first sync has finished.
    func connectedAndSynced(_ p: ConnectPair, seed: (String) throws -> Void,
                            before: (String) throws -> Void = { _ in }) throws -> (account: String, admin: String, tenant: String) {
        let (account, admin) = try p.account()
        let tenant = try p.organisation("Harbour Landscaping Ltd")
        try seed(tenant)
        try before(admin)
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        #expect(try p.dance(cookie: p.signIn(admin), login: login, tenants: [tenant]).status == 303)
        try waitForRuns(p, admin, count: 1)
        return (account, admin, tenant)
    }

    func json(_ r: ClientResponse) throws -> JSON { try JSON.parse(r.body) }

    func runs(_ p: ConnectPair, _ admin: String) throws -> [JSON] {
        try json(p.request("GET", "/api/v1/xero/sync-runs", bearer: admin))["items"]?.arrayValue ?? []
    }

    /// Waits until `count` runs have finished.
    func waitForRuns(_ p: ConnectPair, _ admin: String, count: Int, seconds: Double = 60) throws {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            let finished = try runs(p, admin).filter { $0["state"]?.stringValue != "running" }
            if finished.count >= count { return }
            usleep(50_000)
        }
        Issue.record("\(count) sync runs did not finish in \(seconds) s: \(try runs(p, admin))")
    }

    func all(_ p: ConnectPair, _ admin: String, _ kind: String) throws -> [JSON] {
        var items: [JSON] = []
        var cursor: String?
        repeat {
            let page = try json(p.request("GET", "/api/v1/\(kind)?limit=500" + (cursor.map { "&cursor=\($0)" } ?? ""), bearer: admin))
            items += page["items"]?.arrayValue ?? []
            cursor = page["nextCursor"]?.stringValue
        } while cursor != nil
        return items
    }

    static let contacts = #"""
    {"webhooks": false, "Contacts": [
      {"Name": "Street And Box Ltd", "IsCustomer": true, "EmailAddress": "office@streetbox.nz",
       "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 12", "City": "Auckland"},
                     {"AddressType": "STREET", "AddressLine1": "12 Harbour Road", "City": "Auckland", "PostalCode": "1010"}]},
      {"Name": "Billing Only", "IsCustomer": true,
       "Addresses": [{"AddressType": "POBOX", "AddressLine1": "PO Box 99", "City": "Wellington"}]},
      {"Name": "Neither Flag", "IsCustomer": false, "IsSupplier": false},
      {"Name": "Mulch Supplies", "IsCustomer": false, "IsSupplier": true},
      {"Name": "Gone Customer", "IsCustomer": true, "ContactStatus": "ARCHIVED"},
      {"Name": "HARBOUR  landscaping", "IsCustomer": true, "EmailAddress": "ops@harbour.nz"}
    ]}
    """#

    static let items = #"""
    {"Items": [
      {"Code": "MULCH", "Name": "Bark Mulch", "Description": "Per bag", "SalesDetails": {"UnitPrice": 12.3456}},
      {"Code": "LABOUR", "Name": "Labour hour", "SalesDetails": {"UnitPrice": 80}}
    ]}
    """#

    @Test(arguments: StoreBackend.all)
    func r5_r6_r7_r12_theFirstSyncImportsWhatTheOrganisationHasThroughTheGateway(_ backend: StoreBackend) throws {
        let p = try ConnectPair(realSync: true, backend: backend)
        let (_, admin, tenant) = try connectedAndSynced(p, seed: { t in
            try p.sim("POST", "/sim/organisations/\(t)/contacts", Self.contacts)
            try p.sim("POST", "/sim/organisations/\(t)/items", Self.items)
        }, before: { admin in
            let contact = try p.request("POST", "/api/v1/contacts", bearer: admin, body: #"{"name":"Harbour Landscaping","phone":"09 300 1234"}"#)
            let material = try p.request("POST", "/api/v1/materials", bearer: admin, body: #"{"name":"bark mulch","unitPrice":9}"#)
            #expect(contact.status == 201 && material.status == 201)
        })
        let run = try #require(try runs(p, admin).first)  // oldest first: the initial run
        #expect(run["trigger"]?.stringValue == "initial" && run["state"]?.stringValue == "succeeded", "\(run)")

        // R5: customers and neither-nor, not the supplier-only or archived one; R7: the look-alike is a match.
        let contacts = try all(p, admin, "contacts")
        #expect(Set(contacts.compactMap { $0["name"]?.stringValue })
                == ["Harbour Landscaping", "Street And Box Ltd", "Billing Only", "Neither Flag"])
        let imported = contacts.filter { $0["xeroContactId"]?.isNull == false }
        #expect(imported.count == 3 && imported.allSatisfy { $0["syncState"]?.stringValue == "linked" })
        // R6: one property each, shipping else billing else none.
        func props(_ name: String) -> [JSON] { contacts.first { $0["name"]?.stringValue == name }?["properties"]?.arrayValue ?? [] }
        #expect(props("Street And Box Ltd").map { $0["addressLine1"]?.stringValue } == ["12 Harbour Road"])
        #expect(props("Street And Box Ltd").first?["source"]?.stringValue == "xero_shipping")
        #expect(props("Billing Only").map { $0["source"]?.stringValue } == ["xero_billing"])
        #expect(props("Neither Flag").isEmpty)
        // R12/R13: the same-named material is linked and takes the item's values; the other is created.
        let materials = try all(p, admin, "materials")
        let mulch = try #require(materials.first { $0["code"]?.stringValue == "MULCH" })
        #expect(mulch["name"]?.stringValue == "Bark Mulch" && mulch["readOnly"]?.boolValue == true)
        #expect(mulch["unitPrice"].map { JSON.quotedNumber($0) } == "12.3456")
        #expect(materials.count == 2 && materials.allSatisfy { $0["readOnly"]?.boolValue == true })
        let mulchId = try #require(mulch["id"]?.stringValue)
        #expect(try p.request("PATCH", "/api/v1/materials/\(mulchId)", bearer: admin, body: #"{"name":"x"}"#).status == 409)

        // R18: one call for the contacts page and one for the items, with JSON asked for.
        let calls = try p.sim("GET", "/sim/calls?path=/api.xro&limit=1000")["calls"]?.arrayValue ?? []
        #expect(calls.count == 2 && run["xeroCalls"]?.intValue == 2)
        #expect(calls.allSatisfy { $0["headers"]?["Accept"]?.stringValue == "application/json" && $0["tenantId"]?.stringValue == tenant })

        // R7: the match, its three columns, and "Accept values and link" writing both sides.
        let matches = try json(p.request("GET", "/api/v1/xero/matches", bearer: admin))["items"]?.arrayValue ?? []
        let m = try #require(matches.first)
        #expect(matches.count == 1 && m["reasons"]?.arrayValue?.compactMap(\.stringValue) == ["name"])
        #expect(m["xero"]?["email"]?.stringValue == "ops@harbour.nz" && m["sortscape"]?["phone"]?.stringValue == "09 300 1234")
        // The proposal starts from Xero's values and fills Xero's blanks from SortScape.
        #expect(m["proposed"]?["name"]?.stringValue == "HARBOUR  landscaping" && m["proposed"]?["email"]?.stringValue == "ops@harbour.nz")
        #expect(m["proposed"]?["phone"]?.stringValue == "09 300 1234")
        let status = try json(p.request("GET", "/api/v1/xero/status", bearer: admin))
        #expect(status["pendingMatches"]?.intValue == 1 && status["lastSync"]?.stringValue != nil)
        let matchId = try #require(m["id"]?.stringValue)
        let xeroContactId = try #require(m["xeroContactId"]?.stringValue), contactId = try #require(m["contactId"]?.stringValue)
        let link = try p.request("POST", "/api/v1/xero/matches/\(matchId)/link", bearer: admin,
                                 body: #"{"name":"Harbour Landscaping Ltd","companyName":""}"#)
        #expect(link.status == 200, "\(link.text)")
        let xeroContact = try p.sim("GET", "/sim/organisations/\(tenant)/contacts/\(xeroContactId)")
        #expect((xeroContact["FirstName"]?.stringValue ?? "").isEmpty && (xeroContact["LastName"]?.stringValue ?? "").isEmpty, "a company's Name never becomes a person's name")
        #expect(xeroContact["Name"]?.stringValue == "Harbour Landscaping Ltd" && xeroContact["Phones"]?.arrayValue?.contains {
            $0["PhoneType"]?.stringValue == "DEFAULT" && $0["PhoneNumber"]?.stringValue == "09 300 1234" } == true)
        let linked = try json(p.request("GET", "/api/v1/contacts/\(contactId)", bearer: admin))
        #expect(linked["syncState"]?.stringValue == "linked" && linked["email"]?.stringValue == "ops@harbour.nz")
        #expect(try p.request("POST", "/api/v1/xero/matches/\(matchId)/link", bearer: admin).status == 409)
        #expect(try json(p.request("GET", "/api/v1/xero/status", bearer: admin))["pendingMatches"]?.intValue == 0)

        // No secret in the clear after a connect and a sync (in the files SQLite wrote; on
        // PostgreSQL, in every row of every table).
        let accountId = try #require(try p.gateway.accounts.accounts().first?.id)
        let tokens = try #require(try p.gateway.xeroTokens.tokens(accountId: accountId))
        let bytes = try p.databaseBytes(), log = p.logText
        for secret in [tokens.accessToken, tokens.refreshToken, ConnectPair.clientSecret, p.webhookKey] {
            #expect(!bytes.contains(bytes: secret) && !log.contains(secret))
        }
    }

    @Test func r17_syncWithXeroIsAcceptedAndCoalescedWithARunningOne() throws {
        let p = try ConnectPair(realSync: true)
        let (_, admin, _) = try connectedAndSynced(p, seed: { t in
            try p.sim("POST", "/sim/organisations/\(t)/contacts", Self.contacts)
        })
        try p.sim("POST", "/sim/limits", #"{"latencyMs": 400}"#)  // keep the next run going a while
        let a = try p.request("POST", "/api/v1/xero/sync", bearer: admin)
        let b = try p.request("POST", "/api/v1/xero/sync", bearer: admin)
        #expect(a.status == 202 && b.status == 202)
        let id = try #require(try json(a)["syncRunId"]?.stringValue)
        let joined = try json(b)["syncRunId"]?.stringValue
        #expect(joined == id)
        try waitForRuns(p, admin, count: 2)
        let run = try json(p.request("GET", "/api/v1/xero/sync-runs/\(id)", bearer: admin))
        #expect(run["trigger"]?.stringValue == "manual" && run["state"]?.stringValue == "succeeded")
        // Nothing new in Xero, nothing new here.
        #expect(try all(p, admin, "contacts").count == 4)
        let accountId = try #require(try p.gateway.accounts.accounts().first?.id)
        let staff = try p.gateway.accounts.createUser(accountId: accountId, role: .staff).token
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: staff).status == 403)
    }

    @Test func r18_afterFaultsStopTheImportHasExactlyTheRecordsOfAFaultFreeRunAndNoDuplicates() throws {
        let p = try ConnectPair(realSync: true)
        let (account, admin) = try p.account()
        let tenant = try p.organisation("Faulty Ltd")
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts",
                  #"{"generate": {"count": 2500, "prefix": "Customer", "customerEvery": 1, "supplierEvery": 7}, "webhooks": false}"#)
        // A 429 storm, 500s, 503s and a hung call on the contacts pages, more than one run's retries.
        for fault in [#"{"kind":"429","count":3,"path":"/Contacts","retryAfter":1}"#,
                      #"{"kind":"500","count":2,"path":"/Contacts"}"#, #"{"kind":"503","count":2,"path":"/Contacts"}"#,
                      #"{"kind":"hang","count":1,"path":"/Contacts","delayMs":5000,"process":false}"#] {
            try p.sim("POST", "/sim/faults", fault)
        }
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        #expect(try p.dance(cookie: p.signIn(admin), login: login, tenants: [tenant]).status == 303)
        try waitForRuns(p, admin, count: 1, seconds: 90)
        // Whatever the first run got through, runs after it (the access token expiring meanwhile) finish the job.
        try p.sim("POST", "/sim/clock", #"{"advanceSeconds": 1900}"#)
        var attempt = 1
        while try runs(p, admin).last?["state"]?.stringValue != "succeeded" && attempt < 6 {
            attempt += 1
            #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
            try waitForRuns(p, admin, count: attempt, seconds: 90)
        }
        let history = try runs(p, admin)
        #expect(history.last?["state"]?.stringValue == "succeeded", "\(history)")
        #expect(history.first?["state"]?.stringValue == "failed", "the faults outlast one run's retries")
        let contacts = try all(p, admin, "contacts")
        let ids = contacts.compactMap { $0["xeroContactId"]?.stringValue }
        #expect(Set(ids).count == ids.count, "duplicates")
        // A fault-free import of the same organisation into another account, for comparison.
        let q = try ConnectPair(realSync: true)
        let (_, admin2) = try q.account()
        let tenant2 = try q.organisation("Clean Ltd")
        try q.sim("POST", "/sim/organisations/\(tenant2)/contacts",
                  #"{"generate": {"count": 2500, "prefix": "Customer", "customerEvery": 1, "supplierEvery": 7}, "webhooks": false}"#)
        try q.activate(admin2)
        #expect(try q.dance(cookie: q.signIn(admin2), login: q.xeroLogin([tenant2]), tenants: [tenant2]).status == 303)
        try waitForRuns(q, admin2, count: 1, seconds: 90)
        let clean = try all(q, admin2, "contacts").compactMap { $0["name"]?.stringValue }.sorted()
        #expect(contacts.compactMap { $0["name"]?.stringValue }.sorted() == clean && clean.count > 2000)
        _ = account
    }
}

extension JSON {
    /// A number as its JSON text, e.g. 12.3456.
    static func quotedNumber(_ j: JSON) -> String? {
        if case .number(_, let raw) = j { return raw }
        return nil
    }
}
