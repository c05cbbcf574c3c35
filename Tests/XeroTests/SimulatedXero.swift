import Foundation
import HTTPClient
import StrictJSON
import Synchronization
import Testing
import Xero
import XeroSimulator

/// A simulator with one organisation and one login, connected through `XeroIdentityClient`, so
/// the clients under test talk to it over real HTTP as they would to Xero.
final class SimulatedXero: Sendable {
    static let clientId = "client-tests-id"
    static let clientSecret = "client-tests-secret-NOT-REAL"
    static let redirect = "http://127.0.0.1:1/oauth/xero/callback"
    static let scopes = "offline_access openid profile email accounting.contacts accounting.settings accounting.invoices"

    let sim: Simulator
    let http = HTTPClient()
    let tenant: String
    let identity: XeroIdentityClient
    let calls = CallLog()

    init() throws {
        sim = Simulator(configuration: SimulatorConfiguration(
            port: 0, clientId: SimulatedXero.clientId, clientSecret: SimulatedXero.clientSecret,
            redirectURIs: [SimulatedXero.redirect], webhookKey: "client-tests-webhook-key", webhookURL: nil, seed: .empty))
        try sim.start()
        let endpoints = XeroEndpoints(login: sim.baseURL, identity: sim.baseURL, api: sim.baseURL)
        let calls = self.calls
        identity = XeroIdentityClient(
            endpoints: endpoints,
            app: XeroApp(clientId: SimulatedXero.clientId, clientSecret: SimulatedXero.clientSecret,
                         redirectURI: SimulatedXero.redirect, scopes: SimulatedXero.scopes),
            retry: XeroRetryPolicy(baseDelay: 0.02, maxDelay: 0.1, timeout: 5),
            observer: calls.record)
        tenant = try #require(try Self.control(sim, http, "POST", "/sim/organisations", #"{"name":"Client Tests Ltd"}"#)["tenantId"]?.stringValue)
        try Self.control(sim, http, "POST", "/sim/logins", #"{"email":"owner@clienttests.example","tenantIds":["\#(tenant)"]}"#)
    }

    deinit { sim.shutdown() }

    @discardableResult
    static func control(_ sim: Simulator, _ http: HTTPClient, _ method: String, _ path: String, _ body: String? = nil) throws -> JSON {
        let r = try http.send(ClientRequest(method: method, url: sim.baseURL + path,
                                            headers: [("Content-Type", "application/json")], body: body.map { Array($0.utf8) } ?? []))
        #expect((200..<300).contains(r.status), "\(method) \(path): \(r.status) \(r.text)")
        return (try? JSON.parse(r.body)) ?? .null
    }

    @discardableResult
    func control(_ method: String, _ path: String, _ body: String? = nil) throws -> JSON {
        try Self.control(sim, http, method, path, body)
    }

    /// The consent page's answer for this login, state and redirect: the code to exchange.
    func consentCode(state: String = "s1") throws -> String {
        let redirect = try #require(try control("POST", "/sim/consent", """
            {"login":"owner@clienttests.example","redirectUri":"\(SimulatedXero.redirect)","state":"\(state)",\
            "clientId":"\(SimulatedXero.clientId)","scope":"\(SimulatedXero.scopes)"}
            """)["redirect"]?.stringValue)
        let query = try #require(URLComponents(string: redirect)?.queryItems)
        #expect(query.first { $0.name == "state" }?.value == state)
        return try #require(query.first { $0.name == "code" }?.value)
    }

    /// The accounting calls the simulator logged, oldest first.
    func loggedCalls(path: String = "/api.xro") throws -> [JSON] {
        try control("GET", "/sim/calls?path=\(path)&limit=10000")["calls"]?.arrayValue ?? []
    }
}

/// Hands out one access token; counts how often Xero's 401 made the client ask for another.
final class StaticTokens: XeroAccessTokenSource {
    let current: Mutex<String>
    let refreshes = Mutex(0)
    let refresh: @Sendable () throws(XeroAPIError) -> String

    init(_ token: String, refresh: @escaping @Sendable () throws(XeroAPIError) -> String) {
        current = Mutex(token)
        self.refresh = refresh
    }

    func accessToken(for tenantId: String, rejected: String?) throws(XeroAPIError) -> String {
        if let rejected, rejected == current.withLock({ $0 }) {
            refreshes.withLock { $0 += 1 }
            let fresh = try refresh()
            current.withLock { $0 = fresh }
        }
        return current.withLock { $0 }
    }
}

/// What a client's observer was told, in order.
final class CallLog: Sendable {
    private let records = Mutex<[XeroCallRecord]>([])
    var all: [XeroCallRecord] { records.withLock { $0 } }
    @Sendable func record(_ r: XeroCallRecord) { records.withLock { $0.append(r) } }
    func statuses(_ path: String) -> [Int] { all.filter { $0.path == path }.map(\.status) }
}
