import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// The scopes an accounting endpoint accepts (broad and granular).
enum ScopeNeed {
    case organisation, contactsRead, contactsWrite, itemsRead, itemsWrite, invoicesRead, invoicesWrite

    var accepted: [String] {
        switch self {
        case .organisation: return ["accounting.settings", "accounting.settings.read"]
        case .contactsRead: return ["accounting.contacts", "accounting.contacts.read"]
        case .contactsWrite: return ["accounting.contacts"]
        case .itemsRead: return ["accounting.settings", "accounting.settings.read", "accounting.invoices", "accounting.invoices.read"]
        case .itemsWrite: return ["accounting.settings", "accounting.invoices"]
        case .invoicesRead: return ["accounting.transactions", "accounting.transactions.read", "accounting.invoices", "accounting.invoices.read"]
        case .invoicesWrite: return ["accounting.transactions", "accounting.invoices"]
        }
    }

    var isWrite: Bool { [.contactsWrite, .itemsWrite, .invoicesWrite].contains(self) }
}

/// Headers worth keeping in the call log (Authorization only as present/absent).
private let loggedHeaders = ["xero-tenant-id", "Idempotency-Key", "If-Modified-Since", "Content-Type", "Accept",
                             "User-Agent", "Authorization"]

extension Simulator {
    static let maxPostBytes = 3_500_000
    static let idempotencyTTL: Int64 = 6 * 60 * 1000

    func logRecord(_ r: Request, sequence: Int, at: Int64) -> CallRecord {
        var headers: [(String, String)] = []
        for name in loggedHeaders {
            guard let v = r.headers[name] else { continue }
            if name == "Authorization" {
                headers.append((name, v.hasPrefix("Bearer ") ? "Bearer (redacted)" : "(redacted)"))
            } else {
                headers.append((name, v))
            }
        }
        let limit = 16 * 1024
        let body = r.body.count <= limit ? String(decoding: r.body, as: UTF8.self)
            : String(decoding: r.body.prefix(limit), as: UTF8.self) + "…(truncated)"
        return CallRecord(sequence: sequence, at: at, method: r.method, path: r.path,
                          query: r.query.map { "\(FormCoding.encode($0.name))=\(FormCoding.encode($0.value))" }.joined(separator: "&"),
                          headers: headers, body: body, bodyBytes: r.body.count)
    }

    /// Runs a non-accounting call (identity, connections): a thrown `XeroError` is its answer;
    /// either way the call is logged.
    func logged(_ r: Request, _ body: () throws -> Response) -> Response {
        let started = ContinuousClock.now
        let response: Response
        do { response = try body() } catch { response = XeroError.response(for: error) }
        world.withLock { w in
            w.callSequence += 1
            var rec = logRecord(r, sequence: w.callSequence, at: clock.now())
            rec.status = response.status
            rec.durationMs = started.duration(to: .now).milliseconds
            rec.responseBody = String(decoding: response.body.prefix(2048), as: UTF8.self)
            w.append(rec)
        }
        return response
    }

    /// Registers Xero's accounting endpoints.
    func addAccountingRoutes(_ router: inout Router) {
        func add(_ method: String, _ path: String, _ scope: ScopeNeed,
                 _ handler: @escaping @Sendable (CallContext) throws -> Response) {
            router.add(method, "/api.xro/2.0" + path, on: self) { s, r in s.accounting(r, scope, handler) }
        }
        add("GET", "/Organisation", .organisation, Simulator.getOrganisation)
        add("GET", "/Contacts", .contactsRead, Simulator.getContacts)
        add("GET", "/Contacts/{id}", .contactsRead, Simulator.getContact)
        add("PUT", "/Contacts", .contactsWrite) { try Simulator.writeContacts($0, put: true, pathId: nil) }
        add("POST", "/Contacts", .contactsWrite) { try Simulator.writeContacts($0, put: false, pathId: nil) }
        add("POST", "/Contacts/{id}", .contactsWrite) { ctx in
            try Simulator.writeContacts(ctx, put: false, pathId: try ctx.pathRecord(Contact.self).contactID)
        }
        add("GET", "/Items", .itemsRead, Simulator.getItems)
        add("GET", "/Items/{id}", .itemsRead, Simulator.getItem)
        add("PUT", "/Items", .itemsWrite) { try Simulator.writeItems($0, put: true, pathId: nil) }
        add("POST", "/Items", .itemsWrite) { try Simulator.writeItems($0, put: false, pathId: nil) }
        add("POST", "/Items/{id}", .itemsWrite) { ctx in
            try Simulator.writeItems(ctx, put: false, pathId: try ctx.pathRecord(Item.self).itemID)
        }
        add("DELETE", "/Items/{id}", .itemsWrite, Simulator.deleteItem)
        add("GET", "/Invoices", .invoicesRead, Simulator.getInvoices)
        add("GET", "/Invoices/{id}", .invoicesRead, Simulator.getInvoice)
        add("PUT", "/Invoices", .invoicesWrite) { try Simulator.writeInvoices($0, put: true, pathId: nil) }
        add("POST", "/Invoices", .invoicesWrite) { try Simulator.writeInvoices($0, put: false, pathId: nil) }
        add("POST", "/Invoices/{id}", .invoicesWrite) { ctx in
            try Simulator.writeInvoices(ctx, put: false, pathId: try ctx.pathRecord(Invoice.self).invoiceID)
        }
    }

