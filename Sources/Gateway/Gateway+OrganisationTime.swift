import Foundation
import Store
import StrictJSON
import Synchronization
import Xero

/// The screens' times in the organisation's own time zone: Xero's `Organisation.Timezone`, read
/// once (on a worker thread, never the request's) after the organisation is connected and kept
/// in the store; UTC, saying so, until then or when Xero names a zone this gateway does not know.
extension Gateway {
    static let utc = TimeZone(identifier: "UTC")!

    /// Xero's time zone names (Windows names, upper case, no spaces) and their IANA zones.
    static let xeroTimezones: [String: String] = [
        "NEWZEALANDSTANDARDTIME": "Pacific/Auckland", "CHATHAMISLANDSSTANDARDTIME": "Pacific/Chatham",
        "AUSEASTERNSTANDARDTIME": "Australia/Sydney", "EAUSTRALIASTANDARDTIME": "Australia/Brisbane",
        "TASMANIASTANDARDTIME": "Australia/Hobart", "CENAUSTRALIASTANDARDTIME": "Australia/Adelaide",
        "AUSCENTRALSTANDARDTIME": "Australia/Darwin", "WAUSTRALIASTANDARDTIME": "Australia/Perth",
        "GMTSTANDARDTIME": "Europe/London", "GREENWICHSTANDARDTIME": "Atlantic/Reykjavik",
        "WEUROPESTANDARDTIME": "Europe/Berlin", "ROMANCESTANDARDTIME": "Europe/Paris",
        "SOUTHAFRICASTANDARDTIME": "Africa/Johannesburg", "SINGAPORESTANDARDTIME": "Asia/Singapore",
        "EASTERNSTANDARDTIME": "America/New_York", "CENTRALSTANDARDTIME": "America/Chicago",
        "MOUNTAINSTANDARDTIME": "America/Denver", "PACIFICSTANDARDTIME": "America/Los_Angeles",
        "HAWAIIANSTANDARDTIME": "Pacific/Honolulu", "FIJISTANDARDTIME": "Pacific/Fiji", "UTC": "UTC",
    ]

    /// Tenants whose time zone is being read, or was tried lately (milliseconds of the try).
    private static let timezoneReads = Mutex<[String: Int64]>([:])

    /// The zone an account's times are shown in, and a sentence saying which. A connected account
    /// whose organisation's zone is not stored yet has it read from Xero in the background.
    func displayZone(_ c: AccountConnection) -> (zone: TimeZone, note: String) {
        guard let tenant = c.tenantId else { return (Gateway.utc, "Times are in UTC.") }
        if let name = (try? accounts.organisationTimezone(tenantId: tenant)) ?? nil {
            if let id = Gateway.xeroTimezones[name.uppercased()], let zone = TimeZone(identifier: id) {
                return (zone, "Times are in the organisation's time zone (\(id)).")
            }
            return (Gateway.utc, "Times are in UTC: Xero names the organisation's time zone \(name), which this gateway does not know.")
        }
        if c.state == .connected { readOrganisationTimezone(tenantId: tenant) }
        return (Gateway.utc, "Times are in UTC until the organisation's time zone has been read from Xero.")
    }

    /// `GET /Organisation` on a worker thread, its `Timezone` stored; one read per tenant at a
    /// time, and not again for 5 minutes after one that failed.
    func readOrganisationTimezone(tenantId: String) {
        let now = clock.nowMilliseconds()
        let start = Gateway.timezoneReads.withLock { reads -> Bool in
            if let last = reads[tenantId], now - last < 5 * 60 * 1000 { return false }
            reads[tenantId] = now
            return true
        }
        guard start else { return }
        let client = XeroAccountingClient(endpoints: identity.endpoints, tokens: xeroTokens, limiter: xeroLimiter,
                                          retry: XeroRetryPolicy(attempts: 2, timeout: 15),
                                          observer: { [metrics] in metrics.xeroCall($0) })
        let accounts = self.accounts, logger = self.logger
        interactiveWorkers.submit {
            do {
                let r = try client.send(tenantId: tenantId, method: "GET", path: "/Organisation", query: [], body: nil,
                                        idempotencyKey: nil, modifiedSince: nil)
                let json = try JSON.parse(r.body)
                guard let zone = json["Organisations"]?.arrayValue?.first?["Timezone"]?.stringValue, !zone.isEmpty,
                      zone.utf8.count <= 100 else {
                    logger.warning("xero organisation without a time zone", metadata: ["tenantId": "\(tenantId)"])
                    return
                }
                try accounts.setOrganisationTimezone(tenantId: tenantId, timezone: zone)
                Gateway.timezoneReads.withLock { $0[tenantId] = nil }
            } catch {
                logger.warning("xero organisation time zone not read", metadata: ["tenantId": "\(tenantId)", "error": "\(error)"])
            }
        }
    }
}
