import Dispatch
import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
import Xero
import XeroSimulator
import StrictJSON

final class Statuses: Sendable {
    let list = Mutex<[Int]>([])
}

@Suite("xero-sim limits, faults and webhooks", .serialized)
struct LimitsWebhooksTests {
    @Test("61 calls in a minute on one tenant: exactly one 429 with Xero's headers; another tenant is unaffected")
    func minuteLimit() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        let b = try h.organisation("Beta Ltd")
        try h.login("owner@alpha.test", tenants: [a, b])
        let t = try h.connect("owner@alpha.test").access

        var statuses: [Int] = []
        var remaining: [Int] = []
        var limited: Harness.Reply?
        for _ in 0..<61 {
            let r = try h.api("GET", "/Items", token: t, tenant: a)
            statuses.append(r.status)
            if r.status == 429 { limited = r } else { remaining.append(Int(r.header("X-MinLimit-Remaining") ?? "") ?? -1) }
            #expect(r.header("X-DayLimit-Remaining") != nil && r.header("X-AppMinLimit-Remaining") != nil)
        }
        #expect(statuses.filter { $0 == 429 }.count == 1)
        #expect(statuses.last == 429)
        #expect(remaining.first == 59 && remaining.last == 0)
        let r429 = try #require(limited)
        #expect(r429.header("X-Rate-Limit-Problem") == "minute")
        let retry = try #require(Int(r429.header("Retry-After") ?? ""))
        #expect(retry >= 1 && retry <= 60)
        #expect(r429.header("X-MinLimit-Remaining") == "0")
        #expect(r429.header("X-DayLimit-Remaining") == "4940")

        let other = try h.api("GET", "/Items", token: t, tenant: b)
        #expect(other.status == 200)
        #expect(other.header("X-MinLimit-Remaining") == "59")

        // The window resets after a minute (simulated clock).
        try h.advanceClock(61)
        #expect(try h.api("GET", "/Items", token: t, tenant: a).status == 200)

