import CMicroHTTPD
import Synchronization
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// What the server knows about one open connection, for the deadline sweeper. Written by
/// libmicrohttpd's threads (atomics), read by the sweeper.
final class TrackedConnection: Sendable {
    enum Phase: Int { case awaitingHeaders = 0, receivingBody = 1, handling = 2 }
    let fd: Int32
    /// The client's address (`Request.remoteAddress`), "" if unknown.
    let address: String
    let phase = Atomic<Int>(Phase.awaitingHeaders.rawValue)
    /// Monotonic nanoseconds when the current phase began.
    let since: Atomic<UInt64>
    /// Body bytes received in the current request.
    let bodyBytes = Atomic<Int>(0)
    let clock: any MonotonicClock

    init(fd: Int32, address: String, clock: any MonotonicClock) {
        self.fd = fd
        self.address = address
        self.clock = clock
        since = Atomic(UInt64(clock.nowNanoseconds()))
    }

    func enter(_ p: Phase) {
        since.store(UInt64(clock.nowNanoseconds()), ordering: .relaxed)
        bodyBytes.store(0, ordering: .relaxed)
        phase.store(p.rawValue, ordering: .releasing)
    }
}

/// Keeps room for legitimate clients under abuse:
/// - a deadline for a request's headers, counted from the moment the connection starts waiting
///   for a request (a trickle of bytes does not extend it, unlike libmicrohttpd's idle timeout);
/// - a minimum upload rate for bodies, after a grace period;
/// - a budget for body bytes buffered before any handler (and so any signature check) has seen
///   them, with part of it kept for small bodies;
/// - memory handed back to the kernel once a burst of large bodies is over.
///
/// A sweeper thread checks every connection four times a second and cuts the late ones off
/// with `shutdown(2)`: libmicrohttpd then sees the end of the stream and closes the connection
/// itself. Connections are registered by the notify-connection callback and removed, under the
/// same lock, before libmicrohttpd closes their descriptor, so a shutdown never hits a reused one.
final class ConnectionGuard: Sendable {
    let headerTimeoutNanos: UInt64
    let uploadGraceNanos: UInt64
    let minUploadBytesPerSecond: Int
    let bodyBudget: Int
    let largeBodyBudget: Int
    let smallBodyBytes: Int
    /// Time for deadlines (the server's monotonic clock).
    let clock: any MonotonicClock

    private let registry = Mutex<[UInt: TrackedConnection]>([:])
    /// Unverified body bytes buffered (or, for a declared Content-Length, admitted) right now.
    let bufferedBodyBytes = Atomic<Int>(0)
    /// Highest `bufferedBodyBytes` since the last trim.
    private let peakSinceTrim = Atomic<Int>(0)
    private let stopping = Atomic<Bool>(false)
    private let sweeperDone = Atomic<Bool>(true)

    // Counters, for tests and metrics.
    let headerTimeouts = Atomic<Int>(0)
    let slowUploads = Atomic<Int>(0)
    let budgetRefusals = Atomic<Int>(0)
    let trims = Atomic<Int>(0)

    init(configuration c: ServerConfiguration) {
        headerTimeoutNanos = UInt64(max(0, c.headerTimeout) * 1e9)
        uploadGraceNanos = UInt64(max(0, c.uploadGracePeriod) * 1e9)
        minUploadBytesPerSecond = max(0, c.minUploadBytesPerSecond)
        bodyBudget = c.unverifiedBodyBudget
        smallBodyBytes = c.smallBodyBytes
        largeBodyBudget = max(0, c.unverifiedBodyBudget - c.smallBodyReserve)
        clock = c.monotonicClock
    }

    var openConnections: Int { registry.withLock { $0.count } }

    // MARK: connections

    func opened(_ key: UInt, fd: Int32, address: String) -> TrackedConnection {
        let t = TrackedConnection(fd: fd, address: address, clock: clock)
        registry.withLock { $0[key] = t }
        return t
    }

    func closed(_ key: UInt) {
        _ = registry.withLock { $0.removeValue(forKey: key) }
    }

    // MARK: body budget

    /// Admits `bytes` more buffered body for a request that will then hold `requestTotal`
    /// bytes. Large bodies may use the budget less the part kept for small ones.
    func admit(_ bytes: Int, requestTotal: Int) -> Bool {
        let limit = requestTotal <= smallBodyBytes ? bodyBudget : largeBodyBudget
        var current = bufferedBodyBytes.load(ordering: .relaxed)
        while true {
            let next = current + bytes
            if next > limit {
                budgetRefusals.add(1, ordering: .relaxed)
                return false
            }
            let (exchanged, original) = bufferedBodyBytes.compareExchange(
                expected: current, desired: next, ordering: .relaxed)
            if exchanged {
                var peak = peakSinceTrim.load(ordering: .relaxed)
                while next > peak {
                    let (done, seen) = peakSinceTrim.compareExchange(expected: peak, desired: next, ordering: .relaxed)
                    if done { break }
                    peak = seen
                }
                return true
            }
            current = original
        }
    }

