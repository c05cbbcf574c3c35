import Crypto
import Foundation
import HTTPServer
import Store

/// A setting that is missing or malformed; start-up stops with this one line.
public struct ConfigurationError: Error, CustomStringConvertible {
    public let setting: String
    public let message: String
    public var description: String { "configuration error: \(setting): \(message)" }
}

/// The gateway's settings: environment first, command-line flags override.
public struct Configuration: Sendable {
    public var listenHost: String
    public var listenPort: UInt16
    /// `GATEWAY_DB`: a SQLite path or a `postgres://` URL (see `storeLocation`).
    public var databasePath: String
    public var publicURL: String
    /// 32 bytes (`GATEWAY_SECRET_KEY`): a subkey of it seals tokens at rest, another keys CSRF tokens.
    public var secretKey: [UInt8]
    /// The key `secretKey` replaced (`GATEWAY_SECRET_KEY_PREVIOUS`, optional, same format): tokens
    /// sealed under it still open until `xero-gateway keys reseal` has re-sealed them.
    public var previousSecretKey: [UInt8]? = nil
    public var tlsCertPath: String?
    public var tlsKeyPath: String?
    public var xeroClientId: String
    public var xeroClientSecret: String
    public var xeroWebhookKey: String
    public var xeroLoginURL: String
    public var xeroIdentityURL: String
    public var xeroAPIURL: String
    public var syncIntervalSeconds: Int
    /// Seconds a person's edit of a linked contact waits before it is pushed to Xero
    /// (`SYNC_PUSH_DEBOUNCE_MS`, default 2000 ms), so quick edits go in one call.
    public var pushDebounceSeconds: Double = 2
    /// Open connections allowed per client address (`GATEWAY_MAX_CONNECTIONS_PER_ADDRESS`,
    /// default 64; 0 turns the limit off, for a gateway behind a proxy).
    public var maxConnectionsPerAddress: Int = 64
    /// libmicrohttpd's per-connection memory pool in bytes (`GATEWAY_CONNECTION_MEMORY`, a
    /// tuning knob for benchmarks; see `ServerConfiguration.connectionMemoryLimit`).
    public var connectionMemoryLimit: Int = ServerConfiguration.defaultConnectionMemoryLimit
    /// Wrong tokens (bearer or sign-in) a client address may present at once and per minute
    /// after that (`GATEWAY_AUTH_FAILURES_PER_MINUTE`, default 20; 0 turns throttling off, for a
    /// gateway behind a proxy where every client shares one address).
    public var authFailuresPerMinute: Int = 20
    /// Space-separated OAuth scopes asked of Xero (`XERO_SCOPES`).
    public var xeroScopes: String
    /// This gateway among the instances sharing a store (`GATEWAY_INSTANCE`, default
    /// `hostname:pid`), named by `/healthz` and `/metrics`.
    public var instanceName: String = Configuration.defaultInstanceName

