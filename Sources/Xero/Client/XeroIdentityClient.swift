import Crypto
import Foundation
import HTTPClient
import StrictJSON

/// A Xero app's OAuth 2.0 credentials and what it asks for.
public struct XeroApp: Sendable {
    public var clientId: String
    public var clientSecret: String
    public var redirectURI: String
    /// Space-separated scopes.
    public var scopes: String

    public init(clientId: String, clientSecret: String, redirectURI: String, scopes: String) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.redirectURI = redirectURI
        self.scopes = scopes
    }
}

/// Xero Identity (FACTS §2): the authorize URL, the token endpoint (code exchange and refresh),
/// revocation and `/connections`. Blocking: call it from worker threads.
public final class XeroIdentityClient: Sendable {
    public let endpoints: XeroEndpoints
    public let app: XeroApp
    let http: HTTPClient
    let retry: XeroRetryPolicy
    let observer: XeroCallObserver?

    public init(endpoints: XeroEndpoints, app: XeroApp, http: HTTPClient = HTTPClient(),
                retry: XeroRetryPolicy = XeroRetryPolicy(), observer: XeroCallObserver? = nil) {
        self.endpoints = endpoints
        self.app = app
        self.http = http
        self.retry = retry
        self.observer = observer
    }

    /// Where the admin's browser goes to consent.
    public func authorizeURL(state: String) -> String {
        endpoints.login + "/identity/connect/authorize?" + FormEncoding.encode([
            ("response_type", "code"), ("client_id", app.clientId), ("redirect_uri", app.redirectURI),
            ("scope", app.scopes), ("state", state),
        ])
    }

    /// Exchanges an authorization code for tokens (not retried: a code is single use).
    public func exchange(code: String) throws(XeroAPIError) -> XeroTokenResponse {
        try tokenCall([("grant_type", "authorization_code"), ("code", code), ("redirect_uri", app.redirectURI)],
                      retries: false)
    }

    /// A new access token and the rotated refresh token. Retried on timeouts and 5xx: Xero keeps
    /// the previous refresh token valid for 30 minutes, so a lost answer can be asked for again.
    public func refresh(_ refreshToken: String) throws(XeroAPIError) -> XeroTokenResponse {
        try tokenCall([("grant_type", "refresh_token"), ("refresh_token", refreshToken)], retries: true)
    }

    /// Revokes the grant (and with it every connection it made).
    public func revoke(_ refreshToken: String) throws(XeroAPIError) {
        let response = try send(method: "POST", url: endpoints.identity + "/connect/revocation", path: "/connect/revocation",
                                headers: clientAuth + [("Content-Type", "application/x-www-form-urlencoded")],
                                body: Array(FormEncoding.encode([("token", refreshToken)]).utf8), retries: true)
        guard response.status == 200 else { throw XeroIdentityClient.failure(response) }
    }

    /// The organisations this grant reaches; with `authEventId`, only those of that consent.
    public func connections(accessToken: String, authEventId: String?) throws(XeroAPIError) -> [XeroConnection] {
        var url = endpoints.api + "/connections"
        if let authEventId { url += "?" + FormEncoding.encode([("authEventId", authEventId)]) }
        let response = try send(method: "GET", url: url, path: "/connections",
                                headers: [("Authorization", "Bearer \(accessToken)"), ("Accept", "application/json")],
                                body: [], retries: true)
        guard response.status == 200 else { throw XeroIdentityClient.failure(response) }
        do {
            guard let list = try JSON.parse(response.body).arrayValue else {
                throw XeroAPIError(.unreadable, status: 200, message: "connections is not a list")
            }
            return try list.map { v throws(XeroModelError) in try XeroConnection(json: v) }
        } catch let e as XeroAPIError {
            throw e
        } catch {
            throw XeroAPIError(.unreadable, status: 200, message: "connections: \(error)")
        }
    }

    /// The `authentication_event_id` claim of a Xero access token (a JWT), unverified: it only
    /// narrows `/connections` to one consent.
    public static func authEventId(fromAccessToken token: String) -> String? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        var b64 = parts[1].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while b64.count % 4 != 0 { b64 += "=" }
        guard let bytes = Base64.decode(b64), let claims = try? JSON.parse(bytes) else { return nil }
        return claims["authentication_event_id"]?.stringValue
    }

    // MARK: - transport

    private var clientAuth: [(String, String)] {
        [("Authorization", "Basic " + Base64.encode(Array("\(app.clientId):\(app.clientSecret)".utf8)))]
    }

    private func tokenCall(_ form: [(String, String)], retries: Bool) throws(XeroAPIError) -> XeroTokenResponse {
        let response = try send(method: "POST", url: endpoints.identity + "/connect/token", path: "/connect/token",
                                headers: clientAuth + [("Content-Type", "application/x-www-form-urlencoded"),
                                                       ("Accept", "application/json")],
                                body: Array(FormEncoding.encode(form).utf8), retries: retries)
        guard response.status == 200 else { throw XeroIdentityClient.failure(response) }
        do {
            return try XeroTokenResponse(json: JSON.parse(response.body))
        } catch {
            throw XeroAPIError(.unreadable, status: 200, message: "token response: \(error)")
        }
    }

    private func send(method: String, url: String, path: String, headers: [(String, String)], body: [UInt8],
                      retries: Bool) throws(XeroAPIError) -> ClientResponse {
        var attempt = 0
        while true {
            attempt += 1
            let request = ClientRequest(method: method, url: url, headers: headers.map { (name: $0.0, value: $0.1) },
                                        body: body, timeout: retry.timeout, acceptEncoding: true)
            let result = http.xeroTry(request, tenantId: nil, path: path, attempt: attempt, observer: observer)
            let response = try? result.get()
            var failure: XeroAPIError?
            if case .failure(let e) = result { failure = e }
            if let response, response.status < 500 { return response }
            let error = failure ?? XeroAPIError(.server, status: response?.status ?? 0, message: "Xero Identity answered \(response?.status ?? 0)")
            guard retries, attempt < retry.attempts else { throw error }
            Thread.sleep(forTimeInterval: retry.delay(beforeRetry: attempt))
        }
    }

    static func failure(_ response: ClientResponse) -> XeroAPIError {
        let json = try? JSON.parse(response.body)
        let oauthError = json?["error"]?.stringValue
        if oauthError == "invalid_grant" {
            return XeroAPIError(.invalidGrant, status: response.status, message: "Xero refused the grant (invalid_grant)")
        }
        let detail = oauthError ?? json?["Detail"]?.stringValue ?? json?["detail"]?.stringValue ?? "no detail"
        switch response.status {
        case 401: return XeroAPIError(.unauthorized, status: 401, message: "Xero Identity refused the credentials: \(detail)")
        case 403: return XeroAPIError(.forbidden, status: 403, message: "forbidden: \(detail)")
        case 404: return XeroAPIError(.notFound, status: 404, message: "not found")
        default: return XeroAPIError(.unexpected, status: response.status, message: "Xero Identity answered \(response.status): \(detail)")
        }
    }
}
