import StrictJSON

/// A Xero call that did not succeed, with a stable code to branch on.
public struct XeroAPIError: Error, Sendable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// The refresh token (or code) was refused: the grant is gone, the user must reconnect.
        public static let invalidGrant = Code(rawValue: "invalid_grant")
        /// 401 after a fresh access token: the connection no longer authorises this tenant.
        public static let unauthorized = Code(rawValue: "unauthorized")
        /// 403: the tenant is not connected, or a scope is missing.
        public static let forbidden = Code(rawValue: "forbidden")
        public static let notFound = Code(rawValue: "not_found")
        /// 400 with Xero's `ValidationException`; `validationErrors` says what.
        public static let validation = Code(rawValue: "validation")
        /// 429s (or a day's budget spent) beyond what this call may wait for.
        public static let rateLimited = Code(rawValue: "rate_limited")
        /// 5xx after the bounded retries.
        public static let server = Code(rawValue: "server")
        /// No answer in time after the bounded retries.
        public static let timeout = Code(rawValue: "timeout")
        /// Refused, reset, DNS or TLS failure after the bounded retries.
        public static let transport = Code(rawValue: "transport")
        /// An answer this client cannot read (not JSON, not Xero's shape).
        public static let unreadable = Code(rawValue: "unreadable")
        /// Any other status.
        public static let unexpected = Code(rawValue: "unexpected")
    }

    public let code: Code
    /// The HTTP status, 0 when there was none.
    public let status: Int
    public let message: String
    /// Xero's per-element messages on a 400 `ValidationException`.
    public var validationErrors: [String]
    /// Seconds Xero asked us to wait (429), when it said.
    public var retryAfter: Double?

    public init(_ code: Code, status: Int = 0, message: String, validationErrors: [String] = [], retryAfter: Double? = nil) {
        self.code = code
        self.status = status
        self.message = message
        self.validationErrors = validationErrors
        self.retryAfter = retryAfter
    }

    /// Worth another attempt after a pause: timeouts, transport failures, 5xx and 429s.
    public var isTransient: Bool { [.timeout, .transport, .server, .rateLimited].contains(code) }

    public var description: String {
        var s = "\(code)"
        if status > 0 { s += " (HTTP \(status))" }
        s += ": \(message)"
        if !validationErrors.isEmpty { s += " — " + validationErrors.joined(separator: "; ") }
        return s
    }
}
