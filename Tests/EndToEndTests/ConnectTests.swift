import Crypto
import Foundation
import Gateway
import HTTPClient
import HTTPServer
import Store
import StrictJSON
import Synchronization
import Sync
import Testing
import Xero
import XeroSimulator

/// R1–R4 end to end: a gateway and xero-sim over real HTTP, the browser played by hand.
@Suite(.serialized) struct ConnectTests {
    // MARK: R1

    @Test func r1_onlyAnAccountAdminCanActivate() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let staff = try p.gateway.accounts.createUser(accountId: account, role: .staff).token
        let op = try p.gateway.accounts.createUser(accountId: nil, role: .operator).token
        #expect(try p.request("POST", "/api/v1/xero/activate").status == 401)
        #expect(try p.request("POST", "/api/v1/xero/activate", bearer: staff).status == 403)
        #expect(try p.request("POST", "/api/v1/xero/activate", bearer: op).status == 403)
        #expect(try p.status(admin)["state"]?.stringValue == "inactive")
        // Staff see the screen read-only and cannot post its forms.
        let staffCookie = try p.signIn(staff)
        let staffPage = try p.request("GET", "/admin/xero", cookie: staffCookie).text
        #expect(staffPage.contains("id=\"read-only\"") && !staffPage.contains("id=\"activate\""))
        let csrf = try p.csrf(staffCookie)
        #expect(try p.form("/admin/xero/activate", cookie: staffCookie, [("csrf", csrf)]).status == 403)
        #expect(try p.request("GET", "/oauth/xero/connect", cookie: staffCookie).status == 403)
        #expect(try p.status(admin)["state"]?.stringValue == "inactive")
        // Connecting needs activation first.
        let cookie = try p.signIn(admin)
        #expect(try p.request("GET", "/oauth/xero/connect", cookie: cookie).status == 403)
        // The admin activates from the screen; the API is idempotent.
        let r = try p.form("/admin/xero/activate", cookie: cookie, [("csrf", try p.csrf(cookie))])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=activated")
        let again = try p.request("POST", "/api/v1/xero/activate", bearer: admin)
        let againJSON = try JSON.parse(again.body)
        #expect(again.status == 200 && againJSON["state"]?.stringValue == "active")
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains("id=\"connect\"") && !page.contains("id=\"activate\""))
    }

    // MARK: R2

    @Test func r2_oneOrganisationConnectsAndStartsTheFirstSync() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let tenant = try p.organisation("Harbour <Landscaping> & Co")
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        // The authorize URL carries what Xero needs.
        let r0 = try p.request("GET", "/oauth/xero/connect", cookie: cookie)
        let q = p.query(r0.header("Location") ?? "")
        #expect(q["response_type"] == "code" && q["client_id"] == ConnectPair.clientId)
        #expect(q["redirect_uri"] == ConnectPair.redirect && q["scope"] == Configuration.defaultXeroScopes)
        let state = try #require(q["state"])
        let r = try p.callback(cookie, p.consent(login: login, tenants: [tenant], state: state))
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=connected")
        let s = try p.status(admin)
        #expect(s["state"]?.stringValue == "connected" && s["tenantId"]?.stringValue == tenant)
        #expect(s["tenantName"]?.stringValue == "Harbour <Landscaping> & Co" && s["connectedAt"]?.stringValue != nil)
        #expect(p.syncRequests == ["\(account) initial"])
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains("Harbour &lt;Landscaping&gt; &amp; Co") && !page.contains("<Landscaping>"))
        #expect(page.contains("id=\"sync\""))
        // "Sync with Xero" asks the engine for a manual run.
        let sync = try p.form("/admin/xero/sync", cookie: cookie, [("csrf", try p.csrf(cookie))])
        #expect(sync.status == 303)
        #expect(p.syncRequests.last == "\(account) manual")
        // The tokens work against Xero for this tenant.
        let access = try p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil)
        #expect(try p.gateway.identity.connections(accessToken: access, authEventId: nil).map(\.tenantId) == [tenant])
        #expect(try p.health { $0["accounts"]?["connected"]?.intValue == 1 }["accounts"]?["connected"]?.intValue == 1)
    }

    @Test func r2_severalOrganisationsShowTheChooserAndOnlyAnOfferedOneConnects() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let t1 = try p.organisation("North Ltd"), t2 = try p.organisation("South Ltd"), t3 = try p.organisation("Elsewhere")
        let login = try p.xeroLogin([t1, t2, t3])
        // An earlier consent of the same login (t3) does not count: only this consent's organisations.
        _ = try p.consent(login: login, tenants: [t3], state: "old")
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        let r = try p.dance(cookie: cookie, login: login, tenants: [t1, t2])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=choose")
        #expect(try p.status(admin)["state"]?.stringValue == "choosing")
        let page = try p.request("GET", "/admin/xero", cookie: cookie).text
        #expect(page.contains("North Ltd") && page.contains("South Ltd") && !page.contains("Elsewhere"))
        #expect(p.syncRequests.isEmpty)
        // Not offered → 422, nothing changes; staff → 403.
        let staff = try p.gateway.accounts.createUser(accountId: account, role: .staff).token
        #expect(try p.request("POST", "/api/v1/xero/organisation", bearer: staff, body: #"{"tenantId":"\#(t1)"}"#).status == 403)
        #expect(try p.request("POST", "/api/v1/xero/organisation", bearer: admin, body: #"{"tenantId":"\#(t3)"}"#).status == 422)
        #expect(try p.request("POST", "/api/v1/xero/organisation", bearer: admin, body: #"{"tenant":"x"}"#).status == 422)
        #expect(try p.status(admin)["state"]?.stringValue == "choosing")
        let chosen = try p.request("POST", "/api/v1/xero/organisation", bearer: admin, body: #"{"tenantId":"\#(t2)"}"#)
        #expect(chosen.status == 200)
        let s = try JSON.parse(chosen.body)
        #expect(s["state"]?.stringValue == "connected" && s["tenantId"]?.stringValue == t2 && s["tenantName"]?.stringValue == "South Ltd")
        #expect(p.syncRequests == ["\(account) initial"])
        // The organisation not chosen is disconnected at Xero (in the background).
        var deleted = false
        for _ in 0..<100 where !deleted {
            deleted = try p.sim("GET", "/sim/calls?method=DELETE&path=/connections/")["calls"]?.arrayValue?.count == 1
            if !deleted { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(deleted)
        let access = try p.gateway.xeroTokens.accessToken(for: t2, rejected: nil)
        let left = try p.gateway.identity.connections(accessToken: access, authEventId: nil).map(\.tenantId)
        #expect(left.contains(t2) && !left.contains(t1))
    }

    @Test func r2_theChooserFormConnectsToo() throws {
        let p = try ConnectPair()
        let (_, admin) = try p.account()
        let t1 = try p.organisation("One"), t2 = try p.organisation("Two")
        let login = try p.xeroLogin([t1, t2])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        _ = try p.dance(cookie: cookie, login: login, tenants: [t1, t2])
        #expect(try p.form("/admin/xero/organisation", cookie: cookie, [("tenantId", t1)]).status == 403)  // no CSRF
        let r = try p.form("/admin/xero/organisation", cookie: cookie, [("csrf", try p.csrf(cookie)), ("tenantId", t1)])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=connected")
        #expect(try p.status(admin)["tenantId"]?.stringValue == t1)
    }

    @Test func r2_forgedReusedExpiredAndOtherSessionStatesAreRefusedAndChangeNothing() throws {
        let p = try ConnectPair()
        let (_, admin) = try p.account()
        let tenant = try p.organisation("Only Ltd")
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        func unchanged() throws {
            #expect(try p.status(admin)["state"]?.stringValue == "active")
            #expect(try p.tokenRows() == 0)
            #expect(try p.tokenCalls() == 0)   // no code was exchanged
        }
        // Forged.
        let forged = try p.consent(login: login, tenants: [tenant], state: Base64.encodeURL(Crypto.randomBytes(32)))
        var r = try p.callback(cookie, forged)
        #expect(r.status == 400 && r.header("Content-Type")?.hasPrefix("text/html") == true)
        try unchanged()
        // No state at all.
        #expect(try p.callback(cookie, ["code": forged["code"]!]).status == 400)
        // From another session (the same admin signed in elsewhere).
        let other = try p.signIn(admin)
        var state = try p.startConnect(other)
        #expect(try p.callback(cookie, p.consent(login: login, tenants: [tenant], state: state)).status == 400)
        try unchanged()
        // …and the state was spent by that first callback, so its own session cannot use it now.
        #expect(try p.callback(other, p.consent(login: login, tenants: [tenant], state: state)).status == 400)
        try unchanged()
        // Expired: eleven minutes later.
        state = try p.startConnect(cookie)
        let late = try p.consent(login: login, tenants: [tenant], state: state)
        p.clock.advance(milliseconds: 11 * 60 * 1000)
        #expect(try p.callback(cookie, late).status == 400)
        try unchanged()
        // Without the session cookie.
        state = try p.startConnect(cookie)
        #expect(try p.callback(nil, p.consent(login: login, tenants: [tenant], state: state)).status == 400)
        try unchanged()
        // Reused after a success.
        state = try p.startConnect(cookie)
        let good = try p.consent(login: login, tenants: [tenant], state: state)
        r = try p.callback(cookie, good)
        #expect(r.status == 303)
        let calls = try p.tokenCalls()
        #expect(try p.callback(cookie, good).status == 400)
        #expect(try p.tokenCalls() == calls)
    }

    @Test func r2_aDeniedConsentReturnsToTheScreenWithAMessage() throws {
        let p = try ConnectPair()
        let (_, admin) = try p.account()
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        let state = try p.startConnect(cookie)
        let r = try p.callback(cookie, ["error": "access_denied", "state": state])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=denied")
        // The message moves into a cookie shown once, and the browser goes to the clean URL.
        let moved = try p.request("GET", "/admin/xero?m=denied", cookie: cookie)
        #expect(moved.status == 303 && moved.header("Location") == "/admin/xero")
        let flash = try #require(moved.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let page = try p.request("GET", "/admin/xero", headers: [("Cookie", "xg_session=\(cookie); \(flash)")])
        #expect(page.text.contains("not granted") && page.header("Set-Cookie")?.contains("Max-Age=0") == true)
        #expect(!(try p.request("GET", "/admin/xero", cookie: cookie).text.contains("not granted")))
        #expect(try p.status(admin)["state"]?.stringValue == "active")
    }

    // MARK: R3

    @Test func r3_anotherOrganisationIsRefusedAndTheSameOneReconnects() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let t1 = try p.organisation("First Ltd"), t2 = try p.organisation("Second Ltd")
        let login1 = try p.xeroLogin([t1]), login2 = try p.xeroLogin([t2])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        #expect(try p.dance(cookie: cookie, login: login1, tenants: [t1]).status == 303)
        let before = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        let statusBefore = try p.status(admin)

        let refused = try p.dance(cookie: cookie, login: login2, tenants: [t2])
        #expect(refused.status == 409)
        #expect(refused.text.contains("This SortScape account is connected to First Ltd. To connect a different Xero organisation, contact support to reset the connection."))
        #expect(try p.status(admin) == statusBefore)
        #expect(try p.gateway.xeroTokens.tokens(accountId: account) == before)
        #expect(try p.gateway.accounts.connection(tenantId: t2) == nil)
        // No stray connection to the refused organisation lingers at Xero.
        #expect(try p.sim("GET", "/sim/calls?method=DELETE&path=/connections/")["calls"]?.arrayValue?.map { $0["status"]?.intValue } == [204])

        // The refresh token dies; the same organisation reconnects with new tokens.
        try p.gateway.identity.revoke(before.refreshToken)
        p.clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try p.gateway.xeroTokens.accessToken(for: t1, rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        #expect(try p.status(admin)["state"]?.stringValue == "needs_reconnect")
        let again = try p.dance(cookie: cookie, login: login1, tenants: [t1])
        #expect(again.status == 303 && again.header("Location") == "/admin/xero?m=reconnected")
        let s = try p.status(admin)
        #expect(s["state"]?.stringValue == "connected" && s["tenantId"]?.stringValue == t1)
        #expect(s["connectedAt"] == statusBefore["connectedAt"])
        #expect(try p.gateway.xeroTokens.tokens(accountId: account)?.refreshToken != before.refreshToken)
        _ = try p.gateway.xeroTokens.accessToken(for: t1, rejected: nil)
    }

    /// The gateway refuses another organisation itself, before it stores anything of the consent:
    /// the store's lock (which refuses only the final connect) is not what keeps the account's
    /// tokens and state as they were. One organisation offered, or several (which would otherwise
    /// go to the chooser).
    @Test func r3_anotherOrganisationIsRefusedBeforeAnythingOfTheConsentIsStored() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let t1 = try p.organisation("First Ltd"), t2 = try p.organisation("Second Ltd"), t3 = try p.organisation("Third Ltd")
        let login1 = try p.xeroLogin([t1]), login2 = try p.xeroLogin([t2, t3])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        #expect(try p.dance(cookie: cookie, login: login1, tenants: [t1]).status == 303)
        let before = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        let statusBefore = try p.status(admin)
        for offered in [[t2], [t2, t3]] {
            p.clock.advance(milliseconds: 1500)  // time moves on: a rewrite of the tokens would show in their expiry
            let refused = try p.dance(cookie: cookie, login: login2, tenants: offered)
            #expect(refused.status == 409, "offered \(offered.count)")
            #expect(refused.text.contains("This SortScape account is connected to First Ltd. To connect a different Xero organisation, contact support to reset the connection."))
            #expect(try p.gateway.xeroTokens.tokens(accountId: account) == before, "offered \(offered.count)")
            #expect(try p.status(admin) == statusBefore)
            #expect(try p.gateway.accounts.connection(tenantId: t2) == nil && p.gateway.accounts.connection(tenantId: t3) == nil)
        }
        #expect(p.syncRequests == ["\(account) initial"])
    }

    /// Two consents for one new account at once (two tabs, one organisation each) cannot
    /// interleave their connect steps: the whole connect runs under the account's lock. The
    /// first is held inside its token write. With the lock only around token writes, the second
    /// reads the account meanwhile (no tenant, no tokens), then waits to write, overwrites the
    /// first's tokens once the first has connected, is refused by the store's tenant lock and
    /// "puts back" what it read: nothing, so the account is connected with no tokens. Under the
    /// account's lock the second decides after the first has connected: it is refused before it
    /// stores anything, and the account keeps the first's working tokens.
    @Test func r3_twoConsentsForANewAccountAtOnceDoNotInterleave() throws {
        let p = try ConnectPair()
        let (account, admin) = try p.account()
        let t1 = try p.organisation("First Ltd"), t2 = try p.organisation("Second Ltd")
        let login = try p.xeroLogin([t1, t2])
        try p.activate(admin)
        let codeA = try #require(try p.consent(login: login, tenants: [t1], state: "tab-1")["code"])
        let codeB = try #require(try p.consent(login: login, tenants: [t2], state: "tab-2")["code"])
        let store = HeldTokenStore(p.gateway.stores.tokens)
        let tokens = try XeroTokenManager(accounts: p.gateway.accounts, tokens: store, refresher: p.gateway.identity,
                                          secretKey: p.gateway.configuration.secretKey, clock: p.clock)
        let connections = XeroConnections(accounts: p.gateway.accounts, tokens: tokens, identity: p.gateway.identity,
                                          requestSync: { _, _ in }, clock: p.clock)
        let outcomes = Mutex<[String: XeroConnections.Outcome]>([:])
        let aDone = DispatchSemaphore(value: 0), bDone = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            let o = connections.completeConsent(accountId: account, code: codeA)
            outcomes.withLock { $0["A"] = o }
            aDone.signal()
        }
        #expect(store.held.wait(timeout: .now() + 10) == .success, "the first consent never wrote its tokens")
        Thread.detachNewThread {
            let o = connections.completeConsent(accountId: account, code: codeB)
            outcomes.withLock { $0["B"] = o }
            bDone.signal()
        }
        let bFinishedFirst = bDone.wait(timeout: .now() + 1) == .success
        store.release.signal()
        #expect(aDone.wait(timeout: .now() + 10) == .success)
        if !bFinishedFirst { #expect(bDone.wait(timeout: .now() + 10) == .success) }
        #expect(!bFinishedFirst, "the second consent finished while the first was still connecting")
        #expect(outcomes.withLock { $0 } == ["A": .connected(tenantName: "First Ltd", first: true),
                                            "B": .refused(XeroConnections.lockedMessage("First Ltd"))])
        let s = try p.status(admin)
        #expect(s["state"]?.stringValue == "connected" && s["tenantId"]?.stringValue == t1)
        // The stored tokens are the first consent's, and they work for its organisation.
        let stored = try #require(try p.gateway.xeroTokens.tokens(accountId: account), "connected with no tokens")
        #expect(try p.gateway.identity.connections(accessToken: stored.accessToken, authEventId: nil).map(\.tenantId).contains(t1))
    }

    @Test func r3_anOrganisationAnotherAccountHoldsIsRefused() throws {
        let p = try ConnectPair()
        let (_, adminA) = try p.account("A"), (_, adminB) = try p.account("B")
        let t = try p.organisation("Shared Ltd")
        let login = try p.xeroLogin([t])
        try p.activate(adminA)
        try p.activate(adminB)
        #expect(try p.dance(cookie: p.signIn(adminA), login: login, tenants: [t]).status == 303)
        let r = try p.dance(cookie: p.signIn(adminB), login: login, tenants: [t])
        #expect(r.status == 409 && r.text.contains("another SortScape account"))
        #expect(try p.status(adminB)["state"]?.stringValue == "active")
        #expect(try p.status(adminA)["state"]?.stringValue == "connected")
        _ = try p.gateway.xeroTokens.accessToken(for: t, rejected: "force a refresh: A's grant still works")
    }

    @Test func r3_aSupportResetEndsOnlyItsOwnAccountsConnection() throws {
        let p = try ConnectPair()
        let (a, adminA) = try p.account("A"), (b, adminB) = try p.account("B")
        let t1 = try p.organisation("First Ltd"), t2 = try p.organisation("Second Ltd")
        let login = try p.xeroLogin([t1, t2])  // one Xero user connects both accounts
        try p.activate(adminA)
        try p.activate(adminB)
        #expect(try p.dance(cookie: p.signIn(adminA), login: login, tenants: [t1]).status == 303)
        #expect(try p.dance(cookie: p.signIn(adminB), login: login, tenants: [t2]).status == 303)
        let out = try ConnectionReset.run(accountId: b, configuration: p.gateway.configuration, database: p.database)
        #expect(out["disconnected"]?.boolValue == true && out["revoked"]?.boolValue == false, "\(out.serialized)")
        #expect(out["revokeError"]?.stringValue?.contains("other organisation") == true)
        // A still works: its tokens refresh and its tenant is still connected at Xero.
        #expect(try p.status(adminA)["state"]?.stringValue == "connected")
        p.clock.advance(milliseconds: 31 * 60_000)  // the access token expires: a refresh must still work
        #expect(throws: Never.self) { _ = try p.gateway.xeroTokens.accessToken(accountId: a) }
        #expect(try p.status(adminA)["state"]?.stringValue == "connected")
        let connections = try p.sim("GET", "/sim/state")["connections"]?.arrayValue ?? []
        #expect(connections.contains { $0["tenantId"]?.stringValue == t1 } && !connections.contains { $0["tenantId"]?.stringValue == t2 })
        #expect(try p.status(adminB)["tenantId"]?.isNull == true)
    }

    @Test(arguments: StoreBackend.all)
    func r3_supportResetRevokesTheGrantAndClearsTheLock(_ backend: StoreBackend) throws {
        let p = try ConnectPair(backend: backend)
        let stores = try p.openStores()
        defer { stores.close() }
        let (account, admin) = try p.account()
        let t1 = try p.organisation("Old Ltd"), t2 = try p.organisation("New Ltd")
        let login = try p.xeroLogin([t1, t2])
        try p.activate(admin)
        let cookie = try p.signIn(admin)
        _ = try p.dance(cookie: cookie, login: login, tenants: [t1])
        let tokens = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        let out = try ConnectionReset.run(accountId: account, configuration: p.gateway.configuration, stores: stores)
        #expect(out["revoked"]?.boolValue == true && out["state"]?.stringValue == "active")
        #expect(out["previousTenantId"]?.stringValue == t1 && out["revokeError"]?.isNull == true)
        #expect(!out.serialized.contains(tokens.refreshToken))
        #expect(try p.status(admin)["tenantId"]?.isNull == true)
        #expect(try p.tokenRows() == 0)
        #expect { try p.gateway.identity.refresh(tokens.refreshToken) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        // Now another organisation may be connected.
        #expect(try p.dance(cookie: cookie, login: login, tenants: [t2]).status == 303)
        #expect(try p.status(admin)["tenantId"]?.stringValue == t2)
        // A second reset has nothing to revoke, and says so.
        _ = try ConnectionReset.run(accountId: account, configuration: p.gateway.configuration, stores: stores)
        let none = try ConnectionReset.run(accountId: account, configuration: p.gateway.configuration, stores: stores)
        #expect(none["revoked"]?.boolValue == false && none["revokeError"]?.stringValue != nil)
    }

    // MARK: R4

    func connected(_ p: ConnectPair) throws -> (account: String, admin: String, tenant: String) {
        let (account, admin) = try p.account()
        let tenant = try p.organisation("Tokens Ltd")
        let login = try p.xeroLogin([tenant])
        try p.activate(admin)
        #expect(try p.dance(cookie: p.signIn(admin), login: login, tenants: [tenant]).status == 303)
        return (account, admin, tenant)
    }

    @Test func r4_tenConcurrentCallsOnAnExpiringTokenCauseExactlyOneRefresh() throws {
        let p = try ConnectPair()
        let (account, _, tenant) = try connected(p)
        let first = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        let callsBefore = try p.tokenCalls()
        // Fresh: handed out as is.
        #expect(try p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil) == first.accessToken)
        p.clock.advance(milliseconds: 29 * 60 * 1000)   // under two minutes left
        let got = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 10) { _ in
            let t = (try? p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil)) ?? "failed"
            got.withLock { $0.append(t) }
        }
        #expect(try p.tokenCalls() == callsBefore + 1)
        let fresh = got.withLock { $0 }
        #expect(Set(fresh).count == 1 && fresh[0] != first.accessToken && fresh[0] != "failed")
        let stored = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        #expect(stored.accessToken == fresh[0] && stored.refreshToken != first.refreshToken)
        #expect(try p.gateway.identity.connections(accessToken: fresh[0], authEventId: nil).count == 1)
    }

    @Test func r4_aRevokedRefreshTokenMeansNeedsReconnectVisiblyAndNothingElseLost() throws {
        let p = try ConnectPair()
        let (account, admin, tenant) = try connected(p)
        let tokens = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        try p.gateway.identity.revoke(tokens.refreshToken)
        p.clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
        let s = try p.status(admin)
        #expect(s["state"]?.stringValue == "needs_reconnect" && s["tenantId"]?.stringValue == tenant)
        #expect(try p.health { $0["accounts"]?["needs_reconnect"]?.intValue == 1 }["accounts"]?["needs_reconnect"]?.intValue == 1)
        let page = try p.request("GET", "/admin/xero", cookie: p.signIn(admin)).text
        #expect(page.contains("Needs reconnecting") && page.contains("id=\"connect\""))
        #expect(try p.tokenRows() == 1)
    }

    @Test(arguments: ["503", "hang"])
    func r4_aServerErrorOrTimeoutDuringRefreshIsNotNeedsReconnect(_ fault: String) throws {
        let p = try ConnectPair()
        let (account, admin, tenant) = try connected(p)
        let before = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        // Xero Identity answering 503s, or not answering in time.
        let hits = Mutex(0)
        var router = Router()
        router.post("/connect/token") { _ in
            hits.withLock { $0 += 1 }
            if fault == "hang" { Thread.sleep(forTimeInterval: 1.5) }
            return .respond(.text(503, "Service Unavailable"))
        }
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, threads: 4), router: router)
        try server.start()
        defer { server.shutdown(timeout: 3) }
        let origin = "http://127.0.0.1:\(server.port)"
        let identity = XeroIdentityClient(
            endpoints: XeroEndpoints(login: origin, identity: origin, api: origin),
            app: XeroApp(clientId: ConnectPair.clientId, clientSecret: ConnectPair.clientSecret, redirectURI: ConnectPair.redirect,
                         scopes: Configuration.defaultXeroScopes),
            retry: XeroRetryPolicy(attempts: 2, baseDelay: 0.01, maxDelay: 0.02, timeout: 1))
        let manager = try XeroTokenManager(accounts: p.gateway.accounts,
                                           tokens: p.gateway.stores.tokens,
                                           refresher: identity, secretKey: p.gateway.configuration.secretKey, clock: p.clock)
        p.clock.advance(milliseconds: 31 * 60 * 1000)
        #expect { try manager.accessToken(for: tenant, rejected: nil) } throws: { error in
            let code = (error as? XeroAPIError)?.code
            return code == (fault == "hang" ? .timeout : .server)
        }
        #expect(hits.withLock { $0 } == 2)
        #expect(try p.status(admin)["state"]?.stringValue == "connected")
        #expect(try p.gateway.xeroTokens.tokens(accountId: account) == before)
        // Once Xero answers again, the kept refresh token still works.
        #expect(try p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil) != before.accessToken)
    }

    @Test func r4_noSecretInTheClearInTheDatabaseOrTheLog() throws {
        let p = try ConnectPair()
        let (account, _, tenant) = try connected(p)
        let first = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        p.clock.advance(milliseconds: 31 * 60 * 1000)
        _ = try p.gateway.xeroTokens.accessToken(for: tenant, rejected: nil)
        let second = try #require(try p.gateway.xeroTokens.tokens(accountId: account))
        let bytes = try p.databaseBytes()
        let log = p.logText
        #expect(bytes.count > 0 && log.contains("connected to xero"))
        for secret in [first.accessToken, first.refreshToken, second.accessToken, second.refreshToken,
                       ConnectPair.clientSecret, p.webhookKey] {
            #expect(!bytes.contains(bytes: secret), "a secret is in the database in the clear")
            #expect(!log.contains(secret), "a secret is in the log")
        }
    }
}

/// A token store whose first write waits (before writing) until the test lets it go, saying
/// when it is held.
final class HeldTokenStore: XeroTokenRepository {
    let inner: any XeroTokenRepository
    let held = DispatchSemaphore(value: 0)
    let release = DispatchSemaphore(value: 0)
    private let writes = Mutex(0)

    init(_ inner: any XeroTokenRepository) { self.inner = inner }

    func saveTokens(accountId: String, _ tokens: SealedXeroTokens) throws(StoreError) {
        if writes.withLock({ n -> Int in n += 1; return n }) == 1 {
            held.signal()
            _ = release.wait(timeout: .now() + 10)
        }
        try inner.saveTokens(accountId: accountId, tokens)
    }
    func tokens(accountId: String) throws(StoreError) -> SealedXeroTokens? { try inner.tokens(accountId: accountId) }
    func deleteTokens(accountId: String) throws(StoreError) { try inner.deleteTokens(accountId: accountId) }
    func replaceTokens(accountId: String, expected: SealedXeroTokens, with tokens: SealedXeroTokens) throws(StoreError) -> Bool {
        try inner.replaceTokens(accountId: accountId, expected: expected, with: tokens)
    }
}
