import Crypto
import Foundation
import Gateway
import HTTPClient
import Store
import Testing
import Xero
import XeroSimulator
import StrictJSON

/// A gateway and a simulator wired as in production: the simulator's webhooks go to the
/// gateway's endpoint, signed with the app's webhook key.
final class Pair: Sendable {
    let gateway: Gateway

    /// The SQLite database under the gateway (a test fails cleanly when there is none).
    var database: Database { get throws { try #require(gateway.database) } }
    let simulator: Simulator
    let client = HTTPClient()
    let operatorToken: String
    static let clientId = "e2e-client"
    static let clientSecret = "e2e-secret"

    init(webhookKey: String = "e2e-webhook-key-\(UUID().uuidString)", simulatorKey: String? = nil) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-e2e-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        simulator = Simulator(configuration: SimulatorConfiguration(
            clientId: Pair.clientId, clientSecret: Pair.clientSecret,
            redirectURIs: ["http://127.0.0.1/oauth/xero/callback"], webhookKey: simulatorKey ?? webhookKey))
        try simulator.start()
        gateway = try Gateway(configuration: Configuration.load(environment: [
            "GATEWAY_LISTEN": "127.0.0.1:0", "GATEWAY_DB": "\(dir)/gateway.sqlite",
            "GATEWAY_SECRET_KEY": Base64.encode(Crypto.randomBytes(32)),
            "XERO_CLIENT_ID": Pair.clientId, "XERO_CLIENT_SECRET": Pair.clientSecret, "XERO_WEBHOOK_KEY": webhookKey,
            "XERO_LOGIN_URL": simulator.baseURL, "XERO_IDENTITY_URL": simulator.baseURL, "XERO_API_URL": simulator.baseURL,
        ]))
        try gateway.start()
        simulator.setWebhookURL("http://127.0.0.1:\(gateway.port)/webhooks/xero")
        operatorToken = try gateway.accounts.createUser(accountId: nil, role: .operator).token
    }

    deinit {
        simulator.shutdown()
        gateway.shutdown()
    }

    /// A call to the simulator's control API (as a test or a Xero user at the keyboard would).
    @discardableResult
    func sim(_ method: String, _ path: String, _ body: String? = nil) throws -> JSON {
        let r = try client.send(ClientRequest(method: method, url: simulator.baseURL + path,
                                              headers: [("Content-Type", "application/json")],
                                              body: Array((body ?? "").utf8)))
        guard (200..<300).contains(r.status) else { throw SimError(status: r.status, body: r.text) }
        return r.body.isEmpty ? .null : try JSON.parse(r.body)
    }

    /// An organisation with a login that has connected it to the app (consent + token exchange),
    /// so Xero sends its webhooks.
    func connectedOrganisation(_ name: String) throws -> String {
        let tenant = try #require(try sim("POST", "/sim/organisations", #"{"name":"\#(name)"}"#)["tenantId"]?.stringValue)
        let email = "\(UUID().uuidString.prefix(8))@example.com"
        try sim("POST", "/sim/logins", #"{"email":"\#(email)","tenantIds":["\#(tenant)"]}"#)
        let redirect = try #require(try sim("POST", "/sim/consent", #"""
            {"login":"\#(email)","tenantIds":["\#(tenant)"],"clientId":"\#(Pair.clientId)",
             "redirectUri":"http://127.0.0.1/oauth/xero/callback","state":"s1",
             "scope":"openid offline_access accounting.contacts accounting.settings accounting.transactions"}
            """#)["redirect"]?.stringValue)
        let code = try #require(URLComponents(string: redirect)?.queryItems?.first { $0.name == "code" }?.value)
        let basic = Base64.encode(Array("\(Pair.clientId):\(Pair.clientSecret)".utf8))
        let token = try client.send(ClientRequest(
            method: "POST", url: simulator.baseURL + "/connect/token",
            headers: [("Authorization", "Basic \(basic)"), ("Content-Type", "application/x-www-form-urlencoded")],
            body: Array("grant_type=authorization_code&code=\(code)&redirect_uri=http%3A%2F%2F127.0.0.1%2Foauth%2Fxero%2Fcallback".utf8)))
        #expect(token.status == 200)
        return tenant
    }

    func waitForWebhooks(timeout: Double = 10) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if simulator.webhooksIdle && gateway.inbox.unexpandedDeliveries == 0 && gateway.inbox.queueDepth == 0 {
                return true
            }
            usleep(20_000)
        }
        return false
    }

    func events() throws -> [JSON] {
        let r = try client.send(ClientRequest(url: "http://127.0.0.1:\(gateway.port)/api/v1/xero/events?limit=500",
                                              headers: [("Authorization", "Bearer \(operatorToken)")]))
        return try JSON.parse(r.body)["items"]?.arrayValue ?? []
    }
}

struct SimError: Error { let status: Int; let body: String }

@Suite struct SimulatorWebhooksTests {
    @Test func r16_simulatorWebhooksAreAcceptedAndStoredAsDeduplicatedEvents() throws {
        let p = try Pair()
        let tenant = try p.connectedOrganisation("Harbour Test Ltd")
        let created = try p.sim("POST", "/sim/organisations/\(tenant)/contacts", #"""
            {"Contacts":[{"Name":"Ada Gardens","EmailAddress":"ada@example.com"},{"Name":"Bay Roofing"}],"returnIds":true}
            """#)
        let ids = try #require(created["ContactIDs"]?.arrayValue?.compactMap(\.stringValue) ?? created["ids"]?.arrayValue?.compactMap(\.stringValue),
                               "control API answered \(created.serialized)")
        try #require(ids.count == 2)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(ids[0])", #"{"EmailAddress":"ada@gardens.example"}"#)
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts/\(ids[1])/archive")
        #expect(p.waitForWebhooks())

        let status = try p.sim("GET", "/sim/webhooks")
        #expect(status["counters"]?["failures"]?.intValue ?? 0 == 0, "the gateway refused a simulator webhook: \(status.serialized.prefix(400))")
        #expect((status["counters"]?["eventsDelivered"]?.intValue ?? 0) >= 4)

        let events = try p.events().filter { $0["tenantId"]?.stringValue == tenant.lowercased() }
        let byResource = Dictionary(grouping: events) { $0["resourceId"]?.stringValue ?? "(none)" }
        #expect(Set(byResource.keys) == Set(ids.map { $0.lowercased() }))
        #expect(events.allSatisfy { $0["category"]?.stringValue == "CONTACT" && $0["state"]?.stringValue == "unrouted" })
        #expect(byResource[ids[0].lowercased()]?.map { $0["type"]?.stringValue ?? "(none)" }.sorted() == ["CREATE", "UPDATE"])
        #expect(byResource[ids[1].lowercased()]?.map { $0["type"]?.stringValue ?? "(none)" }.sorted() == ["CREATE", "UPDATE"])
    }

    @Test func r16_duplicatedSimulatorDeliveriesAreStoredOnce() throws {
        let p = try Pair()
        let tenant = try p.connectedOrganisation("Dup Test Ltd")
        try p.sim("POST", "/sim/faults", #"{"kind":"duplicate","count":5}"#)
        let created = try p.sim("POST", "/sim/organisations/\(tenant)/contacts",
                                #"{"generate":{"count":5,"prefix":"Dup Contact"}}"#)
        _ = created
        #expect(p.waitForWebhooks())
        let status = try p.sim("GET", "/sim/webhooks")
        #expect((status["counters"]?["duplicatesSent"]?.intValue ?? 0) > 0)
        let events = try p.events().filter { $0["tenantId"]?.stringValue == tenant.lowercased() }
        #expect(events.count == 5)
        #expect(Set(events.compactMap { $0["resourceId"]?.stringValue }).count == 5)
    }

    @Test func r16_intentToReceiveFromTheSimulatorPasses() throws {
        let p = try Pair()
        let report = try p.sim("POST", "/sim/webhooks/intent-to-receive", "{}")
        #expect(report["passed"]?.boolValue == true, "\(report.serialized.prefix(600))")
        #expect(try p.events().isEmpty)
    }

    @Test func r16_aSimulatorSigningWithAnotherKeyIsRefusedAndNothingIsStored() throws {
        let p = try Pair(webhookKey: "gateway-key", simulatorKey: "some-other-key")
        let tenant = try p.connectedOrganisation("Wrong Key Ltd")
        try p.sim("POST", "/sim/organisations/\(tenant)/contacts", #"{"Contacts":[{"Name":"Nobody Ltd"}]}"#)
        let deadline = Date().addingTimeInterval(5)
        var failures = 0
        while Date() < deadline && failures == 0 {
            failures = try p.sim("GET", "/sim/webhooks")["counters"]?["failures"]?.intValue ?? 0
            usleep(50_000)
        }
        #expect(failures > 0)
        #expect(try p.events().isEmpty)
        #expect(try p.database.read { try $0.query("SELECT COUNT(*) AS n FROM webhook_deliveries").first!.int("n")! } == 0)
    }
}
