import Foundation
@testable import Gateway
import Store
import StrictJSON
import Synchronization
import Testing
import Timekeeping

/// `/healthz` stays small and cheap however many accounts there are, and says unhealthy when the
/// sync scheduler or the applier stops; each account's health is a paged operator endpoint.
@Suite struct HealthTests {
    @Test func healthzStaysUnder2KBWithThousandsOfAccountsAndShowsNoAccount() throws {
        let t = try TestGateway(store: .sqlite)
        // 2 000 accounts in one transaction: every tenth connected, every hundredth needing a reconnect.
        let ids = (0..<2_000).map { _ in UUID().uuidString.lowercased() }
        try t.database.write { c in
            for (i, id) in ids.enumerated() {
                try c.run("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, '2026-01-01T00:00:00.000Z')",
                          [.text(id), .text("Account \(i)")])
                let state = i % 100 == 0 ? "needs_reconnect" : i % 10 == 0 ? "connected" : "inactive"
                try c.run("INSERT INTO xero_connections (account_id, state, tenant_id, tenant_name) VALUES (?, ?, ?, ?)",
                          [.text(id), .text(state), i % 10 == 0 ? .text("tenant-\(i)") : .null, i % 10 == 0 ? .text("Org \(i)") : .null])
            }
        }
        t.gateway.healthReadings.refresh()  // rather than wait up to a second for the next readings
        for token in [nil, try t.operatorToken()] {
            let r = try t.get("/healthz", token: token)
            #expect(r.status == 200)
            #expect(r.body.count < 2_048, "\(r.body.count) bytes")
            let h = try JSON.parse(r.body)
            #expect(h["accounts"]?["connected"]?.intValue == 180)
            #expect(h["accounts"]?["needs_reconnect"]?.intValue == 20)
            #expect(h["accounts"]?["inactive"]?.intValue == 1_800)
            #expect(!ids.contains { r.text.contains($0) } && !r.text.contains("tenant-"))
        }
    }

