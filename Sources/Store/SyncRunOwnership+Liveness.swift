#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How a run's owner is known to be gone before its heartbeat goes stale. An owner is named
/// `pid <pid> on <host> <tag>`: SQLite (one machine) asks the kernel whether that process still
/// runs on this host; PostgreSQL (any number of machines) tries the owner's advisory lock, which
/// its process holds on a connection of its own while it lives (`PostgresDatabase.holdOwnerLock`).
/// An owner that cannot be judged (another host on SQLite, another build's name, no owner) waits
/// for `staleAfter`, as before.
extension SyncRunOwnership {
    /// A new owner name for this process: its pid, this host and a random tag (two engines of one
    /// process are two owners).
    public static func newOwner() -> String {
        "pid \(getpid()) on \(thisHost) \(UUID().uuidString.prefix(8).lowercased())"
    }

    /// This machine's host name (`gethostname`; "localhost" when it has none).
    public static let thisHost: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self).filter { !$0.isWhitespace }
        return name.isEmpty ? "localhost" : name
    }()

    /// The pid and host an owner name says, when it is one of `newOwner`'s.
    public static func process(of owner: String) -> (pid: Int32, host: String)? {
        let parts = owner.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0] == "pid", parts[2] == "on", let pid = Int32(parts[1]), pid > 0, !parts[3].isEmpty else {
            return nil
        }
        return (pid, String(parts[3]))
    }

    /// Whether the running run's owner is a process of this host that no longer runs. A pid the
    /// kernel does not know is gone; one it knows (or a pid reused since) counts as alive.
    public static func ownerIsGoneFromThisHost(_ run: SyncRunRecord) -> Bool {
        guard run.state == .running, let owner = run.owner, let (pid, host) = process(of: owner), host == thisHost else {
            return false
        }
        return kill(pid, 0) != 0 && errno == ESRCH
    }
}
