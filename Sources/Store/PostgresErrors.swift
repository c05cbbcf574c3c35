import Foundation
import CPostgreSQL

/// How PostgreSQL's failures become `StoreError`s: the one place that maps them, so the store's
/// error type can change without touching the queries.
enum PostgresErrors {
    /// `PG_DIAG_SQLSTATE` ('C'): the five-character SQLSTATE of a failed statement.
    static let sqlstateField = Int32(UInt8(ascii: "C"))

    /// An integrity violation (class 23: unique, foreign key, check, not null) is a `.conflict`
    /// worded as SQLite words it (`UNIQUE constraint failed: …`, then PostgreSQL's own message),
    /// so callers tell a refused constraint from other conflicts the same way on both stores; any
    /// other SQLSTATE is `postgres_<sqlstate>` (e.g. `postgres_40P01`, a deadlock); a lost
    /// connection without one is `.store`.
    static func storeError(sqlstate: String, message: String, connectionUsable: Bool) -> StoreError {
        if sqlstate.hasPrefix("23") {
            let kind = ["23505": "UNIQUE", "23503": "FOREIGN KEY", "23514": "CHECK", "23502": "NOT NULL"][sqlstate]
            return StoreError(code: .conflict, message: (kind.map { "\($0) " } ?? "") + "constraint failed: \(message)")
        }
        if !sqlstate.isEmpty { return StoreError(code: StoreError.Code(rawValue: "postgres_\(sqlstate)"), message: message) }
        let what = connectionUsable ? message : "the PostgreSQL connection was lost: \(message)"
        return StoreError(code: .store, message: what)
    }

    /// libpq's messages end in a newline and may add DETAIL/HINT lines: the first line only.
    static func firstLine(_ message: String) -> String {
        let line = message.split(separator: "\n", maxSplits: 1).first.map(String.init) ?? message
        let trimmed = line.hasPrefix("ERROR:  ") ? String(line.dropFirst(8)) : line
        return trimmed.trimmingCharacters(in: .whitespaces)
    }
}

extension PostgresErrors {
    /// Runs `body`, giving any error as a `StoreError` (a Swift error from a repository's own
    /// code that is not one becomes `.store`).
    static func attempt<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch let e as StoreError { throw e } catch {
            throw StoreError(code: .store, message: "\(error)")
        }
    }
}
