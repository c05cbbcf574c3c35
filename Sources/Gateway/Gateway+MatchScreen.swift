import Foundation
import HTTPServer
import Store
import Sync

extension Gateway {
    static let matchScreenRoutes: [Route] = [
        ("GET", "/admin/assets/{name}", { .respond(try $0.asset($1)) }),
        ("GET", "/admin/xero/matches", { .respond(try $0.matchScreen($1)) }),
        ("POST", "/admin/xero/matches/{id}/link", { try $0.linkFromScreen($1) }),
        ("POST", "/admin/xero/matches/{id}/dismiss", { .respond(try $0.dismissFromScreen($1)) }),
    ]

    /// The flash cookie: the key of a message (one of `screenMessages`) a screen shows once after
    /// a redirect to its clean URL, then clears. Only a known key is ever shown, never its text.
    static let flashCookie = "xg_flash"

    /// A 303 to `location` (a clean URL) whose page shows message `key` once.
    func seeOther(_ location: String, flash key: String) -> Response {
        var r = Gateway.seeOther(location)
        r.headers.add("Set-Cookie", flashCookieHeader(key, maxAge: 60))
        return r
    }

    func flashCookieHeader(_ value: String, maxAge: Int) -> String {
        var c = "\(Gateway.flashCookie)=\(value); Path=/admin; Max-Age=\(maxAge); HttpOnly; SameSite=Lax"
        if configuration.servesHTTPS { c += "; Secure" }
        return c
    }

    /// The message a redirect left for this page, if any (a known key only): `(text, isError)`.
    static func flash(_ request: Request) -> (String, Bool)? {
        guard let key = cookie(flashCookie, in: request) else { return nil }
        return screenMessages[key] ?? recordScreenMessages[key]
    }

    /// Renders a screen, clearing the flash cookie when the request carried one (shown once).
    func renderScreen(_ status: Int, _ template: String, _ context: [String: Any], _ request: Request) -> Response {
        var r = render(status, template, context)
        if Gateway.cookie(Gateway.flashCookie, in: request) != nil { r.headers.add("Set-Cookie", flashCookieHeader("", maxAge: 0)) }
        return r
    }

    /// The review's fields, in the order shown: form name, label, length limit.
    static let reviewFields: [(field: String, label: String, max: Int)] = [
        ("name", "Name", 255), ("companyName", "Company", 255), ("email", "Email", 255), ("phone", "Phone", 50),
    ]

    /// `GET /admin/xero/matches`: R7's link review of the account's pending matches. Admins get
    /// the inputs and buttons; staff the same values read-only; operators a 403 page.
    func matchScreen(_ request: Request) throws -> Response {
        guard let session = try browserSession(request) else { return Gateway.seeOther("/admin") }
        guard session.user.accountId != nil else {
            return page(403, title: "Not allowed", message: "Operators have no account screens.", session: session)
        }
        var context = try matchContext(session)
        if let (text, isError) = Gateway.flash(request) { context["message"] = text; context["isError"] = isError }
        return renderScreen(200, "matches", context, request)
    }

    /// The review screen's values; `edited` keeps what was typed into one match's inputs (after
    /// a refused link, so nothing typed is lost).
    func matchContext(_ session: BrowserSession, edited: (matchId: String, fields: ContactFields)? = nil) throws -> [String: Any] {
        let accountId = session.user.accountId!
        let page = try store { () throws(StoreError) in try sync.matches(accountId: accountId, state: .pending, limit: 100, cursor: nil) }
        var items: [[String: Any]] = []
        for m in page.items {
            let review = try matchService.review(m)
            let proposed = edited?.matchId == m.id ? edited!.fields : review.proposed
            func values(_ f: ContactFields) -> [String: String] {
                ["name": f.name, "companyName": f.companyName, "email": f.email, "phone": f.phone]
            }
            let x = values(m.xero), s = values(review.sortscape), p = values(proposed)
            let fields: [[String: Any]] = Gateway.reviewFields.map { f in
                let xv = x[f.field] ?? "", sv = s[f.field] ?? ""
                return ["field": f.field, "label": f.label, "inputId": "\(f.field)-\(m.id)", "xero": xv, "sortscape": sv,
                        "proposed": p[f.field] ?? "", "required": f.field == "name", "xeroBlank": xv.isEmpty, "sortscapeBlank": sv.isEmpty,
                        "differs": xv.trimmingCharacters(in: .whitespaces) != sv.trimmingCharacters(in: .whitespaces)]
            }
            items.append(["id": m.id, "xeroName": m.xero.name, "fields": fields,
                          "reasons": m.reasons.joined(separator: ", ")])
        }
        var context: [String: Any] = [
            "title": "Link customers to existing contacts", "signedIn": true, "csrf": session.csrf,
            "role": session.user.role.rawValue, "canAct": session.user.role == .admin,
        ]
        if !items.isEmpty { context["items"] = items; context["hasItems"] = true }
        return context
    }

