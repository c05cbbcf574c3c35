import Logging
import Store
import StrictJSON
import Sync
import Timekeeping
import Xero

/// Support's reset of an account's Xero connection (R3), as `xero-gateway connection reset`
/// runs it: `XeroConnections.reset` with the serve configuration's Xero app and secret key.
public enum ConnectionReset {
    /// Runs the reset and returns what it did: `{"accountId", "previousState", "previousTenantId",
    /// "previousTenantName", "disconnected", "revoked", "revokeError", "state"}`; `revokeError`
    /// says why the grant was not revoked. Throws `StoreError` (`.notFound` for an unknown account).
    public static func run(accountId: String, configuration: Configuration, database: Database,
                           xeroRetry: XeroRetryPolicy = XeroRetryPolicy(attempts: 2, timeout: 15),
                           logger: Logger = Logger(label: "xero-gateway")) throws -> JSON {
        try run(accountId: accountId, configuration: configuration, stores: .sqlite(database), xeroRetry: xeroRetry, logger: logger)
    }

    /// As `run(accountId:configuration:database:…)`, over `stores` (SQLite or PostgreSQL).
    public static func run(accountId: String, configuration: Configuration, stores: GatewayStores,
                           xeroRetry: XeroRetryPolicy = XeroRetryPolicy(attempts: 2, timeout: 15),
                           logger: Logger = Logger(label: "xero-gateway")) throws -> JSON {
        let accounts = stores.accounts
        let identity = configuration.xeroIdentity(retry: xeroRetry)
        let tokens = try XeroTokenManager(accounts: accounts, tokens: stores.tokens,
                                          refresher: identity, secretKey: configuration.secretKey,
                                          previousSecretKey: configuration.previousSecretKey, logger: logger)
        let connections = XeroConnections(accounts: accounts, tokens: tokens, identity: identity, requestSync: { _, _ in },
                                          logger: logger)
        let r = try connections.reset(accountId: accountId)
        func s(_ v: String?) -> JSON { v.map(JSON.string) ?? .null }
        return .object([
            ("accountId", .string(accountId)),
            ("previousState", .string(r.previous.state.rawValue)),
            ("previousTenantId", s(r.previous.tenantId)),
            ("previousTenantName", s(r.previous.tenantName)),
            ("disconnected", .bool(r.disconnected)),
            ("revoked", .bool(r.revoked)),
            ("revokeError", s(r.revoked ? nil : r.note ?? "not revoked")),
            ("state", .string(ConnectionState.active.rawValue)),
        ])
    }
}
