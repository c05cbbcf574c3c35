import Crypto
import Foundation
import Store
import HTTPClient
import Synchronization
import Testing
import Xero
import StrictJSON

/// R16: `POST /webhooks/xero` as Xero and an operator see it, over real HTTP.
@Suite struct WebhookEndpointTests {
    @Test func r16_validSignatureIsStoredThen200WithNoBodyAndNoCookies() throws {
        let t = try TestGateway(store: .sqlite)
        let r = try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "UPDATE", "11111111-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250")]))
        #expect(r.status == 200)
        #expect(r.body.isEmpty)
        #expect(r.header("Set-Cookie") == nil)
        // Acknowledged means committed: visible to a separate connection at once.
        #expect(try t.deliveryCount() == 1)
    }

    @Test(arguments: [
        ("wrong key", "wrong"), ("tampered body", "tamper"), ("missing header", "missing"),
        ("non-base64 header", "garbage"), ("empty body, bad signature", "empty"),
    ])
    func r16_badOrMissingSignatureIs401AndStoresNothing(_ name: String, _ kind: String) throws {
        let t = try TestGateway(store: .sqlite)
        let body = xeroPayload([(tenantA, "CONTACT", "UPDATE", "22222222-2222-4222-8222-222222222222", "2026-07-22T01:30:00.250")])
        let r: ClientResponse
        switch kind {
        case "wrong": r = try t.postWebhook(body, signature: WebhookVerifier(webhookKey: "not-the-key").signature(for: body))
        case "tamper":
            var tampered = body
            tampered[10] = UInt8(ascii: "X")
            r = try t.postWebhook(tampered, signature: t.verifier.signature(for: body))
        case "missing": r = try t.postWebhook(body, signature: "")
        case "garbage": r = try t.postWebhook(body, signature: "%%%not-base64%%%")
        default: r = try t.postWebhook([], signature: t.verifier.signature(for: body))
        }
        #expect(r.status == 401, "\(name)")
        #expect(r.body.isEmpty)
        #expect(try t.deliveryCount() == 0)
    }

    @Test func r16_intentToReceiveSequencePasses() throws {
        let t = try TestGateway(store: .sqlite)
        // Xero's ITR: several probes, some correctly and some incorrectly signed.
        for i in 0..<6 {
            let body = Array("{\"events\":[],\"lastEventSequence\":0,\"firstEventSequence\":0,\"entropy\":\"ITR\(i)\(UUID().uuidString)\"}".utf8)
            let good = i % 2 == 0
            let r = try t.postWebhook(body, signature: good ? nil : WebhookVerifier(webhookKey: "x").signature(for: body))
            #expect(r.status == (good ? 200 : 401))
            #expect(r.body.isEmpty && r.header("Set-Cookie") == nil)
        }
    }

    @Test func r16_sameDeliveryTwiceStoresItsEventsOnce() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let body = xeroPayload([
            (tenantA, "CONTACT", "UPDATE", "33333333-3333-4333-8333-333333333333", "2026-07-22T01:30:00.250"),
            (tenantA, "INVOICE", "CREATE", "44444444-4444-4444-8444-444444444444", "2026-07-22T01:31:05.412"),
        ])
        #expect(try t.postWebhook(body).status == 200)
        #expect(try t.postWebhook(body).status == 200)
        // The same event inside a different delivery (new entropy) is a duplicate too.
        let again = xeroPayload([(tenantA, "CONTACT", "UPDATE", "33333333-3333-4333-8333-333333333333", "2026-07-22T01:30:00.250")])
        #expect(try t.postWebhook(again).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        let events = try t.allEvents(token: op)
        #expect(events.count == 2)
        #expect(Set(events.compactMap { $0["resourceId"]?.stringValue })
                == ["33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"])
    }

    @Test func r16_dedupKeyCoversEveryFieldSoOnlyTrueDuplicatesCollapse() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let r = "66666666-6666-4666-8666-666666666666", at = "2026-07-22T01:30:00.250"
        // Same resource and instant, each event differing from the first in one field only.
        let body = xeroPayload([
            (tenantA, "CONTACT", "CREATE", r, at),
            (tenantA, "CONTACT", "UPDATE", r, at),          // type
            (tenantA, "INVOICE", "CREATE", r, at),          // category
            (tenantB, "CONTACT", "CREATE", r, at),          // tenant
            (tenantA, "CONTACT", "CREATE", r, "2026-07-22T01:30:00.251"),  // date
            (tenantA, "CONTACT", "CREATE", "77777777-7777-4777-8777-777777777777", at),  // resource
            (tenantA, "contact", "create", r.uppercased(), at),  // the first again, spelled differently
        ])
        #expect(try t.postWebhook(body).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        #expect(try t.allEvents(token: op).count == 6)
    }

    @Test func r16_eventsAreVisibleInTheEventsAPIWithinASecond() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let id = "55555555-5555-4555-8555-555555555555"
        #expect(try t.postWebhook(xeroPayload([(tenantA, "CONTACT", "CREATE", id, "2026-07-22T01:30:00.250")])).status == 200)
        let acked = Date()
        var seen: JSON?
        while seen == nil && Date().timeIntervalSince(acked) < 1.0 {
            seen = try t.allEvents(token: op).first { $0["resourceId"]?.stringValue == id }
            if seen == nil { usleep(10_000) }
        }
        let event = try #require(seen, "not visible within a second")
        #expect(event["category"]?.stringValue == "CONTACT")
        #expect(event["type"]?.stringValue == "CREATE")
        #expect(event["tenantId"]?.stringValue == tenantA)
        #expect(event["eventDateUtc"]?.stringValue == "2026-07-22T01:30:00.250Z")
        #expect(event["state"]?.stringValue == "unrouted")
    }

    @Test func r16_signedBodyThatIsNotJSONIsQuarantinedNotDropped() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let r = try t.postWebhook(Array("this is not json {".utf8))
        #expect(r.status == 200)
        // Xero re-sends it (its 200 was lost): kept, but quarantined once.
        #expect(try t.postWebhook(Array("this is not json {".utf8)).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        let q = try t.allEvents(token: op, status: "quarantined")
        try #require(q.count == 1)
        #expect(q[0]["lastError"]?.stringValue?.contains("not JSON") == true)
        #expect(try t.deliveryCount() == 2)
    }

    @Test func r16_unknownCategoriesAreAcknowledgedAndKept() throws {
        let t = try TestGateway(store: .sqlite)
        let r = try t.postWebhook(xeroPayload([(tenantA, "CREDITNOTE", "CREATE", "66666666-6666-4666-8666-666666666666", "2026-07-22T01:30:00.250")]))
        #expect(r.status == 200)
    }

    @Test func r16_eventsForATenantNobodyIsConnectedToAreKeptAsUnrouted() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let account = try t.gateway.accounts.createAccount(name: "Acme")
        try t.gateway.accounts.connect(accountId: try #require(account.accountId), tenantId: tenantA, tenantName: "Acme Ltd")
        let other = "99999999-0000-4000-8000-000000000000"
        #expect(try t.postWebhook(xeroPayload([
            (tenantA, "CONTACT", "UPDATE", "77777777-7777-4777-8777-777777777777", "2026-07-22T01:30:00.250"),
            (other, "CONTACT", "UPDATE", "88888888-8888-4888-8888-888888888888", "2026-07-22T01:30:00.250"),
        ])).status == 200)
        #expect(t.gateway.inbox.waitUntilExpanded())
        #expect(try t.allEvents(token: op, status: "unrouted").map { $0["tenantId"]?.stringValue } == [other])
        // The account's admin sees their own event only, pending.
        let mine = try t.allEvents(token: account.token)
        #expect(mine.count == 1 && mine[0]["state"]?.stringValue == "pending" && mine[0]["tenantId"]?.stringValue == tenantA)
    }

    @Test func r16_twoMebibyteBodyGets413WithAJSONError() throws {
        let t = try TestGateway(store: .sqlite)
        let r = try t.postWebhook([UInt8](repeating: UInt8(ascii: "a"), count: 2 << 20), signature: "x")
        #expect(r.status == 413)
        let error = try JSON.parse(r.body)["error"]
        #expect(error?["code"]?.stringValue == "body_too_large")
        #expect(try t.deliveryCount() == 0)
    }

    @Test func r16_concurrentDeliveriesAreAllStoredOnce() throws {
        let t = try TestGateway(store: .sqlite)
        let op = try t.operatorToken()
        let n = 400
        let failures = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: n) { i in
            let id = String(format: "%08x-0000-4000-8000-000000000000", i)
            let body = xeroPayload([(tenantA, "CONTACT", "UPDATE", id, "2026-07-22T01:30:00.250")])
            // Each delivery sent twice, as Xero's retries may.
            for _ in 0..<2 {
                if (try? t.postWebhook(body))?.status != 200 { failures.withLock { $0 += 1 } }
            }
        }
        #expect(failures.withLock { $0 } == 0)
        #expect(t.gateway.inbox.waitUntilExpanded(timeout: 10))
        #expect(try t.allEvents(token: op).count == n)
    }
}

