import Crypto
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

/// A webhook-worthy change.
struct SimEvent {
    let tenantId: String
    let category: String  // CONTACT, INVOICE
    let type: String  // CREATE, UPDATE
    let resourceId: String
    let at: Int64
}

/// One accounting call being handled, under the world lock.
final class CallContext {
    let sim: Simulator
    let request: Request
    let params: [String: String]
    let world: World
    let org: Organisation
    let now: Int64
    let options: XeroEncodingOptions
    var events: [SimEvent] = []

    init(sim: Simulator, request: Request, params: [String: String], world: World, org: Organisation, now: Int64) {
        self.sim = sim
        self.request = request
        self.params = params
        self.world = world
        self.org = org
        self.now = now
        options = XeroEncodingOptions(unitDecimalPlaces: Int(queryValue(request, "unitdp") ?? "") ?? 2)
    }

    func query(_ name: String) -> String? { queryValue(request, name) }

    /// `summarizeErrors` (default true).
    var summarizeErrors: Bool { parseBool(query("summarizeErrors")) ?? true }

    func envelope<M: XeroModel>(_ elements: [M], pagination: Pagination? = nil) -> Response {
        let env = ResponseEnvelope(id: Ids.uuid(), providerName: sim.configuration.appName, dateTimeUTC: now,
                                   pagination: pagination, elements: elements)
        return Reply.xeroJSON(200, env.json(options))
    }

    func emit(_ category: String, _ type: String, _ resourceId: String) {
        events.append(SimEvent(tenantId: org.tenantId, category: category, type: type, resourceId: resourceId, at: now))
    }

    /// The JSON body, or a Xero `PostDataInvalidException` answer.
    func bodyJSON() -> Outcome<JSON, ResponseError> {
        guard !request.body.isEmpty else {
            return .failure(ResponseError(Errors.postDataInvalid("The request body is empty.")))
        }
        do {
            return .success(try JSON.parse(request.body))
        } catch {
            return .failure(ResponseError(Errors.postDataInvalid("JSON for post data was invalid, \(error.message) at position \(error.offset).")))
        }
    }

    /// The elements of `{"Contacts": [...]}` (or one bare object), decoded.
    func elements<M: XeroModel>(_ type: M.Type) -> Outcome<[M], ResponseError> {
        let json: JSON
        switch bodyJSON() {
        case .failure(let e): return .failure(e)
        case .success(let j): json = j
        }
        var items: [JSON]
        if case .object = json, let list = json[M.collectionKey] ?? (try? JSONFields(json))?.value(M.collectionKey) {
            guard case .array(let a) = list else {
                return .failure(ResponseError(Errors.postDataInvalid("\(M.collectionKey) must be an array.")))
            }
            items = a
        } else if case .object = json {
            items = [json]
        } else if case .array(let a) = json {
            items = a
        } else {
            return .failure(ResponseError(Errors.postDataInvalid("The request body must be a JSON object.")))
        }
        var out: [M] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            do {
                out.append(try M(json: item))
            } catch {
                return .failure(ResponseError(Errors.postDataInvalid(
                    "JSON for post data was invalid, \(M.collectionKey)[\(n)].\(error.field) \(error.message).")))
            }
        }
        return .success(out)
    }
}

struct ResponseError: Error {
    let response: Response
    init(_ r: Response) { response = r }
}

/// Xero's error bodies.
enum Errors {
    static func validation(_ elements: [JSON]) -> Response {
        Reply.xeroJSON(400, ValidationException(elements: elements).json)
    }

    static func postDataInvalid(_ message: String) -> Response {
        Reply.xeroJSON(400, .object([("ErrorNumber", .number(14)), ("Type", .string("PostDataInvalidException")),
                                     ("Message", .string(message))]))
    }

    static func queryParse(_ message: String) -> Response {
        Reply.xeroJSON(400, .object([("ErrorNumber", .number(16)), ("Type", .string("QueryParseException")),
                                     ("Message", .string(message))]))
    }

    static func problem(_ status: Int, _ title: String, _ detail: String) -> Response {
        Reply.xeroJSON(status, XeroProblem(title: title, status: status, detail: detail, instance: Ids.uuid()).json)
    }

    static func unauthorized(_ detail: String) -> Response {
        var r = problem(401, "Unauthorized", detail)
        r.headers.add("WWW-Authenticate", "Bearer error=\"invalid_token\"")
        return r
    }

    static func forbidden() -> Response { problem(403, "Forbidden", "AuthenticationUnsuccessful") }
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

