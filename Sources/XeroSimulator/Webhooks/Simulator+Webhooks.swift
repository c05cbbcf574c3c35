import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// A webhook-worthy change.
struct SimEvent {
    let tenantId: String
    let category: String  // CONTACT, INVOICE
    let type: String  // CREATE, UPDATE
    let resourceId: String
    let at: Int64
}

extension Simulator {
    /// Sends events for connected tenants (call with the world lock held).
    func emitEvents(_ w: World, _ events: [SimEvent]) {
        guard !events.isEmpty else { return }
        let only = webhooks.onlyConnected
        let chosen = only ? events.filter { w.isConnected($0.tenantId) } : events
        webhooks.enqueue(chosen)
    }
}
