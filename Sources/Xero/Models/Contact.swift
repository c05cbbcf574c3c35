import StrictJSON
/// `ContactStatus`: ACTIVE, ARCHIVED or GDPRREQUEST (open-ended: unknown values survive a round trip).
public struct ContactStatus: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(rawValue: String) { self.rawValue = rawValue }

    public static let active = ContactStatus(rawValue: "ACTIVE")
    public static let archived = ContactStatus(rawValue: "ARCHIVED")
    public static let gdprRequest = ContactStatus(rawValue: "GDPRREQUEST")

    public var description: String { rawValue }
}

/// One `ValidationErrors[]` entry.
public struct ValidationError: XeroModel, Equatable {
    public static let collectionKey = "ValidationErrors"
    public var message: String

    public init(message: String) { self.message = message }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        message = try f.string("Message") ?? ""
    }

    public func json(_ options: XeroEncodingOptions) -> JSON { .object([("Message", .string(message))]) }
}

/// A contact's address. `AddressType` is `POBOX` (postal/billing) or `STREET` (physical/delivery).
public struct Address: XeroModel, Equatable {
    public static let collectionKey = "Addresses"
    public static let poBox = "POBOX"
    public static let street = "STREET"

    public var addressType: String?
    public var addressLine1: String?
    public var addressLine2: String?
    public var addressLine3: String?
    public var addressLine4: String?
    public var city: String?
    public var region: String?
    public var postalCode: String?
    public var country: String?
    public var attentionTo: String?
    public var validationErrors: [ValidationError]?

    public init(addressType: String? = nil, addressLine1: String? = nil, addressLine2: String? = nil,
                addressLine3: String? = nil, addressLine4: String? = nil, city: String? = nil,
                region: String? = nil, postalCode: String? = nil, country: String? = nil,
                attentionTo: String? = nil) {
        self.addressType = addressType
        self.addressLine1 = addressLine1
        self.addressLine2 = addressLine2
        self.addressLine3 = addressLine3
        self.addressLine4 = addressLine4
        self.city = city
        self.region = region
        self.postalCode = postalCode
        self.country = country
        self.attentionTo = attentionTo
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        addressType = try f.string("AddressType")
        addressLine1 = try f.string("AddressLine1")
        addressLine2 = try f.string("AddressLine2")
        addressLine3 = try f.string("AddressLine3")
        addressLine4 = try f.string("AddressLine4")
        city = try f.string("City")
        region = try f.string("Region")
        postalCode = try f.string("PostalCode")
        country = try f.string("Country")
        attentionTo = try f.string("AttentionTo")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
    }

    /// True when any line, the city or the postal code holds something.
    public var hasContent: Bool {
        [addressLine1, addressLine2, addressLine3, addressLine4, city, postalCode]
            .contains { !($0 ?? "").trimmedSpaces.isEmpty }
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 11)
        o.add("AddressType", addressType)
        o.add("AddressLine1", addressLine1)
        o.add("AddressLine2", addressLine2)
        o.add("AddressLine3", addressLine3)
        o.add("AddressLine4", addressLine4)
        o.add("City", city)
        o.add("Region", region)
        o.add("PostalCode", postalCode)
        o.add("Country", country)
        o.add("AttentionTo", attentionTo)
        o.add("ValidationErrors", validationErrors, options)
        return o.json
    }
}

/// A contact's phone: `PhoneType` DEFAULT, DDI, MOBILE, FAX or OFFICE, split into country, area and number.
public struct Phone: XeroModel, Equatable {
    public static let collectionKey = "Phones"
    public static let defaultType = "DEFAULT"
    public static let ddi = "DDI"
    public static let mobile = "MOBILE"
    public static let fax = "FAX"
    public static let office = "OFFICE"

    public var phoneType: String?
    public var phoneNumber: String?
    public var phoneAreaCode: String?
    public var phoneCountryCode: String?
    public var validationErrors: [ValidationError]?

    public init(phoneType: String? = nil, phoneNumber: String? = nil, phoneAreaCode: String? = nil,
                phoneCountryCode: String? = nil) {
        self.phoneType = phoneType
        self.phoneNumber = phoneNumber
        self.phoneAreaCode = phoneAreaCode
        self.phoneCountryCode = phoneCountryCode
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        phoneType = try f.string("PhoneType")
        phoneNumber = try f.string("PhoneNumber")
        phoneAreaCode = try f.string("PhoneAreaCode")
        phoneCountryCode = try f.string("PhoneCountryCode")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
    }

    public var hasContent: Bool { !(phoneNumber ?? "").trimmedSpaces.isEmpty }

