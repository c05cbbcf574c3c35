import Foundation
import Synchronization

/// Xero's published limits (FACTS §3).
public struct XeroLimits: Sendable, Equatable {
    /// Calls per tenant per minute.
    public var perMinute: Int
    /// Calls in flight per tenant.
    public var concurrent: Int
    /// Calls per tenant per day.
    public var perDay: Int
    /// Calls per minute across every tenant of the app.
    public var appPerMinute: Int

    public init(perMinute: Int = 60, concurrent: Int = 5, perDay: Int = 5000, appPerMinute: Int = 10_000) {
        self.perMinute = perMinute
        self.concurrent = concurrent
        self.perDay = perDay
        self.appPerMinute = appPerMinute
    }
}

/// R18: keeps each tenant inside Xero's limits — a rolling minute, calls in flight, a day — and
/// the app inside its own minute, corrected by the `X-*-Remaining` headers Xero returns and
/// paused by `429 Retry-After`. Blocking: call it from worker threads, never from Swift's
/// cooperative pool.
public final class XeroRateLimiter: Sendable {
    public let limits: XeroLimits
    private let now: @Sendable () -> Double
    private let state = Mutex(State())
    private let condition = NSCondition()

    /// `now` is seconds on a steady clock (tests pass their own).
    public init(limits: XeroLimits = XeroLimits(), now: (@Sendable () -> Double)? = nil) {
        self.limits = limits
        self.now = now ?? { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }
    }

    struct Tenant {
        /// Start times of calls in the last 60 s, oldest first (or stand-ins from Xero's headers).
        var minute: [Double] = []
        var inFlight = 0
        var dayStarted: Double?
        var dayCount = 0
        var blockedUntil = 0.0
    }
    struct State {
        var tenants: [String: Tenant] = [:]
        var appMinute: [Double] = []
        var appBlockedUntil = 0.0
        /// Moves with every `release`: a waiter sleeps only if nothing was released since its
        /// `reserve` decided, so a slot freed in between is never slept through.
        var releases: UInt64 = 0
    }

    /// A reserved call slot; hand it back with `release`.
    public struct Permit: Sendable, Equatable {
        public let tenantId: String
    }

    /// What `reserve` decided.
    public enum Decision: Sendable, Equatable {
        case go(Permit)
        /// Try again after this many seconds (or sooner, when a call in flight ends).
        case wait(Double)
    }

    /// Takes a slot for `tenantId` now if every limit allows, else says how long to wait.
    public func reserve(_ tenantId: String) -> Decision { reserveNotingReleases(tenantId).decision }

    /// `reserve`, and how many releases there had been when it decided (under the same lock).
    func reserveNotingReleases(_ tenantId: String) -> (decision: Decision, releases: UInt64) {
        let t = now()
        return state.withLock { s in
            (reserve(tenantId, at: t, in: &s), s.releases)
        }
    }

    private func reserve(_ tenantId: String, at t: Double, in s: inout State) -> Decision {
        s.appMinute.removeAll { $0 <= t - 60 }
        var tenant = s.tenants[tenantId] ?? Tenant()
        tenant.minute.removeAll { $0 <= t - 60 }
        if let started = tenant.dayStarted, t - started >= 86_400 {
            tenant.dayStarted = nil
            tenant.dayCount = 0
        }
        defer { s.tenants[tenantId] = tenant }
        var wait = 0.0
        wait = max(wait, tenant.blockedUntil - t, s.appBlockedUntil - t)
        if tenant.minute.count >= limits.perMinute, let oldest = tenant.minute.first { wait = max(wait, oldest + 60 - t) }
        if s.appMinute.count >= limits.appPerMinute, let oldest = s.appMinute.first { wait = max(wait, oldest + 60 - t) }
        if tenant.dayCount >= limits.perDay, let started = tenant.dayStarted { wait = max(wait, started + 86_400 - t) }
        if tenant.inFlight >= limits.concurrent { wait = max(wait, 0.05) }
        if wait > 0 { return .wait(wait) }
        tenant.minute.append(t)
        s.appMinute.append(t)
        tenant.inFlight += 1
        if tenant.dayStarted == nil { tenant.dayStarted = t }
        tenant.dayCount += 1
        return .go(Permit(tenantId: tenantId))
    }

