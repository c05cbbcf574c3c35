import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    func listConnections(_ r: Request) -> Response {
        let started = monotonicNow()
        let now = clock.now()
        let response: Response = world.withLock { w in
            switch bearerGrant(w, r, now: now) {
            case .failure(let e): return e
            case .success(let grant):
                let filter = queryValue(r, "authEventId").flatMap { Ids.normalize($0) }
                let list = w.connectionOrder.compactMap { w.connections[$0] }.filter {
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
        logSimple(r, response, started: started)
        return response
    }

    func deleteConnection(_ r: Request, _ id: String) -> Response {
        let started = monotonicNow()
        let now = clock.now()
        let response: Response = world.withLock { w in
            switch bearerGrant(w, r, now: now) {
            case .failure(let e): return e
            case .success(let grant):
                guard let key = Ids.normalize(id), let c = w.connections[key],
                      c.loginId == grant.loginId, c.clientId == grant.clientId else { return Reply.notFound() }
                w.connections[key] = nil
                w.connectionOrder.removeAll { $0 == key }
                return Response.empty(204)
            }
        }
        logSimple(r, response, started: started)
        return response
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
