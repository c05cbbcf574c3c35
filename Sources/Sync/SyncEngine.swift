import Foundation
import Logging
import Store
import Synchronization
import Timekeeping
import Workers
import Xero

/// How often and how soon the engine acts.
public struct SyncSettings: Sendable {
    /// Seconds between sweeps of one account (R17; `SYNC_INTERVAL_SECONDS`).
    public var sweepInterval: Double
    /// Seconds a person's edit waits before it is pushed, so quick edits go in one call (R9).
    public var pushDebounce: Double
    /// Seconds events arriving together are gathered before they are applied (R16).
    public var webhookWindow: Double
    /// Seconds between full reconciliations of one account (R17).
    public var reconcileInterval: Double
    /// A failed event is tried again after this many seconds, doubling per attempt (capped at an hour).
    public var eventRetryBase: Double
    /// After this many attempts a failed event waits for a replay.
    public var eventMaxAttempts: Int
    /// Seconds the few contacts past the last full `GET Contacts?IDs=` (50 ids) of a webhook run
    /// may wait for the next delivery, when the tenant's events are still arriving (R16): they
    /// share its call instead of costing one of their own. Each waits at most once.
    public var webhookRemainderWait: Double
    /// Seconds between the heartbeats of this process's live runs (`SyncRunOwnership`).
    public var runHeartbeat: Double
    /// How long history is kept (pruned once a day): finished runs, in days…
    public var runRetentionDays: Double
    /// …though each account keeps at least its newest this many runs;
    public var keepRunsPerAccount: Int
    /// settled inbox events and their webhook bodies, in days (Xero may replay events for 31
    /// days: a replay of one still kept is recognised and changes nothing).
    public var eventRetentionDays: Double

    public init(sweepInterval: Double = 1800, pushDebounce: Double = 2, webhookWindow: Double = 0.05,
                reconcileInterval: Double = 86_400, eventRetryBase: Double = 5, eventMaxAttempts: Int = 8,
                webhookRemainderWait: Double = 0.25, runHeartbeat: Double = Double(SyncRunOwnership.interval) / 1000,
                runRetentionDays: Double = 30, keepRunsPerAccount: Int = 100, eventRetentionDays: Double = 31) {
        self.runHeartbeat = runHeartbeat
        self.runRetentionDays = runRetentionDays
        self.keepRunsPerAccount = keepRunsPerAccount
        self.eventRetentionDays = eventRetentionDays
        self.sweepInterval = sweepInterval
        self.pushDebounce = pushDebounce
        self.webhookWindow = webhookWindow
        self.webhookRemainderWait = webhookRemainderWait
        self.reconcileInterval = reconcileInterval
        self.eventRetryBase = eventRetryBase
        self.eventMaxAttempts = eventMaxAttempts
    }
}

/// The stores the engine works on.
public struct SyncStores: Sendable {
    public let runs: any XeroSyncRepository
    public let engine: any SyncEngineRepository
    public let records: any SortScapeRecords
    public let accounts: any AccountRepository

    public init(runs: any XeroSyncRepository, engine: any SyncEngineRepository, records: any SortScapeRecords,
                accounts: any AccountRepository) {
        self.runs = runs
        self.engine = engine
        self.records = records
        self.accounts = accounts
    }
}

/// The one way anything reaches Xero for an account. Every trigger — the first sync, webhooks,
/// the sweep, "Sync with Xero", the daily reconciliation, pushes of SortScape edits, and a
/// person's link — goes through it, one run at a time per account, each recorded as a sync run.
/// A request while a run goes on joins it, and anything that came in meanwhile runs right after.
///
/// Runs are carried out on the worker pool's threads (blocking calls are fine there); a
/// scheduler thread starts sweeps, gathered webhook events, debounced pushes and event retries
/// when they are due.
public final class SyncEngine: Sendable {
    public let stores: SyncStores
    let connector: any XeroConnector
    let workers: WorkerPool
    let clock: any WallClock
    /// For the short waits (webhook window, push debounce, backoff): tests move it instead of sleeping.
    let monotonic: any MonotonicClock
    public let settings: SyncSettings
    let logger: Logger
    let state = Mutex(EngineState())
    let wake = NSCondition()
    let stopped = Atomic<Bool>(false)
    let schedulerDone = Atomic<Bool>(true)
    /// When the scheduler last looked for due work (monotonic ms; 0: never), for `/healthz`.
    let lastTick = Atomic<Int64>(0)
    /// When a sweep of any account last ended in this process (wall ms; 0: none yet).
    let lastSweepEnd = Atomic<Int64>(0)
    /// This process, as the owner of the runs it carries out: while one lives, its heartbeat
    /// moves every `SyncRunOwnership.interval`, so another process (a server starting beside the
    /// command line's `sync`) never takes it for abandoned.
    public let owner = SyncRunOwnership.newOwner()

