import Foundation
import Gateway
import Testing
import Xero
import StrictJSON

@Suite struct EventsAPITests {
    @Test func r16_eventsAPIRefusesStrangersAndStaff() throws {
        let t = try TestGateway()
        let account = try t.gateway.accounts.createAccount(name: "Acme")
        let staff = try t.gateway.accounts.createUser(accountId: account.accountId, role: .staff)
        #expect(try t.get("/api/v1/xero/events", token: nil).status == 401)
        #expect(try t.get("/api/v1/xero/events", token: "xgw_forged").status == 401)
        let forbidden = try t.get("/api/v1/xero/events", token: staff.token)
        #expect(forbidden.status == 403)
        #expect(try JSON.parse(forbidden.body)["error"]?["code"]?.stringValue == "forbidden")
        #expect(try t.get("/api/v1/xero/events", token: account.token).status == 200)
        #expect(try t.request("GET", "/api/v1/xero/events", headers: [("authorization", "bearer \(account.token)")]).status == 200)
        #expect(try t.request("GET", "/api/v1/xero/events", headers: [("Authorization", "Basic \(account.token)")]).status == 401)
    }

    @Test func r16_badQueryParametersAre400() throws {
        let t = try TestGateway()
        let op = try t.operatorToken()
        for q in ["status=bogus", "limit=0", "limit=501", "limit=x", "cursor=-1", "cursor=abc"] {
            let r = try t.get("/api/v1/xero/events?\(q)", token: op)
            #expect(r.status == 400, "\(q)")
            #expect(try JSON.parse(r.body)["error"]?["code"]?.stringValue != nil)
        }
    }

    @Test func r16_eventsArePagedWithACursor() throws {
        let t = try TestGateway()
        let op = try t.operatorToken()
        for i in 0..<5 {
            let id = String(format: "%08x-1111-4111-8111-111111111111", i)
            #expect(try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", id, "2026-07-22T01:30:00.250")])).status == 200)
        }
        #expect(t.gateway.inbox.waitUntilExpanded())
        let first = try JSON.parse(t.get("/api/v1/xero/events?limit=2", token: op).body)
        #expect(first["items"]?.arrayValue?.count == 2)
        let cursor = try #require(first["nextCursor"]?.stringValue)
        let second = try JSON.parse(t.get("/api/v1/xero/events?limit=2&cursor=\(cursor)", token: op).body)
        #expect(second["items"]?.arrayValue?.first?["id"] != first["items"]?.arrayValue?.first?["id"])
        #expect(try t.allEvents(token: op).count == 5)
    }
}

@Suite struct HealthAndMetricsTests {
    @Test func healthzReportsStoreWorkersConnectionsAndBacklog() throws {
        let t = try TestGateway()
        let account = try t.gateway.accounts.createAccount(name: "Acme")
        // The store is read for health once a second.
        var r = try t.get("/healthz", token: nil)
        let deadline = Date().addingTimeInterval(3)
        while try JSON.parse(r.body)["accounts"]?["inactive"]?.intValue != 1, Date() < deadline {
            usleep(50_000)
            r = try t.get("/healthz", token: nil)
        }
        #expect(r.status == 200)
        let h = try JSON.parse(r.body)
        #expect(h["status"]?.stringValue == "ok")
        #expect(h["store"]?["ok"]?.boolValue == true)
        #expect(h["workers"]?["inboxWriter"]?.stringValue == "running")
        #expect(h["inboxBacklog"]?.intValue == 0)
        #expect(h["workers"]?["syncScheduler"]?.stringValue == "running")
        #expect(h["applier"]?["state"]?.stringValue == "running")
        #expect(h["problems"]?.arrayValue?.isEmpty == true)
        // Everyone sees counts by connection state, never account or tenant ids (an operator's
        // token changes nothing: each account is on /api/v1/operator/accounts).
        #expect(h["accounts"]?["inactive"]?.intValue == 1)
        #expect(!r.text.contains(account.accountId!))
        let d = try t.get("/healthz", token: try t.operatorToken())
        #expect(!d.text.contains(account.accountId!))
        #expect(try JSON.parse(d.body)["accounts"]?["inactive"]?.intValue == 1)
    }

    @Test func healthzIs503WhenTheInboxWriterIsDown() throws {
        let t = try TestGateway()
        t.gateway.inbox.stop()
        let r = try t.get("/healthz", token: nil)
        #expect(r.status == 503)
        #expect(try JSON.parse(r.body)["status"]?.stringValue == "unhealthy")
        // And a webhook that cannot be stored is not acknowledged, so Xero retries it.
        #expect(try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef00-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250")])).status == 503)
    }

    @Test func metricsCountWebhooksByOutcomeInboxDepthAndLatency() throws {
        let t = try TestGateway()
        _ = try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef01-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250")]))
        _ = try t.postWebhook(Array("{}".utf8), signature: "bad")
        #expect(t.gateway.inbox.waitUntilExpanded())
        let admin = try t.gateway.accounts.createAccount(name: "Acme").token
        #expect(try t.get("/metrics", token: nil).status == 401)
        #expect(try t.get("/metrics", token: admin).status == 403)
        let r = try t.get("/metrics", token: try t.operatorToken())
        #expect(r.status == 200)
        let text = r.text
        #expect(text.contains(#"xero_webhooks_total{outcome="accepted"} 1"#))
        #expect(text.contains(#"xero_webhooks_total{outcome="rejected"} 1"#))
        #expect(text.contains(#"xero_inbox_events{state="unrouted"} 1"#))
        #expect(text.contains("xero_inbox_pending_events 0"))
        #expect(text.contains(#"http_request_duration_seconds_count{method="POST",route="/webhooks/xero"} 2"#))
        #expect(text.contains(#"http_request_duration_seconds_count{method="GET",route="/metrics"} 2"#))
        // Made-up methods are counted together, so requests cannot create new series.
        for i in 0..<20 { _ = try t.request("M\(i)X", "/nowhere") }
        let after = try t.get("/metrics", token: try t.operatorToken()).text
        #expect(after.contains(#"http_request_duration_seconds_count{method="OTHER",route="unmatched"} 20"#))
        #expect(!after.contains("M7X"))
    }
}

@Suite struct SecretsTests {
    @Test func secretsNeverReachTheLog() throws {
        // Capture everything the gateway logs while it handles good and bad webhooks.
        let t = try TestGateway()
        let body = xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef02-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250")])
        let goodSignature = t.verifier.signature(for: body)
        _ = try t.postWebhook(body)
        _ = try t.postWebhook(body, signature: "AAAA" + goodSignature.dropFirst(4))
        let log = t.logText
        #expect(log.contains("webhook rejected"))  // the capture works: the bad delivery was logged
        #expect(!log.contains(TestGateway.webhookKey))
        #expect(!log.contains("test-client-secret"))
        #expect(!log.contains(String(goodSignature.dropFirst(4))))
    }
}
