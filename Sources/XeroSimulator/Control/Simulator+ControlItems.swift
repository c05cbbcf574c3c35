import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - items

    func controlBulkItems(_ r: Request, _ tenantId: String) throws -> Response {
        guard let inputs = try controlRecords(try controlJSON(r), Item.self) else {
            throw XeroError.control(400, "expected {\"Items\": [...]}")
        }
        let now = clock.now()
        return try withOrg(tenantId) { _, org in
            var made: [Item] = []
            var problems: [String] = []
            var codes = Set<String>()
            for (n, input) in inputs.enumerated() {
                do {
                    let item = try Simulator.applyItem(input, to: nil, org: org, now: now, unitdp: 4, seed: true)
                    if !codes.insert(item.code!.uppercased()).inserted {
                        problems.append("Items[\(n)]: Price List Item with Code '\(item.code!)' already exists")
                    }
                    made.append(item)
                } catch let refusal as Refusal {
                    problems += refusal.messages.map { "Items[\(n)] (\(input.code ?? "no code")): \($0)" }
                }
            }
            guard problems.isEmpty else { throw XeroError.control(400, "nothing was created", details: problems) }
            for item in made { org.store(item) }
            return Reply.json(201, .object([("created", .number(made.count)),
                                            ("ids", .array(made.map { .string($0.itemID!) }))]))
        }
    }

    /// Changes an item as a Xero user would (no webhooks: Xero has none for items).
    func controlPatchItem(_ r: Request, _ tenantId: String, _ id: String) throws -> Response {
        let input = try controlRecord(r, Item.self, "item")
        let now = clock.now()
        return try withOrg(tenantId) { _, org in
            guard let existing = org.item(id) ?? org.item(code: id) else { throw XeroError.control(404, "no item \(id)") }
            var change = input
            change.itemID = nil
            let item = try refusedAsControlError {
                try Simulator.applyItem(change, to: existing, org: org, now: now, unitdp: 4, seed: false)
            }
            org.store(item)
            return Reply.xeroJSON(200, item.json(XeroEncodingOptions(unitDecimalPlaces: 4)))
        }
    }

    func controlDeleteItem(_ tenantId: String, _ id: String) throws -> Response {
        try withOrg(tenantId) { _, org in
            guard let item = org.item(id) ?? org.item(code: id) else { throw XeroError.control(404, "no item \(id)") }
            org.deleteItem(item.itemID!)
            return Response.empty(204)
        }
    }

    // MARK: - invoices

    /// `{"Status": "PAID" | "VOIDED" | "AUTHORISED" | …}` as a Xero user would (webhook INVOICE/UPDATE).
    /// Every invoice of the organisation, oldest first, with its lines (four places): what a
    /// Xero user sees in the sales list.
    func controlInvoices(_ tenantId: String) throws -> Response {
        try withOrg(tenantId) { _, org in
            let all = org.invoices.values.map { Simulator.renderInvoice($0, org: org).json(.fourPlaces) }
            return Reply.xeroJSON(200, .object([("Invoices", .array(all))]))
        }
    }

    func controlPatchInvoice(_ r: Request, _ tenantId: String, _ id: String) throws -> Response {
        let f = try controlBody(r, required: true)
        let status = ((try? f.string("Status")) ?? nil)?.uppercased()
        let now = clock.now()
        return try withOrg(tenantId) { w, org in
            guard var inv = org.invoice(id) else { throw XeroError.control(404, "no invoice \(id)") }
            if let status {
                let s = InvoiceStatus(rawValue: status)
                guard [.draft, .submitted, .authorised, .paid, .voided, .deleted].contains(s) else {
                    throw XeroError.control(400, "unknown status \(status)")
                }
                inv.status = s
                switch s {
                case .paid:
                    inv.amountPaid = inv.total
                    inv.amountDue = .zero
                case .voided, .deleted:
                    inv.amountDue = .zero
                default:
                    inv.amountDue = (inv.total ?? .zero) - (inv.amountPaid ?? .zero)
                }
            }
            if let ref = (try? f.string("Reference")) ?? nil { inv.reference = ref }
            inv.updatedDateUTC = now
            org.store(inv)
            emitEvents(w, [SimEvent(tenantId: org.tenantId, category: "INVOICE", type: "UPDATE", resourceId: inv.invoiceID!, at: now)])
            return Reply.xeroJSON(200, Simulator.renderInvoice(inv, org: org).json)
        }
    }
}
