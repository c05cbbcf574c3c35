import Foundation
import Store
@testable import Sync
import Testing
import Timekeeping
import Xero

/// The engine's scheduler, driven by clocks the test moves: no sleeping for windows, debounces,
/// sweeps or backoff.
@Suite struct SchedulerTests {
    /// A harness whose engine runs on a test monotonic clock, its account connected.
    func harness(_ settings: SyncSettings = SyncSettings(sweepInterval: 60, pushDebounce: 2, webhookWindow: 0.05))
        throws -> (SyncHarness, SyncEngine, TestMonotonicClock) {
        let h = try SyncHarness()
        try MemoryAccountRepository(store: h.store).connect(accountId: h.accountId, tenantId: "tenant-1", tenantName: "Harbour")
        let mono = TestMonotonicClock()
        let engine = SyncEngine(stores: SyncStores(runs: h.repository, engine: h.engineStore, records: h.records,
                                                   accounts: MemoryAccountRepository(store: h.store)),
                                connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock, monotonic: mono,
                                settings: settings)
        return (h, engine, mono)
    }

    func runs(_ h: SyncHarness) throws -> [SyncRunRecord] {
        #expect(h.workers.waitUntilIdle(timeout: 10))
        return try h.repository.runs(accountId: h.accountId, limit: 100, cursor: nil).items
    }

    @Test func r16_eventsAreAppliedOnceTheirWindowHasPassedAndNotBefore() throws {
        let (h, engine, mono) = try harness()
        engine.eventsArrived(accountIds: [h.accountId])
        engine.tick()
        #expect(try runs(h).isEmpty, "inside the 50 ms window")
        mono.advance(milliseconds: 50)
        engine.tick()
        let r = try runs(h)
        #expect(r.map(\.trigger) == [.webhook] && r.first?.state == .succeeded)
    }

    @Test func r16_eventsLeftPendingWithoutAWakeUpAreFoundByTheStoreScanEveryTwoSeconds() throws {
        let (h, engine, mono) = try harness()
        engine.tick()  // the first scan: nothing yet
        let input = InboxEventInput(tenantId: "tenant-1", category: "CONTACT", type: "UPDATE", resourceId: "x1",
                                    eventDateUtc: "2026-01-01T00:00:00.000Z", eventDateMilliseconds: 1)
        MemoryWebhookEventRepository(store: h.store).ingest([1], contents: DeliveryContents(events: [input]))
        mono.advance(milliseconds: 1_999)
        engine.tick()
        #expect(try runs(h).isEmpty)
        mono.advance(milliseconds: 1)
        engine.tick()
        let r = try runs(h)
        #expect(r.map(\.trigger) == [.webhook] && r.first?.counts["eventsIgnored"] == 1, "\(r)")
    }

    /// Delivers one signed payload's events (CONTACT updates of these Xero contacts) as the inbox does.
    func deliver(_ h: SyncHarness, _ engine: SyncEngine, _ ids: [String]) {
        let events = ids.map { InboxEventInput(tenantId: "tenant-1", category: "CONTACT", type: "UPDATE", resourceId: $0,
                                                eventDateUtc: "2026-01-01T00:00:00.000Z", eventDateMilliseconds: 1) }
        MemoryWebhookEventRepository(store: h.store).ingest(Array(ids.joined().utf8), contents: DeliveryContents(events: events))
        engine.eventsArrived(accountIds: [h.accountId])
    }

    /// Moves the monotonic clock in steps of 10 ms, ticking the scheduler and letting its runs end.
    func pass(_ h: SyncHarness, _ engine: SyncEngine, _ mono: TestMonotonicClock, milliseconds: Int64) {
        for _ in 0..<(milliseconds / 10) {
            mono.advance(milliseconds: 10)
            engine.tick()
            #expect(h.workers.waitUntilIdle(timeout: 10))
        }
    }

