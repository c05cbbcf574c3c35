import Synchronization

/// The PostgreSQL store: one writer connection behind a lock (one write transaction at a time
/// in this process, as with SQLite) and a few reader connections apart. Every call blocks its
/// thread on libpq, so it belongs on the gateway's own threads, never Swift's cooperative pool.
/// A commit is acknowledged only once the server has it durably (`synchronous_commit = on`)
/// unless the write says `durable: false`.
public final class PostgresDatabase: Sendable {
    /// The server, for messages (password shown as `***`).
    public let label: String
    let conninfo: String
    let schema: String?
    private let writer: Mutex<PostgresConnection?>
    private let readers = Mutex<[PostgresConnection]>([])
    /// The connection holding this process's run owners' advisory locks (`holdOwnerLock`).
    let ownerLocks = Mutex<OwnerLocks>(OwnerLocks())
    let closed = Atomic<Bool>(false)

    /// Connects to `url` (`postgres://…` or `postgresql://…`) and migrates it. `schema` (letters,
    /// digits and `_`) puts the tables in that schema instead of the user's default, creating it
    /// (tests use one schema each).
    public init(url: String, schema: String? = nil) throws(StoreError) {
        label = StoreLocation.redacted(url)
        conninfo = url
        if let schema {
            guard !schema.isEmpty, schema.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7a) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5f }) else {
                throw StoreError(code: .openFailed, message: "schema name \(schema) must be lowercase letters, digits and _")
            }
        }
        self.schema = schema
        let w = try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: false)
        try PostgresMigrations.apply(to: w, schema: schema)
        writer = Mutex(w)
    }

    static func connect(_ conninfo: String, label: String, schema: String?, readOnly: Bool) throws(StoreError) -> PostgresConnection {
        let c = try PostgresConnection(conninfo: conninfo, label: label)
        try c.execute("SET synchronous_commit = on; SET client_encoding = 'UTF8'; SET bytea_output = 'hex'")
        if let schema { try c.execute("SET search_path TO \(schema)") }
        if readOnly { try c.execute("SET default_transaction_read_only = on") }
        return c
    }

    /// The schema version after migrations.
    public var schemaVersion: Int {
        (try? read { c in try c.query("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").first?.int("v") ?? 0 }) ?? 0
    }

    /// Runs `body` in one transaction on the writer connection. `durable: false` commits without
    /// waiting for the server's WAL flush (`synchronous_commit = off` for that transaction).
    /// A connection the server dropped while it was idle (a restart, an idle timeout) is replaced
    /// and the transaction begun on the new one; one lost during `body` or the commit is an error
    /// (the commit's outcome is then unknown), and the next call connects afresh.
    public func write<T>(durable: Bool = true, _ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        try PostgresErrors.attempt { try writer.withLock { slot in
            guard let current = slot else { throw PostgresDatabase.closedError }
            let begin = durable ? "BEGIN" : "BEGIN; SET LOCAL synchronous_commit = off"
            var c = current
            do {
                if !c.isUsable { throw PostgresDatabase.closedError }
                try c.execute(begin)
            } catch where !c.isUsable {
                c = try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: false)
                slot = c
                try c.execute(begin)
            }
            do {
                let result = try body(c)
                try c.execute("COMMIT")
                return result
            } catch {
                if c.isUsable { try? c.execute("ROLLBACK") }
                throw error
            }
        } }
    }

    /// Runs `body` with a read-only reader connection (each statement its own snapshot). A pooled
    /// connection the server dropped while idle is replaced and `body` run again on a new one.
    public func read<T>(_ body: (PostgresConnection) throws -> T) throws(StoreError) -> T {
        try PostgresErrors.attempt { try readOnce(body) }
    }

    private func readOnce<T>(_ body: (PostgresConnection) throws -> T) throws -> T {
        guard !closed.load(ordering: .acquiring) else { throw PostgresDatabase.closedError }
        if let pooled = readers.withLock({ $0.popLast() }) {
            do {
                let result = try body(pooled)
                release(pooled)
                return result
            } catch where !pooled.isUsable {
                // dropped while idle: fall through to a fresh connection
            }
        }
        let c = try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: true)
        defer { release(c) }
        return try body(c)
    }

    private func release(_ c: PostgresConnection) {
        guard c.isUsable, !closed.load(ordering: .acquiring) else { return }
        readers.withLock { pool in if pool.count < 8 { pool.append(c) } }
    }

    /// Runs `body` holding the session advisory lock (`key`, a hash of the schema and `name`) on a
    /// connection of its own, so every process sharing the database runs such a `body` one at a
    /// time per name; waits for the lock. A process that dies holding it loses it with its
    /// connection.
    public func withAdvisoryLock<T>(_ key: Int32, name: String, _ body: () -> T) throws(StoreError) -> T {
        try PostgresErrors.attempt {
            guard !closed.load(ordering: .acquiring) else { throw PostgresDatabase.closedError }
            let c = try readers.withLock({ $0.popLast() }).flatMap { $0.isUsable ? $0 : nil }
                ?? PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: true)
            defer { release(c) }
            let lock: [SQLValue] = [.integer(Int64(key)), .text(name)]
            try c.run("SELECT pg_advisory_lock(?::int4, hashtext(current_schema() || ':' || ?))", lock)
            let result = body()
            try? c.run("SELECT pg_advisory_unlock(?::int4, hashtext(current_schema() || ':' || ?))", lock)
            return result
        }
    }

    /// A small durable write (one row of `health_probe`): throws when the store cannot write.
    public func probeWrite() throws(StoreError) {
        try write { c in
            try c.run("""
                INSERT INTO health_probe (id, written_at)
                VALUES (1, to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'))
                ON CONFLICT (id) DO UPDATE SET written_at = EXCLUDED.written_at
                """)
        }
    }

    /// Closes every connection; further use throws.
    public func close() {
        closed.store(true, ordering: .releasing)
        writer.withLock { $0 = nil }
        readers.withLock { $0.removeAll() }
        ownerLocks.withLock { $0 = OwnerLocks() }
    }

    static let closedError = StoreError(code: .store, message: "the PostgreSQL store is closed")
}
