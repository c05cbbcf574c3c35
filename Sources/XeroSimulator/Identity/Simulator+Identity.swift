import HTTPServer

/// Xero's identity side: the login site (authorize, login and consent pages), the token
/// service (codes, refresh rotation with its grace, revocation) and the connections API. Its
/// answers are JSON (or HTML pages) whatever `Accept` says, as Xero's are.
extension Simulator {
    /// Registers the identity endpoints: login site, token service and connections.
    func addIdentityRoutes(_ router: inout Router) {
        func add(_ method: String, _ path: String, _ handler: @escaping @Sendable (Simulator, Request) -> Response) {
            router.add(method, path, on: self) { s, r in .respond(handler(s, r)) }
        }
        add("GET", "/identity/connect/authorize") { s, r in s.authorizePage(r) }
        add("POST", "/identity/connect/authorize") { s, r in s.authorizeLogin(r) }
        add("POST", "/identity/connect/consent") { s, r in s.authorizeConsent(r) }
        add("POST", "/connect/token") { s, r in s.token(r) }
        add("POST", "/connect/revocation") { s, r in s.revoke(r) }
        add("GET", "/.well-known/openid-configuration") { s, _ in s.openIDConfiguration() }
        add("GET", "/connections") { s, r in s.listConnections(r) }
        add("DELETE", "/connections/{id}") { s, r in s.deleteConnection(r, r.pathParameter("id") ?? "") }
    }
}
