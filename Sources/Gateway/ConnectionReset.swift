import Store
import StrictJSON
import Sync
import Timekeeping
import Xero

/// Support's reset of an account's Xero connection (R3): revokes the grant at Xero (best
/// effort), clears the tokens and the tenant lock, and leaves the account `active`.
public enum ConnectionReset {
    /// Runs the reset and returns what it did, as `xero-gateway connection reset` prints it:
    /// `{"accountId", "previousState", "previousTenantId", "previousTenantName", "revoked",
    /// "revokeError", "state"}`. Throws `StoreError` (`.notFound` for an unknown account).
    public static func run(accountId: String, configuration: Configuration, database: Database,
                           xeroRetry: XeroRetryPolicy = XeroRetryPolicy(attempts: 2, timeout: 15)) throws -> JSON {
        let accounts = SQLiteAccountRepository(database: database)
        guard let before = try accounts.connection(accountId: accountId) else {
            throw StoreError(code: .notFound, message: "no account with id \(accountId)")
        }
        let identity = configuration.xeroIdentity(retry: xeroRetry)
        let tokens = try XeroTokenManager(accounts: accounts, tokens: SQLiteXeroTokenRepository(database: database),
                                          refresher: identity, secretKey: configuration.secretKey)
        var revoked = false
        var revokeError: String?
        do {
            if let t = try tokens.tokens(accountId: accountId) {
                do {
                    try identity.revoke(t.refreshToken)
                    revoked = true
                } catch {
                    revokeError = "Xero did not confirm the revocation: \(error.description)"
                }
            } else {
                revokeError = "no tokens were stored, so there was nothing to revoke"
            }
        } catch {
            revokeError = "the stored tokens could not be read (was GATEWAY_SECRET_KEY changed?)"
        }
        try accounts.reset(accountId: accountId)
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return .object([
            ("accountId", .string(accountId)),
            ("previousState", .string(before.state.rawValue)),
            ("previousTenantId", s(before.tenantId)),
            ("previousTenantName", s(before.tenantName)),
            ("revoked", .bool(revoked)),
            ("revokeError", s(revokeError)),
            ("state", .string(ConnectionState.active.rawValue)),
        ])
    }
}
