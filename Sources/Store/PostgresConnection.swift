import CPostgreSQL
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Not thread-safe: `PostgresDatabase` hands it to one thread at a time.
/// Every call blocks its thread (libpq is blocking): callers are the gateway's own threads, never
/// Swift's cooperative pool.
///
/// Statements take `?` placeholders, as SQLite's do (rewritten to `$1`, `$2`, … once per text),
/// and values are always sent apart from the text (`PQexecParams`), never spliced into it.
public final class PostgresConnection: @unchecked Sendable {
    let handle: OpaquePointer
    /// Rows the last statement inserted, updated or deleted.
    public private(set) var changes = 0
    private var rewritten: [String: String] = [:]

    /// Connection settings that apply unless `conninfo` names them itself: a server that does
    /// not answer stops start-up within 10 seconds, and the server lists the gateway by name.
    static let defaults: [(key: String, value: String)] = [("connect_timeout", "10"), ("application_name", "xero-gateway")]

    /// Connects to `conninfo` (a `postgres://` URL or `key=value` pairs); `label` names the
    /// server in errors (without a password).
    init(conninfo: String, label: String) throws(StoreError) {
        // The defaults first: `dbname` (expanded from the URL) comes after and overrides them.
        let keys = PostgresConnection.defaults.map(\.key) + ["dbname"]
        let values = PostgresConnection.defaults.map(\.value) + [conninfo]
        let connection: OpaquePointer? = withCStrings(keys) { k in withCStrings(values) { v in PQconnectdbParams(k, v, 1) } }
        guard let conn = connection else {
            throw StoreError(code: .openFailed, message: "cannot connect to PostgreSQL at \(label): out of memory")
        }
        guard PQstatus(conn) == CONNECTION_OK else {
            let why = PostgresErrors.firstLine(String(cString: PQerrorMessage(conn)))
            PQfinish(conn)
            throw StoreError(code: .openFailed, message: "cannot connect to PostgreSQL at \(label): \(why)")
        }
        xg_pq_silence_notices(conn)
        handle = conn
    }

    deinit { PQfinish(handle) }

    /// Whether the connection still works (false after the server went away).
    var isUsable: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Runs one or more statements without values or results (schema, `BEGIN`, `COMMIT`).
    public func execute(_ sql: String) throws(StoreError) {
        guard let result = PQexec(handle, sql) else { throw connectionLost() }
        defer { PQclear(result) }
        try check(result, sql: sql)
    }

    /// Runs `sql` with `values` bound in order; returns every row.
    @discardableResult
    public func query(_ sql: String, _ values: [SQLValue] = []) throws(StoreError) -> [Row] {
        let result = try exec(sql, values)
        defer { PQclear(result) }
        return rows(result)
    }

    /// Runs `sql` with `values` bound in order, ignoring any rows; sets `changes`.
    public func run(_ sql: String, _ values: [SQLValue] = []) throws(StoreError) {
        PQclear(try exec(sql, values))
    }

    private func exec(_ sql: String, _ values: [SQLValue]) throws(StoreError) -> OpaquePointer {
        let text = statement(sql)
        // Values as text except bytes (binary, so no escaping at all); types named, so a bare
        // `? IS NULL` or a comparison never leaves the server guessing.
        var types: [Oid] = [], formats: [Int32] = [], lengths: [Int32] = []
        var buffers: [UnsafeMutablePointer<CChar>?] = []
        types.reserveCapacity(values.count)
        defer { for b in buffers { free(b) } }
        for v in values {
            switch v {
            case .null:
                types.append(0); formats.append(0); lengths.append(0); buffers.append(nil)
            case .integer(let n):
                types.append(PostgresType.int8); formats.append(0); lengths.append(0); buffers.append(strdup(String(n)))
            case .real(let d):
                types.append(PostgresType.float8); formats.append(0); lengths.append(0); buffers.append(strdup("\(d)"))
            case .text(let s):
                types.append(PostgresType.text); formats.append(0); lengths.append(0); buffers.append(strdup(s))
            case .blob(let b):
                // malloc'd like strdup's copies, so one `free` releases every buffer.
                let copy = malloc(max(1, b.count))!
                b.withUnsafeBytes { raw in
                    if let base = raw.baseAddress { copy.copyMemory(from: base, byteCount: b.count) }
                }
                types.append(PostgresType.bytea); formats.append(1); lengths.append(Int32(b.count))
                buffers.append(copy.assumingMemoryBound(to: CChar.self))
            }
        }
        let result: OpaquePointer? = buffers.withUnsafeBufferPointer { bufs in
            bufs.withMemoryRebound(to: UnsafePointer<CChar>?.self) { params in
                PQexecParams(handle, text, Int32(values.count), types, params.baseAddress, lengths, formats, 0)
            }
        }
        guard let result else { throw connectionLost() }
        do {
            try check(result, sql: text)
        } catch {
            PQclear(result)
            throw error
        }
        changes = Int(String(cString: PQcmdTuples(result))) ?? 0
        return result
    }

