import Store

/// What the sync engine knows about an account, for `/api/v1/xero/status` and the Xero screen.
/// Until the engine is wired, every field is empty.
public struct XeroSyncSummary: Sendable, Equatable {
    /// When the last sync run finished (ISO-8601), if any.
    public var lastSync: String?
    /// How the last run ended (`succeeded`, `failed`), and its error sentences.
    public var lastSyncState: String?
    public var lastSyncErrors: [String]
    /// When the next scheduled sync is due (ISO-8601), if any.
    public var nextSyncAt: String?
    /// Whether a run is going on.
    public var syncing: Bool
    /// Suspected matches waiting for a decision (R7).
    public var pendingMatches: Int
    /// Contacts waiting to be archived (R10).
    public var waitingArchive: Int
    /// Accounting calls left in today's budget for the tenant, if known (R18).
    public var apiCallsLeftToday: Int?

    public init(lastSync: String? = nil, lastSyncState: String? = nil, lastSyncErrors: [String] = [], nextSyncAt: String? = nil,
                syncing: Bool = false, pendingMatches: Int = 0, waitingArchive: Int = 0, apiCallsLeftToday: Int? = nil) {
        self.lastSync = lastSync
        self.lastSyncState = lastSyncState
        self.lastSyncErrors = lastSyncErrors
        self.nextSyncAt = nextSyncAt
        self.syncing = syncing
        self.pendingMatches = pendingMatches
        self.waitingArchive = waitingArchive
        self.apiCallsLeftToday = apiCallsLeftToday
    }
}

/// Where the gateway reaches the sync engine. The defaults do nothing; the engine's wiring
/// replaces them (`gateway.hooks = GatewayHooks(requestSync: …, syncSummary: …)`).
public struct GatewayHooks: Sendable {
    /// Starts (or joins) a sync run for the account. Called after a connection is made
    /// (`.initial` the first time, `.manual` on a reconnect) and by "Sync with Xero" (`.manual`).
    /// Must not block: queue the work and return.
    public var requestSync: @Sendable (_ accountId: String, _ trigger: SyncTrigger) -> Void
    /// The account's sync figures for status and the screen. Must be quick (no Xero calls).
    public var syncSummary: @Sendable (_ accountId: String) -> XeroSyncSummary

    public init(requestSync: @escaping @Sendable (_ accountId: String, _ trigger: SyncTrigger) -> Void = { _, _ in },
                syncSummary: @escaping @Sendable (_ accountId: String) -> XeroSyncSummary = { _ in XeroSyncSummary() }) {
        self.requestSync = requestSync
        self.syncSummary = syncSummary
    }
}