    struct AccountState {
        var running: SyncRunRecord?
        /// Triggers that came in while a run went on.
        var wanted: Set<SyncTrigger> = []
        /// Wall clock (ms): shown as `nextSyncAt`, and moved by a test's clock.
        var nextSweepAt: Int64?
        /// Monotonic (ms, `monotonicNow`): short waits that must pass whatever the wall clock does.
        var webhookDueAt: Int64?
        var pushDueAt: Int64?
        /// When the inbox last committed events for the account (monotonic ms).
        var eventsArrivedAt: Int64?
        /// Events a webhook run left for the next one (R16's remainder): never left twice.
        var deferredEvents: Set<Int64> = []
        var sweeps = 0
        /// After a failed run, webhook and push runs wait this long (monotonic ms), doubling per
        /// failure up to ten minutes, so a Xero that is down is not called every few seconds.
        var backoff: Int64 = 0
        var notBefore: Int64 = 0
        /// Until when (wall ms) this process holds the account's sweep lease (`takeSweep`).
        var sweepLeaseUntil: Int64 = 0
    }

    struct EngineState {
        var accounts: [String: AccountState] = [:]
        /// Accounts whose end of run the store refused, to be recorded before their next run.
        var unrecorded: [SyncRunRecord] = []
        /// When the store was last read for work (monotonic ms).
        var lastStoreScan: Int64?
        /// When runs other processes abandoned were last failed (monotonic ms).
        var lastAbandonedCheck: Int64?
        /// Whether the heartbeat thread is going (it ends once no run lives in this process).
        var heartbeating = false
        /// When history was last pruned (wall ms).
        var lastPrune: Int64?
    }

    public init(stores: SyncStores, connector: any XeroConnector, workers: WorkerPool, clock: any WallClock = SystemWallClock(),
                monotonic: any MonotonicClock = SystemMonotonicClock(),
                settings: SyncSettings = SyncSettings(), logger: Logger = Logger(label: "xero-gateway.sync")) {
        self.stores = stores
        self.connector = connector
        self.workers = workers
        self.clock = clock
        self.monotonic = monotonic
        self.settings = settings
        self.logger = logger
    }

    // MARK: - requests

    /// Starts a run for the account, or joins the one going on (its record comes back).
    @discardableResult
    public func requestSync(accountId: String, trigger: SyncTrigger) throws(StoreError) -> SyncRunRecord {
        recordUnfinishedEnds()
        let joined = state.withLock { s -> SyncRunRecord? in
            guard let running = s.accounts[accountId]?.running else { return nil }
            s.accounts[accountId, default: AccountState()].wanted.insert(trigger)
            return running
        }
        if let joined { return joined }
        return try start(accountId: accountId, trigger: trigger)
    }

    /// Starts a run now (nothing runs for the account in this process).
    func start(accountId: String, trigger: SyncTrigger) throws(StoreError) -> SyncRunRecord {
        // The account is claimed here first, so two starters in this process never both record a run.
        let joined = state.withLock { s -> SyncRunRecord? in
            if let running = s.accounts[accountId]?.running {
                s.accounts[accountId]?.wanted.insert(trigger)
                return running
            }
            s.accounts[accountId, default: AccountState()].running = SyncRunRecord(id: "", accountId: accountId, trigger: trigger)
            return nil
        }
        if let joined { return joined }
        let started: (run: SyncRunRecord, started: Bool)
        do { started = try stores.runs.startRun(accountId: accountId, trigger: trigger, owner: owner) } catch {
            release(accountId)
            if [.scheduled, .reconcile].contains(trigger) { retrySweepLater(accountId) }
            throw error
        }
        guard started.started else {
            // Another process runs the account (the command line's `sync`): a sweep comes back later.
            release(accountId)
            if [.scheduled, .reconcile].contains(trigger) { retrySweepLater(accountId) }
            return started.run
        }
        state.withLock { $0.accounts[accountId]?.running = started.run }
        keepRunsAlive()
        workers.submit { [self] in self.carryOut(started.run) }
        return started.run
    }

