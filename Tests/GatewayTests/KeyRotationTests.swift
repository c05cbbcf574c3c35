import Crypto
import Foundation
import Gateway
import HTTPClient
import Store
import StrictJSON
import Testing
import Xero

/// One key, two jobs no more: subkeys per purpose, and rotation of `GATEWAY_SECRET_KEY`.
@Suite struct KeyRotationTests {
    func form(_ g: TestGateway, _ path: String, cookie: String, _ body: String) throws -> ClientResponse {
        try g.request("POST", path, headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Cookie", "xg_session=\(cookie)")],
                      body: Array(body.utf8))
    }

    func signIn(_ g: TestGateway, _ token: String) throws -> String {
        let r = try g.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                              body: Array("token=\(token)".utf8))
        let header = try #require(r.header("Set-Cookie"))
        return String(try #require(header.split(separator: ";").first).dropFirst("xg_session=".count))
    }

    func csrf(_ g: TestGateway, _ cookie: String) throws -> String {
        let html = try g.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(cookie)")]).text
        return String(try #require(html.firstMatch(of: /name="csrf" value="([^"]+)"/)).1)
    }

    /// A CSRF token as the gateway made them before subkeys: the HMAC under the raw key.
    func rawKeyCSRF(_ key: [UInt8], cookie: String) -> String {
        Base64.encodeURL(Crypto.hmacSHA256(key: key, message: Array("csrf:".utf8) + Crypto.sha256(Array(cookie.utf8))))
    }

    @Test func theTokenSealSubkeyDiffersFromTheCSRFSubkeyAndFromTheKey() throws {
        let key = try SecretKey(Crypto.randomBytes(32))
        let seal = key.subkey(.tokenSeal), csrf = key.subkey(.csrf)
        #expect(seal != csrf && seal != key.raw && csrf != key.raw)
        #expect(SecretKey.Purpose.tokenSeal.info == "xero-gateway token seal v1" && SecretKey.Purpose.csrf.info == "xero-gateway csrf v1")
    }

    /// Decided: CSRF tokens are made fresh with every page and nothing stores them, so only the
    /// current key's CSRF subkey counts. A token made the old way (HMAC under the raw key) or
    /// under the previous key stops validating at once; the session stays signed in, and
    /// reloading the page gives its forms a token that works.
    @Test func aCSRFTokenMadeUnderTheRawKeyOrThePreviousKeyNoLongerValidatesButTheSessionLives() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = Crypto.randomBytes(32), new = Crypto.randomBytes(32)
        let db = ["GATEWAY_DB": "\(dir)/gateway.sqlite"]
        let admin: String, cookie: String, oldPageToken: String
        do {
            let g = try TestGateway(extra: db.merging(["GATEWAY_SECRET_KEY": Base64.encode(old)]) { $1 }, store: .sqlite)
            admin = try g.gateway.accounts.createAccount(name: "A").token
            cookie = try signIn(g, admin)
            oldPageToken = try csrf(g, cookie)
            let raw = rawKeyCSRF(old, cookie: cookie)
            #expect(raw != oldPageToken)
            #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(raw)").status == 403)
            #expect(try g.gateway.accounts.connections().first?.state == .inactive)
        }
        // Rotated: the new key with the old one as previous, over the same database.
        let g = try TestGateway(extra: db.merging(["GATEWAY_SECRET_KEY": Base64.encode(new),
                                                   "GATEWAY_SECRET_KEY_PREVIOUS": Base64.encode(old)]) { $1 }, store: .sqlite)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(oldPageToken)").status == 403)
        #expect(try g.gateway.accounts.connections().first?.state == .inactive)
        let fresh = try csrf(g, cookie)   // still signed in: the page renders with a new token
        #expect(fresh != oldPageToken)
        #expect(try form(g, "/admin/xero/activate", cookie: cookie, "csrf=\(fresh)").status == 303)
        #expect(try g.gateway.accounts.connections().first?.state == .active)
    }

    /// `xero-gateway keys reseal` (`KeyReseal.run`): tokens sealed under the previous key are
    /// readable with `GATEWAY_SECRET_KEY_PREVIOUS` set and not without it, until the re-seal.
    @Test func resealRetiresThePreviousKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-keys-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let old = Base64.encode(Crypto.randomBytes(32)), new = Base64.encode(Crypto.randomBytes(32))
        let db = ["GATEWAY_DB": "\(dir)/gateway.sqlite"]
        let accountId: String
        do {
            let g = try TestGateway(extra: db.merging(["GATEWAY_SECRET_KEY": old]) { $1 }, store: .sqlite)
            accountId = try #require(try g.gateway.accounts.createAccount(name: "A").accountId)
            _ = try g.gateway.accounts.createAccount(name: "B (never connected)")
            try g.gateway.xeroTokens.save(accountId: accountId, XeroTokenResponse(
                idToken: nil, accessToken: "access-0", expiresIn: 1800, refreshToken: "refresh-0", scope: "offline_access"))
        }
        var env = TestGateway.environment(dir: dir).merging(db) { $1 }
        env["GATEWAY_SECRET_KEY"] = new
        do {
            let g = try TestGateway(extra: env, store: .sqlite)
            #expect(throws: CryptoError.self) { try g.gateway.xeroTokens.tokens(accountId: accountId) }
        }
        env["GATEWAY_SECRET_KEY_PREVIOUS"] = old
        do {
            let g = try TestGateway(extra: env, store: .sqlite)
            #expect(try g.gateway.xeroTokens.tokens(accountId: accountId)?.refreshToken == "refresh-0")
        }
        let database = try Database(path: "\(dir)/gateway.sqlite")
        let report = try KeyReseal.run(configuration: Configuration.load(environment: env), database: database)
        #expect(report.serialized == #"{"resealed":1,"alreadyCurrent":0,"unreadable":[]}"#)
        let again = try KeyReseal.run(configuration: Configuration.load(environment: env), database: database)
        #expect(again.serialized == #"{"resealed":0,"alreadyCurrent":1,"unreadable":[]}"#)
        database.close()
        env["GATEWAY_SECRET_KEY_PREVIOUS"] = nil
        let g = try TestGateway(extra: env, store: .sqlite)
        let tokens = try g.gateway.xeroTokens.tokens(accountId: accountId)
        #expect(tokens?.accessToken == "access-0" && tokens?.refreshToken == "refresh-0")
    }
}
