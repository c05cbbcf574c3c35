import Foundation
import Logging
import Store
import Timekeeping
import Xero

/// Connecting an account to Xero, in one place (R2–R4): a consent's code exchanged and its
/// organisations decided (one connects, several go to the chooser), a choice among them, the
/// tenant lock, stray connections removed at Xero, and support's reset. The route handlers
/// above it only read requests and render answers. Blocking (it calls Xero): run it on a
/// worker thread.
public final class XeroConnections: Sendable {
    let accounts: any AccountRepository
    public let tokens: XeroTokenManager
    let identity: XeroIdentityClient
    /// Starts the account's first sync (`initial`) or, on a reconnect, a sweep (`manual`).
    let requestSync: @Sendable (_ accountId: String, _ trigger: SyncTrigger) -> Void
    let clock: any WallClock
    let logger: Logger

    public init(accounts: any AccountRepository, tokens: XeroTokenManager, identity: XeroIdentityClient,
                requestSync: @escaping @Sendable (_ accountId: String, _ trigger: SyncTrigger) -> Void,
                clock: any WallClock = SystemWallClock(), logger: Logger = Logger(label: "xero-gateway.connections")) {
        self.accounts = accounts
        self.tokens = tokens
        self.identity = identity
        self.requestSync = requestSync
        self.clock = clock
        self.logger = logger
    }

    /// What a consent (or a choice among its organisations) came to.
    public enum Outcome: Sendable, Equatable {
        case connected(tenantName: String, first: Bool)
        case choosing
        /// Nothing changed; the message says why (R3's lock, or another account's organisation).
        case refused(String)
        /// Xero did not complete the exchange or the connections list.
        case xeroError
        /// Xero gave access to no organisation.
        case noOrganisation
        case storeUnavailable
    }

    /// A choice that cannot be made, with a stable code.
    public struct ChoiceError: Error, Sendable, Equatable {
        public let code: String
        public let message: String

        public static let notChoosing = ChoiceError(code: "not_choosing", message: "there is no organisation to choose: connect to Xero first")
        public static let notOffered = ChoiceError(code: "tenant_not_offered", message: "that organisation is not one Xero offered for this account")
        public static let storeUnavailable = ChoiceError(code: "store_unavailable", message: "the store is unavailable; try again")
    }

    public static func lockedMessage(_ tenantName: String?) -> String {
        "This SortScape account is connected to \(tenantName ?? "another Xero organisation"). To connect a different "
            + "Xero organisation, contact support to reset the connection."
    }
    public static let takenMessage = "That Xero organisation is already connected to another SortScape account."

    // MARK: - consent (R2, R3)