    /// `hostname:pid`.
    public static var defaultInstanceName: String {
        "\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    /// Xero's granular scopes (apps made since March 2026); older apps set `XERO_SCOPES` to the
    /// broad `accounting.transactions` set.
    public static let defaultXeroScopes =
        "offline_access openid profile email accounting.contacts accounting.settings accounting.invoices"

    /// Where the store is: SQLite at a path, or a PostgreSQL server that any number of gateways share.
    public var storeLocation: StoreLocation { (try? StoreLocation(databasePath)) ?? .sqlite(path: databasePath) }

    /// True when the gateway's public origin or its own listener is HTTPS (cookies get `Secure`).
    public var servesHTTPS: Bool { publicURL.lowercased().hasPrefix("https://") || tlsCertPath != nil }

    /// The OAuth redirect URI registered with Xero.
    public var redirectURI: String { publicURL + "/oauth/xero/callback" }

    /// Reads the settings `serve` needs. `overrides` are flag values (same names as the variables).
    public static func load(environment env: [String: String], overrides: [String: String] = [:]) throws -> Configuration {
        func value(_ name: String) -> String? {
            if let v = overrides[name], !v.isEmpty { return v }
            if let v = env[name], !v.isEmpty { return v }
            return nil
        }
        func required(_ name: String, _ hint: String) throws -> String {
            guard let v = value(name) else { throw ConfigurationError(setting: name, message: "is not set (\(hint))") }
            return v
        }

        let listen = value("GATEWAY_LISTEN") ?? "127.0.0.1:8080"
        let (host, port) = try parseListen(listen)
        let db = value("GATEWAY_DB") ?? "./data/gateway.sqlite"
        // A URL this build cannot serve stops start-up here, naming it (never its password).
        do { _ = try StoreLocation(db) } catch { throw ConfigurationError(setting: "GATEWAY_DB", message: error.message) }
        let publicURL = try origin(value("GATEWAY_PUBLIC_URL") ?? "http://\(listen)", setting: "GATEWAY_PUBLIC_URL")

        let secretText = try required("GATEWAY_SECRET_KEY", "32 random bytes in base64: openssl rand -base64 32")
        guard let secret = Base64.decode(secretText), secret.count == 32 else {
            throw ConfigurationError(setting: "GATEWAY_SECRET_KEY",
                                     message: "must be 32 bytes in standard base64 (openssl rand -base64 32)")
        }
        var previous: [UInt8]?
        if let text = value("GATEWAY_SECRET_KEY_PREVIOUS") {
            guard let key = Base64.decode(text), key.count == 32 else {
                throw ConfigurationError(setting: "GATEWAY_SECRET_KEY_PREVIOUS",
                                         message: "must be 32 bytes in standard base64, as GATEWAY_SECRET_KEY (or unset)")
            }
            previous = key
        }
        let cert = value("GATEWAY_TLS_CERT"), key = value("GATEWAY_TLS_KEY")
        if (cert == nil) != (key == nil) {
            throw ConfigurationError(setting: cert == nil ? "GATEWAY_TLS_CERT" : "GATEWAY_TLS_KEY",
                                     message: "GATEWAY_TLS_CERT and GATEWAY_TLS_KEY go together")
        }
        let interval = value("SYNC_INTERVAL_SECONDS") ?? "1800"
        guard let seconds = Int(interval), seconds >= 1, seconds <= 86_400 else {
            throw ConfigurationError(setting: "SYNC_INTERVAL_SECONDS", message: "must be a whole number of seconds from 1 to 86400")
        }
        let debounceText = value("SYNC_PUSH_DEBOUNCE_MS") ?? "2000"
        guard let debounce = Int(debounceText), debounce >= 0, debounce <= 60_000 else {
            throw ConfigurationError(setting: "SYNC_PUSH_DEBOUNCE_MS", message: "must be a whole number of milliseconds from 0 to 60000")
        }
        let perAddressText = value("GATEWAY_MAX_CONNECTIONS_PER_ADDRESS") ?? "64"
        guard let perAddress = Int(perAddressText), perAddress >= 0, perAddress <= 100_000 else {
            throw ConfigurationError(setting: "GATEWAY_MAX_CONNECTIONS_PER_ADDRESS", message: "must be a whole number from 0 (no limit) to 100000")
        }
        let memoryText = value("GATEWAY_CONNECTION_MEMORY") ?? String(ServerConfiguration.defaultConnectionMemoryLimit)
        guard let memory = Int(memoryText), memory >= 8 << 10, memory <= 1 << 20 else {
            throw ConfigurationError(setting: "GATEWAY_CONNECTION_MEMORY", message: "must be a whole number of bytes from 8192 to 1048576")
        }
        let authFailuresText = value("GATEWAY_AUTH_FAILURES_PER_MINUTE") ?? "20"
        guard let authFailures = Int(authFailuresText), authFailures >= 0, authFailures <= 10_000 else {
            throw ConfigurationError(setting: "GATEWAY_AUTH_FAILURES_PER_MINUTE", message: "must be a whole number from 0 (no throttling) to 10000")
        }
        let scopes = (value("XERO_SCOPES") ?? defaultXeroScopes)
            .split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard !scopes.isEmpty,
              scopes.allSatisfy({ s in s.unicodeScalars.allSatisfy { $0.isASCII && $0.value > 0x20 && $0 != "\"" && $0 != "\\" } }) else {
            throw ConfigurationError(setting: "XERO_SCOPES", message: "must be space-separated OAuth scopes, e.g. \(defaultXeroScopes)")
        }
        if !scopes.contains("offline_access") {
            throw ConfigurationError(setting: "XERO_SCOPES", message: "must include offline_access (without it Xero gives no refresh token)")
        }
        let instance = value("GATEWAY_INSTANCE") ?? defaultInstanceName
        guard instance.count <= 100, instance.unicodeScalars.allSatisfy({ $0.isASCII && $0.value > 0x20 && $0.value < 0x7f && $0 != "\"" && $0 != "\\" }) else {
            throw ConfigurationError(setting: "GATEWAY_INSTANCE", message: "must be at most 100 printable ASCII characters without spaces or quotes")
        }
        return Configuration(
            listenHost: host, listenPort: port, databasePath: db, publicURL: publicURL, secretKey: secret, previousSecretKey: previous,
            tlsCertPath: cert, tlsKeyPath: key,
            xeroClientId: try required("XERO_CLIENT_ID", "your Xero app's client id"),
            xeroClientSecret: try required("XERO_CLIENT_SECRET", "your Xero app's client secret"),
            xeroWebhookKey: try required("XERO_WEBHOOK_KEY", "your Xero app's webhook signing key"),
            xeroLoginURL: try origin(value("XERO_LOGIN_URL") ?? "https://login.xero.com", setting: "XERO_LOGIN_URL"),
            xeroIdentityURL: try origin(value("XERO_IDENTITY_URL") ?? "https://identity.xero.com", setting: "XERO_IDENTITY_URL"),
            xeroAPIURL: try origin(value("XERO_API_URL") ?? "https://api.xero.com", setting: "XERO_API_URL"),
            syncIntervalSeconds: seconds, pushDebounceSeconds: Double(debounce) / 1000, maxConnectionsPerAddress: perAddress,
            connectionMemoryLimit: memory, authFailuresPerMinute: authFailures, xeroScopes: scopes.joined(separator: " "),
            instanceName: instance)
    }

    static func parseListen(_ s: String) throws -> (String, UInt16) {
        let bad = ConfigurationError(setting: "GATEWAY_LISTEN", message: "must be host:port, e.g. 127.0.0.1:8080 or [::1]:8080")
        var host: Substring, portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { throw bad }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.hasPrefix(":") else { throw bad }
            portText = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else { throw bad }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
        }
        if host == "localhost" { host = "127.0.0.1" }
        guard !host.isEmpty, let port = UInt16(portText) else { throw bad }
        return (String(host), port)
    }

    /// An http(s) origin without a trailing slash.
    static func origin(_ s: String, setting: String) throws -> String {
        var v = s
        while v.hasSuffix("/") { v.removeLast() }
        guard let u = URLComponents(string: v), let scheme = u.scheme, ["http", "https"].contains(scheme),
              let host = u.host, !host.isEmpty else {
            throw ConfigurationError(setting: setting, message: "must be an http:// or https:// URL, got \(s.prefix(100))")
        }
        return v
    }
}
