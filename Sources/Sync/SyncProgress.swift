import Synchronization
import Xero

/// What a run has done so far, for a progress line (`xero-gateway sync`).
public struct SyncProgress: Sendable, Equatable {
    /// Calls to Xero, retries included.
    public var xeroCalls: Int
    /// Lists Xero answered: pages of contacts, contacts by id or name, items.
    public var pages: Int
    /// Contacts and items those lists held.
    public var records: Int

    public init(xeroCalls: Int = 0, pages: Int = 0, records: Int = 0) {
        self.xeroCalls = xeroCalls
        self.pages = pages
        self.records = records
    }
}

/// Told of a run's progress after each call to Xero and each list it read, on the run's thread.
public typealias SyncProgressObserver = @Sendable (SyncProgress) -> Void

/// A run's pages and records so far, with its call counter; tells the observer on each change.
final class ProgressTally: Sendable {
    let calls: CallCounter
    let observer: SyncProgressObserver
    private let pages = Atomic<Int>(0)
    private let records = Atomic<Int>(0)

    init(calls: CallCounter, observer: @escaping SyncProgressObserver) {
        self.calls = calls
        self.observer = observer
    }

    func read(_ n: Int) {
        pages.add(1, ordering: .relaxed)
        records.add(n, ordering: .relaxed)
        report()
    }

    func report() {
        observer(SyncProgress(xeroCalls: calls.count, pages: pages.load(ordering: .relaxed), records: records.load(ordering: .relaxed)))
    }
}

/// Xero as a run sees it, counting the lists and records each answer holds.
struct ProgressReportingXero: XeroAccounting {
    let inner: any XeroAccounting
    let tally: ProgressTally

    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Contact], pagination: Pagination?) {
        let r = try inner.contactsPage(tenantId: tenantId, page: page, pageSize: pageSize, includeArchived: includeArchived,
                                       modifiedSince: modifiedSince)
        tally.read(r.contacts.count)
        return r
    }

    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Contact] {
        let r = try inner.contacts(tenantId: tenantId, ids: ids)
        tally.read(r.count)
        return r
    }

    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Contact] {
        let r = try inner.contacts(tenantId: tenantId, named: name)
        tally.read(r.count)
        return r
    }

    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Contact] {
        let r = try inner.contacts(tenantId: tenantId, contactNumber: number)
        tally.read(r.count)
        return r
    }

    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] {
        let r = try inner.items(tenantId: tenantId, modifiedSince: modifiedSince)
        tally.read(r.count)
        return r
    }

    func saveContacts(tenantId: String, _ contacts: [Contact], idempotencyKey: String) throws(XeroAPIError) -> [Contact] {
        try inner.saveContacts(tenantId: tenantId, contacts, idempotencyKey: idempotencyKey)
    }

    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] {
        let r = try inner.items(tenantId: tenantId, named: name)
        tally.read(r.count)
        return r
    }

    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] {
        try inner.saveItems(tenantId: tenantId, items, idempotencyKey: idempotencyKey)
    }

    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] {
        let r = try inner.invoices(tenantId: tenantId, ids: ids)
        tally.read(r.count)
        return r
    }

    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] {
        let r = try inner.invoices(tenantId: tenantId, reference: reference)
        tally.read(r.count)
        return r
    }

    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] {
        try inner.createInvoices(tenantId: tenantId, invoices, idempotencyKey: idempotencyKey)
    }
}
