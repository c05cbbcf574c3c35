import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
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
        do {
            let r = try controlConsent(Request(method: "POST", path: "/sim/consent", body: XeroWire.bytes(.object(body))))
            guard let redirect = (try? JSON.parse(r.body))?["redirect"]?.stringValue else {
                throw ControlError(description: "consent failed (\(r.status))")
            }
            return redirect
        } catch let e as XeroError {
            throw ControlError(description: e.message)
        } catch {
            throw ControlError(description: "\(error)")
        }
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
}
