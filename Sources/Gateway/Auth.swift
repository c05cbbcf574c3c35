import Foundation
import HTTPServer
import Store

/// Who may call an endpoint.
enum Access {
    case admin       // account admins and operators
    case staff       // an account's admins and staff (its records); never operators
    case `operator`  // gateway operators only
    case anyone      // every user with a live token
}

extension Gateway {
    /// The caller; throws the 401/403 (or 429, 503) to answer instead. A client address that
    /// presented too many wrong tokens gets 429 before its token is looked at (`AuthThrottle`).
    func authorize(_ request: Request, _ access: Access) throws(HTTPError) -> User {
        guard let header = request.headers["Authorization"], header.count > 7,
              header.prefix(7).lowercased() == "bearer ",
              case let token = header.dropFirst(7).trimmingCharacters(in: .whitespaces), !token.isEmpty else {
            throw HTTPError(401, code: "unauthenticated", message: "send Authorization: Bearer <token>")
        }
        if let wait = throttledAuthentication(request, via: .bearer) {
            throw HTTPError(429, code: "too_many_attempts",
                            message: "too many wrong tokens from this address; try again in \(wait) seconds",
                            headers: HTTPHeaders([("Retry-After", "\(wait)")]))
        }
        let user = try store { () throws(StoreError) in try accounts.authenticate(token: token) }
        guard let user else {
            authenticationFailed(request, via: .bearer)
            throw HTTPError(401, code: "unauthenticated", message: "unknown or revoked token")
        }
        switch access {
        case .admin where user.role == .staff:
            throw HTTPError(403, code: "forbidden", message: "this needs an administrator")
        case .staff where user.role == .operator || user.accountId == nil:
            throw HTTPError(403, code: "forbidden", message: "operators see no account's records")
        case .operator where user.role != .operator:
            throw HTTPError(403, code: "forbidden", message: "this needs a gateway operator")
        default:
            return user
        }
    }
}

extension HTTPError {
    static let storeUnavailable = HTTPError(503, code: "store_unavailable", message: "the store is unavailable")
}