    private func check(_ result: OpaquePointer, sql: String) throws(StoreError) {
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY: return
        default:
            let state = PQresultErrorField(result, PostgresErrors.sqlstateField).map { String(cString: $0) } ?? ""
            let message = PostgresErrors.firstLine(String(cString: PQresultErrorMessage(result)))
            throw PostgresErrors.storeError(sqlstate: state, message: message, connectionUsable: isUsable)
        }
    }

    private func connectionLost() -> StoreError {
        PostgresErrors.storeError(sqlstate: "", message: PostgresErrors.firstLine(String(cString: PQerrorMessage(handle))),
                                  connectionUsable: isUsable)
    }

    /// `sql` with each `?` outside quotes turned into `$n` (`?N`, SQLite's numbered form, into `$N`).
    private func statement(_ sql: String) -> String {
        if let done = rewritten[sql] { return done }
        var out = "", n = 0, quote: Character? = nil
        out.reserveCapacity(sql.utf8.count + 8)
        var chars = sql.makeIterator(), pending: Character? = nil
        while let ch = pending ?? chars.next() {
            pending = nil
            if let q = quote {
                if ch == q { quote = nil }
                out.append(ch)
            } else if ch == "'" || ch == "\"" {
                quote = ch
                out.append(ch)
            } else if ch == "?" {
                var digits = ""
                while let d = chars.next() {
                    if d.isASCII, d.isNumber { digits.append(d) } else { pending = d; break }
                }
                if digits.isEmpty { n += 1; out += "$\(n)" } else { out += "$" + digits }
            } else {
                out.append(ch)
            }
        }
        rewritten[sql] = out
        return out
    }

    private func rows(_ result: OpaquePointer) -> [Row] {
        let nrows = PQntuples(result), ncols = PQnfields(result)
        guard nrows > 0 else { return [] }
        let columns = (0..<ncols).map { String(cString: PQfname(result, $0)) }
        let types = (0..<ncols).map { PQftype(result, $0) }
        var out: [Row] = []
        out.reserveCapacity(Int(nrows))
        for r in 0..<nrows {
            var values: [SQLValue] = []
            values.reserveCapacity(Int(ncols))
            for c in 0..<ncols {
                if PQgetisnull(result, r, c) == 1 { values.append(.null); continue }
                let text = PQgetvalue(result, r, c)!
                let length = Int(PQgetlength(result, r, c))
                switch types[Int(c)] {
                case PostgresType.int8, PostgresType.int4, PostgresType.int2:
                    values.append(.integer(strtoll(text, nil, 10)))
                case PostgresType.bool:
                    values.append(.integer(text.pointee == 0x74 ? 1 : 0))   // 't'
                case PostgresType.float8, PostgresType.float4, PostgresType.numeric:
                    values.append(.real(strtod(text, nil)))
                case PostgresType.bytea:
                    values.append(.blob(PostgresType.bytes(hex: text, length: length)))
                default:
                    values.append(.text(String(cString: text)))
                }
            }
            out.append(Row(columns: columns, values: values))
        }
        return out
    }
}

/// The type oids the store sends and reads (pg_type.h).
enum PostgresType {
    static let bool: Oid = 16, bytea: Oid = 17, int8: Oid = 20, int2: Oid = 21, int4: Oid = 23, text: Oid = 25
    static let float4: Oid = 700, float8: Oid = 701, numeric: Oid = 1700

    /// A `bytea` column in text form (`\x` and two hex digits a byte: `bytea_output = hex`).
    static func bytes(hex text: UnsafePointer<CChar>, length: Int) -> [UInt8] {
        guard length >= 2 else { return [] }
        func nibble(_ c: CChar) -> UInt8 {
            let u = UInt8(bitPattern: c)
            switch u {
            case 0x30...0x39: return u - 0x30
            case 0x61...0x66: return u - 0x61 + 10
            case 0x41...0x46: return u - 0x41 + 10
            default: return 0
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity((length - 2) / 2)
        var i = 2
        while i + 1 < length {
            out.append(nibble(text[i]) << 4 | nibble(text[i + 1]))
            i += 2
        }
        return out
    }
}

/// `strings` as a NULL-terminated array of C strings, valid during `body`.
private func withCStrings<T>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> T) -> T {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
