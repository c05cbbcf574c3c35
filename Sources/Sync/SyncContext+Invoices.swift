import Crypto
import Foundation
import Store
import Xero

extension SyncContext {
    /// R15: the one Xero sales invoice (ACCREC) of a completed visit, a line per material or
    /// labour line. First the contact (R11: linked to the same-named Xero contact, or created
    /// once) and an item for each material not linked yet (R14: linked to a same-named item, or
    /// created once); then the invoice, which is made at most once whatever retries happen:
    /// - a visit holding its invoice is not invoiced again;
    /// - an invoice Xero made for the visit before (its `Reference` names the visit) is found
    ///   and kept, so a retry long after a lost answer creates nothing;
    /// - the `PUT` carries the visit's own idempotency key, so the client's own retries of a
    ///   call whose answer was lost are answered with the invoice made the first time.
    /// Not sent: a `Date` (Xero dates it by the organisation's own day) and so the same visit
    /// always sends the same request under its key. A refusal counts as an attempt: the next
    /// one gets a new key (Xero replays a refusal for its key's six minutes).
    func invoiceVisit(visitId: String) throws -> VisitRecord {
        guard let visit = try records.visits.get(accountId: accountId, id: visitId) else {
            throw StoreError(code: .notFound, message: "no visit with id \(visitId)")
        }
        if visit.invoiced {
            count("visitsInvoicedAlready")
            return visit
        }
        try InvoiceRules.checkInvoiceable(visit)
        do {
            let contactId = try invoiceContact(visit)
            let lines = try invoiceLines(visit)
            let reference = InvoiceRules.reference(visit)
            if let found = try xero.invoices(tenantId: tenantId, reference: reference).first(where: InvoiceRules.counts) {
                count("invoicesFound")
                return try link(visit, to: found)
            }
            let settings = try records.visitInvoices.invoiceSettings(accountId: accountId)
            var invoice = Invoice(type: .accRec, contact: Xero.Contact(contactID: contactId), lineItems: lines)
            invoice.status = settings.invoiceStatus == .authorised ? .authorised : .draft
            invoice.lineAmountTypes = .exclusive
            invoice.reference = reference
            let saved: [Invoice]
            switch Result(catching: { () throws(XeroAPIError) in
                try xero.createInvoices(tenantId: tenantId, [invoice], idempotencyKey: InvoiceRules.idempotencyKey(visit))
            }) {
            case .success(let s): saved = s
            case .failure(let e) where e.code == .validation:
                try records.visitInvoices.invoiceRefused(accountId: accountId, visitId: visit.id)
                throw SyncError(message: InvoiceRules.refusal(e.validationErrors.isEmpty ? [e.message] : e.validationErrors,
                                                              contact: try contactName(visit)))
            case .failure(let e): throw e
            }
            guard let created = saved.first, (created.validationErrors ?? []).isEmpty, created.invoiceID != nil else {
                try records.visitInvoices.invoiceRefused(accountId: accountId, visitId: visit.id)
                let why = saved.first?.validationErrors?.map(\.message) ?? []
                throw SyncError(message: why.isEmpty ? "Xero sent no invoice back; create the invoice again."
                                    : InvoiceRules.refusal(why, contact: try contactName(visit)))
            }
            count("invoicesCreated")
            return try link(visit, to: created)
        } catch let e as XeroAPIError where [.timeout, .transport, .server, .rateLimited].contains(e.code) {
            throw SyncError(message: InvoiceRules.unreachable, unreachable: true)
        }
    }

    /// The visit's contact in Xero (R11), linked or created first.
    func invoiceContact(_ visit: VisitRecord) throws -> String {
        guard let contact = try records.contacts.get(accountId: accountId, id: visit.contactId) else {
            throw SyncError(message: "The visit's contact no longer exists; choose another contact for the visit, then create the invoice again.")
        }
        if let xid = contact.xeroContactId { return xid }
        guard !contact.archived else {
            throw SyncError(message: "The contact \(contact.name) is archived in SortScape; restore the contact, then create the invoice again.")
        }
        let linked = try createContactInXero(contactId: contact.id)
        guard let xid = linked.xeroContactId else { throw SyncError(message: "Xero sent no contact back; create the invoice again.") }
        return xid
    }

    /// A line item per visit line; each material goes to Xero as an item first (R14).
    func invoiceLines(_ visit: VisitRecord) throws -> [LineItem] {
        let settings = try records.visitInvoices.invoiceSettings(accountId: accountId)
        var items: [String: MaterialRecord] = [:]
        return try visit.lines.map { line throws -> LineItem in
            let quantity = Decimal4(units: line.quantity), price = Decimal4(units: line.unitPrice)
            guard line.kind == .material, let materialId = line.materialId else {
                return LineItem(description: line.description, quantity: quantity, unitAmount: price,
                                accountCode: settings.labourAccountCode)
            }
            if items[materialId] == nil {
                do { items[materialId] = try itemForMaterial(materialId: materialId) } catch let e as StoreError where e.code == .notFound {
                    throw SyncError(message: "A line of the visit names a material this account no longer has; change the line, then create the invoice again.")
                }
            }
            return LineItem(itemCode: items[materialId]?.code, description: line.description, quantity: quantity, unitAmount: price)
        }
    }

    func contactName(_ visit: VisitRecord) throws -> String {
        try records.contacts.get(accountId: accountId, id: visit.contactId).map { $0.companyName.isEmpty ? $0.name : $0.companyName } ?? ""
    }

    func link(_ visit: VisitRecord, to invoice: Invoice) throws -> VisitRecord {
        guard let id = invoice.invoiceID else { throw SyncError(message: "Xero sent an invoice without an InvoiceID; create the invoice again.") }
        return try records.visitInvoices.linkInvoice(accountId: accountId, visitId: visit.id,
                                                     VisitInvoice(invoiceId: id, number: invoice.invoiceNumber,
                                                                  status: invoice.status?.rawValue))
    }

