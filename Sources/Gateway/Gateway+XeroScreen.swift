import Foundation
import HTTPServer
import Store
import StrictJSON

extension Gateway {
    static let xeroScreenRoutes: [Route] = [
        ("GET", "/admin/xero/status.json", { .respond(try $0.xeroScreenStatus($1)) }),
        ("POST", "/admin/xero/events/{id}/replay", { .respond(try $0.replayFromScreen($1)) }),
    ]

    /// `GET /admin/xero`: the Xero Integration screen — the connection card with its badge, last
    /// and next sync in words, the last run's result (a failure in red with its sentence), the
    /// review link, failed changes from Xero with "Replay". Admins get the buttons, staff a
    /// read-only view. A `?m=` message is moved into the flash cookie and the browser sent to the
    /// clean URL, so a reload never repeats it.
    func xeroScreen(_ request: Request) throws -> Response {
        guard let session = try browserSession(request) else { return Gateway.seeOther("/admin") }
        guard let accountId = session.user.accountId else {
            return page(403, title: "Not allowed", message: "Operators have no account screens.", session: session)
        }
        if let m = request.queryValue("m"), Gateway.screenMessages[m] != nil { return seeOther("/admin/xero", flash: m) }
        let c = try currentConnection(accountId)
        let isAdmin = session.user.role == .admin
        var context = try liveStatus(c)
        context.merge([
            "title": "Xero Integration", "signedIn": true, "navXero": true, "csrf": session.csrf, "role": session.user.role.rawValue,
            "state": c.state.rawValue, "stateLabel": wasDisconnected(c) ? "Disconnected" : Gateway.stateLabel(c.state),
            "canAct": isAdmin,
            "canActivate": c.state == .inactive,
            "canConnect": [.active, .needsReconnect].contains(c.state),
            "canSync": c.state == .connected,
            "choosing": c.state == .choosing,
        ]) { _, new in new }
        if let n = c.tenantName { context["tenantName"] = n }
        let zone = displayZone(c).zone
        if c.state == .connected, let at = c.connectedAt { context["connectedAt"] = Gateway.clockTime(at, zone: zone) ?? at }
        if c.state == .choosing {
            let offered = (try? accounts.offeredTenants(accountId: accountId)) ?? []
            context["offered"] = offered.map { ["tenantId": $0.tenantId, "tenantName": $0.tenantName] }
        }
        let now = clock.nowMilliseconds()
        // Rare (a contact Xero archived while one of its properties has a pending job or an open
        // issue), so reading the account's contacts for their names only then is fine.
        if hooks.syncSummary(accountId).waitingArchive > 0, let all = try? sync.allContacts(accountId: accountId) {
            let waiting = all.filter { $0.syncState == .waitingArchive }.prefix(20)
            if !waiting.isEmpty {
                context["hasWaiting"] = true
                context["waiting"] = waiting.map { ["name": $0.fields.name] }
            }
        }
        if let failed = try? inboxEvents.events(accountId: accountId, state: .failed, limit: 20, afterId: nil), !failed.isEmpty {
            context["hasEvents"] = true
            context["events"] = failed.map { e -> [String: Any] in
                ["id": String(e.id), "receivedAt": Gateway.relative(e.receivedAt, now: now, zone: zone),
                 "what": [e.category, e.type].compactMap { $0?.lowercased() }.joined(separator: " "),
                 "why": e.lastError ?? "unknown"]
            }
        }
        if let (text, isError) = Gateway.flash(request) {
            context["message"] = text
            context["isError"] = isError
        } else if c.state == .needsReconnect, wasDisconnected(c) {
            context["message"] = "Disconnected from Xero. Connect to Xero to resume syncing with \(c.tenantName ?? "the same organisation")."
        } else if c.state == .needsReconnect {
            context["message"] = "Xero no longer accepts this connection. Connect to Xero again to resume syncing."
            context["isError"] = true
        }
        return renderScreen(200, "xero", context, request)
    }

