/// What the simulator starts with.
public struct SimulatorConfiguration: Sendable {
    public enum Seed: String, Sendable, CaseIterable {
        case empty
        case demo
    }

    public var host: String
    /// 0 picks a free port (read `Simulator.port` after `start()`).
    public var port: UInt16
    /// Server threads: enough for 5 concurrent calls per tenant, webhooks and the control API.
    public var threads: Int
    /// The one app the simulator knows.
    public var clientId: String
    public var clientSecret: String
    /// Redirect URIs registered for the app; empty accepts any absolute http(s) URI.
    public var redirectURIs: [String]
    /// The app's name, returned as `ProviderName` in every envelope.
    public var appName: String
    /// Webhook signing key (used as-is, like Xero).
    public var webhookKey: String
    /// Where webhooks go; nil records events without delivering them.
    public var webhookURL: String?
    /// Origin used in webhook `resourceUrl`s (Xero's own by default).
    public var resourceOrigin: String
    public var seed: Seed

    public init(host: String = "127.0.0.1", port: UInt16 = 0, threads: Int = 12,
                clientId: String = "xero-sim-client-id", clientSecret: String = "xero-sim-client-secret",
                redirectURIs: [String] = [], appName: String = "SortScape",
                webhookKey: String = "xero-sim-webhook-key", webhookURL: String? = nil,
                resourceOrigin: String = "https://api.xero.com", seed: Seed = .empty) {
        self.host = host
        self.port = port
        self.threads = threads
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.redirectURIs = redirectURIs
        self.appName = appName
        self.webhookKey = webhookKey
        self.webhookURL = webhookURL
        self.resourceOrigin = resourceOrigin
        self.seed = seed
    }
}

/// Per-tenant API limits (Xero's defaults) and an optional artificial latency.
public struct RateLimits: Sendable, Equatable {
    public var enabled = true
    public var perMinute = 60
    public var perDay = 5000
    public var concurrent = 5
    public var appPerMinute = 10_000
    /// Added to every accounting answer (real time), so concurrency limits can bite.
    public var latencyMs = 0

    public init() {}
}
