import Foundation
import Gateway
import HTTPClient
import Store
import StrictJSON
import Synchronization
import Testing

/// Browser sessions on the memory store, failing on demand (a full disk, a lost database).
final class FailingSessions: SessionRepository {
    let inner: any SessionRepository
    let failing = Mutex(false)

    init(_ inner: any SessionRepository) { self.inner = inner }

    private func check() throws(StoreError) {
        if failing.withLock({ $0 }) { throw StoreError(code: .sqlite(13), message: "database or disk is full") }
    }

    func createSession(tokenHash: [UInt8], userId: String, expiresAt: Int64, now: Int64) throws(StoreError) {
        try check()
        try inner.createSession(tokenHash: tokenHash, userId: userId, expiresAt: expiresAt, now: now)
    }
    func session(tokenHash: [UInt8], now: Int64) throws(StoreError) -> AdminSession? {
        try check()
        return try inner.session(tokenHash: tokenHash, now: now)
    }
    func deleteSession(tokenHash: [UInt8]) throws(StoreError) {
        try check()
        try inner.deleteSession(tokenHash: tokenHash)
    }
    func deleteSessions(userId: String) throws(StoreError) -> Int {
        try check()
        return try inner.deleteSessions(userId: userId)
    }
    func createOAuthState(stateHash: [UInt8], record: OAuthStateRecord) throws(StoreError) {
        try check()
        try inner.createOAuthState(stateHash: stateHash, record: record)
    }
    func spendOAuthState(stateHash: [UInt8]) throws(StoreError) -> OAuthStateRecord? {
        try check()
        return try inner.spendOAuthState(stateHash: stateHash)
    }
}

/// A store that cannot answer is a 503 wherever a handler calls it (the router's catch, a typed
/// handler's `store { }`), and a person sees the gateway recover once it answers again.
@Suite struct StoreErrorAnswerTests {
    @Test func aStoreThatFailsIsA503WhereverItIsCalledFromAndTheGatewayRecovers() throws {
        var stores = GatewayStores.memory(MemoryStore())
        let sessions = FailingSessions(stores.sessions)
        stores.sessions = sessions
        let t = try TestGateway(store: .stores(stores))
        let admin = try t.gateway.accounts.createAccount(name: "Acme").token
        func signIn() throws -> ClientResponse {
            try t.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                          body: Array("token=\(admin)".utf8))
        }
        let signedIn = try signIn()
        #expect(signedIn.status == 303)
        let cookie = String(try #require(signedIn.header("Set-Cookie")?.split(separator: ";").first))
        #expect(try t.request("GET", "/admin/xero", headers: [("Cookie", cookie)]).status == 200)

        sessions.failing.withLock { $0 = true }
        // A screen reading its session (a handler typed `throws(HTTPError)`).
        #expect(try t.request("GET", "/admin/xero", headers: [("Cookie", cookie)]).status == 503)
        // Signing in (a session written by a plain throwing handler: the router answers).
        #expect(try signIn().status == 503)
        // The API: the JSON error every client reads.
        let api = try t.request("POST", "/api/v1/sessions/revoke-all", headers: [("Authorization", "Bearer \(admin)")])
        #expect(api.status == 503)
        #expect(try JSON.parse(api.body)["error"]?["code"]?.stringValue == "store_unavailable")
        #expect(t.logText.contains("store call failed"))

        sessions.failing.withLock { $0 = false }
        #expect(try t.request("GET", "/admin/xero", headers: [("Cookie", cookie)]).status == 200)
        #expect(try signIn().status == 303)
    }
}