    func release(_ bytes: Int) {
        if bytes > 0 { bufferedBodyBytes.subtract(bytes, ordering: .relaxed) }
    }

    // MARK: sweeper

    func startSweeper() {
        guard headerTimeoutNanos > 0 || minUploadBytesPerSecond > 0 || bodyBudget > 0 else { return }
        sweeperDone.store(false, ordering: .relaxed)
        let me = Unmanaged.passRetained(self).toOpaque()
        var thread = pthread_t()
        let rc = pthread_create(&thread, nil, { arg in
            let g = Unmanaged<ConnectionGuard>.fromOpaque(arg!).takeRetainedValue()
            g.sweepLoop()
            return nil
        }, me)
        if rc == 0 {
            pthread_detach(thread)
        } else {
            Unmanaged<ConnectionGuard>.fromOpaque(me).release()
            sweeperDone.store(true, ordering: .relaxed)
        }
    }

    func stopSweeper() {
        stopping.store(true, ordering: .relaxed)
        // Real time, whatever the clock: the sweeper wakes every 250 ms of it.
        let deadline = SystemMonotonicClock().nowMilliseconds() + 2_000
        while !sweeperDone.load(ordering: .acquiring) && SystemMonotonicClock().nowMilliseconds() < deadline { usleep(5_000) }
    }

    private func sweepLoop() {
        defer { sweeperDone.store(true, ordering: .releasing) }
        while !stopping.load(ordering: .relaxed) {
            usleep(250_000)
            sweep(now: UInt64(clock.nowNanoseconds()))
            trimAfterBurst()
        }
    }

    /// Cuts off connections past their header deadline or below the upload floor.
    func sweep(now: UInt64) {
        registry.withLock { all in
            for (_, c) in all {
                // Phase first (acquiring): `enter` stores `since` before it releases the phase,
                // so the time read next belongs to this phase, never to the one before.
                let phase = c.phase.load(ordering: .acquiring)
                let since = c.since.load(ordering: .relaxed)
                guard now > since else { continue }
                let age = now - since
                switch phase {
                case TrackedConnection.Phase.awaitingHeaders.rawValue:
                    if headerTimeoutNanos > 0 && age > headerTimeoutNanos {
                        headerTimeouts.add(1, ordering: .relaxed)
                        c.phase.store(TrackedConnection.Phase.handling.rawValue, ordering: .relaxed)
                        _ = shutdown(c.fd, Int32(SHUT_RDWR))
                    }
                case TrackedConnection.Phase.receivingBody.rawValue:
                    guard minUploadBytesPerSecond > 0, age > uploadGraceNanos else { continue }
                    let floor = Double(minUploadBytesPerSecond) * Double(age - uploadGraceNanos) / 1e9
                    if Double(c.bodyBytes.load(ordering: .relaxed)) < floor {
                        slowUploads.add(1, ordering: .relaxed)
                        c.phase.store(TrackedConnection.Phase.handling.rawValue, ordering: .relaxed)
                        _ = shutdown(c.fd, Int32(SHUT_RDWR))
                    }
                default:
                    continue
                }
            }
        }
    }

    /// After a burst of large bodies (1 MiB or more buffered at once) has drained to nothing,
    /// returns the freed heap to the kernel: glibc would otherwise keep it for reuse.
    func trimAfterBurst() {
        guard bufferedBodyBytes.load(ordering: .relaxed) == 0,
              peakSinceTrim.load(ordering: .relaxed) >= 1 << 20 else { return }
        peakSinceTrim.store(0, ordering: .relaxed)
        xg_malloc_trim()
        trims.add(1, ordering: .relaxed)
    }
}

/// The most connections this process can hold: what its descriptors (raised to the hard
/// limit) and epoll's per-user watch limit allow, less a reserve for files, the database and
/// outgoing connections.
func connectionCapacity() -> Int {
    let descriptors = xg_raise_nofile_limit()
    var watches = Int.max
    let fd = open("/proc/sys/fs/epoll/max_user_watches", O_RDONLY)
    if fd >= 0 {
        var buf = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &buf, buf.count)
        close(fd)
        if n > 0, let v = Int(String(decoding: buf[0..<n], as: UTF8.self).filter(\.isNumber)), v > 0 { watches = v }
    }
    return max(16, min(Int(descriptors) - 256, watches - 256))
}
