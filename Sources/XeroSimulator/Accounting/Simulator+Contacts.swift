import HTTPServer
import Xero

/// How much of a contact a response shows.
enum ContactView {
    /// Paged list or single GET: everything, `Balances` included.
    case full
    /// Unpaged list: no `Balances`, `MergedToContactID` or default line amount types.
    case list
    /// `summaryOnly=true`: no computed `Balances` (Xero documents no exact field list).
    case summary
    /// PUT/POST answers and invoice contacts.
    case write
}

/// Who is changing a contact: an API client (read-only fields ignored) or a Xero user
/// through the control API (may set flags, status GDPRREQUEST, ids and dates when seeding).
enum ContactAuthor {
    case api
    case user
    case seed
}

extension Simulator {
    static let duplicateNameSuffix = "is already assigned to another contact. The contact name must be unique across all active contacts."

    static let contactFields = EntityFields<Contact>(typeName: "Contact", fields: [
        "contactid": { .string($0.contactID ?? "") },
        "contactnumber": { .string($0.contactNumber ?? "") },
        "accountnumber": { .string($0.accountNumber ?? "") },
        "contactstatus": { .string($0.contactStatus?.rawValue ?? "") },
        "name": { .string($0.name ?? "") },
        "firstname": { .string($0.firstName ?? "") },
        "lastname": { .string($0.lastName ?? "") },
        "emailaddress": { .string($0.emailAddress ?? "") },
        "iscustomer": { .bool($0.isCustomer ?? false) },
        "issupplier": { .bool($0.isSupplier ?? false) },
        "updateddateutc": { .date($0.updatedDateUTC ?? 0) },
        "taxnumber": { .string($0.taxNumber ?? "") },
        "companynumber": { .string($0.companyNumber ?? "") },
        "defaultcurrency": { .string($0.defaultCurrency ?? "") },
        "mergedtocontactid": { .string($0.mergedToContactID ?? "") },
    ])

    // MARK: - GET

    static func getContacts(_ ctx: CallContext) throws -> Response {
        let org = ctx.org
        let includeArchived = parseBool(ctx.query("includeArchived")) ?? false
        let summaryOnly = parseBool(ctx.query("summaryOnly")) ?? false
        let where_: (Contact) -> Bool
        let order: OrderSpec<Contact>
        do {
            where_ = try WhereParser.compile(ctx.query("where") ?? "", contactFields)
            order = try OrderSpec.parse(ctx.query("order"), contactFields, defaultField: "Name")
        } catch {
            throw XeroError.queryParse(error.message)
        }
        let since = try ctx.ifModifiedSince()
        let search = ctx.query("searchTerm")?.lowercased().trimmingCharacters(in: .whitespacesAndNewlines)
        var page: Int?
        var pageSize = 100
        if let p = ctx.query("page") {
            page = min(1_000_000, max(1, Int(p) ?? 1))
        }
        if let ps = ctx.query("pageSize"), let n = Int(ps) { pageSize = min(1000, max(1, n)) }

        // The matching ids, in order; cached per query until the next contact change, so walking
        // the pages of a large organisation costs one pass, not one per page.
        let idsParam = ctx.query("IDs") ?? ""
        let cacheKey = [order.canonical, String(includeArchived), since.map(String.init) ?? "", search ?? "",
                        ctx.query("where") ?? "", idsParam].joined(separator: "\u{1}")
        var matchedIds: [String]
        if let cached = org.contactQueryCache[cacheKey], cached.version == org.contactVersion {
            matchedIds = cached.ids
        } else {
            var ids: [String]
            if !idsParam.isEmpty {
                var seen = Set<String>()
                ids = idsParam.split(separator: ",").compactMap { Ids.normalize(String($0)) }
                    .filter { org.contacts[$0] != nil && seen.insert($0).inserted }
                let contacts = org.contacts
                ids.sort { order.before(contacts[$0]!, contacts[$1]!, tieBreak: { ($0.contactID ?? "") < ($1.contactID ?? "") }) }
            } else {
                ids = sortedContactIds(org, order)
            }
            func keep(_ c: Contact) -> Bool {
                if !includeArchived && !c.isActive { return false }
                if let since, (c.updatedDateUTC ?? 0) < since { return false }
                if let search, !search.isEmpty {
                    let hay = [c.name, c.firstName, c.lastName, c.contactNumber, c.emailAddress]
                    guard hay.contains(where: { ($0 ?? "").lowercased().contains(search) }) else { return false }
                }
                return where_(c)
            }
            matchedIds = ids.filter { keep(org.contacts[$0]!) }
            if org.contactQueryCache.count >= 8 { org.contactQueryCache = [:] }
            org.contactQueryCache[cacheKey] = (org.contactVersion, matchedIds)
        }
        var pagination: Pagination?
        if let page {
            let total = matchedIds.count
            let start = min(total, (page - 1) * pageSize)
            let end = min(total, start + pageSize)
            matchedIds = Array(matchedIds[start..<end])
            pagination = Pagination(page: page, pageSize: pageSize, pageCount: (total + pageSize - 1) / pageSize, itemCount: total)
        }
        let matched = matchedIds.map { org.contacts[$0]! }
        let view: ContactView = summaryOnly ? .summary : (page != nil ? .full : .list)
        let balances = view == .full ? balanceIndex(org, now: ctx.now) : [:]
        let out = matched.map { render($0, view, balances: balances) }
        return ctx.envelope(out, pagination: pagination)
    }

