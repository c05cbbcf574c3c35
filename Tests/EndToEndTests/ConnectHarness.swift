import Crypto
import Foundation
import Gateway
import HTTPClient
import InMemoryLogging
import Logging
import Store
import StrictJSON
import Synchronization
import Testing
import Timekeeping
import Xero
import XeroSimulator

/// The store an end-to-end gateway runs on: SQLite always, PostgreSQL as well when a test server
/// is given (`XG_TEST_POSTGRES_URL`; scripts/test always gives one).
enum StoreBackend: String, CustomTestStringConvertible, Sendable {
    case sqlite, postgres
    var testDescription: String { rawValue }

    static let testURL: String? = ProcessInfo.processInfo.environment["XG_TEST_POSTGRES_URL"].flatMap { $0.isEmpty ? nil : $0 }
    static var all: [StoreBackend] { testURL == nil ? [.sqlite] : [.sqlite, .postgres] }
}

/// A gateway (with a clock the test moves and its log captured) and xero-sim, over real HTTP,
/// for the connection rules R1–R4. The browser is played by hand: cookies, forms, redirects.
/// On PostgreSQL the gateway gets a schema of its own (its `GATEWAY_DB` URL sets `search_path`),
/// dropped at the end, so tests never see each other's rows.
final class ConnectPair: Sendable {
    static let clientId = "connect-e2e-client"
    static let clientSecret = "connect-e2e-secret-\(UUID().uuidString)"
    static let publicURL = "http://127.0.0.1:1"
    static let redirect = publicURL + "/oauth/xero/callback"

    let simulator: Simulator
    let gateway: Gateway

