import Foundation
import Timekeeping
import Synchronization

/// The run owners this process holds locks for, on a connection of their own.
struct OwnerLocks: ~Copyable {
    var connection: PostgresConnection?
    var held: Set<String> = []
    /// When the connection was last seen working (monotonic ms).
    var checkedAt: Int64 = 0
    /// Whether the thread that keeps the locks is running.
    var keeping = false
}

extension PostgresDatabase {
    /// The advisory lock class of run owners (with a hash of the schema and the owner's name).
    static let ownerLockKey: Int32 = 30826
    /// How often the lock connection is asked whether it still works (ms): after a server
    /// restart (which frees every lock) a live owner has its locks back within about this long.
    static let ownerLockRecheck: Int64 = 1_000
    /// How long after it could reach the server again a live owner surely has its locks back
    /// (ms): ten rechecks. An instance whose own session is older than this takes a free lock
    /// for an ended owner even when the owner's last heartbeat came before a server restart.
    static let ownerLockReturn: Int64 = 10_000

    /// Holds `owner`'s session advisory lock for as long as this process lives, on a connection
    /// kept for the purpose: another instance that finds the lock free knows the owner's process
    /// ended (`ownerHasEnded`), and takes its run over at once instead of waiting a minute for
    /// its heartbeat to go stale. Called before a run is recorded and with every heartbeat; a
    /// thread asks the connection every `ownerLockRecheck` whether it works and, when the server
    /// dropped it (a restart, a network cut), connects again and takes every lock again. Throws
    /// when the server cannot be reached: the caller then records no run.
    public func holdOwnerLock(_ owner: String) throws(StoreError) {
        let startKeeper = try keepOwnerLocks(adding: owner)
        if startKeeper { startOwnerLockKeeper() }
    }

    /// Checks the lock connection (at most every `ownerLockRecheck` unless `force`), replaces it
    /// and takes every lock again when it is gone, and takes `owner`'s lock if new. Returns
    /// whether the keeper thread should start.
    @discardableResult
    func keepOwnerLocks(adding owner: String? = nil, force: Bool = false) throws(StoreError) -> Bool {
        try PostgresErrors.attempt {
            guard !closed.load(ordering: .acquiring) else { throw PostgresDatabase.closedError }
            return try ownerLocks.withLock { locks -> Bool in
                let now = SystemMonotonicClock().nowMilliseconds()
                let known = owner.map { locks.held.contains($0) } ?? true
                if !force, known, let c = locks.connection, c.isUsable, now - locks.checkedAt < Self.ownerLockRecheck {
                    return false
                }
                guard owner != nil || !locks.held.isEmpty else { return false }
                var working = false
                if let c = locks.connection, c.isUsable { working = (try? c.query("SELECT 1", [])) != nil }
                if !working {
                    locks.connection = nil
                    let c = try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: true)
                    // Never closed by the server for idling (PostgreSQL 14 and later have the
                    // setting): the locks must last as long as the process.
                    try? c.execute("SET idle_session_timeout = 0")
                    for held in locks.held { try Self.lockOwner(held, on: c) }
                    locks.connection = c
                }
                guard let c = locks.connection else { throw PostgresDatabase.closedError }
                if let owner, !locks.held.contains(owner) {
                    try Self.lockOwner(owner, on: c)
                    locks.held.insert(owner)
                }
                locks.checkedAt = now
                guard !locks.keeping else { return false }
                locks.keeping = true
                return true
            }
        }
    }

    /// The thread that keeps the locks while the database is open: every `ownerLockRecheck` it
    /// asks the connection, and takes the locks back after a server restart.
    private func startOwnerLockKeeper() {
        let t = Thread { [weak self] in
            while true {
                usleep(UInt32(PostgresDatabase.ownerLockRecheck * 1000))
                guard let db = self, !db.closed.load(ordering: .acquiring) else { return }
                _ = try? db.keepOwnerLocks(force: true)
            }
        }
        t.name = "pg-owner-locks"
        t.start()
    }

    /// Waits for the owner's lock: another instance may hold it for the moment it takes to
    /// judge the owner (a transaction-scoped try).
    private static func lockOwner(_ owner: String, on c: PostgresConnection) throws {
        try c.run("SELECT pg_advisory_lock(?::int4, hashtext(current_schema() || ':' || ?))", [.integer(Int64(ownerLockKey)), .text(owner)])
    }

    /// Whether the running run's owner process has ended, judged inside the caller's write
    /// transaction: its lock is free (taken here until the transaction ends), and either its last
    /// heartbeat came after the server started, or this instance's own session has been open
    /// `ownerLockReturn` — a server restart frees every lock, and a live owner takes its locks
    /// back within a recheck or two of reaching the server again. Otherwise (the server has only
    /// just come back) the run waits for `staleAfter`. `margin` allows for the gateway's and the
    /// server's clocks differing a little.
    static func ownerHasEnded(_ run: SyncRunRecord, _ c: some SQLConnection, margin: Int64 = 5_000) throws -> Bool {
        guard run.state == .running, let owner = run.owner, SyncRunOwnership.process(of: owner) != nil,
              let beat = run.heartbeatAt ?? Timestamp.parse(run.startedAt) else { return false }
        guard let row = try c.query("""
            SELECT pg_try_advisory_xact_lock(?::int4, hashtext(current_schema() || ':' || ?)) AS free,
                   (extract(epoch FROM pg_postmaster_start_time()) * 1000)::bigint AS server_started,
                   (extract(epoch FROM clock_timestamp() - (SELECT backend_start FROM pg_stat_activity WHERE pid = pg_backend_pid())) * 1000)::bigint AS session_age
            """, [.integer(Int64(ownerLockKey)), .text(owner)]).first else { return false }
        guard row.int("free") == 1, let started = row.int("server_started") else { return false }
        return beat > Int64(started) + margin || Int64(row.int("session_age") ?? 0) >= ownerLockReturn
    }
}
