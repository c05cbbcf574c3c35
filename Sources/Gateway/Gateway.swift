import Foundation
import HTTPServer
import Logging
import Store
import Xero

/// The running gateway: store, inbox, HTTP server and metrics, wired together.
public final class Gateway: Sendable {
    public let configuration: Configuration
    public let database: Database
    public let accounts: any AccountRepository
    public let inbox: WebhookInbox
    /// The inbox's events, read side.
    public let inboxEvents: any WebhookEventRepository
    /// SortScape's records (contacts, properties, materials, jobs, issues).
    public let records: any SortScapeRecords
    /// Matches, sync runs and import batches.
    public let sync: any XeroSyncRepository
    public let metrics: GatewayMetrics
    let verifier: WebhookVerifier
    let logger: Logger
    let server: Server
    let startedAt = Date()

    public init(configuration: Configuration, logger: Logger = Logger(label: "xero-gateway")) throws {
        self.configuration = configuration
        self.logger = logger
        database = try Database(path: configuration.databasePath)
        accounts = SQLiteAccountRepository(database: database)
        inbox = try WebhookInbox(database: database, reader: Gateway.readDelivery)
        inboxEvents = SQLiteWebhookEventRepository(database: database)
        records = SQLiteSortScapeRecords(database: database)
        sync = SQLiteXeroSyncRepository(database: database)
        try sync.failAbandonedRuns()
        metrics = GatewayMetrics(routes: Gateway.routes.map { ($0.method, $0.pattern) })
        verifier = WebhookVerifier(webhookKey: configuration.xeroWebhookKey)

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
        let serverConfig = ServerConfiguration(host: configuration.listenHost, port: configuration.listenPort,
                                               tlsKeyPEM: tlsKey, tlsCertPEM: tlsCert)
        let m = metrics
        // Routes capture the gateway weakly through a box set below, to avoid a cycle.
        let box = GatewayBox()
        Gateway.addRoutes(to: &router, box)
        server = Server(configuration: serverConfig, router: router) { method, route, status, seconds in
            m.observe(method: method, route: route, status: status, seconds: seconds)
        }
        box.gateway = self
    }

    /// Starts listening; returns the bound port.
    @discardableResult
    public func start() throws -> UInt16 {
        try server.start()
        logger.info("listening", metadata: [
            "address": "\(configuration.listenHost):\(server.port)",
            "tls": "\(configuration.tlsCertPath != nil)",
            "db": "\(configuration.databasePath)",
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
        database.close()
        logger.info("stopped")
    }

    /// Every endpoint: method, path pattern, handler.
    static let routes: [Route] = coreRoutes + recordRoutes

    static let coreRoutes: [Route] = [
        ("POST", "/webhooks/xero", { $0.receiveWebhook($1) }),
        ("GET", "/healthz", { .respond($0.health($1)) }),
        ("GET", "/metrics", { .respond(try $0.metricsText($1)) }),
        ("GET", "/api/v1/xero/events", { .respond(try $0.listEvents($1)) }),
    ]

    static func addRoutes(to router: inout Router, _ box: GatewayBox) {
        for r in routes {
            let handle = r.handle
            router.add(r.method, r.pattern) { request in
                guard let gateway = box.gateway else {
                    throw HTTPError(503, code: "shutting_down", message: "the gateway is stopping")
                }
                return try handle(gateway, request)
            }
        }
    }
}

final class GatewayBox: @unchecked Sendable {
    weak var gateway: Gateway?
}
