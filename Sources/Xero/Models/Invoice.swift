import StrictJSON
/// Invoice `Type`: `ACCREC` (sales invoice) or `ACCPAY` (bill), among others.
public struct InvoiceType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let accRec = InvoiceType(rawValue: "ACCREC")
    public static let accPay = InvoiceType(rawValue: "ACCPAY")
    public var description: String { rawValue }
}

/// Invoice `Status`.
public struct InvoiceStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let draft = InvoiceStatus(rawValue: "DRAFT")
    public static let submitted = InvoiceStatus(rawValue: "SUBMITTED")
    public static let authorised = InvoiceStatus(rawValue: "AUTHORISED")
    public static let paid = InvoiceStatus(rawValue: "PAID")
    public static let voided = InvoiceStatus(rawValue: "VOIDED")
    public static let deleted = InvoiceStatus(rawValue: "DELETED")
    public var description: String { rawValue }
}

/// `LineAmountTypes`: `Exclusive` (default), `Inclusive` or `NoTax`.
public struct LineAmountTypes: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }
    public static let exclusive = LineAmountTypes(rawValue: "Exclusive")
    public static let inclusive = LineAmountTypes(rawValue: "Inclusive")
    public static let noTax = LineAmountTypes(rawValue: "NoTax")
    public var description: String { rawValue }

    /// Canonical spelling of any casing (`EXCLUSIVE` → `Exclusive`); nil when unknown.
    public static func canonical(_ s: String) -> LineAmountTypes? {
        switch s.lowercased() {
        case "exclusive": return .exclusive
        case "inclusive": return .inclusive
        case "notax": return .noTax
        default: return nil
        }
    }
}

/// The `Item` summary Xero puts on a line item that names an `ItemCode`.
public struct LineItemItem: Sendable, Equatable {
    public var itemID: String?
    public var name: String?
    public var code: String?

    public init(itemID: String? = nil, name: String? = nil, code: String? = nil) {
        self.itemID = itemID
        self.name = name
        self.code = code
    }

    public var json: JSON {
        var o = JSONObjectBuilder(capacity: 3)
        o.add("ItemID", itemID)
        o.add("Name", name)
        o.add("Code", code)
        return o.json
    }
}

/// One invoice line.
public struct LineItem: XeroModel, Equatable {
    public static let collectionKey = "LineItems"

    public var lineItemID: String?
    public var itemCode: String?
    public var item: LineItemItem?
    public var description: String?
    public var quantity: Decimal4?
    public var unitAmount: Decimal4?
    public var taxType: String?
    public var taxAmount: Decimal4?
    public var lineAmount: Decimal4?
    public var accountCode: String?
    public var accountID: String?
    public var tracking: [JSON]?
    public var discountRate: Decimal4?
    public var discountAmount: Decimal4?
    public var validationErrors: [ValidationError]?

    public init(itemCode: String? = nil, description: String? = nil, quantity: Decimal4? = nil,
                unitAmount: Decimal4? = nil, accountCode: String? = nil, taxType: String? = nil) {
        self.itemCode = itemCode
        self.description = description
        self.quantity = quantity
        self.unitAmount = unitAmount
        self.accountCode = accountCode
        self.taxType = taxType
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        lineItemID = try f.string("LineItemID")
        itemCode = try f.string("ItemCode")
        if let i = try f.object("Item") {
            item = LineItemItem(itemID: try i.string("ItemID"), name: try i.string("Name"), code: try i.string("Code"))
        }
        description = try f.string("Description")
        quantity = try f.decimal("Quantity")
        unitAmount = try f.decimal("UnitAmount")
        taxType = try f.string("TaxType")
        taxAmount = try f.decimal("TaxAmount")
        lineAmount = try f.decimal("LineAmount")
        accountCode = try f.string("AccountCode")
        accountID = try f.string("AccountID")
        tracking = try f.array("Tracking")
        discountRate = try f.decimal("DiscountRate")
        discountAmount = try f.decimal("DiscountAmount")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 15)
        o.add("ItemCode", itemCode)
        o.add("Item", item?.json)
        o.add("Description", description)
        o.add("UnitAmount", unitAmount, places: options.unitDecimalPlaces)
        o.add("TaxType", taxType)
        o.add("TaxAmount", taxAmount, places: 2)
        o.add("LineAmount", lineAmount, places: 2)
        o.add("AccountCode", accountCode)
        o.add("AccountID", accountID)
        o.add("Tracking", tracking.map { JSON.array($0) })
        o.add("Quantity", quantity, places: 4)
        o.add("DiscountRate", discountRate, places: 2)
        o.add("DiscountAmount", discountAmount, places: 2)
        o.add("LineItemID", lineItemID)
        o.add("ValidationErrors", validationErrors, options)
        return o.json
    }
}

/// A Xero invoice (sales invoice or bill).
public struct Invoice: XeroModel, Equatable {
    public static let collectionKey = "Invoices"

