import Foundation
import Store
import Timekeeping
import Xero

/// One run of the engine for one account: its Xero client and tenant, the stores, and what the
/// run did (counts by name and error sentences). The steps a run is made of live in
/// `SyncContext+Steps.swift`; applying Xero's contacts (R5–R10) in `SyncContext+Contacts.swift`.
public final class SyncContext: @unchecked Sendable {
    // Used by one worker thread at a time: the run's own.
    let engine: SyncEngine
    public let accountId: String
    public let tenantId: String
    let xero: any XeroAccounting
    /// The run this context carries out (idempotency keys name it, so a later write of the same
    /// values is a new write for Xero, never its cached answer to an earlier one).
    var runId: String = ""
    var counts: [String: Int] = [:]
    var errors: [String] = []
    /// R7's index over the account's contacts, built once per run when first needed.
    var matchIndex: ContactMatchIndex?
    var matchedXeroIds: Set<String>?

    init(engine: SyncEngine, accountId: String, tenantId: String, xero: any XeroAccounting) {
        self.engine = engine
        self.accountId = accountId
        self.tenantId = tenantId
        self.xero = xero
    }

    var store: any SyncEngineRepository { engine.stores.engine }
    var runs: any XeroSyncRepository { engine.stores.runs }
    var records: any SortScapeRecords { engine.stores.records }
    var now: Int64 { engine.clock.nowMilliseconds() }

    func count(_ name: String, _ n: Int = 1) {
        guard n != 0 else { return }
        counts[name, default: 0] += n
    }

    func note(_ error: String) {
        if !errors.contains(error) { errors.append(error) }
    }

    /// The steps of a run, by trigger.
    func run(_ trigger: SyncTrigger) throws {
        switch trigger {
        case .initial:
            try firstImport()
            try applyInboxEvents()
        case .webhook:
            try applyInboxEvents(deferRemainder: true)
            try pushOutboundChanges()
        case .push:
            try pushOutboundChanges()
            try applyInboxEvents()
        case .scheduled, .manual:
            try applyInboxEvents()
            try contactsSinceWatermark()
            try itemsSinceWatermark()
            try pushOutboundChanges()
            try archiveRetries()
        case .reconcile:
            try applyInboxEvents()
            try dailyReconciliation()
            try pushOutboundChanges()
            try archiveRetries()
        case .link, .invoice:
            break
        }
    }
}
