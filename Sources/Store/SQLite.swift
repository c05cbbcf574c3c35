import CSQLite
#if canImport(Glibc)
import Glibc
#endif

/// A value bound to or read from a statement.
public enum SQLValue: Sendable, Equatable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob([UInt8])
}

/// One SQLite connection. Not thread-safe: `Database` hands it to one thread at a time.
public final class SQLiteConnection: @unchecked Sendable {
    let handle: OpaquePointer
    private var cache: [String: Statement] = [:]

    /// Process-wide SQLite settings, applied once before the first connection opens.
    private static let configured: Bool = {
        _ = xg_sqlite_disable_memstatus()
        return sqlite3_initialize() == SQLITE_OK
    }()

    init(path: String, readOnly: Bool) throws {
        _ = SQLiteConnection.configured
        var db: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE))
            | SQLITE_OPEN_NOMUTEX
        let rc = sqlite3_open_v2(path, &db, flags, nil)
        guard rc == SQLITE_OK, let db else {
            let msg = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            if let db { sqlite3_close_v2(db) }
            throw StoreError(code: .openFailed, message: "cannot open database \(path): \(msg)")
        }
        handle = db
        sqlite3_busy_timeout(db, 5000)
    }

    deinit {
        cache.removeAll()
        sqlite3_close_v2(handle)
    }

    var errorMessage: String { String(cString: sqlite3_errmsg(handle)) }

    /// Runs one or more statements without results.
    public func execute(_ sql: String) throws {
        var err: UnsafeMutablePointer<CChar>?
        if sqlite3_exec(handle, sql, nil, nil, &err) != SQLITE_OK {
            let msg = err.map { String(cString: $0) } ?? errorMessage
            sqlite3_free(err)
            throw StoreError(code: .sqlite, message: msg)
        }
    }

    /// A cached prepared statement, reset and with bindings cleared.
    public func prepare(_ sql: String) throws -> Statement {
        if let s = cache[sql] {
            s.reset()
            return s
        }
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &stmt, nil) == SQLITE_OK, let stmt else {
            throw StoreError(code: .sqlite, message: "\(errorMessage) in: \(sql)")
        }
        let s = Statement(stmt, connection: self)
        cache[sql] = s
        return s
    }

    /// Runs `sql` with `values` bound in order; returns every row.
    @discardableResult
    public func query(_ sql: String, _ values: [SQLValue] = []) throws -> [Row] {
        let s = try prepare(sql)
        try s.bind(values)
        var rows: [Row] = []
        while try s.step() { rows.append(s.row()) }
        s.reset()
        return rows
    }

    public func run(_ sql: String, _ values: [SQLValue] = []) throws {
        let s = try prepare(sql)
        try s.bind(values)
        while try s.step() {}
        s.reset()
    }

    public var changes: Int { Int(sqlite3_changes(handle)) }
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }
}

/// A row read from a statement: values by column name.
public struct Row: Sendable {
    public let columns: [String]
    public let values: [SQLValue]

    public subscript(_ name: String) -> SQLValue {
        guard let i = columns.firstIndex(of: name) else { return .null }
        return values[i]
    }
    public func string(_ name: String) -> String? {
        switch self[name] {
        case .text(let s): return s
        case .integer(let i): return String(i)
        case .blob(let b): return String(decoding: b, as: UTF8.self)
        default: return nil
        }
    }
    public func int(_ name: String) -> Int? {
        switch self[name] {
        case .integer(let i): return Int(i)
        case .text(let s): return Int(s)
        default: return nil
        }
    }
    public func blob(_ name: String) -> [UInt8]? {
        switch self[name] {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: return nil
        }
    }
}

/// A valid pointer for zero-length blobs (SQLite stores NULL for a NULL pointer).
nonisolated(unsafe) let emptyBlob: UnsafeMutablePointer<UInt8> = .allocate(capacity: 1)

/// A prepared statement.
public final class Statement {
    let stmt: OpaquePointer
    unowned let connection: SQLiteConnection

