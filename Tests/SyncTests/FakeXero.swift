import Foundation
import StrictJSON
import Synchronization
import Xero

/// Xero in memory for Sync's tests: contacts and items, pages of `pageSize`, failures to inject,
/// and a count of every call.
final class FakeXero: XeroAccounting {
    struct State {
        var contacts: [Xero.Contact] = []
        var items: [Item] = []
        var calls: [String] = []
        /// The number of ids each `contacts(tenantId:ids:)` call asked for.
        var idsPerCall: [Int] = []
        /// Errors thrown by the next calls, in order.
        var failures: [XeroAPIError] = []
        var saved: [(key: String, contacts: [Xero.Contact])] = []
        var invoices: [Invoice] = []
        /// Each invoice write as sent: its key and what it carried.
        var invoiceWrites: [(key: String, invoices: [Invoice])] = []
        /// Answers by idempotency key (Xero keeps them six minutes; here, until cleared).
        var invoiceKeys: [String: (body: String, answer: Result<[Invoice], XeroAPIError>)] = [:]
        /// The next this many invoice writes are carried out, then answered with a timeout.
        var lostAnswers = 0
        /// The next this many contact writes are carried out, then answered with a timeout
        /// (no idempotency keys kept: as a retry after Xero forgot the key).
        var lostContactAnswers = 0
    }
    let state = Mutex(State())

    var calls: [String] { state.withLock { $0.calls } }

    private func call(_ name: String) throws(XeroAPIError) {
        let failure = state.withLock { s -> XeroAPIError? in
            s.calls.append(name)
            return s.failures.isEmpty ? nil : s.failures.removeFirst()
        }
        if let failure { throw failure }
    }

    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Xero.Contact], pagination: Pagination?) {
        try call("contacts page \(page)")
        return state.withLock { s in
            let visible = s.contacts.filter { includeArchived || $0.contactStatus != .archived }
            let start = min(visible.count, (page - 1) * pageSize)
            let slice = Array(visible[start..<min(visible.count, start + pageSize)])
            let pageCount = max(1, (visible.count + pageSize - 1) / pageSize)
            return (slice, Pagination(page: page, pageSize: pageSize, pageCount: pageCount, itemCount: visible.count))
        }
    }

    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Xero.Contact] {
        try call("contacts by id")
        return state.withLock { s in
            s.idsPerCall.append(ids.count)
            return s.contacts.filter { ids.contains($0.contactID ?? "") }
        }
    }

    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Xero.Contact] {
        try call("contacts named")
        return state.withLock { s in s.contacts.filter { ($0.name ?? "").lowercased() == name.lowercased() && ($0.contactStatus ?? .active) == .active } }
    }

    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Xero.Contact] {
        try call("contacts numbered")
        return state.withLock { s in s.contacts.filter { $0.contactNumber == number && ($0.contactStatus ?? .active) == .active } }
    }

    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] {
        try call("items named")
        return state.withLock { s in s.items.filter { ($0.name ?? "").lowercased() == name.lowercased() } }
    }

    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] {
        try call("save items")
        return state.withLock { s in
            var out: [Item] = []
            for var i in items {
                if i.itemID == nil { i.itemID = "item-new-\(s.items.count + 1)" }
                s.items.removeAll { $0.itemID == i.itemID }
                s.items.append(i)
                out.append(i)
            }
            return out
        }
    }

    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] {
        try call("items")
        return state.withLock { $0.items }
    }

    func saveContacts(tenantId: String, _ contacts: [Xero.Contact], idempotencyKey: String) throws(XeroAPIError) -> [Xero.Contact] {
        try call("save contacts")
        return try state.withLock { s -> Result<[Xero.Contact], XeroAPIError> in
            s.saved.append((idempotencyKey, contacts))
            var out: [Xero.Contact] = []
            for c in contacts {
                if let i = s.contacts.firstIndex(where: { $0.contactID == c.contactID }) {
                    var merged = s.contacts[i]
                    merged.name = c.name ?? merged.name
                    merged.firstName = c.firstName ?? merged.firstName
                    merged.lastName = c.lastName ?? merged.lastName
                    merged.emailAddress = c.emailAddress ?? merged.emailAddress
                    merged.phones = c.phones ?? merged.phones
                    s.contacts[i] = merged
                    out.append(merged)
                } else {
                    var created = c
                    created.contactID = "x-new-\(s.contacts.count + 1)"
                    created.contactStatus = .active
                    s.contacts.append(created)
                    out.append(created)
                }
            }
            if s.lostContactAnswers > 0 {
                s.lostContactAnswers -= 1
                return .failure(XeroAPIError(.timeout, message: "the answer was lost"))
            }
            return .success(out)
        }.get()
    }

    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] {
        try call("invoices by id")
        return state.withLock { s in s.invoices.filter { ids.contains($0.invoiceID ?? "") } }
    }

    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] {
        try call("invoices by reference")
        return state.withLock { s in s.invoices.filter { $0.reference == reference } }
    }

    /// Xero's rules the tests need: an archived contact is refused, numbers are `INV-000n`, the
    /// status is the one given (DRAFT otherwise); the same key and body replay the first answer
    /// (refusals too), the same key with another body is a 400.
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        try call("create invoices")
        let body = XeroWire.string(JSON.array(invoices.map { $0.json(.fourPlaces) }))
        let answer = state.withLock { s -> Result<[Invoice], XeroAPIError> in
            s.invoiceWrites.append((idempotencyKey, invoices))
            if let cached = s.invoiceKeys[idempotencyKey] {
                return cached.body == body ? cached.answer
                    : .failure(XeroAPIError(.validation, status: 400, message: "The Idempotency-Key '\(idempotencyKey)' has already been used with a different request."))
            }
            var out: [Invoice] = []
            for var i in invoices {
                let contact = s.contacts.first { $0.contactID == i.contact?.contactID }
                if let contact, contact.contactStatus == .archived {
                    i.validationErrors = [ValidationError(message: "The contact '\(contact.name ?? "")' is archived.")]
                    out.append(i)
                    continue
                }
                i.invoiceID = "inv-\(s.invoices.count + 1)"
                i.invoiceNumber = "INV-\(String(format: "%04d", s.invoices.count + 1))"
                i.status = i.status ?? .draft
                s.invoices.append(i)
                out.append(i)
            }
            s.invoiceKeys[idempotencyKey] = (body, .success(out))
            if s.lostAnswers > 0 {
                s.lostAnswers -= 1
                return .failure(XeroAPIError(.timeout, message: "the answer was lost"))
            }
            return .success(out)
        }
        return try answer.get()
    }

    static func contact(_ id: String, _ name: String, customer: Bool = true, supplier: Bool = false,
                        status: ContactStatus = .active, email: String? = nil, street: String? = nil, poBox: String? = nil) -> Xero.Contact {
        var c = Xero.Contact(contactID: id, name: name, emailAddress: email)
        c.isCustomer = customer
        c.isSupplier = supplier
        c.contactStatus = status
        c.addresses = [Address(addressType: "POBOX", addressLine1: poBox ?? ""), Address(addressType: "STREET", addressLine1: street ?? "")]
        return c
    }
}
