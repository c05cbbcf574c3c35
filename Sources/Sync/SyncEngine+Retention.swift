import Foundation
import Store
import Timekeeping

extension SyncEngine {
    /// What `pruneHistory` keeps at `now` (wall ms), from the settings.
    func retention(at now: Int64) -> HistoryRetention {
        let day = 86_400_000.0
        return HistoryRetention(
            runsEndedBefore: Timestamp.format(millisecondsSinceEpoch: now - Int64(settings.runRetentionDays * day)),
            keepRunsPerAccount: settings.keepRunsPerAccount,
            eventsReceivedBefore: Timestamp.format(millisecondsSinceEpoch: now - Int64(settings.eventRetentionDays * day)))
    }

    /// Once a day (and at start) the scheduler prunes old runs, settled events and webhook
    /// bodies on a worker, so the store does not grow forever.
    func pruneHistoryIfDue(_ now: Int64) {
        let due = state.withLock { s -> Bool in
            guard s.lastPrune.map({ now - $0 >= 86_400_000 }) ?? true else { return false }
            s.lastPrune = now
            return true
        }
        guard due else { return }
        workers.submit { [self] in
            do {
                let pruned = try stores.engine.pruneHistory(retention(at: now))
                logger.info("history pruned", metadata: ["runs": "\(pruned.runs)", "events": "\(pruned.events)",
                                                         "deliveries": "\(pruned.deliveries)"])
            } catch {
                // Tried again at the next day's scan.
                logger.warning("history not pruned", metadata: ["error": "\(error)"])
            }
        }
    }
}
