import Crypto
import Foundation
import Gateway
import HTTPClient
import InMemoryLogging
import Logging
import Store
import Testing
import Xero
import StrictJSON
import Timekeeping

/// A gateway on a free loopback port with its own database, driven over real HTTP.
final class TestGateway: Sendable {
    static let webhookKey = "test-webhook-key-\(UUID().uuidString)"
    let gateway: Gateway

    /// The SQLite database under the gateway (a test fails cleanly when there is none).
    var database: Database { get throws { try #require(gateway.database) } }
    let dir: String
    let client = HTTPClient()
    let verifier = WebhookVerifier(webhookKey: TestGateway.webhookKey)
    /// Everything this gateway logs (swift-log's in-memory handler, injected).
    let logs = InMemoryLogHandler()

    /// Where a test gateway keeps its data: the SQLite store (as in production) or memory.
    enum Backend {
        case sqlite, memory
        /// These stores, e.g. memory ones with a probe that fails.
        case stores(GatewayStores)
    }

    /// `monotonicClock`: what the throttle counts time by (a test moves it instead of sleeping).
    /// `store`: memory for what only needs the repositories' contract, SQLite for what reads the
    /// database itself (files, a full disk).
    init(extra: [String: String] = [:], monotonicClock: any MonotonicClock = SystemMonotonicClock(),
         store: Backend = .memory) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-gw-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var env = TestGateway.environment(dir: dir)
        env.merge(extra) { $1 }
        let logs = self.logs
        var logger = Logger(label: "xero-gateway") { _ in logs }
        logger.logLevel = .trace
        let configuration = try Configuration.load(environment: env)
        switch store {
        case .sqlite:
            gateway = try Gateway(configuration: configuration, logger: logger, monotonicClock: monotonicClock)
        case .memory:
            gateway = try Gateway(configuration: configuration, stores: .memory(MemoryStore()), logger: logger,
                                  monotonicClock: monotonicClock)
        case .stores(let stores):
            gateway = try Gateway(configuration: configuration, stores: stores, logger: logger, monotonicClock: monotonicClock)
        }
        try gateway.start()
    }

    static func environment(dir: String) -> [String: String] {
        [
            "GATEWAY_LISTEN": "127.0.0.1:0",
            "GATEWAY_DB": "\(dir)/gateway.sqlite",
            "GATEWAY_SECRET_KEY": Base64.encode(Crypto.randomBytes(32)),
            "XERO_CLIENT_ID": "test-client",
            "XERO_CLIENT_SECRET": "test-client-secret",
            "XERO_WEBHOOK_KEY": webhookKey,
        ]
    }

    deinit { gateway.shutdown() }

    /// The log so far, one line per entry: level, message, metadata, error.
    var logText: String {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata) \($0.error.map { "\($0)" } ?? "")" }
            .joined(separator: "\n")
    }

    var base: String { "http://127.0.0.1:\(gateway.port)" }

    func request(_ method: String, _ path: String, headers: [(String, String)] = [], body: [UInt8] = []) throws -> ClientResponse {
        try client.send(ClientRequest(method: method, url: base + path,
                                      headers: headers.map { (name: $0.0, value: $0.1) }, body: body))
    }

    /// POSTs a webhook body; `signature` nil means "sign it correctly", "" means no header.
    func postWebhook(_ body: [UInt8], signature: String? = nil) throws -> ClientResponse {
        let sig = signature ?? verifier.signature(for: body)
        return try request("POST", "/webhooks/xero", headers: sig.isEmpty ? [] : [("x-xero-signature", sig)], body: body)
    }

    func get(_ path: String, token: String?) throws -> ClientResponse {
        try request("GET", path, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Every event in the inbox, as an operator sees it through the events API.
    func allEvents(token: String, status: String? = nil) throws -> [JSON] {
        var items: [JSON] = []
        var cursor: String? = nil
        repeat {
            var path = "/api/v1/xero/events?limit=500"
            if let status { path += "&status=\(status)" }
            if let cursor { path += "&cursor=\(cursor)" }
            let page = try JSON.parse(get(path, token: token).body)
            items += page["items"]?.arrayValue ?? []
            cursor = page["nextCursor"]?.stringValue
        } while cursor != nil
        return items
    }

    func deliveryCount() throws -> Int {
        try database.read { try $0.query("SELECT COUNT(*) AS n FROM webhook_deliveries").first!.int("n")! }
    }

    func operatorToken() throws -> String { try gateway.accounts.createUser(accountId: nil, role: .operator).token }
}

/// A Xero webhook body with the given events, as Xero formats it.
func xeroPayload(_ events: [(tenant: String, category: String, type: String, resource: String, date: String)]) -> [UInt8] {
    let items = events.map { e in
        """
        {"resourceUrl":"https://api.xero.com/api.xro/2.0/\(e.category == "INVOICE" ? "Invoices" : "Contacts")/\(e.resource)",\
        "resourceId":"\(e.resource)","tenantId":"\(e.tenant)","tenantType":"ORGANISATION",\
        "eventCategory":"\(e.category)","eventType":"\(e.type)","eventDateUtc":"\(e.date)"}
        """
    }.joined(separator: ",")
    return Array("{\"events\":[\(items)],\"firstEventSequence\":1,\"lastEventSequence\":\(events.count),\"entropy\":\"\(UUID().uuidString)\"}".utf8)
}

let tenantA = "0b1c2d3e-4f50-4617-8293-a4b5c6d7e8f9"
let tenantB = "1c2d3e4f-5061-4728-93a4-b5c6d7e8f90a"
