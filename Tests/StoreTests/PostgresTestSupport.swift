import Foundation
import Store

/// The throwaway PostgreSQL server `scripts/test` starts (scripts/postgres-test-server) and
/// names in `XG_TEST_POSTGRES_URL`. Unset under a plain `swift test`: the PostgreSQL cases are
/// then left out of the contract suites and `PostgresStoreTests` shows as skipped.
let postgresTestURL: String? = ProcessInfo.processInfo.environment["XG_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }

/// A fresh schema of its own on the test server (so ids start at 1 and tests run in parallel),
/// migrated; `drop` removes it and closes the store.
func temporaryPostgres() throws -> (db: PostgresDatabase, drop: () -> Void) {
    let (db, _, drop) = try temporaryPostgresSchema()
    return (db, drop)
}

private func temporaryPostgresSchema() throws -> (db: PostgresDatabase, schema: String, drop: () -> Void) {
    guard let url = postgresTestURL else {
        throw StoreError(code: .openFailed, message: "XG_TEST_POSTGRES_URL is not set (scripts/test sets it)")
    }
    let schema = "xg_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
    let db = try PostgresDatabase(url: url, schema: schema)
    return (db, schema, {
        try? db.write { c in try c.execute("DROP SCHEMA \(schema) CASCADE") }
        db.close()
    })
}

/// Two stores on one fresh schema, as two gateway instances sharing a database; `drop` removes
/// the schema (through whichever of the two a test left open) and closes both.
func twoPostgresInstances() throws -> (one: PostgresDatabase, other: PostgresDatabase, drop: () -> Void) {
    let (one, schema, drop) = try temporaryPostgresSchema()
    do {
        let other = try PostgresDatabase(url: postgresTestURL ?? "", schema: schema)
        return (one, other, {
            try? other.write { c in try c.execute("DROP SCHEMA IF EXISTS \(schema) CASCADE") }
            drop()
            other.close()
        })
    } catch {
        drop()
        throw error
    }
}

/// The newest schema version this build's SQLite migrations reach: PostgreSQL's must be the same.
func sqliteSchemaVersion() throws -> Int {
    let db = try Database(path: temporaryDatabasePath())
    defer { db.close() }
    return db.schemaVersion
}
