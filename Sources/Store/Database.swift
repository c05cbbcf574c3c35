import CSQLite
import Synchronization

/// Read access to the database (after GRDB's `DatabaseReader`): `body` runs with a connection
/// that sees one consistent snapshot per statement and cannot write.
public protocol DatabaseReader: AnyObject, Sendable {
    /// Runs `body` with a read-only connection.
    func read<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T
}

/// Write access to the database (after GRDB's `DatabaseWriter`): one writer at a time, each
/// `write` one transaction.
public protocol DatabaseWriter: DatabaseReader {
    /// Runs `body` in one IMMEDIATE transaction; `durable: true` fsyncs the commit before
    /// returning, `durable: false` may lose it (never an older durable one) in a crash.
    func write<T>(durable: Bool, _ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T
}

extension DatabaseWriter {
    /// Runs `body` in one durable (fsynced) transaction.
    public func write<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try write(durable: true, body)
    }
}

/// The SQLite store in WAL mode: one writer connection behind a lock, readers apart.
/// Every write that acknowledges something to a caller is committed (and fsynced) first.
public final class Database: DatabaseWriter {
    public let path: String
    private let writer: Mutex<SQLiteConnection>
    private let readers: Mutex<[SQLiteConnection]>
    private let closed = Atomic<Bool>(false)

    /// Opens (creating if needed, private to this user: see `secureFiles`) and migrates the
    /// database at `path`.
    public init(path: String) throws {
        self.path = path
        try Database.secureFiles(at: path)
        let w = try SQLiteConnection(path: path, readOnly: false)
        try w.execute("PRAGMA journal_mode=WAL")
        try w.execute("PRAGMA synchronous=FULL")
        try w.execute("PRAGMA foreign_keys=ON")
        try Migrations.apply(to: w)
        writer = Mutex(w)
        readers = Mutex([])
    }

    /// The schema version after migrations.
    public var schemaVersion: Int {
        (try? read { try $0.query("PRAGMA user_version").first?.int("user_version") ?? 0 }) ?? 0
    }

    /// Runs `body` in one IMMEDIATE transaction on the writer connection; the commit is fsynced.
    /// `durable: false` skips that fsync, for work that is rebuilt from durable data if lost
    /// (a crash loses at most the newest such commits, never an older fsynced one: WAL order).
    public func write<T>(durable: Bool, _ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        try StoreError.catching { try writer.withLock { c in
            if !durable { try c.run("PRAGMA synchronous=NORMAL") }
            defer { if !durable { try? c.run("PRAGMA synchronous=FULL") } }
            try c.run("BEGIN IMMEDIATE")
            do {
                let result = try body(c)
                try c.run("COMMIT")
                return result
            } catch {
                try? c.execute("ROLLBACK")
                throw error
            }
        } }
    }

    /// Runs `body` with a reader connection (a consistent snapshot inside one statement).
    public func read<T>(_ body: (SQLiteConnection) throws -> T) throws(StoreError) -> T {
        let c = try StoreError.catching { try readers.withLock { pool -> SQLiteConnection in
            if let c = pool.popLast() { return c }
            let c = try SQLiteConnection(path: path, readOnly: false)
            try c.execute("PRAGMA query_only=ON")
            return c
        } }
        defer { readers.withLock { pool in if pool.count < 8 { pool.append(c) } } }
        return try StoreError.catching { try body(c) }
    }

    /// A small durable write (one row of `health_probe`): throws when the store cannot write,
    /// e.g. on a full disk.
    public func probeWrite() throws(StoreError) {
        try write { c in
            try c.run("INSERT OR REPLACE INTO health_probe (id, written_at) VALUES (1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))")
        }
    }

    /// Checkpoints the WAL and closes; further use is a programming error.
    public func close() {
        guard !closed.exchange(true, ordering: .acquiringAndReleasing) else { return }
        writer.withLock { c in try? c.execute("PRAGMA wal_checkpoint(TRUNCATE)") }
        readers.withLock { $0.removeAll() }
    }
}
