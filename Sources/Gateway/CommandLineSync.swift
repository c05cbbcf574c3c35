import Foundation
import Logging
import Store
import StrictJSON
import Sync
import Timekeeping
import Workers
import Xero

/// `xero-gateway sync --account ID [--full]`: one sync of an account through the sync engine,
/// without the HTTP server, beside a running gateway or not. The store lets one run per account
/// go on at a time, whichever process started it: a run already going on is waited for (up to
/// `wait` seconds), then named in the refusal.
public enum CommandLineSync {
    /// Why no run was started, as a sentence for the operator.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let message: String
        public var description: String { message }
    }

    /// Told of a run's progress with the organisation's Xero calls left today (nil until Xero has answered).
    public typealias ProgressObserver = @Sendable (SyncProgress, _ callsLeftToday: Int?) -> Void

    /// Runs one sync of `accountId` — `full`: the reconciliation (trigger `reconcile`, everything
    /// read); otherwise the incremental sweep (`manual`) — and returns the run as the store
    /// recorded it, succeeded or failed. Throws `Refusal` when nothing ran: an unknown or
    /// unconnected account, another run going on past `wait` seconds, a store that cannot start
    /// a run. Blocking.
    public static func run(accountId: String, full: Bool, configuration: Configuration, database: Database,
                           wait: Double = 30, logger: Logger = Logger(label: "xero-gateway.sync"),
                           xeroRetry: XeroRetryPolicy = XeroRetryPolicy(),
                           progress: ProgressObserver? = nil) throws(Refusal) -> SyncRunRecord {
        try run(accountId: accountId, full: full, configuration: configuration, stores: .sqlite(database), wait: wait,
                logger: logger, xeroRetry: xeroRetry, progress: progress)
    }

    /// As `run(accountId:full:configuration:database:…)`, over `stores` (SQLite or PostgreSQL).
    public static func run(accountId: String, full: Bool, configuration: Configuration, stores: GatewayStores,
                           wait: Double = 30, logger: Logger = Logger(label: "xero-gateway.sync"),
                           xeroRetry: XeroRetryPolicy = XeroRetryPolicy(),
                           progress: ProgressObserver? = nil) throws(Refusal) -> SyncRunRecord {
        let connection: AccountConnection?
        do { connection = try stores.accounts.connection(accountId: accountId) } catch {
            throw Refusal(message: "The store could not be read: \(error)")
        }
        guard let connection else { throw Refusal(message: "No account has the id \(accountId).") }
        guard connection.state == .connected, let tenantId = connection.tenantId else {
            throw Refusal(message: "Account \(accountId) is not connected to Xero (its connection is \(connection.state.rawValue)); connect it on the Xero Integration screen first.")
        }
        let xero: GatewayXero
        do {
            xero = try GatewayXero(configuration: configuration, stores: stores, retry: xeroRetry, metrics: GatewayMetrics(),
                                   clock: SystemWallClock(), logger: logger)
        } catch {
            throw Refusal(message: "The token store could not be opened: \(error)")
        }
        let limiter = xero.limiter, runs = stores.syncRuns
        let workers = WorkerPool(threads: 1, name: "xero-sync-cli")
        defer { workers.stop() }
        let engine = xero.syncEngine(configuration: configuration, stores: stores, workers: workers,
                                     clock: SystemWallClock(), logger: logger)
        let finished: SyncRunRecord
        do {
            finished = try engine.runNow(accountId: accountId, trigger: full ? .reconcile : .manual, wait: wait) { p in
                progress?(p, p.xeroCalls > 0 ? limiter.remainingToday(tenantId) : nil)
            }
        } catch {
            throw Refusal(message: SyncError.sentence(for: error))
        }
        // What the store holds is what everyone else sees; ours only if the store lost it.
        if let stored = try? runs.run(accountId: accountId, id: finished.id), stored.state != .running { return stored }
        return finished
    }

    /// The exit status for a run: 0 when it succeeded, 1 when it failed. (A refusal is 2.)
    public static func exitStatus(_ run: SyncRunRecord) -> Int32 { run.state == .succeeded ? 0 : 1 }

    /// The progress line: pages and records read, calls made, calls left today.
    public static func progressLine(_ p: SyncProgress, callsLeftToday: Int?) -> String {
        var line = "sync: \(p.pages) \(p.pages == 1 ? "page" : "pages"), \(p.records) \(p.records == 1 ? "record" : "records"), "
            + "\(p.xeroCalls) Xero \(p.xeroCalls == 1 ? "call" : "calls")"
        if let callsLeftToday { line += ", \(callsLeftToday) left today" }
        return line
    }

    /// How the run ended, for a person: its state, calls and counts, then each error.
    public static func summaryLines(_ run: SyncRunRecord) -> [String] {
        let counts = run.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        var lines = ["sync \(run.id) (\(run.trigger.rawValue)) \(run.state.rawValue): \(run.xeroCalls) Xero \(run.xeroCalls == 1 ? "call" : "calls")"
            + (counts.isEmpty ? "" : "; " + counts.joined(separator: ", "))]
        lines += run.errors.map { "error: \($0)" }
        return lines
    }

    /// The run as `GET /api/v1/xero/sync-runs/{id}` shows it.
    public static func json(_ run: SyncRunRecord) -> JSON { run.json }
}
