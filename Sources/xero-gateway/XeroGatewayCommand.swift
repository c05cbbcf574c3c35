import ArgumentParser
import Foundation
import Gateway
import HTTPServer
import Logging
import Store
import StrictJSON

@main
struct XeroGatewayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "xero-gateway",
        abstract: "SortScape's Xero integration: webhooks, sync and invoices.",
        subcommands: [Serve.self, Migrate.self, AccountCommand.self, UserCommand.self, ConnectionCommand.self, SyncCommand.self,
                      KeysCommand.self, DemoCommand.self])
}

/// Options shared by commands that only need the store.
struct StoreOptions: ParsableArguments {
    @Option(name: .customLong("db"), help: "SQLite database path or postgres:// URL (GATEWAY_DB; default ./data/gateway.sqlite)")
    var db: String?

    var path: String {
        db ?? ProcessInfo.processInfo.environment["GATEWAY_DB"].flatMap { $0.isEmpty ? nil : $0 } ?? "./data/gateway.sqlite"
    }

    /// Where the store is, or exit 1 with one line naming a URL this build cannot serve.
    var location: StoreLocation {
        do { return try StoreLocation(path) } catch { fail("error: GATEWAY_DB \(error.message)") }
    }

    /// The accounts and users of the store, SQLite or PostgreSQL, and how to close it.
    func openAccounts() -> (accounts: any AccountRepository, close: () -> Void) {
        let stores = openStores()
        return (stores.accounts, { stores.close() })
    }

    /// Every repository of the store, SQLite or PostgreSQL, opened and migrated (SQLite creates
    /// its folder 0700 and files 0600), or exit 1 with one line saying why.
    func openStores() -> GatewayStores {
        do { return try GatewayStores.open(location) } catch {
            fail("error: \(error.message)")
        }
    }

    /// Opens the SQLite store (for `migrate`).
    func open() throws -> Database {
        do { return try Database(path: path) } catch let e as StoreError {
            throw CleanExit.message("error: \(e.message)")
        }
    }
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    Foundation.exit(1)
}

func printJSON(_ object: [String: String?]) {
    print(JSON.object(object.keys.sorted().map { ($0, object[$0]!.map(JSON.string) ?? .null) }).serialized)
}

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve webhooks, the API and the admin screens.")

    @Option(help: "host:port to listen on (GATEWAY_LISTEN)") var listen: String?
    @Option(help: "SQLite database path or postgres:// URL (GATEWAY_DB)") var db: String?
    @Option(name: .customLong("public-url"), help: "public origin (GATEWAY_PUBLIC_URL)") var publicURL: String?
    @Option(name: .customLong("tls-cert"), help: "PEM certificate (GATEWAY_TLS_CERT)") var tlsCert: String?
    @Option(name: .customLong("tls-key"), help: "PEM key (GATEWAY_TLS_KEY)") var tlsKey: String?
    @Option(name: .customLong("sync-interval"), help: "sweep interval in seconds (SYNC_INTERVAL_SECONDS)") var syncInterval: String?

    func run() throws {
        let signals = StopSignals.block()

        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var overrides: [String: String] = [:]
        overrides["GATEWAY_LISTEN"] = listen
        overrides["GATEWAY_DB"] = db
        overrides["GATEWAY_PUBLIC_URL"] = publicURL
        overrides["GATEWAY_TLS_CERT"] = tlsCert
        overrides["GATEWAY_TLS_KEY"] = tlsKey
        overrides["SYNC_INTERVAL_SECONDS"] = syncInterval
        let config: Configuration
        do {
            config = try Configuration.load(environment: ProcessInfo.processInfo.environment, overrides: overrides)
        } catch let e as ConfigurationError {
            fail(e.description)
        }
        var logger = Logger(label: "xero-gateway")
        logger.logLevel = .info
        let gateway: Gateway
        do {
            gateway = try Gateway(configuration: config, logger: logger)
            try gateway.start()
        } catch let e as ConfigurationError {
            fail(e.description)
        } catch {
            fail("error: \(error)")
        }
        logger.info("signal received", metadata: ["signal": "\(signals.wait())"])
        gateway.shutdown()
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Create or upgrade the database schema.")
    @OptionGroup var store: StoreOptions

    func run() throws {
        if case .postgres(let url) = store.location {
            do {
                let db = try PostgresDatabase(url: url)
                print("schema version \(db.schemaVersion) at \(store.location)")
                db.close()
            } catch {
                fail("error: \(error.message)")
            }
            return
        }
        let db = try store.open()
        print("schema version \(db.schemaVersion) at \(store.path)")
        db.close()
    }
}

