import Foundation
import HTTPServer
import Xero
import StrictJSON

/// The control API under `/sim/`: state for tests and the demo, as a Xero user or Xero itself would change it.
extension Simulator {
    static func addControlRoutes(_ t: inout [SimRoute]) {
        func add(_ method: String, _ pattern: String,
                 _ h: @escaping @Sendable (Simulator, Request, [String: String]) -> Response) {
            t.append(SimRoute(method: method, segments: pattern.split(separator: "/").map(String.init),
                              handler: { s, r, p in .respond(h(s, r, p)) }))
        }
        add("POST", "/sim/reset") { s, r, _ in s.controlReset(r) }
        add("GET", "/sim/state") { s, _, _ in s.controlState() }
        add("GET", "/sim/organisations") { s, _, _ in s.controlState() }
        add("POST", "/sim/organisations") { s, r, _ in s.controlCreateOrganisation(r) }
        add("POST", "/sim/logins") { s, r, _ in s.controlCreateLogin(r) }
        add("POST", "/sim/organisations/{t}/contacts") { s, r, p in s.controlBulkContacts(r, p["t"]!) }
        add("GET", "/sim/organisations/{t}/contacts/{id}") { s, _, p in s.controlGetContact(p["t"]!, p["id"]!) }
        add("PATCH", "/sim/organisations/{t}/contacts/{id}") { s, r, p in s.controlPatchContact(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/contacts/{id}/archive") { s, _, p in
            s.controlSetStatus(p["t"]!, p["id"]!, .archived)
        }
        add("POST", "/sim/organisations/{t}/contacts/{id}/restore") { s, _, p in
            s.controlSetStatus(p["t"]!, p["id"]!, .active)
        }
        add("POST", "/sim/organisations/{t}/contacts/{id}/merge") { s, r, p in s.controlMerge(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/contacts/{id}/flags") { s, r, p in s.controlFlags(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/organisations/{t}/items") { s, r, p in s.controlBulkItems(r, p["t"]!) }
        add("PATCH", "/sim/organisations/{t}/items/{id}") { s, r, p in s.controlPatchItem(r, p["t"]!, p["id"]!) }
        add("DELETE", "/sim/organisations/{t}/items/{id}") { s, _, p in s.controlDeleteItem(p["t"]!, p["id"]!) }
        add("PATCH", "/sim/organisations/{t}/invoices/{id}") { s, r, p in s.controlPatchInvoice(r, p["t"]!, p["id"]!) }
        add("POST", "/sim/consent") { s, r, _ in s.controlConsent(r) }
        add("GET", "/sim/clock") { s, _, _ in s.clockState() }
        add("POST", "/sim/clock") { s, r, _ in s.controlClock(r) }
        add("GET", "/sim/limits") { s, _, _ in s.limitsState() }
        add("POST", "/sim/limits") { s, r, _ in s.controlLimits(r) }
        add("GET", "/sim/faults") { s, _, _ in s.faultsState() }
        add("POST", "/sim/faults") { s, r, _ in s.controlAddFault(r) }
        add("DELETE", "/sim/faults") { s, _, _ in s.controlClearFaults() }
        add("GET", "/sim/calls") { s, r, _ in s.controlCalls(r) }
        add("DELETE", "/sim/calls") { s, _, _ in s.controlClearCalls() }
        add("GET", "/sim/webhooks") { s, r, _ in Reply.json(200, s.webhooks.status(limit: max(0, Int(queryValue(r, "limit") ?? "") ?? 100))) }
        add("POST", "/sim/webhooks/config") { s, r, _ in s.controlWebhookConfig(r) }
        add("GET", "/sim/app") { s, _, _ in s.appState() }
        add("POST", "/sim/app") { s, r, _ in s.controlApp(r) }
        t.append(SimRoute(method: "POST", segments: ["sim", "webhooks", "intent-to-receive"], handler: { s, r, _ in
            let url = (try? JSON.parse(r.body)).flatMap { $0["url"]?.stringValue }
            return .deferred { responder in
                let t = Thread {
                    let report = s.webhooks.intentToReceive(url: url)
                    responder.respond(Reply.json(200, report))
                }
                t.start()
            }
        }))
    }

    // MARK: - helpers

    func controlBody(_ r: Request, required: Bool = false) -> Outcome<JSONFields, Response> {
        if r.body.isEmpty {
            if required { return .failure(Reply.controlError(400, "a JSON body is required")) }
            return .success(try! JSONFields(.object([])))
        }
        do {
            let json = try JSON.parse(r.body)
            return .success(try JSONFields(json))
        } catch let e as JSONError {
            return .failure(Reply.controlError(400, "the body is not JSON: \(e.description)"))
        } catch {
            return .failure(Reply.controlError(400, "the body must be a JSON object"))
        }
    }

    func withOrg(_ tenantId: String, _ body: (World, Organisation) -> Response) -> Response {
        world.withLock { w in
            guard let org = w.org(tenantId) else { return Reply.controlError(404, "no organisation \(tenantId)") }
            return body(w, org)
        }
    }

    // MARK: - reset, state

    func controlReset(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let seedName = (try? f.string("seed")) ?? nil
        guard let seed = SimulatorConfiguration.Seed(rawValue: seedName ?? "empty") else {
            return Reply.controlError(400, "seed must be empty or demo")
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

    func controlState() -> Response {
        let now = clock.now()
        return world.withLock { w in
            let orgs = w.orgOrder.compactMap { w.orgs[$0] }.map { o -> JSON in
                .object([("tenantId", .string(o.tenantId)), ("name", .string(o.name)), ("shortCode", .string(o.shortCode)),
                         ("baseCurrency", .string(o.baseCurrency)),
                         ("contacts", .number(o.contacts.count)),
                         ("activeContacts", .number(o.contacts.values.lazy.filter(\.isActive).count)),
                         ("items", .number(o.items.count)), ("invoices", .number(o.invoices.count)),
                         ("connected", .bool(w.isConnected(o.tenantId))),
                         ("minuteCalls", .number(o.rate.minuteCount)), ("dayCalls", .number(o.rate.dayCount))])
            }
            let logins = w.loginOrder.compactMap { w.logins[$0] }.map { l -> JSON in
                .object([("userId", .string(l.id)), ("email", .string(l.email)),
                         ("tenantIds", .array(l.tenantIds.map { .string($0) }))])
            }
            let connections = w.connectionOrder.compactMap { w.connections[$0] }.map { c -> JSON in
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

    // MARK: - Swift conveniences (the same as the control API, for in-process tests)

    public struct ControlError: Error, CustomStringConvertible, Sendable {
        public let description: String
    }

    /// What the consent page does for `login` (an email or user id): connects `tenantIds`
    /// (all of the login's organisations when nil) and returns the redirect with `code` and `state`.
    public func consentRedirect(login: String, tenantIds: [String]? = nil, redirectURI: String, state: String? = nil,
                                scope: String = "openid profile email offline_access accounting.contacts accounting.settings accounting.transactions accounting.invoices")
        throws(ControlError) -> String {
        var body: [(key: String, value: JSON)] = [("login", .string(login)), ("redirectUri", .string(redirectURI)),
                                                  ("scope", .string(scope))]
        if let state { body.append(("state", .string(state))) }
        if let tenantIds { body.append(("tenantIds", .array(tenantIds.map { .string($0) }))) }
        let r = controlConsent(Request(method: "POST", path: "/sim/consent", body: XeroWire.bytes(.object(body))))
        let json = try? JSON.parse(r.body)
        guard r.status == 200, let redirect = json?["redirect"]?.stringValue else {
            throw ControlError(description: json?["error"]?.stringValue ?? "consent failed (\(r.status))")
        }
        return redirect
    }

    /// Moves the simulated clock forward (token expiry, refresh grace, rate windows, If-Modified-Since).
    public func advanceClock(seconds: Double) { clock.advance(seconds: seconds) }

    /// The simulated time, milliseconds since the epoch.
    public var now: Int64 { clock.now() }

    /// Points webhooks somewhere else (nil: record only).
    public func setWebhookURL(_ url: String?) { webhooks.withSettings { $0.url = url } }

    /// True when no webhook event is queued, waiting for a retry or being sent.
    public var webhooksIdle: Bool { webhooks.idle }

    /// Changes the per-tenant limits (Xero's defaults: 60/minute, 5 000/day, 5 concurrent).
    public func setLimits(_ limits: RateLimits) { world.withLock { $0.limits = limits } }

    // MARK: - organisations and logins

    func controlCreateOrganisation(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let name = ((try? f.string("name")) ?? nil) ?? "Demo Company (NZ)"
        var tenantId = Ids.uuid()
        if let given = (try? f.string("tenantId")) ?? nil {
            guard let norm = Ids.normalize(given) else { return Reply.controlError(400, "tenantId must be a GUID") }
            tenantId = norm
        }
        let currency = (((try? f.string("baseCurrency")) ?? nil) ?? "NZD").uppercased()
        let country = (((try? f.string("countryCode")) ?? nil) ?? "NZ").uppercased()
        let shortCode = ((try? f.string("shortCode")) ?? nil) ?? "!" + Ids.letters(5)
        return world.withLock { w in
            guard w.orgs[tenantId] == nil else { return Reply.controlError(409, "organisation \(tenantId) exists") }
            let org = Organisation(tenantId: tenantId, name: name, shortCode: shortCode, baseCurrency: currency,
                                   countryCode: country, createdAt: clock.now())
            w.add(org)
            return Reply.json(201, .object([("tenantId", .string(tenantId)), ("name", .string(name))]))
        }
    }

    /// Creates an organisation (Swift API, for tests and seeding).
    @discardableResult
    public func createOrganisation(name: String, tenantId: String? = nil) -> String {
        let id = tenantId.flatMap { Ids.normalize($0) } ?? Ids.uuid()
        world.withLock { w in
            if w.orgs[id] == nil {
                w.add(Organisation(tenantId: id, name: name, shortCode: "!" + Ids.letters(5), baseCurrency: "NZD",
                                   countryCode: "NZ", createdAt: clock.now()))
            }
        }
        return id
    }

    func controlCreateLogin(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        guard let email = ((try? f.string("email")) ?? nil)?.trimmingSpaces, email.contains("@") else {
            return Reply.controlError(400, "email is required")
        }
        let tenantIds = ((try? f.array("tenantIds")) ?? nil)?.compactMap(\.stringValue) ?? []
        var userId = Ids.uuid()
        if let given = (try? f.string("userId")) ?? nil {
            guard let norm = Ids.normalize(given) else { return Reply.controlError(400, "userId must be a GUID") }
            userId = norm
        }
        let login = Login(id: userId, email: email, password: (try? f.string("password")) ?? nil,
                          firstName: ((try? f.string("firstName")) ?? nil) ?? "Demo",
                          lastName: ((try? f.string("lastName")) ?? nil) ?? "User",
                          tenantIds: tenantIds.compactMap { Ids.normalize($0) })
        return world.withLock { w in
            for t in login.tenantIds where w.orgs[t] == nil { return Reply.controlError(404, "no organisation \(t)") }
            guard !w.logins.values.contains(where: { $0.email.lowercased() == email.lowercased() }) else {
                return Reply.controlError(409, "a login with email \(email) exists")
            }
            w.logins[login.id] = login
            w.loginOrder.append(login.id)
            return Reply.json(201, .object([("userId", .string(login.id)), ("email", .string(login.email)),
                                            ("tenantIds", .array(login.tenantIds.map { .string($0) }))]))
        }
    }

    /// Creates a login owning `tenantIds` (Swift API).
    @discardableResult
    public func createLogin(email: String, firstName: String = "Demo", lastName: String = "User",
                            password: String? = nil, tenantIds: [String]) -> String {
        let login = Login(id: Ids.uuid(), email: email, password: password, firstName: firstName, lastName: lastName,
                          tenantIds: tenantIds.compactMap { Ids.normalize($0) })
        world.withLock { w in
            w.logins[login.id] = login
            w.loginOrder.append(login.id)
        }
        return login.id
    }

    // MARK: - contacts

    func controlBulkContacts(_ r: Request, _ tenantId: String) -> Response {
        let started = monotonicNow()
        let json: JSON
        do { json = try JSON.parse(r.body) } catch { return Reply.controlError(400, "the body is not JSON: \(error.description)") }
        let sendWebhooks = json["webhooks"]?.boolValue ?? true
        let now = clock.now()
        if let gen = json["generate"] {
            return generateContacts(gen, tenantId: tenantId, webhooks: sendWebhooks, started: started)
        }
        guard let list = json["Contacts"]?.arrayValue ?? json["contacts"]?.arrayValue else {
            return Reply.controlError(400, "expected {\"Contacts\": [...]} or {\"generate\": {...}}")
        }
        var inputs: [Contact] = []
        inputs.reserveCapacity(list.count)
        for (n, item) in list.enumerated() {
            do { inputs.append(try Contact(json: item)) } catch {
                return Reply.controlError(400, "Contacts[\(n)]: \(error.description)")
            }
        }
        let returnIds = json["returnIds"]?.boolValue ?? (inputs.count <= 10_000)
        return withOrg(tenantId) { w, org in
            var made: [Contact] = []
            made.reserveCapacity(inputs.count)
            var problems: [String] = []
            var batchNames: [String: Int] = [:]
            var batchIds = Set<String>()
            for (n, input) in inputs.enumerated() {
                switch Simulator.applyContact(input, to: nil, org: org, now: now, author: .seed) {
                case .failure(let messages):
                    problems += messages.map { "Contacts[\(n)] (\(input.name ?? "no name")): \($0)" }
                case .success(let c):
                    if c.isActive, let name = c.name {
                        if let first = batchNames[name.nameKey] {
                            problems.append("Contacts[\(n)] (\(name)): the name repeats Contacts[\(first)]; names must be unique among active contacts")
                        } else {
                            batchNames[name.nameKey] = n
                        }
                    }
                    if !batchIds.insert(c.contactID!).inserted {
                        problems.append("Contacts[\(n)]: ContactID \(c.contactID!) repeats")
                    }
                    made.append(c)
                }
                if problems.count > 50 { break }
            }
            guard problems.isEmpty else {
                return Reply.controlError(400, "nothing was created", details: Array(problems.prefix(50)))
            }
            for c in made { org.store(c) }
            if sendWebhooks { emitEvents(w, made.map { SimEvent(tenantId: org.tenantId, category: "CONTACT", type: "CREATE", resourceId: $0.contactID!, at: now) }) }
            var o = JSONObjectBuilder()
            o.add("created", JSON.number(made.count))
            o.add("elapsedMs", JSON.number(Int((monotonicNow() - started) * 1000)))
            if returnIds { o.add("ids", JSON.array(made.map { .string($0.contactID!) })) }
            return Reply.json(201, o.json)
        }
    }

    /// `{"generate": {"count": 100000, "prefix": "Customer", "archivedEvery": 0, "customerEvery": 2, "supplierEvery": 5}}`:
    /// realistic, unique contacts made directly (fast enough for 100 000 in well under a second in release).
    func generateContacts(_ gen: JSON, tenantId: String, webhooks sendWebhooks: Bool, started: Double) -> Response {
        let count = gen["count"]?.intValue ?? 0
        guard count > 0, count <= 2_000_000 else { return Reply.controlError(400, "generate.count must be 1…2000000") }
        let prefix = gen["prefix"]?.stringValue ?? "Generated Contact"
        let archivedEvery = gen["archivedEvery"]?.intValue ?? 0
        let customerEvery = gen["customerEvery"]?.intValue ?? 2
        let supplierEvery = gen["supplierEvery"]?.intValue ?? 5
        let now = clock.now()
        let width = String(count).count
        var made: [Contact] = []
        made.reserveCapacity(count)
        for n in 1...count {
            let number = String(n)
            let padded = String(repeating: "0", count: width - number.count) + number
            let name = "\(prefix) \(padded)"
            var c = Contact(contactID: Ids.uuid(), name: name,
                            emailAddress: "contact\(padded)@\(prefix.lowercased().filter(\.isLetter)).example.com")
            c.contactStatus = (archivedEvery > 0 && n % archivedEvery == 0) ? .archived : .active
            c.firstName = "First\(padded)"
            c.lastName = "Last\(padded)"
            c.bankAccountDetails = ""
            let line = "\(n % 300 + 1) Example Street"
            c.addresses = [Address(addressType: "STREET", addressLine1: line, city: "Wellington", region: "Wellington",
                                   postalCode: "6011", country: "New Zealand"),
                           Address(addressType: "POBOX", city: "", region: "", postalCode: "", country: "")]
            c.phones = [Phone(phoneType: "DEFAULT", phoneNumber: "555 \(String(padded.suffix(4)))", phoneAreaCode: "04", phoneCountryCode: "64"),
                        Phone(phoneType: "DDI", phoneNumber: "", phoneAreaCode: "", phoneCountryCode: ""),
                        Phone(phoneType: "FAX", phoneNumber: "", phoneAreaCode: "", phoneCountryCode: ""),
                        Phone(phoneType: "MOBILE", phoneNumber: "", phoneAreaCode: "", phoneCountryCode: "")]
            c.updatedDateUTC = now
            c.contactGroups = []
            c.isCustomer = customerEvery > 0 && n % customerEvery == 0
            c.isSupplier = supplierEvery > 0 && n % supplierEvery == 0
            c.contactPersons = []
            c.hasAttachments = false
            c.hasValidationErrors = false
            made.append(c)
        }
        return withOrg(tenantId) { w, org in
            for c in made where c.isActive {
                if org.activeNames[c.name!.nameKey] != nil {
                    return Reply.controlError(409, "nothing was created: the name \(c.name!) is already used by an active contact")
                }
            }
            org.contacts.reserveCapacity(org.contacts.count + made.count)
            for c in made { org.store(c) }
            if sendWebhooks { emitEvents(w, made.map { SimEvent(tenantId: org.tenantId, category: "CONTACT", type: "CREATE", resourceId: $0.contactID!, at: now) }) }
            var o = JSONObjectBuilder()
            o.add("created", JSON.number(made.count))
            o.add("elapsedMs", JSON.number(Int((monotonicNow() - started) * 1000)))
            if gen["returnIds"]?.boolValue ?? (count <= 10_000) { o.add("ids", JSON.array(made.map { .string($0.contactID!) })) }
            return Reply.json(201, o.json)
        }
    }

    func controlGetContact(_ tenantId: String, _ id: String) -> Response {
        withOrg(tenantId) { _, org in
            guard let c = org.contact(id) else { return Reply.controlError(404, "no contact \(id)") }
            return Reply.xeroJSON(200, Simulator.render(c, .full, balances: Simulator.balanceIndex(org, now: clock.now())).json)
        }
    }

    /// Changes a contact as a Xero user would: Xero's rules apply, `UpdatedDateUTC` moves, a webhook goes out.
    func controlPatchContact(_ r: Request, _ tenantId: String, _ id: String) -> Response {
        let input: Contact
        do { input = try Contact(json: try JSON.parse(r.body)) } catch let e as XeroModelError {
            return Reply.controlError(400, e.description)
        } catch {
            return Reply.controlError(400, "the body must be a JSON object of Xero contact fields")
        }
        let now = clock.now()
        return withOrg(tenantId) { w, org in
            guard let existing = org.contact(id) else { return Reply.controlError(404, "no contact \(id)") }
            var change = input
            change.contactID = nil
            change.isCustomer = nil
            change.isSupplier = nil
            return applyUserEdit(change, to: existing, w, org, now: now)
        }
    }

    /// A Xero user's edit of a contact: Xero's rules, UpdatedDateUTC moves, an UPDATE webhook.
    func applyUserEdit(_ change: Contact, to existing: Contact, _ w: World, _ org: Organisation, now: Int64) -> Response {
        switch Simulator.applyContact(change, to: existing, org: org, now: now, author: .user) {
        case .failure(let messages):
            return Reply.controlError(400, "Xero refused the change", details: messages)
        case .success(let c):
            org.store(c)
            emitEvents(w, [SimEvent(tenantId: org.tenantId, category: "CONTACT", type: "UPDATE", resourceId: c.contactID!, at: now)])
            return Reply.xeroJSON(200, Simulator.render(c, .full).json)
        }
    }

    func controlSetStatus(_ tenantId: String, _ id: String, _ status: ContactStatus) -> Response {
        let now = clock.now()
        return withOrg(tenantId) { w, org in
            guard let existing = org.contact(id) else { return Reply.controlError(404, "no contact \(id)") }
            var change = Contact()
            change.contactStatus = status
            return applyUserEdit(change, to: existing, w, org, now: now)
        }
    }

    /// Merges contact `id` into `into`: the merged one is archived with `MergedToContactID`,
    /// its invoices move to the survivor; both change (webhooks for both).
    func controlMerge(_ r: Request, _ tenantId: String, _ id: String) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        guard let into = (try? f.string("into")) ?? nil else { return Reply.controlError(400, "into (a ContactID) is required") }
        let now = clock.now()
        return withOrg(tenantId) { w, org in
            guard var source = org.contact(id) else { return Reply.controlError(404, "no contact \(id)") }
            guard var target = org.contact(into) else { return Reply.controlError(404, "no contact \(into)") }
            guard source.contactID != target.contactID else { return Reply.controlError(400, "a contact cannot be merged into itself") }
            guard target.isActive else { return Reply.controlError(400, "the surviving contact must be active") }
            source.contactStatus = .archived
            source.mergedToContactID = target.contactID
            source.updatedDateUTC = now
            target.updatedDateUTC = now
            if source.isCustomer == true { target.isCustomer = true }
            if source.isSupplier == true { target.isSupplier = true }
            org.store(source)
            org.store(target)
            for (key, var inv) in org.invoices where inv.contact?.contactID == source.contactID {
                inv.contact = Contact(contactID: target.contactID, name: target.name)
                org.invoices[key] = inv
            }
            emitEvents(w, [SimEvent(tenantId: org.tenantId, category: "CONTACT", type: "UPDATE", resourceId: source.contactID!, at: now),
                           SimEvent(tenantId: org.tenantId, category: "CONTACT", type: "UPDATE", resourceId: target.contactID!, at: now)])
            return Reply.xeroJSON(200, .object([("merged", Simulator.render(source, .full).json),
                                                ("into", Simulator.render(target, .full).json)]))
        }
    }

    /// Sets `IsCustomer` / `IsSupplier` as Xero's own bookkeeping does: no `UpdatedDateUTC` change, no webhook.
    func controlFlags(_ r: Request, _ tenantId: String, _ id: String) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let customer = (try? f.bool("IsCustomer")) ?? nil
        let supplier = (try? f.bool("IsSupplier")) ?? nil
        return withOrg(tenantId) { _, org in
            guard var c = org.contact(id) else { return Reply.controlError(404, "no contact \(id)") }
            if let customer { c.isCustomer = customer }
            if let supplier { c.isSupplier = supplier }
            org.contacts[c.contactID!] = c
            org.contactVersion += 1
            return Reply.xeroJSON(200, Simulator.render(c, .full).json)
        }
    }

    // MARK: - items

    func controlBulkItems(_ r: Request, _ tenantId: String) -> Response {
        let json: JSON
        do { json = try JSON.parse(r.body) } catch { return Reply.controlError(400, "the body is not JSON: \(error.description)") }
        guard let list = json["Items"]?.arrayValue ?? json["items"]?.arrayValue else {
            return Reply.controlError(400, "expected {\"Items\": [...]}")
        }
        var inputs: [Item] = []
        for (n, item) in list.enumerated() {
            do { inputs.append(try Item(json: item)) } catch { return Reply.controlError(400, "Items[\(n)]: \(error.description)") }
        }
        let now = clock.now()
        return withOrg(tenantId) { _, org in
            var made: [Item] = []
            var problems: [String] = []
            var codes = Set<String>()
            for (n, input) in inputs.enumerated() {
                switch Simulator.applyItem(input, to: nil, org: org, now: now, unitdp: 4, seed: true) {
                case .failure(let messages): problems += messages.map { "Items[\(n)] (\(input.code ?? "no code")): \($0)" }
                case .success(let item):
                    if !codes.insert(item.code!.uppercased()).inserted {
                        problems.append("Items[\(n)]: Price List Item with Code '\(item.code!)' already exists")
                    }
                    made.append(item)
                }
            }
            guard problems.isEmpty else { return Reply.controlError(400, "nothing was created", details: problems) }
            for item in made { org.store(item) }
            return Reply.json(201, .object([("created", .number(made.count)),
                                            ("ids", .array(made.map { .string($0.itemID!) }))]))
        }
    }

    /// Changes an item as a Xero user would (no webhooks: Xero has none for items).
    func controlPatchItem(_ r: Request, _ tenantId: String, _ id: String) -> Response {
        let input: Item
        do { input = try Item(json: try JSON.parse(r.body)) } catch let e as XeroModelError {
            return Reply.controlError(400, e.description)
        } catch {
            return Reply.controlError(400, "the body must be a JSON object of Xero item fields")
        }
        let now = clock.now()
        return withOrg(tenantId) { _, org in
            guard let existing = org.item(id) ?? org.item(code: id) else { return Reply.controlError(404, "no item \(id)") }
            var change = input
            change.itemID = nil
            switch Simulator.applyItem(change, to: existing, org: org, now: now, unitdp: 4, seed: false) {
            case .failure(let messages): return Reply.controlError(400, "Xero refused the change", details: messages)
            case .success(let item):
                org.store(item)
                return Reply.xeroJSON(200, item.json(XeroEncodingOptions(unitDecimalPlaces: 4)))
            }
        }
    }

    func controlDeleteItem(_ tenantId: String, _ id: String) -> Response {
        withOrg(tenantId) { _, org in
            guard let item = org.item(id) ?? org.item(code: id) else { return Reply.controlError(404, "no item \(id)") }
            org.deleteItem(item.itemID!)
            return Response.empty(204)
        }
    }

    // MARK: - invoices

    /// `{"Status": "PAID" | "VOIDED" | "AUTHORISED" | …}` as a Xero user would (webhook INVOICE/UPDATE).
    func controlPatchInvoice(_ r: Request, _ tenantId: String, _ id: String) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let status = ((try? f.string("Status")) ?? nil)?.uppercased()
        let now = clock.now()
        return withOrg(tenantId) { w, org in
            guard var inv = org.invoice(id) else { return Reply.controlError(404, "no invoice \(id)") }
            if let status {
                let s = InvoiceStatus(rawValue: status)
                guard [.draft, .submitted, .authorised, .paid, .voided, .deleted].contains(s) else {
                    return Reply.controlError(400, "unknown status \(status)")
                }
                inv.status = s
                switch s {
                case .paid:
                    inv.amountPaid = inv.total
                    inv.amountDue = .zero
                case .voided, .deleted:
                    inv.amountDue = .zero
                default:
                    inv.amountDue = (inv.total ?? .zero) - (inv.amountPaid ?? .zero)
                }
            }
            if let ref = (try? f.string("Reference")) ?? nil { inv.reference = ref }
            inv.updatedDateUTC = now
            org.store(inv)
            emitEvents(w, [SimEvent(tenantId: org.tenantId, category: "INVOICE", type: "UPDATE", resourceId: inv.invoiceID!, at: now)])
            return Reply.xeroJSON(200, Simulator.renderInvoice(inv, org: org).json)
        }
    }

    // MARK: - consent, clock, limits, faults, calls, webhooks, app

    func controlConsent(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let loginKey = ((try? f.string("login")) ?? nil) ?? ""
        let tenantIds = ((try? f.array("tenantIds")) ?? nil)?.compactMap(\.stringValue) ?? []
        let (defaultClient, registered) = world.withLock { ($0.clientId, $0.redirectURIs) }
        let clientId = ((try? f.string("clientId")) ?? nil) ?? defaultClient
        let redirect = ((try? f.string("redirectUri")) ?? nil) ?? registered.first ?? ""
        let state = (try? f.string("state")) ?? nil
        let scopeText = ((try? f.string("scope")) ?? nil)
            ?? "openid profile email offline_access accounting.contacts accounting.settings accounting.transactions accounting.invoices"
        let loginId: String? = world.withLock { w in
            if let id = Ids.normalize(loginKey), w.logins[id] != nil { return id }
            return w.logins.values.first { $0.email.lowercased() == loginKey.lowercased() }?.id
        }
        guard let loginId else { return Reply.controlError(404, "no login \(loginKey) (give its email or userId)") }
        var params: [(name: String, value: String)] = [("response_type", "code"), ("client_id", clientId),
                                                       ("redirect_uri", redirect), ("scope", scopeText)]
        if let state { params.append(("state", state)) }
        if let c = (try? f.string("codeChallenge")) ?? nil {
            params.append(("code_challenge", c))
            params.append(("code_challenge_method", ((try? f.string("codeChallengeMethod")) ?? nil) ?? "S256"))
        }
        switch authorizeParameters(params) {
        case .failure(let page):
            if page.status == 302, let location = page.headers["Location"] {
                return Reply.json(200, .object([("redirect", .string(location))]))
            }
            let text = String(decoding: page.body, as: UTF8.self)
            let message = text.components(separatedBy: "<p id=\"error\"").last.flatMap { $0.split(separator: ">", maxSplits: 1).last }
                .map { String($0.prefix { $0 != "<" }) } ?? "invalid request"
            return Reply.controlError(400, message)
        case .success(let req):
            let chosen = tenantIds.isEmpty ? (world.withLock { $0.logins[loginId]?.tenantIds ?? [] }) : tenantIds
            switch consent(loginId: loginId, tenantIds: chosen, request: req) {
            case .success(let location): return Reply.json(200, .object([("redirect", .string(location))]))
            case .failure(let message): return Reply.controlError(400, message)
            }
        }
    }

    func clockState() -> Response {
        Reply.json(200, .object([("now", .string(XeroDate.formatISO(milliseconds: clock.now()))),
                                 ("offsetSeconds", .double(clock.offsetSeconds))]))
    }

    /// `{"advanceSeconds": 1800}`, `{"set": "2026-07-22T00:00:00Z"}` or `{"reset": true}`.
    func controlClock(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        if let s = (try? f.decimal("advanceSeconds")) ?? nil {
            guard s >= .zero else { return Reply.controlError(400, "the clock only moves forward") }
            clock.advance(seconds: s.doubleValue)
        } else if let set = (try? f.string("set")) ?? nil {
            guard let ms = XeroModelDate.parseAny(set) else { return Reply.controlError(400, "set must be an ISO date-time") }
            clock.set(ms)
        } else if (try? f.bool("reset")) == true {
            clock.reset()
        } else {
            return Reply.controlError(400, "give advanceSeconds, set or reset")
        }
        return clockState()
    }

    func limitsState() -> Response {
        world.withLock { w in Reply.json(200, Simulator.limitsJSON(w.limits)) }
    }

    static func limitsJSON(_ l: RateLimits) -> JSON {
        .object([("enabled", .bool(l.enabled)), ("perMinute", .number(l.perMinute)), ("perDay", .number(l.perDay)),
                 ("concurrent", .number(l.concurrent)), ("appPerMinute", .number(l.appPerMinute)),
                 ("latencyMs", .number(l.latencyMs))])
    }

    func controlLimits(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        do {
            let enabled = try f.bool("enabled")
            let perMinute = try f.int("perMinute")
            let perDay = try f.int("perDay")
            let concurrent = try f.int("concurrent")
            let app = try f.int("appPerMinute")
            let latency = try f.int("latencyMs")
            let resetCounters = try f.bool("resetCounters") ?? false
            for v in [perMinute, perDay, concurrent, app, latency] where (v ?? 0) < 0 {
                return Reply.controlError(400, "limits must not be negative")
            }
            return world.withLock { w in
                if let enabled { w.limits.enabled = enabled }
                if let perMinute { w.limits.perMinute = perMinute }
                if let perDay { w.limits.perDay = perDay }
                if let concurrent { w.limits.concurrent = concurrent }
                if let app { w.limits.appPerMinute = app }
                if let latency { w.limits.latencyMs = min(latency, 600_000) }
                if resetCounters {
                    for org in w.orgs.values {
                        let inFlight = org.rate.inFlight
                        org.rate = RateState()
                        org.rate.inFlight = inFlight
                    }
                    w.appMinuteCount = 0
                }
                return Reply.json(200, Simulator.limitsJSON(w.limits))
            }
        } catch {
            return Reply.controlError(400, error.description)
        }
    }

    func faultsState() -> Response {
        let api = world.withLock { $0.faults }
        let hooks = webhooks.pendingFaults
        return Reply.json(200, .object([("faults", .array((api + hooks).map(\.json)))]))
    }

    /// `{"kind": "500"|"503"|"429"|"hang"|"drop"|"duplicate"|"delay"|"reorder"|"badSignature",
    ///   "count": 1, "tenantId", "path", "method", "delayMs", "process", "retryAfter"}`.
    func controlAddFault(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let kindText = ((try? f.string("kind")) ?? nil) ?? ""
        guard let kind = Fault.Kind(rawValue: kindText) ?? Fault.Kind.allCases.first(where: { $0.rawValue.lowercased() == kindText.lowercased() }) else {
            return Reply.controlError(400, "kind must be one of \(Fault.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let count = ((try? f.int("count")) ?? nil) ?? 1
        guard count >= 1 else { return Reply.controlError(400, "count must be at least 1") }
        let tenant = ((try? f.string("tenantId")) ?? nil).flatMap { Ids.normalize($0) }
        let delay = min(600_000, max(0, ((try? f.int("delayMs")) ?? nil) ?? (kind == .hang ? 40_000 : 2_000)))
        let process = ((try? f.bool("process")) ?? nil) ?? (kind == .hang)
        let retryAfter = ((try? f.int("retryAfter")) ?? nil) ?? 1
        let method = ((try? f.string("method")) ?? nil)?.uppercased()
        let path = (try? f.string("path")) ?? nil
        let fault = world.withLock { w -> Fault in
            w.faultSequence += 1
            let fault = Fault(id: w.faultSequence, kind: kind, remaining: count, tenantId: tenant, pathContains: path,
                              method: method, delayMs: delay, process: process, retryAfter: retryAfter)
            if !fault.isWebhook { w.faults.append(fault) }
            return fault
        }
        if fault.isWebhook { webhooks.add(fault) }
        return Reply.json(201, fault.json)
    }

    func controlClearFaults() -> Response {
        world.withLock { $0.faults = [] }
        webhooks.clearFaults()
        return Reply.json(200, .object([("faults", .array([]))]))
    }

    /// `?since=<seq>&tenantId=&path=&method=&limit=`.
    func controlCalls(_ r: Request) -> Response {
        let since = Int(queryValue(r, "since") ?? "") ?? 0
        let tenant = queryValue(r, "tenantId").flatMap { Ids.normalize($0) }
        let path = queryValue(r, "path")?.lowercased()
        let method = queryValue(r, "method")?.uppercased()
        let limit = max(0, Int(queryValue(r, "limit") ?? "") ?? 1000)
        return world.withLock { w in
            let list = w.calls.filter { c in
                c.sequence > since && (tenant == nil || c.tenantId == tenant)
                    && (path == nil || c.path.lowercased().contains(path!)) && (method == nil || c.method == method)
            }.sorted { $0.sequence < $1.sequence }.suffix(limit)
            return Reply.json(200, .object([("calls", .array(list.map(\.json))), ("lastSeq", .number(w.callSequence))]))
        }
    }

    func controlClearCalls() -> Response {
        world.withLock { w in
            w.calls = []
            return Reply.json(200, .object([("lastSeq", .number(w.callSequence))]))
        }
    }

    func controlWebhookConfig(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        do {
            let url = try f.string("url")
            let key = try f.string("key")
            let batch = try f.int("batchDelayMs")
            let maxEvents = try f.int("maxEventsPerPayload")
            let retryInitial = try f.int("retryInitialMs")
            let retryMax = try f.int("retryMaxMs")
            let timeout = try f.int("timeoutMs")
            let onlyConnected = try f.bool("onlyConnected")
            let enabled = try f.bool("enabled")
            let clearURL = f.members.contains { $0.key == "url" && $0.value.isNull }
            webhooks.withSettings { s in
                if let url { s.url = url.isEmpty ? nil : url }
                if clearURL { s.url = nil }
                if let key { s.key = key }
                if let batch { s.batchDelay = Double(max(0, batch)) / 1000 }
                if let maxEvents { s.maxEventsPerPayload = max(1, maxEvents) }
                if let retryInitial { s.retryInitial = Double(max(1, retryInitial)) / 1000 }
                if let retryMax { s.retryMax = Double(max(1, retryMax)) / 1000 }
                if let timeout { s.timeout = Double(max(1, timeout)) / 1000 }
                if let onlyConnected { s.onlyConnected = onlyConnected }
                if let enabled { s.enabled = enabled }
            }
            return Reply.json(200, webhooks.status(limit: 0))
        } catch {
            return Reply.controlError(400, error.description)
        }
    }

    func appState() -> Response {
        world.withLock { w in
            Reply.json(200, .object([("clientId", .string(w.clientId)), ("clientSecretSet", .bool(!w.clientSecret.isEmpty)),
                                     ("redirectUris", .array(w.redirectURIs.map { .string($0) })),
                                     ("name", .string(configuration.appName))]))
        }
    }

    /// `{"clientId", "clientSecret", "redirectUris": [...]}`: re-registers the one app.
    func controlApp(_ r: Request) -> Response {
        let f: JSONFields
        switch controlBody(r, required: true) {
        case .failure(let e): return e
        case .success(let v): f = v
        }
        let id = (try? f.string("clientId")) ?? nil
        let secret = (try? f.string("clientSecret")) ?? nil
        let uris = ((try? f.array("redirectUris")) ?? nil)?.compactMap(\.stringValue)
        world.withLock { w in
            if let id { w.clientId = id }
            if let secret { w.clientSecret = secret }
            if let uris { w.redirectURIs = uris }
        }
        return appState()
    }
}
