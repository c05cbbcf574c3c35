import Foundation
import Store
import Testing
import Timekeeping

/// Migrations are history: the enums follow the CHECK lists migration 1 wrote, never the reverse.
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

    @Test func errorCodesKeepTheirStableStrings() {
        let codes: [(StoreError.Code, String)] = [
            (.conflict, "conflict"), (.notFound, "not_found"), (.invalidName, "invalid_name"),
            (.invalidRole, "invalid_role"), (.invalidAccount, "invalid_account"), (.stopping, "stopping"),
            (.schemaTooNew, "schema_too_new"), (.migrationFailed, "migration_failed"), (.openFailed, "open_failed"),
            (.corrupt, "corrupt"), (.sqlite, "sqlite"), (.store, "store"), (.sqlite(5), "sqlite_5"), (.locked, "locked"),
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
