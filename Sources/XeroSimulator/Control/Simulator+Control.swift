import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// The control API under `/sim/`: state for tests and the demo, as a Xero user or Xero itself would change it.
extension Simulator {
    /// Registers the control API.
    func addControlRoutes(_ router: inout Router) {
        func add(_ method: String, _ pattern: String,
                 _ h: @escaping @Sendable (Simulator, Request, [String: String]) throws -> Response) {
            router.add(method, pattern, on: self) { s, r in .respond(try h(s, r, r.pathParameters)) }
        }
        add("POST", "/sim/reset") { s, r, _ in try s.controlReset(r) }
        add("GET", "/sim/state") { s, _, _ in try s.controlState() }
        add("GET", "/sim/organisations") { s, _, _ in try s.controlState() }
        add("POST", "/sim/organisations") { s, r, _ in try s.controlCreateOrganisation(r) }
        add("PATCH", "/sim/organisations/{t}") { s, r, p in try s.controlPatchOrganisation(r, p["t"]!) }
        add("POST", "/sim/logins") { s, r, _ in try s.controlCreateLogin(r) }
        add("POST", "/sim/organisations/{t}/contacts") { s, r, p in try s.controlBulkContacts(r, p["t"]!) }
        add("GET", "/sim/organisations/{t}/contacts/{id}") { s, _, p in try s.controlGetContact(p["t"]!, p["id"]!) }
        add("PATCH", "/sim/organisations/{t}/contacts/{id}") { s, r, p in try s.controlPatchContact(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/contacts/{id}/archive") { s, _, p in
            try s.controlSetStatus(p["t"]!, p["id"]!, .archived)
        }
        add("POST", "/sim/organisations/{t}/contacts/{id}/restore") { s, _, p in
            try s.controlSetStatus(p["t"]!, p["id"]!, .active)
        }
        add("POST", "/sim/organisations/{t}/contacts/{id}/merge") { s, r, p in try s.controlMerge(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/contacts/{id}/flags") { s, r, p in try s.controlFlags(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/items") { s, r, p in try s.controlBulkItems(r, p["t"]!) }
        add("PATCH", "/sim/organisations/{t}/items/{id}") { s, r, p in try s.controlPatchItem(r, p["t"]!, p["id"]!) }
        add("DELETE", "/sim/organisations/{t}/items/{id}") { s, _, p in try s.controlDeleteItem(p["t"]!, p["id"]!) }
        add("GET", "/sim/organisations/{t}/invoices") { s, _, p in try s.controlInvoices(p["t"]!) }
        add("PATCH", "/sim/organisations/{t}/invoices/{id}") { s, r, p in try s.controlPatchInvoice(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/consent") { s, r, _ in try s.controlConsent(r) }
        add("GET", "/sim/clock") { s, _, _ in s.clockState() }
        add("POST", "/sim/clock") { s, r, _ in try s.controlClock(r) }
        add("GET", "/sim/limits") { s, _, _ in s.limitsState() }
        add("POST", "/sim/limits") { s, r, _ in try s.controlLimits(r) }
        add("GET", "/sim/faults") { s, _, _ in s.faultsState() }
        add("POST", "/sim/faults") { s, r, _ in try s.controlAddFault(r) }
        add("DELETE", "/sim/faults") { s, _, _ in try s.controlClearFaults() }
        add("GET", "/sim/calls") { s, r, _ in try s.controlCalls(r) }
        add("DELETE", "/sim/calls") { s, _, _ in try s.controlClearCalls() }
        add("GET", "/sim/webhooks") { s, r, _ in Reply.json(200, s.webhooks.status(limit: max(0, Int(queryValue(r, "limit") ?? "") ?? 100))) }
        add("POST", "/sim/webhooks/config") { s, r, _ in try s.controlWebhookConfig(r) }
        add("GET", "/sim/app") { s, _, _ in s.appState() }
        add("POST", "/sim/app") { s, r, _ in try s.controlApp(r) }
        router.add("POST", "/sim/webhooks/intent-to-receive", on: self) { s, r in
            let url = (try? JSON.parse(r.body)).flatMap { $0["url"]?.stringValue }
            return .deferred { responder in
                let t = Thread {
                    let report = s.webhooks.intentToReceive(url: url)
                    responder.respond(Reply.json(200, report))
                }
                t.start()
            }
        }
    }

    // MARK: - helpers

    /// The body's JSON object (empty when there is none and none is required).
    func controlBody(_ r: Request, required: Bool = false) throws -> JSONFields {
        if r.body.isEmpty {
            if required { throw XeroError.control(400, "a JSON body is required") }
            return try JSONFields(.object([]))
        }
        do {
            return try JSONFields(try JSON.parse(r.body))
        } catch let e as JSONError {
            throw XeroError.control(400, "the body is not JSON: \(e.description)")
        } catch {
            throw XeroError.control(400, "the body must be a JSON object")
        }
    }

    /// The body as JSON; 400 when it is not.
    func controlJSON(_ r: Request) throws -> JSON {
        do { return try JSON.parse(r.body) } catch { throw XeroError.control(400, "the body is not JSON: \(error.description)") }
    }

    /// `{"Contacts": [...]}` (or `contacts`) decoded as Xero records; 400 naming the bad one.
    func controlRecords<M: XeroModel>(_ json: JSON, _ type: M.Type) throws -> [M]? {
        guard let list = json[M.collectionKey]?.arrayValue ?? json[M.collectionKey.lowercased()]?.arrayValue else { return nil }
        var out: [M] = []
        out.reserveCapacity(list.count)
        for (n, item) in list.enumerated() {
            do { out.append(try M(json: item)) } catch { throw XeroError.control(400, "\(M.collectionKey)[\(n)]: \(error.description)") }
        }
        return out
    }

    /// The body as one Xero record, as a user's edit gives it; 400 when it is not one.
    func controlRecord<M: XeroModel>(_ r: Request, _ type: M.Type, _ what: String) throws -> M {
        do {
            return try M(json: try JSON.parse(r.body))
        } catch let e as XeroModelError {
            throw XeroError.control(400, e.description)
        } catch {
            throw XeroError.control(400, "the body must be a JSON object of Xero \(what) fields")
        }
    }

    /// Runs Xero's rules for a control call: a `Refusal` becomes the control API's 400,
    /// `summary` with the messages as details (or, without a summary, the messages themselves).
    func refusedAsControlError<T>(_ summary: String? = "Xero refused the change", _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let refusal as Refusal {
            guard let summary else { throw XeroError.control(400, refusal.messages.joined(separator: " ")) }
            throw XeroError.control(400, summary, details: refusal.messages)
        }
    }

    /// Runs `body` on the organisation under the world lock; 404 when there is none.
    func withOrg(_ tenantId: String, _ body: (World, Organisation) throws -> Response) throws -> Response {
        try world.withLock { w in
            guard let org = w.org(tenantId) else { throw XeroError.control(404, "no organisation \(tenantId)") }
            return try body(w, org)
        }
    }

    // MARK: - reset, state

    func controlReset(_ r: Request) throws -> Response {
        let f = try controlBody(r)
        let seedName = (try? f.string("seed")) ?? nil
        guard let seed = SimulatorConfiguration.Seed(rawValue: seedName ?? "empty") else {
            throw XeroError.control(400, "seed must be empty or demo")
        }
        reset()
        var o = JSONObjectBuilder()
        o.add("ok", true)
        if seed == .demo { o.add("demo", seedDemo().json) }
        return Reply.json(200, o.json)
    }

    /// Forgets every organisation, login, token, call, fault and queued webhook; the clock and
    /// limits go back to normal. The app configuration stays.
    public func reset() {
        world.withLock { w in
            let fresh = World(clientId: w.clientId, clientSecret: w.clientSecret, redirectURIs: w.redirectURIs)
            fresh.callSequence = w.callSequence
            w = fresh
        }
        clock.reset()
        webhooks.reset()
    }

    func controlState() throws -> Response {
        let now = clock.now()
        return world.withLock { w in
            let orgs = w.orgs.values.map { o -> JSON in
                .object([("tenantId", .string(o.tenantId)), ("name", .string(o.name)), ("shortCode", .string(o.shortCode)),
                         ("baseCurrency", .string(o.baseCurrency)), ("timezone", .string(o.timezone)),
                         ("contacts", .number(o.contacts.count)),
                         ("activeContacts", .number(o.contacts.values.lazy.filter(\.isActive).count)),
                         ("items", .number(o.items.count)), ("invoices", .number(o.invoices.count)),
                         ("connected", .bool(w.isConnected(o.tenantId))),
                         ("minuteCalls", .number(o.rate.minuteCount)), ("dayCalls", .number(o.rate.dayCount))])
            }
            let logins = w.logins.values.map { l -> JSON in
                .object([("userId", .string(l.id)), ("email", .string(l.email)),
                         ("tenantIds", .array(l.tenantIds.map { .string($0) }))])
            }
            let connections = w.connections.values.map { c -> JSON in
                .object([("id", .string(c.id)), ("tenantId", .string(c.tenantId)), ("userId", .string(c.loginId)),
                         ("authEventId", .string(c.authEventId))])
            }
            return Reply.json(200, .object([
                ("now", .string(XeroDate.formatISO(milliseconds: now))),
                ("organisations", .array(orgs)), ("logins", .array(logins)), ("connections", .array(connections)),
                ("calls", .number(w.callSequence)),
            ]))
        }
    }
}
