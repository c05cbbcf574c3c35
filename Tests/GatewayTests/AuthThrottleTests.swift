import Foundation
import HTTPClient
import Testing
import Timekeeping
@testable import Gateway

/// Guessing tokens is throttled per client address and logged, within a budget (issue 13).
@Suite struct AuthThrottleTests {
    @Test func aBucketOfTwentyRefillsOneEveryThreeSeconds() {
        let clock = TestMonotonicClock()
        let t = AuthThrottle(perMinute: 20, clock: clock)
        for _ in 0..<20 {
            #expect(t.retryAfter("10.0.0.1") == nil)
            t.failed("10.0.0.1")
        }
        #expect(t.retryAfter("10.0.0.1") == 3)
        #expect(t.retryAfter("10.0.0.2") == nil)   // other addresses are not affected
        clock.advance(milliseconds: 1_000)
        #expect(t.retryAfter("10.0.0.1") == 2)
        clock.advance(milliseconds: 2_000)
        #expect(t.retryAfter("10.0.0.1") == nil)   // one more try, then 3 s again
        t.failed("10.0.0.1")
        #expect(t.retryAfter("10.0.0.1") == 3)
        clock.advance(milliseconds: 60_000)        // a minute: the whole budget is back
        for _ in 0..<20 { t.failed("10.0.0.1") }
        #expect(t.retryAfter("10.0.0.1") == 3)
        #expect(AuthThrottle(perMinute: 0, clock: clock).retryAfter("10.0.0.1") == nil)
    }

    @Test func addressesAreCountedByHostAndIPv6ByItsSlash64AndTheirNumberIsBounded() {
        #expect(AuthThrottle.client("203.0.113.9") == "203.0.113.9")
        #expect(AuthThrottle.client("2001:db8:1:2:aaaa::1") == AuthThrottle.client("2001:db8:1:2:bbbb:cccc:dddd:eeee"))
        #expect(AuthThrottle.client("2001:db8:1:2::1") == "2001:db8:1:2::/64")
        #expect(AuthThrottle.client("2001:db8:1:3::1") != AuthThrottle.client("2001:db8:1:2::1"))
        #expect(AuthThrottle.client(nil) == "unknown")
        let clock = TestMonotonicClock()
        let t = AuthThrottle(perMinute: 20, clock: clock, maxTracked: 100)
        for i in 0..<1_000 { t.failed("10.1.\(i / 256).\(i % 256)"); clock.advance(milliseconds: 1) }
        #expect(t.trackedCount <= 100)
        #expect(t.retryAfter("10.1.3.231") == nil)  // the newest is still counted, not blocked after one failure
    }

    @Test func fiveHundredWrongTokensGet429sAfterTheBudgetABoundedLogAndTheRightTokenWorksAfterTheWindow() throws {
        let clock = TestMonotonicClock()
        let g = try TestGateway(monotonicClock: clock)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        // Successes cost nothing: a hundred of them, then a wrong token is a plain 401.
        for _ in 0..<100 { #expect(try g.get("/api/v1/contacts", token: admin).status == 200) }
        var statuses: [Int: Int] = [:]
        var retryAfter: Set<String> = []
        for i in 0..<500 {
            let r = try g.get("/api/v1/contacts", token: "xgw_guess\(i)")
            statuses[r.status, default: 0] += 1
            if r.status == 429 {
                retryAfter.insert(r.header("Retry-After") ?? "none")
                #expect(r.text.contains("too_many_attempts"))
            }
        }
        #expect(statuses == [401: 20, 429: 480], "\(statuses)")
        #expect(retryAfter == ["3"])
        // While the address is held back, every token waits (the right one too: no oracle).
        #expect(try g.get("/api/v1/contacts", token: admin).status == 429)
        // /healthz takes no token and still answers.
        #expect(try g.get("/healthz", token: "xgw_guess").status == 200)
        // The log: a bounded number of lines, each saying who and why, never the token.
        let lines = g.logs.entries.filter { "\($0.message)" == "authentication refused" }
        #expect(lines.count == 10, "\(lines.count) lines")
        #expect(lines.allSatisfy { $0.metadata["client"] == "127.0.0.1" && $0.metadata["via"] == "bearer" })
        #expect(!g.logText.contains("xgw_guess"))
        // After the window (Retry-After), the rightful user is back at once.
        clock.advance(milliseconds: 3_000)
        #expect(try g.get("/api/v1/contacts", token: admin).status == 200)
        // A new log window says how many lines it held back: 501 refusals (500 guesses and the
        // right token held back), 10 logged.
        clock.advance(milliseconds: 60_000)
        #expect(try g.get("/api/v1/contacts", token: "xgw_guess").status == 401)
        let next = g.logs.entries.filter { "\($0.message)" == "authentication refused" }.last
        #expect(next?.metadata["suppressed"].map { "\($0)" } == "\(501 - 10)")
    }

    @Test func signInIsThrottledTooWithAPageAndRetryAfter() throws {
        let clock = TestMonotonicClock()
        let g = try TestGateway(monotonicClock: clock)
        let admin = try g.gateway.accounts.createAccount(name: "A").token
        func signIn(_ token: String) throws -> ClientResponse {
            try g.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                          body: Array("token=\(token)".utf8))
        }
        for i in 0..<20 { #expect(try signIn("xgw_guess\(i)").status == 401) }
        let held = try signIn("xgw_guess")
        #expect(held.status == 429 && held.header("Retry-After") == "3")
        #expect(held.header("Content-Type")?.hasPrefix("text/html") == true && held.text.contains("Try again in 3 seconds"))
        #expect(try signIn(admin).status == 429)
        // Sign-in and bearer tokens share the address's budget.
        #expect(try g.get("/api/v1/contacts", token: admin).status == 429)
        #expect(g.logs.entries.contains { "\($0.message)" == "authentication refused" && $0.metadata["via"] == "sign-in" })
        clock.advance(milliseconds: 3_000)
        #expect(try signIn(admin).status == 303)
    }

    @Test func throttlingCanBeTurnedOffForAGatewayBehindAProxy() throws {
        let g = try TestGateway(extra: ["GATEWAY_AUTH_FAILURES_PER_MINUTE": "0"])
        for i in 0..<50 { #expect(try g.get("/api/v1/contacts", token: "xgw_guess\(i)").status == 401) }
    }
}
