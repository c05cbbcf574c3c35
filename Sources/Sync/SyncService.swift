import Foundation
import Store
import Synchronization
import Xero

/// How Sync reaches Xero for an account: its tenant and an accounting client bound to its
/// tokens, or nil while the account is not connected. The gateway supplies it.
public protocol XeroConnector: Sendable {
    /// `observer` is told of every call the client makes (for the run's `xeroCalls`).
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)?
}

/// Runs syncs: one at a time per account (a request while one runs joins it), on the pool's
/// threads, each recorded as a sync run with its counts, Xero calls and errors.
public final class SyncService: Sendable {
    public let repository: any XeroSyncRepository
    let connector: any XeroConnector
    let workers: WorkerPool
    let onFinish: (@Sendable (SyncRunRecord) -> Void)?
    /// Ended runs whose end the store refused to record (a busy or full disk); recorded again
    /// before the next request, so a run can never stay `running` and hold the account's syncs.
    private let unrecorded = Mutex<[SyncRunRecord]>([])

    public init(repository: any XeroSyncRepository, connector: any XeroConnector, workers: WorkerPool,
                onFinish: (@Sendable (SyncRunRecord) -> Void)? = nil) {
        self.repository = repository
        self.connector = connector
        self.workers = workers
        self.onFinish = onFinish
    }

    /// Starts a sync for the account, or returns the run already going (same id).
    @discardableResult
    public func requestSync(accountId: String, trigger: SyncTrigger) throws(StoreError) -> SyncRunRecord {
        recordUnfinishedEnds()
        let (run, started) = try repository.startRun(accountId: accountId, trigger: trigger)
        if started { workers.submit { [self] in self.execute(run) } }
        return run
    }

    /// Records the ends the store refused earlier; keeps the ones it still refuses.
    func recordUnfinishedEnds() {
        let pending = unrecorded.withLock { p -> [SyncRunRecord] in defer { p = [] }; return p }
        let failed = pending.filter { (try? repository.finishRun($0)) == nil }
        if !failed.isEmpty { unrecorded.withLock { $0 += failed } }
    }

    /// Carries a run out and records how it ended. Runs on a worker thread.
    func execute(_ started: SyncRunRecord) {
        var run = started
        var counts: XeroImport.Counts = [:]
        let calls = CallCounter()
        do {
            guard let (client, tenantId) = try connector.accounting(for: run.accountId, observer: calls.record) else {
                throw SyncError.notConnected
            }
            try XeroImport(accountId: run.accountId, tenantId: tenantId, accounting: client, repository: repository)
                .run(counts: &counts)
            run.state = .succeeded
        } catch {
            run.state = .failed
            run.errors.append(SyncError.sentence(for: error))
        }
        run.counts = counts
        run.xeroCalls = calls.count
        // The end is recorded durably; a busy store gets a few more tries before giving up (a
        // run left `running` is then closed by the next request, see `requestSync`).
        var finished: SyncRunRecord?
        for attempt in 0..<3 where finished == nil {
            finished = try? repository.finishRun(run)
            if finished == nil { Thread.sleep(forTimeInterval: 0.2 * Double(attempt + 1)) }
        }
        if finished == nil { unrecorded.withLock { $0.append(run) } }
        onFinish?(finished ?? run)
    }
}

/// Counts the calls one run makes.
final class CallCounter: Sendable {
    private let n = Atomic<Int>(0)
    var count: Int { n.load(ordering: .relaxed) }
    @Sendable func record(_ r: XeroCallRecord) { n.add(1, ordering: .relaxed) }
}

/// Why a sync or a match could not be carried out, as a plain sentence for the person reading it.
public struct SyncError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public static let notConnected = SyncError(message: "This account is not connected to Xero; connect it on the Xero Integration screen.")

    /// The sentence a user sees for any failure during a sync.
    public static func sentence(for error: any Error) -> String {
        if let e = error as? SyncError { return e.message }
        if let e = error as? XeroAPIError {
            switch e.code {
            case .invalidGrant, .unauthorized:
                return "Xero no longer accepts this connection; reconnect to Xero on the Xero Integration screen."
            case .forbidden:
                return "Xero refused access to this organisation (it may have been disconnected, or a permission is missing); reconnect to Xero."
            case .rateLimited:
                return "Xero's limit on calls for this organisation was reached; the sync will carry on at its next run."
            case .server, .timeout, .transport:
                return "Xero could not be reached or did not answer in time (\(e.code)); the sync will carry on at its next run."
            case .validation:
                return "Xero refused the change: " + (e.validationErrors.isEmpty ? e.message : e.validationErrors.joined(separator: "; "))
            default:
                return "Xero answered unexpectedly (\(e)); the sync will try again at its next run."
            }
        }
        if let e = error as? StoreError { return "The gateway could not save the sync's results (\(e.code)); it will try again." }
        return "The sync failed: \(error)"
    }
}
