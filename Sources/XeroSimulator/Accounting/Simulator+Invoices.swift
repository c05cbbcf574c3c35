import HTTPServer
import Xero

extension Simulator {
    static let invoiceFields = EntityFields<Invoice>(typeName: "Invoice", fields: [
        "invoiceid": { .string($0.invoiceID ?? "") },
        "invoicenumber": { .string($0.invoiceNumber ?? "") },
        "reference": { .string($0.reference ?? "") },
        "type": { .string($0.type?.rawValue ?? "") },
        "status": { .string($0.status?.rawValue ?? "") },
        "contact.contactid": { .string($0.contact?.contactID ?? "") },
        "contact.name": { .string($0.contact?.name ?? "") },
        "date": { .date($0.date ?? 0) },
        "duedate": { .date($0.dueDate ?? 0) },
        "updateddateutc": { .date($0.updatedDateUTC ?? 0) },
        "total": { .number($0.total ?? .zero) },
        "amountdue": { .number($0.amountDue ?? .zero) },
    ])

    static func getInvoices(_ ctx: CallContext) throws -> Response {
        let org = ctx.org
        let where_: (Invoice) -> Bool
        let order: OrderSpec<Invoice>
        do {
            where_ = try WhereParser.compile(ctx.query("where") ?? "", invoiceFields)
            order = try OrderSpec.parse(ctx.query("order"), invoiceFields, defaultField: "UpdatedDateUTC")
        } catch {
            throw XeroError.queryParse(error.message)
        }
        let since = try ctx.ifModifiedSince()
        func set(_ name: String, _ f: (String) -> String?) -> Set<String>? {
            guard let v = ctx.query(name), !v.isEmpty else { return nil }
            return Set(v.split(separator: ",").compactMap { f(String($0).trimmingCharacters(in: .whitespacesAndNewlines)) })
        }
        let ids = set("IDs") { Ids.normalize($0) }
        let numbers = set("InvoiceNumbers") { $0.uppercased() }
        let contactIds = set("ContactIDs") { Ids.normalize($0) }
        let statuses = set("Statuses") { $0.uppercased() }
        let search = ctx.query("searchTerm")?.lowercased()
        var list = org.invoices.values.filter { inv in
            if let ids, !ids.contains(inv.invoiceID ?? "") { return false }
            if let numbers, !numbers.contains((inv.invoiceNumber ?? "").uppercased()) { return false }
            if let contactIds, !contactIds.contains(inv.contact?.contactID ?? "") { return false }
            if let statuses, !statuses.contains(inv.status?.rawValue ?? "") { return false }
            if let since, (inv.updatedDateUTC ?? 0) < since { return false }
            if let search, !search.isEmpty,
               !((inv.invoiceNumber ?? "").lowercased().contains(search) || (inv.reference ?? "").lowercased().contains(search)) {
                return false
            }
            return where_(inv)
        }
        list.sort { order.before($0, $1, tieBreak: { ($0.invoiceID ?? "") < ($1.invoiceID ?? "") }) }
        var pagination: Pagination?
        var withLines = false
        if let p = ctx.query("page") {
            let page = min(1_000_000, max(1, Int(p) ?? 1))
            var pageSize = 100
            if let ps = ctx.query("pageSize"), let n = Int(ps) { pageSize = min(1000, max(1, n)) }
            let total = list.count
            let start = min(total, (page - 1) * pageSize)
            list = Array(list[start..<min(total, start + pageSize)])
            pagination = Pagination(page: page, pageSize: pageSize, pageCount: (total + pageSize - 1) / pageSize, itemCount: total)
            withLines = true
        }
        let out = list.map { inv -> Invoice in
            var i = renderInvoice(inv, org: org)
            if !withLines { i.lineItems = nil }
            return i
        }
        return ctx.envelope(out, pagination: pagination)
    }

    static func getInvoice(_ ctx: CallContext) throws -> Response {
        guard let inv = ctx.org.invoice(ctx.param("id")) else { throw XeroError.notFound() }
        return ctx.envelope([renderInvoice(inv, org: ctx.org)])
    }

    /// The stored invoice with its contact as it is now.
    static func renderInvoice(_ inv: Invoice, org: Organisation) -> Invoice {
        var i = inv
        if let cid = inv.contact?.contactID, let c = org.contacts[cid] {
            var shown = render(c, .write)
            shown.statusAttributeString = nil
            i.contact = shown
        }
        return i
    }

