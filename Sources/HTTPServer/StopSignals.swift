#if canImport(Glibc)
import Glibc
#endif

/// SIGINT and SIGTERM for a server process: block them before any thread starts (so threads
/// inherit the mask and only `wait()` sees them), ignore SIGPIPE, then wait for one.
public struct StopSignals: @unchecked Sendable {
    private var set = sigset_t()

    /// Call first thing in a command, before starting threads.
    public static func block() -> StopSignals {
        var s = StopSignals()
        sigemptyset(&s.set)
        sigaddset(&s.set, SIGINT)
        sigaddset(&s.set, SIGTERM)
        pthread_sigmask(SIG_BLOCK, &s.set, nil)
        signal(SIGPIPE, SIG_IGN)
        return s
    }

    /// Blocks until SIGINT or SIGTERM arrives; returns its name.
    public func wait() -> String {
        var set = self.set
        var received: Int32 = 0
        sigwait(&set, &received)
        return received == SIGINT ? "SIGINT" : "SIGTERM"
    }
}
