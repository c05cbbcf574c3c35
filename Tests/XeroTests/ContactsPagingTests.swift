import Synchronization
import Testing
import Xero

/// A server that ignores `page`: every call answers the same full page, without `pagination`.
/// It gives up after `limit` calls (recording a failure), so a walker that never stops fails
/// the test instead of hanging it.
final class PageIgnoringXero: XeroAccounting {
    let page: [Contact]
    let limit: Int
    let pagesAsked = Mutex<[Int]>([])

    init(contacts: Int, limit: Int = 50) {
        page = (0..<contacts).map { Contact(contactID: "c-\($0)", name: "Contact \($0)") }
        self.limit = limit
    }

    func contactsPage(tenantId: String, page: Int, pageSize: Int, includeArchived: Bool,
                      modifiedSince: Int64?) throws(XeroAPIError) -> (contacts: [Contact], pagination: Pagination?) {
        let calls = pagesAsked.withLock { asked -> Int in
            asked.append(page)
            return asked.count
        }
        if calls > limit {
            Issue.record("the walker asked for page \(page) after \(limit) identical pages")
            throw XeroAPIError(.unexpected, message: "the test's server gave up")
        }
        return (self.page, nil)
    }

    func contacts(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Contact] { [] }
    func contacts(tenantId: String, named name: String) throws(XeroAPIError) -> [Contact] { [] }
    func contacts(tenantId: String, contactNumber number: String) throws(XeroAPIError) -> [Contact] { [] }
    func items(tenantId: String, named name: String) throws(XeroAPIError) -> [Item] { [] }
    func saveItems(tenantId: String, _ items: [Item], idempotencyKey: String) throws(XeroAPIError) -> [Item] { [] }
    func items(tenantId: String, modifiedSince: Int64?) throws(XeroAPIError) -> [Item] { [] }
    func saveContacts(tenantId: String, _ contacts: [Contact], idempotencyKey: String) throws(XeroAPIError) -> [Contact] { [] }
    func invoices(tenantId: String, ids: [String]) throws(XeroAPIError) -> [Invoice] { [] }
    func invoices(tenantId: String, reference: String) throws(XeroAPIError) -> [Invoice] { [] }
    func createInvoices(tenantId: String, _ invoices: [Invoice], idempotencyKey: String) throws(XeroAPIError) -> [Invoice] { [] }
}

@Suite struct ContactsPagingTests {
    /// Paging until a short page never ends against a server that ignores `page` and repeats a
    /// full one: the walker stops at the first repeat and hands each contact over once.
    @Test(arguments: [100, 1000])
    func r18_aServerThatIgnoresPageAndRepeatsAFullPageEndsTheWalkWithEachContactOnce(_ size: Int) throws {
        let xero = PageIgnoringXero(contacts: size)
        var handed: [[String]] = []
        try xero.forEachContactsPage(tenantId: "t", includeArchived: true, modifiedSince: nil) { contacts in
            handed.append(contacts.compactMap(\.contactID))
        }
        #expect(handed.count == 1)
        let all = handed.flatMap { $0 }
        #expect(all.count == size && Set(all).count == size)
        #expect(xero.pagesAsked.withLock { $0 } == [1, 2])
        // `allContacts` walks the same way.
        let again = PageIgnoringXero(contacts: size)
        let contacts = try again.allContacts(tenantId: "t", includeArchived: false, modifiedSince: nil)
        #expect(contacts.count == size && Set(contacts.compactMap(\.contactID)).count == size)
    }
}
