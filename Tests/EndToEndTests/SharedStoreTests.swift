import Crypto
import Foundation
import Gateway
import HTTPClient
import Logging
import Store
import StrictJSON
import Testing
import Xero

/// A gateway on either store says which instance answered and which store it has; on
/// PostgreSQL it is unhealthy while it cannot reach its tables and recovers by itself (issue 14).
@Suite(.serialized) struct SharedStoreTests {
    @Test(arguments: StoreBackend.all)
    func healthzAndMetricsNameTheInstanceAndItsStore(_ backend: StoreBackend) throws {
        let p = try ConnectPair(extra: ["GATEWAY_INSTANCE": "gw-a"], realSync: true, backend: backend)
        let h = try p.health { $0["status"]?.stringValue == "ok" }
        #expect(h["status"]?.stringValue == "ok", "\(h)")
        #expect(h["instance"]?.stringValue == "gw-a")
        #expect(h["store"]?["backend"]?.stringValue == (backend == .postgres ? "postgresql" : "sqlite"))
        let operatorToken = try p.gateway.accounts.createUser(accountId: nil, role: .operator).token
        let metrics = try p.request("GET", "/metrics", bearer: operatorToken).text
        #expect(metrics.contains(#"xero_gateway_instance{instance="gw-a",store="\#(h["store"]?["backend"]?.stringValue ?? "")"} 1"#), "\(metrics.prefix(400))")
    }

    @Test(.enabled(if: StoreBackend.testURL != nil, "XG_TEST_POSTGRES_URL is not set"))
    func onPostgreSQLHealthzIs503WhileTheStoreCannotBeReachedAndRecovers() throws {
        let p = try ConnectPair(realSync: true, backend: .postgres)
        let schema = try #require(p.schema), url = try #require(StoreBackend.testURL)
        #expect(try p.health { $0["status"]?.stringValue == "ok" }["status"]?.stringValue == "ok")
        // The gateway's tables out of its reach (as if its database were gone): no read, no write.
        let admin = try PostgresDatabase(url: url)
        defer { admin.close() }
        try admin.write { c in try c.execute("ALTER SCHEMA \(schema) RENAME TO \(schema)_away") }
        let down = try p.health { $0["store"]?["readable"]?.boolValue == false && $0["store"]?["writable"]?.boolValue == false }
        #expect(try p.request("GET", "/healthz").status == 503)
        #expect(down["store"]?["ok"]?.boolValue == false, "\(down)")
        let problems = down["problems"]?.arrayValue?.compactMap(\.stringValue) ?? []
        #expect(problems.contains("The store cannot be read.") && problems.contains { $0.hasPrefix("The store cannot write") }, "\(problems)")
        // A signed webhook is refused rather than acknowledged unstored (Xero sends it again).
        let body = #"{"events":[],"firstEventSequence":1,"lastEventSequence":1,"entropy":"ABCDEFGHIJ"}"#
        let signature = Base64.encode(Crypto.hmacSHA256(key: Array(p.webhookKey.utf8), message: Array(body.utf8)))
        let refused = try p.request("POST", "/webhooks/xero", headers: [("x-xero-signature", signature)], body: body)
        #expect(refused.status >= 500, "\(refused.status) \(refused.text)")
        try admin.write { c in try c.execute("ALTER SCHEMA \(schema)_away RENAME TO \(schema)") }
        let up = try p.health { $0["status"]?.stringValue == "ok" }
        #expect(up["status"]?.stringValue == "ok", "\(up)")
        #expect(try p.request("POST", "/webhooks/xero", headers: [("x-xero-signature", signature)], body: body).status == 200)
    }

    /// Two gateways on one PostgreSQL database: Xero's webhooks go to the second, the account was
    /// connected and imported through the first; the change is applied once and both show it.
    @Test(.enabled(if: StoreBackend.testURL != nil, "XG_TEST_POSTGRES_URL is not set"))
    func twoGatewaysOnOneDatabaseShareTheWebhooksAndApplyEachEventOnce() throws {
        let k = KeepInStepTests()
        let (p, admin, tenant) = try k.connected(backend: .postgres)
        var env = p.environment
        env["GATEWAY_INSTANCE"] = "gw-b"
        let second = try Gateway(configuration: Configuration.load(environment: env), logger: Logger(label: "gw-b"),
                                 xeroRetry: XeroRetryPolicy(attempts: 3, baseDelay: 0.01, maxDelay: 0.02, timeout: 3))
        try second.start()
        defer { second.shutdown() }
        let secondBase = "http://127.0.0.1:\(second.port)"
        p.simulator.setWebhookURL(secondBase + "/webhooks/xero")
        let kauri = try k.contact(p, admin, named: "Kauri Landscapes")
        let xid = try #require(kauri["xeroContactId"]?.stringValue)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "shared@kauri.nz"}"#)
        // Seen through the first gateway (the one Xero did not send it to).
        try k.eventually("the change through the first gateway") {
            try k.contact(p, admin, named: "Kauri Landscapes")["email"]?.stringValue == "shared@kauri.nz"
        }
        let client = HTTPClient()
        let viaSecond = try client.send(ClientRequest(method: "GET", url: secondBase + "/api/v1/contacts?limit=500",
                                                      headers: [(name: "Authorization", value: "Bearer \(admin)")], body: []))
        #expect(viaSecond.status == 200 && viaSecond.text.contains("shared@kauri.nz"))
        try k.eventually("no pending events") {
            (try JSON.parse(p.request("GET", "/api/v1/xero/events?status=pending", bearer: admin).body)["items"]?.arrayValue ?? []).isEmpty
        }
        let applied = try JSON.parse(p.request("GET", "/api/v1/xero/events?status=applied", bearer: admin).body)["items"]?.arrayValue ?? []
        #expect(!applied.isEmpty && applied.allSatisfy { $0["attempts"]?.intValue == 1 }, "each event applied once: \(applied)")
        let health = try JSON.parse(try client.send(ClientRequest(method: "GET", url: secondBase + "/healthz", headers: [], body: [])).body)
        #expect(health["instance"]?.stringValue == "gw-b" && health["store"]?["backend"]?.stringValue == "postgresql")
    }
}
