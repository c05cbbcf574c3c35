import Crypto
import Foundation
import HTTPServer
import Logging
import Mustache
import Store
import Sync
import Synchronization
import Timekeeping
import Workers
import Xero

/// The running gateway: store, inbox, HTTP server and metrics, wired together.
public final class Gateway: Sendable {
    public let configuration: Configuration
    /// Every store the gateway uses.
    public let stores: GatewayStores
    /// The SQLite database under the stores, when that is what they are.
    public let database: Database?
    public let accounts: any AccountRepository
    public let inbox: WebhookInbox
    /// The inbox's events, read side.
    public let inboxEvents: any WebhookEventRepository
    /// SortScape's records (contacts, properties, materials, jobs, issues).
    public let records: any SortScapeRecords
    /// Matches, sync runs and import batches.
    public let sync: any XeroSyncRepository
    public let metrics: GatewayMetrics
    /// Browser sessions and OAuth states.
    public let sessions: any SessionRepository
    /// Xero Identity: authorize URL, code exchange, refresh, revocation, connections.
    public let identity: XeroIdentityClient
    /// The accounts' Xero tokens (sealed at rest); the accounting client's token source.
    public let xeroTokens: XeroTokenManager
    /// Wall time for sessions, OAuth states and token expiry.
    public let clock: any WallClock
    /// Xero's limits for every tenant this gateway calls (R18), shared by all its clients.
    public let xeroLimiter: XeroRateLimiter
    /// Threads for sync runs, never the server's or Swift's cooperative pool.
    let syncWorkers: WorkerPool
    /// Threads for Xero calls a person waits for (linking a match), apart from long syncs.
    let interactiveWorkers: WorkerPool
    /// The sync engine: every run for an account (R5–R17), one at a time, recorded.
    public let syncEngine: SyncEngine
    /// The engine's store: inbox claims, watermarks, bases, the outbox, conflicts.
    public let syncState: any SyncEngineRepository
    /// R7: linking and dismissing suspected matches.
    let matchService: ContactMatches
    /// Connecting accounts to Xero (R2–R4): consents, choices, the lock, strays, resets.
    public let xeroConnections: XeroConnections
    let templates: MustacheLibrary
    private let hooksStore = Mutex(GatewayHooks())
    let verifier: WebhookVerifier
    /// Keys the sessions' CSRF tokens: a subkey of `GATEWAY_SECRET_KEY`, never the key itself.
    let csrfKey: [UInt8]
    let logger: Logger
    let server: Server
    let startedAt = Date()
    /// Whether the last durable write succeeded (webhook commits and probes), for `/healthz`.
    let writeHealth: StoreWriteHealth
    /// What `/healthz` reads from the store, once a second on its own thread.
    let healthReadings: HealthReadings
    /// Budgets for log lines an attacker (or a broken disk) could repeat at will.
    let rejectedWebhookLog = RateLimitedLog()
    let failedWebhookLog = RateLimitedLog()
    /// Refused sign-ins and bearer tokens: counted per client address, and their log lines.
    let authThrottle: AuthThrottle
    let authRefusalLog = RateLimitedLog()
    /// Time for the throttle and its log budget (a test moves it instead of sleeping).
    let monotonicClock: any MonotonicClock
    /// Stops listening for other gateways' events (a shared store only).
    let stopListening: (@Sendable () -> Void)?

    /// The production gateway: the store at `configuration.storeLocation` (SQLite or
    /// PostgreSQL). `clock`, `monotonicClock` and `xeroRetry` are for tests (expiry, throttling
    /// windows, quick retries); production keeps the defaults.
    public convenience init(configuration: Configuration, logger: Logger = Logger(label: "xero-gateway"),
                            clock: any WallClock = SystemWallClock(),
                            monotonicClock: any MonotonicClock = SystemMonotonicClock(),
                            xeroRetry: XeroRetryPolicy = XeroRetryPolicy()) throws {
        let stores = try GatewayStores.open(configuration.storeLocation, clock: clock)
        do {
            try self.init(configuration: configuration, stores: stores, logger: logger,
                          clock: clock, monotonicClock: monotonicClock, xeroRetry: xeroRetry)
        } catch {
            stores.close()
            throw error
        }
    }

