import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    func listConnections(_ r: Request) -> Response {
        logged(r) {
            let now = clock.now()
            return try world.withLock { w in
                let grant = try bearerGrant(w, r, now: now)
                let filter = queryValue(r, "authEventId").flatMap { Ids.normalize($0) }
                let list = w.connections.values.filter {
                    $0.loginId == grant.loginId && $0.clientId == grant.clientId && (filter == nil || $0.authEventId == filter)
                }
                let json = JSON.array(list.map { c in
                    XeroConnection(id: c.id, authEventId: c.authEventId, tenantId: c.tenantId, tenantName: w.orgs[c.tenantId]?.name,
                                   createdDateUtc: c.created, updatedDateUtc: c.updated).json
                })
                var resp = Reply.json(200, json)
                resp.headers.add("X-AppMinLimit-Remaining", appMinuteHeader(w, now: now))
                return resp
            }
        }
    }

    func deleteConnection(_ r: Request, _ id: String) -> Response {
        logged(r) {
            let now = clock.now()
            return try world.withLock { w in
                let grant = try bearerGrant(w, r, now: now)
                guard let key = Ids.normalize(id), let c = w.connections[key],
                      c.loginId == grant.loginId, c.clientId == grant.clientId else { throw XeroError.notFound() }
                w.connections[key] = nil
                return Response.empty(204)
            }
        }
    }

    func openIDConfiguration() -> Response {
        let base = baseURL
        return Reply.json(200, .object([
            ("issuer", .string("https://identity.xero.com")),
            ("authorization_endpoint", .string(base + "/identity/connect/authorize")),
            ("token_endpoint", .string(base + "/connect/token")),
            ("revocation_endpoint", .string(base + "/connect/revocation")),
            ("response_types_supported", .array([.string("code")])),
            ("grant_types_supported", .array([.string("authorization_code"), .string("refresh_token")])),
            ("code_challenge_methods_supported", .array([.string("plain"), .string("S256")])),
        ]))
    }
}