    /// The common path of every accounting call: token, tenant, scope, limits, faults,
    /// idempotency, the handler (a thrown `XeroError` is its answer), XML unless JSON was
    /// asked for, rate headers, the call log and webhooks.
    func accounting(_ request: Request, _ scope: ScopeNeed, _ handler: (CallContext) throws -> Response) -> HandlerResult {
        let started = ContinuousClock.now
        var delaySeconds = 0.0
        var releaseTenant: String?
        var response: Response = world.withLock { w in
            let now = clock.now()
            w.callSequence += 1
            var record = logRecord(request, sequence: w.callSequence, at: now)
            func finish(_ r: Response) -> Response {
                let r = Reply.negotiated(r, for: request)
                record.status = r.status
                record.durationMs = started.duration(to: .now).milliseconds
                record.responseBody = String(decoding: r.body.prefix(2048), as: UTF8.self)
                w.append(record)
                return r
            }

            // Token, tenant, scope.
            let org: Organisation
            do {
                let grant = try bearerGrant(w, request, now: now)
                guard let tenantHeader = request.headers["xero-tenant-id"], let found = w.org(tenantHeader),
                      w.connection(loginId: grant.loginId, clientId: grant.clientId, tenantId: found.tenantId) != nil else {
                    throw XeroError.forbidden()
                }
                record.tenantId = found.tenantId
                guard scope.accepted.contains(where: grant.scope.contains) else { throw XeroError.forbidden() }
                org = found
            } catch {
                return finish(XeroError.response(for: error))
            }

            // Limits.
            var limitHeaders: [(String, String)] = []
            if w.limits.enabled {
                switch checkLimits(w, org, now: now) {
                case .breach(let problem, let retryAfter):
                    record.rateLimitProblem = problem
                    var r = Response(status: 429, headers: HTTPHeaders([("Content-Type", "text/plain; charset=utf-8")]),
                                     body: Array("Rate limit exceeded".utf8))
                    if let retryAfter { r.headers.add("Retry-After", String(retryAfter)) }
                    r.headers.add("X-Rate-Limit-Problem", problem)
                    for h in rateHeaders(w, org, now: now) { r.headers.add(h.0, h.1) }
                    return finish(r)
                case .allowed(let headers):
                    limitHeaders = headers
                }
            } else {
                limitHeaders = rateHeaders(w, org, now: now)
            }
            org.rate.inFlight += 1
            releaseTenant = org.tenantId
            if w.limits.latencyMs > 0 { delaySeconds = Double(w.limits.latencyMs) / 1000 }

            // Faults.
            let fault = takeFault(w, request, tenantId: org.tenantId)
            if let fault {
                record.fault = fault.kind.rawValue
                if fault.kind == .hang { delaySeconds = max(delaySeconds, Double(fault.delayMs) / 1000) }
            }

            var result: Response
            if request.body.count > Simulator.maxPostBytes {
                result = Response.text(413, "The request exceeds the maximum size of 3.5 MB")
            } else if let fault, !fault.process {
                result = faultResponse(fault)
            } else {
                let ctx = CallContext(sim: self, request: request, world: w, org: org, now: now)
                result = idempotent(ctx, write: scope.isWrite) { try handler(ctx) }
                emitEvents(w, ctx.events)
                if let fault, fault.kind != .hang { result = faultResponse(fault) }
            }
            for h in limitHeaders where result.headers[h.0] == nil { result.headers.add(h.0, h.1) }
            if delaySeconds == 0 {
                org.rate.inFlight -= 1
                releaseTenant = nil
            }
            return finish(result)
        }
        if response.status == 413 { response.headers.add("Connection", "close") }
        guard delaySeconds > 0 else { return .respond(response) }
        let answer = response
        let tenant = releaseTenant
        let delay = delaySeconds
        return .deferred { [self] responder in
            scheduler.after(delay) { [self] in
                if let tenant {
                    world.withLock { w in
                        if let org = w.orgs[tenant], org.rate.inFlight > 0 { org.rate.inFlight -= 1 }
                    }
                }
                responder.respond(answer)
            }
        }
    }
}