    /// PUT creates; POST also updates the invoice its `InvoiceID` (or `InvoiceNumber`) names.
    /// Accepted invoices show `StatusAttributeString` "OK" whatever `summarizeErrors` says.
    static func writeInvoices(_ ctx: CallContext, put: Bool, pathId: String?) throws -> Response {
        try ctx.writeBatch(Invoice.self, put: put, pathId: pathId) { input, existing in
            let inv = try applyInvoice(input, to: existing, ctx: ctx)
            ctx.org.store(inv)
            ctx.emit("INVOICE", existing == nil ? "CREATE" : "UPDATE", inv.invoiceID!)
            markCustomerOrSupplier(inv, org: ctx.org)
            var shown = renderInvoice(inv, org: ctx.org)
            shown.statusAttributeString = "OK"
            return shown
        }
    }

    /// A sales invoice makes its contact a customer, a bill a supplier. Neither moves
    /// `UpdatedDateUTC` nor sends a webhook (Xero's documented behaviour).
    static func markCustomerOrSupplier(_ inv: Invoice, org: Organisation) {
        guard let cid = inv.contact?.contactID, var c = org.contacts[cid],
              inv.status != .deleted, inv.status != .voided else { return }
        if inv.type == .accRec, c.isCustomer != true {
            c.isCustomer = true
            org.contacts[cid] = c
            org.contactVersion += 1
        } else if inv.type == .accPay, c.isSupplier != true {
            c.isSupplier = true
            org.contacts[cid] = c
            org.contactVersion += 1
        }
    }

    static let editableStatuses: Set<InvoiceStatus> = [.draft, .submitted]

    /// Xero's invoice rules: an existing, ACTIVE contact (found by ID, number or name; a new
    /// name creates one), valid line items and accounts, computed totals, `INV-0001` numbers.
    static func applyInvoice(_ input: Invoice, to existing: Invoice?, ctx: CallContext) throws -> Invoice {
        let org = ctx.org
        var errors: [String] = []
        var inv: Invoice
        if let existing {
            inv = existing
            if let t = input.type, t != existing.type { errors.append("The invoice type cannot be changed.") }
        } else {
            inv = Invoice()
            inv.invoiceID = Ids.uuid()
            inv.payments = []
            inv.creditNotes = []
            inv.prepayments = []
            inv.overpayments = []
            inv.amountPaid = .zero
            inv.amountCredited = .zero
            inv.sentToContact = false
            inv.currencyRate = Decimal4(1)
            inv.hasAttachments = false
            inv.hasErrors = false
            inv.brandingThemeID = org.brandingThemeId
            inv.currencyCode = org.baseCurrency
            guard let t = input.type else { throw Refusal("Invoice Type must be specified (ACCREC or ACCPAY).") }
            guard t == .accRec || t == .accPay else { throw Refusal("Invoice Type '\(t.rawValue)' is not valid. Use ACCREC or ACCPAY.") }
            inv.type = t
            inv.status = .draft
            inv.lineAmountTypes = .exclusive
            inv.date = org.day(at: ctx.now)
        }
        let type = inv.type ?? .accRec

        // Status transitions.
        let oldStatus = existing?.status
        if let s = input.status {
            let allowed: Set<InvoiceStatus>
            switch oldStatus {
            case nil: allowed = [.draft, .submitted, .authorised]
            case .some(.draft), .some(.submitted): allowed = [.draft, .submitted, .authorised, .deleted]
            case .some(.authorised): allowed = [.authorised, .voided]
            default: allowed = [oldStatus!]
            }
            if allowed.contains(s) {
                inv.status = s
            } else if existing == nil {
                errors.append("Invoice Status '\(s.rawValue)' is not valid for a new invoice. Use DRAFT, SUBMITTED or AUTHORISED.")
            } else {
                errors.append("Invoice not of valid status for modification")
            }
        }
        if let old = oldStatus, !editableStatuses.contains(old) {
            let changesContent = input.lineItems != nil || input.contact != nil || input.lineAmountTypes != nil
            if changesContent { errors.append("Invoice not of valid status for modification") }
        }

        // Contact.
        if let given = input.contact {
            var found: Contact?
            if let id = given.contactID, !id.isEmpty {
                found = org.contact(id)
                if found == nil { errors.append("Contact with ContactID \(id) could not be found.") }
            } else if let num = given.contactNumber, !num.isEmpty, let id = org.contactNumbers[num.lowercased()] {
                found = org.contacts[id]
            } else if let name = given.name, !name.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                if let id = org.activeNames[name.nameKey] {
                    found = org.contacts[id]
                } else {
                    do {
                        let c = try applyContact(given, to: nil, org: org, now: ctx.now, author: .api)
                        org.store(c)
                        ctx.emit("CONTACT", "CREATE", c.contactID!)
                        found = c
                    } catch let refusal as Refusal {
                        errors += refusal.messages
                    }
                }
            } else {
                errors.append("A Contact must be specified for this type of transaction")
            }
            if let c = found {
                if !c.isActive {
                    errors.append("The contact '\(c.name ?? "")' is archived. Invoices cannot be created for archived contacts; restore the contact in Xero or choose another.")
                }
                inv.contact = Contact(contactID: c.contactID, name: c.name)
            }
        } else if existing == nil {
            errors.append("A Contact must be specified for this type of transaction")
        }

