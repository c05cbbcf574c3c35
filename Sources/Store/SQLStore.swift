/// What differs between the two SQL stores' statements, for repositories written once for both.
public enum SQLDialect: Sendable {
    case sqlite, postgresql

    /// The column that keeps insertion order in tables without an integer key: SQLite's
    /// `rowid`, the `seq` identity column PostgreSQL's migrations add.
    var insertionOrder: String { self == .sqlite ? "rowid" : "seq" }
}

/// A connection statements run on, SQLite's or PostgreSQL's: `?` placeholders, values always
/// bound apart from the text.
public protocol SQLConnection: AnyObject {
    var dialect: SQLDialect { get }
    /// Rows the last statement inserted, updated or deleted.
    var changes: Int { get }
    func query(_ sql: String, _ values: [SQLValue]) throws -> [Row]
    func run(_ sql: String, _ values: [SQLValue]) throws
}

/// A database that repositories written once for both stores run on (`SQLAccountRepository`,
/// `SQLSessionRepository`): SQLite's `Database` or `PostgresDatabase`.
public protocol SQLDatabase: AnyObject, Sendable {
    associatedtype Connection: SQLConnection
    /// What its connections speak, known before one is taken (to choose between `read` and `write`).
    var dialect: SQLDialect { get }
    /// Runs `body` with a connection that cannot write.
    func read<T>(_ body: (Connection) throws -> T) throws(StoreError) -> T
    /// Runs `body` in one transaction; `durable: true` waits for the commit to reach the disk.
    func write<T>(durable: Bool, _ body: (Connection) throws -> T) throws(StoreError) -> T
    /// Closes every connection; further use throws.
    func close()
}

extension SQLiteConnection: SQLConnection {
    public var dialect: SQLDialect { .sqlite }
}

extension PostgresConnection: SQLConnection {
    public var dialect: SQLDialect { .postgresql }
}

extension Database: SQLDatabase {
    public var dialect: SQLDialect { .sqlite }
}

extension PostgresDatabase: SQLDatabase {
    public var dialect: SQLDialect { .postgresql }
}
