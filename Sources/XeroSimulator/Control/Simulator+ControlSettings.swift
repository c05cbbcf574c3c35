import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - consent, clock, limits, faults, calls, webhooks, app

    func controlConsent(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
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
        guard let loginId else { throw XeroError.control(404, "no login \(loginKey) (give its email or userId)") }
        var params: [(name: String, value: String)] = [("response_type", "code"), ("client_id", clientId),
                                                       ("redirect_uri", redirect), ("scope", scopeText)]
        if let state { params.append(("state", state)) }
        if let c = (try? f.string("codeChallenge")) ?? nil {
            params.append(("code_challenge", c))
            params.append(("code_challenge_method", ((try? f.string("codeChallengeMethod")) ?? nil) ?? "S256"))
        }
        let req: AuthorizeRequest
        do {
            req = try authorizeParameters(params)
        } catch let refused as XeroError {
            // An OAuth error goes back to the app, as the browser would be sent.
            if refused.response.status == 302, let location = refused.response.headers["Location"] {
                return Reply.json(200, .object([("redirect", .string(location))]))
            }
            throw XeroError.control(400, refused.message)
        }
        let chosen = tenantIds.isEmpty ? (world.withLock { $0.logins[loginId]?.tenantIds ?? [] }) : tenantIds
        let location = try refusedAsControlError(nil) { try consent(loginId: loginId, tenantIds: chosen, request: req) }
        return Reply.json(200, .object([("redirect", .string(location))]))
    }

    func clockState() -> Response {
        Reply.json(200, .object([("now", .string(XeroDate.formatISO(milliseconds: clock.now()))),
                                 ("offsetSeconds", .double(clock.offsetSeconds))]))
    }

    /// `{"advanceSeconds": 1800}`, `{"set": "2026-07-22T00:00:00Z"}` or `{"reset": true}`.
    func controlClock(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
        if let s = (try? f.decimal("advanceSeconds")) ?? nil {
            guard s >= .zero else { throw XeroError.control(400, "the clock only moves forward") }
            clock.advance(seconds: s.doubleValue)
        } else if let set = (try? f.string("set")) ?? nil {
            guard let ms = XeroModelDate.parseAny(set) else { throw XeroError.control(400, "set must be an ISO date-time") }
            clock.set(ms)
        } else if (try? f.bool("reset")) == true {
            clock.reset()
        } else {
            throw XeroError.control(400, "give advanceSeconds, set or reset")
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

    func controlLimits(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
        do {
            let enabled = try f.bool("enabled")
            let perMinute = try f.int("perMinute")
            let perDay = try f.int("perDay")
            let concurrent = try f.int("concurrent")
            let app = try f.int("appPerMinute")
            let latency = try f.int("latencyMs")
            let resetCounters = try f.bool("resetCounters") ?? false
            for v in [perMinute, perDay, concurrent, app, latency] where (v ?? 0) < 0 {
                throw XeroError.control(400, "limits must not be negative")
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
        } catch let e as XeroError {
            throw e
        } catch {
            throw XeroError.control(400, "\(error)")
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
    func controlApp(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
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
