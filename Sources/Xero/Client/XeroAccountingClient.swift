import Foundation
import HTTPClient
import StrictJSON

/// Supplies access tokens for a tenant's calls (R4 lives behind it, in Sync).
public protocol XeroAccessTokenSource: Sendable {
    /// A usable access token for `tenantId`. `rejected` is a token Xero has just answered 401
    /// to: return a fresher one (refreshing if need be) or throw.
    func accessToken(for tenantId: String, rejected: String?) throws(XeroAPIError) -> String
}

/// The accounting calls Sync makes, as a protocol so Sync can be tested against a fake Xero.
public protocol XeroAccounting: Sendable {
    /// One page of contacts (1-based `page`, `pageSize` up to 1000).
    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Contact], pagination: Pagination?)
    /// The contacts with these ids (archived ones included).
    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Contact]
    /// The active contacts named `name` (Xero's names are unique among active contacts).
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Contact]
    /// The active contacts whose `ContactNumber` ("Contact Code", set only through the API) is `number`.
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Contact]
    /// The items named `name` (R14: a material going to Xero links to a same-named item).
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item]
    /// Creates or updates items in one call (`summarizeErrors=false`, 4 decimals).
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item]
    /// Every item (Items are not paged).
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item]
    /// Creates or updates contacts in one call (`summarizeErrors=false`): each element comes back
    /// with its own `ValidationErrors` when Xero refused it.
    func saveContacts(tenantId: String, _ contacts: [Contact], idempotencyKey: String) throws(XeroAPIError) -> [Contact]
    /// The invoices with these ids (INVOICE webhooks, R15): their number and status, no lines.
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice]
    /// The invoices whose `Reference` is `reference` (R15: an invoice made before is found
    /// before another is created).
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice]
    /// Creates invoices in one call (`PUT`, `summarizeErrors=false`, 4 decimals): each comes
    /// back with its own `ValidationErrors` when Xero refused it.
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice]
}

extension XeroAccounting {
    /// Walks the contacts page by page, handing each page to `body`: as many pages as Xero's
    /// `pagination` says, or until a page comes back shorter than Xero's default 100 (whichever
    /// way Xero honours `pageSize`), or repeats the page before (a server ignoring `page`).
    public func forEachContactsPage(tenantId: String, includeArchived: Bool, modifiedSince: Int64?, pageSize: Int = 1000,
                                    _ body: ([Contact]) throws -> Void) throws {
        var page = 1
        var lastPageFirstId: String?
        while true {
            let (contacts, pagination) = try contactsPage(tenantId: tenantId, page: page, pageSize: pageSize,
                                                          includeArchived: includeArchived, modifiedSince: modifiedSince)
            if let first = contacts.first?.contactID, first == lastPageFirstId { return }
            try body(contacts)
            if let pagination, pagination.pageCount > 0 {
                if page >= pagination.pageCount { return }
            } else if contacts.count < min(pageSize, 100) {
                return
            }
            lastPageFirstId = contacts.first?.contactID
            page += 1
        }
    }

    /// Every contact (see `forEachContactsPage`).
    public func allContacts(tenantId: String, includeArchived: Bool, modifiedSince: Int64?,
                            pageSize: Int = 1000) throws -> [Contact] {
        var all: [Contact] = []
        try forEachContactsPage(tenantId: tenantId, includeArchived: includeArchived, modifiedSince: modifiedSince,
                                pageSize: pageSize) { all += $0 }
        return all
    }
}

/// Xero's accounting API (`/api.xro/2.0/`) on libcurl, within Xero's limits (R18): every call
/// takes a slot from the rate limiter, sends `Accept: application/json`, asks for gzip, carries
/// the tenant header and a bearer token, and is recorded. 429s wait `Retry-After`; timeouts,
/// transport failures and 5xx are retried a bounded number of times with jittered exponential
/// backoff; a 401 gets one fresh token. Writes carry the caller's `Idempotency-Key` on every
/// try, so a retry can never create a second record. Blocking: call from worker threads.
public final class XeroAccountingClient: XeroAccounting {
    public let endpoints: XeroEndpoints
    let http: HTTPClient
    public let limiter: XeroRateLimiter
    let tokens: any XeroAccessTokenSource
    let retry: XeroRetryPolicy
    let observer: XeroCallObserver?

