import Foundation
import Store
import Sync
import Synchronization
import Testing
import Xero

/// A person's action through the engine (`perform`: R7's link, R11, R14, R15) and the runs the
/// store holds.
@Suite struct PerformTests {
    @Test func aPersonsActionWaitsForARunTheStoreHoldsInsteadOfAnsweringBusyAtOnce() throws {
        let h = try SyncHarness()
        // A run the store holds and this engine has not claimed: another process's, or one this
        // engine is starting at that very moment (its row written, its claim not yet made).
        let (other, started) = try h.repository.startRun(accountId: h.accountId, trigger: .webhook)
        try #require(started)
        let outcome = Mutex<String?>(nil)
        let engine = h.service, account = h.accountId
        let t = Thread {
            let r = Result { try engine.perform(accountId: account, trigger: .invoice, wait: 10) { _ in "done" } }
            outcome.withLock { $0 = (try? r.get()) ?? "failed: \(r)" }
        }
        t.start()
        usleep(300_000)
        #expect(outcome.withLock { $0 } == nil, "still waiting for the run the store holds")
        var finished = other
        finished.state = .succeeded
        _ = try h.repository.finishRun(finished)
        let deadline = Date().addingTimeInterval(10)
        while outcome.withLock({ $0 }) == nil && Date() < deadline { usleep(10_000) }
        #expect(outcome.withLock { $0 } == "done")
        let runs = try h.repository.runs(accountId: h.accountId, limit: 10, cursor: nil).items
        #expect(runs.map(\.trigger) == [.webhook, .invoice] && runs.allSatisfy { $0.state == .succeeded })
    }

    @Test func r11_aContactCreatedInXeroWhoseAnswerWasLostIsFoundByItsContactNumberNotCreatedTwice() throws {
        let h = try SyncHarness()
        _ = try h.records.contacts.insert(ContactRecord(id: "c1", accountId: h.accountId, name: "Kowhai Nursery"))
        // Xero creates the contact, but its answer never arrives.
        h.xero.state.withLock { $0.lostContactAnswers = 1 }
        #expect(throws: (any Error).self) { try h.service.createContactInXero(accountId: h.accountId, contactId: "c1") }
        let made = try #require(h.xero.state.withLock { $0.contacts }.first)
        // Later (Xero has forgotten the idempotency key) and renamed in Xero meanwhile.
        h.xero.state.withLock { $0.contacts[0].name = "Kowhai Nurseries Ltd" }
        let linked = try h.service.createContactInXero(accountId: h.accountId, contactId: "c1")
        #expect(h.xero.state.withLock { $0.contacts.count } == 1, "no second Xero contact")
        #expect(linked.xeroContactId == made.contactID && linked.syncState == .linked)
        #expect(linked.name == "Kowhai Nurseries Ltd", "the Xero user's rename is kept")
    }

    @Test func aRunBeatsWhileItLivesSoAServerStartingBesideItDoesNotFailIt() throws {
        let h = try SyncHarness()
        let engine = SyncEngine(stores: h.stores, connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock,
                                settings: SyncSettings(runHeartbeat: 0.02))
        let outcome = try engine.perform(accountId: h.accountId, trigger: .link) { context -> String in
            let run = try #require(try h.repository.recentRuns(accountId: h.accountId, limit: 1).first)
            #expect(run.state == .running && run.owner == engine.owner)
            h.clock.advance(milliseconds: 61_000)  // the run has gone on for a minute
            let deadline = Date().addingTimeInterval(10)
            while try h.repository.run(accountId: h.accountId, id: run.id)?.heartbeatAt != h.clock.nowMilliseconds() && Date() < deadline {
                usleep(5_000)
            }
            try h.repository.failAbandonedRuns()  // a server starting in another process
            return try #require(try h.repository.run(accountId: h.accountId, id: run.id)).state.rawValue
        }
        #expect(outcome == "running", "its heartbeat kept it alive")
        #expect(try h.repository.recentRuns(accountId: h.accountId, limit: 1).first?.state == .succeeded)
    }
}