    /// `POST /admin/xero/matches/{id}/link` (admin session, CSRF; form `name`, `companyName`,
    /// `email`, `phone`): the API's link (R7) — what differs goes to Xero in one call, the values
    /// to the SortScape contact, and the two are linked. Then back to the review with a message;
    /// a refusal is the review again with its sentence and the typed values kept.
    func linkFromScreen(_ request: Request) throws -> HandlerResult {
        let s = try adminSession(request)
        let form = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let match = try screenMatch(accountId, request, s)
        var chosen = ContactFields()
        for f in Gateway.reviewFields {
            let v = (form[f.field] ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
            if let problem = Gateway.fieldProblem(v, label: f.label, max: f.max, required: f.field == "name") {
                return .respond(try reviewAgain(s, 422, problem, match.id, chosen: Gateway.fields(form)))
            }
            switch f.field {
            case "name": chosen.name = v
            case "companyName": chosen.companyName = v
            case "email": chosen.email = v
            default: chosen.phone = v
            }
        }
        let values = chosen, matches = matchService, logger = self.logger
        // The Xero call runs on a worker thread, never on the server's.
        return .deferred { [self] answer in
            interactiveWorkers.submit { [self] in
                do {
                    _ = try matches.link(accountId: accountId, matchId: match.id, chosen: values)
                    logger.info("match linked from the screen", metadata: ["accountId": "\(accountId)", "matchId": "\(match.id)"])
                    answer.respond(seeOther("/admin/xero/matches", flash: "linked"))
                } catch {
                    let failure = Gateway.failure(for: error, logger: logger)
                    let page = (try? reviewAgain(s, failure.status, Gateway.sentence(failure.message), match.id, chosen: values))
                    answer.respond(page ?? self.page(503, title: "Unavailable", message: "The store is unavailable; try again.", session: s))
                }
            }
        }
    }

    /// `POST /admin/xero/matches/{id}/dismiss` (admin session, CSRF): "Not the same — import as
    /// new", the API's dismiss.
    func dismissFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        let accountId = s.user.accountId!
        let match = try screenMatch(accountId, request, s)
        do {
            _ = try matchService.dismiss(accountId: accountId, matchId: match.id)
        } catch {
            let failure = Gateway.failure(for: error, logger: logger)
            return try reviewAgain(s, failure.status, Gateway.sentence(failure.message), nil, chosen: nil)
        }
        return seeOther("/admin/xero/matches", flash: "dismissed")
    }

    /// The pending match a screen post names (gone or already decided → the review with a sentence).
    func screenMatch(_ accountId: String, _ request: Request, _ s: BrowserSession) throws -> ContactMatchRecord {
        let id = request.pathParameter("id") ?? ""
        let m = id.utf8.count <= 100 ? try store({ () throws(StoreError) in try sync.match(accountId: accountId, id: id) }) : nil
        guard let m else {
            throw PageError(response: try reviewAgain(s, 404, "That match no longer exists.", nil, chosen: nil))
        }
        guard m.state == .pending else {
            throw PageError(response: try reviewAgain(s, 409, "That match was already \(m.state.rawValue).", nil, chosen: nil))
        }
        return m
    }

    func reviewAgain(_ s: BrowserSession, _ status: Int, _ message: String, _ matchId: String?, chosen: ContactFields?) throws -> Response {
        var context = try matchContext(s, edited: matchId.flatMap { id in chosen.map { (id, $0) } })
        context["message"] = message
        context["isError"] = true
        return render(status, "matches", context)
    }

    static func fields(_ form: [String: String]) -> ContactFields {
        ContactFields(name: form["name"] ?? "", companyName: form["companyName"] ?? "", email: form["email"] ?? "", phone: form["phone"] ?? "")
    }

    /// What is wrong with a typed value, as a sentence, or nil.
    static func fieldProblem(_ v: String, label: String, max: Int, required: Bool) -> String? {
        if required, v.isEmpty { return "\(label) must not be empty." }
        if v.count > max || v.utf8.count > max * 4 { return "\(label) must be at most \(max) characters." }
        if v.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7f }) { return "\(label) must be one line of text." }
        return nil
    }

    /// A message as a sentence: a capital first letter and a full stop.
    static func sentence(_ s: String) -> String {
        guard let first = s.first else { return s }
        let t = first.uppercased() + s.dropFirst()
        return t.hasSuffix(".") || t.hasSuffix("?") || t.hasSuffix("!") ? t : t + "."
    }
}