        if let lat = input.lineAmountTypes {
            if let canon = LineAmountTypes.canonical(lat.rawValue) {
                inv.lineAmountTypes = canon
            } else {
                errors.append("LineAmountTypes '\(lat.rawValue)' is not valid. Use Exclusive, Inclusive or NoTax.")
            }
        }
        if let d = input.date { inv.date = XeroModelDate.startOfDay(d) }
        if let d = input.dueDate { inv.dueDate = XeroModelDate.startOfDay(d) }
        if let r = input.reference {
            if r.longer(than: 255) { errors.append("Reference must not be more than 255 characters long.") }
            inv.reference = r
        }
        if let u = input.url { inv.url = u }
        if let c = input.currencyCode {
            if c.uppercased() != org.baseCurrency { errors.append("The currency \(c.uppercased()) is not enabled for this organisation.") }
        }
        if let s = input.sentToContact { inv.sentToContact = s }
        if let b = input.brandingThemeID { inv.brandingThemeID = b }

        // Number: unique among sales invoices; generated when missing.
        if let n = input.invoiceNumber?.trimmingCharacters(in: .whitespacesAndNewlines), !n.isEmpty {
            if n.longer(than: 255) { errors.append("Invoice # must not be more than 255 characters long.") }
            if type == .accRec, let other = org.invoiceNumbers[n.uppercased()], other != inv.invoiceID,
               org.invoices[other]?.type == .accRec {
                errors.append("Invoice # must be unique.")
            }
            inv.invoiceNumber = n
        } else if inv.invoiceNumber == nil && type == .accRec {
            var n: String
            repeat {
                n = "INV-" + (org.nextInvoiceNumber < 1000 ? String(repeating: "0", count: 4 - String(org.nextInvoiceNumber).count) : "")
                    + String(org.nextInvoiceNumber)
                org.nextInvoiceNumber += 1
            } while org.invoiceNumbers[n.uppercased()] != nil
            inv.invoiceNumber = n
        }

