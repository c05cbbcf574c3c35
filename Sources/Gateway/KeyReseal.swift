import Logging
import Store
import StrictJSON
import Sync
import Xero

/// Key rotation's last step, as `xero-gateway keys reseal` runs it: every stored Xero token set
/// re-sealed under the current `GATEWAY_SECRET_KEY`'s token-seal subkey, read under whichever
/// key opens it (the current one, `GATEWAY_SECRET_KEY_PREVIOUS`, or either raw key).
public enum KeyReseal {
    /// Runs the re-seal and returns `{"resealed", "alreadyCurrent", "unreadable"}`: how many
    /// accounts' tokens were re-sealed, how many were under the current subkey already, and the
    /// accounts whose tokens no key opens (left alone; `connection reset` clears them).
    public static func run(configuration: Configuration, database: Database,
                           logger: Logger = Logger(label: "xero-gateway")) throws -> JSON {
        try run(configuration: configuration, stores: .sqlite(database), logger: logger)
    }

    /// As `run(configuration:database:logger:)`, over `stores` (SQLite or PostgreSQL).
    public static func run(configuration: Configuration, stores: GatewayStores,
                           logger: Logger = Logger(label: "xero-gateway")) throws -> JSON {
        let accounts = stores.accounts
        // Never called: a re-seal refreshes nothing.
        let identity = configuration.xeroIdentity(retry: XeroRetryPolicy())
        let tokens = try XeroTokenManager(accounts: accounts, tokens: stores.tokens,
                                          refresher: identity, secretKey: configuration.secretKey,
                                          previousSecretKey: configuration.previousSecretKey, logger: logger)
        let r = try tokens.resealAll()
        logger.info("xero tokens resealed", metadata: ["resealed": "\(r.resealed)", "alreadyCurrent": "\(r.current)",
                                                       "unreadable": "\(r.unreadable.count)"])
        return .object([
            ("resealed", .number(r.resealed)),
            ("alreadyCurrent", .number(r.current)),
            ("unreadable", .array(r.unreadable.map(JSON.string))),
        ])
    }
}
