import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    /// Replays the answer of an earlier call with the same `Idempotency-Key` and body; a reused
    /// key with a different request is refused.
    func idempotent(_ ctx: CallContext, write: Bool, _ body: () -> Response) -> Response {
        let method = ctx.request.method
        guard write, method == "POST" || method == "PUT" || method == "PATCH",
              let key = ctx.request.headers["Idempotency-Key"], !key.isEmpty else {
            return body()
        }
        guard key.utf8.count <= 128 else {
            return Errors.postDataInvalid("The Idempotency-Key header must be 128 characters or fewer.")
        }
        let org = ctx.org
        org.idempotency = org.idempotency.filter { $0.value.expires > ctx.now }
        var material = Array("\(method) \(ctx.request.path.lowercased())?".utf8)
        for q in ctx.request.query.sorted(by: { ($0.name, $0.value) < ($1.name, $1.value) }) {
            material += Array("\(q.name)=\(q.value)&".utf8)
        }
        material += [0]
        material += ctx.request.body
        let fingerprint = Crypto.sha256(material)
        if let entry = org.idempotency[key] {
            if entry.fingerprint == fingerprint { return entry.response }
            return Errors.problem(400, "Bad Request",
                                  "The Idempotency-Key '\(key)' has already been used with a different request.")
        }
        let r = body()
        org.idempotency[key] = IdempotencyEntry(fingerprint: fingerprint, response: r, expires: ctx.now + Simulator.idempotencyTTL)
        return r
    }
}
