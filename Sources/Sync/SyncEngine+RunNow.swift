import Foundation
import Store

extension SyncEngine {
    /// Runs one sync of the account on the calling thread and returns how it ended, telling
    /// `progress` as it goes (`xero-gateway sync`, beside a running server or not). The store
    /// allows one running run per account across processes: while another is going on this
    /// waits up to `wait` seconds for it to end, then throws a `SyncError` naming it. Blocking.
    public func runNow(accountId: String, trigger: SyncTrigger, wait: Double = 0,
                       progress: SyncProgressObserver? = nil) throws -> SyncRunRecord {
        recordUnfinishedEnds()
        var tries = Int((max(0, wait) / 0.2).rounded(.up)) + 1  // real time: a test's clocks may stand still
        var run: SyncRunRecord
        while true {
            let claimed = state.withLock { s -> Bool in
                guard s.accounts[accountId]?.running == nil else { return false }
                s.accounts[accountId, default: AccountState()].running = SyncRunRecord(id: "", accountId: accountId, trigger: trigger)
                return true
            }
            var holder: SyncRunRecord?
            if claimed {
                let started: (run: SyncRunRecord, started: Bool)
                do { started = try stores.runs.startRun(accountId: accountId, trigger: trigger, owner: owner) } catch {
                    release(accountId)
                    throw error
                }
                if started.started {
                    run = started.run
                    break
                }
                release(accountId)
                holder = started.run
            } else {
                holder = state.withLock { $0.accounts[accountId]?.running }
            }
            tries -= 1
            if tries <= 0 { throw SyncError.runGoingOn(holder) }
            usleep(200_000)
        }
        state.withLock { $0.accounts[accountId]?.running = run }
        keepRunsAlive()
        let finished = execute(run, progress: progress)
        if [.scheduled, .manual, .reconcile, .initial].contains(trigger) {
            lastSweepEnd.store(clock.nowMilliseconds(), ordering: .relaxed)
        }
        release(accountId)
        return finished
    }

    /// Frees the account and starts what was asked for while it was held.
    func release(_ accountId: String) {
        let next = state.withLock { s -> SyncTrigger? in
            s.accounts[accountId]?.running = nil
            let next = SyncEngine.mostThorough(s.accounts[accountId]?.wanted ?? [])
            s.accounts[accountId]?.wanted = []
            return next
        }
        if let next { _ = try? requestSync(accountId: accountId, trigger: next) }
    }

    /// A sweep another process held the account for is tried again after a minute (or the
    /// sweep interval, if shorter), unless one is already due.
    func retrySweepLater(_ accountId: String) {
        let at = clock.nowMilliseconds() + Int64(min(60, settings.sweepInterval) * 1000)
        state.withLock { s in
            if s.accounts[accountId]?.nextSweepAt == nil { s.accounts[accountId, default: AccountState()].nextSweepAt = at }
        }
    }
}

extension SyncError {
    /// Another run holds the account (in this process or another).
    static func runGoingOn(_ run: SyncRunRecord?) -> SyncError {
        guard let run, !run.id.isEmpty else { return .busy }
        return SyncError(message: "Sync run \(run.id) (\(run.trigger.rawValue), started \(run.startedAt)) is still going on for this account; only one runs at a time, so try again once it has finished.")
    }
}
