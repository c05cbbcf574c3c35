import Foundation
import HTTPServer
import Store
import StrictJSON
import Sync

/// The record screens: contacts (R11's "Create contact in Xero"), materials (R13: linked ones
/// read-only) and visits (R15: "Complete", "Create Xero invoice"). Every signed-in user of the
/// account sees them; only admins get the actions, and every action post is CSRF-checked and
/// admin-only (staff → 403 page, no session → 401 page). Xero is never called from a handler:
/// the actions go through the sync engine on a worker thread, as the API's do.
extension Gateway {
    static let recordScreenRoutes: [Route] = [
        ("GET", "/admin/contacts", { .respond(try $0.contactsScreen($1)) }),
        ("GET", "/admin/contacts/{id}", { .respond(try $0.contactScreen($1)) }),
        ("POST", "/admin/contacts/{id}/xero", { try $0.createInXeroFromScreen($1) }),
        ("GET", "/admin/materials", { .respond(try $0.materialsScreen($1)) }),
        ("GET", "/admin/materials/{id}", { .respond(try $0.materialScreen($1)) }),
        ("POST", "/admin/materials/{id}", { .respond(try $0.editMaterialFromScreen($1)) }),
        ("GET", "/admin/visits", { .respond(try $0.visitsScreen($1)) }),
        ("GET", "/admin/visits/{id}", { .respond(try $0.visitScreen($1)) }),
        ("POST", "/admin/visits/{id}/complete", { .respond(try $0.completeFromScreen($1)) }),
        ("POST", "/admin/visits/{id}/invoice", { try $0.invoiceFromScreen($1) }),
        ("POST", "/admin/xero/disconnect", { try $0.disconnectFromScreen($1) }),
    ]

    /// The messages these screens leave for the next page (flash keys, see `screenMessages`).
    static let recordScreenMessages: [String: (String, Bool)] = [
        "created_in_xero": ("Created in Xero and linked: the contact now shows Linked to Xero.", false),
        "already_linked": ("That contact is already linked to Xero.", false),
        "material_saved": ("The material was saved.", false),
        "visit_completed": ("The visit is completed. Create its Xero invoice when you are ready.", false),
        "invoiced": ("The Xero invoice was created.", false),
        "disconnected": ("Disconnected from Xero: syncing has stopped and this gateway's connection at Xero was removed.", false),
        "disconnected_partly": ("Disconnected: syncing has stopped, but Xero did not confirm removing the connection. "
            + "You can remove it in Xero under Settings, Connected apps.", true),
    ]

    // MARK: - common

    /// The signed-in account user of a screen: no session → the sign-in page; an operator → 403 page.
    func accountScreenSession(_ request: Request) throws -> BrowserSession {
        guard let s = try browserSession(request) else { throw PageError(response: Gateway.seeOther("/admin")) }
        guard s.user.accountId != nil else {
            throw PageError(response: page(403, title: "Not allowed", message: "Operators have no account screens.", session: s))
        }
        return s
    }

    /// The values every record screen starts from; `nav` marks the current item of the menu.
    func screenContext(_ s: BrowserSession, title: String, nav: String) -> [String: Any] {
        ["title": title, "signedIn": true, "csrf": s.csrf, "role": s.user.role.rawValue,
         "canAct": s.user.role == .admin, nav: true]
    }

    /// The record the path names in the account, or a 404 page.
    func screenRecord<R: APIRecord>(_ type: R.Type, _ accountId: String, _ request: Request, _ s: BrowserSession) throws -> R {
        let id = request.pathParameter("id") ?? ""
        let found = id.utf8.count <= 100
            ? try store { () throws(StoreError) in try R.repository(records).get(accountId: accountId, id: id) } : nil
        guard let found else {
            throw PageError(response: page(404, title: "Not found", message: "There is no such \(R.noun).", session: s))
        }
        return found
    }

