import Foundation
import Gateway
import HTTPClient
import StrictJSON
import Testing

/// Convergence under faults: Xero throttling, failing and hanging, webhooks dropped, duplicated,
/// reordered and late, and the refresh token revoked, while both sides change the same contacts. Once the faults stop, the next
/// sync leaves both sides as a fault-free run does: the same values on both sides, no duplicate,
/// no lost change, every conflict recorded once.
@Suite(.serialized) struct ConvergenceTests {
    let k = KeepInStepTests()
    let f = FirstSyncTests()

    static func seed(_ n: Int) -> String {
        let contacts = (0..<n).map { i in #"{"Name": "Customer \#(i)", "IsCustomer": true, "EmailAddress": "c\#(i)@x.nz"}"# }
        return #"{"webhooks": false, "Contacts": [\#(contacts.joined(separator: ","))]}"#
    }

    @Test func r4_r9_r16_r17_afterFaultsBothSidesConvergeWithNoDuplicateNoLostChangeAndConflictsRecordedOnce() throws {
        let p = try ConnectPair(extra: ["SYNC_PUSH_DEBOUNCE_MS": "100"], realSync: true)
        let (_, admin, tenant) = try f.connectedAndSynced(p, seed: { t in try p.sim("POST", "/sim/organisations/\(t)/contacts", Self.seed(20)) })
        p.simulator.setWebhookURL(p.base + "/webhooks/xero")
        try p.sim("POST", "/sim/webhooks/config", #"{"batchDelayMs": 20, "retryInitialMs": 200, "retryMaxMs": 400}"#)
        let contacts = try k.contacts(p, admin).sorted { ($0["name"]?.stringValue ?? "") < ($1["name"]?.stringValue ?? "") }
        try #require(contacts.count == 20)
        func c(_ i: Int) throws -> (id: String, xid: String) {
            let match = try #require(contacts.first { $0["name"]?.stringValue == "Customer \(i)" })
            return (try #require(match["id"]?.stringValue), try #require(match["xeroContactId"]?.stringValue))
        }
        // Faults: a 429 storm, 500s, 503s and a hung call on the API; webhooks dropped, duplicated, reordered, late.
        for fault in [#"{"kind":"429","count":4,"path":"/Contacts","retryAfter":1}"#, #"{"kind":"500","count":3,"path":"/Contacts"}"#,
                      #"{"kind":"503","count":3,"path":"/Contacts"}"#, #"{"kind":"hang","count":1,"path":"/Contacts","delayMs":4000,"process":false}"#,
                      #"{"kind":"drop","count":3}"#, #"{"kind":"duplicate","count":3}"#, #"{"kind":"reorder","count":2}"#,
                      #"{"kind":"delay","count":2,"delayMs":1500}"#] {
            try p.sim("POST", "/sim/faults", fault)
        }
        // Xero changes emails of 0–9; SortScape changes phones of 5–14 (5–9: both sides, other fields).
        for i in 0..<10 { try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(c(i).xid)", #"{"EmailAddress": "xero\#(i)@x.nz"}"#) }
        for i in 5..<15 {
            #expect(try p.request("PATCH", "/api/v1/contacts/\(c(i).id)", bearer: admin, body: #"{"phone": "021 000 \#(1000 + i)"}"#).status == 200)
        }
        // Both sides change the email of 15–17, SortScape first, Xero 5 s later (webhooks held back meanwhile).
        try p.sim("POST", "/sim/webhooks/config", #"{"enabled": false}"#)
        try p.sim("POST", "/sim/limits", #"{"latencyMs": 0}"#)
        for i in 15..<18 {
            #expect(try p.request("PATCH", "/api/v1/contacts/\(c(i).id)", bearer: admin, body: #"{"email": "ours\#(i)@x.nz"}"#).status == 200)
        }
        try p.sim("POST", "/sim/clock", #"{"advanceSeconds": 5}"#)
        for i in 15..<18 { try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(c(i).xid)", #"{"EmailAddress": "theirs\#(i)@x.nz"}"#) }
        try p.sim("POST", "/sim/webhooks/config", #"{"enabled": true}"#)
        // New customers in Xero meanwhile, one lost with a dropped webhook.
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts", #"{"webhooks": true, "Contacts": [{"Name": "Late Customer A", "IsCustomer": true}, {"Name": "Late Customer B", "IsCustomer": true}]}"#)
        usleep(2_000_000)
        // The Xero user revokes the app meanwhile: the next refresh is refused, the account needs reconnecting.
        let account = try #require(try p.gateway.accounts.accounts().first?.id)
        let stored = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        try p.gateway.identity.revoke(stored.refreshToken)
        p.clock.advance(milliseconds: 31 * 60_000)
        #expect(try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202)
        try k.eventually("needs reconnect") { try p.status(admin)["state"]?.stringValue == "needs_reconnect" }
        try k.eventually("a failed run saying to reconnect") {
            try f.runs(p, admin).contains {
                $0["state"]?.stringValue == "failed" && ($0["errors"]?.arrayValue ?? []).contains { $0.stringValue?.contains("reconnect") == true }
            }
        }

        // The faults stop and the admin reconnects; "Sync with Xero" until a run succeeds with nothing left to push.
        try p.sim("DELETE", "/sim/faults")
        #expect(try p.dance(cookie: p.signIn(admin), login: p.xeroLogin([tenant]), tenants: [tenant]).status == 303)
        #expect(try p.status(admin)["state"]?.stringValue == "connected")
        try k.eventually("a clean sync with nothing left to push", seconds: 60) {
            let before = try f.runs(p, admin).count
            guard try p.request("POST", "/api/v1/xero/sync", bearer: admin).status == 202 else { return false }
            try f.waitForRuns(p, admin, count: before + 1)
            let last = try f.runs(p, admin).last
            let pushed = try (0..<18).allSatisfy { i in
                let x = try k.xeroContact(p, tenant, c(i).xid)
                return i < 5 || i >= 15 || x["Phones"]?.arrayValue?.contains { $0["PhoneNumber"]?.stringValue == "021 000 \(1000 + i)" } == true
            }
            return last?["state"]?.stringValue == "succeeded" && pushed
        }

        // Both sides hold exactly what a fault-free run gives.
        let after = try k.contacts(p, admin)
        for i in 0..<20 {
            let (id, xid) = try c(i)
            let local = try #require(after.first { $0["id"]?.stringValue == id })
            let x = try k.xeroContact(p, tenant, xid)
            let email = i < 10 ? "xero\(i)@x.nz" : (15..<18).contains(i) ? "theirs\(i)@x.nz" : "c\(i)@x.nz"
            #expect(local["email"]?.stringValue == email && x["EmailAddress"]?.stringValue == email, "\(i): \(local) \(x)")
            if (5..<15).contains(i) {
                #expect(local["phone"]?.stringValue == "021 000 \(1000 + i)", "\(i)")
            }
            let conflicts = local["conflicts"]?.arrayValue ?? []
            #expect(conflicts.count == ((15..<18).contains(i) ? 1 : 0), "\(i): \(conflicts)")
        }
        // No duplicates on either side: 20 + the two late customers, in SortScape and in Xero.
        let names = after.compactMap { $0["name"]?.stringValue }
        #expect(names.count == 22 && Set(names).count == 22, "\(names.sorted())")
        let org = try #require(try p.sim("GET", "/sim/state")["organisations"]?.arrayValue?.first { $0["tenantId"]?.stringValue == tenant })
        #expect(org["contacts"]?.intValue == 22)
    }
}
