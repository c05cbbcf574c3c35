import Dispatch
import HTTPClient

/// Where Xero lives: bare origins, to which the clients append Xero's own paths. One simulator
/// origin can stand in for all three.
public struct XeroEndpoints: Sendable, Equatable {
    public var login: String
    public var identity: String
    public var api: String

    public init(login: String = "https://login.xero.com", identity: String = "https://identity.xero.com",
                api: String = "https://api.xero.com") {
        self.login = login
        self.identity = identity
        self.api = api
    }
}

/// One call to Xero as it happened, for sync runs and metrics. Never holds a token or a body.
public struct XeroCallRecord: Sendable, Equatable {
    public let tenantId: String?
    public let method: String
    /// The path without the query, e.g. `/api.xro/2.0/Contacts`.
    public let path: String
    /// The HTTP status; 0 when there was none (timeout, refused).
    public let status: Int
    public let milliseconds: Int
    /// 1 for the first try, 2 for the first retry, …
    public let attempt: Int

    public init(tenantId: String?, method: String, path: String, status: Int, milliseconds: Int, attempt: Int) {
        self.tenantId = tenantId
        self.method = method
        self.path = path
        self.status = status
        self.milliseconds = milliseconds
        self.attempt = attempt
    }
}

/// Told of every call the clients make.
public typealias XeroCallObserver = @Sendable (XeroCallRecord) -> Void

/// How hard a client tries before it gives up on a call.
public struct XeroRetryPolicy: Sendable {
    /// Tries for a call that times out, fails in transport or gets a 5xx (the first included).
    public var attempts: Int
    /// First pause; each later one doubles, up to `maxDelay`, with jitter (half to all of it).
    public var baseDelay: Double
    public var maxDelay: Double
    /// 429s one call may sit out (each waits its `Retry-After`) before it gives up.
    public var rateLimitedAttempts: Int
    /// Seconds one try may take.
    public var timeout: Double
    /// Longest a call waits for a slot under the rate limits before it gives up.
    public var maxLimiterWait: Double

    public init(attempts: Int = 5, baseDelay: Double = 0.5, maxDelay: Double = 8, rateLimitedAttempts: Int = 10,
                timeout: Double = 30, maxLimiterWait: Double = 120) {
        self.attempts = attempts
        self.baseDelay = baseDelay
        self.maxDelay = maxDelay
        self.rateLimitedAttempts = rateLimitedAttempts
        self.timeout = timeout
        self.maxLimiterWait = maxLimiterWait
    }

    /// The pause before retry `n` (1-based): exponential, jittered.
    func delay(beforeRetry n: Int) -> Double {
        let cap = min(maxDelay, baseDelay * Double(1 << min(n - 1, 20)))
        return Double.random(in: cap / 2...cap)
    }
}

extension HTTPClient {
    /// One try of a Xero call: the answer, or the transport failure as a `XeroAPIError`,
    /// recorded either way (status 0 when there was no answer).
    func xeroTry(_ request: ClientRequest, tenantId: String?, path: String, attempt: Int,
                 observer: XeroCallObserver?) -> Result<ClientResponse, XeroAPIError> {
        let started = DispatchTime.now().uptimeNanoseconds
        let result: Result<ClientResponse, XeroAPIError>
        do {
            result = .success(try send(request))
        } catch {
            result = .failure(XeroAPIError(error.isTimeout ? .timeout : .transport, message: error.message))
        }
        let ms = Int((DispatchTime.now().uptimeNanoseconds - started) / 1_000_000)
        observer?(XeroCallRecord(tenantId: tenantId, method: request.method, path: path,
                                 status: (try? result.get())?.status ?? 0, milliseconds: ms, attempt: attempt))
        return result
    }
}