struct AccountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "account", abstract: "Manage SortScape accounts.",
                                                    subcommands: [Create.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create an account and its first admin; prints JSON with the admin's token.")
        @Option(help: "account name") var name: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let (accounts, close) = store.openAccounts()
            defer { close() }
            do {
                let u = try accounts.createAccount(name: name)
                printJSON(["accountId": u.accountId, "userId": u.userId, "token": u.token])
            } catch {
                fail("error: \(error.message)")
            }
        }
    }
}

struct UserCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "user", abstract: "Manage users.",
                                                    subcommands: [Create.self, List.self, Revoke.self, RotateToken.self])

    /// Runs `body` on the store's accounts, a `StoreError` ending the command with its message.
    static func withStore(_ store: StoreOptions, _ body: (any AccountRepository) throws -> Void) throws {
        let (accounts, close) = store.openAccounts()
        defer { close() }
        do { try body(accounts) } catch let e as StoreError {
            fail("error: \(e.message)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List users, oldest first: one JSON object a line (userId, accountId, role, createdAt, revokedAt); never tokens.")
        @Option(help: "only this account's users") var account: String?
        @OptionGroup var store: StoreOptions

        func run() throws {
            try UserCommand.withStore(store) { accounts in
                for line in try UserCredentials.list(accountId: account, accounts: accounts) { print(line.serialized) }
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a user's token for good and end their browser sessions; prints JSON.")
        @Option(help: "user id") var user: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try UserCommand.withStore(store) { accounts in print(try UserCredentials.revoke(userId: user, accounts: accounts).serialized) }
        }
    }

    struct RotateToken: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-token",
            abstract: "Give a user a new token (printed once, as JSON); the old one stops working and their sessions end.")
        @Option(help: "user id") var user: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            try UserCommand.withStore(store) { accounts in print(try UserCredentials.rotateToken(userId: user, accounts: accounts).serialized) }
        }
    }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a user; prints JSON with its token.")
        @Option(help: "account id (omit for an operator)") var account: String?
        @Option(help: "admin, staff or operator") var role: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            guard let r = Role(rawValue: role) else { fail("error: --role must be admin, staff or operator") }
            let (accounts, close) = store.openAccounts()
            defer { close() }
            do {
                let u = try accounts.createUser(accountId: account, role: r)
                printJSON(["userId": u.userId, "role": u.role.rawValue, "token": u.token])
            } catch {
                fail("error: \(error.message)")
            }
        }
    }
}

/// The serve configuration from the environment (`--db` overriding `GATEWAY_DB`), or exit 1 naming the bad setting.
func serveConfiguration(_ store: StoreOptions) -> Configuration {
    var overrides: [String: String] = [:]
    overrides["GATEWAY_DB"] = store.db
    do {
        return try Configuration.load(environment: ProcessInfo.processInfo.environment, overrides: overrides)
    } catch let e as ConfigurationError {
        fail(e.description)
    } catch {
        fail("error: \(error)")
    }
}

struct ConnectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "connection", abstract: "Manage accounts' Xero connections.",
                                                    subcommands: [Reset.self])

    struct Reset: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke an account's Xero grant (best effort), clear its tokens and tenant lock; prints JSON.")
        @Option(help: "account id") var account: String
        @OptionGroup var store: StoreOptions

        func run() throws {
            let config = serveConfiguration(store)
            let stores = store.openStores()
            defer { stores.close() }
            do {
                print(try ConnectionReset.run(accountId: account, configuration: config, stores: stores).serialized)
            } catch let e as StoreError {
                fail("error: \(e.message)")
            }
        }
    }
}

struct KeysCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "keys", abstract: "Rotate GATEWAY_SECRET_KEY.",
                                                    subcommands: [Reseal.self])

    struct Reseal: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-seal every stored Xero token under GATEWAY_SECRET_KEY (read under it or GATEWAY_SECRET_KEY_PREVIOUS); prints JSON.",
            discussion: """
                Rotation: set GATEWAY_SECRET_KEY to the new key and GATEWAY_SECRET_KEY_PREVIOUS to the old one, \
                restart serve, run this (safe while serving), then unset GATEWAY_SECRET_KEY_PREVIOUS and restart. \
                Exits 1 when some account's tokens open under neither key (listed in "unreadable").
                """)
        @OptionGroup var store: StoreOptions

        func run() throws {
            let config = serveConfiguration(store)
            let stores = store.openStores()
            defer { stores.close() }
            let report: JSON
            do {
                report = try KeyReseal.run(configuration: config, stores: stores)
            } catch let e as StoreError {
                fail("error: \(e.message)")
            }
            print(report.serialized)
            if let unreadable = report["unreadable"]?.arrayValue, !unreadable.isEmpty {
                fail("error: \(unreadable.count) account(s) have tokens neither key opens; reset their connections")
            }
        }
    }
}