    @Test func healthzIs503WhenTheSyncSchedulerStopsAndWhenTheApplierStalls() throws {
        let clock = TestMonotonicClock()
        let t = try TestGateway(monotonicClock: clock)
        t.gateway.healthReadings.limits.withLock {
            $0.applierStall = 0.3
            $0.readingsInterval = 0.02
        }
        let account = try #require(try t.gateway.accounts.createAccount(name: "Acme").accountId)
        try t.gateway.accounts.connect(accountId: account, tenantId: tenantA, tenantName: "Org A")
        t.gateway.syncEngine.stop()
        #expect(try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef02-1111-4111-8111-111111111111",
                                                "2026-07-22T01:30:00.250")])).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        t.gateway.healthReadings.refresh()
        let first = try t.get("/healthz", token: nil)
        #expect(first.status == 503)
        let h = try JSON.parse(first.body)
        #expect(h["status"]?.stringValue == "unhealthy")
        #expect(h["workers"]?["syncScheduler"]?.stringValue == "stopped")
        #expect(h["applier"]?["state"]?.stringValue == "running")
        #expect(h["applier"]?["pendingEvents"]?.intValue == 1)
        #expect(h["inboxBacklog"]?.intValue == 1)
        #expect(h["problems"]?.arrayValue?.map { $0.stringValue ?? "" } == [
            "The sync scheduler has stopped: no sweeps, webhooks or pushes start.",
        ])
        // The same event still waits with nothing working on it: the applier has stopped too.
        clock.advance(milliseconds: 500)
        let later = try JSON.parse(t.get("/healthz", token: nil).body)
        #expect(later["applier"]?["state"]?.stringValue == "stalled")
        #expect(later["problems"]?.arrayValue?.count == 2)
        #expect(later["problems"]?.arrayValue?.last?.stringValue?.contains("the applier has stopped") == true)
    }

    @Test func anEventWaitingForARunThatHoldsTheAccountIsNotAStall() throws {
        let clock = TestMonotonicClock()
        let t = try TestGateway(monotonicClock: clock)
        t.gateway.healthReadings.limits.withLock {
            $0.applierStall = 0.3
            $0.readingsInterval = 0.02
        }
        let account = try #require(try t.gateway.accounts.createAccount(name: "Acme").accountId)
        try t.gateway.accounts.connect(accountId: account, tenantId: tenantA, tenantName: "Org A")
        // Another process (the command line's `sync`) runs the account.
        let (run, started) = try t.gateway.sync.startRun(accountId: account, trigger: .manual)
        #expect(started)
        #expect(try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef03-1111-4111-8111-111111111111",
                                                "2026-07-22T01:30:00.250")])).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        t.gateway.healthReadings.refresh()
        clock.advance(milliseconds: 500)
        let r = try t.get("/healthz", token: nil)
        #expect(r.status == 200, "\(r.text)")
        #expect(try JSON.parse(r.body)["applier"]?["pendingEvents"]?.intValue == 1)
        var done = run
        done.state = .succeeded
        try t.gateway.sync.finishRun(done)
    }

    @Test func healthzProbesAStoreThatCannotWriteAtMostOnceASecondAndRecoversByItself() throws {
        let clock = TestMonotonicClock()
        let probes = Mutex(0), full = Mutex(true)
        var stores = GatewayStores.memory(MemoryStore())
        stores.probeWrite = { () throws(StoreError) in
            probes.withLock { $0 += 1 }
            if full.withLock({ $0 }) { throw StoreError(code: .sqlite(13), message: "database or disk is full") }
        }
        let t = try TestGateway(monotonicClock: clock, store: .stores(stores))
        /// The probe runs on its own thread: the count it reaches, once it has.
        func probed(_ n: Int) -> Bool {
            let deadline = Date().addingTimeInterval(5)
            while probes.withLock({ $0 }) < n && Date() < deadline { usleep(1_000) }
            usleep(10_000)  // its outcome is recorded just after it returns
            return probes.withLock { $0 } == n
        }
        _ = try t.get("/healthz", token: nil)  // nothing written yet: a probe starts
        #expect(probed(1))
        let failing = try t.get("/healthz", token: nil)
        #expect(failing.status == 503)
        #expect(try JSON.parse(failing.body)["store"]?["writable"]?.boolValue == false)
        // Within the second, however many checks: no second probe.
        clock.advance(milliseconds: 999)
        for _ in 0..<5 { #expect(try t.get("/healthz", token: nil).status == 503) }
        #expect(probed(1))
        // The disk has room again: the next probe, a second on, finds it.
        full.withLock { $0 = false }
        clock.advance(milliseconds: 1)
        _ = try t.get("/healthz", token: nil)
        #expect(probed(2))
        let recovered = try t.get("/healthz", token: nil)
        #expect(recovered.status == 200, "\(recovered.text)")
        #expect(try JSON.parse(recovered.body)["store"]?["writable"]?.boolValue == true)
    }

    // MARK: - GET /api/v1/operator/accounts

    @Test func operatorAccountsAreForOperatorsOnly() throws {
        let t = try TestGateway(store: .sqlite)
        let admin = try t.gateway.accounts.createAccount(name: "Acme")
        let staff = try t.gateway.accounts.createUser(accountId: admin.accountId, role: .staff)
        #expect(try t.get("/api/v1/operator/accounts", token: nil).status == 401)
        #expect(try t.get("/api/v1/operator/accounts", token: "xgw_forged").status == 401)
        for token in [admin.token, staff.token] {
            let r = try t.get("/api/v1/operator/accounts", token: token)
            #expect(r.status == 403)
            #expect(try JSON.parse(r.body)["error"]?["code"]?.stringValue == "forbidden")
        }
        let op = try t.operatorToken()
        #expect(try t.get("/api/v1/operator/accounts", token: op).status == 200)
        for q in ["limit=0", "limit=501", "limit=x", "cursor=%27%20OR%201", "cursor=" + String(repeating: "a", count: 101)] {
            let r = try t.get("/api/v1/operator/accounts?\(q)", token: op)
            #expect(r.status == 400, "\(q)")
        }
    }

    @Test func operatorAccountsArePagedAndShowEachAccountsHealth() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        var ids: [String] = []
        for i in 0..<7 { ids.append(try #require(try t.gateway.accounts.createAccount(name: "Account \(i)").accountId)) }
        let (connected, lapsed) = (ids[2], ids[5])
        try t.gateway.accounts.connect(accountId: connected, tenantId: tenantA, tenantName: "Org A")
        try t.gateway.accounts.connect(accountId: lapsed, tenantId: tenantB, tenantName: "Org B")
        try t.gateway.accounts.markNeedsReconnect(accountId: lapsed)
        // An event for each: the connected account's is applied at once (and fails: no tokens);
        // the lapsed account's waits in its inbox.
        #expect(try t.postWebhook(xeroPayload([
            (tenantA, "CONTACT", "UPDATE", "abcdef04-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250"),
            (tenantB, "CONTACT", "UPDATE", "abcdef05-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250"),
        ])).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        let deadline = Date().addingTimeInterval(10)
        while try t.gateway.sync.lastFinishedRun(accountId: connected, triggers: nil) == nil || t.gateway.syncEngine.nextSweepAt(accountId: connected) == nil,
              Date() < deadline { usleep(20_000) }

        var items: [JSON] = []
        var cursor: String?
        var pages = 0
        repeat {
            let r = try t.get("/api/v1/operator/accounts?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), token: op)
            #expect(r.status == 200)
            let page = try JSON.parse(r.body)
            items += page["items"]?.arrayValue ?? []
            cursor = page["nextCursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 10
        #expect(pages == 3)
        #expect(items.compactMap { $0["accountId"]?.stringValue } == ids.sorted())
        let byId = Dictionary(uniqueKeysWithValues: items.map { ($0["accountId"]?.stringValue ?? "", $0) })

        let a = try #require(byId[connected])
        #expect(a["connection"]?.stringValue == "connected")
        #expect(a["tenantId"]?.stringValue == tenantA && a["tenantName"]?.stringValue == "Org A")
        #expect(a["inboxBacklog"]?.intValue == 0)
        #expect(a["lastRun"]?["trigger"]?.stringValue == "webhook")
        #expect(a["lastRun"]?["state"]?.stringValue == "failed")
        #expect(a["lastRun"]?["finishedAt"]?.stringValue != nil)
        #expect(a["lastRun"]?["errors"]?.arrayValue?.isEmpty == false)
        #expect(a["nextSweepAt"]?.stringValue != nil)

        let b = try #require(byId[lapsed])
        #expect(b["connection"]?.stringValue == "needs_reconnect")
        #expect(b["inboxBacklog"]?.intValue == 1)
        #expect(b["nextSweepAt"] == .null)

        let idle = try #require(byId[ids[0]])
        #expect(idle["connection"]?.stringValue == "inactive" && idle["tenantId"] == .null && idle["syncing"]?.boolValue == false)
    }
}