    /// A page of records for a list screen (`?cursor=` from the previous page; a bad one → 400 page).
    func screenPage<R: APIRecord>(_ type: R.Type, _ accountId: String, _ request: Request, _ s: BrowserSession,
                                  limit: Int = 50) throws -> RecordPage<R> {
        let cursor = request.queryValue("cursor").flatMap { $0.isEmpty ? nil : $0 }
        guard (cursor?.utf8.count ?? 0) <= 100 else {
            throw PageError(response: page(400, title: "Not found", message: "That page does not exist.", session: s))
        }
        let query = RecordQuery(accountId: accountId, archived: false, limit: limit, cursor: cursor)
        let result: Result<RecordPage<R>, HTTPError> = { () -> Result<RecordPage<R>, HTTPError> in
            do throws(HTTPError) {
                return .success(try store { () throws(StoreError) in try R.repository(records).list(query) })
            } catch {
                return .failure(error)
            }
        }()
        switch result {
        case .success(let p): return p
        case .failure(let e) where e.status == 400:
            throw PageError(response: page(400, title: "Not found", message: "That page does not exist.", session: s))
        case .failure(let e): throw e
        }
    }

    /// The zone the account's times are shown in (the organisation's, else UTC).
    func accountZone(_ accountId: String) -> TimeZone {
        (try? currentConnection(accountId)).map { displayZone($0).zone } ?? Gateway.utc
    }

    func connected(_ accountId: String) -> Bool { (try? currentConnection(accountId).state) == .connected }

    // MARK: - contacts (R11)