    /// Carries a run out, records it, and starts what was asked for meanwhile.
    func carryOut(_ started: SyncRunRecord) {
        let finished = execute(started)
        let next = state.withLock { s -> SyncTrigger? in
            var a = s.accounts[started.accountId] ?? AccountState()
            a.running = nil
            if [.scheduled, .manual, .reconcile, .initial].contains(started.trigger) {
                a.sweeps += 1
                a.nextSweepAt = clock.nowMilliseconds() + sweepDelay(started.accountId, a.sweeps)
                lastSweepEnd.store(clock.nowMilliseconds(), ordering: .relaxed)
            }
            if finished.state == .failed {
                a.backoff = min(600_000, max(2_000, a.backoff * 2))
                a.notBefore = monotonicNow() + a.backoff
            } else {
                a.backoff = 0
                a.notBefore = 0
            }
            let next = SyncEngine.mostThorough(a.wanted)
            a.wanted = []
            s.accounts[started.accountId] = a
            return next
        }
        logger.info("sync run finished", metadata: ["accountId": "\(finished.accountId)", "run": "\(finished.id)",
                                                     "trigger": "\(finished.trigger.rawValue)", "state": "\(finished.state.rawValue)",
                                                     "xeroCalls": "\(finished.xeroCalls)"])
        if let next {
            do { _ = try requestSync(accountId: started.accountId, trigger: next) } catch {
                logger.error("sync could not start", metadata: ["accountId": "\(started.accountId)", "error": "\(error)"])
            }
        }
    }

    /// One run that does the work of all these triggers.
    static func mostThorough(_ triggers: Set<SyncTrigger>) -> SyncTrigger? {
        for t in [SyncTrigger.initial, .reconcile, .manual, .scheduled, .push, .webhook] where triggers.contains(t) { return t }
        return triggers.first
    }

    /// Records the ends the store refused earlier; keeps the ones it still refuses.
    func recordUnfinishedEnds() {
        let pending = state.withLock { s -> [SyncRunRecord] in defer { s.unrecorded = [] }; return s.unrecorded }
        guard !pending.isEmpty else { return }
        let failed = pending.filter { (try? stores.runs.finishRun($0)) == nil }
        if !failed.isEmpty { state.withLock { $0.unrecorded += failed } }
    }

    /// Runs `body` as a run of the account (a person's link or "Create contact in Xero"): waits up
    /// to `wait` seconds for a run going on to end, then holds the account while `body` works.
    /// The account is held once this process has it and the store has the run: a run the store
    /// already holds (one another process runs, or one this engine is just starting) is waited
    /// for as well, never taken for a busy account at once. Blocking: call from a worker thread.
    public func perform<T>(accountId: String, trigger: SyncTrigger = .link, wait: Double = 25,
                           _ body: (SyncContext) throws -> T) throws -> T {
        var tries = max(1, Int(wait / 0.02))  // real time: a test's clocks may stand still
        let placeholder = SyncRunRecord(id: "", accountId: accountId, trigger: trigger)
        /// Lets the account go, starting what was asked for while it was held.
        func release() { self.release(accountId) }
        var run: SyncRunRecord?
        while run == nil {
            let claimed = state.withLock { s -> Bool in
                guard s.accounts[accountId]?.running == nil else { return false }
                s.accounts[accountId, default: AccountState()].running = placeholder
                return true
            }
            if claimed {
                let started: (run: SyncRunRecord, started: Bool)
                do { started = try stores.runs.startRun(accountId: accountId, trigger: trigger, owner: owner) } catch {
                    release()
                    throw error
                }
                if started.started { run = started.run; break }
                release()
            }
            tries -= 1
            if tries <= 0 { throw SyncError.busy }
            usleep(20_000)
        }
        defer { release() }
        guard let run else { throw SyncError.busy }
        state.withLock { $0.accounts[accountId]?.running = run }
        keepRunsAlive()
        let calls = CallCounter()
        var record = run
        do {
            guard let (client, tenantId) = try connector.accounting(for: accountId, observer: calls.record) else {
                throw SyncError.notConnected
            }
            let context = SyncContext(engine: self, accountId: accountId, tenantId: tenantId, xero: client)
            context.runId = run.id
            let result = try body(context)
            record.state = .succeeded
            record.counts = context.counts
            record.errors = context.errors
            record.xeroCalls = calls.count
            finish(record)
            return result
        } catch {
            record.state = .failed
            record.errors.append(SyncError.sentence(for: error))
            record.xeroCalls = calls.count
            finish(record)
            throw error
        }
    }

