import Foundation
import StrictJSON

/// Invoices (R15): read by id and by reference, created with an idempotency key.
extension XeroAccountingClient {
    public func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] {
        var all: [Invoice] = []
        var start = 0
        // Xero's front end refuses long query strings (about 52 GUIDs for Invoices).
        while start < ids.count {
            let chunk = ids[start..<min(ids.count, start + 50)]
            let envelope: ResponseEnvelope<Invoice> = try get(tenantId, "/Invoices", [("IDs", chunk.joined(separator: ","))],
                                                              modifiedSince: nil)
            all += envelope.elements
            start += 50
        }
        return all
    }

    public func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] {
        let quoted = reference.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        let envelope: ResponseEnvelope<Invoice> = try get(tenantId, "/Invoices", [("where", "Reference==\"\(quoted)\"")],
                                                          modifiedSince: nil)
        return envelope.elements
    }

    public func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        let body = JSON.object([("Invoices", .array(invoices.map { $0.json(.fourPlaces) }))])
        let response = try send(tenantId: tenantId, method: "PUT", path: "/Invoices",
                                query: [("summarizeErrors", "false"), ("unitdp", "4")],
                                body: XeroWire.bytes(body), idempotencyKey: idempotencyKey, modifiedSince: nil)
        let envelope: ResponseEnvelope<Invoice> = try XeroAccountingClient.decode(response)
        return envelope.elements
    }
}
