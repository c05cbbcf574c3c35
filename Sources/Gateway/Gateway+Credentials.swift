import HTTPServer
import Store
import StrictJSON

extension Gateway {
    /// "Sign out everywhere": on the screens and in the API.
    static let credentialRoutes: [Route] = [
        ("POST", "/admin/logout-everywhere", { .respond(try $0.logoutEverywhere($1)) }),
        ("POST", "/api/v1/sessions/revoke-all", { .respond(try $0.revokeAllSessions($1)) }),
    ]

    /// `POST /admin/logout-everywhere` (CSRF-checked): ends every browser session of the
    /// signed-in user, this one included.
    func logoutEverywhere(_ request: Request) throws -> Response {
        guard let s = try browserSession(request) else { return Gateway.seeOther("/admin") }
        _ = try checkedForm(request, s)
        let ended = try sessions.deleteSessions(userId: s.user.id)
        logger.info("signed out everywhere", metadata: ["userId": "\(s.user.id)", "sessionsEnded": "\(ended)"])
        var r = Gateway.seeOther("/admin")
        r.headers.add("Set-Cookie", sessionCookie("", maxAge: 0))
        return r
    }

    /// `POST /api/v1/sessions/revoke-all` (any user, bearer): ends every browser session of the
    /// token's user; 200 `{"sessionsEnded": N}`. The token itself keeps working (the command
    /// line's `user rotate-token` or `user revoke` withdraws it).
    func revokeAllSessions(_ request: Request) throws -> Response {
        let user = try authorize(request, .anyone)
        let ended = try sessions.deleteSessions(userId: user.id)
        logger.info("signed out everywhere", metadata: ["userId": "\(user.id)", "sessionsEnded": "\(ended)"])
        return .json(200, .object([("sessionsEnded", .number(ended))]))
    }
}
