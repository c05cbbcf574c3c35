import Foundation
import Store
import Testing
import Timekeeping

/// Migrations are history: the enums follow the CHECK lists migrations 1 and 2 wrote, never the reverse.
@Suite struct SchemaTests {
    /// The quoted values of `column IN (...)` in `table`'s CREATE statement, as SQLite keeps it.
    func checkList(table: String, column: String) throws -> [String] {
        let db = try Database(path: temporaryDatabasePath())
        defer { db.close() }
        let sql = try db.read {
            try $0.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", [.text(table)]).first?.string("sql")
        }
        let create = try #require(sql)
        let start = try #require(create.range(of: "\(column) IN (")).upperBound
        let end = try #require(create[start...].firstIndex(of: ")"))
        return create[start..<end].split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
        }
    }

    @Test func inboxEventStatesAreTheSchemasCheckList() throws {
        #expect(try checkList(table: "webhook_events", column: "state") == InboxEventState.allCases.map(\.rawValue))
    }

    @Test func connectionStatesAreTheSchemasCheckList() throws {
        #expect(try checkList(table: "xero_connections", column: "state") == ConnectionState.allCases.map(\.rawValue))
    }

    @Test func rolesAreTheSchemasCheckList() throws {
        #expect(try checkList(table: "users", column: "role") == Role.allCases.map(\.rawValue))
    }

    @Test func recordEnumsAreTheSchemasCheckLists() throws {
        #expect(try checkList(table: "contacts", column: "sync_state") == ContactSyncState.allCases.map(\.rawValue))
        #expect(try checkList(table: "properties", column: "source") == PropertySource.allCases.map(\.rawValue))
        #expect(try checkList(table: "jobs", column: "status") == JobStatus.allCases.map(\.rawValue))
        #expect(try checkList(table: "issues", column: "status") == IssueStatus.allCases.map(\.rawValue))
        #expect(try checkList(table: "contact_matches", column: "state") == MatchState.allCases.map(\.rawValue))
        #expect(try checkList(table: "sync_runs", column: "trigger") == SyncTrigger.allCases.map(\.rawValue))
        #expect(try checkList(table: "sync_runs", column: "state") == SyncRunState.allCases.map(\.rawValue))
        #expect(try checkList(table: "visits", column: "status") == VisitStatus.allCases.map(\.rawValue))
        #expect(try checkList(table: "invoice_settings", column: "invoice_status") == InvoiceStatusSetting.allCases.map(\.rawValue))
    }

    @Test func everyRecordRowBelongsToAnAccountAndOneRunRunsPerAccount() throws {
        let db = try Database(path: temporaryDatabasePath())
        defer { db.close() }
        for table in ["contacts", "properties", "materials", "jobs", "issues", "contact_matches", "sync_runs", "visits", "invoice_settings"] {
            let fks = try db.read { try $0.query("SELECT \"table\" AS t, \"from\" AS f FROM pragma_foreign_key_list(?)", [.text(table)]) }
            #expect(fks.contains { $0.string("t") == "accounts" && $0.string("f") == "account_id" }, "\(table)")
        }
        try db.write { c in
            try c.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', 'x')")
            try c.run("INSERT INTO sync_runs (id, account_id, trigger, started_at) VALUES ('r1', 'a', 'manual', 'x')")
        }
        #expect {
            try db.write { try $0.run("INSERT INTO sync_runs (id, account_id, trigger, started_at) VALUES ('r2', 'a', 'manual', 'x')") }
        } throws: { ($0 as? StoreError)?.code == .conflict }
        #expect {
            try db.write { try $0.run("INSERT INTO materials (id, account_id, name, unit_price, created_at, updated_at) VALUES ('m', 'a', 'M', -1, 'x', 'x')") }
        } throws: { ($0 as? StoreError)?.code == .conflict }
    }

    /// Migrations 7 to 9 on a database at 6 (as another build left it): revocable users, visits,
    /// invoice settings and organisations' time zones appear, the sync runs recorded stay, and
    /// `invoice` is a trigger.
    @Test func migrations7To9UpgradeADatabaseAtSixAndKeepItsRuns() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        try db.write { c in
            try c.execute("""
                DROP TABLE visits; DROP TABLE invoice_settings; DROP TABLE organisation_timezones;
                DROP INDEX admin_sessions_user; ALTER TABLE users DROP COLUMN revoked_at;
                CREATE TABLE sync_runs_6 AS SELECT * FROM sync_runs; DROP TABLE sync_runs;
                CREATE TABLE sync_runs (
                    seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, account_id TEXT NOT NULL REFERENCES accounts(id),
                    trigger TEXT NOT NULL CHECK (trigger IN ('initial', 'webhook', 'scheduled', 'manual', 'reconcile', 'link', 'push')),
                    state TEXT NOT NULL DEFAULT 'running' CHECK (state IN ('running', 'succeeded', 'failed')),
                    started_at TEXT NOT NULL, finished_at TEXT, counts TEXT NOT NULL DEFAULT '{}',
                    xero_calls INTEGER NOT NULL DEFAULT 0, errors TEXT NOT NULL DEFAULT '[]');
                DROP TABLE sync_runs_6;
                INSERT INTO accounts (id, name, created_at) VALUES ('a', 'A', 'x');
                INSERT INTO sync_runs (id, account_id, trigger, state, started_at, xero_calls) VALUES ('r1', 'a', 'push', 'succeeded', 'x', 3);
                PRAGMA user_version = 6;
                """)
        }
        db.close()
        let upgraded = try Database(path: path)
        defer { upgraded.close() }
        #expect(upgraded.schemaVersion == 10)
        let runs = try upgraded.read { try $0.query("SELECT id, trigger, xero_calls FROM sync_runs") }
        #expect(runs.count == 1 && runs.first?.string("trigger") == "push" && runs.first?.int("xero_calls") == 3)
        try upgraded.write { c in
            try c.run("INSERT INTO sync_runs (id, account_id, trigger, started_at) VALUES ('r2', 'a', 'invoice', 'x')")
            try c.run("INSERT INTO invoice_settings (account_id) VALUES ('a')")
            try c.run("INSERT INTO organisation_timezones (tenant_id, timezone) VALUES ('t', 'UTC')")
        }
        #expect(try upgraded.read { try $0.query("SELECT invoice_status FROM invoice_settings").first?.string("invoice_status") } == "DRAFT")
    }

    @Test func errorCodesKeepTheirStableStrings() {
        let codes: [(StoreError.Code, String)] = [
            (.conflict, "conflict"), (.notFound, "not_found"), (.invalidName, "invalid_name"),
            (.invalidRole, "invalid_role"), (.invalidAccount, "invalid_account"), (.stopping, "stopping"),
            (.schemaTooNew, "schema_too_new"), (.migrationFailed, "migration_failed"), (.openFailed, "open_failed"),
            (.corrupt, "corrupt"), (.sqlite, "sqlite"), (.store, "store"), (.sqlite(5), "sqlite_5"), (.locked, "locked"),
            (.preconditionFailed, "precondition_failed"),
        ]
        for (code, raw) in codes { #expect(code.rawValue == raw && "\(code)" == raw) }
        #expect("\(StoreError(code: .notFound, message: "no account"))" == "not_found: no account")
    }

    @Test func aConstraintViolationIsAConflict() throws {
        let db = try Database(path: temporaryDatabasePath())
        defer { db.close() }
        #expect {
            try db.write { try $0.run("INSERT INTO accounts (id, name, created_at) VALUES ('a', NULL, 'x')") }
        } throws: { ($0 as? StoreError)?.code == .conflict }
    }
}

