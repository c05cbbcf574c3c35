import Foundation

/// What `/healthz` asks of the engine: whether its scheduler is alive, and when a sweep last ended.
extension SyncEngine {
    /// Whether the scheduler thread is running (it looks for due work every 0.1 s).
    public var schedulerRunning: Bool { !schedulerDone.load(ordering: .acquiring) }

    /// Seconds since the scheduler last looked for due work; nil if it never has.
    public var secondsSinceSchedulerTick: Double? {
        let last = lastTick.load(ordering: .relaxed)
        guard last > 0 else { return nil }
        return Double(max(0, monotonicNow() - last)) / 1000
    }

    /// When a sweep (a scheduled, manual, reconcile or initial run, whatever its outcome) of any
    /// account last ended in this process, in ms since the epoch; nil before the first.
    public var lastSweepEndedAt: Int64? {
        let last = lastSweepEnd.load(ordering: .relaxed)
        return last > 0 ? last : nil
    }

}
