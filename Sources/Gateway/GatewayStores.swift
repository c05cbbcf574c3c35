import Logging
import Store
import Sync
import Timekeeping
import Workers
import Xero

/// Every store the gateway reads and writes, as repositories: SQLite (`sqlite(_:clock:)`, the
/// embedded default) or PostgreSQL (`postgres(_:clock:)`, shared by any number of gateways) in
/// production, chosen by `open(_:clock:)`; memory in tests (`memory(_:)`); any other backend that
/// implements the same protocols.
public struct GatewayStores: Sendable {
    public var accounts: any AccountRepository
    /// Browser sessions and OAuth states.
    public var sessions: any SessionRepository
    /// The accounts' sealed Xero tokens.
    public var tokens: any XeroTokenRepository
    /// SortScape's records (contacts, properties, materials, jobs, issues, visits).
    public var records: any SortScapeRecords
    /// Matches, sync runs and import batches.
    public var syncRuns: any XeroSyncRepository
    /// The sync engine's store: inbox claims, watermarks, bases, the outbox, conflicts.
    public var syncState: any SyncEngineRepository
    /// The webhook inbox's deliveries and their expansion into events.
    public var inbox: any WebhookInboxRepository
    /// The inbox's events, read side.
    public var inboxEvents: any WebhookEventRepository
    /// A small durable write that throws when the store cannot write (a full disk), for `/healthz`.
    public var probeWrite: @Sendable () throws(StoreError) -> Void
    /// Closes the store, after everything that uses it has stopped.
    public var close: @Sendable () -> Void
    /// The SQLite database under these stores, if that is what they are (operators' tools).
    public var database: Database?
    /// What the stores are, for `/healthz`: `sqlite`, `postgresql` or `memory`.
    public var backend: String
    /// Starts telling `wake` which accounts got pending events committed by other gateways
    /// sharing the store (PostgreSQL's `LISTEN`); returns how to stop. Nil for a store one
    /// process serves.
    public var listenForEvents: (@Sendable (_ wake: @escaping @Sendable (Set<String>) -> Void) -> @Sendable () -> Void)?

    public init(accounts: any AccountRepository, sessions: any SessionRepository, tokens: any XeroTokenRepository,
                records: any SortScapeRecords, syncRuns: any XeroSyncRepository, syncState: any SyncEngineRepository,
                inbox: any WebhookInboxRepository, inboxEvents: any WebhookEventRepository,
                probeWrite: @escaping @Sendable () throws(StoreError) -> Void = {},
                close: @escaping @Sendable () -> Void = {}, database: Database? = nil, backend: String = "memory") {
        self.accounts = accounts
        self.sessions = sessions
        self.tokens = tokens
        self.records = records
        self.syncRuns = syncRuns
        self.syncState = syncState
        self.inbox = inbox
        self.inboxEvents = inboxEvents
        self.probeWrite = probeWrite
        self.close = close
        self.database = database
        self.backend = backend
        listenForEvents = nil
    }

    /// The stores at `location` (`GATEWAY_DB`), opened and migrated; `clock` stamps them.
    public static func open(_ location: StoreLocation, clock: any WallClock = SystemWallClock()) throws(StoreError) -> GatewayStores {
        switch location {
        case .sqlite(let path): return .sqlite(try StoreError.catching { try Database(path: path) }, clock: clock)
        case .postgres(let url): return .postgres(try PostgresDatabase(url: url), clock: clock)
        }
    }

    /// The SQLite repositories over `database`, stamped by `clock`.
    public static func sqlite(_ database: Database, clock: any WallClock = SystemWallClock()) -> GatewayStores {
        var stores = sql(database, clock: clock, inbox: SQLiteWebhookInboxRepository(database: database, clock: clock),
                         probeWrite: { () throws(StoreError) in try StoreError.catching { try database.probeWrite() } },
                         backend: "sqlite")
        stores.database = database
        return stores
    }