    /// A gateway over `stores` (whatever backend they are), reaching Xero as `configuration`
    /// says (or through `xeroIdentity`), timed by `clock` (wall time: sessions, OAuth states, token
    /// expiry) and `monotonicClock` (throttling windows, health). It owns the stores from here on
    /// and closes them at `shutdown`.
    public init(configuration: Configuration, stores: GatewayStores, xeroIdentity: XeroIdentityClient? = nil,
                logger: Logger = Logger(label: "xero-gateway"), clock: any WallClock = SystemWallClock(),
                monotonicClock: any MonotonicClock = SystemMonotonicClock(),
                xeroRetry: XeroRetryPolicy = XeroRetryPolicy()) throws {
        // Everything the gateway and what it wires log goes through one escaping handler.
        let logger = logger.escaping()
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.monotonicClock = monotonicClock
        self.stores = stores
        authThrottle = AuthThrottle(perMinute: configuration.authFailuresPerMinute, clock: monotonicClock)
        database = stores.database
        accounts = stores.accounts
        sessions = stores.sessions
        metrics = GatewayMetrics(routes: Gateway.routes.map { ($0.method, $0.pattern) })
        metrics.nameInstance(configuration.instanceName, store: stores.backend)
        let xero = try GatewayXero(configuration: configuration, stores: stores, identity: xeroIdentity, retry: xeroRetry,
                                   metrics: metrics, clock: clock, logger: logger)
        identity = xero.identity
        xeroTokens = xero.tokens
        xeroLimiter = xero.limiter
        templates = try AdminTemplates.library()
        inbox = try WebhookInbox(repository: stores.inbox, clock: clock, monotonicClock: monotonicClock,
                                 reader: Gateway.readDelivery)
        inboxEvents = stores.inboxEvents
        records = stores.records
        sync = stores.syncRuns
        try sync.failAbandonedRuns()
        // Runs mostly wait (on Xero, its limits, fsync): enough threads that two accounts' long
        // imports or a throttled organisation do not hold every other account's webhooks back.
        syncWorkers = WorkerPool(threads: 8, name: "xero-sync")
        interactiveWorkers = WorkerPool(threads: 2, name: "xero-interactive")
        let syncLog = logger
        syncState = stores.syncState
        syncEngine = xero.syncEngine(configuration: configuration, stores: stores, workers: syncWorkers, clock: clock,
                                     logger: logger)
        matchService = ContactMatches(engine: syncEngine)
        // Routes and the connection service reach the gateway weakly through a box set below, to avoid a cycle.
        let box = GatewayBox()
        xeroConnections = XeroConnections(accounts: accounts, tokens: xeroTokens, identity: identity,
                                          requestSync: { box.gateway?.requestSync(accountId: $0, trigger: $1) },
                                          clock: clock, logger: logger)
        let engine = syncEngine
        inbox.eventsRouted.withLock { $0 = { engine.eventsArrived(accountIds: $0) } }
        verifier = WebhookVerifier(webhookKey: configuration.xeroWebhookKey)
        csrfKey = try SecretKey(configuration.secretKey).subkey(.csrf)
        writeHealth = StoreWriteHealth(probe: stores.probeWrite, clock: monotonicClock)
        healthReadings = HealthReadings(accounts: accounts, events: inboxEvents, clock: monotonicClock)

        var tlsKey: String?, tlsCert: String?
        if let k = configuration.tlsKeyPath, let c = configuration.tlsCertPath {
            guard let key = try? String(contentsOfFile: k, encoding: .utf8) else {
                throw ConfigurationError(setting: "GATEWAY_TLS_KEY", message: "cannot read \(k)")
            }
            guard let cert = try? String(contentsOfFile: c, encoding: .utf8) else {
                throw ConfigurationError(setting: "GATEWAY_TLS_CERT", message: "cannot read \(c)")
            }
            tlsKey = key
            tlsCert = cert
        }
        var router = Router()
        // HSTS on every answer whenever people reach the gateway over HTTPS, its own TLS or a proxy's.
        let serverConfig = ServerConfiguration(host: configuration.listenHost, port: configuration.listenPort,
                                               perAddressConnectionLimit: configuration.maxConnectionsPerAddress,
                                               connectionMemoryLimit: configuration.connectionMemoryLimit,
                                               tlsKeyPEM: tlsKey, tlsCertPEM: tlsCert,
                                               strictTransportSecurity: configuration.servesHTTPS
                                                   ? ServerConfiguration.defaultStrictTransportSecurity : nil)
        let m = metrics
        Gateway.addRoutes(to: &router, box)
        server = Server(configuration: serverConfig, router: router) { method, route, status, seconds in
            m.observe(method: method, route: route, status: status, seconds: seconds)
        }
        // Events another gateway sharing the store committed wake this one's engine too.
        stopListening = stores.listenForEvents?({ engine.eventsArrived(accountIds: $0) })
        box.gateway = self
        let repository = sync, limiter = xeroLimiter, accounts = self.accounts, syncState = self.syncState
        hooks = GatewayHooks(
            requestSync: { accountId, trigger in
                do { try engine.requestSync(accountId: accountId, trigger: trigger) } catch {
                    syncLog.error("sync could not start", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
                }
            },
            syncSummary: { accountId in
                let tenant = (try? accounts.connection(accountId: accountId))??.tenantId
                // The last sweep: a webhook or push run a moment later does not hide a failed sync.
                let last = (try? repository.lastFinishedRun(accountId: accountId, triggers: SyncTrigger.sweeps)) ?? nil
                return XeroSyncSummary(
                    lastSync: last?.finishedAt,
                    lastSyncState: last?.state.rawValue,
                    lastSyncErrors: last?.errors ?? [],
                    nextSyncAt: engine.nextSweepAt(accountId: accountId).map { Timestamp.format(millisecondsSinceEpoch: $0) },
                    syncing: engine.isRunning(accountId: accountId),
                    pendingMatches: (try? repository.pendingMatchCount(accountId: accountId)) ?? 0,
                    waitingArchive: (try? syncState.contactCount(accountId: accountId, syncState: .waitingArchive)) ?? 0,
                    apiCallsLeftToday: tenant.map { limiter.remainingToday($0) })
            })
        syncEngine.startScheduler()
        healthReadings.start()
    }

    /// Starts listening; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        try server.start()
        logger.info("listening", metadata: [
            "address": "\(configuration.listenHost):\(server.port)",
            "tls": "\(configuration.tlsCertPath != nil)",
            "db": "\(configuration.storeLocation)",
            "instance": "\(configuration.instanceName)",
        ])
        return server.port
    }

