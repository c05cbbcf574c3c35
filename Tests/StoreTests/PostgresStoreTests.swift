import Foundation
import Store
import Synchronization
import Timekeeping
import Testing

/// The PostgreSQL store itself: connecting, values, errors and migrations. Needs the test
/// server (`XG_TEST_POSTGRES_URL`, set by scripts/test); under a plain `swift test` the suite is
/// skipped, and says why.
@Suite(.enabled(if: postgresTestURL != nil, "XG_TEST_POSTGRES_URL is not set: scripts/test starts a PostgreSQL and sets it"))
struct PostgresStoreTests {
    @Test func aFreshSchemaIsMigratedOnceAndReopens() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        let newest = try sqliteSchemaVersion()
        #expect(newest >= 9 && db.schemaVersion == newest)
        let versions = try db.read { c in try c.query("SELECT version FROM schema_migrations ORDER BY version").map { $0.int("version") } }
        #expect(versions == Array(1...newest))
    }

    /// The same migrations mean the same schema: every table, column and named index SQLite has,
    /// PostgreSQL has, and no other (beyond `schema_migrations`, PostgreSQL's record of versions,
    /// and the `seq` SQLite's rowid gives `users` and `admin_sessions`).
    @Test func theMigratedSchemaHasSQLitesTablesColumnsAndIndexes() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        let sqlite = try Database(path: temporaryDatabasePath())
        defer { sqlite.close() }
        let sqliteColumns: Set<String> = try sqlite.read { c in
            var all = Set<String>()
            for t in try c.query("SELECT name FROM sqlite_master WHERE type = 'table'").compactMap({ $0.string("name") }) {
                for col in try c.query("SELECT name FROM pragma_table_info(?)", [.text(t)]) { all.insert("\(t).\(col.string("name") ?? "")") }
            }
            return all
        }
        let postgresColumns: Set<String> = try db.read { c in
            Set(try c.query("""
                SELECT table_name || '.' || column_name AS c FROM information_schema.columns WHERE table_schema = current_schema()
                """).compactMap { $0.string("c") })
        }
        let extras: Set<String> = ["schema_migrations.version", "schema_migrations.applied_at", "users.seq", "admin_sessions.seq"]
        #expect(sqliteColumns.subtracting(postgresColumns).sorted() == [])
        #expect(postgresColumns.subtracting(sqliteColumns).subtracting(extras).sorted() == [])
        let sqliteIndexes: Set<String> = try sqlite.read { c in
            Set(try c.query("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL").compactMap { $0.string("name") })
        }
        let postgresIndexes: Set<String> = try db.read { c in
            Set(try c.query("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()").compactMap { $0.string("indexname") })
        }
        #expect(sqliteIndexes.subtracting(postgresIndexes).sorted() == [])
    }

    @Test func instancesStartingTogetherMigrateOnceUnderTheAdvisoryLock() throws {
        let url = try #require(postgresTestURL)
        let schema = "xg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let failures = Mutex<[String]>([])
        let opened = Mutex<[PostgresDatabase]>([])
        let threads = (0..<4).map { _ in
            Thread {
                do { let db = try PostgresDatabase(url: url, schema: schema); opened.withLock { $0.append(db) } }
                catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        threads.forEach { $0.start() }
        while opened.withLock({ $0.count }) + failures.withLock({ $0.count }) < 4 { Thread.sleep(forTimeInterval: 0.01) }
        let dbs = opened.withLock { $0 }
        defer {
            try? dbs.first?.write { c in try c.execute("DROP SCHEMA \(schema) CASCADE") }
            dbs.forEach { $0.close() }
        }
        #expect(failures.withLock { $0 } == [])
        let db = try #require(dbs.first)
        let newest = try sqliteSchemaVersion()
        #expect(try db.read { c in try c.query("SELECT COUNT(*) AS n FROM schema_migrations").first?.int("n") } == newest)
    }

    @Test func aSchemaNewerThanTheBuildIsRefused() throws {
        let url = try #require(postgresTestURL)
        let schema = "xg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let db = try PostgresDatabase(url: url, schema: schema)
        defer {
            try? db.write { c in try c.execute("DROP SCHEMA \(schema) CASCADE") }
            db.close()
        }
        try db.write { c in try c.run("INSERT INTO schema_migrations (version, applied_at) VALUES (99, 'later')") }
        #expect { try PostgresDatabase(url: url, schema: schema) } throws: { ($0 as? StoreError)?.code == .schemaTooNew }
    }

    @Test func valuesGoApartFromTheStatementAndComeBackAsTheyWent() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        let bytes: [UInt8] = [0, 1, 0x27, 0x5c, 0xff, 0x3f]
        let text = "it's a '?' \\ \"quoted\"; DROP TABLE accounts; -- ü"
        let row = try db.write { c in
            try c.run("INSERT INTO accounts (id, name, created_at) VALUES (?, ?, ?)", [.text("a?"), .text(text), .text("t")])
            try c.run("INSERT INTO xero_tokens (account_id, access_token, refresh_token, access_expires_at, updated_at) VALUES (?, ?, ?, ?, ?)",
                      [.text("a?"), .blob(bytes), .blob([]), .integer(Int64.max), .text("'?'")])
            return try c.query("""
                SELECT a.name, t.access_token, t.refresh_token, t.access_expires_at, t.updated_at, a.name = '?' AS literal
                FROM accounts a JOIN xero_tokens t ON t.account_id = a.id WHERE a.id = ?
                """, [.text("a?")]).first
        }
        let r = try #require(row)
        #expect(r.string("name") == text)
        #expect(r.blob("access_token") == bytes && r.blob("refresh_token") == [])
        #expect(r.int("access_expires_at") == Int.max && r.string("updated_at") == "'?'" && r.int("literal") == 0)
    }

    @Test func aConstraintViolationIsAConflictAndRollsTheTransactionBack() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        try db.write { c in try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', 't')") }
        #expect {
            try db.write { c in
                try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('b', 'B', 't')")
                try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'again', 't')")
            }
        } throws: { error in
            // Worded as SQLite words it, so a refused constraint reads the same on both stores.
            let e = error as? StoreError
            return e?.code == .conflict && e?.message.hasPrefix("UNIQUE constraint failed: duplicate key value") == true
        }
        #expect(try db.read { c in try c.query("SELECT id FROM accounts ORDER BY id").map { $0.string("id") } } == ["a"])
        try db.probeWrite()
        #expect(throws: StoreError.self) { try db.read { c in try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('r', 'R', 't')") } }
    }

    /// Two instances on one database: an event another instance's transaction holds (its
    /// settle, say) is passed over by a claim, which neither waits for it nor returns it.
    @Test func r16_aClaimPassesOverEventsAnotherInstanceHoldsWithoutWaiting() throws {
        let (one, other, drop) = try twoPostgresInstances()
        defer { drop() }
        let a = try #require(try PostgresAccountRepository(database: one).createAccount(name: "A").accountId)
        try PostgresAccountRepository(database: one).connect(accountId: a, tenantId: "ta", tenantName: "A")
        let body = "ta CONTACT r1 2026-01-01T00:00:00.000Z UPDATE\nta CONTACT r2 2026-01-01T00:00:00.000Z UPDATE\nta CONTACT r3 2026-01-01T00:00:00.000Z UPDATE"
        let inbox = PostgresWebhookInboxRepository(database: one)
        let delivered = try inbox.commitDeliveries([Array(body.utf8)], receivedAt: "2026-01-01T00:00:00.000Z")
        #expect(try inbox.expandDeliveries(after: 0, limit: 1, maxBytes: 1 << 20, reader: fakeReader).expandedThrough == delivered)
        let engine = PostgresSyncEngineRepository(database: one)
        let first = try #require(try engine.claimableEvents(accountId: a, now: 0, limit: 10).first)

        let held = DispatchSemaphore(value: 0), release = DispatchSemaphore(value: 0), released = DispatchSemaphore(value: 0)
        Thread {
            _ = try? other.write { c in
                try c.run("UPDATE webhook_events SET attempts = attempts WHERE id = ?", [.integer(first.id)])
                held.signal()
                release.wait()
            }
            released.signal()
        }.start()
        held.wait()
        let claimed = Mutex<Result<[InboxEvent], StoreError>?>(nil), done = DispatchSemaphore(value: 0)
        Thread {
            let r = Result { () throws(StoreError) -> [InboxEvent] in try engine.claimableEvents(accountId: a, now: 0, limit: 10) }
            claimed.withLock { $0 = r }
            done.signal()
        }.start()
        let answered = done.wait(timeout: .now() + 5) == .success
        release.signal()
        released.wait()
        if !answered { done.wait() }
        #expect(answered, "the claim waited for the other instance's transaction")
        let events = try #require(claimed.withLock { $0 }).get()
        #expect(events.map(\.resourceId) == ["r2", "r3"])
        #expect(try engine.claimableEvents(accountId: a, now: 0, limit: 10).map(\.resourceId) == ["r1", "r2", "r3"])
    }

    /// Two instances starting a run of one account at the same moment (the failover test's ten
    /// "Create contact in Xero" calls on two gateways): the second is told the first's run is
    /// going on, as when it was already recorded, rather than failing on the one-running-run
    /// index (which the API answered as 409).
    @Test func aRunStartedByAnotherInstanceAtTheSameMomentIsWaitedForNotAConflict() throws {
        let (one, other, drop) = try twoPostgresInstances()
        defer { drop() }
        let a = try #require(try PostgresAccountRepository(database: one).createAccount(name: "A").accountId)
        // The other instance has inserted its running run and not yet committed: this one's
        // check finds no running run and its insert meets the other's row.
        let inserted = DispatchSemaphore(value: 0), commit = DispatchSemaphore(value: 0), committed = DispatchSemaphore(value: 0)
        Thread {
            _ = try? other.write { c in
                try c.run("INSERT INTO sync_runs (id, account_id, trigger, state, started_at, owner, heartbeat_at) VALUES ('r-other', ?, 'webhook', 'running', ?, 'other', ?)",
                          [.text(a), .text(Timestamp.format(millisecondsSinceEpoch: 1_000)), .integer(Int64(Date().timeIntervalSince1970 * 1000))])
                inserted.signal()
                commit.wait()
            }
            committed.signal()
        }.start()
        inserted.wait()
        let started = Mutex<Result<(run: SyncRunRecord, started: Bool), StoreError>?>(nil), done = DispatchSemaphore(value: 0)
        Thread {
            let r = Result { () throws(StoreError) -> (run: SyncRunRecord, started: Bool) in
                try PostgresXeroSyncRepository(database: one).startRun(accountId: a, trigger: .link, owner: "one")
            }
            started.withLock { $0 = r }
            done.signal()
        }.start()
        usleep(200_000)  // this instance's insert is waiting on the other's row
        commit.signal()
        committed.wait()
        done.wait()
        let outcome = try #require(started.withLock { $0 }).get()
        #expect(!outcome.started)
        #expect(outcome.run.id == "r-other" && outcome.run.state == .running)
        let runs = try PostgresXeroSyncRepository(database: one).runs(accountId: a, limit: 10, cursor: nil).items
        #expect(runs.map(\.id) == ["r-other"])
    }

    /// A run its owner finishes while another instance takes it for abandoned (its heartbeat
    /// is old), failing abandoned runs at a restart or starting a run of the account: the other
    /// waits for the finish and passes the run over, so it stays recorded as it finished rather
    /// than "interrupted by a restart" (R17).
    @Test(arguments: [false, true])
    func r17_aRunFinishedWhileAnotherInstanceTakesItForAbandonedStaysAsItFinished(starting: Bool) throws {
        let (one, other, drop) = try twoPostgresInstances()
        defer { drop() }
        let clock = TestWallClock()
        let sync = PostgresXeroSyncRepository(database: one, clock: clock)
        let a = try #require(try PostgresAccountRepository(database: one, clock: clock).createAccount(name: "A").accountId)
        let (run, started) = try sync.startRun(accountId: a, trigger: .scheduled, owner: "other")
        try #require(started)
        clock.advance(milliseconds: SyncRunOwnership.staleAfter * 2)
        // The owner's finish is written and not yet committed.
        let finishing = DispatchSemaphore(value: 0), commit = DispatchSemaphore(value: 0), committed = DispatchSemaphore(value: 0)
        Thread {
            _ = try? other.write { c in
                try c.run("UPDATE sync_runs SET state = 'succeeded', finished_at = ? WHERE id = ?", [.text(clock.timestamp()), .text(run.id)])
                finishing.signal()
                commit.wait()
            }
            committed.signal()
        }.start()
        finishing.wait()
        let outcome = Mutex<Result<Bool, StoreError>?>(nil), done = DispatchSemaphore(value: 0)
        Thread {
            let r = Result { () throws(StoreError) -> Bool in
                if starting { return try sync.startRun(accountId: a, trigger: .manual, owner: "one").started }
                try sync.failAbandonedRuns()
                return false
            }
            outcome.withLock { $0 = r }
            done.signal()
        }.start()
        usleep(200_000)  // this instance is waiting on the run's row
        commit.signal()
        committed.wait()
        done.wait()
        #expect(try #require(outcome.withLock { $0 }).get() == starting)
        let stored = try #require(try sync.run(accountId: a, id: run.id))
        #expect(stored.state == .succeeded && stored.errors.isEmpty)
    }

    /// A server restart (here: every connection of the store ended by the server) costs the
    /// next call nothing: the dropped connections are replaced.
    /// Two instances' inboxes on one database, both taking deliveries at once: every delivery
    /// is acknowledged, expanded exactly once, and none is passed over (commits take ids in
    /// commit order, so no expansion runs past a lower id still being committed elsewhere).
    @Test func r16_twoInstancesInboxesShareTheDeliveriesAndExpandEachOnce() throws {
        let (one, other, drop) = try twoPostgresInstances()
        defer { drop() }
        let inboxes = try [one, other].map { try WebhookInbox(repository: PostgresWebhookInboxRepository(database: $0), reader: fakeReader) }
        let n = 4000
        let failures = Atomic<Int>(0)
        let group = DispatchGroup()
        for i in 0..<n {
            group.enter()
            inboxes[i % 2].append(Array("t1 CONTACT r\(i) 2024-01-01T00:00:00.000Z UPDATE".utf8)) { r in
                if case .failure = r { failures.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.load(ordering: .relaxed) == 0)
        for inbox in inboxes { #expect(inbox.waitUntilExpanded(timeout: 20)) }
        for inbox in inboxes { inbox.stop() }
        let events = try PostgresWebhookEventRepository(database: one).events(accountId: nil, state: nil, limit: 10000, afterId: nil)
        #expect(events.count == n)
        #expect(Set(events.map(\.deliveryId)).count == n, "each delivery expanded once")
        let position = try PostgresWebhookInboxRepository(database: other).position()
        #expect(position == InboxPosition(lastDelivery: Int64(n), expandedThrough: Int64(n)))
    }

    /// Expansions commit without waiting for the server's flush: a server crash can take the last
    /// ones back (their events and the cursor) while the gateway lives on. The durable deliveries
    /// behind them are expanded again, not passed over by the gateway's own cursor.
    @Test func r16_expansionsAServerCrashTookBackAreExpandedAgain() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        let inbox = try WebhookInbox(repository: PostgresWebhookInboxRepository(database: db), reader: fakeReader)
        defer { inbox.stop() }
        func append(_ i: Int) {
            if case .failure(let e) = appendAndWait(inbox, "t1 CONTACT r\(i) 2024-01-01T00:00:00.000Z UPDATE") { Issue.record(e) }
        }
        for i in 1...3 { append(i) }
        #expect(inbox.waitUntilExpanded(timeout: 10))
        // What the crash leaves: the deliveries, and neither the events nor the cursor's move.
        try db.write { c in
            try c.execute("DELETE FROM webhook_events; UPDATE inbox_cursor SET delivery_id = 0 WHERE name = 'expanded_through'")
        }
        append(4)
        #expect(inbox.waitUntilExpanded(timeout: 10))
        let events = try PostgresWebhookEventRepository(database: db).events(accountId: nil, state: nil, limit: 100, afterId: nil)
        #expect(events.compactMap(\.resourceId).sorted() == ["r1", "r2", "r3", "r4"] && events.count == 4)
    }

    /// Instances wake each other: events one instance's inbox routes reach the other's
    /// listener (LISTEN/NOTIFY) once they commit, with their accounts; unrouted ones wake nobody.
    @Test func r16_anotherInstancesListenerHearsOfRoutedEventsWhenTheyCommit() throws {
        let (one, other, drop) = try twoPostgresInstances()
        defer { drop() }
        let accounts = PostgresAccountRepository(database: one)
        let a = try #require(try accounts.createAccount(name: "A").accountId)
        try accounts.connect(accountId: a, tenantId: "ta", tenantName: "A")
        let heard = Mutex<[Set<String>]>([])
        let listener = PostgresEventListener(database: other) { ids in heard.withLock { $0.append(ids) } }
        defer { listener.stop() }
        let deadline = Date().addingTimeInterval(5)
        while !listener.isListening && Date() < deadline { usleep(10_000) }
        #expect(listener.isListening)
        let inbox = try WebhookInbox(repository: PostgresWebhookInboxRepository(database: one), reader: fakeReader)
        defer { inbox.stop() }
        _ = appendAndWait(inbox, "nobody CONTACT r0 2026-01-01T00:00:00.000Z UPDATE")
        _ = appendAndWait(inbox, "ta CONTACT r1 2026-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        while heard.withLock({ $0.isEmpty }) && Date() < deadline { usleep(10_000) }
        usleep(100_000)
        #expect(heard.withLock { $0 } == [[a]])
    }

    @Test func connectionsTheServerDroppedAreReplaced() throws {
        let (db, drop) = try temporaryPostgres()
        defer { drop() }
        try db.write { c in try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', 't')") }
        let writerPid = try db.write { c in try c.query("SELECT pg_backend_pid() AS pid").first?.int("pid") }
        let readerPid = try db.read { c in try c.query("SELECT pg_backend_pid() AS pid").first?.int("pid") }
        let (admin, dropAdmin) = try temporaryPostgres()
        defer { dropAdmin() }
        for pid in [writerPid, readerPid] {
            _ = try admin.read { c in try c.query("SELECT pg_terminate_backend(?::int) AS ended", [.integer(Int64(try #require(pid)))]) }
        }
        Thread.sleep(forTimeInterval: 0.2)
        try db.write { c in try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('b', 'B', 't')") }
        #expect(try db.read { c in try c.query("SELECT id FROM accounts ORDER BY id").map { $0.string("id") } } == ["a", "b"])
    }

    /// The gateway's connection defaults (a 10-second connect timeout, its name on the server)
    /// apply unless the URL names them itself.
    @Test func theURLsOwnSettingsWinOverTheDefaults() throws {
        let url = try #require(postgresTestURL)
        func applicationName(_ url: String) throws -> String? {
            let db = try PostgresDatabase(url: url)
            defer { db.close() }
            return try db.read { c in
                try c.query("SELECT current_setting('application_name') AS a").first?.string("a")
            }
        }
        #expect(try applicationName(url) == "xero-gateway")
        #expect(try applicationName(url + "&application_name=gateway-2") == "gateway-2")
    }

    @Test func anUnreachableServerIsOneSentenceWithoutThePassword() {
        #expect {
            try PostgresDatabase(url: "postgresql://gateway:s3cret@127.0.0.1:1/nowhere?connect_timeout=2")
        } throws: { error in
            let e = error as? StoreError
            return e?.code == .openFailed && e?.message.contains("s3cret") == false
                && e?.message.hasPrefix("cannot connect to PostgreSQL at postgresql://gateway:***@127.0.0.1:1/nowhere") == true
                && e?.message.contains("\n") == false
        }
    }
}

/// Reading `GATEWAY_DB`: a path is SQLite, a postgres URL is PostgreSQL, any other URL is refused.
@Suite struct StoreLocationTests {
    @Test func pathsAreSQLiteAndPostgresURLsArePostgreSQL() throws {
        #expect(try StoreLocation("./data/gateway.sqlite") == .sqlite(path: "./data/gateway.sqlite"))
        #expect(try StoreLocation("file:gw.sqlite?mode=rwc") == .sqlite(path: "file:gw.sqlite?mode=rwc"))
        #expect(try StoreLocation("postgres://u@h:5432/db") == .postgres(url: "postgres://u@h:5432/db"))
        #expect(try StoreLocation("PostgreSQL:///db?host=/tmp") == .postgres(url: "PostgreSQL:///db?host=/tmp"))
    }

    @Test func anotherSchemeIsRefusedNamingItWithoutThePassword() {
        #expect { try StoreLocation("mysql://root:hunter2@db/gw") } throws: { error in
            let e = error as? StoreError
            return e?.code == .openFailed && e?.message.contains("mysql://root:***@db/gw") == true && e?.message.contains("hunter2") == false
        }
    }

    @Test func passwordsAreNeverShown() throws {
        #expect(try StoreLocation("postgres://u:p%40ss@h/db").description == "postgres://u:***@h/db")
        #expect(try StoreLocation("postgresql:///db?user=u&password=secret&host=/tmp").description
                == "postgresql:///db?user=u&password=***&host=/tmp")
        #expect(try StoreLocation("postgres://u@h/db").description == "postgres://u@h/db")
        // Interpolated into a message, as start-up errors do.
        #expect(try "\(StoreLocation("postgres://u:secret@h/db"))" == "postgres://u:***@h/db")
    }
}