    /// `GET /admin/xero/status.json` (any signed-in user of the account): the screen's live parts
    /// in words, polled by `screens.js` while a sync runs.
    func xeroScreenStatus(_ request: Request) throws -> Response {
        guard let session = try browserSession(request) else {
            throw HTTPError(401, code: "unauthorized", message: "sign in first")
        }
        guard let accountId = session.user.accountId else {
            throw HTTPError(403, code: "forbidden", message: "operators have no account screens")
        }
        let status = try liveStatus(try currentConnection(accountId))
        func json(_ value: Any) -> JSON {
            switch value {
            case let b as Bool: return .bool(b)
            case let i as Int: return .number(i)
            case let a as [String]: return .array(a.map(JSON.string))
            case let a as [[String: Any]]: return .array(a.map(json))
            case let o as [String: Any]: return .object(o.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
            default: return .string("\(value)")
            }
        }
        let members = status.sorted { $0.key < $1.key }.map { (key: $0.key, value: json($0.value)) }
        var r = Response.json(200, JSON.object(members))
        r.headers.add("Cache-Control", "no-store")
        r.headers.add("X-Content-Type-Options", "nosniff")
        return r
    }

    /// The connection card's live values, in words.
    func liveStatus(_ c: AccountConnection) throws -> [String: Any] {
        let s = hooks.syncSummary(c.accountId)
        let now = clock.nowMilliseconds()
        let (zone, timesNote) = displayZone(c)
        let failed = s.lastSyncState == "failed"
        let (badge, badgeLabel): (String, String)
        switch c.state {
        case .connected where s.syncing: (badge, badgeLabel) = ("syncing", "Syncing")
        case .connected where failed: (badge, badgeLabel) = ("failed", "Failed")
        case .connected: (badge, badgeLabel) = ("connected", "Connected")
        case .needsReconnect where wasDisconnected(c): (badge, badgeLabel) = ("waiting", "Disconnected")
        case .needsReconnect: (badge, badgeLabel) = ("needs_reconnect", "Needs reconnect")
        case .inactive, .active, .choosing: (badge, badgeLabel) = ("waiting", "Not connected")
        }
        var result = "No sync has finished yet."
        if failed {
            result = "The last sync failed: " + (s.lastSyncErrors.isEmpty ? "no reason was recorded." : s.lastSyncErrors.joined(separator: " "))
        } else if s.lastSync != nil, let run = try? sync.lastFinishedRun(accountId: c.accountId, triggers: nil) {
            result = Gateway.resultWords(run.counts)
        }
        let recent = (try? sync.recentRuns(accountId: c.accountId, limit: 10)) ?? []
        var progress = ""
        if s.syncing, let running = recent.first(where: { $0.state == .running }), let started = Gateway.milliseconds(running.startedAt) {
            progress = "\(Gateway.triggerWords[running.trigger.rawValue] ?? running.trigger.rawValue), \(max(0, (now - started) / 1000)) s"
        }
        let runs = recent.map { run -> [String: Any] in
            let failed = run.state == .failed
            return ["what": Gateway.triggerWords[run.trigger.rawValue] ?? run.trigger.rawValue,
                    "when": Gateway.relative(run.startedAt, now: now, zone: zone),
                    "state": run.state == .running ? "running" : failed ? "failed" : "succeeded",
                    "stateLabel": run.state == .running ? "Running" : failed ? "Failed" : "Succeeded",
                    "failed": failed,
                    "result": run.state == .running || failed ? "" : Gateway.resultWords(run.counts),
                    "calls": Gateway.count(run.xeroCalls, "Xero call"), "errors": run.errors]
        }
        return [
            "runs": runs, "hasRuns": !runs.isEmpty,
            "badge": badge, "badgeLabel": badgeLabel, "syncing": s.syncing,
            "live": c.state == .connected && (s.syncing || s.lastSync == nil),
            "timesNote": timesNote,
            "lastSync": s.lastSync.map { Gateway.relative($0, now: now, zone: zone) } ?? "never",
            "nextSync": c.state == .connected ? s.nextSyncAt.map { Gateway.relative($0, now: now, zone: zone) } ?? "not scheduled" : "not scheduled",
            "result": result, "resultFailed": failed,
            "progress": progress,
            "pendingMatches": s.pendingMatches, "hasPendingMatches": s.pendingMatches > 0,
            "pendingText": s.pendingMatches == 0 ? "nobody" : Gateway.count(s.pendingMatches, "customer") + " to link or import",
            "waitingArchiveText": s.waitingArchive == 0 ? "none"
                : Gateway.count(s.waitingArchive, "contact") + ", archived in SortScape once Xero has archived them",
            "apiCallsLeft": s.apiCallsLeftToday.map { "\(Gateway.grouped($0)) of Xero's 5,000 daily calls" }
                ?? "all of Xero's 5,000 daily calls (none made yet today)",
        ]
    }

    /// `POST /admin/xero/events/{id}/replay` (admin session, CSRF): "Replay" of a failed change
    /// from Xero, as `POST /api/v1/xero/events/{id}/replay`.
    func replayFromScreen(_ request: Request) throws -> Response {
        let s = try adminSession(request)
        _ = try checkedForm(request, s)
        guard let id = request.pathParameter("id").flatMap({ $0.utf8.count <= 19 ? Int64($0) : nil }), id > 0 else {
            return page(404, title: "Not found", message: "That change from Xero no longer exists.", session: s)
        }
        let event: InboxEvent
        do { event = try syncState.replay(accountId: s.user.accountId, eventId: id) } catch {
            switch error.code {
            case .notFound: return page(404, title: "Not found", message: "That change from Xero no longer exists.", session: s)
            case .conflict: return page(409, title: "Not replayed", message: Gateway.sentence(error.message), session: s)
            default: throw error
            }
        }
        if let accountId = event.accountId { syncEngine.eventsArrived(accountIds: [accountId]) }
        return seeOther("/admin/xero", flash: "replayed")
    }

    static let triggerWords = [
        "initial": "First import", "webhook": "Changes from Xero", "scheduled": "Scheduled sync", "manual": "Sync with Xero",
        "reconcile": "Full reconciliation", "link": "Link", "push": "Changes sent to Xero", "invoice": "Invoice",
    ]

    /// A run's counts in words: "12 contacts imported, 3 to review".
    static func resultWords(_ counts: [String: Int]) -> String {
        let parts: [(String, String)] = [
            ("contactsCreated", "contact imported|contacts imported"), ("contactsMatched", "to review|to review"),
            ("contactsUpdatedFromXero", "contact updated from Xero|contacts updated from Xero"),
            ("contactsPushed", "contact sent to Xero|contacts sent to Xero"), ("conflicts", "conflict|conflicts"),
            ("contactsArchived", "contact archived|contacts archived"), ("materialsLinked", "material linked|materials linked"),
            ("eventsApplied", "change from Xero applied|changes from Xero applied"),
            ("contactsLinked", "contact linked|contacts linked"), ("contactsCreatedInXero", "contact created in Xero|contacts created in Xero"),
            ("materialsCreated", "material imported|materials imported"), ("itemsCreated", "item created in Xero|items created in Xero"),
            ("invoicesCreated", "invoice created|invoices created"), ("contactsWaitingArchive", "waiting to be archived|waiting to be archived"),
            ("eventsFailed", "change from Xero failed|changes from Xero failed"), ("pushesRefused", "change refused by Xero|changes refused by Xero"),
        ]
        let words = parts.compactMap { key, forms -> String? in
            guard let n = counts[key], n > 0 else { return nil }
            let f = forms.split(separator: "|").map(String.init)
            return "\(n) \(n == 1 ? f[0] : f[1])"
        }
        return words.isEmpty ? "Up to date: nothing new." : words.joined(separator: ", ")
    }

    static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

    static func grouped(_ n: Int) -> String {
        let digits = String(n)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return out
    }

    /// Milliseconds since 1970 of an ISO-8601 time (with or without fractional seconds).
    static func milliseconds(_ iso: String) -> Int64? {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = f.date(from: iso) { return Int64(d.timeIntervalSince1970 * 1000) }
        f.formatOptions = [.withInternetDateTime]
        return f.date(from: iso).map { Int64($0.timeIntervalSince1970 * 1000) }
    }

    /// "14:05 UTC", "03:05 NZDT" in another zone (with the date when not today there).
    static func clockTime(_ iso: String, zone: TimeZone = utc) -> String? {
        guard let ms = milliseconds(iso) else { return nil }
        let d = Date(timeIntervalSince1970: Double(ms) / 1000)
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_NZ")
        f.timeZone = zone
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = zone
        let label = zone.identifier == "UTC" ? "'UTC'" : "zzz"
        f.dateFormat = calendar.isDate(d, inSameDayAs: Date()) ? "HH:mm \(label)" : "d MMM yyyy HH:mm \(label)"
        return f.string(from: d)
    }

    /// "3 minutes ago (14:05 UTC)", "in 25 minutes (14:30 UTC)".
    static func relative(_ iso: String, now: Int64, zone: TimeZone = utc) -> String {
        guard let ms = milliseconds(iso) else { return iso }
        let seconds = (ms - now) / 1000
        let a = abs(seconds)
        let span: String
        switch a {
        case ..<45: span = ""
        case ..<90: span = "1 minute"
        case ..<3600: span = "\((a + 30) / 60) minutes"
        case ..<5400: span = "1 hour"
        case ..<86400: span = "\((a + 1800) / 3600) hours"
        default: span = count(Int((a + 43200) / 86400), "day")
        }
        let words = span.isEmpty ? (seconds <= 0 ? "just now" : "in a moment") : (seconds < 0 ? "\(span) ago" : "in \(span)")
        return clockTime(iso, zone: zone).map { "\(words) (\($0))" } ?? words
    }
}
