import HTTPServer
import Logging

/// Where a token was presented, as the log names it.
enum AuthenticationRoute: String {
    case bearer
    case signIn = "sign-in"
}

extension Gateway {
    /// nil: the request's client address may present a token. Otherwise it presented too many
    /// wrong ones (`AuthThrottle`): the whole seconds until it may try again, and the refusal is logged.
    func throttledAuthentication(_ request: Request, via route: AuthenticationRoute) -> Int? {
        let client = AuthThrottle.client(request.remoteAddress)
        guard let wait = authThrottle.retryAfter(client) else { return nil }
        logAuthenticationRefusal(client: client, via: route, reason: "throttled", retryAfter: wait)
        return wait
    }

    /// A presented token matched no user: counted against the client's address, and logged.
    func authenticationFailed(_ request: Request, via route: AuthenticationRoute) {
        let client = AuthThrottle.client(request.remoteAddress)
        authThrottle.failed(client)
        logAuthenticationRefusal(client: client, via: route, reason: "unknown_token", retryAfter: nil)
    }

    /// One line per refusal, at most 10 a minute (`RateLimitedLog`, saying how many it held back);
    /// never the token.
    private func logAuthenticationRefusal(client: String, via route: AuthenticationRoute, reason: String, retryAfter: Int?) {
        guard let suppressed = authRefusalLog.permit(now: Double(monotonicClock.nowMilliseconds()) / 1000) else { return }
        var metadata: Logger.Metadata = ["client": "\(client)", "via": "\(route.rawValue)", "reason": "\(reason)"]
        if let retryAfter { metadata["retryAfter"] = "\(retryAfter)" }
        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
        logger.notice("authentication refused", metadata: metadata)
    }
}
