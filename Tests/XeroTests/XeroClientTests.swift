import Foundation
import HTTPClient
import HTTPServer
import StrictJSON
import Synchronization
import Testing
import Xero

/// The identity and accounting clients against xero-sim over real HTTP.
@Suite(.serialized) struct XeroClientTests {
    func connected(_ x: SimulatedXero, retry: XeroRetryPolicy = XeroRetryPolicy(baseDelay: 0.02, maxDelay: 0.1, timeout: 5))
        throws -> (XeroAccountingClient, StaticTokens, XeroTokenResponse) {
        let tokens = try x.identity.exchange(code: x.consentCode())
        let refresh = try #require(tokens.refreshToken)
        let source = StaticTokens(tokens.accessToken) { () throws(XeroAPIError) -> String in
            try x.identity.refresh(refresh).accessToken
        }
        let client = XeroAccountingClient(endpoints: x.identity.endpoints, tokens: source, retry: retry,
                                          observer: x.calls.record)
        return (client, source, tokens)
    }

    @Test func r2_identityExchangesACodeAndListsOnlyThisConsentsOrganisations() throws {
        let x = try SimulatedXero()
        let tokens = try x.identity.exchange(code: x.consentCode())
        #expect(tokens.refreshToken != nil && tokens.expiresIn == 1800)
        let event = try #require(XeroIdentityClient.authEventId(fromAccessToken: tokens.accessToken))
        let mine = try x.identity.connections(accessToken: tokens.accessToken, authEventId: event)
        #expect(mine.map(\.tenantId) == [x.tenant])
        #expect(try x.identity.connections(accessToken: tokens.accessToken, authEventId: UUID().uuidString.lowercased()).isEmpty)
        // A code is single use.
        let code = try x.consentCode()
        _ = try x.identity.exchange(code: code)
        #expect { try x.identity.exchange(code: code) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
    }

