import Foundation
import CPostgreSQL

/// How PostgreSQL's failures become `StoreError`s: the one place that maps them, so the store's
/// error type can change without touching the queries.
enum PostgresErrors {
    /// `PG_DIAG_SQLSTATE` ('C'): the five-character SQLSTATE of a failed statement.
    static let sqlstateField = Int32(UInt8(ascii: "C"))

    /// An integrity violation (class 23: unique, foreign key, check, not null) is a `.conflict`,
    /// as SQLite's constraint failures are; any other SQLSTATE is `postgres_<sqlstate>` (e.g.
    /// `postgres_40P01`, a deadlock); a lost connection without one is `.store`.
    static func storeError(sqlstate: String, message: String, connectionUsable: Bool) -> StoreError {
        if sqlstate.hasPrefix("23") { return StoreError(code: .conflict, message: message) }
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
