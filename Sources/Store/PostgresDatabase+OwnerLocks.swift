import Timekeeping
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The run owners this process holds locks for, on a connection of their own.
struct OwnerLocks: ~Copyable {
    var connection: PostgresConnection?
    var held: Set<String> = []
    /// When the connection was last seen working (monotonic ms).
    var checkedAt: Int64 = 0
}

extension PostgresDatabase {
    /// The advisory lock class of run owners (with a hash of the schema and the owner's name).
    static let ownerLockKey: Int32 = 30826
    /// How long a working lock connection is trusted before it is asked again (ms).
    static let ownerLockRecheck: Int64 = 1_000

    /// Holds `owner`'s session advisory lock for as long as this process lives, on a connection
    /// kept for the purpose: another instance that finds the lock free knows the owner's process
    /// ended (`ownerHasEnded`), and takes its run over at once instead of waiting a minute for
    /// its heartbeat to go stale. Called before a run is recorded and with every heartbeat; a
    /// connection the server dropped (a restart, a network cut) is replaced and every lock taken
    /// again. Throws when the server cannot be reached: the caller then records no run.
    public func holdOwnerLock(_ owner: String) throws(StoreError) {
        try PostgresErrors.attempt {
            guard !closed.load(ordering: .acquiring) else { throw PostgresDatabase.closedError }
            try ownerLocks.withLock { locks in
                let now = Self.monotonicMilliseconds()
                if let c = locks.connection, c.isUsable, locks.held.contains(owner), now - locks.checkedAt < Self.ownerLockRecheck {
                    return
                }
                var working = false
                if let c = locks.connection, c.isUsable { working = (try? c.query("SELECT 1", [])) != nil }
                if !working {
                    locks.connection = nil
                    let c = try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: true)
                    // Never closed by the server for idling: the lock must last as long as the process.
                    try c.execute("SET idle_session_timeout = 0; SET idle_in_transaction_session_timeout = 0")
                    for held in locks.held { try Self.lockOwner(held, on: c) }
                    locks.connection = c
                }
                guard let c = locks.connection else { throw PostgresDatabase.closedError }
                if !locks.held.contains(owner) {
                    try Self.lockOwner(owner, on: c)
                    locks.held.insert(owner)
                }
                locks.checkedAt = now
            }
        }
    }

    /// Waits for the owner's lock: another instance may hold it for the moment it takes to
    /// judge the owner (a transaction-scoped try).
    private static func lockOwner(_ owner: String, on c: PostgresConnection) throws {
        try c.run("SELECT pg_advisory_lock(?::int4, hashtext(current_schema() || ':' || ?))", [.integer(Int64(ownerLockKey)), .text(owner)])
    }

    /// Whether the running run's owner process has ended, judged inside the caller's write
    /// transaction: its lock is free (taken here until the transaction ends), and its last
    /// heartbeat came after the server started — a server restart frees every lock, so an
    /// owner that last beat before it may be alive and not yet back (that waits for `staleAfter`).
    /// `margin` allows for the gateway's and the server's clocks differing a little.
    static func ownerHasEnded(_ run: SyncRunRecord, _ c: PostgresConnection, margin: Int64 = 5_000) throws -> Bool {
        guard run.state == .running, let owner = run.owner, SyncRunOwnership.process(of: owner) != nil,
              let beat = run.heartbeatAt ?? Timestamp.parse(run.startedAt) else { return false }
        guard let row = try c.query("""
            SELECT pg_try_advisory_xact_lock(?::int4, hashtext(current_schema() || ':' || ?)) AS free,
                   (extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint AS server_started
            """, [.integer(Int64(ownerLockKey)), .text(owner)]).first else { return false }
        guard row.int("free") == 1, let started = row.int("server_started") else { return false }
        return beat > Int64(started) + margin
    }

    static func monotonicMilliseconds() -> Int64 {
        var t = timespec()
        clock_gettime(CLOCK_MONOTONIC, &t)
        return Int64(t.tv_sec) * 1000 + Int64(t.tv_nsec) / 1_000_000
    }
}
