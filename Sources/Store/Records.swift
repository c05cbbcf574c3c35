/// SortScape's own records (DESIGN §3): contacts, their properties, materials, jobs, issues and visits.
/// Every record belongs to one account; every query names it, so no caller reaches another
/// account's records. Timestamps are ISO-8601 UTC (`Timestamp`); money is held exactly, in
/// ten-thousandths (Xero's `unitdp=4`).

/// A contact's link to Xero (DESIGN §3 `contact.syncState`).
public enum ContactSyncState: String, Sendable, CaseIterable {
    case unlinked, linked
    /// Archived in Xero, waiting for pending jobs and open issues to be resolved (R10).
    case waitingArchive = "waiting_archive"
}

/// Where a property came from (DESIGN §3 `property.source`).
public enum PropertySource: String, Sendable, CaseIterable {
    case xeroShipping = "xero_shipping"
    case xeroBilling = "xero_billing"
    case manual
}

public enum JobStatus: String, Sendable, CaseIterable { case pending, done }
public enum IssueStatus: String, Sendable, CaseIterable { case open, resolved }

public struct ContactRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var name: String
    public var companyName: String
    public var email: String
    public var phone: String
    public var archived: Bool
    public var xeroContactId: String?
    public var syncState: ContactSyncState
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public init(id: String, accountId: String, name: String, companyName: String = "", email: String = "", phone: String = "",
                archived: Bool = false, xeroContactId: String? = nil, syncState: ContactSyncState = .unlinked,
                createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.name = name
        self.companyName = companyName
        self.email = email
        self.phone = phone
        self.archived = archived
        self.xeroContactId = xeroContactId
        self.syncState = syncState
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct PropertyRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var contactId: String
    public var addressLine1: String
    public var addressLine2: String
    public var addressLine3: String
    public var addressLine4: String
    public var city: String
    public var region: String
    public var postalCode: String
    public var country: String
    public var source: PropertySource
    public var archived: Bool
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public init(id: String, accountId: String, contactId: String, addressLine1: String = "", addressLine2: String = "",
                addressLine3: String = "", addressLine4: String = "", city: String = "", region: String = "",
                postalCode: String = "", country: String = "", source: PropertySource = .manual, archived: Bool = false,
                createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.contactId = contactId
        self.addressLine1 = addressLine1
        self.addressLine2 = addressLine2
        self.addressLine3 = addressLine3
        self.addressLine4 = addressLine4
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
        self.source = source
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct MaterialRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var name: String
    public var code: String
    public var description: String
    /// The unit price in ten-thousandths (12.3456 is 123456).
    public var unitPrice: Int64
    /// Linked to this Xero item: read-only in SortScape (R13).
    public var xeroItemId: String?
    public var archived: Bool
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public var readOnly: Bool { xeroItemId != nil }

    public init(id: String, accountId: String, name: String, code: String = "", description: String = "", unitPrice: Int64 = 0,
                xeroItemId: String? = nil, archived: Bool = false, createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.name = name
        self.code = code
        self.description = description
        self.unitPrice = unitPrice
        self.xeroItemId = xeroItemId
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct JobRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var propertyId: String
    public var title: String
    public var status: JobStatus
    /// Archived (the API's `POST …/archive`); archived records stay readable.
    public var archived: Bool
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public init(id: String, accountId: String, propertyId: String, title: String, status: JobStatus = .pending,
                archived: Bool = false, createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.propertyId = propertyId
        self.title = title
        self.status = status
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

public struct IssueRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var propertyId: String
    public var title: String
    public var status: IssueStatus
    /// Archived (the API's `POST …/archive`); archived records stay readable.
    public var archived: Bool
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public init(id: String, accountId: String, propertyId: String, title: String, status: IssueStatus = .open,
                archived: Bool = false, createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.propertyId = propertyId
        self.title = title
        self.status = status
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// Which records a list returns: one account's, archived or not (nil: both), a page at a time.
public struct RecordQuery: Sendable, Equatable {
    public var accountId: String
    public var archived: Bool?
    public var limit: Int
    /// The `nextCursor` of the previous page.
    public var cursor: String?

    public init(accountId: String, archived: Bool? = nil, limit: Int = 50, cursor: String? = nil) {
        self.accountId = accountId
        self.archived = archived
        self.limit = limit
        self.cursor = cursor
    }
}

/// One page of a list, oldest first; `nextCursor` is nil on the last page.
public struct RecordPage<Record: Sendable>: Sendable {
    public var items: [Record]
    public var nextCursor: String?

    public init(items: [Record], nextCursor: String?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// One table of SortScape records. `insert` and `update` stamp `createdAt`/`updatedAt` from the
/// store's clock and return the record as stored; `insert` gives a record with an empty `id` a new
/// one (a lowercase UUID). `update` of an unknown id (or another account's) throws `notFound`; it
/// keeps `createdAt`. A record naming a parent (a property's contact, a job's or issue's property)
/// that its account does not have throws `conflict`, as does a duplicate id or Xero id.
/// A malformed cursor throws `invalidCursor`.
///
/// Every write of a row, by any repository (a person's or the sync engine's), moves its `version`
/// up by one; `insert` starts it at 1 and `update` ignores the `version` it is given.
public protocol RecordRepository<Record>: Sendable {
    associatedtype Record: Sendable
    func list(_ query: RecordQuery) throws(StoreError) -> RecordPage<Record>
    func get(accountId: String, id: String) throws(StoreError) -> Record?
    @discardableResult func insert(_ record: Record) throws(StoreError) -> Record
    @discardableResult func update(_ record: Record) throws(StoreError) -> Record
    /// Reads the record, lets `change` edit it and writes it back, in one transaction: two edits,
    /// or an edit and a sync, cannot lose one another's changes. `change` may throw to write nothing.
    /// With `expectedVersion`, a record whose version is another throws `preconditionFailed` and
    /// nothing is written (the API's `If-Match`).
    @discardableResult func modify(accountId: String, id: String, expectedVersion: Int64?,
                                   _ change: (inout Record) throws(StoreError) -> Void) throws(StoreError) -> Record
}

extension RecordRepository {
    /// `modify` whatever the record's version.
    @discardableResult public func modify(accountId: String, id: String,
                                          _ change: (inout Record) throws(StoreError) -> Void) throws(StoreError) -> Record {
        try modify(accountId: accountId, id: id, expectedVersion: nil, change)
    }
}

/// SortScape's records of every kind, one repository each (they share a store, so a contact's
/// properties and a property's jobs and issues are consistent). Archiving a contact archives its
/// properties in the same transaction.
public protocol SortScapeRecords: Sendable {
    var contacts: any RecordRepository<ContactRecord> { get }
    var properties: any RecordRepository<PropertyRecord> { get }
    var materials: any RecordRepository<MaterialRecord> { get }
    var jobs: any RecordRepository<JobRecord> { get }
    var issues: any RecordRepository<IssueRecord> { get }
    /// Visits (a person's writes; the engine's go through `visitInvoices`).
    var visits: any RecordRepository<VisitRecord> { get }
    /// The engine's writes of visits' Xero invoices, and the invoice settings (R15).
    var visitInvoices: any VisitInvoiceRepository { get }
    /// Archives a contact and its properties (R8: never touches Xero). With `expectedVersion`, a
    /// contact whose version is another throws `preconditionFailed` and nothing is written.
    @discardableResult func archiveContact(accountId: String, id: String, expectedVersion: Int64?) throws(StoreError) -> ContactRecord
    /// The properties of these contacts of the account (archived ones too), oldest first: what a
    /// contact's `properties` shows, for a page of contacts in one query.
    func properties(accountId: String, contactIds: [String]) throws(StoreError) -> [PropertyRecord]
}

extension SortScapeRecords {
    /// `archiveContact` whatever the contact's version.
    @discardableResult public func archiveContact(accountId: String, id: String) throws(StoreError) -> ContactRecord {
        try archiveContact(accountId: accountId, id: id, expectedVersion: nil)
    }
}

/// The `preconditionFailed` of a record whose version is not the one a write expected.
enum VersionRules {
    static func check(_ what: String, _ id: String, stored: Int64, expected: Int64?) throws(StoreError) {
        guard let expected, expected != stored else { return }
        throw StoreError(code: .preconditionFailed,
                         message: "\(what) \(id) is at version \(stored), not \(expected): it changed since it was read")
    }
}