    /// R15, R16: INVOICE events. The invoices visits hold are read with `GET Invoices?IDs=…`
    /// and their number and status kept; events of other invoices are ignored with why.
    /// On a failure the events are failed (retried later) and the error comes back.
    func applyInvoiceEvents(_ events: [InboxEvent]) -> (outcomes: [(id: Int64, outcome: EventOutcome)], failure: (any Error)?) {
        var outcomes: [(id: Int64, outcome: EventOutcome)] = []
        do {
            let ids = Set(events.compactMap { $0.resourceId?.lowercased() })
            let held = Set(try records.visitInvoices.visits(accountId: accountId, xeroInvoiceIds: Array(ids)).compactMap(\.xeroInvoiceId))
            var fetched = Set<String>()
            if !held.isEmpty {
                let invoices = try xero.invoices(tenantId: tenantId, ids: held.sorted())
                fetched = Set(invoices.compactMap { $0.invoiceID?.lowercased() })
                let changed = try records.visitInvoices.refreshInvoices(accountId: accountId, invoices.compactMap { i in
                    i.invoiceID.map { VisitInvoice(invoiceId: $0, number: i.invoiceNumber, status: i.status?.rawValue) }
                })
                count("invoicesUpdatedFromXero", changed)
            }
            for e in events {
                let id = e.resourceId?.lowercased() ?? ""
                if !held.contains(id) {
                    outcomes.append((e.id, .ignored("no SortScape visit holds this invoice")))
                } else if !fetched.contains(id) {
                    outcomes.append((e.id, .ignored("Xero did not return this invoice")))
                } else {
                    outcomes.append((e.id, .applied))
                }
            }
            return (outcomes, nil)
        } catch {
            let sentence = SyncError.sentence(for: error)
            return (events.map { ($0.id, .failed(sentence, nextAttemptAt: retryAt(attempts: $0.attempts + 1))) }, error)
        }
    }
}

/// R15's rules that need no Xero: what may be invoiced, the visit's key and reference, and
/// Xero's refusals as one sentence saying what to fix.
enum InvoiceRules {
    /// A visit that cannot be invoiced says why.
    static func checkInvoiceable(_ visit: VisitRecord) throws {
        if visit.archived {
            throw StoreError(code: .conflict, message: "This visit is archived; archived visits are not invoiced.")
        }
        guard visit.status == .completed else {
            throw StoreError(code: .conflict, message: "This visit is not completed; complete it, then create the invoice.")
        }
        guard !visit.lines.isEmpty else {
            throw SyncError(message: "This visit has no lines; add the materials used and the labour, then create the invoice.")
        }
    }

    /// The invoice's `Reference`: it names the visit, so the invoice can be found again.
    static func reference(_ visit: VisitRecord) -> String { "SortScape visit \(visit.id)" }

    /// The visit's own idempotency key for this attempt (at most 128 characters, Xero's limit).
    static func idempotencyKey(_ visit: VisitRecord) -> String {
        let key = "invoice-\(visit.accountId)-\(visit.id)-\(visit.invoiceAttempt)"
        guard key.utf8.count > 128 else { return key }
        let digest = Base64.encodeURL(Array(Crypto.sha256(Array("\(visit.accountId)/\(visit.id)".utf8)).prefix(24)))
        return "invoice-\(digest)-\(visit.invoiceAttempt)"
    }

    /// Whether an invoice found by reference is the visit's: a sales invoice not deleted or voided.
    static func counts(_ invoice: Invoice) -> Bool {
        (invoice.type ?? .accRec) == .accRec && invoice.status != .deleted && invoice.status != .voided && invoice.invoiceID != nil
    }

    static let unreachable = "Xero could not be reached or did not answer in time, so the invoice may not have been made yet; "
        + "create the invoice again: a retry never makes a second invoice."

    /// Xero's refusal of an invoice as one sentence saying what to fix.
    static func refusal(_ messages: [String], contact: String) -> String {
        let all = messages.joined(separator: " ").lowercased()
        let what = contact.isEmpty ? "the visit's contact" : contact
        if all.contains("archived") {
            return "Xero refused the invoice because the contact \(what) is archived in Xero; restore the contact in Xero (or choose another contact for the visit), then create the invoice again."
        }
        if all.contains("account code") {
            return "Xero refused the invoice because a line has no sales account, which Xero needs to approve an invoice; give the items a sales account in Xero and set the labour account in the invoice settings (or create drafts), then create the invoice again."
        }
        if all.contains("lock date") {
            return "Xero refused the invoice because its date falls in a period locked in Xero (\(messages.joined(separator: "; "))); ask whoever keeps the books to move the lock date in Xero, then create the invoice again."
        }
        if all.contains("item code") {
            return "Xero refused the invoice because it no longer has an item a line uses (\(messages.joined(separator: "; "))); press Sync with Xero so materials follow Xero's items, then create the invoice again."
        }
        if all.contains("idempotency-key") {
            return "An earlier attempt to create this invoice is still settling in Xero; create the invoice again in a few minutes."
        }
        return "Xero refused the invoice: \(messages.joined(separator: "; ")); fix that in Xero or on the visit, then create the invoice again."
    }
}

extension SyncEngine {
    /// R15: "Create Xero invoice" on a completed visit, through the engine (an `invoice` run).
    public func invoiceVisit(accountId: String, visitId: String) throws -> VisitRecord {
        try perform(accountId: accountId, trigger: .invoice) { try $0.invoiceVisit(visitId: visitId) }
    }
}