@Suite struct WebhookFuzzTests {
    @Test func r16_randomBodiesAndSignaturesAreAnsweredNeverCrash() throws {
        let t = try TestGateway(store: .sqlite)
        var rng = SystemRandomNumberGenerator()
        let fragments = ["{", "}", "[", "]", "\"events\"", ":", ",", "\"tenantId\"", "\"x\"", "null", "1e400", "\\u0000",
                         "\"eventDateUtc\":\"2026-13-45T99:99:99\"", "\u{feff}", "true", "-0", "\"\\ud800\""]
        var signed = 0
        for i in 0..<300 {
            let body: [UInt8]
            if i % 3 == 0 {
                body = (0..<Int.random(in: 0...400, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                body = Array((0..<Int.random(in: 0...40, using: &rng)).map { _ in fragments.randomElement(using: &rng)! }.joined().utf8)
            }
            let sign = i % 2 == 0
            let r = try t.postWebhook(body, signature: sign ? nil : Base64.encode(Crypto.randomBytes(32)))
            #expect(r.status == (sign ? 200 : 401))
            if sign { signed += 1 }
        }
        #expect(t.gateway.inbox.waitUntilExpanded())
        #expect(try t.deliveryCount() == signed)
        #expect(try t.get("/healthz", token: nil).status == 200)
    }
}

@Suite struct ShutdownTests {
    @Test func r16_stoppingWhileADeliveryWaitsForTheStoreAnswersItAndDoesNotAbort() throws {
        let t = try TestGateway(store: .sqlite)
        // Another process holds the write lock, as a slow disk or a long checkpoint would.
        let other = try Store.Database(path: t.gateway.configuration.databasePath)
        let locked = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? other.write { _ in
                locked.signal()
                usleep(1_500_000)
            }
        }
        locked.wait()
        let answer = Mutex<Int?>(nil)
        let body = xeroPayload([(tenantA, "CONTACT", "UPDATE", "abcdef09-1111-4111-8111-111111111111", "2026-07-22T01:30:00.250")])
        let sent = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let r = try? t.postWebhook(body)
            answer.withLock { $0 = r?.status }
            sent.signal()
        }
        usleep(300_000)
        t.gateway.shutdown()  // must neither abort nor drop the waiting delivery
        sent.wait()
        #expect(answer.withLock { $0 } == 200)
        let reopened = try Store.Database(path: t.gateway.configuration.databasePath)
        #expect(try reopened.read { try $0.query("SELECT COUNT(*) AS n FROM webhook_deliveries").first!.int("n")! } == 1)
    }
}
