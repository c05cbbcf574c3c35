import Foundation

/// The simulator's clock: real time plus an offset that tests move forward (`POST /sim/clock`).
final class SimClock: Sendable {
    private let offsetMs = Locked<Int64>(0)

    /// Milliseconds since the epoch, as the simulator sees it.
    func now() -> Int64 { SimClock.wallNow() + offsetMs.withLock { $0 } }

    func advance(seconds: Double) { offsetMs.withLock { $0 += Int64(seconds * 1000) } }

    func set(_ ms: Int64) { offsetMs.withLock { $0 = ms - SimClock.wallNow() } }

    func reset() { offsetMs.withLock { $0 = 0 } }

    var offsetSeconds: Double { Double(offsetMs.withLock { $0 }) / 1000 }

    /// Real wall-clock milliseconds since the epoch.
    static func wallNow() -> Int64 { Int64((Date().timeIntervalSince1970 * 1000).rounded(.down)) }
}

extension Duration {
    /// The duration in seconds (delays, timeouts, `Date(timeIntervalSinceNow:)`).
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }

    /// The duration in milliseconds (the call log, `elapsedMs`).
    var milliseconds: Double { seconds * 1000 }
}