    /// Carries out a run's steps and records how it ended. Runs on a worker thread.
    @discardableResult
    func execute(_ started: SyncRunRecord, progress: SyncProgressObserver? = nil) -> SyncRunRecord {
        var run = started
        let calls = CallCounter()
        let tally = progress.map { ProgressTally(calls: calls, observer: $0) }
        var context: SyncContext?
        do {
            guard let (client, tenantId) = try connector.accounting(for: run.accountId, observer: { calls.record($0); tally?.report() }) else {
                throw SyncError.notConnected
            }
            let xero: any XeroAccounting = tally.map { ProgressReportingXero(inner: client, tally: $0) } ?? client
            let c = SyncContext(engine: self, accountId: run.accountId, tenantId: tenantId, xero: xero)
            c.runId = run.id
            context = c
            try c.run(run.trigger)
            run.state = .succeeded
        } catch {
            run.state = .failed
            run.errors.append(SyncError.sentence(for: error))
        }
        if let context {
            run.counts = context.counts
            run.errors = context.errors + run.errors
        }
        run.xeroCalls = calls.count
        return finish(run)
    }

    /// Records a run's end durably; a busy store gets a few more tries (a run left `running` is
    /// closed before the account's next request).
    @discardableResult
    func finish(_ run: SyncRunRecord) -> SyncRunRecord {
        var finished: SyncRunRecord?
        for attempt in 0..<3 where finished == nil {
            finished = try? stores.runs.finishRun(run)
            if finished == nil { Thread.sleep(forTimeInterval: 0.2 * Double(attempt + 1)) }
        }
        if finished == nil { state.withLock { $0.unrecorded.append(run) } }
        return finished ?? run
    }

    // MARK: - what starts runs

    /// The inbox committed events for these accounts: they are applied after a short window
    /// that gathers events arriving together into one `GET Contacts?IDs=…`.
    public func eventsArrived(accountIds: Set<String>) {
        guard !accountIds.isEmpty else { return }
        let mono = monotonicNow()
        let due = mono + Int64(settings.webhookWindow * 1000)
        state.withLock { s in
            for a in accountIds {
                s.accounts[a, default: AccountState()].eventsArrivedAt = mono
                // Sooner than a remainder's wait: the new events carry the remainder with them.
                let current = s.accounts[a]?.webhookDueAt ?? due
                s.accounts[a]?.webhookDueAt = min(current, due)
            }
        }
        signal()
    }

    /// Whether the account's events are still arriving: the inbox committed some within the
    /// remainder's wait, so a delivery is likely to follow (R16).
    func eventsStillArriving(accountId: String) -> Bool {
        let mono = monotonicNow()
        return state.withLock { s in
            s.accounts[accountId]?.eventsArrivedAt.map { mono - $0 <= Int64(settings.webhookRemainderWait * 1000) } ?? false
        }
    }

    /// Events an earlier run left for this one (they are fetched now, never left again).
    func deferredEvents(accountId: String) -> Set<Int64> {
        state.withLock { $0.accounts[accountId]?.deferredEvents ?? [] }
    }

    /// A webhook run leaves these events for the next run, due after the remainder's wait at the
    /// latest (sooner when more events arrive).
    func deferEvents(accountId: String, _ events: Set<Int64>) {
        let due = monotonicNow() + Int64(settings.webhookRemainderWait * 1000)
        state.withLock { s in
            s.accounts[accountId, default: AccountState()].deferredEvents = events
            let current = s.accounts[accountId]?.webhookDueAt ?? due
            if !events.isEmpty { s.accounts[accountId]?.webhookDueAt = min(current, due) }
        }
        signal()
    }

    /// A person changed a linked contact: it is pushed after the debounce (R9).
    public func contactEdited(accountId: String) {
        let due = monotonicNow() + Int64(settings.pushDebounce * 1000)
        state.withLock { s in
            if s.accounts[accountId]?.pushDueAt == nil { s.accounts[accountId, default: AccountState()].pushDueAt = due }
        }
        signal()
    }

    /// When the account's next sweep is due (ms), if it is scheduled.
    public func nextSweepAt(accountId: String) -> Int64? {
        state.withLock { $0.accounts[accountId]?.nextSweepAt }
    }

    /// Whether a run of the account is going on in this process.
    public func isRunning(accountId: String) -> Bool { state.withLock { $0.accounts[accountId]?.running != nil } }

