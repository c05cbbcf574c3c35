import Dispatch
import Synchronization
import Testing
import Xero

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let seconds = Mutex(1_000.0)
    var now: Double { seconds.withLock { $0 } }
    func advance(_ s: Double) { seconds.withLock { $0 += s } }
}

@Suite struct XeroRateLimiterTests {
    let tenant = "b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64"

    func limiter(_ limits: XeroLimits = XeroLimits(), _ clock: TestClock) -> XeroRateLimiter {
        XeroRateLimiter(limits: limits) { clock.now }
    }

    struct NoSlot: Error {}

    func ok(_ l: XeroRateLimiter, _ tenant: String) throws -> XeroRateLimiter.Permit {
        guard case .go(let permit) = l.reserve(tenant) else { throw NoSlot() }
        return permit
    }

    func goes(_ l: XeroRateLimiter, _ tenant: String) -> Bool {
        if case .go = l.reserve(tenant) { return true }
        return false
    }

    @Test func r18_sixtyCallsPerRollingMinutePerTenant() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(concurrent: 100), clock)
        for i in 0..<60 {
            l.release(try ok(l, tenant), status: 200) { _ in nil }
            clock.advance(i == 0 ? 30 : 0.1)  // the first call is 30 s older than the rest
        }
        guard case .wait(let w) = l.reserve(tenant) else { Issue.record("the 61st call went"); return }
        #expect(w > 0 && w <= 30.01)
        #expect(goes(l, "another-tenant"))  // per tenant
        clock.advance(w)
        #expect(goes(l, tenant))  // the oldest call left the window
    }

    @Test func r18_fiveInFlightPerTenant() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(), clock)
        let permits = try (0..<5).map { _ in try ok(l, tenant) }
        guard case .wait = l.reserve(tenant) else { Issue.record("a sixth call went while five were in flight"); return }
        l.release(permits[0], status: 200) { _ in nil }
        #expect(goes(l, tenant))
    }

    @Test func r18_dailyBudgetAndXerosRemainingHeadersCorrectOurCount() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(perMinute: 10_000, concurrent: 100, perDay: 5000), clock)
        let p = try ok(l, tenant)
        l.release(p, status: 200) { ["X-DayLimit-Remaining": "2", "X-MinLimit-Remaining": "58"][$0] }
        #expect(l.remainingToday(tenant) == 2)
        l.release(try ok(l, tenant), status: 200) { _ in nil }
        l.release(try ok(l, tenant), status: 200) { _ in nil }
        guard case .wait(let w) = l.reserve(tenant) else { Issue.record("went past the day's budget"); return }
        #expect(w > 3600)
        #expect(throws: XeroAPIError.self) { _ = try l.acquire(tenant, maxWait: 1) }
        clock.advance(86_400)
        #expect(goes(l, tenant))
    }

    @Test func r18_minuteRemainingFromXeroHoldsUsBackEarly() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(concurrent: 100), clock)
        l.release(try ok(l, tenant), status: 200) { ["X-MinLimit-Remaining": "0"][$0] }
        guard case .wait = l.reserve(tenant) else { Issue.record("Xero said none left this minute, we went anyway"); return }
        clock.advance(60)
        #expect(goes(l, tenant))
    }

    @Test func r18_a429PausesTheTenantForRetryAfter() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(), clock)
        l.release(try ok(l, tenant), status: 429) {
            ["Retry-After": "7", "X-Rate-Limit-Problem": "minute", "X-MinLimit-Remaining": "0"][$0]
        }
        guard case .wait(let w) = l.reserve(tenant) else { Issue.record("called again inside Retry-After"); return }
        #expect(abs(w - 7) < 0.01)
        #expect(goes(l, "another-tenant"))
        clock.advance(7)
        #expect(goes(l, tenant))
        // An app-wide 429 holds every tenant.
        l.release(try ok(l, tenant), status: 429) { ["Retry-After": "3", "X-Rate-Limit-Problem": "appminute"][$0] }
        guard case .wait = l.reserve("another-tenant") else { Issue.record("app-wide 429 ignored"); return }
    }

    /// A `Retry-After` of other than 1 s holds the tenant (or the app) that long, not 1 s, even
    /// without the `X-MinLimit-Remaining` header that would hold it back on its own.
    @Test(arguments: [("3", 3.0, "minute"), ("7", 7.0, "appminute")])
    func r18_a429HoldsCallsForItsOwnRetryAfterNotOneSecond(_ header: String, _ seconds: Double, _ problem: String) throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(), clock)
        l.release(try ok(l, tenant), status: 429) { ["Retry-After": header, "X-Rate-Limit-Problem": problem][$0] }
        let held = problem == "appminute" ? "another-tenant" : tenant
        guard case .wait(let w) = l.reserve(held) else { Issue.record("called again at once after a 429"); return }
        #expect(w >= seconds - 0.01)
        clock.advance(1.5)  // past a 1 s pause, inside Retry-After
        guard case .wait(let left) = l.reserve(held) else {
            Issue.record("called again 1.5 s after a 429 with Retry-After: \(header)")
            return
        }
        #expect(abs(left - (seconds - 1.5)) < 0.01)
        #expect(throws: XeroAPIError.self) { _ = try l.acquire(held, maxWait: 1) }
        clock.advance(seconds - 1.5)
        #expect(goes(l, held))
    }

    @Test func r18_theAppMinuteIsSharedByAllTenants() throws {
        let clock = TestClock()
        let l = limiter(XeroLimits(concurrent: 100, appPerMinute: 3), clock)
        for t in ["a", "b", "c"] { l.release(try ok(l, t), status: 200) { _ in nil } }
        guard case .wait = l.reserve("d") else { Issue.record("app minute exceeded"); return }
    }

    /// A call in flight ending just after `reserve` told a waiter to wait, but before it went
    /// to sleep, wakes it: it takes the freed slot at once instead of sleeping out its wait.
    /// The clock is the seam: `acquire` reads it a third time between `reserve`'s answer and
    /// the sleep, and that reading ends a call. Twenty rounds, each slept through, would take
    /// at least a second (50 ms each); woken, they take a few milliseconds.
    @Test func r18_aSlotFreedJustBeforeAWaiterSleepsIsTakenAtOnce() throws {
        let clock = TestClock()
        let hook = Mutex<(readings: Int, release: (@Sendable () -> Void)?)>((0, nil))
        let l = XeroRateLimiter(limits: XeroLimits(perMinute: 10_000)) {
            let fire = hook.withLock { h -> (@Sendable () -> Void)? in
                guard h.release != nil else { return nil }
                h.readings += 1
                guard h.readings == 3 else { return nil }
                defer { h.release = nil }
                return h.release
            }
            fire?()
            return clock.now
        }
        let started = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<20 {
            let permits = try (0..<5).map { _ in try ok(l, tenant) }   // five in flight: the next call waits
            hook.withLock { $0 = (0, { l.release(permits[0], status: 200) { _ in nil } }) }
            let permit = try l.acquire(tenant, maxWait: 5)
            #expect(hook.withLock { $0.release == nil }, "the call did not end while the waiter was between reserve and sleep")
            for p in permits.dropFirst() + [permit] { l.release(p, status: 200) { _ in nil } }
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
        #expect(seconds < 0.5, "twenty freed slots took \(seconds) s: the waiters slept through the wake-up")
    }
}
