import Crypto
import Foundation

/// The simulator's clock: real time plus an offset that tests move forward (`POST /sim/clock`).
final class SimClock: Sendable {
    private let offsetMs = Locked<Int64>(0)

    /// Milliseconds since the epoch, as the simulator sees it.
    func now() -> Int64 { SimClock.realNow() + offsetMs.withLock { $0 } }

    func advance(seconds: Double) { offsetMs.withLock { $0 += Int64(seconds * 1000) } }

    func set(_ ms: Int64) { offsetMs.withLock { $0 = ms - SimClock.realNow() } }

    func reset() { offsetMs.withLock { $0 = 0 } }

    var offsetSeconds: Double { Double(offsetMs.withLock { $0 }) / 1000 }

    static func realNow() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }
}

func monotonicNow() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A success or a failure of any type (`Result` wants an `Error`).
enum Outcome<Success, Failure> {
    case success(Success)
    case failure(Failure)
}