    @Test func r16_twoHundredWebhooksSpreadOverASecondCostAtMostFiveGetsAndEveryEventIsApplied() throws {
        let (h, engine, mono) = try harness()
        let ids = (0..<200).map { "x\($0)" }
        h.xero.state.withLock { $0.contacts = ids.map { FakeXero.contact($0, "Contact \($0)") } }
        engine.tick()  // the first store scan
        // Xero's deliveries as xero-sim sends them: one signed payload every 250 ms.
        var start = 0
        for size in [50, 51, 51, 48] {
            deliver(h, engine, Array(ids[start..<start + size]))
            start += size
            pass(h, engine, mono, milliseconds: 250)
        }
        pass(h, engine, mono, milliseconds: 300)  // the last remainder's wait at most
        let calls = h.xero.state.withLock { $0.idsPerCall }
        #expect(calls.count <= 5, "GET Contacts?IDs= calls of \(calls) ids")
        #expect(calls.allSatisfy { $0 <= 50 }, "\(calls)")
        let events = try h.engineStore.claimableEvents(accountId: h.accountId, now: h.clock.nowMilliseconds(), limit: 1000)
        #expect(events.isEmpty, "every event settled")
        let imported = try h.contacts().compactMap(\.xeroContactId)
        #expect(Set(imported) == Set(ids), "all 200 contacts imported (\(imported.count))")
    }

    @Test func r16_aLoneEventIsAppliedWithinTheWindowAndARemainderWaitsOnlyOnce() throws {
        let (h, engine, mono) = try harness()
        let ids = (0..<52).map { "x\($0)" }
        h.xero.state.withLock { $0.contacts = ids.map { FakeXero.contact($0, "Contact \($0)") } }
        engine.tick()
        deliver(h, engine, ["x0"])
        pass(h, engine, mono, milliseconds: 50)
        #expect(try h.contacts().compactMap(\.xeroContactId) == ["x0"], "applied once the 50 ms window passed")
        // 51 events and nothing after them: 50 now, the last one after the remainder's wait.
        deliver(h, engine, Array(ids[1...]))
        pass(h, engine, mono, milliseconds: 50)
        #expect(h.xero.state.withLock { $0.idsPerCall } == [1, 50])
        pass(h, engine, mono, milliseconds: 250)
        #expect(h.xero.state.withLock { $0.idsPerCall } == [1, 50, 1], "the remainder waited 250 ms, no more")
        #expect(try h.engineStore.claimableEvents(accountId: h.accountId, now: h.clock.nowMilliseconds(), limit: 100).isEmpty)
    }

    @Test func theSchedulerPrunesOldRunsOnceADay() throws {
        let h = try SyncHarness()  // not connected: no sweep comes due
        let mono = TestMonotonicClock()
        let engine = SyncEngine(stores: h.stores, connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock,
                                monotonic: mono, settings: SyncSettings(keepRunsPerAccount: 1))
        for _ in 0..<3 {
            var run = try h.repository.startRun(accountId: h.accountId, trigger: .webhook).run
            run.state = .succeeded
            _ = try h.repository.finishRun(run)
        }
        engine.tick()
        #expect(try runs(h).count == 3, "a fresh history is kept")
        h.clock.advance(milliseconds: 29 * 86_400_000)
        mono.advance(milliseconds: 2_000)
        engine.tick()
        #expect(try runs(h).count == 3, "29 days old: kept")
        h.clock.advance(milliseconds: 2 * 86_400_000)
        mono.advance(milliseconds: 2_000)
        engine.tick()
        #expect(try runs(h).count == 1, "31 days old: all but the account's newest run pruned")
    }

    @Test func r9_aPushWaitsForItsDebounce() throws {
        let (h, engine, mono) = try harness()
        engine.contactEdited(accountId: h.accountId)
        mono.advance(milliseconds: 1_999)
        engine.tick()
        #expect(try runs(h).isEmpty)
        mono.advance(milliseconds: 1)
        engine.tick()
        #expect(try runs(h).map(\.trigger) == [.push])
    }