    static func getContact(_ ctx: CallContext) throws -> Response {
        let key = ctx.param("id")
        let org = ctx.org
        guard let c = org.contact(key) ?? org.contactNumbers[key.lowercased()].flatMap({ org.contacts[$0] }) else {
            throw XeroError.notFound()
        }
        return ctx.envelope([render(c, .full, balances: balanceIndex(org, now: ctx.now))])
    }

    /// Contact ids sorted by `order` (cached until the next contact change).
    static func sortedContactIds(_ org: Organisation, _ order: OrderSpec<Contact>) -> [String] {
        if let cached = org.contactSortCache[order.canonical], cached.version == org.contactVersion { return cached.ids }
        let contacts = org.contacts
        var ids = Array(org.contacts.keys)
        if order.canonical == "name asc" {
            // The common case, fast: precomputed keys.
            let keyed = ids.map { (id: $0, key: (contacts[$0]!.name ?? "").lowercased()) }
            ids = keyed.sorted { $0.key != $1.key ? $0.key < $1.key : $0.id < $1.id }.map(\.id)
        } else {
            ids.sort { order.before(contacts[$0]!, contacts[$1]!, tieBreak: { ($0.contactID ?? "") < ($1.contactID ?? "") }) }
        }
        org.contactSortCache[order.canonical] = (org.contactVersion, ids)
        return ids
    }

    static func balanceIndex(_ org: Organisation, now: Int64) -> [String: Balances] {
        var out: [String: Balances] = [:]
        for inv in org.invoices.values where inv.status == .authorised {
            guard let cid = inv.contact?.contactID else { continue }
            let due = inv.amountDue ?? .zero
            let overdue = (inv.dueDate.map { $0 < XeroModelDate.startOfDay(now) } ?? false) ? due : .zero
            var b = out[cid] ?? Balances()
            if inv.type == .accRec {
                b.accountsReceivable.outstanding += due
                b.accountsReceivable.overdue += overdue
            } else {
                b.accountsPayable.outstanding += due
                b.accountsPayable.overdue += overdue
            }
            out[cid] = b
        }
        return out
    }

    /// The stored contact as Xero would show it in `view`.
    static func render(_ stored: Contact, _ view: ContactView, balances: [String: Balances] = [:]) -> Contact {
        var c = stored
        switch view {
        case .full:
            c.balances = balances[c.contactID ?? ""] ?? Balances()
        case .list:
            c.mergedToContactID = nil
            c.salesDefaultLineAmountType = nil
            c.purchasesDefaultLineAmountType = nil
        case .summary:
            break
        case .write:
            c.mergedToContactID = nil
            c.salesDefaultLineAmountType = nil
            c.purchasesDefaultLineAmountType = nil
            c.salesTrackingCategories = []
            c.purchasesTrackingCategories = []
            c.hasAttachments = nil
        }
        return c
    }

    // MARK: - PUT / POST

    /// PUT creates; POST also updates the contact its `ContactID` (or `ContactNumber`) names.
    static func writeContacts(_ ctx: CallContext, put: Bool, pathId: String?) throws -> Response {
        let summarize = ctx.summarizeErrors
        return try ctx.writeBatch(Contact.self, put: put, pathId: pathId) { input, old in
            let c = try applyContact(input, to: old, org: ctx.org, now: ctx.now, author: .api)
            ctx.org.store(c)
            ctx.emit("CONTACT", old == nil ? "CREATE" : "UPDATE", c.contactID!)
            var shown = render(c, .write)
            shown.statusAttributeString = summarize ? nil : "OK"
            return shown
        }
    }

    // MARK: - the rules

    static let addressTypes: Set<String> = ["POBOX", "STREET"]
    static let phoneTypes: Set<String> = ["DEFAULT", "DDI", "MOBILE", "FAX", "OFFICE"]