    public var type: InvoiceType?
    public var invoiceID: String?
    public var invoiceNumber: String?
    public var reference: String?
    public var payments: [JSON]?
    public var creditNotes: [JSON]?
    public var prepayments: [JSON]?
    public var overpayments: [JSON]?
    public var amountDue: Decimal4?
    public var amountPaid: Decimal4?
    public var amountCredited: Decimal4?
    public var sentToContact: Bool?
    public var currencyRate: Decimal4?
    public var isDiscounted: Bool?
    public var hasAttachments: Bool?
    public var hasErrors: Bool?
    public var contact: Contact?
    /// UTC midnight of the invoice date, in milliseconds.
    public var date: Int64?
    public var dueDate: Int64?
    public var brandingThemeID: String?
    public var status: InvoiceStatus?
    public var lineAmountTypes: LineAmountTypes?
    public var lineItems: [LineItem]?
    public var subTotal: Decimal4?
    public var totalTax: Decimal4?
    public var total: Decimal4?
    public var updatedDateUTC: Int64?
    public var currencyCode: String?
    public var url: String?
    public var statusAttributeString: String?
    public var validationErrors: [ValidationError]?
    public var warnings: [ValidationError]?

    public init(type: InvoiceType? = nil, contact: Contact? = nil, lineItems: [LineItem]? = nil) {
        self.type = type
        self.contact = contact
        self.lineItems = lineItems
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        type = try f.string("Type").map { InvoiceType(rawValue: $0.uppercased()) }
        invoiceID = try f.string("InvoiceID")
        invoiceNumber = try f.string("InvoiceNumber")
        reference = try f.string("Reference")
        payments = try f.array("Payments")
        creditNotes = try f.array("CreditNotes")
        prepayments = try f.array("Prepayments")
        overpayments = try f.array("Overpayments")
        amountDue = try f.decimal("AmountDue")
        amountPaid = try f.decimal("AmountPaid")
        amountCredited = try f.decimal("AmountCredited")
        sentToContact = try f.bool("SentToContact")
        currencyRate = try f.decimal("CurrencyRate")
        isDiscounted = try f.bool("IsDiscounted")
        hasAttachments = try f.bool("HasAttachments")
        hasErrors = try f.bool("HasErrors")
        if let c = f.value("Contact") {
            do { contact = try Contact(json: c) } catch {
                throw XeroModelError(field: "Contact" + (error.field.isEmpty ? "" : "." + error.field), message: error.message)
            }
        }
        date = try f.date("Date")
        dueDate = try f.date("DueDate")
        brandingThemeID = try f.string("BrandingThemeID")
        status = try f.string("Status").map { InvoiceStatus(rawValue: $0.uppercased()) }
        lineAmountTypes = try f.string("LineAmountTypes").map { LineAmountTypes.canonical($0) ?? LineAmountTypes(rawValue: $0) }
        lineItems = try f.models("LineItems", as: LineItem.self)
        subTotal = try f.decimal("SubTotal")
        totalTax = try f.decimal("TotalTax")
        total = try f.decimal("Total")
        updatedDateUTC = try f.date("UpdatedDateUTC")
        currencyCode = try f.string("CurrencyCode")
        url = try f.string("Url")
        statusAttributeString = try f.string("StatusAttributeString")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
        warnings = try f.models("Warnings", as: ValidationError.self)
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 40)
        o.add("Type", type?.rawValue)
        o.add("InvoiceID", invoiceID)
        o.add("InvoiceNumber", invoiceNumber)
        o.add("Reference", reference)
        o.add("Payments", payments.map { JSON.array($0) })
        o.add("CreditNotes", creditNotes.map { JSON.array($0) })
        o.add("Prepayments", prepayments.map { JSON.array($0) })
        o.add("Overpayments", overpayments.map { JSON.array($0) })
        o.add("AmountDue", amountDue, places: 2)
        o.add("AmountPaid", amountPaid, places: 2)
        o.add("AmountCredited", amountCredited, places: 2)
        o.add("SentToContact", sentToContact)
        o.add("CurrencyRate", currencyRate, places: 6)
        o.add("IsDiscounted", isDiscounted)
        o.add("HasAttachments", hasAttachments)
        o.add("HasErrors", hasErrors)
        o.add("Contact", contact?.json(options))
        if let date {
            o.add("DateString", XeroModelDate.dateString(date))
            o.addDate("Date", date)
        }
        if let dueDate {
            o.add("DueDateString", XeroModelDate.dateString(dueDate))
            o.addDate("DueDate", dueDate)
        }
        o.add("BrandingThemeID", brandingThemeID)
        o.add("Url", url)
        o.add("Status", status?.rawValue)
        o.add("LineAmountTypes", lineAmountTypes?.rawValue)
        o.add("LineItems", lineItems, options)
        o.add("SubTotal", subTotal, places: 2)
        o.add("TotalTax", totalTax, places: 2)
        o.add("Total", total, places: 2)
        o.addDate("UpdatedDateUTC", updatedDateUTC)
        if let updatedDateUTC {
            // `2026-07-22T01:31:05Z`: whole seconds.
            o.add("UpdatedDateUTCString", XeroModelDate.dateString(updatedDateUTC) + "Z")
        }
        o.add("CurrencyCode", currencyCode)
        o.add("StatusAttributeString", statusAttributeString)
        o.add("ValidationErrors", validationErrors, options)
        o.add("Warnings", warnings, options)
        return o.json
    }
}