    /// The delay before a sweep: the interval, jittered by ±10 %; the first one is spread over
    /// the interval by the account id, so accounts do not sweep together.
    func sweepDelay(_ accountId: String, _ sweeps: Int) -> Int64 {
        let interval = settings.sweepInterval * 1000
        if sweeps == 0 {
            var h: UInt64 = 1469598103934665603
            for b in accountId.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
            return Int64(Double(h % 10_000) / 10_000 * interval)
        }
        return Int64(interval * Double.random(in: 0.9...1.1))
    }

    /// Starts the heartbeat thread unless it is going: every `runHeartbeat` seconds (real
    /// time) it tells the store this process's runs are alive, and ends once none lives. Call
    /// after recording the run as running.
    func keepRunsAlive() {
        let start = state.withLock { s -> Bool in
            guard !s.heartbeating else { return false }
            s.heartbeating = true
            return true
        }
        guard start else { return }
        let t = Thread { [self] in
            while true {
                let until = Date().addingTimeInterval(settings.runHeartbeat)
                while Date() < until && !stopped.load(ordering: .acquiring) {
                    usleep(UInt32(min(50_000, max(1_000, settings.runHeartbeat * 1_000_000))))
                }
                let live = state.withLock { s -> Bool in
                    let live = s.accounts.values.contains { !($0.running?.id.isEmpty ?? true) }
                    if !live || stopped.load(ordering: .acquiring) { s.heartbeating = false }
                    return live
                }
                guard live, !stopped.load(ordering: .acquiring) else { return }
                beat()
            }
        }
        t.name = "sync-heartbeat"
        t.start()
    }

    /// Tells the store this process's runs are alive.
    func beat() {
        do { try stores.runs.heartbeat(owner: owner) } catch {
            logger.warning("sync runs' heartbeat not recorded", metadata: ["error": "\(error)"])
        }
    }

    /// Milliseconds on the monotonic clock.
    func monotonicNow() -> Int64 { monotonic.nowMilliseconds() }

    func signal() {
        wake.lock()
        wake.signal()
        wake.unlock()
    }

    /// Starts the scheduler thread.
    public func startScheduler() {
        guard schedulerDone.exchange(false, ordering: .acquiringAndReleasing) else { return }
        let t = Thread { [self] in
            defer { schedulerDone.store(true, ordering: .releasing) }
            while !stopped.load(ordering: .acquiring) {
                lastTick.store(monotonicNow(), ordering: .relaxed)
                tick()
                // Until the next window or debounce ends, and at least every 100 ms.
                let wait = secondsUntilNextDue()
                wake.lock()
                _ = wake.wait(until: Date().addingTimeInterval(wait))
                wake.unlock()
            }
        }
        t.name = "sync-scheduler"
        t.start()
    }

    /// Seconds until the earliest webhook window or push debounce ends, between 1 ms and 100 ms.
    func secondsUntilNextDue() -> Double {
        let mono = monotonicNow()
        let next = state.withLock { s in
            s.accounts.values.filter { $0.running == nil }
                .flatMap { a in [a.webhookDueAt, a.pushDueAt].compactMap { $0.map { max($0, a.notBefore) } } }.min()
        }
        guard let next else { return 0.1 }
        return min(0.1, max(0.001, Double(next - mono) / 1000))
    }

