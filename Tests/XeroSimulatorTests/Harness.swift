import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
import Xero
import XeroSimulator
import StrictJSON

/// A simulator on a free port, driven over real HTTP.
final class Harness: Sendable {
    static let clientId = "test-client-id"
    static let clientSecret = "test-client-secret"
    static let webhookKey = "test-webhook-key-3u1Qm7Yt0d9Vb2Xn"
    static let redirect = "http://127.0.0.1:1/oauth/xero/callback"

    let sim: Simulator
    let client = HTTPClient()
    let base: String

    init(seed: SimulatorConfiguration.Seed = .empty, webhookURL: String? = nil) throws {
        sim = Simulator(configuration: SimulatorConfiguration(
            port: 0, clientId: Harness.clientId, clientSecret: Harness.clientSecret, redirectURIs: [Harness.redirect],
            webhookKey: Harness.webhookKey, webhookURL: webhookURL, seed: seed))
        try sim.start()
        base = sim.baseURL
    }

    deinit { sim.shutdown() }

    struct Reply {
        let status: Int
        let headers: [(name: String, value: String)]
        let body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        var json: JSON { (try? JSON.parse(body)) ?? .null }
        func header(_ name: String) -> String? {
            headers.last { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    @discardableResult
    func send(_ method: String, _ path: String, headers: [(String, String)] = [], body: String? = nil,
              timeout: Double = 30) throws -> Reply {
        let r = try client.send(ClientRequest(method: method, url: base + path,
                                              headers: headers.map { (name: $0.0, value: $0.1) },
                                              body: body.map { Array($0.utf8) } ?? [], timeout: timeout))
        return Reply(status: r.status, headers: r.headers, body: r.body)
    }

    /// A control-API call; expects 2xx unless told otherwise.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: String? = nil, expect: Int? = nil) throws -> JSON {
        let r = try send(method, path, headers: [("Content-Type", "application/json")], body: body)
        if let expect {
            #expect(r.status == expect, "\(method) \(path): \(r.text)")
        } else {
            #expect((200..<300).contains(r.status), "\(method) \(path): \(r.status) \(r.text)")
        }
        return r.json
    }

    func organisation(_ name: String) throws -> String {
        try #require(try control("POST", "/sim/organisations", #"{"name":"\#(name)"}"#)["tenantId"]?.stringValue)
    }

    func login(_ email: String, tenants: [String]) throws {
        let list = tenants.map { "\"\($0)\"" }.joined(separator: ",")
        try control("POST", "/sim/logins", #"{"email":"\#(email)","tenantIds":[\#(list)]}"#)
    }

    struct Tokens {
        var access: String
        var refresh: String
        var json: JSON
    }

    /// Consent through the control API, then the code exchange (Basic client auth).
    func connect(_ email: String, tenants: [String]? = nil, scope: String? = nil) throws -> Tokens {
        var body = #"{"login":"\#(email)","redirectUri":"\#(Harness.redirect)","state":"st-1""#
        if let tenants { body += ",\"tenantIds\":[" + tenants.map { "\"\($0)\"" }.joined(separator: ",") + "]" }
        if let scope { body += ",\"scope\":\"\(scope)\"" }
        body += "}"
        let redirect = try #require(try control("POST", "/sim/consent", body)["redirect"]?.stringValue)
        let code = try #require(Harness.queryItem(redirect, "code"))
        #expect(Harness.queryItem(redirect, "state") == "st-1")
        let r = try tokenRequest("grant_type=authorization_code&code=\(code)&redirect_uri=\(FormEncode.encode(Harness.redirect))")
        #expect(r.status == 200, "\(r.text)")
        return Tokens(access: try #require(r.json["access_token"]?.stringValue), refresh: try #require(r.json["refresh_token"]?.stringValue),
                      json: r.json)
    }

    func tokenRequest(_ form: String, basic: Bool = true) throws -> Reply {
        var headers = [("Content-Type", "application/x-www-form-urlencoded")]
        var body = form
        if basic {
            headers.append(("Authorization", "Basic " + Data("\(Harness.clientId):\(Harness.clientSecret)".utf8).base64EncodedString()))
        } else {
            body += "&client_id=\(Harness.clientId)&client_secret=\(Harness.clientSecret)"
        }
        return try send("POST", "/connect/token", headers: headers, body: body)
    }

    /// An accounting call with the bearer token and tenant header.
    @discardableResult
    func api(_ method: String, _ path: String, token: String, tenant: String, body: String? = nil,
             headers: [(String, String)] = [], timeout: Double = 30) throws -> Reply {
        var h = [("Authorization", "Bearer \(token)"), ("xero-tenant-id", tenant), ("Accept", "application/json")] + headers
        if body != nil { h.append(("Content-Type", "application/json")) }
        return try send(method, "/api.xro/2.0" + path, headers: h, body: body, timeout: timeout)
    }

    func advanceClock(_ seconds: Int) throws {
        try control("POST", "/sim/clock", #"{"advanceSeconds":\#(seconds)}"#)
    }

    static func queryItem(_ url: String, _ name: String) -> String? {
        guard let q = url.split(separator: "?", maxSplits: 1).last else { return nil }
        for pair in q.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.first.map(String.init) == name { return kv.count > 1 ? String(kv[1]).removingPercentEncoding : "" }
        }
        return nil
    }

    /// Polls until `condition` holds or `seconds` pass.
    static func eventually(_ seconds: Double = 10, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try condition() { return true }
            usleep(20_000)
        }
        return try condition()
    }
}

enum FormEncode {
    static func encode(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? s
    }
}

/// A webhook receiver on HTTPServer that verifies signatures the way the gateway does.
final class WebhookReceiver: Sendable {
    struct Received: Sendable {
        let body: [UInt8]
        let signature: String?
        let valid: Bool
    }

    final class Store: Sendable {
        let received = Mutex<[Received]>([])
        /// Statuses to answer (in order) before answering 200, e.g. [500, 503].
        let failures = Mutex<[Int]>([])
    }

    let server: Server
    let store = Store()

    init(key: String) throws {
        let verifier = WebhookVerifier(webhookKey: key)
        let store = self.store
        var router = Router()
        router.post("/webhooks/xero") { req in
            let sig = req.headers["x-xero-signature"]
            let valid = verifier.isValid(body: req.body, signature: sig)
            store.received.withLock { $0.append(Received(body: req.body, signature: sig, valid: valid)) }
            guard valid else { return .respond(.empty(401)) }
            if let status = store.failures.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return .respond(.empty(status)) }
            return .respond(.empty(200))
        }
        server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, threads: 2), router: router)
        try server.start()
    }

    var url: String { "http://127.0.0.1:\(server.port)/webhooks/xero" }

    deinit { server.shutdown(timeout: 1) }

    var all: [Received] { store.received.withLock { $0 } }

    /// Events of correctly signed deliveries, in arrival order (duplicates included).
    var validEvents: [JSON] {
        all.filter(\.valid).flatMap { r -> [JSON] in ((try? JSON.parse(r.body))?["events"]?.arrayValue) ?? [] }
    }
}
