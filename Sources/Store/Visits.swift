/// Visits (DESIGN §3 `visit`): work done for a contact, at one of its properties, with lines of
/// materials used and labour; a completed visit becomes one Xero sales invoice (R15). Quantities
/// and prices are held exactly, in ten-thousandths (Xero's `unitdp=4`).

/// A visit's `status`: scheduled until `POST /visits/{id}/complete`.
public enum VisitStatus: String, Sendable, CaseIterable { case scheduled, completed }

/// What a visit line is: a material used (it names the material) or labour.
public enum VisitLineKind: String, Sendable, CaseIterable { case material, labour }

/// One line of a visit: one line of its invoice.
public struct VisitLine: Sendable, Equatable {
    public var kind: VisitLineKind
    /// The material used (material lines only).
    public var materialId: String?
    public var description: String
    /// Ten-thousandths (2.5 is 25 000).
    public var quantity: Int64
    /// Ten-thousandths (12.3456 is 123 456).
    public var unitPrice: Int64

    public init(kind: VisitLineKind, materialId: String? = nil, description: String, quantity: Int64, unitPrice: Int64) {
        self.kind = kind
        self.materialId = materialId
        self.description = description
        self.quantity = quantity
        self.unitPrice = unitPrice
    }

    /// A material line.
    public static func material(_ id: String, _ description: String, quantity: Int64, unitPrice: Int64) -> VisitLine {
        VisitLine(kind: .material, materialId: id, description: description, quantity: quantity, unitPrice: unitPrice)
    }

    /// A labour line.
    public static func labour(_ description: String, quantity: Int64, unitPrice: Int64) -> VisitLine {
        VisitLine(kind: .labour, description: description, quantity: quantity, unitPrice: unitPrice)
    }
}

/// A visit (DESIGN §3 `visit`): a person's to write through `SortScapeRecords.visits`, except its
/// invoice fields, which only the engine writes (`VisitInvoiceRepository`).
public struct VisitRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var contactId: String
    /// One of the contact's properties, or none.
    public var propertyId: String?
    public var status: VisitStatus
    /// When it was completed (ISO-8601 UTC); nil while scheduled.
    public var completedAt: String?
    public var lines: [VisitLine]
    /// The Xero invoice made for it (R15): at most one. The engine's to set, never a person's.
    public var xeroInvoiceId: String?
    public var xeroInvoiceNumber: String?
    /// Xero's `Status` of that invoice (`DRAFT`, `AUTHORISED`, `PAID`, …), kept fresh by INVOICE webhooks.
    public var xeroInvoiceStatus: String?
    /// Attempts Xero refused so far: the invoice's idempotency key names the next one, so a
    /// retry after the person fixed what Xero refused is not answered with the cached refusal.
    public var invoiceAttempt: Int64
    public var archived: Bool
    public var createdAt: String
    public var updatedAt: String
    /// 1 when created, one more with every write of the row, a person's or the sync's (the API's `ETag`).
    public var version: Int64 = 1

    public init(id: String, accountId: String, contactId: String, propertyId: String? = nil, status: VisitStatus = .scheduled,
                completedAt: String? = nil, lines: [VisitLine] = [], xeroInvoiceId: String? = nil, xeroInvoiceNumber: String? = nil,
                xeroInvoiceStatus: String? = nil, invoiceAttempt: Int64 = 0, archived: Bool = false,
                createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.contactId = contactId
        self.propertyId = propertyId
        self.status = status
        self.completedAt = completedAt
        self.lines = lines
        self.xeroInvoiceId = xeroInvoiceId
        self.xeroInvoiceNumber = xeroInvoiceNumber
        self.xeroInvoiceStatus = xeroInvoiceStatus
        self.invoiceAttempt = invoiceAttempt
        self.archived = archived
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    /// Invoiced in Xero: its lines and contact are Xero's to change from now on.
    public var invoiced: Bool { xeroInvoiceId != nil }
}

/// A Xero invoice as a visit keeps it.
public struct VisitInvoice: Sendable, Equatable {
    public var invoiceId: String
    public var number: String?
    public var status: String?

    public init(invoiceId: String, number: String?, status: String?) {
        self.invoiceId = invoiceId
        self.number = number
        self.status = status
    }
}

/// The status new invoices are given in Xero.
public enum InvoiceStatusSetting: String, Sendable, CaseIterable {
    /// Drafts, approved in Xero by a person (the default).
    case draft = "DRAFT"
    /// Approved at once.
    case authorised = "AUTHORISED"
}

/// An account's invoice settings (R15).
public struct InvoiceSettings: Sendable, Equatable {
    public var invoiceStatus: InvoiceStatusSetting
    /// The Xero sales account for lines without an item (labour): Xero needs one on every line
    /// of an approved invoice. Nil: none is sent.
    public var labourAccountCode: String?

    public init(invoiceStatus: InvoiceStatusSetting = .draft, labourAccountCode: String? = nil) {
        self.invoiceStatus = invoiceStatus
        self.labourAccountCode = labourAccountCode
    }
}

/// What the sync engine writes of visits (R15), beside a person's edits through
/// `SortScapeRecords.visits`, and the account's invoice settings. Every write of a visit moves
/// its version.
public protocol VisitInvoiceRepository: Sendable {
    /// The account's settings (the defaults until set). `notFound` for an unknown account.
    func invoiceSettings(accountId: String) throws(StoreError) -> InvoiceSettings
    /// Replaces the account's settings; returns them as stored. `notFound` for an unknown account.
    @discardableResult func setInvoiceSettings(accountId: String, _ settings: InvoiceSettings) throws(StoreError) -> InvoiceSettings
    /// Records the Xero invoice made (or found) for the visit. A visit holding another invoice
    /// already throws `conflict` and keeps it; the same one is taken again (number and status).
    @discardableResult func linkInvoice(accountId: String, visitId: String, _ invoice: VisitInvoice) throws(StoreError) -> VisitRecord
    /// Xero refused the visit's invoice: the next attempt is another (and gets a new key).
    @discardableResult func invoiceRefused(accountId: String, visitId: String) throws(StoreError) -> VisitRecord
    /// The account's visits holding these Xero invoices (ids in any case).
    func visits(accountId: String, xeroInvoiceIds: [String]) throws(StoreError) -> [VisitRecord]
    /// Xero's number and status of invoices visits hold (INVOICE webhooks); returns how many
    /// visits changed (one whose values are already these is not written).
    @discardableResult func refreshInvoices(accountId: String, _ invoices: [VisitInvoice]) throws(StoreError) -> Int
}