    /// Stops the scheduler (runs going on finish on their workers).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        signal()
        while !schedulerDone.load(ordering: .acquiring) { usleep(1_000) }
    }

    /// Starts what is due. Every 2 s it also reads the store: connected accounts (to schedule
    /// their sweeps), events whose retry is due, and pushes waiting since before a restart.
    func tick() {
        let now = clock.nowMilliseconds()
        let mono = monotonicNow()
        let scan = state.withLock { s -> Bool in
            guard s.lastStoreScan == nil || mono - s.lastStoreScan! >= 2_000 else { return false }
            s.lastStoreScan = mono
            return true
        }
        if scan { scanStore(now) }
        let due = state.withLock { s -> [(String, SyncTrigger)] in
            var due: [(String, SyncTrigger)] = []
            for (id, a) in s.accounts where a.running == nil {
                if let t = a.nextSweepAt, t <= now {
                    due.append((id, .scheduled))
                } else if mono < a.notBefore {
                    continue
                } else if let t = a.pushDueAt, t <= mono {
                    due.append((id, .push))
                } else if let t = a.webhookDueAt, t <= mono {
                    due.append((id, .webhook))
                } else { continue }
                if s.accounts[id]?.webhookDueAt.map({ $0 <= mono }) == true { s.accounts[id]?.webhookDueAt = nil }
                if s.accounts[id]?.pushDueAt.map({ $0 <= mono }) == true { s.accounts[id]?.pushDueAt = nil }
                if s.accounts[id]?.nextSweepAt.map({ $0 <= now }) == true { s.accounts[id]?.nextSweepAt = nil }
            }
            return due
        }
        for (accountId, trigger) in due {
            var t = trigger
            // Gateways sharing the store sweep each account once an interval between them.
            if t == .scheduled, !takeSweep(accountId, now: now) { continue }
            // A sweep becomes the daily reconciliation when the last one is a day old, or there
            // never was one (an account imported before the engine kept watermarks).
            if t == .scheduled, let read = Result(catching: { try stores.engine.watermark(accountId: accountId, .reconcile) }).ok,
               read.map({ now - $0 >= Int64(settings.reconcileInterval * 1000) }) ?? true {
                t = .reconcile
            }
            do { _ = try requestSync(accountId: accountId, trigger: t) } catch {
                logger.error("sync could not start", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            }
        }
    }

    /// Whether this process sweeps the account now: it holds the account's sweep lease, or takes
    /// it for most of an interval. When another gateway sharing the store holds it (it swept the
    /// account this interval), the sweep is skipped and the next comes an interval later.
    func takeSweep(_ accountId: String, now: Int64) -> Bool {
        if state.withLock({ ($0.accounts[accountId]?.sweepLeaseUntil ?? 0) > now }) { return true }
        // Shorter than the shortest interval (−10 %), so the holder's own next sweep finds it ended.
        let until = now + Int64(settings.sweepInterval * 800)
        let taken: Bool
        do { taken = try stores.engine.takeSweepLease(accountId: accountId, now: now, until: until) } catch {
            logger.error("sweep lease unavailable", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            retrySweepLater(accountId)
            return false
        }
        state.withLock { s in
            if taken {
                s.accounts[accountId, default: AccountState()].sweepLeaseUntil = until
            } else if s.accounts[accountId]?.nextSweepAt == nil {
                s.accounts[accountId, default: AccountState()].nextSweepAt = now + sweepDelay(accountId, max(1, s.accounts[accountId]?.sweeps ?? 0))
            }
        }
        return taken
    }

    func scanStore(_ now: Int64) {
        // Runs whose process stopped (a crash, a killed `sync`) are failed, so their accounts sync again.
        let mono = monotonicNow()
        let checkAbandoned = state.withLock { s -> Bool in
            guard s.lastAbandonedCheck.map({ mono - $0 >= SyncRunOwnership.interval * 3 }) ?? true else { return false }
            s.lastAbandonedCheck = mono
            return true
        }
        if checkAbandoned { try? stores.runs.failAbandonedRuns() }
        pruneHistoryIfDue(now)
        // A failed read is no news: it must not look like every account disconnected.
        guard let read = try? stores.accounts.connections() else { return }
        let connected = read.filter { $0.state == .connected }.map(\.accountId)
        let retries = (try? stores.engine.nextEventRetries()) ?? [:]
        let pending = Set((try? stores.engine.accountsWithClaimableEvents(now: now)) ?? [])
        let pushes = (try? stores.engine.outboundQueued()) ?? [:]
        let debounce = Int64(settings.pushDebounce * 1000)
        state.withLock { s in
            let live = Set(connected)
            // Every connected account has its next sweep: a first one spread over the interval, or
            // the next after one that could not start.
            for id in connected where s.accounts[id]?.nextSweepAt == nil && s.accounts[id]?.running == nil {
                let sweeps = s.accounts[id]?.sweeps ?? 0
                s.accounts[id, default: AccountState()].nextSweepAt = now + sweepDelay(id, sweeps)
            }
            for (id, a) in s.accounts where !live.contains(id) && a.nextSweepAt != nil { s.accounts[id]?.nextSweepAt = nil }
            for (id, t) in retries where live.contains(id) && t <= now && s.accounts[id]?.webhookDueAt == nil {
                s.accounts[id, default: AccountState()].webhookDueAt = mono
            }
            for id in pending where live.contains(id) && s.accounts[id]?.webhookDueAt == nil && s.accounts[id]?.running == nil {
                s.accounts[id, default: AccountState()].webhookDueAt = mono
            }
            for (id, queued) in pushes where live.contains(id) && s.accounts[id]?.pushDueAt == nil {
                s.accounts[id, default: AccountState()].pushDueAt = mono + max(0, queued + debounce - now)
            }
        }
    }
}

extension Result {
    /// The success value, or nil for a failure.
    var ok: Success? { if case .success(let v) = self { return v } else { return nil } }
}