    /// The PostgreSQL repositories over `database`, stamped by `clock`.
    public static func postgres(_ database: PostgresDatabase, clock: any WallClock = SystemWallClock()) -> GatewayStores {
        var stores = sql(database, clock: clock, inbox: PostgresWebhookInboxRepository(database: database),
                         probeWrite: { () throws(StoreError) in try database.probeWrite() }, backend: "postgresql")
        stores.listenForEvents = { wake in
            let listener = PostgresEventListener(database: database, wake: wake)
            return { listener.stop() }
        }
        return stores
    }

    /// The repositories written once for both SQL stores over `database`; the inbox's, the
    /// probe and the close differ by store.
    private static func sql<DB: SQLDatabase>(_ database: DB, clock: any WallClock, inbox: any WebhookInboxRepository,
                                             probeWrite: @escaping @Sendable () throws(StoreError) -> Void,
                                             backend: String) -> GatewayStores {
        GatewayStores(
            accounts: SQLAccountRepository(database: database, clock: clock),
            sessions: SQLSessionRepository(database: database),
            tokens: SQLXeroTokenRepository(database: database, clock: clock),
            records: SQLSortScapeRecords(database: database, clock: clock),
            syncRuns: SQLXeroSyncRepository(database: database, clock: clock),
            syncState: SQLSyncEngineRepository(database: database, clock: clock),
            inbox: inbox,
            inboxEvents: SQLWebhookEventRepository(database: database),
            probeWrite: probeWrite,
            close: { database.close() },
            backend: backend)
    }

    /// The memory repositories over `store` (its clock stamps them), for tests.
    public static func memory(_ store: MemoryStore) -> GatewayStores {
        GatewayStores(
            accounts: MemoryAccountRepository(store: store),
            sessions: MemorySessionRepository(store: store),
            tokens: MemoryXeroTokenRepository(store: store),
            records: MemorySortScapeRecords(store: store),
            syncRuns: MemoryXeroSyncRepository(store: store),
            syncState: MemorySyncEngineRepository(store: store),
            inbox: MemoryWebhookInboxRepository(store: store),
            inboxEvents: MemoryWebhookEventRepository(store: store))
    }
}

/// Xero as the gateway reaches it: Identity, the accounts' tokens, one rate limiter, and the
/// connector that hands the sync engine an accounting client per account. Built once, from the
/// configuration and the stores, by the gateway and by `xero-gateway sync` alike.
struct GatewayXero: Sendable {
    let identity: XeroIdentityClient
    let tokens: XeroTokenManager
    let limiter: XeroRateLimiter
    let connector: GatewayXeroConnector

    init(configuration: Configuration, stores: GatewayStores, identity: XeroIdentityClient? = nil,
         retry: XeroRetryPolicy, metrics: GatewayMetrics, clock: any WallClock, logger: Logger) throws {
        let identity = identity ?? configuration.xeroIdentity(retry: retry)
        self.identity = identity
        tokens = try XeroTokenManager(
            accounts: stores.accounts, tokens: stores.tokens, refresher: identity,
            secretKey: configuration.secretKey, previousSecretKey: configuration.previousSecretKey, clock: clock,
            logger: logger)
        limiter = XeroRateLimiter()
        connector = GatewayXeroConnector(accounts: stores.accounts, tokens: tokens, endpoints: identity.endpoints,
                                         limiter: limiter, retry: retry, metrics: metrics)
    }

    /// The sync engine over `stores`, reaching Xero through this connector on `workers`.
    func syncEngine(configuration: Configuration, stores: GatewayStores, workers: WorkerPool,
                    clock: any WallClock, logger: Logger) -> SyncEngine {
        SyncEngine(
            stores: SyncStores(runs: stores.syncRuns, engine: stores.syncState, records: stores.records,
                               accounts: stores.accounts),
            connector: connector, workers: workers, clock: clock,
            settings: SyncSettings(sweepInterval: Double(configuration.syncIntervalSeconds),
                                   pushDebounce: configuration.pushDebounceSeconds),
            logger: logger)
    }
}
