import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Store
import Synchronization
import Timekeeping
import Testing

/// A run whose owner's process ended is taken over at once, not a minute later when its
/// heartbeat goes stale; a live owner's run never is.
struct RunOwnershipTests {
    /// A process of this host that has exited (reaped), for its pid.
    static func endedProcess() throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/true")
        try p.run()
        p.waitUntilExit()
        return p.processIdentifier
    }

    static func owner(pid: Int32, host: String = SyncRunOwnership.thisHost) -> String { "pid \(pid) on \(host) 0a1b2c3d" }

    @Test func ownerNamesSayTheirProcessAndHost() throws {
        let name = SyncRunOwnership.newOwner()
        let said = try #require(SyncRunOwnership.process(of: name))
        #expect(said.pid == ProcessInfo.processInfo.processIdentifier && said.host == SyncRunOwnership.thisHost)
        #expect(SyncRunOwnership.newOwner() != name, "two engines of one process are two owners")
        for other in ["pid 7 cli", "pid 7 1a2b3c4d", "pid x on h t", "pid 0 on h t", "pid 7 on  t", "", "pid 7 on h t extra"] {
            #expect(SyncRunOwnership.process(of: other) == nil, "\(other)")
        }
    }

    /// SQLite: the `serve` (or the command line's `sync`) that held the run was killed; the next
    /// start (a restarted server, the engine's next run) takes the account over at once.
    @Test func aRunWhoseProcessOnThisHostEndedIsTakenOverAtOnce() throws {
        let db = try Database(path: temporaryDatabasePath())
        defer { db.close() }
        let accounts = SQLiteAccountRepository(database: db)
        let a = try #require(try accounts.createAccount(name: "A").accountId), b = try #require(try accounts.createAccount(name: "B").accountId)
        let runs = SQLiteXeroSyncRepository(database: db)
        let me = SyncRunOwnership.newOwner()

        // A live process's run (a `sleep` standing in for the other gateway) is left alone.
        let live = Process()
        live.executableURL = URL(fileURLWithPath: "/bin/sleep")
        live.arguments = ["30"]
        try live.run()
        defer { if live.isRunning { kill(live.processIdentifier, SIGKILL) } }
        let held = try runs.startRun(accountId: a, trigger: .scheduled, owner: Self.owner(pid: live.processIdentifier))
        try #require(held.started)
        #expect(try runs.startRun(accountId: a, trigger: .webhook, owner: me).started == false)
        try runs.failAbandonedRuns()
        #expect(try runs.run(accountId: a, id: held.run.id)?.state == .running)

        // It is killed (kill -9): its run is abandoned by the next look, not a minute later.
        kill(live.processIdentifier, SIGKILL)
        live.waitUntilExit()
        try runs.failAbandonedRuns()
        let failed = try #require(try runs.run(accountId: a, id: held.run.id))
        #expect(failed.state == .failed && failed.errors == ["interrupted by a restart"])
        let taken = try runs.startRun(accountId: a, trigger: .webhook, owner: me)
        #expect(taken.started && taken.run.owner == me)

        // The same through startRun itself.
        try runs.finishRun({ var r = taken.run; r.state = .succeeded; return r }())
        let dead = try runs.startRun(accountId: a, trigger: .manual, owner: Self.owner(pid: try Self.endedProcess()))
        try #require(dead.started)
        let next = try runs.startRun(accountId: a, trigger: .webhook, owner: me)
        #expect(next.started && next.run.id != dead.run.id)
        #expect(try runs.run(accountId: a, id: dead.run.id)?.state == .failed)

        // A pid of another host, or an owner name of an older build, cannot be judged here: its
        // run waits for its heartbeat to go stale.
        for other in [Self.owner(pid: try Self.endedProcess(), host: "elsewhere"), "pid \(try Self.endedProcess()) 1a2b3c4d"] {
            let theirs = try runs.startRun(accountId: b, trigger: .manual, owner: other)
            try #require(theirs.started)
            #expect(try runs.startRun(accountId: b, trigger: .webhook, owner: me).started == false, "\(other)")
            try runs.finishRun({ var r = theirs.run; r.state = .succeeded; return r }())
        }
    }
}

/// PostgreSQL: each instance holds its run owner's advisory lock while it lives; another finding
/// the lock free takes the run over at once.
@Suite(.enabled(if: postgresTestURL != nil, "XG_TEST_POSTGRES_URL is not set: scripts/test starts a PostgreSQL and sets it"))
struct PostgresRunOwnershipTests {
    static func twoInstances() throws -> (one: PostgresDatabase, other: PostgresDatabase, account: String, drop: () -> Void) {
        let (one, other, drop) = try twoPostgresInstances()
        let a = try #require(try PostgresAccountRepository(database: other).createAccount(name: "A").accountId)
        // A heartbeat counts as after the server started once it is 5 s past its start (clocks
        // may differ): a server the test run has only just started is given those seconds.
        let up = try other.read { c in
            try c.query("SELECT (extract(epoch FROM clock_timestamp() - pg_postmaster_start_time()) * 1000)::bigint AS ms").first?.int("ms")
        } ?? 0
        if up < 6_000 { usleep(UInt32(6_000 - up) * 1000) }
        return (one, other, a, drop)
    }

    /// The server processes (connections) holding these owners' locks in this schema; only this
    /// test's, as other tests run beside it.
    static func ownerLockHolders(_ db: PostgresDatabase, _ owners: [String]) throws -> [Int] {
        try db.read { c in
            try c.query("""
                SELECT DISTINCT l.pid FROM pg_locks l
                WHERE l.locktype = 'advisory' AND l.classid = 30826 AND l.granted
                  AND l.objid::bigint IN (SELECT (hashtext(current_schema() || ':' || o)::bigint + 4294967296) % 4294967296
                                          FROM json_array_elements_text(?::json) AS o)
                """, [.text("[" + owners.map { "\"\($0)\"" }.joined(separator: ",") + "]")]).compactMap { $0.int("pid") }
        }
    }