    /// `GET /admin/contacts?q=&cursor=`: the account's contacts, 50 a page, each with its Xero
    /// link state; `q` searches name, company, email and phone (the first 100 that match).
    func contactsScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        let accountId = s.user.accountId!
        var context = screenContext(s, title: "Contacts", nav: "navContacts")
        let q = (request.queryValue("q") ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
        let isAdmin = s.user.role == .admin, isConnected = connected(accountId)
        var shown: [ContactRecord]
        if !q.isEmpty {
            guard q.count <= 100 else { return page(400, title: "Contacts", message: "Search for at most 100 characters.", session: s) }
            context["q"] = q
            context["searching"] = true
            (shown, context["searchNote"]) = try searchContacts(accountId, q)
        } else {
            let p = try screenPage(ContactRecord.self, accountId, request, s)
            shown = p.items
            if request.queryValue("cursor") != nil { context["paged"] = true }
            if let next = p.nextCursor { context["nextPage"] = "/admin/contacts?cursor=" + Gateway.queryEscaped(next) }
        }
        context["emptyText"] = q.isEmpty ? "No contacts yet." : "No contact matches that search."
        context["back"] = "list"
        context["items"] = shown.map { c -> [String: Any] in
            var item = Gateway.linkState(c)
            item.merge(["id": c.id, "name": c.name, "email": c.email, "phone": c.phone,
                        "canCreate": isAdmin && isConnected && c.xeroContactId == nil && !c.archived,
                        "needsConnection": isAdmin && !isConnected && c.xeroContactId == nil && !c.archived]) { _, new in new }
            if !c.companyName.isEmpty { item["companyName"] = c.companyName }
            return item
        }
        context["hasItems"] = !shown.isEmpty
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "contacts", context, request)
    }

    /// The contacts matching `q` (case and accents ignored; phones by their digits), at most 100,
    /// and a note when there may be more.
    func searchContacts(_ accountId: String, _ q: String) throws -> ([ContactRecord], String?) {
        let needle = Gateway.folded(q)
        let digits = q.filter(\.isNumber)
        var found: [ContactRecord] = []
        var cursor: String?
        var pages = 0
        repeat {
            let p = try store { () throws(StoreError) in
                try records.contacts.list(RecordQuery(accountId: accountId, archived: false, limit: 500, cursor: cursor))
            }
            for c in p.items {
                let text = Gateway.folded([c.name, c.companyName, c.email].joined(separator: "\n"))
                if text.contains(needle) || (digits.count >= 3 && c.phone.filter(\.isNumber).contains(digits)) {
                    found.append(c)
                    if found.count == 100 { return (found, "Showing the first 100 matches: narrow the search to see others.") }
                }
            }
            cursor = p.nextCursor
            pages += 1
        } while cursor != nil && pages < 100
        return (found, found.isEmpty ? nil : Gateway.count(found.count, "contact") + " found.")
    }

    static func folded(_ s: String) -> String {
        s.folding(options: [.caseInsensitive, .diacriticInsensitive, .widthInsensitive], locale: nil)
    }

    /// A contact's link state in words and its badge.
    static func linkState(_ c: ContactRecord) -> [String: Any] {
        switch (c.xeroContactId, c.syncState) {
        case (_, .waitingArchive):
            return ["linkBadge": "waiting", "linkLabel": "Waiting to be archived",
                    "linkWords": "Xero archived this contact; it is archived here once its pending jobs and open issues are done."]
        case (.some, _):
            return ["linkBadge": "connected", "linkLabel": "Linked to Xero",
                    "linkWords": "Linked to a Xero contact: changes on either side are kept in step."]
        case (.none, _):
            return ["linkBadge": "waiting", "linkLabel": "Not in Xero",
                    "linkWords": "Not in Xero yet: create it there from the Actions menu, or its first invoice will."]
        }
    }

    /// `GET /admin/contacts/{id}`: the contact, its link state, its properties.
    func contactScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        var context = try contactContext(s, try screenRecord(ContactRecord.self, s.user.accountId!, request, s))
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "contact", context, request)
    }

    func contactContext(_ s: BrowserSession, _ c: ContactRecord) throws -> [String: Any] {
        let accountId = s.user.accountId!
        let isAdmin = s.user.role == .admin, isConnected = connected(accountId)
        var context = screenContext(s, title: c.name, nav: "navContacts")
        context.merge(Gateway.linkState(c)) { _, new in new }
        context.merge(["id": c.id, "name": c.name, "archived": c.archived, "back": "contact",
                       "canCreate": isAdmin && isConnected && c.xeroContactId == nil && !c.archived,
                       "needsConnection": isAdmin && !isConnected && c.xeroContactId == nil && !c.archived]) { _, new in new }
        context["fields"] = [("Company", c.companyName), ("Email", c.email), ("Phone", c.phone)].map(Gateway.field)
        let properties = try store { () throws(StoreError) in try records.properties(accountId: accountId, contactIds: [c.id]) }
        let sources: [PropertySource: String] = [.xeroBilling: "from Xero (postal address)", .xeroShipping: "from Xero (street address)",
                                                 .manual: "added in SortScape"]
        context["properties"] = properties.map { p -> [String: Any] in
            let parts = [p.addressLine1, p.addressLine2, p.addressLine3, p.addressLine4, p.city, p.region, p.postalCode, p.country]
            let address = parts.map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.joined(separator: ", ")
            return ["address": address.isEmpty ? "(no address)" : address, "source": sources[p.source] ?? p.source.rawValue,
                    "archived": p.archived]
        }
        return context
    }

    /// A label and value for a `<dl>`; a blank value is left out, so the page says "blank".
    static func field(_ pair: (String, String)) -> [String: Any] {
        pair.1.isEmpty ? ["label": pair.0] : ["label": pair.0, "value": pair.1]
    }

    /// `POST /admin/contacts/{id}/xero` (admin session, CSRF; `back=list` returns to the list):
    /// R11's "Create contact in Xero", through the sync engine as the API's
    /// `POST /api/v1/contacts/{id}/xero` (linking to a same-named Xero contact). Then back with a
    /// message once; Xero's refusal is the contact's page with its sentence in red.
    func createInXeroFromScreen(_ request: Request) throws -> HandlerResult {
        let s = try adminSession(request)
        let form = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let contact = try screenRecord(ContactRecord.self, accountId, request, s)
        let back = form["back"] == "list" ? "/admin/contacts" : "/admin/contacts/\(contact.id)"
        guard contact.xeroContactId == nil else { return .respond(seeOther(back, flash: "already_linked")) }
        guard !contact.archived else {
            return .respond(try contactAgain(s, contact, 409, "This contact is archived; archived contacts are not created in Xero."))
        }
        guard connected(accountId) else { return .respond(try contactAgain(s, contact, 409, SyncError.notConnected.message)) }
        let engine = syncEngine, logger = self.logger
        return .deferred { [self] answer in
            interactiveWorkers.submit { [self] in
                do {
                    _ = try engine.createContactInXero(accountId: accountId, contactId: contact.id)
                    logger.info("contact created in xero from the screen", metadata: ["accountId": "\(accountId)", "contactId": "\(contact.id)"])
                    answer.respond(seeOther(back, flash: "created_in_xero"))
                } catch {
                    let failure = Gateway.failure(for: error, logger: logger)
                    let current = (try? records.contacts.get(accountId: accountId, id: contact.id)) ?? contact
                    answer.respond((try? contactAgain(s, current, failure.status, failure.message))
                                   ?? page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: s))
                }
            }
        }
    }

    func contactAgain(_ s: BrowserSession, _ c: ContactRecord, _ status: Int, _ message: String) throws -> Response {
        var context = try contactContext(s, c)
        context["message"] = Gateway.sentence(message)
        context["isError"] = true
        return render(status, "contact", context)
    }

    // MARK: - materials (R13)

    /// `GET /admin/materials`: every material with its price and Xero state; linked ones say
    /// they are managed in Xero (read-only), unlinked ones are editable by an admin.
    func materialsScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        let isAdmin = s.user.role == .admin
        var context = screenContext(s, title: "Materials", nav: "navMaterials")
        let p = try screenPage(MaterialRecord.self, s.user.accountId!, request, s, limit: 100)
        context["items"] = p.items.map { m -> [String: Any] in
            var item: [String: Any] = ["id": m.id, "name": m.name, "code": m.code, "unitPrice": Gateway.decimal(m.unitPrice, minimumFraction: 2),
                                       "linked": m.readOnly, "editable": isAdmin && !m.readOnly]
            if !m.description.isEmpty { item["description"] = m.description }
            return item
        }
        context["hasItems"] = !p.items.isEmpty
        if request.queryValue("cursor") != nil { context["paged"] = true }
        if let next = p.nextCursor { context["nextPage"] = "/admin/materials?cursor=" + Gateway.queryEscaped(next) }
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "materials", context, request)
    }

    /// `GET /admin/materials/{id}`: an admin's edit form for an unlinked material; otherwise the
    /// values read-only (a linked one saying why: R13).
    func materialScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        let m = try screenRecord(MaterialRecord.self, s.user.accountId!, request, s)
        return renderScreen(200, "material", materialContext(s, m, typed: nil), request)
    }

    func materialContext(_ s: BrowserSession, _ m: MaterialRecord, typed: [String: String]?) -> [String: Any] {
        var context = screenContext(s, title: m.name, nav: "navMaterials")
        context.merge(["id": m.id, "linked": m.readOnly, "editable": s.user.role == .admin && !m.readOnly && !m.archived,
                       "name": typed?["name"] ?? m.name, "code": typed?["code"] ?? m.code,
                       "description": typed?["description"] ?? m.description,
                       "unitPriceInput": typed?["unitPrice"] ?? Gateway.decimal(m.unitPrice, minimumFraction: 2)]) { _, new in new }
        context["fields"] = [("Name", m.name), ("Code", m.code), ("Description", m.description),
                             ("Unit price", Gateway.decimal(m.unitPrice, minimumFraction: 2))].map(Gateway.field)
        return context
    }

    /// `POST /admin/materials/{id}` (admin session, CSRF; `name`, `code`, `description`,
    /// `unitPrice`): the API's PATCH of an unlinked material. A linked one is 409 with the reason
    /// (R13), checked again in the write's transaction (a sync may link it meanwhile); a bad
    /// value is the form again with its sentence and the typed values kept.
    func editMaterialFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        let form = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let m = try screenRecord(MaterialRecord.self, accountId, request, s)
        guard !m.readOnly else { return materialAgain(s, m, nil, 409, HTTPError.managedInXero.message) }
        guard !m.archived else { return materialAgain(s, m, nil, 409, "This material is archived.") }
        let members: [(key: String, value: JSON)]
        switch Gateway.materialMembers(form) {
        case .failure(let problem): return materialAgain(s, m, form, 422, problem.message)
        case .success(let given): members = given
        }
        if let problem = checkMaterialPatch(m, members) { return materialAgain(s, m, form, problem.status, problem.message) }
        let outcome = saveMaterial(accountId, m.id, members)
        guard outcome == nil else {
            let now = (try? records.materials.get(accountId: accountId, id: m.id)) ?? nil
            if outcome!.status >= 500 { throw outcome! }
            return materialAgain(s, now ?? m, nil, 409,
                                 now?.readOnly == true ? HTTPError.managedInXero.message : "The material changed meanwhile; try again.")
        }
        return seeOther("/admin/materials", flash: "material_saved")
    }

    func materialAgain(_ s: BrowserSession, _ m: MaterialRecord, _ typed: [String: String]?, _ status: Int, _ message: String) -> Response {
        var context = materialContext(s, m, typed: typed)
        context["message"] = Gateway.sentence(message)
        context["isError"] = true
        return render(status, "material", context)
    }

    /// The PATCH body a material form stands for, or what is wrong with it (a sentence).
    static func materialMembers(_ form: [String: String]) -> Result<[(key: String, value: JSON)], HTTPError> {
        var members: [(key: String, value: JSON)] = []
        for (field, label, max) in [("name", "Name", 255), ("code", "Code", 255), ("description", "Description", 4000)] {
            let v = (form[field] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if let problem = Gateway.fieldProblem(v, label: label, max: max, required: field == "name") {
                return .failure(HTTPError(422, code: "invalid_field", message: problem))
            }
            members.append((field, .string(v)))
        }
        let price = (form["unitPrice"] ?? "").trimmingCharacters(in: .whitespaces)
        guard price.utf8.count <= 20, !price.isEmpty, price.allSatisfy({ $0.isASCII && ($0.isNumber || $0 == ".") }),
              let units = Money.tenThousandths(price), units >= 0 else {
            return .failure(HTTPError(422, code: "invalid_field", message: "Unit price must be a number with at most 4 decimals, like 12.50."))
        }
        members.append(("unitPrice", Money.json(units)))
        return .success(members)
    }

    /// The API's own checks of a material PATCH, without writing; nil when it is fine.
    func checkMaterialPatch(_ m: MaterialRecord, _ members: [(key: String, value: JSON)]) -> HTTPError? {
        var probe = m
        do throws(HTTPError) {
            var body = try RecordBody(members: members)
            try probe.patch(&body, self)
            try body.rejectOthers(readOnly: MaterialRecord.readOnlyFields)
            return nil
        } catch {
            return error
        }
    }

    /// Writes the PATCH in one transaction, refused if the material got linked meanwhile (R13);
    /// nil when written.
    func saveMaterial(_ accountId: String, _ id: String, _ members: [(key: String, value: JSON)]) -> HTTPError? {
        let gateway = self
        do throws(HTTPError) {
            _ = try store { () throws(StoreError) in
                try records.materials.modify(accountId: accountId, id: id, expectedVersion: nil) { current throws(StoreError) in
                    guard !current.readOnly else { throw StoreError(code: .conflict, message: HTTPError.managedInXero.message) }
                    do throws(HTTPError) {
                        var b = try RecordBody(members: members)
                        try current.patch(&b, gateway)
                    } catch {
                        throw StoreError(code: .conflict, message: "the material changed while it was being edited")
                    }
                }
            }
            return nil
        } catch {
            return error
        }
    }

    // MARK: - visits (R15)

    /// `GET /admin/visits`: the account's visits, 50 a page: customer, status, total, invoice.
    func visitsScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        let accountId = s.user.accountId!
        var context = screenContext(s, title: "Visits", nav: "navVisits")
        let p = try screenPage(VisitRecord.self, accountId, request, s)
        var names: [String: String] = [:]
        let now = clock.nowMilliseconds(), zone = accountZone(accountId)
        context["items"] = try p.items.map { v -> [String: Any] in
            if names[v.contactId] == nil {
                names[v.contactId] = try store { () throws(StoreError) in try records.contacts.get(accountId: accountId, id: v.contactId) }?.name ?? "unknown"
            }
            var item = Gateway.visitState(v)
            item.merge(["id": v.id, "contactName": names[v.contactId] ?? "", "total": Gateway.cents(Gateway.totalCents(v)),
                        "when": "Visit " + Gateway.relative(v.completedAt ?? v.createdAt, now: now, zone: zone)]) { _, new in new }
            return item
        }
        context["hasItems"] = !p.items.isEmpty
        if request.queryValue("cursor") != nil { context["paged"] = true }
        if let next = p.nextCursor { context["nextPage"] = "/admin/visits?cursor=" + Gateway.queryEscaped(next) }
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "visits", context, request)
    }

    static func visitState(_ v: VisitRecord) -> [String: Any] {
        var item: [String: Any] = ["invoiced": v.invoiced]
        if v.invoiced {
            item["statusBadge"] = "invoiced"; item["statusLabel"] = "Invoiced"
            item["xeroInvoiceNumber"] = v.xeroInvoiceNumber ?? "(no number yet)"
            item["xeroInvoiceStatus"] = v.xeroInvoiceStatus ?? "unknown"
        } else if v.status == .completed {
            item["statusBadge"] = "completed"; item["statusLabel"] = "Completed"
        } else {
            item["statusBadge"] = "open"; item["statusLabel"] = "Open"
        }
        if v.archived { item["statusLabel"] = (item["statusLabel"] as? String ?? "") + " · archived" }
        return item
    }

    /// `GET /admin/visits/{id}`: lines, total, status; the invoice's number and status; an
    /// admin's "Complete" (open visit) and "Create Xero invoice" (completed, not invoiced).
    func visitScreen(_ request: Request) throws -> Response {
        let s = try accountScreenSession(request)
        var context = try visitContext(s, try screenRecord(VisitRecord.self, s.user.accountId!, request, s))
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "visit", context, request)
    }

    func visitContext(_ s: BrowserSession, _ v: VisitRecord) throws -> [String: Any] {
        let accountId = s.user.accountId!
        let now = clock.nowMilliseconds(), zone = accountZone(accountId)
        let contact = try store { () throws(StoreError) in try records.contacts.get(accountId: accountId, id: v.contactId) }
        var context = screenContext(s, title: "Visit", nav: "navVisits")
        context.merge(Gateway.visitState(v)) { _, new in new }
        context.merge(["id": v.id, "contactId": v.contactId, "contactName": contact?.name ?? "unknown",
                       "created": Gateway.relative(v.createdAt, now: now, zone: zone),
                       "completed": v.completedAt.map { Gateway.relative($0, now: now, zone: zone) } ?? "not yet",
                       "total": Gateway.cents(Gateway.totalCents(v)),
                       "canComplete": v.status != .completed && !v.archived,
                       "canInvoice": v.status == .completed && !v.invoiced && !v.archived && !v.lines.isEmpty]) { _, new in new }
        if let pid = v.propertyId,
           let p = try store({ () throws(StoreError) in try records.properties.get(accountId: accountId, id: pid) }) {
            context["property"] = [p.addressLine1, p.city, p.postalCode].filter { !$0.isEmpty }.joined(separator: ", ")
        }
        context["lines"] = v.lines.map { l -> [String: Any] in
            ["description": l.description, "kindLabel": l.kind == .labour ? "labour" : "material",
             "quantity": Gateway.decimal(l.quantity, minimumFraction: 0), "unitPrice": Gateway.decimal(l.unitPrice, minimumFraction: 2),
             "amount": Gateway.cents(Gateway.lineCents(l))]
        }
        if v.invoiced {
            context["invoiceStatusWords"] = Gateway.invoiceStatusWords[v.xeroInvoiceStatus ?? ""] ?? ""
        } else if v.archived {
            context["invoiceText"] = "This visit is archived; it is not invoiced."
        } else if v.status != .completed {
            context["invoiceText"] = "Complete the visit to create its Xero invoice."
        } else if v.lines.isEmpty {
            context["invoiceText"] = "This visit has no lines; add the materials used and the labour, then create the invoice."
        } else {
            context["invoiceText"] = connected(accountId) ? "Not invoiced yet." : "Not invoiced yet. Connect to Xero to create the invoice."
        }
        return context
    }

    static let invoiceStatusWords = [
        "DRAFT": "A draft in Xero: approve it there to send it.", "SUBMITTED": "Waiting for approval in Xero.",
        "AUTHORISED": "Approved in Xero, waiting for payment.", "PAID": "Paid.", "VOIDED": "Voided in Xero.",
        "DELETED": "Deleted in Xero.",
    ]

    /// `POST /admin/visits/{id}/complete` (admin session, CSRF): the API's complete.
    func completeFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let v = try screenRecord(VisitRecord.self, accountId, request, s)
        guard !v.archived else { return try visitAgain(s, v, 409, HTTPError.visitArchived.message) }
        if v.status != .completed, let problem = completeVisit(accountId, v.id) {
            if problem.status >= 500 { throw problem }
            return try visitAgain(s, v, 409, HTTPError.visitArchived.message)
        }
        return seeOther("/admin/visits/\(v.id)", flash: "visit_completed")
    }

    /// `POST /admin/visits/{id}/invoice` (admin session, CSRF): R15's one invoice, through the
    /// sync engine as `POST /api/v1/visits/{id}/invoice` (on a worker thread). Then the visit's
    /// page with the invoice's number and status; Xero's refusal is its sentence in red.
    func invoiceFromScreen(_ request: Request) throws -> HandlerResult {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let v = try screenRecord(VisitRecord.self, accountId, request, s)
        let location = "/admin/visits/\(v.id)"
        if v.invoiced { return .respond(seeOther(location, flash: "invoiced")) }
        guard !v.archived else { return .respond(try visitAgain(s, v, 409, HTTPError.visitArchived.message)) }
        guard v.status == .completed else {
            return .respond(try visitAgain(s, v, 409, "This visit is not completed; complete it, then create the invoice."))
        }
        guard !v.lines.isEmpty else {
            return .respond(try visitAgain(s, v, 422, "This visit has no lines; add the materials used and the labour, then create the invoice."))
        }
        guard connected(accountId) else { return .respond(try visitAgain(s, v, 409, SyncError.notConnected.message)) }
        let engine = syncEngine, logger = self.logger
        return .deferred { [self] answer in
            interactiveWorkers.submit { [self] in
                do {
                    _ = try engine.invoiceVisit(accountId: accountId, visitId: v.id)
                    answer.respond(seeOther(location, flash: "invoiced"))
                } catch {
                    let failure = Gateway.failure(for: error, logger: logger)
                    let current = (try? records.visits.get(accountId: accountId, id: v.id)) ?? v
                    answer.respond((try? visitAgain(s, current, failure.status, failure.message))
                                   ?? page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: s))
                }
            }
        }
    }

    /// Completes the visit in one transaction (an archived one is refused); nil when written.
    func completeVisit(_ accountId: String, _ id: String) -> HTTPError? {
        let now = clock.timestamp()
        do throws(HTTPError) {
            _ = try store { () throws(StoreError) in
                try records.visits.modify(accountId: accountId, id: id, expectedVersion: nil) { visit throws(StoreError) in
                    guard !visit.archived else { throw StoreError(code: .conflict, message: "the visit was archived") }
                    guard visit.status != .completed else { return }
                    visit.status = .completed
                    visit.completedAt = now
                }
            }
            return nil
        } catch {
            return error
        }
    }

    func visitAgain(_ s: BrowserSession, _ v: VisitRecord, _ status: Int, _ message: String) throws -> Response {
        var context = try visitContext(s, v)
        context["message"] = Gateway.sentence(message)
        context["isError"] = true
        return render(status, "visit", context)
    }

    // MARK: - disconnect (R3's lock stays)

    /// `POST /admin/xero/disconnect` (admin session, CSRF): stops syncing and removes this
    /// account's connection at Xero (`XeroConnections.disconnect`, on a worker thread); the
    /// organisation lock stays, so connecting again reconnects the same organisation only.
    func disconnectFromScreen(_ request: Request) throws -> HandlerResult {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        let accountId = s.user.accountId!
        guard connected(accountId) else {
            return .respond(page(409, title: "Not connected", message: "This account is not connected to Xero.", session: s))
        }
        let connections = xeroConnections, logger = self.logger
        return .deferred { [self] answer in
            interactiveWorkers.submit { [self] in
                do {
                    let report = try connections.disconnect(accountId: accountId)
                    answer.respond(seeOther("/admin/xero", flash: report.disconnected ? "disconnected" : "disconnected_partly"))
                } catch let e as StoreError where e.code == .conflict {
                    answer.respond(page(409, title: "Not connected", message: "This account is not connected to Xero.", session: s))
                } catch {
                    logger.error("disconnect failed", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
                    answer.respond(page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: s))
                }
            }
        }
    }

    /// Whether a `needs_reconnect` account was disconnected by an admin (it has no tokens left),
    /// rather than refused by Xero.
    func wasDisconnected(_ c: AccountConnection) -> Bool {
        c.state == .needsReconnect && ((try? xeroTokens.tokens(accountId: c.accountId)) ?? nil) == nil
    }

    // MARK: - amounts

    /// A line's amount in cents, as Xero rounds it: quantity × unit price to 2 decimals, half away from zero.
    static func lineCents(_ l: VisitLine) -> Int64 {
        let product = Int128(l.quantity) * Int128(l.unitPrice)  // 10⁻⁸
        let cents = (product + 500_000) / 1_000_000
        return Int64(clamping: cents)
    }

    static func totalCents(_ v: VisitRecord) -> Int64 {
        v.lines.reduce(0) { $0 &+ lineCents($1) }
    }

    /// "1,234.50".
    static func cents(_ c: Int64) -> String {
        let f = String(abs(c) % 100)
        return (c < 0 ? "-" : "") + grouped(Int(abs(c) / 100)) + "." + (f.count == 1 ? "0" + f : f)
    }

    /// Ten-thousandths as text with at least `minimumFraction` decimals: "12.50", "0.0125", "3".
    static func decimal(_ units: Int64, minimumFraction: Int) -> String {
        let whole = abs(units) / 10_000
        var frac = String(abs(units) % 10_000)
        frac = String(repeating: "0", count: 4 - frac.count) + frac
        while frac.count > minimumFraction, frac.hasSuffix("0") { frac.removeLast() }
        return (units < 0 ? "-" : "") + grouped(Int(whole)) + (frac.isEmpty ? "" : "." + frac)
    }

    static func queryEscaped(_ s: String) -> String {
        s.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }
}