    /// Applies `input` to `existing` (or creates a contact) under Xero's rules; the result is
    /// ready to store, with `UpdatedDateUTC` moved to `now` (unless seeding sets it).
    static func applyContact(_ input: Contact, to existing: Contact?, org: Organisation, now: Int64,
                             author: ContactAuthor) throws -> Contact {
        var errors: [String] = []
        var c: Contact
        if let existing {
            c = existing
        } else {
            c = Contact()
            if author != .api, let id = input.contactID, let norm = Ids.normalize(id), norm != Ids.zero {
                guard org.contacts[norm] == nil else { throw Refusal("A contact with ContactID \(norm) already exists.") }
                c.contactID = norm
            } else {
                c.contactID = Ids.uuid()
            }
            c.contactStatus = .active
            c.emailAddress = ""
            c.bankAccountDetails = ""
            c.addresses = []
            c.phones = []
            c.contactGroups = []
            c.isSupplier = false
            c.isCustomer = false
            c.contactPersons = []
            c.hasAttachments = false
            c.hasValidationErrors = false
        }

        func text(_ value: String?, _ label: String, max: Int, trim: Bool = true) -> String? {
            guard let value else { return nil }
            let v = trim ? value.trimmingCharacters(in: .whitespacesAndNewlines) : value
            if v.longer(than: max) { errors.append("\(label) must not be more than \(max) characters long.") }
            return v
        }

        if let n = input.name {
            let t = n.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty { errors.append("The contact name must be specified.") }
            if t.longer(than: 255) { errors.append("The contact name must not be more than 255 characters long.") }
            c.name = t
        } else if existing == nil {
            errors.append("The contact name must be specified.")
        }
        if let v = text(input.contactNumber, "ContactNumber", max: 50) { c.contactNumber = v.isEmpty ? nil : v }
        if let v = text(input.accountNumber, "AccountNumber", max: 50) { c.accountNumber = v.isEmpty ? nil : v }
        if let v = text(input.firstName, "FirstName", max: 255) { c.firstName = v.isEmpty ? nil : v }
        if let v = text(input.lastName, "LastName", max: 255) { c.lastName = v.isEmpty ? nil : v }
        if let v = text(input.companyNumber, "CompanyNumber", max: 50) { c.companyNumber = v.isEmpty ? nil : v }
        if let v = text(input.emailAddress, "EmailAddress", max: 255) {
            if !v.isEmpty && !isValidEmail(v) { errors.append("Email address must be valid.") }
            c.emailAddress = v
        }
        if let v = text(input.bankAccountDetails, "BankAccountDetails", max: 255) { c.bankAccountDetails = v }
        if let v = text(input.taxNumber, "TaxNumber", max: 50) { c.taxNumber = v.isEmpty ? nil : v }
        if let v = input.accountsReceivableTaxType { c.accountsReceivableTaxType = v.isEmpty ? nil : v }
        if let v = input.accountsPayableTaxType { c.accountsPayableTaxType = v.isEmpty ? nil : v }
        if let v = input.defaultCurrency {
            let u = v.uppercased()
            if !u.isEmpty && (u.count != 3 || !u.allSatisfy(\.isLetter)) { errors.append("DefaultCurrency '\(v)' is not a valid currency code.") }
            c.defaultCurrency = u.isEmpty ? nil : u
        }
        if let v = text(input.website, "Website", max: 255) { c.website = v.isEmpty ? nil : v }
        if let v = input.salesDefaultLineAmountType { c.salesDefaultLineAmountType = v.uppercased() }
        if let v = input.purchasesDefaultLineAmountType { c.purchasesDefaultLineAmountType = v.uppercased() }
        if let v = input.paymentTerms { c.paymentTerms = v }
        if let persons = input.contactPersons {
            if persons.count > 5 { errors.append("A contact can have at most 5 contact persons.") }
            for p in persons {
                if let e = p.emailAddress, !e.isEmpty, !isValidEmail(e) { errors.append("Email address must be valid.") }
            }
            c.contactPersons = persons
        }
        if let status = input.contactStatus {
            switch status {
            case .active, .archived: c.contactStatus = status
            case .gdprRequest where author != .api: c.contactStatus = status
            default: errors.append("ContactStatus '\(status.rawValue)' is not valid. Use ACTIVE or ARCHIVED.")
            }
        }

        if let addresses = input.addresses {
            var list = c.addresses ?? []
            for a in addresses {
                let type = (a.addressType ?? "").uppercased()
                guard addressTypes.contains(type) else {
                    errors.append("AddressType '\(a.addressType ?? "")' is not valid. Use POBOX or STREET.")
                    continue
                }
                var n = Address(addressType: type)
                n.addressLine1 = text(a.addressLine1, "AddressLine1", max: 500, trim: false)
                n.addressLine2 = text(a.addressLine2, "AddressLine2", max: 500, trim: false)
                n.addressLine3 = text(a.addressLine3, "AddressLine3", max: 500, trim: false)
                n.addressLine4 = text(a.addressLine4, "AddressLine4", max: 500, trim: false)
                n.city = text(a.city, "City", max: 255) ?? ""
                n.region = text(a.region, "Region", max: 255) ?? ""
                n.postalCode = text(a.postalCode, "PostalCode", max: 50) ?? ""
                n.country = text(a.country, "Country", max: 50) ?? ""
                n.attentionTo = text(a.attentionTo, "AttentionTo", max: 255)
                if let i = list.firstIndex(where: { $0.addressType == type }) { list[i] = n } else { list.append(n) }
            }
            c.addresses = list
        }
        if let phones = input.phones {
            var list = c.phones ?? []
            for p in phones {
                let type = (p.phoneType ?? "").uppercased()
                guard phoneTypes.contains(type) else {
                    errors.append("PhoneType '\(p.phoneType ?? "")' is not valid. Use DEFAULT, DDI, MOBILE, FAX or OFFICE.")
                    continue
                }
                let n = Phone(phoneType: type,
                              phoneNumber: text(p.phoneNumber, "PhoneNumber", max: 50) ?? "",
                              phoneAreaCode: text(p.phoneAreaCode, "PhoneAreaCode", max: 10) ?? "",
                              phoneCountryCode: text(p.phoneCountryCode, "PhoneCountryCode", max: 20) ?? "")
                if let i = list.firstIndex(where: { $0.phoneType == type }) { list[i] = n } else { list.append(n) }
            }
            c.phones = list
        }
        normalizeShape(&c)

        if author != .api {
            if let v = input.isCustomer { c.isCustomer = v }
            if let v = input.isSupplier { c.isSupplier = v }
            if let v = input.mergedToContactID { c.mergedToContactID = Ids.normalize(v) ?? v }
            if let v = input.hasAttachments { c.hasAttachments = v }
            if let v = input.contactGroups { c.contactGroups = v }
        }

        // Unique names among ACTIVE contacts.
        if c.isActive, let name = c.name, !name.isEmpty, let other = org.activeNames[name.nameKey], other != c.contactID {
            errors.append("The contact name \(name) \(duplicateNameSuffix)")
        }
        if !errors.isEmpty { throw Refusal(errors) }
        if author == .seed, let at = input.updatedDateUTC {
            c.updatedDateUTC = at
        } else {
            c.updatedDateUTC = now
        }
        return c
    }