    /// Country, area and number joined with spaces (`64 04 384 9921`), empty parts left out.
    public var formatted: String {
        [phoneCountryCode, phoneAreaCode, phoneNumber].compactMap { $0?.trimmedSpaces }.filter { !$0.isEmpty }
            .joined(separator: " ")
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 5)
        o.add("PhoneType", phoneType)
        o.add("PhoneNumber", phoneNumber)
        o.add("PhoneAreaCode", phoneAreaCode)
        o.add("PhoneCountryCode", phoneCountryCode)
        o.add("ValidationErrors", validationErrors, options)
        return o.json
    }
}

/// An additional person on a contact.
public struct ContactPerson: XeroModel, Equatable {
    public static let collectionKey = "ContactPersons"
    public var firstName: String?
    public var lastName: String?
    public var emailAddress: String?
    public var includeInEmails: Bool?

    public init(firstName: String? = nil, lastName: String? = nil, emailAddress: String? = nil, includeInEmails: Bool? = nil) {
        self.firstName = firstName
        self.lastName = lastName
        self.emailAddress = emailAddress
        self.includeInEmails = includeInEmails
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        firstName = try f.string("FirstName")
        lastName = try f.string("LastName")
        emailAddress = try f.string("EmailAddress")
        includeInEmails = try f.bool("IncludeInEmails")
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 4)
        o.add("FirstName", firstName)
        o.add("LastName", lastName)
        o.add("EmailAddress", emailAddress)
        o.add("IncludeInEmails", includeInEmails)
        return o.json
    }
}

/// Outstanding and overdue amounts of one side (receivable or payable).
public struct BalanceAmounts: Sendable, Equatable {
    public var outstanding: Decimal4
    public var overdue: Decimal4

    public init(outstanding: Decimal4 = .zero, overdue: Decimal4 = .zero) {
        self.outstanding = outstanding
        self.overdue = overdue
    }

    init(_ f: JSONFields?) throws(XeroModelError) {
        outstanding = try f?.decimal("Outstanding") ?? .zero
        overdue = try f?.decimal("Overdue") ?? .zero
    }

    var json: JSON { .object([("Outstanding", outstanding.json(places: 2)), ("Overdue", overdue.json(places: 2))]) }
}

/// A contact's `Balances` (read-only).
public struct Balances: Sendable, Equatable {
    public var accountsReceivable: BalanceAmounts
    public var accountsPayable: BalanceAmounts

    public init(accountsReceivable: BalanceAmounts = BalanceAmounts(), accountsPayable: BalanceAmounts = BalanceAmounts()) {
        self.accountsReceivable = accountsReceivable
        self.accountsPayable = accountsPayable
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json, path: "Balances")
        accountsReceivable = try BalanceAmounts(f.object("AccountsReceivable"))
        accountsPayable = try BalanceAmounts(f.object("AccountsPayable"))
    }

    public var json: JSON {
        .object([("AccountsReceivable", accountsReceivable.json), ("AccountsPayable", accountsPayable.json)])
    }
}

/// A Xero contact. Every field is optional: a request carries only what it sets, and a
/// response only what Xero returned. Read-only fields (`IsCustomer`, `IsSupplier`,
/// `UpdatedDateUTC`, `Balances`, `MergedToContactID`) are ignored by Xero on writes.
public struct Contact: XeroModel, Equatable {
    public static let collectionKey = "Contacts"

    public var contactID: String?
    public var mergedToContactID: String?
    public var contactNumber: String?
    public var accountNumber: String?
    public var contactStatus: ContactStatus?
    public var name: String?
    public var firstName: String?
    public var lastName: String?
    public var companyNumber: String?
    public var emailAddress: String?
    public var bankAccountDetails: String?
    public var taxNumber: String?
    public var accountsReceivableTaxType: String?
    public var accountsPayableTaxType: String?
    public var defaultCurrency: String?
    public var website: String?
    public var addresses: [Address]?
    public var phones: [Phone]?
    /// Milliseconds since the epoch (UTC).
    public var updatedDateUTC: Int64?
    /// Passed through untouched.
    public var contactGroups: [JSON]?
    public var isSupplier: Bool?
    public var isCustomer: Bool?
    public var salesDefaultLineAmountType: String?
    public var purchasesDefaultLineAmountType: String?
    public var salesTrackingCategories: [JSON]?
    public var purchasesTrackingCategories: [JSON]?
    /// Passed through untouched: `{Bills|Sales: {Day, Type}}`.
    public var paymentTerms: JSON?
    public var balances: Balances?
    public var contactPersons: [ContactPerson]?
    public var hasAttachments: Bool?
    public var hasValidationErrors: Bool?
    public var statusAttributeString: String?
    public var validationErrors: [ValidationError]?