    /// Exchanges the code and decides with this consent's organisations (`authEventId`): the
    /// locked one reconnects and any other is refused (R3); one connects; several are offered.
    ///
    /// Xero is called first (the exchange, the connections list), then the decision and every
    /// store step run as one under the account's lock (`XeroTokenManager.withAccountLock`), so
    /// two consents for one account cannot interleave: the second sees what the first did (a
    /// tenant locked, an offer made) and decides on it, and neither puts tokens back over the
    /// other's. Stray connections are removed at Xero once the lock is let go.
    public func completeConsent(accountId: String, code: String) -> Outcome {
        let response: XeroTokenResponse
        let offered: [XeroConnection]
        do {
            response = try identity.exchange(code: code)
            offered = try identity.connections(accessToken: response.accessToken,
                                               authEventId: XeroIdentityClient.authEventId(fromAccessToken: response.accessToken))
        } catch {
            logger.error("xero consent could not be completed", metadata: ["accountId": "\(accountId)", "error": "\(error.code)"])
            return .xeroError
        }
        var seen = Set<String>()
        let orgs = offered.filter { seen.insert($0.tenantId.lowercased()).inserted }
        let (outcome, strays) = tokens.withAccountLock(accountId) { () -> (Outcome, Set<String>) in
            guard let previous = try? accounts.connection(accountId: accountId) else { return (.storeUnavailable, []) }
            if orgs.isEmpty { return (.noOrganisation, []) }
            if let locked = previous.tenantId {
                let strays = Set(orgs.map { $0.tenantId.lowercased() }).subtracting([locked])
                guard let same = orgs.first(where: { $0.tenantId.lowercased() == locked }) else {
                    return (.refused(XeroConnections.lockedMessage(previous.tenantName)), strays)
                }
                return (storeAndConnect(accountId: accountId, response: response, tenantId: locked,
                                        tenantName: same.tenantName ?? previous.tenantName ?? "", previous: previous), strays)
            }
            if orgs.count == 1 {
                return (storeAndConnect(accountId: accountId, response: response, tenantId: orgs[0].tenantId.lowercased(),
                                        tenantName: orgs[0].tenantName ?? "", previous: previous), [])
            }
            do {
                try tokens.save(accountId: accountId, response)
                try accounts.setChoosing(accountId: accountId, tenants: orgs.map {
                    OfferedTenant(tenantId: $0.tenantId, tenantName: $0.tenantName ?? $0.tenantId)
                })
                return (.choosing, [])
            } catch {
                logger.error("choosing not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
                return (.storeUnavailable, [])
            }
        }
        disconnectStrays(accountId: accountId, tenants: strays, listed: (orgs, response.accessToken))
        return outcome
    }

    /// Connects the account to one of the organisations its consent offered; the others'
    /// connections are removed at Xero afterwards (`removeStrays`, on the caller's worker).
    /// Decided and stored under the account's lock, as a consent is.
    public func choose(accountId: String, tenantId: String) throws(ChoiceError) -> (outcome: Outcome, strays: Set<String>) {
        let decided = tokens.withAccountLock(accountId) { () -> Result<(Outcome, Set<String>), ChoiceError> in
            let c: AccountConnection?
            do { c = try accounts.connection(accountId: accountId) } catch { return .failure(.storeUnavailable) }
            guard let c, c.state == .choosing else { return .failure(.notChoosing) }
            let offered: [OfferedTenant]
            do { offered = try accounts.offeredTenants(accountId: accountId) } catch { return .failure(.storeUnavailable) }
            guard let pick = offered.first(where: { $0.tenantId == tenantId.lowercased() }) else { return .failure(.notOffered) }
            let outcome = connectTenant(accountId: accountId, tenantId: pick.tenantId, tenantName: pick.tenantName, previous: c)
            guard case .connected = outcome else { return .success((outcome, [])) }
            return .success((outcome, Set(offered.map(\.tenantId)).subtracting([pick.tenantId])))
        }
        let (outcome, strays) = try decided.get()
        return (outcome, strays)
    }

    /// Stores the consent's tokens and connects; the tokens are kept only if the connection is.
    /// The caller holds the account's lock.
    func storeAndConnect(accountId: String, response: XeroTokenResponse, tenantId: String, tenantName: String,
                         previous: AccountConnection) -> Outcome {
        if let holder = try? accounts.connection(tenantId: tenantId), holder.accountId != accountId {
            return .refused(XeroConnections.takenMessage)
        }
        let oldTokens = try? tokens.tokens(accountId: accountId)
        do {
            try tokens.save(accountId: accountId, response)
        } catch {
            logger.error("tokens not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            return .refused("The connection could not be stored; try again.")
        }
        return connectTenant(accountId: accountId, tenantId: tenantId, tenantName: tenantName, previous: previous,
                             restore: { [self] in
                                 if let oldTokens {
                                     try? tokens.save(accountId: accountId, XeroTokenResponse(
                                         idToken: nil, accessToken: oldTokens.accessToken,
                                         expiresIn: Int(max(0, (oldTokens.accessExpiresAt - clock.nowMilliseconds()) / 1000)),
                                         refreshToken: oldTokens.refreshToken, scope: ""))
                                 } else {
                                     try? tokens.delete(accountId: accountId)
                                 }
                             })
    }

    /// Locks the account to the tenant (R3) and starts the first sync (R2), or a sweep on a
    /// reconnect. The caller holds the account's lock (the run it starts waits for it on its worker).
    func connectTenant(accountId: String, tenantId: String, tenantName: String, previous: AccountConnection,
                       restore: () -> Void = {}) -> Outcome {
        do {
            try accounts.connect(accountId: accountId, tenantId: tenantId, tenantName: tenantName)
        } catch {
            restore()
            if error.code == .conflict || error.code == .locked {
                return .refused(error.code == .locked ? XeroConnections.lockedMessage(previous.tenantName) : XeroConnections.takenMessage)
            }
            logger.error("connection not stored", metadata: ["accountId": "\(accountId)", "error": "\(error)"])
            return .refused("The connection could not be stored; try again.")
        }
        let first = previous.connectedAt == nil
        logger.info("connected to xero", metadata: ["accountId": "\(accountId)", "tenantId": "\(tenantId)", "first": "\(first)"])
        requestSync(accountId, first ? .initial : .manual)
        return .connected(tenantName: tenantName, first: first)
    }

    /// Removes this account's connections to `tenants` at Xero, so no stray connection lingers
    /// (best effort; logged). Organisations another SortScape account uses are left alone (the
    /// same Xero user may have made that connection). Not a revocation: Xero's revocation ends
    /// every connection of that Xero user, the locked organisation's included (FACTS §2.1).
    public func removeStrays(accountId: String, tenants: Set<String>) {
        disconnectStrays(accountId: accountId, tenants: tenants, listed: nil)
    }

    func disconnectStrays(accountId: String, tenants: Set<String>, listed: ([XeroConnection], String)?) {
        guard !tenants.isEmpty else { return }
        var list: [XeroConnection], token: String
        if let listed {
            (list, token) = listed
        } else {
            guard let t = try? tokens.tokens(accountId: accountId),
                  let l = try? identity.connections(accessToken: t.accessToken,
                                                    authEventId: XeroIdentityClient.authEventId(fromAccessToken: t.accessToken))
            else { logger.warning("stray xero connections not listed", metadata: ["accountId": "\(accountId)"]); return }
            (list, token) = (l, t.accessToken)
        }
        for c in list where tenants.contains(c.tenantId.lowercased()) {
            if let holder = try? accounts.connection(tenantId: c.tenantId), holder.accountId != accountId { continue }
            do {
                try identity.disconnect(connectionId: c.id, accessToken: token)
                logger.info("stray xero connection removed", metadata: ["accountId": "\(accountId)", "tenantId": "\(c.tenantId)"])
            } catch {
                logger.warning("stray xero connection not removed",
                               metadata: ["accountId": "\(accountId)", "tenantId": "\(c.tenantId)", "error": "\(error.code)"])
            }
        }
    }
}

extension XeroConnections {
    /// What support's reset did.
    public struct ResetReport: Sendable, Equatable {
        public var previous: AccountConnection
        /// This account's connection to its organisation was removed at Xero.
        public var disconnected: Bool
        /// The grant (refresh token) was revoked: only when no other organisation is connected under it.
        public var revoked: Bool
        /// Why something was not done, as a sentence (nil when all was done).
        public var note: String?
    }

    /// Support's reset (R3): ends this account's connection only — `DELETE /connections/{id}`
    /// for its organisation, and a revocation of the grant only when `/connections` shows no
    /// other organisation under it (revoking ends every connection of that Xero user, another
    /// SortScape account's included, FACTS §2.1) — then clears the tokens and the tenant lock;
    /// the account stays `active`. Xero's part is best effort and said in `note`.
    public func reset(accountId: String) throws -> ResetReport {
        guard let before = try accounts.connection(accountId: accountId) else {
            throw StoreError(code: .notFound, message: "no account with id \(accountId)")
        }
        var report = ResetReport(previous: before, disconnected: false, revoked: false, note: nil)
        removeAtXero(accountId: accountId, tenantId: before.tenantId, &report)
        try accounts.reset(accountId: accountId)
        logger.info("xero connection reset", metadata: ["accountId": "\(accountId)", "disconnected": "\(report.disconnected)",
                                                         "revoked": "\(report.revoked)"])
        return report
    }

    /// Xero's part of a reset or a disconnect, best effort: `DELETE /connections/{id}` for the
    /// account's organisation, and a revocation of the grant only when `/connections` shows no
    /// other organisation under it; what was done (or why not) goes into `report`.
    func removeAtXero(accountId: String, tenantId tenant: String?, _ report: inout ResetReport) {
        do {
            if let stored = try tokens.tokens(accountId: accountId) {
                let access = (try? tokens.accessToken(accountId: accountId)) ?? stored.accessToken
                do throws(XeroAPIError) {
                    let list = try identity.connections(accessToken: access, authEventId: nil)
                    for c in list where tenant != nil && c.tenantId.lowercased() == tenant {
                        try identity.disconnect(connectionId: c.id, accessToken: access)
                        report.disconnected = true
                    }
                    let others = Set(list.map { $0.tenantId.lowercased() }).subtracting(tenant.map { [$0] } ?? [])
                    if others.isEmpty {
                        let refresh = (try? tokens.tokens(accountId: accountId))??.refreshToken ?? stored.refreshToken
                        try identity.revoke(refresh)
                        report.revoked = true
                    } else {
                        report.note = "The Xero login's grant also serves \(others.count) other organisation(s), so it was not revoked; "
                            + "only this account's connection was removed."
                    }
                } catch {
                    report.note = "Xero did not confirm the disconnection: \(error.description)"
                }
            } else {
                report.note = "no tokens were stored, so there was nothing to revoke"
            }
        } catch {
            report.note = "the stored tokens could not be read (was GATEWAY_SECRET_KEY changed?)"
        }
    }
}