    /// Logs a finished non-accounting call (identity, connections).
    func logSimple(_ r: Request, _ response: Response, started: Double) {
        world.withLock { w in
            w.callSequence += 1
            var rec = logRecord(r, sequence: w.callSequence, at: clock.now())
            rec.status = response.status
            rec.durationMs = (monotonicNow() - started) * 1000
            rec.responseBody = String(decoding: response.body.prefix(2048), as: UTF8.self)
            w.append(rec)
        }
    }

    /// The common path of every accounting call: token, tenant, scope, faults, limits,
    /// idempotency, the handler, rate headers, the call log and webhooks.
    func accounting(_ request: Request, _ params: [String: String], _ scope: ScopeNeed,
                    _ handler: (CallContext) -> Response) -> HandlerResult {
        let started = monotonicNow()
        var delaySeconds = 0.0
        var releaseTenant: String?
        var response: Response = world.withLock { w in
            let now = clock.now()
            w.callSequence += 1
            var record = logRecord(request, sequence: w.callSequence, at: now)
            func finish(_ r: Response) -> Response {
                record.status = r.status
                record.durationMs = (monotonicNow() - started) * 1000
                record.responseBody = String(decoding: r.body.prefix(2048), as: UTF8.self)
                w.append(record)
                return r
            }

            // Token.
            let grant: Grant
            switch bearerGrant(w, request, now: now) {
            case .failure(let e): return finish(e)
            case .success(let g): grant = g
            }
            // Tenant.
            guard let tenantHeader = request.headers["xero-tenant-id"], let org = w.org(tenantHeader),
                  w.connection(loginId: grant.loginId, clientId: grant.clientId, tenantId: org.tenantId) != nil else {
                return finish(Errors.forbidden())
            }
            record.tenantId = org.tenantId
            // Scope.
            guard scope.accepted.contains(where: grant.scope.contains) else { return finish(Errors.forbidden()) }

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
                let ctx = CallContext(sim: self, request: request, params: params, world: w, org: org, now: now)
                result = idempotent(ctx, write: scope.isWrite) { handler(ctx) }
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

    /// Replays the answer of an earlier call with the same `Idempotency-Key` and body; a reused
    /// key with a different request is refused.
    func idempotent(_ ctx: CallContext, write: Bool, _ body: () -> Response) -> Response {
        let method = ctx.request.method
        guard write, method == "POST" || method == "PUT" || method == "PATCH",
              let key = ctx.request.headers["Idempotency-Key"], !key.isEmpty else {
            return body()
        }
        guard key.utf8.count <= 128 else {
            return Errors.postDataInvalid("The Idempotency-Key header must be 128 characters or fewer.")
        }
        let org = ctx.org
        org.idempotency = org.idempotency.filter { $0.value.expires > ctx.now }
        var material = Array("\(method) \(ctx.request.path.lowercased())?".utf8)
        for q in ctx.request.query.sorted(by: { ($0.name, $0.value) < ($1.name, $1.value) }) {
            material += Array("\(q.name)=\(q.value)&".utf8)
        }
        material += [0]
        material += ctx.request.body
        let fingerprint = Crypto.sha256(material)
        if let entry = org.idempotency[key] {
            if entry.fingerprint == fingerprint { return entry.response }
            return Errors.problem(400, "Bad Request",
                                  "The Idempotency-Key '\(key)' has already been used with a different request.")
        }
        let r = body()
        org.idempotency[key] = IdempotencyEntry(fingerprint: fingerprint, response: r, expires: ctx.now + Simulator.idempotencyTTL)
        return r
    }

    // MARK: - limits

    enum LimitCheck {
        case allowed([(String, String)])
        case breach(String, Int?)
    }

    func checkLimits(_ w: World, _ org: Organisation, now: Int64) -> LimitCheck {
        let l = w.limits
        rollWindows(w, org, now: now)
        if org.rate.dayCount >= l.perDay {
            return .breach("day", Int((org.rate.dayStart + 86_400_000 - now + 999) / 1000))
        }
        if org.rate.minuteCount >= l.perMinute {
            return .breach("minute", max(1, Int((org.rate.minuteStart + 60_000 - now + 999) / 1000)))
        }
        if w.appMinuteCount >= l.appPerMinute {
            return .breach("appminute", nil)
        }
        if org.rate.inFlight >= l.concurrent {
            return .breach("concurrent", nil)
        }
        if org.rate.minuteCount == 0 { org.rate.minuteStart = now }
        if org.rate.dayCount == 0 { org.rate.dayStart = now }
        if w.appMinuteCount == 0 { w.appMinuteStart = now }
        org.rate.minuteCount += 1
        org.rate.dayCount += 1
        w.appMinuteCount += 1
        return .allowed(rateHeaders(w, org, now: now))
    }

    func rollWindows(_ w: World, _ org: Organisation, now: Int64) {
        if org.rate.minuteCount > 0 && now >= org.rate.minuteStart + 60_000 { org.rate.minuteCount = 0 }
        if org.rate.dayCount > 0 && now >= org.rate.dayStart + 86_400_000 { org.rate.dayCount = 0 }
        if w.appMinuteCount > 0 && now >= w.appMinuteStart + 60_000 { w.appMinuteCount = 0 }
    }

    func rateHeaders(_ w: World, _ org: Organisation, now: Int64) -> [(String, String)] {
        rollWindows(w, org, now: now)
        let l = w.limits
        return [("X-DayLimit-Remaining", String(max(0, l.perDay - org.rate.dayCount))),
                ("X-MinLimit-Remaining", String(max(0, l.perMinute - org.rate.minuteCount))),
                ("X-AppMinLimit-Remaining", String(max(0, l.appPerMinute - w.appMinuteCount)))]
    }

    // MARK: - faults

    func takeFault(_ w: World, _ r: Request, tenantId: String) -> Fault? {
        guard let index = w.faults.firstIndex(where: { f in
            !f.isWebhook && f.remaining > 0
                && (f.tenantId == nil || f.tenantId == tenantId)
                && (f.method == nil || f.method == r.method)
                && (f.pathContains == nil || r.path.lowercased().contains(f.pathContains!.lowercased()))
        }) else { return nil }
        let fault = w.faults[index]
        w.faults[index].remaining -= 1
        if w.faults[index].remaining <= 0 { w.faults.remove(at: index) }
        return fault
    }

    func faultResponse(_ f: Fault) -> Response {
        switch f.kind {
        case .status500:
            return Reply.xeroJSON(500, .object([
                ("Title", .string("An error occurred")),
                ("Detail", .string("An unhandled error occurred in Xero. Please try again and contact Xero if problems persist.")),
                ("Status", .number(500)), ("Instance", .string(Ids.uuid()))]))
        case .status503:
            return Response.text(503, "The Xero API is currently offline for maintenance")
        case .status429:
            var r = Response.text(429, "Rate limit exceeded")
            r.headers.add("Retry-After", String(f.retryAfter))
            r.headers.add("X-Rate-Limit-Problem", "minute")
            r.headers.add("X-MinLimit-Remaining", "0")
            return r
        default:
            return Response.text(504, "Gateway Timeout")
        }
    }

    static func getOrganisation(_ ctx: CallContext) -> Response {
        let o = ctx.org
        var b = JSONObjectBuilder()
        b.add("OrganisationID", o.tenantId)
        b.add("APIKey", "")
        b.add("Name", o.name)
        b.add("LegalName", o.name)
        b.add("PaysTax", true)
        b.add("Version", o.countryCode == "AU" ? "AU" : "NZ")
        b.add("OrganisationType", "COMPANY")
        b.add("BaseCurrency", o.baseCurrency)
        b.add("CountryCode", o.countryCode)
        b.add("IsDemoCompany", false)
        b.add("OrganisationStatus", "ACTIVE")
        b.add("ShortCode", o.shortCode)
        b.add("Edition", "BUSINESS")
        b.add("Class", "STANDARD")
        b.add("Timezone", o.countryCode == "AU" ? "AUSEASTERNSTANDARDTIME" : "NEWZEALANDSTANDARDTIME")
        b.addDate("CreatedDateUTC", o.createdAt)
        let env: JSON = .object([("Id", .string(Ids.uuid())), ("Status", .string("OK")),
                                 ("ProviderName", .string(ctx.sim.configuration.appName)),
                                 ("DateTimeUTC", .string("/Date(\(ctx.now))/")), ("Organisations", .array([b.json]))])
        return Reply.xeroJSON(200, env)
    }

    /// `07/22/2026 02:00:00` (Xero's TokenExpired detail).
    static func usDate(_ ms: Int64) -> String {
        let iso = XeroDate.formatISO(milliseconds: ms)  // 2026-07-22T02:00:00.000Z
        let c = Array(iso)
        return "\(String(c[5...6]))/\(String(c[8...9]))/\(String(c[0...3])) \(String(c[11...18]))"
    }
}

extension CallContext {
    /// The `If-Modified-Since` header as ms, cut to the second as Xero compares it; nil when
    /// absent; a 400 Response when it is not a date.
    func ifModifiedSince() -> Result<Int64?, ResponseBox> {
        guard let ims = request.headers["If-Modified-Since"], !ims.isEmpty else { return .success(nil) }
        guard let ms = XeroModelDate.parseAny(ims) else {
            return .failure(ResponseBox(Errors.postDataInvalid("The If-Modified-Since header is not a valid date: \(ims)")))
        }
        return .success(ms / 1000 * 1000)
    }
}

/// A Response carried as an error.
struct ResponseBox: Error { let response: Response; init(_ r: Response) { response = r } }