    public var port: UInt16 { server.port }

    /// Stops accepting, commits (and answers) every queued delivery, finishes in-flight
    /// requests, closes the store.
    public func shutdown() {
        logger.info("shutting down")
        server.quiesce()
        inbox.stop()
        if !server.shutdown(timeout: 10) {
            logger.error("deferred answers still outstanding after 10 s; leaving connections to the exiting process")
        }
        stopListening?()
        syncEngine.stop()
        healthReadings.stop()
        // After the server: a link request in flight still gets its worker.
        interactiveWorkers.stop()
        syncWorkers.stop()
        stores.close()
        logger.info("stopped")
    }

    /// The sync engine's entry points; no-ops until wired.
    public var hooks: GatewayHooks {
        get { hooksStore.withLock { $0 } }
        set { hooksStore.withLock { $0 = newValue } }
    }

    /// Asks the sync engine for a run (through `hooks.requestSync`).
    public func requestSync(accountId: String, trigger: SyncTrigger) {
        hooks.requestSync(accountId, trigger)
    }

    /// Every endpoint: method, path pattern, handler.
    static let routes: [Route] = coreRoutes + recordRoutes + syncRoutes + operatorRoutes + credentialRoutes + visitRoutes + matchScreenRoutes + xeroScreenRoutes
        + recordScreenRoutes

    static let coreRoutes: [Route] = [
        ("POST", "/webhooks/xero", { $0.receiveWebhook($1) }),
        ("GET", "/healthz", { .respond($0.health($1)) }),
        ("GET", "/metrics", { .respond(try $0.metricsText($1)) }),
        ("GET", "/api/v1/xero/events", { .respond(try $0.listEvents($1)) }),
        ("POST", "/api/v1/xero/events/{id}/replay", { .respond(try $0.replayEvent($1)) }),
        // Connecting (R1–R4): screens, OAuth and the JSON API.
        ("GET", "/admin", { .respond(try $0.adminHome($1)) }),
        ("POST", "/admin/login", { .respond(try $0.login($1)) }),
        ("POST", "/admin/logout", { .respond(try $0.logout($1)) }),
        ("GET", "/admin/xero", { .respond(try $0.xeroScreen($1)) }),
        ("POST", "/admin/xero/activate", { .respond(try $0.activateFromScreen($1)) }),
        ("POST", "/admin/xero/organisation", { try $0.chooseFromScreen($1) }),
        ("POST", "/admin/xero/sync", { .respond(try $0.syncFromScreen($1)) }),
        ("GET", "/oauth/xero/connect", { .respond(try $0.oauthConnect($1)) }),
        ("GET", "/oauth/xero/callback", { try $0.oauthCallback($1) }),
        ("GET", "/api/v1/xero/status", { .respond(try $0.xeroStatus($1)) }),
        ("POST", "/api/v1/xero/activate", { .respond(try $0.activateAPI($1)) }),
        ("POST", "/api/v1/xero/organisation", { try $0.chooseAPI($1) }),
    ]

    /// The headers of every JSON answer under `/api/v1/` (records, customers' details, sync
    /// state), errors and deferred answers included: never stored by a browser or a proxy, never
    /// sniffed as anything but JSON.
    static let apiHeaders = HTTPHeaders([("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")])

    static func addRoutes(to router: inout Router, _ box: GatewayBox) {
        router.addHeaders(apiHeaders, toPathsUnder: "/api/v1/")
        for r in routes {
            let handle = r.handle
            router.add(r.method, r.pattern) { request in
                guard let gateway = box.gateway else {
                    throw HTTPError(503, code: "shutting_down", message: "the gateway is stopping")
                }
                do { return try handle(gateway, request) } catch let error as StoreError {
                    throw Gateway.failure(for: error, logger: gateway.logger)
                }
            }
        }
    }
}

final class GatewayBox: @unchecked Sendable {
    weak var gateway: Gateway?
}