    public init(contactID: String? = nil, name: String? = nil, emailAddress: String? = nil) {
        self.contactID = contactID
        self.name = name
        self.emailAddress = emailAddress
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        contactID = try f.string("ContactID")
        mergedToContactID = try f.string("MergedToContactID")
        contactNumber = try f.string("ContactNumber")
        accountNumber = try f.string("AccountNumber")
        contactStatus = try f.string("ContactStatus").map { ContactStatus(rawValue: $0.uppercased()) }
        name = try f.string("Name")
        firstName = try f.string("FirstName")
        lastName = try f.string("LastName")
        companyNumber = try f.string("CompanyNumber")
        emailAddress = try f.string("EmailAddress")
        bankAccountDetails = try f.string("BankAccountDetails")
        taxNumber = try f.string("TaxNumber")
        accountsReceivableTaxType = try f.string("AccountsReceivableTaxType")
        accountsPayableTaxType = try f.string("AccountsPayableTaxType")
        defaultCurrency = try f.string("DefaultCurrency")
        website = try f.string("Website")
        addresses = try f.models("Addresses", as: Address.self)
        phones = try f.models("Phones", as: Phone.self)
        updatedDateUTC = try f.date("UpdatedDateUTC")
        contactGroups = try f.array("ContactGroups")
        isSupplier = try f.bool("IsSupplier")
        isCustomer = try f.bool("IsCustomer")
        salesDefaultLineAmountType = try f.string("SalesDefaultLineAmountType")
        purchasesDefaultLineAmountType = try f.string("PurchasesDefaultLineAmountType")
        salesTrackingCategories = try f.array("SalesTrackingCategories")
        purchasesTrackingCategories = try f.array("PurchasesTrackingCategories")
        paymentTerms = f.value("PaymentTerms")
        balances = try f.value("Balances").map { v throws(XeroModelError) in try Balances(json: v) }
        contactPersons = try f.models("ContactPersons", as: ContactPerson.self)
        hasAttachments = try f.bool("HasAttachments")
        hasValidationErrors = try f.bool("HasValidationErrors")
        statusAttributeString = try f.string("StatusAttributeString")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 32)
        o.add("ContactID", contactID)
        o.add("MergedToContactID", mergedToContactID)
        o.add("ContactNumber", contactNumber)
        o.add("AccountNumber", accountNumber)
        o.add("ContactStatus", contactStatus?.rawValue)
        o.add("Name", name)
        o.add("FirstName", firstName)
        o.add("LastName", lastName)
        o.add("CompanyNumber", companyNumber)
        o.add("EmailAddress", emailAddress)
        o.add("BankAccountDetails", bankAccountDetails)
        o.add("TaxNumber", taxNumber)
        o.add("AccountsReceivableTaxType", accountsReceivableTaxType)
        o.add("AccountsPayableTaxType", accountsPayableTaxType)
        o.add("DefaultCurrency", defaultCurrency)
        o.add("Website", website)
        o.add("Addresses", addresses, options)
        o.add("Phones", phones, options)
        o.addDate("UpdatedDateUTC", updatedDateUTC)
        o.add("ContactGroups", contactGroups.map { JSON.array($0) })
        o.add("IsSupplier", isSupplier)
        o.add("IsCustomer", isCustomer)
        o.add("SalesDefaultLineAmountType", salesDefaultLineAmountType)
        o.add("PurchasesDefaultLineAmountType", purchasesDefaultLineAmountType)
        o.add("SalesTrackingCategories", salesTrackingCategories.map { JSON.array($0) })
        o.add("PurchasesTrackingCategories", purchasesTrackingCategories.map { JSON.array($0) })
        o.add("PaymentTerms", paymentTerms)
        o.add("Balances", balances?.json)
        o.add("ContactPersons", contactPersons, options)
        o.add("HasAttachments", hasAttachments)
        o.add("HasValidationErrors", hasValidationErrors)
        o.add("StatusAttributeString", statusAttributeString)
        o.add("ValidationErrors", validationErrors, options)
        return o.json
    }

    /// The address of one type (`Address.street`, `Address.poBox`), if present.
    public func address(_ type: String) -> Address? {
        addresses?.first { $0.addressType?.uppercased() == type }
    }

    /// The phone of one type (`Phone.defaultType`, `Phone.mobile`, …), if present.
    public func phone(_ type: String) -> Phone? {
        phones?.first { $0.phoneType?.uppercased() == type }
    }

    public var isActive: Bool { (contactStatus ?? .active) == .active }
}

extension String {
    /// Without leading and trailing spaces, tabs and line breaks.
    var trimmedSpaces: String {
        let scalars = unicodeScalars
        var start = scalars.startIndex, end = scalars.endIndex
        while start < end, scalars[start].properties.isWhitespace { start = scalars.index(after: start) }
        while end > start, scalars[scalars.index(before: end)].properties.isWhitespace { end = scalars.index(before: end) }
        return String(scalars[start..<end])
    }
}