    @Test func r17_aConnectedAccountIsSweptEachIntervalAndADayOldReconciliationMakesTheSweepAFullOne() throws {
        let (h, engine, _) = try harness()
        engine.tick()  // schedules the first sweep, spread over one interval
        let first = try #require(engine.nextSweepAt(accountId: h.accountId))
        #expect(first >= h.clock.nowMilliseconds() && first <= h.clock.nowMilliseconds() + 60_000)
        h.clock.set(millisecondsSinceEpoch: first)
        engine.tick()
        #expect(try runs(h).map(\.trigger) == [.reconcile], "never reconciled: the first sweep reads everything")
        let next = try #require(engine.nextSweepAt(accountId: h.accountId))
        #expect(next >= first + 54_000 && next <= first + 66_000, "the interval, ±10 %")
        h.clock.set(millisecondsSinceEpoch: next)
        engine.tick()
        #expect(try runs(h).map(\.trigger) == [.reconcile, .scheduled])
        h.clock.advance(milliseconds: 86_400_000)
        engine.tick()
        #expect(try runs(h).map(\.trigger) == [.reconcile, .scheduled, .reconcile])
    }

    /// Issue 14: two gateways on one store (two engines over the same tables) sweep each account
    /// once an interval between them, never once each.
    @Test func r17_twoInstancesSweepEachAccountOnceAnIntervalBetweenThem() throws {
        let (h, engine, _) = try harness()
        let other = SyncEngine(stores: SyncStores(runs: h.repository, engine: h.engineStore, records: h.records,
                                                  accounts: MemoryAccountRepository(store: h.store)),
                               connector: FakeConnector(xero: h.xero), workers: h.workers, clock: h.clock,
                               monotonic: TestMonotonicClock(), settings: SyncSettings(sweepInterval: 60, pushDebounce: 2, webhookWindow: 0.05))
        let start = h.clock.nowMilliseconds()
        var sweptAt: [Int64] = []
        for _ in 0..<360 {  // six minutes, a second at a time
            h.clock.advance(milliseconds: 1_000)
            engine.tick()
            other.tick()
            let sweeps = try runs(h).filter { [.scheduled, .reconcile].contains($0.trigger) }.count
            while sweptAt.count < sweeps { sweptAt.append(h.clock.nowMilliseconds() - start) }
        }
        // A first sweep within the first interval, then one every 54 to 66 s: five to seven in all.
        #expect((5...7).contains(sweptAt.count), "\(sweptAt)")
        #expect(zip(sweptAt, sweptAt.dropFirst()).allSatisfy { $1 - $0 >= 48_000 }, "two sweeps in one interval: \(sweptAt)")
    }

    @Test func aFailedRunHoldsWebhookAndPushRunsBackWithADoublingDelay() throws {
        let (h, engine, mono) = try harness()
        h.xero.state.withLock { $0.failures = Array(repeating: XeroAPIError(.server, status: 503, message: "down"), count: 2) }
        // A push that fails (the outbox has a row to send).
        _ = try h.records.contacts.insert(ContactRecord(id: "c1", accountId: h.accountId, name: "Kauri", xeroContactId: "x1", syncState: .linked))
        try h.records.contacts.modify(accountId: h.accountId, id: "c1") { $0.email = "k@k.nz" }
        engine.contactEdited(accountId: h.accountId)
        mono.advance(milliseconds: 2_000)
        engine.tick()
        #expect(try runs(h).last?.state == .failed)
        // Each round a person edits again (which makes the row due at once, whatever its own backoff).
        try h.records.contacts.modify(accountId: h.accountId, id: "c1") { $0.email = "k2@k.nz" }
        engine.contactEdited(accountId: h.accountId)
        mono.advance(milliseconds: 1_999)
        engine.tick()
        #expect(try runs(h).count == 1, "held back 2 s")
        mono.advance(milliseconds: 1)
        engine.tick()
        #expect(try runs(h).count == 2 && runs(h).last?.state == .failed)
        try h.records.contacts.modify(accountId: h.accountId, id: "c1") { $0.email = "k3@k.nz" }
        engine.contactEdited(accountId: h.accountId)
        mono.advance(milliseconds: 3_999)
        engine.tick()
        #expect(try runs(h).count == 2, "then 4 s")
        mono.advance(milliseconds: 1)
        engine.tick()
        #expect(try runs(h).count == 3 && runs(h).last?.state == .succeeded)
    }
}