    /// The SQLite database under the gateway (a test fails cleanly when there is none).
    var database: Database { get throws { try #require(gateway.database) } }
    let clock = TestWallClock(millisecondsSinceEpoch: Int64(Date().timeIntervalSince1970 * 1000))
    let logs = InMemoryLogHandler()
    let client = HTTPClient()
    let dir: String
    let webhookKey = "connect-e2e-webhook-\(UUID().uuidString)"
    let syncLog = SyncLog()
    /// The gateway's environment (a command run beside it reads the same).
    let environment: [String: String]
    /// The sync hook's requests, as "accountId trigger".
    var syncRequests: [String] { syncLog.requests.withLock { $0.map { "\($0.0) \($0.1)" } } }

    let backend: StoreBackend
    /// The PostgreSQL schema under the gateway (nil on SQLite).
    let schema: String?

    /// `realSync`: keep the gateway's own sync engine instead of recording its requests.
    init(extra: [String: String] = [:], realSync: Bool = false, backend: StoreBackend = .sqlite) throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-connect-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        self.backend = backend
        var store = "\(dir)/gateway.sqlite"
        if backend == .postgres {
            let url = try #require(StoreBackend.testURL)
            let schema = "xg_e2e_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            // Made (and migrated) here; the gateway finds it through the URL's search_path.
            try PostgresDatabase(url: url, schema: schema).close()
            store = url + (url.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
            self.schema = schema
        } else {
            schema = nil
        }
        simulator = Simulator(configuration: SimulatorConfiguration(
            clientId: ConnectPair.clientId, clientSecret: ConnectPair.clientSecret,
            redirectURIs: [ConnectPair.redirect], webhookKey: webhookKey))
        try simulator.start()
        var env = [
            "GATEWAY_LISTEN": "127.0.0.1:0", "GATEWAY_DB": store, "GATEWAY_PUBLIC_URL": ConnectPair.publicURL,
            "GATEWAY_SECRET_KEY": Base64.encode(Crypto.randomBytes(32)),
            "XERO_CLIENT_ID": ConnectPair.clientId, "XERO_CLIENT_SECRET": ConnectPair.clientSecret, "XERO_WEBHOOK_KEY": webhookKey,
            "XERO_LOGIN_URL": simulator.baseURL, "XERO_IDENTITY_URL": simulator.baseURL, "XERO_API_URL": simulator.baseURL,
        ]
        env.merge(extra) { $1 }
        environment = env
        let logs = self.logs
        var logger = Logger(label: "xero-gateway") { _ in logs }
        logger.logLevel = .trace
        gateway = try Gateway(configuration: Configuration.load(environment: env), logger: logger, clock: clock,
                              xeroRetry: XeroRetryPolicy(attempts: 3, baseDelay: 0.01, maxDelay: 0.02, timeout: 3))
        try gateway.start()
        let log = syncLog
        if !realSync {
            gateway.syncEngine.stop()  // no sweeps of its own either
            gateway.hooks = GatewayHooks(requestSync: { a, t in log.requests.withLock { $0.append((a, t)) } })
        }
    }

    deinit {
        gateway.shutdown()
        simulator.shutdown()
        if let schema, let url = StoreBackend.testURL, let db = try? PostgresDatabase(url: url, schema: schema) {
            try? db.write { c in try c.execute("DROP SCHEMA \(schema) CASCADE") }
            db.close()
        }
    }

    var base: String { "http://127.0.0.1:\(gateway.port)" }
    var logText: String {
        logs.entries.map { "\($0.level) \($0.message) \($0.metadata) \($0.error.map { "\($0)" } ?? "")" }.joined(separator: "\n")
    }

    // MARK: simulator

    @discardableResult
    func sim(_ method: String, _ path: String, _ body: String? = nil) throws -> JSON {
        let r = try client.send(ClientRequest(method: method, url: simulator.baseURL + path,
                                              headers: [("Content-Type", "application/json")], body: Array((body ?? "").utf8)))
        #expect((200..<300).contains(r.status), "\(method) \(path): \(r.status) \(r.text)")
        return r.body.isEmpty ? .null : (try? JSON.parse(r.body)) ?? .null
    }

    func organisation(_ name: String) throws -> String {
        try #require(try sim("POST", "/sim/organisations", #"{"name":"\#(name)"}"#)["tenantId"]?.stringValue)
    }

    /// A Xero login with access to these organisations; returns its email.
    func xeroLogin(_ tenants: [String]) throws -> String {
        let email = "\(UUID().uuidString.prefix(8).lowercased())@example.com"
        let list = tenants.map { "\"\($0)\"" }.joined(separator: ",")
        try sim("POST", "/sim/logins", #"{"email":"\#(email)","tenantIds":[\#(list)]}"#)
        return email
    }

    /// What the consent page does: the redirect back to the gateway (code and state in its query).
    func consent(login: String, tenants: [String], state: String) throws -> [String: String] {
        let list = tenants.map { "\"\($0)\"" }.joined(separator: ",")
        let redirect = try #require(try sim("POST", "/sim/consent", #"""
            {"login":"\#(login)","tenantIds":[\#(list)],"clientId":"\#(ConnectPair.clientId)",
             "redirectUri":"\#(ConnectPair.redirect)","state":"\#(state)","scope":"\#(Configuration.defaultXeroScopes)"}
            """#)["redirect"]?.stringValue)
        #expect(redirect.hasPrefix(ConnectPair.redirect + "?"))
        return query(redirect)
    }

    func query(_ url: String) -> [String: String] {
        Dictionary((URLComponents(string: url)?.queryItems ?? []).map { ($0.name, $0.value ?? "") }) { a, _ in a }
    }

    /// How many times the gateway called Xero's token endpoint.
    func tokenCalls() throws -> Int {
        try sim("GET", "/sim/calls?path=/connect/token&limit=10000")["calls"]?.arrayValue?.count ?? -1
    }

    // MARK: gateway

    func request(_ method: String, _ path: String, cookie: String? = nil, bearer: String? = nil,
                 headers: [(String, String)] = [], body: String? = nil) throws -> ClientResponse {
        var h = headers
        if let cookie { h.append(("Cookie", "xg_session=\(cookie)")) }
        if let bearer { h.append(("Authorization", "Bearer \(bearer)")) }
        return try client.send(ClientRequest(method: method, url: base + path, headers: h.map { (name: $0.0, value: $0.1) },
                                             body: Array((body ?? "").utf8)))
    }

    func form(_ path: String, cookie: String?, _ fields: [(String, String)]) throws -> ClientResponse {
        let body = fields.map { "\(formEncode($0.0))=\(formEncode($0.1))" }.joined(separator: "&")
        return try request("POST", path, cookie: cookie, headers: [("Content-Type", "application/x-www-form-urlencoded")], body: body)
    }

    func formEncode(_ s: String) -> String {
        var allowed = CharacterSet.alphanumerics
        allowed.insert(charactersIn: "-._~")
        return s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s
    }

    /// A new account: its id and its first admin's token.
    func account(_ name: String = "Acme") throws -> (id: String, admin: String) {
        let u = try gateway.accounts.createAccount(name: name)
        return (try #require(u.accountId), u.token)
    }

    /// Signs in with a token; the session cookie's value.
    func signIn(_ token: String) throws -> String {
        let r = try form("/admin/login", cookie: nil, [("token", token)])
        #expect(r.status == 303 && r.header("Location") == "/admin")
        let cookie = try #require(r.header("Set-Cookie"))
        return String(try #require(cookie.split(separator: ";").first).dropFirst("xg_session=".count))
    }

    /// The CSRF token of the session's forms, read from the Xero screen.
    func csrf(_ cookie: String) throws -> String {
        let html = try request("GET", "/admin/xero", cookie: cookie).text
        let m = try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/))
        return String(m.1)
    }

    /// `GET /oauth/xero/connect`: the state in the 302 to Xero.
    func startConnect(_ cookie: String) throws -> String {
        let r = try request("GET", "/oauth/xero/connect", cookie: cookie)
        #expect(r.status == 302)
        let location = try #require(r.header("Location"))
        #expect(location.hasPrefix(simulator.baseURL + "/identity/connect/authorize?"))
        return try #require(query(location)["state"])
    }

    func callback(_ cookie: String?, _ q: [String: String]) throws -> ClientResponse {
        let qs = q.map { "\(formEncode($0.key))=\(formEncode($0.value))" }.joined(separator: "&")
        return try request("GET", "/oauth/xero/callback?" + qs, cookie: cookie)
    }

    /// Sign-in to callback: activate, connect, consent with `tenants`, come back.
    func dance(cookie: String, login: String, tenants: [String]) throws -> ClientResponse {
        let state = try startConnect(cookie)
        return try callback(cookie, consent(login: login, tenants: tenants, state: state))
    }

    func activate(_ admin: String) throws {
        #expect(try request("POST", "/api/v1/xero/activate", bearer: admin).status == 200)
    }

    /// `/healthz` once `check` holds of it (the store is read for health once a second), or as it is after 3 s.
    func health(until check: (JSON) -> Bool) throws -> JSON {
        let deadline = Date().addingTimeInterval(3)
        var h = try JSON.parse(request("GET", "/healthz").body)
        while !check(h), Date() < deadline {
            usleep(50_000)
            h = try JSON.parse(request("GET", "/healthz").body)
        }
        return h
    }

    func status(_ admin: String) throws -> JSON { try JSON.parse(request("GET", "/api/v1/xero/status", bearer: admin).body) }

    func tokenRows() throws -> Int {
        try #require(try rows("SELECT COUNT(*) AS n FROM xero_tokens").first?.int("n"))
    }

    /// Rows of `sql` read from the gateway's store, SQLite or PostgreSQL, on a connection of its own.
    func rows(_ sql: String) throws -> [Row] {
        if let schema, let url = StoreBackend.testURL {
            let db = try PostgresDatabase(url: url, schema: schema)
            defer { db.close() }
            return try db.read { try $0.query(sql) }
        }
        return try database.read { try $0.query(sql) }
    }

    /// The gateway's store opened again, as another process (a command) opens it from `GATEWAY_DB`.
    func openStores() throws -> GatewayStores {
        try GatewayStores.open(StoreLocation(try #require(environment["GATEWAY_DB"])))
    }

    /// Every byte SQLite has written (the database and its WAL); on PostgreSQL, every row of
    /// every table of the gateway's schema as text.
    func databaseBytes() throws -> [UInt8] {
        if let schema, let url = StoreBackend.testURL {
            let db = try PostgresDatabase(url: url, schema: schema)
            defer { db.close() }
            return try db.read { c in
                var out: [UInt8] = []
                for table in try c.query("SELECT tablename FROM pg_tables WHERE schemaname = ?", [.text(schema)]) {
                    guard let name = table.string("tablename") else { continue }
                    for row in try c.query("SELECT t::text AS r FROM \(schema).\(name) t") { out += Array((row.string("r") ?? "").utf8) }
                }
                return out
            }
        }
        return ["", "-wal"].flatMap { suffix in
            (FileManager.default.contents(atPath: "\(dir)/gateway.sqlite\(suffix)")).map { Array($0) } ?? []
        }
    }
}

/// What the sync hook was asked for.
final class SyncLog: Sendable {
    let requests = Mutex<[(String, SyncTrigger)]>([])
}

extension Array where Element == UInt8 {
    func contains(bytes s: String) -> Bool {
        let n = Array(s.utf8)
        guard !n.isEmpty, n.count <= count else { return false }
        var i = 0
        while i <= count - n.count {
            if self[i] == n[0] && Array(self[i..<(i + n.count)]) == n { return true }
            i += 1
        }
        return false
    }
}
