import HTTPServer
import Store

/// Who may call an endpoint.
enum Access {
    case admin       // account admins and operators
    case `operator`  // gateway operators only
}

extension Gateway {
    /// The caller, or the 401/403 response to give instead.
    func authorize(_ request: Request, _ access: Access) -> Result<User, ResponseError> {
        guard let header = request.headers["Authorization"], header.count > 7,
              header.prefix(7).lowercased() == "bearer ",
              case let token = String(header.dropFirst(7)).trimmingSpaces(), !token.isEmpty else {
            return .failure(ResponseError(status: 401, code: "unauthenticated", message: "send Authorization: Bearer <token>"))
        }
        let user: User?
        do { user = try accounts.authenticate(token: token) } catch {
            return .failure(ResponseError(status: 503, code: "store_unavailable", message: "the store is unavailable"))
        }
        guard let user else {
            return .failure(ResponseError(status: 401, code: "unauthenticated", message: "unknown or revoked token"))
        }
        switch access {
        case .admin where user.role == .staff:
            return .failure(ResponseError(status: 403, code: "forbidden", message: "this needs an administrator"))
        case .operator where user.role != .operator:
            return .failure(ResponseError(status: 403, code: "forbidden", message: "this needs a gateway operator"))
        default:
            return .success(user)
        }
    }
}

/// An error that becomes `{"error": {...}}` with its status.
struct ResponseError: Error {
    let status: Int
    let code: String
    let message: String
    var response: Response { .error(status, code: code, message: message) }
}

extension String {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while s.first == " " { s = s.dropFirst() }
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