    @Test func r2_authorizeURLCarriesWhatXeroNeeds() throws {
        let x = try SimulatedXero()
        let url = try #require(URLComponents(string: x.identity.authorizeURL(state: "abc 123")))
        let q = Dictionary(uniqueKeysWithValues: (url.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(url.path == "/identity/connect/authorize")
        #expect(q["response_type"] == "code" && q["client_id"] == SimulatedXero.clientId)
        #expect(q["redirect_uri"] == SimulatedXero.redirect && q["scope"] == SimulatedXero.scopes && q["state"] == "abc 123")
    }

    @Test func r4_refreshRotatesAndARevokedGrantIsInvalidGrantNotATransientError() throws {
        let x = try SimulatedXero()
        let first = try x.identity.exchange(code: x.consentCode())
        let second = try x.identity.refresh(try #require(first.refreshToken))
        #expect(second.refreshToken != first.refreshToken)
        let secondRefresh = try #require(second.refreshToken)
        try x.identity.revoke(secondRefresh)
        #expect { try x.identity.refresh(secondRefresh) } throws: { ($0 as? XeroAPIError)?.code == .invalidGrant }
    }

    @Test func r4_aTimeoutOr5xxOnRefreshIsRetriedNotTakenForInvalidGrant() throws {
        // A token endpoint that answers 503, then hangs past the timeout, then gives tokens.
        let answers = Mutex(0)
        var router = Router()
        router.post("/connect/token") { _ in
            let n = answers.withLock { n -> Int in n += 1; return n }
            if n == 1 { return .respond(.text(503, "Service Unavailable")) }
            if n == 2 { Thread.sleep(forTimeInterval: 1.5) }
            return .respond(.json(200, Array(#"{"access_token":"a.b.c","expires_in":1800,"token_type":"Bearer","refresh_token":"r2","scope":"offline_access"}"#.utf8)))
        }
        let server = Server(configuration: ServerConfiguration(host: "127.0.0.1", port: 0, threads: 2), router: router)
        try server.start()
        defer { server.shutdown(timeout: 3) }
        let calls = CallLog()
        let origin = "http://127.0.0.1:\(server.port)"
        let identity = XeroIdentityClient(
            endpoints: XeroEndpoints(login: origin, identity: origin, api: origin),
            app: XeroApp(clientId: "c", clientSecret: "s", redirectURI: SimulatedXero.redirect, scopes: "offline_access"),
            retry: XeroRetryPolicy(baseDelay: 0.01, maxDelay: 0.02, timeout: 1), observer: calls.record)
        let fresh = try identity.refresh("r1")
        #expect(fresh.refreshToken == "r2")
        #expect(calls.statuses("/connect/token") == [503, 0, 200])
    }

    @Test func r18_everyCallAsksForJSONNamesTheTenantAndIsRecorded() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x)
        try x.control("POST", "/sim/organisations/\(x.tenant)/contacts", #"{"Contacts":[{"Name":"Ada Customer","IsCustomer":true}]}"#)
        let contacts = try client.allContacts(tenantId: x.tenant, includeArchived: false, modifiedSince: nil)
        #expect(contacts.map(\.name) == ["Ada Customer"])
        let logged = try x.loggedCalls()
        let headers = try #require(logged.last?["headers"])
        #expect(headers["Accept"]?.stringValue == "application/json")
        #expect(headers["xero-tenant-id"]?.stringValue == x.tenant)
        #expect(x.calls.all.contains { $0.path == "/api.xro/2.0/Contacts" && $0.status == 200 && $0.tenantId == x.tenant })
    }

    @Test func r18_pagesAreAsLargeAsXeroAllowsAndPagingStopsAtTheLastPage() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x)
        try x.control("POST", "/sim/organisations/\(x.tenant)/contacts",
                      #"{"generate":{"count":2500,"prefix":"Customer","customerEvery":1},"webhooks":false}"#)
        try x.control("DELETE", "/sim/calls")
        let all = try client.allContacts(tenantId: x.tenant, includeArchived: true, modifiedSince: nil)
        #expect(all.count == 2500)
        #expect(Set(all.compactMap(\.contactID)).count == 2500)
        let pages = try x.loggedCalls(path: "/Contacts")
        #expect(pages.count == 3)  // ceil(2500 / 1000)
        #expect(pages.allSatisfy { $0["query"]?.stringValue?.contains("pageSize=1000") == true })
    }

    @Test func r18_serverErrorsAndTimeoutsAreRetriedWithBackoffThenSucceed() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x, retry: XeroRetryPolicy(baseDelay: 0.02, maxDelay: 0.1, timeout: 1))
        try x.control("POST", "/sim/faults", #"{"kind":"500","count":1,"path":"/Items"}"#)
        try x.control("POST", "/sim/faults", #"{"kind":"503","count":1,"path":"/Items"}"#)
        try x.control("POST", "/sim/faults", #"{"kind":"hang","count":1,"path":"/Items","delayMs":3000,"process":false}"#)
        _ = try client.items(tenantId: x.tenant, modifiedSince: nil)
        let statuses = x.calls.statuses("/api.xro/2.0/Items")
        #expect(statuses.count == 4 && statuses.last == 200)
        #expect(statuses.filter { $0 == 0 }.count == 1)  // the hung call timed out
    }

    @Test func r18_retriesAreBoundedAndSayWhatFailed() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x, retry: XeroRetryPolicy(attempts: 3, baseDelay: 0.01, maxDelay: 0.02, timeout: 5))
        try x.control("POST", "/sim/faults", #"{"kind":"500","count":10,"path":"/Items"}"#)
        #expect { try client.items(tenantId: x.tenant, modifiedSince: nil) } throws: {
            ($0 as? XeroAPIError)?.code == .server && ($0 as? XeroAPIError)?.status == 500
        }
        #expect(x.calls.statuses("/api.xro/2.0/Items").count == 3)
    }

    @Test func r18_a429IsObeyedForRetryAfterThenTheCallGoesThrough() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x)
        try x.control("POST", "/sim/faults", #"{"kind":"429","count":1,"path":"/Items","retryAfter":1}"#)
        let started = Date()
        _ = try client.items(tenantId: x.tenant, modifiedSince: nil)
        #expect(Date().timeIntervalSince(started) >= 0.95)
        #expect(x.calls.statuses("/api.xro/2.0/Items") == [429, 200])
    }

    @Test func r4_anExpiredAccessTokenIsRefreshedOnceAndTheCallRepeated() throws {
        let x = try SimulatedXero()
        let (client, source, _) = try connected(x)
        try x.control("POST", "/sim/clock", #"{"advanceSeconds":1900}"#)  // past the 30-minute access token
        _ = try client.items(tenantId: x.tenant, modifiedSince: nil)
        #expect(source.refreshes.withLock { $0 } == 1)
        #expect(x.calls.statuses("/api.xro/2.0/Items") == [401, 200])
    }

    @Test func r18_aWriteKeepsItsIdempotencyKeyAcrossRetriesSoXeroCreatesOneRecord() throws {
        let x = try SimulatedXero()
        let (client, _, _) = try connected(x, retry: XeroRetryPolicy(baseDelay: 0.02, maxDelay: 0.1, timeout: 1))
        // The first try is carried out but its answer never arrives.
        try x.control("POST", "/sim/faults", #"{"kind":"hang","count":1,"path":"/Contacts","method":"POST","delayMs":3000,"process":true}"#)
        var contact = Contact()
        contact.name = "Once Only Ltd"
        let saved = try client.saveContacts(tenantId: x.tenant, [contact], idempotencyKey: "visit-42-contact")
        #expect(saved.count == 1 && saved.first?.name == "Once Only Ltd")
        let all = try client.allContacts(tenantId: x.tenant, includeArchived: true, modifiedSince: nil)
        #expect(all.filter { $0.name == "Once Only Ltd" }.count == 1)
        let keys = try x.loggedCalls(path: "/Contacts").filter { $0["method"]?.stringValue == "POST" }.map { $0["idempotencyKey"]?.stringValue }
        #expect(keys.count == 2 && Set(keys) == ["visit-42-contact"])
    }
}
