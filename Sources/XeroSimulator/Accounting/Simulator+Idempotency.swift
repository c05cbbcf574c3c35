import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    /// Runs `body` (a thrown `XeroError` is its answer) unless an earlier write with the same
    /// `Idempotency-Key`, method, path, query and body was answered within 6 minutes: then that
    /// answer (errors included) is replayed. A reused key with a different request is refused.
    /// PUT, POST and PATCH alike.
    func idempotent(_ ctx: CallContext, write: Bool, _ body: () throws -> Response) -> Response {
        func run() -> Response {
            do { return try body() } catch { return XeroError.response(for: error) }
        }
        let method = ctx.request.method
        guard write, method == "POST" || method == "PUT" || method == "PATCH",
              let key = ctx.request.headers["Idempotency-Key"], !key.isEmpty else {
            return run()
        }
        guard key.utf8.count <= 128 else {
            return XeroError.postDataInvalid("The Idempotency-Key header must be 128 characters or fewer.").response
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
            return XeroError.problem(400, "Bad Request",
                                     "The Idempotency-Key '\(key)' has already been used with a different request.").response
        }
        let r = run()
        org.idempotency[key] = IdempotencyEntry(fingerprint: fingerprint, response: r, expires: ctx.now + Simulator.idempotencyTTL)
        return r
    }
}