        // Lines.
        let status = inv.status ?? .draft
        let needsAccounts = status == .submitted || status == .authorised
        if let lines = input.lineItems {
            var out: [LineItem] = []
            for (n, given) in lines.enumerated() {
                var line = LineItem()
                line.lineItemID = given.lineItemID.flatMap { id in
                    existing?.lineItems?.contains { $0.lineItemID == Ids.normalize(id) } == true ? Ids.normalize(id) : nil
                } ?? Ids.uuid()
                var details: ItemDetails?
                if let code = given.itemCode, !code.isEmpty {
                    if let item = org.item(code: code) {
                        line.itemCode = item.code
                        line.item = LineItemItem(itemID: item.itemID, name: item.name, code: item.code)
                        details = type == .accRec ? item.salesDetails : item.purchaseDetails
                        line.description = type == .accRec ? item.description : item.purchaseDescription
                        if line.description == nil { line.description = item.name }
                    } else {
                        errors.append("Item code '\(code)' is not valid.")
                    }
                }
                if let d = given.description, !d.isEmpty { line.description = d }
                if (line.description ?? "").isEmpty && (given.itemCode ?? "").isEmpty {
                    errors.append("Line item \(n + 1): a Description or an ItemCode must be given.")
                }
                line.quantity = given.quantity ?? Decimal4(1)
                line.unitAmount = (given.unitAmount ?? details?.unitPrice ?? .zero).rounded(places: ctx.options.unitDecimalPlaces)
                line.accountCode = given.accountCode ?? details?.accountCode
                if let code = line.accountCode, !code.isEmpty {
                    if let acc = Chart.account(code) {
                        line.accountID = acc.accountID
                    } else {
                        errors.append("Account code '\(code)' is not a valid code for this document.")
                    }
                } else {
                    line.accountCode = nil
                    if needsAccounts { errors.append("Account code '' is not a valid code for this document.") }
                }
                // A line with no account and no tax type of its own (a draft's) has no tax type, as in Xero.
                var taxType = (given.taxType ?? details?.taxType ?? line.accountCode.flatMap { Chart.account($0)?.taxType })?.uppercased()
                if taxType == nil && (line.accountCode != nil || needsAccounts) { taxType = type == .accRec ? "OUTPUT2" : "INPUT2" }
                line.taxType = taxType
                let rate: Decimal4? = if let taxType { Chart.taxRates[taxType] } else { .zero }
                if let taxType, rate == nil {
                    errors.append("The TaxType code '\(taxType)' does not exist or cannot be used for this type of transaction.")
                }
                line.tracking = given.tracking ?? []
                var amount = line.quantity!.multiplied(by: line.unitAmount!)
                if let dr = given.discountRate, dr != .zero {
                    if type != .accRec { errors.append("Discounts are only available on sales invoices.") }
                    line.discountRate = dr
                    amount = amount - amount.multiplied(by: dr).divided(by: 100)
                }
                line.lineAmount = amount.rounded(places: 2)
                if abs(amount.doubleValue) >= 1e12 || abs(line.quantity!.doubleValue) >= 1e9 {
                    errors.append("Line item \(n + 1): the amount is too large.")
                }
                switch inv.lineAmountTypes ?? .exclusive {
                case .noTax: line.taxAmount = .zero
                case .inclusive: line.taxAmount = line.lineAmount!.taxIncluded(rate: rate ?? .zero).rounded(places: 2)
                default: line.taxAmount = line.lineAmount!.multiplied(by: rate ?? .zero).rounded(places: 2)
                }
                line.validationErrors = []
                out.append(line)
            }
            inv.lineItems = out
        } else if existing == nil {
            inv.lineItems = []
        } else if input.lineAmountTypes != nil {
            // Recompute taxes of the kept lines under the new amount type.
            inv.lineItems = inv.lineItems?.map { l in
                var l = l
                let rate = Chart.taxRates[l.taxType ?? "NONE"] ?? .zero
                switch inv.lineAmountTypes ?? .exclusive {
                case .noTax: l.taxAmount = .zero
                case .inclusive: l.taxAmount = (l.lineAmount ?? .zero).taxIncluded(rate: rate).rounded(places: 2)
                default: l.taxAmount = (l.lineAmount ?? .zero).multiplied(by: rate).rounded(places: 2)
                }
                return l
            }
        }
        if needsAccounts, input.lineItems == nil, let lines = inv.lineItems, lines.contains(where: { $0.accountCode == nil }) {
            errors.append("Account code '' is not a valid code for this document.")
        }
        if (existing == nil || input.lineItems != nil), (inv.lineItems ?? []).isEmpty {
            errors.append("One or more line items must be specified")
        }
        // Approving (or changing an approved document) on or before the end of year lock date is
        // refused; drafts are not posted, so they may carry any date.
        if needsAccounts, let lock = org.endOfYearLockDate, let date = inv.date, date <= lock,
           existing == nil || input.status != nil || input.date != nil || input.lineItems != nil {
            errors.append("The document date cannot be before the end of year lock date, currently set at \(Organisation.dayText(lock))")
        }
        if !errors.isEmpty { throw Refusal(errors) }

        // Totals.
        var lineTotal = Decimal4.zero, tax = Decimal4.zero
        for l in inv.lineItems ?? [] {
            lineTotal += l.lineAmount ?? .zero
            tax += l.taxAmount ?? .zero
        }
        if inv.lineAmountTypes == .inclusive {
            inv.subTotal = lineTotal - tax
            inv.total = lineTotal
        } else {
            inv.subTotal = lineTotal
            inv.total = lineTotal + tax
        }
        inv.totalTax = tax
        inv.isDiscounted = inv.lineItems?.contains { $0.discountRate != nil } ?? false
        inv.amountDue = (inv.status == .voided || inv.status == .deleted) ? .zero : inv.total! - (inv.amountPaid ?? .zero)
        inv.updatedDateUTC = ctx.now
        inv.statusAttributeString = nil
        inv.validationErrors = nil
        return inv
    }
}

extension Invoice: StoredElement {
    static var idKey: WritableKeyPath<Invoice, String?> { \.invoiceID }
    static func find(_ id: String, in org: Organisation) -> Invoice? { org.invoice(id) }
    static func missing(_ id: String) -> String { "Invoice with InvoiceID \(id) could not be found." }

    /// By number, when the type (if given) agrees.
    static func match(_ input: Invoice, in org: Organisation) -> Invoice? {
        guard let n = input.invoiceNumber, !n.isEmpty, let found = org.invoice(n), found.type == (input.type ?? found.type) else {
            return nil
        }
        return found
    }

    /// What Xero sends back for an element it refused.
    static func echo(_ input: Invoice, _ messages: [String], summarize: Bool) -> Invoice {
        var e = input
        e.invoiceID = input.invoiceID ?? Ids.zero
        e.hasErrors = true
        e.statusAttributeString = summarize ? nil : "ERROR"
        e.validationErrors = messages.map { ValidationError(message: $0) }
        return e
    }
}
