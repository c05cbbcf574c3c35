import Crypto
import Foundation
import Gateway
import Store
import StrictJSON
import Testing

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
}