    /// Xero always returns both address types and the DEFAULT, DDI, FAX and MOBILE phones.
    static func normalizeShape(_ c: inout Contact) {
        var addresses = c.addresses ?? []
        for type in ["STREET", "POBOX"] where !addresses.contains(where: { $0.addressType == type }) {
            addresses.append(Address(addressType: type, city: "", region: "", postalCode: "", country: ""))
        }
        c.addresses = addresses
        var phones: [Phone] = []
        let existing = c.phones ?? []
        for type in ["DEFAULT", "DDI", "FAX", "MOBILE"] {
            phones.append(existing.first { $0.phoneType == type }
                          ?? Phone(phoneType: type, phoneNumber: "", phoneAreaCode: "", phoneCountryCode: ""))
        }
        phones += existing.filter { $0.phoneType == "OFFICE" }
        c.phones = phones
    }

    static func isValidEmail(_ s: String) -> Bool {
        guard s.unicodeScalars.allSatisfy({ $0.isASCII && !$0.properties.isWhitespace }) else { return false }
        let parts = s.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."),
              !parts[1].hasSuffix("."), !parts[1].contains("..") else { return false }
        return true
    }
}

extension Contact: StoredElement {
    static var idKey: WritableKeyPath<Contact, String?> { \.contactID }
    static func find(_ id: String, in org: Organisation) -> Contact? { org.contact(id) }
    static func missing(_ id: String) -> String { "The contact with ContactID \(id) could not be found." }

    static func match(_ input: Contact, in org: Organisation) -> Contact? {
        guard let num = input.contactNumber, !num.isEmpty, let id = org.contactNumbers[num.lowercased()] else { return nil }
        return org.contacts[id]
    }

    static func echo(_ input: Contact, _ messages: [String], summarize: Bool) -> Contact {
        var e = Contact()
        e.contactID = input.contactID ?? Ids.zero
        e.contactNumber = input.contactNumber
        e.accountNumber = input.accountNumber
        e.contactStatus = input.contactStatus
        e.name = input.name
        e.firstName = input.firstName
        e.lastName = input.lastName
        e.emailAddress = input.emailAddress
        e.addresses = (input.addresses ?? []).map { a in
            var a = a
            a.validationErrors = summarize ? [] : nil
            return a
        }
        e.phones = (input.phones ?? []).map { p in
            var p = p
            p.validationErrors = summarize ? [] : nil
            return p
        }
        e.contactGroups = []
        e.contactPersons = input.contactPersons ?? []
        e.hasValidationErrors = true
        e.statusAttributeString = summarize ? nil : "ERROR"
        e.validationErrors = messages.map { ValidationError(message: $0) }
        return e
    }
}