        // The day limit, configured small.
        try h.control("POST", "/sim/limits", #"{"perDay":3,"resetCounters":true}"#)
        for _ in 0..<3 { #expect(try h.api("GET", "/Items", token: t, tenant: a).status == 200) }
        let day = try h.api("GET", "/Items", token: t, tenant: a)
        #expect(day.status == 429)
        #expect(day.header("X-Rate-Limit-Problem") == "day")
        #expect(day.header("Retry-After") != nil)
        try h.control("POST", "/sim/limits", #"{"enabled":false}"#)
        #expect(try h.api("GET", "/Items", token: t, tenant: a).status == 200)
    }

    @Test("concurrency limit: the sixth call in flight on a tenant gets 429 concurrent")
    func concurrentLimit() throws {
        let h = try Harness()
        let a = try h.organisation("Alpha Ltd")
        try h.login("owner@alpha.test", tenants: [a])
        let t = try h.connect("owner@alpha.test").access
        try h.control("POST", "/sim/limits", #"{"latencyMs":1500}"#)
        let results = Statuses()
        let done = DispatchSemaphore(value: 0)
        for i in 0..<6 {
            // Real threads: the sixth call starts while the first five are still in flight.
            Thread {
                if i == 5 { usleep(700_000) }
                let status = (try? h.api("GET", "/Contacts", token: t, tenant: a).status) ?? -1
                results.list.withLock { $0.append(status) }
                done.signal()
            }.start()
        }
        for _ in 0..<6 { done.wait() }
        let statuses = results.list.withLock { $0 }
        #expect(statuses.filter { $0 == 200 }.count == 5, "\(statuses)")
        #expect(statuses.filter { $0 == 429 }.count == 1, "\(statuses)")
        let calls = try h.control("GET", "/sim/calls?path=/Contacts")["calls"]?.arrayValue ?? []
        #expect(calls.contains { $0["rateLimitProblem"]?.stringValue == "concurrent" })
    }

    @Test("faults: the next N calls answer 500/503/429, or hang past the client's timeout; the call log shows them")
    func faults() throws {
        let c = try Connected()
        try c.h.control("POST", "/sim/faults", #"{"kind":"500","count":2}"#)
        #expect(try c.api("GET", "/Contacts").status == 500)
        #expect(try c.api("GET", "/Contacts").status == 500)
        #expect(try c.api("GET", "/Contacts").status == 200)
        try c.h.control("POST", "/sim/faults", #"{"kind":"503"}"#)
        let unavailable = try c.api("GET", "/Contacts")
        #expect(unavailable.status == 503)
        try c.h.control("POST", "/sim/faults", #"{"kind":"429","retryAfter":7,"path":"/Items"}"#)
        #expect(try c.api("GET", "/Contacts").status == 200)
        let limited = try c.api("GET", "/Items")
        #expect(limited.status == 429)
        #expect(limited.header("Retry-After") == "7")

        // A hung PUT that was still carried out: the client times out, the contact exists.
        try c.h.control("POST", "/sim/faults", #"{"kind":"hang","delayMs":1500,"method":"PUT"}"#)
        #expect(throws: ClientError.self) {
            try c.api("PUT", "/Contacts", #"{"Contacts":[{"Name":"Slow Response Ltd"}]}"#, headers: [("Idempotency-Key", "k-1")], timeout: 0.5)
        }
        let found = contacts(try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"Name=="Slow Response Ltd""#)))
        #expect(found.count == 1)
        // Retrying with the same key replays the original answer instead of failing on the name.
        let retry = try c.api("PUT", "/Contacts", #"{"Contacts":[{"Name":"Slow Response Ltd"}]}"#, headers: [("Idempotency-Key", "k-1")])
        #expect(retry.status == 200)
        #expect(contacts(retry).first?["ContactID"] == found.first?["ContactID"])

        // The call log: method, path, query, the headers that matter, body, status.
        let log = try c.h.control("GET", "/sim/calls?path=/Contacts&method=PUT")["calls"]?.arrayValue ?? []
        #expect(log.count == 2)
        let entry = try #require(log.first)
        #expect(entry["fault"]?.stringValue == "hang")
        #expect(entry["idempotencyKey"]?.stringValue == "k-1")
        #expect(entry["headers"]?["xero-tenant-id"]?.stringValue == c.tenant)
        #expect(entry["headers"]?["Authorization"]?.stringValue == "Bearer (redacted)")
        #expect(entry["body"]?.stringValue?.contains("Slow Response Ltd") == true)
        #expect(entry["status"]?.intValue == 200)
        let lastSeq = try #require(c.h.control("GET", "/sim/calls")["lastSeq"]?.intValue)
        try c.api("GET", "/Items?where=" + FormEncode.encode(#"Code=="X""#), headers: [("If-Modified-Since", "2026-01-01T00:00:00")])
        let since = try c.h.control("GET", "/sim/calls?since=\(lastSeq)")["calls"]?.arrayValue ?? []
        #expect(since.count == 1)
        #expect(since.first?["query"]?.stringValue == "where=Code%3D%3D%22X%22")
        #expect(since.first?["ifModifiedSince"]?.stringValue == "2026-01-01T00:00:00")
        try c.h.control("DELETE", "/sim/calls")
        #expect(try c.h.control("GET", "/sim/calls")["calls"]?.arrayValue?.isEmpty == true)
    }

    @Test("webhooks: every contact and invoice change arrives, batched and signed; failures are retried")
    func webhookDelivery() throws {
        let receiver = try WebhookReceiver(key: Harness.webhookKey)
        let c = try Connected(webhookURL: receiver.url)
        try c.h.control("POST", "/sim/webhooks/config", #"{"batchDelayMs":50,"retryInitialMs":50,"retryMaxMs":200}"#)
        // A tenant nobody connected gets no events.
        let lonely = try c.h.organisation("Lonely Ltd")
        try c.h.control("POST", "/sim/organisations/\(lonely)/contacts", #"{"Contacts":[{"Name":"Nobody"}]}"#)

        let created = try c.api("PUT", "/Contacts", #"{"Contacts":[{"Name":"Harbour View Cafe"}]}"#)
        let id = try #require(contacts(created).first?["ContactID"]?.stringValue)
        try c.api("POST", "/Contacts/\(id)", #"{"EmailAddress":"accounts@harbourviewcafe.co.nz"}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(id)", #"{"Name":"Harbour View Cafe Ltd"}"#)
        let inv = try c.api("PUT", "/Invoices", #"{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"\#(id)"},"LineItems":[{"Description":"Mowing","Quantity":1,"UnitAmount":65}]}]}"#)
        let invoiceId = try #require(invoices(inv).first?["InvoiceID"]?.stringValue)
        try c.h.control("POST", "/sim/organisations/\(c.tenant)/contacts/\(id)/archive")

        #expect(Harness.eventually { receiver.validEvents.count >= 5 })
        let events = receiver.validEvents
        #expect(receiver.all.allSatisfy { $0.valid })
        let summary = events.map { "\($0["eventCategory"]?.stringValue ?? "-")/\($0["eventType"]?.stringValue ?? "-")" }
        #expect(summary == ["CONTACT/CREATE", "CONTACT/UPDATE", "CONTACT/UPDATE", "INVOICE/CREATE", "CONTACT/UPDATE"], "\(summary)")
        try #require(events.count >= 4)
        #expect(events.allSatisfy { $0["tenantId"]?.stringValue == c.tenant && $0["tenantType"]?.stringValue == "ORGANISATION" })
        let fixtureEvent = try #require(try JSON.parse(Fixtures.webhookEvents)["events"]?.arrayValue?.first)
        #expect(events[0].keys == fixtureEvent.keys)
        #expect(events[0]["resourceUrl"]?.stringValue == "https://api.xero.com/api.xro/2.0/Contacts/\(id)")
        #expect(events[3]["resourceUrl"]?.stringValue == "https://api.xero.com/api.xro/2.0/Invoices/\(invoiceId)")
        let date = try #require(events[0]["eventDateUtc"]?.stringValue)
        #expect(date.count == 23 && !date.hasSuffix("Z"), "\(date)")

        // Each payload: the fixture's top-level shape, consecutive sequences, and the gateway's parser accepts it.
        var expectedFirst = 1
        for r in receiver.all {
            let json = try JSON.parse(r.body)
            #expect(json.keys == ["events", "firstEventSequence", "lastEventSequence", "entropy"])
            let first = try #require(json["firstEventSequence"]?.intValue), last = try #require(json["lastEventSequence"]?.intValue)
            #expect(first == expectedFirst && last == first + (json["events"]?.arrayValue?.count ?? 0) - 1)
            expectedFirst = last + 1
            #expect(json["entropy"]?.stringValue?.count == 20)
            #expect(WebhookPayload.parse(r.body).problems.isEmpty)
        }

        // A receiver that fails twice gets the payload again (at-least-once).
        receiver.store.failures.withLock { $0 = [500, 503] }
        let before = receiver.all.count
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(id)", #"{"EmailAddress":"new@harbourviewcafe.co.nz"}"#)
        #expect(Harness.eventually { receiver.all.count >= before + 3 })
        let retried = receiver.all.suffix(3)
        #expect(Set(retried.map(\.body)).count == 1)
        let status = try c.h.control("GET", "/sim/webhooks")
        #expect(status["counters"]?["failures"]?.intValue == 2)
        #expect(Harness.eventually { (try? c.h.control("GET", "/sim/webhooks")["idle"]) == .bool(true) })
    }

    @Test("webhook faults: drop, duplicate, bad signature")
    func webhookFaults() throws {
        let receiver = try WebhookReceiver(key: Harness.webhookKey)
        let c = try Connected(webhookURL: receiver.url)
        try c.h.control("POST", "/sim/webhooks/config", #"{"batchDelayMs":20,"retryInitialMs":50}"#)
        let id = try #require(c.seedContacts(#"{"Contacts":[{"Name":"Tui Apartments"}]}"#).first)
        #expect(Harness.eventually { receiver.validEvents.count == 1 })

        try c.h.control("POST", "/sim/faults", #"{"kind":"drop"}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(id)", #"{"EmailAddress":"a@tui.test"}"#)
        #expect(Harness.eventually { (try? c.h.control("GET", "/sim/webhooks")["counters"]?["payloadsDropped"]?.intValue) == 1 })
        #expect(receiver.validEvents.count == 1)

        try c.h.control("POST", "/sim/faults", #"{"kind":"duplicate"}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(id)", #"{"EmailAddress":"b@tui.test"}"#)
        #expect(Harness.eventually { receiver.validEvents.count == 3 })
        let all = receiver.all
        #expect(all[all.count - 1].body == all[all.count - 2].body)

        try c.h.control("POST", "/sim/faults", #"{"kind":"badSignature"}"#)
        try c.h.control("PATCH", "/sim/organisations/\(c.tenant)/contacts/\(id)", #"{"EmailAddress":"c@tui.test"}"#)
        #expect(Harness.eventually { receiver.validEvents.count == 4 })
        #expect(receiver.all.contains { !$0.valid })
    }

    @Test("intent to receive: passes against a correct receiver, fails against one that accepts anything")
    func intentToReceive() throws {
        let receiver = try WebhookReceiver(key: Harness.webhookKey)
        let h = try Harness(webhookURL: receiver.url)
        let report = try h.control("POST", "/sim/webhooks/intent-to-receive")
        #expect(report["passed"] == .bool(true), "\(report)")
        let attempts = report["attempts"]?.arrayValue ?? []
        #expect(attempts.contains { $0["signedCorrectly"] == .bool(true) } && attempts.contains { $0["signedCorrectly"] == .bool(false) })
        let bodies = receiver.all.map { try? JSON.parse($0.body) }
        #expect(bodies.allSatisfy { $0?["events"] == .array([]) && $0?["firstEventSequence"]?.intValue == 0 })

        var router = Router()
        router.post("/hook") { _ in .respond(.empty(200)) }
        let careless = Server(configuration: ServerConfiguration(port: 0, threads: 1), router: router)
        try careless.start()
        defer { careless.shutdown(timeout: 1) }
        let bad = try h.control("POST", "/sim/webhooks/intent-to-receive", #"{"url":"http://127.0.0.1:\#(careless.port)/hook"}"#)
        #expect(bad["passed"] == .bool(false))
    }
}
