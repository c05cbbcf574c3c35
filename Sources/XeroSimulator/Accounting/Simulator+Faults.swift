import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - faults

    func takeFault(_ w: World, _ r: Request, tenantId: String) -> Fault? {
        guard let index = w.faults.firstIndex(where: { f in
            !f.isWebhook && f.remaining > 0
                && (f.tenantId == nil || f.tenantId == tenantId)
                && (f.method == nil || f.method == r.method)
                && (f.pathContains == nil || r.path.lowercased().contains(f.pathContains!.lowercased()))
        }) else { return nil }
        let fault = w.faults[index]
        w.faults[index].remaining -= 1
        if w.faults[index].remaining <= 0 { w.faults.remove(at: index) }
        return fault
    }

    func faultResponse(_ f: Fault) -> Response {
        switch f.kind {
        case .status500:
            return XeroError.unhandled().response
        case .status503:
            return Response.text(503, "The Xero API is currently offline for maintenance")
        case .status429:
            var r = Response.text(429, "Rate limit exceeded")
            r.headers.add("Retry-After", String(f.retryAfter))
            r.headers.add("X-Rate-Limit-Problem", "minute")
            r.headers.add("X-MinLimit-Remaining", "0")
            return r
        default:
            return Response.text(504, "Gateway Timeout")
        }
    }
}
