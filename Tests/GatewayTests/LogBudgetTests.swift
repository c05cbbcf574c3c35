import Foundation
import HTTPClient
import Testing
@testable import Gateway

/// Repeated warnings are rate-limited and say how many were suppressed (issue 7).
@Suite struct LogBudgetTests {
    @Test func aBudgetLetsABurstThroughThenCountsWhatItHeldBack() {
        let log = RateLimitedLog(burst: 3, interval: 60)
        #expect((0..<3).map { _ in log.permit(now: 100) } == [0, 0, 0])
        #expect((0..<5).map { _ in log.permit(now: 110) } == [nil, nil, nil, nil, nil])
        // The next window's first line carries the count, once.
        #expect(log.permit(now: 160) == 5)
        #expect(log.permit(now: 161) == 0)
    }

    @Test func aFloodOfBadSignaturesLogsTenLinesNotThirty() throws {
        let t = try TestGateway(store: .sqlite)
        let marker = 7_777 + Int.random(in: 0..<1000)  // the body size names this test's lines
        let body = [UInt8](repeating: UInt8(ascii: "x"), count: marker)
        for _ in 0..<30 {
            #expect(try t.postWebhook(body, signature: "bad").status == 401)
        }
        let lines = t.logText.split(separator: "\n").filter {
            $0.contains("webhook rejected") && $0.contains(": \(marker)]")
        }
        #expect(lines.count == 10, "\(lines.count) lines")
    }
}

/// `/healthz` follows whether the store can write (issue 7): a full store (here: SQLite's
/// page limit, as a full disk answers) turns it to 503 with the webhooks; it recovers alone.
@Suite struct StoreWriteHealthTests {
    @Test func healthzIs503WhileWritesFailAndRecoversWhenTheyWork() throws {
        let t = try TestGateway(store: .sqlite)
        #expect(try t.get("/healthz", token: nil).status == 200)
        // No room for one more page on the writer connection.
        try t.database.write { c in try c.run("PRAGMA max_page_count = 1") }
        let big = xeroPayload([(tenantA, "CONTACT", "UPDATE", "99999999-1111-4111-8111-111111111111", String(repeating: "9", count: 1))])
        var padded = big
        padded.removeLast()
        padded += Array(",\"pad\":\"\(String(repeating: "p", count: 200_000))\"}".utf8)
        #expect(try t.postWebhook(padded).status == 503)
        let sick = try t.get("/healthz", token: nil)
        #expect(sick.status == 503)
        #expect(sick.text.contains("\"writable\":false"))
        // Room again: the next write (a probe, or a webhook) clears it.
        try t.database.write { c in try c.run("PRAGMA max_page_count = 1073741823") }
        let deadline = Date().addingTimeInterval(5)
        var status = 0
        while Date() < deadline {
            status = try t.get("/healthz", token: nil).status
            if status == 200 { break }
            usleep(200_000)
        }
        #expect(status == 200)
        #expect(try t.postWebhook(padded).status == 200)
    }
}