    public init(endpoints: XeroEndpoints, tokens: any XeroAccessTokenSource, limiter: XeroRateLimiter = XeroRateLimiter(),
                http: HTTPClient = HTTPClient(), retry: XeroRetryPolicy = XeroRetryPolicy(), observer: XeroCallObserver? = nil) {
        self.endpoints = endpoints
        self.tokens = tokens
        self.limiter = limiter
        self.http = http
        self.retry = retry
        self.observer = observer
    }

    static let base = "/api.xro/2.0"

    public func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                             modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Contact], pagination: Pagination?) {
        var query = [("page", String(page)), ("pageSize", String(pageSize))]
        if includeArchived { query.append(("includeArchived", "true")) }
        let envelope: ResponseEnvelope<Contact> = try get(tenantId, "/Contacts", query, modifiedSince: modifiedSince)
        return (envelope.elements, envelope.pagination)
    }

    public func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Contact] {
        guard !ids.isEmpty else { return [] }
        var all: [Contact] = []
        // Keep URLs short: Xero's front end refuses very long query strings.
        var start = 0
        while start < ids.count {
            let chunk = ids[start..<min(ids.count, start + 50)]
            let envelope: ResponseEnvelope<Contact> = try get(
                // `page` makes Xero include MergedToContactID (an unpaged list leaves it out).
                tenantId, "/Contacts", [("IDs", chunk.joined(separator: ",")), ("includeArchived", "true"), ("page", "1")],
                modifiedSince: nil)
            all += envelope.elements
            start += 50
        }
        return all
    }

    public func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Contact] {
        let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let envelope: ResponseEnvelope<Contact> = try get(tenantId, "/Contacts", [("where", "Name==\"\(quoted)\"")], modifiedSince: nil)
        return envelope.elements
    }

    public func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Contact] {
        let quoted = number.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let envelope: ResponseEnvelope<Contact> = try get(tenantId, "/Contacts", [("where", "ContactNumber==\"\(quoted)\"")], modifiedSince: nil)
        return envelope.elements
    }

    public func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] {
        let quoted = name.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let envelope: ResponseEnvelope<Item> = try get(tenantId, "/Items", [("where", "Name==\"\(quoted)\""), ("unitdp", "4")],
                                                       modifiedSince: nil)
        return envelope.elements
    }

    public func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] {
        let body = JSON.object([("Items", .array(items.map { $0.json(.fourPlaces) }))])
        let response = try send(tenantId: tenantId, method: "POST", path: "/Items", query: [("summarizeErrors", "false"), ("unitdp", "4")],
                                body: XeroWire.bytes(body), idempotencyKey: idempotencyKey, modifiedSince: nil)
        let envelope: ResponseEnvelope<Item> = try XeroAccountingClient.decode(response)
        return envelope.elements
    }

    public func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] {
        let envelope: ResponseEnvelope<Item> = try get(tenantId, "/Items", [("unitdp", "4")], modifiedSince: modifiedSince)
        return envelope.elements
    }

    public func saveContacts(tenantId: String, _ contacts: [Contact], idempotencyKey: String) throws(XeroAPIError) -> [Contact] {
        let body = JSON.object([("Contacts", .array(contacts.map { $0.json(.standard) }))])
        let response = try send(tenantId: tenantId, method: "POST", path: "/Contacts", query: [("summarizeErrors", "false")],
                                body: XeroWire.bytes(body), idempotencyKey: idempotencyKey, modifiedSince: nil)
        let envelope: ResponseEnvelope<Contact> = try XeroAccountingClient.decode(response)
        return envelope.elements
    }

    // MARK: - transport

    func get<M: XeroModel>(_ tenantId: String, _ path: String, _ query: [(String, String)],
                           modifiedSince: Int64?) throws(XeroAPIError) -> ResponseEnvelope<M> {
        let response = try send(tenantId: tenantId, method: "GET", path: path, query: query, body: nil,
                                idempotencyKey: nil, modifiedSince: modifiedSince)
        return try XeroAccountingClient.decode(response)
    }

    static func decode<M: XeroModel>(_ response: ClientResponse) throws(XeroAPIError) -> ResponseEnvelope<M> {
        do {
            return try ResponseEnvelope<M>(json: JSON.parse(response.body))
        } catch {
            throw XeroAPIError(.unreadable, status: response.status, message: "\(M.collectionKey): \(error)")
        }
    }

    /// One logical call: as many tries as the retry policy allows; returns a 2xx answer.
    public func send(tenantId: String, method: String, path: String, query: [(String, String)], body: [UInt8]?,
                     idempotencyKey: String?, modifiedSince: Int64?) throws(XeroAPIError) -> ClientResponse {
        let fullPath = XeroAccountingClient.base + path
        var url = endpoints.api + fullPath
        if !query.isEmpty { url += "?" + FormEncoding.encode(query) }
        var headers: [(name: String, value: String)] = [("Accept", "application/json"), ("xero-tenant-id", tenantId)]
        if body != nil { headers.append(("Content-Type", "application/json")) }
        if let idempotencyKey { headers.append(("Idempotency-Key", idempotencyKey)) }
        if let modifiedSince {
            headers.append(("If-Modified-Since", String(XeroDate.formatISO(milliseconds: modifiedSince).prefix(19))))
        }

        var attempt = 0, failures = 0, throttled = 0
        var rejected: String?
        var refreshedOnce = false
        while true {
            attempt += 1
            let token = try tokens.accessToken(for: tenantId, rejected: rejected)
            let permit = try limiter.acquire(tenantId, maxWait: retry.maxLimiterWait)
            let request = ClientRequest(method: method, url: url, headers: headers + [("Authorization", "Bearer \(token)")],
                                        body: body ?? [], timeout: retry.timeout, acceptEncoding: true)
            let result = http.xeroTry(request, tenantId: tenantId, path: fullPath, attempt: attempt, observer: observer)
            let response = try? result.get()
            var failure: XeroAPIError?
            if case .failure(let e) = result { failure = e }
            limiter.release(permit, status: response?.status ?? 0) { response?.header($0) }

            if let response {
                switch response.status {
                case 200..<300:
                    return response
                case 401 where !refreshedOnce:
                    refreshedOnce = true
                    rejected = token
                    continue
                case 429:
                    throttled += 1
                    let after = response.header("Retry-After").flatMap(Double.init)
                    guard throttled <= retry.rateLimitedAttempts else {
                        throw XeroAPIError(.rateLimited, status: 429, message: "Xero kept answering 429 (\(response.header("X-Rate-Limit-Problem") ?? "limit"))",
                                           retryAfter: after)
                    }
                    continue  // the limiter now holds the tenant back for Retry-After
                case 500..<600:
                    failure = XeroAPIError(.server, status: response.status, message: "Xero answered \(response.status)")
                default:
                    throw XeroAccountingClient.failure(response)
                }
            }
            failures += 1
            guard failures < retry.attempts else { throw failure! }
            Thread.sleep(forTimeInterval: retry.delay(beforeRetry: failures))
        }
    }

    static func failure(_ response: ClientResponse) -> XeroAPIError {
        let json = try? JSON.parse(response.body)
        switch response.status {
        case 400:
            var messages: [String] = []
            if let json, let v = try? ValidationException(json: json) {
                messages = v.validationMessages
            }
            // A ValidationException says `Message`; a problem answer (a reused Idempotency-Key) `Detail`.
            let message = json?["Message"]?.stringValue ?? json?["Detail"]?.stringValue ?? "Xero refused the request"
            return XeroAPIError(.validation, status: 400, message: message, validationErrors: messages)
        case 401:
            return XeroAPIError(.unauthorized, status: 401, message: json?["Detail"]?.stringValue ?? "Xero refused the access token")
        case 403:
            return XeroAPIError(.forbidden, status: 403, message: json?["Detail"]?.stringValue ?? "this connection may not do that")
        case 404:
            return XeroAPIError(.notFound, status: 404, message: "Xero has no such resource")
        default:
            return XeroAPIError(.unexpected, status: response.status, message: "Xero answered \(response.status)")
        }
    }
}