    init(_ stmt: OpaquePointer, connection: SQLiteConnection) {
        self.stmt = stmt
        self.connection = connection
    }
    deinit { sqlite3_finalize(stmt) }

    func reset() {
        sqlite3_reset(stmt)
        sqlite3_clear_bindings(stmt)
    }

    public func bind(_ values: [SQLValue]) throws {
        for (i, v) in values.enumerated() { try bind(v, at: Int32(i + 1)) }
    }

    public func bind(_ value: SQLValue, at i: Int32) throws {
        let rc: Int32
        switch value {
        case .null: rc = sqlite3_bind_null(stmt, i)
        case .integer(let n): rc = sqlite3_bind_int64(stmt, i, n)
        case .real(let d): rc = sqlite3_bind_double(stmt, i, d)
        case .text(let s):
            rc = s.withCString { p in xg_sqlite_bind_text(stmt, i, p, Int32(strlen(p))) }
        case .blob(let b):
            rc = b.withUnsafeBytes { p in xg_sqlite_bind_blob(stmt, i, p.baseAddress ?? UnsafeRawPointer(emptyBlob), Int32(p.count)) }
        }
        guard rc == SQLITE_OK else { throw StoreError(code: .sqlite, message: connection.errorMessage) }
    }

    /// Binds bytes without copying them into an array first.
    public func bindBlob(_ bytes: UnsafeRawBufferPointer, at i: Int32) throws {
        let rc = xg_sqlite_bind_blob(stmt, i, bytes.baseAddress ?? UnsafeRawPointer(emptyBlob), Int32(bytes.count))
        guard rc == SQLITE_OK else { throw StoreError(code: .sqlite, message: connection.errorMessage) }
    }

    /// Advances; true while a row is available.
    public func step() throws -> Bool {
        let rc = sqlite3_step(stmt)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case SQLITE_CONSTRAINT:
            let msg = connection.errorMessage
            sqlite3_reset(stmt)
            throw StoreError(code: .conflict, message: msg)
        default:
            let msg = connection.errorMessage
            sqlite3_reset(stmt)
            throw StoreError(code: .sqlite(rc), message: msg)
        }
    }

    public func int64(at i: Int32) -> Int64 { sqlite3_column_int64(stmt, i) }

    public func text(at i: Int32) -> String? {
        guard let p = sqlite3_column_text(stmt, i) else { return nil }
        return String(cString: p)
    }

    /// The column's bytes, valid until the next step or reset.
    public func withBlob<T>(at i: Int32, _ body: (UnsafeRawBufferPointer) throws -> T) rethrows -> T {
        let len = Int(sqlite3_column_bytes(stmt, i))
        return try body(UnsafeRawBufferPointer(start: sqlite3_column_blob(stmt, i), count: len))
    }

    public func row() -> Row {
        let n = sqlite3_column_count(stmt)
        var cols: [String] = []
        var vals: [SQLValue] = []
        cols.reserveCapacity(Int(n))
        vals.reserveCapacity(Int(n))
        for i in 0..<n {
            cols.append(String(cString: sqlite3_column_name(stmt, i)))
            switch sqlite3_column_type(stmt, i) {
            case SQLITE_INTEGER: vals.append(.integer(sqlite3_column_int64(stmt, i)))
            case SQLITE_FLOAT: vals.append(.real(sqlite3_column_double(stmt, i)))
            case SQLITE_TEXT: vals.append(.text(String(cString: sqlite3_column_text(stmt, i))))
            case SQLITE_BLOB:
                let len = Int(sqlite3_column_bytes(stmt, i))
                if len == 0 { vals.append(.blob([])) } else {
                    let p = sqlite3_column_blob(stmt, i)!.assumingMemoryBound(to: UInt8.self)
                    vals.append(.blob(Array(UnsafeBufferPointer(start: p, count: len))))
                }
            default: vals.append(.null)
            }
        }
        return Row(columns: cols, values: vals)
    }
}