    /// Blocks until a slot is free. Throws `rateLimited` at once when the wait would exceed
    /// `maxWait` seconds (a day's budget spent, a long `Retry-After`). A `release` wakes it at
    /// once, including one that lands between `reserve`'s answer and the sleep: the sleep is
    /// skipped when any release came after that answer (checked under the condition's lock,
    /// which `release` takes to broadcast).
    public func acquire(_ tenantId: String, maxWait: Double = 120) throws(XeroAPIError) -> Permit {
        let deadline = now() + maxWait
        while true {
            let (decision, seen) = reserveNotingReleases(tenantId)
            switch decision {
            case .go(let permit):
                return permit
            case .wait(let seconds):
                if now() + seconds > deadline {
                    throw XeroAPIError(.rateLimited, message: "Xero's limits for this organisation allow the next call in \(Int(seconds.rounded(.up))) s",
                                       retryAfter: seconds)
                }
                condition.lock()
                if state.withLock({ $0.releases }) == seen {
                    _ = condition.wait(until: Date(timeIntervalSinceNow: min(seconds, 1)))
                }
                condition.unlock()
            }
        }
    }

    /// Hands a slot back with what Xero said: its `X-MinLimit-Remaining`,
    /// `X-DayLimit-Remaining` and `X-AppMinLimit-Remaining` correct our counts (never upwards),
    /// and a 429 pauses the tenant (or the app) for `Retry-After` seconds, or 1 s without it.
    public func release(_ permit: Permit, status: Int, header: (String) -> String?) {
        let t = now()
        // Clamped: a nonsense value (negative, infinite, years) must not shut a tenant out for good.
        let retryAfter = status == 429 ? header("Retry-After").flatMap(Double.init).flatMap { $0.isFinite ? min(max(0, $0), 86_400) : nil } : nil
        // Calls Xero counts that we did not see leave its window when it says (Retry-After), or
        // at the latest a minute from now.
        let standIn = retryAfter.map { t + $0 - 60 } ?? t
        state.withLock { s in
            var tenant = s.tenants[permit.tenantId] ?? Tenant()
            tenant.inFlight = max(0, tenant.inFlight - 1)
            if let r = header("X-MinLimit-Remaining").flatMap(Int.init) {
                let used = max(0, limits.perMinute - max(0, r))
                if tenant.minute.count < used {
                    tenant.minute += Array(repeating: standIn, count: used - tenant.minute.count)
                    tenant.minute.sort()
                }
            }
            if let r = header("X-DayLimit-Remaining").flatMap(Int.init) {
                tenant.dayCount = max(tenant.dayCount, limits.perDay - max(0, r))
                if tenant.dayStarted == nil { tenant.dayStarted = t }
            }
            if let r = header("X-AppMinLimit-Remaining").flatMap(Int.init) {
                let used = max(0, limits.appPerMinute - max(0, r))
                if s.appMinute.count < used {
                    s.appMinute += Array(repeating: standIn, count: used - s.appMinute.count)
                    s.appMinute.sort()
                }
            }
            if status == 429 {
                let after = retryAfter ?? 1
                let problem = header("X-Rate-Limit-Problem")?.lowercased() ?? ""
                if problem.hasPrefix("app") {
                    s.appBlockedUntil = max(s.appBlockedUntil, t + after)
                } else {
                    tenant.blockedUntil = max(tenant.blockedUntil, t + after)
                }
            }
            s.tenants[permit.tenantId] = tenant
            s.releases &+= 1
        }
        condition.lock()
        condition.broadcast()
        condition.unlock()
    }

    /// Calls left today for a tenant, as far as we know (Xero's last word or our own count).
    public func remainingToday(_ tenantId: String) -> Int {
        let t = now()
        return state.withLock { s in
            guard let tenant = s.tenants[tenantId], let started = tenant.dayStarted, t - started < 86_400 else {
                return limits.perDay
            }
            return max(0, limits.perDay - tenant.dayCount)
        }
    }
}