    /// Polls `body` for up to five seconds (the server ends a closed session a moment later).
    static func eventually(_ body: () throws -> Bool) rethrows -> Bool {
        for _ in 0..<100 {
            if try body() { return true }
            usleep(50_000)
        }
        return false
    }

    @Test func aRunWhoseInstanceEndedIsTakenOverAtOnce() throws {
        let (one, other, a, drop) = try Self.twoInstances()
        defer { drop() }
        let dying = "pid 4242 on machine-one 0a1b2c3d", taking = "pid 4343 on machine-two 1b2c3d4e"
        let held = try PostgresXeroSyncRepository(database: one).startRun(accountId: a, trigger: .scheduled, owner: dying)
        try #require(held.started)
        let runs = PostgresXeroSyncRepository(database: other)
        // Alive (its instance holds the lock): left alone, by startRun and by the scheduler's look.
        #expect(try runs.startRun(accountId: a, trigger: .webhook, owner: taking).started == false)
        try runs.failAbandonedRuns()
        #expect(try runs.run(accountId: a, id: held.run.id)?.state == .running)
        // The instance dies (its connections end, as with kill -9): taken over at once, its
        // heartbeat only just written.
        one.close()
        let taken = try Self.eventually { try runs.startRun(accountId: a, trigger: .webhook, owner: taking).started }
        #expect(taken)
        let failed = try #require(try runs.run(accountId: a, id: held.run.id))
        #expect(failed.state == .failed && failed.errors == ["interrupted by a restart"])
        #expect(try runs.recentRuns(accountId: a, limit: 10).filter { $0.state == .running }.map(\.owner) == [taking])
    }

    @Test func theSchedulersLookTakesOverARunWhoseInstanceEnded() throws {
        let (one, other, a, drop) = try Self.twoInstances()
        defer { drop() }
        let held = try PostgresXeroSyncRepository(database: one).startRun(accountId: a, trigger: .scheduled, owner: "pid 1 on m 0a1b2c3d")
        try #require(held.started)
        one.close()
        let runs = PostgresXeroSyncRepository(database: other)
        #expect(try Self.eventually {
            try runs.failAbandonedRuns()
            return try runs.run(accountId: a, id: held.run.id)?.state == .failed
        })
    }

    /// A server restart frees every lock: an owner whose last heartbeat came before the server
    /// started may be alive and not yet back. Its run is left alone until the instance judging
    /// it has itself been connected long enough for a live owner to have its locks back.
    @Test func anOwnerLastSeenBeforeTheServerStartedIsJudgedOnceLiveOwnersHadTimeToComeBack() throws {
        let clock = TestWallClock(millisecondsSinceEpoch: 1_000_000_000_000)  // 2001: before this server started
        let (one, other, a, drop) = try Self.twoInstances()
        defer { drop() }
        let connected = Date()  // `other`'s session: opened by creating the account
        let held = try PostgresXeroSyncRepository(database: one, clock: clock).startRun(accountId: a, trigger: .scheduled, owner: "pid 1 on m 0a1b2c3d")
        try #require(held.started)
        one.close()
        usleep(300_000)
        let runs = PostgresXeroSyncRepository(database: other, clock: clock)
        #expect(try runs.startRun(accountId: a, trigger: .webhook, owner: "pid 2 on n 1b2c3d4e").started == false)
        try runs.failAbandonedRuns()
        #expect(try runs.run(accountId: a, id: held.run.id)?.state == .running)
        // Ten seconds into this instance's session, a live owner would have its lock back.
        Thread.sleep(forTimeInterval: max(0, 10.5 - Date().timeIntervalSince(connected)))
        #expect(try runs.startRun(accountId: a, trigger: .webhook, owner: "pid 2 on n 1b2c3d4e").started)
        #expect(try runs.run(accountId: a, id: held.run.id)?.state == .failed)
    }

    /// The locks outlive a dropped connection (a server restart, an administrator, a network
    /// cut): within a recheck or two the instance has every one back, with no run call needed.
    @Test func locksLostWithTheirConnectionAreTakenBackWithinSeconds() throws {
        let (one, other, a, drop) = try Self.twoInstances()
        defer { drop() }
        let b = try #require(try PostgresAccountRepository(database: other).createAccount(name: "B").accountId)
        let first = "pid 5 on m 0a1b2c3d", second = "pid 5 on m 1b2c3d4e"
        let mine = PostgresXeroSyncRepository(database: one)
        try #require(try mine.startRun(accountId: a, trigger: .scheduled, owner: first).started)
        try #require(try mine.startRun(accountId: b, trigger: .scheduled, owner: second).started)
        // The server ends the locks' connection (an administrator, a network cut); only this
        // test's locks (its schema's keys), as other tests run beside it.
        let holders = try Self.ownerLockHolders(other, [first, second])
        #expect(holders.count == 1, "both locks on one connection")
        for pid in holders {
            _ = try other.read { c in try c.query("SELECT pg_terminate_backend(?::int) AS ended", [.integer(Int64(pid))]) }
        }
        usleep(2_500_000)  // two rechecks and more
        let back = try Self.ownerLockHolders(other, [first, second])
        #expect(back.count == 1 && back != holders, "both locks back, on a new connection")
        let runs = PostgresXeroSyncRepository(database: other)
        for account in [a, b] {
            #expect(try runs.startRun(accountId: account, trigger: .webhook, owner: "pid 6 on n 1b2c3d4e").started == false)
        }
    }
}