@Suite struct ClockTests {
    @Test func timestampsAreISO8601UTCWithMilliseconds() {
        #expect(Timestamp.format(millisecondsSinceEpoch: 1_795_716_607_123) == "2026-11-26T18:10:07.123Z")
        #expect(Timestamp.format(millisecondsSinceEpoch: 0) == "1970-01-01T00:00:00.000Z")
        #expect(Timestamp.format(millisecondsSinceEpoch: -1) == "1969-12-31T23:59:59.999Z")
        #expect(Timestamp.format(millisecondsSinceEpoch: 253_402_300_799_999) == "9999-12-31T23:59:59.999Z")
    }

    @Test func theTestClockStandsStillUntilMoved() {
        let clock = TestWallClock()
        #expect(clock.timestamp() == "2026-11-26T18:10:07.123Z")
        clock.advance(milliseconds: 1_000)
        #expect(clock.timestamp() == "2026-11-26T18:10:08.123Z")
        clock.set(millisecondsSinceEpoch: 0)
        #expect(clock.nowMilliseconds() == 0)
    }

    @Test func theSystemClockIsTheRealTime() {
        let real = Int64(Date().timeIntervalSince1970 * 1000)
        #expect(abs(SystemWallClock().nowMilliseconds() - real) < 5_000)
        #expect(Timestamp.now().wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil)
    }
}
