import Synchronization
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// Failed sign-ins and bearer tokens, counted per client address (issue 13): a token bucket of
/// `perMinute` failures that refills one every `60 / perMinute` seconds. While it is empty the
/// address gets 429 with `Retry-After` (the seconds until it may try again, 3 at the default 20 a
/// minute) before its token is even looked at, so guessing goes no faster than the refill and a
/// rightful user on that address waits seconds, never minutes.
///
/// Only a presented token that matches no user is a failure: a request without a token, or a
/// successful one, costs nothing. A success does not refill the bucket either (a user with a
/// valid token must not be able to guess others' at full speed). A wrong token names no account,
/// so failures cannot be counted per account; only per address. IPv6 addresses count per /64 (one
/// host usually holds a whole /64). At most `maxTracked` addresses are remembered: full buckets
/// are forgotten first, then the least recently touched.
final class AuthThrottle: Sendable {
    /// Failures an address may make at once, and per minute after that; 0 turns throttling off.
    let perMinute: Int
    let maxTracked: Int
    private let clock: any MonotonicClock
    private let buckets = Mutex<[String: Bucket]>([:])

    struct Bucket {
        /// Failures the address may still make (fractions refill over time).
        var tokens: Double
        var updatedAt: Int64
    }

    init(perMinute: Int, clock: any MonotonicClock, maxTracked: Int = 10_000) {
        self.perMinute = max(0, perMinute)
        self.clock = clock
        self.maxTracked = max(1, maxTracked)
    }

    /// Milliseconds for one failure to come back.
    private var refillMilliseconds: Double { 60_000 / Double(perMinute) }

    /// nil: `client` may present a token. Otherwise the whole seconds until it may (≥ 1).
    func retryAfter(_ client: String) -> Int? {
        guard perMinute > 0 else { return nil }
        let now = clock.nowMilliseconds()
        return buckets.withLock { all -> Int? in
            guard var b = all[client] else { return nil }
            refill(&b, now: now)
            all[client] = b
            guard b.tokens < 1 else { return nil }
            let waitMilliseconds = Int(((1 - b.tokens) * refillMilliseconds).rounded())
            return max(1, (waitMilliseconds + 999) / 1000)
        }
    }

    /// Counts one failure against `client`.
    func failed(_ client: String) {
        guard perMinute > 0 else { return }
        let now = clock.nowMilliseconds()
        buckets.withLock { all in
            var b = all[client] ?? Bucket(tokens: Double(perMinute), updatedAt: now)
            refill(&b, now: now)
            b.tokens = max(0, b.tokens - 1)
            if all[client] == nil && all.count >= maxTracked { evict(&all, now: now) }
            all[client] = b
        }
    }

    /// Addresses remembered now (for tests).
    var trackedCount: Int { buckets.withLock { $0.count } }

    private func refill(_ b: inout Bucket, now: Int64) {
        let elapsed = Double(max(0, now - b.updatedAt))
        b.tokens = min(Double(perMinute), b.tokens + elapsed / refillMilliseconds)
        b.updatedAt = now
    }

    private func evict(_ all: inout [String: Bucket], now: Int64) {
        let full = Double(perMinute), refill = refillMilliseconds
        all = all.filter { $0.value.tokens + Double(max(0, now - $0.value.updatedAt)) / refill < full }
        while all.count >= maxTracked, let oldest = all.min(by: { $0.value.updatedAt < $1.value.updatedAt }) {
            all.removeValue(forKey: oldest.key)
        }
    }

    /// The key an address is counted under: IPv4 as is, IPv6 by its /64, "unknown" without one.
    static func client(_ address: String?) -> String {
        guard let address, !address.isEmpty else { return "unknown" }
        guard address.contains(":") else { return address }
        var a = in6_addr()
        guard inet_pton(AF_INET6, address, &a) == 1 else { return address }
        let bytes = withUnsafeBytes(of: a) { Array($0.prefix(8)) }
        var groups: [String] = []
        for i in stride(from: 0, to: 8, by: 2) {
            groups.append(String(UInt16(bytes[i]) << 8 | UInt16(bytes[i + 1]), radix: 16))
        }
        return groups.joined(separator: ":") + "::/64"
    }
}
