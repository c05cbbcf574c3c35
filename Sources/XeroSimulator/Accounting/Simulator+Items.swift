import HTTPServer
import Xero

extension Simulator {
    static let itemFields = EntityFields<Item>(typeName: "Item", fields: [
        "itemid": { .string($0.itemID ?? "") },
        "code": { .string($0.code ?? "") },
        "name": { .string($0.name ?? "") },
        "description": { .string($0.description ?? "") },
        "purchasedescription": { .string($0.purchaseDescription ?? "") },
        "issold": { .bool($0.isSold ?? false) },
        "ispurchased": { .bool($0.isPurchased ?? false) },
        "istrackedasinventory": { .bool($0.isTrackedAsInventory ?? false) },
        "updateddateutc": { .date($0.updatedDateUTC ?? 0) },
    ])

    static func getItems(_ ctx: CallContext) throws -> Response {
        let where_: (Item) -> Bool
        let order: OrderSpec<Item>?
        do {
            where_ = try WhereParser.compile(ctx.query("where") ?? "", itemFields)
            order = try ctx.query("order").map { o throws(QueryError) in try OrderSpec.parse(o, itemFields, defaultField: "Code") }
        } catch {
            throw XeroError.queryParse(error.message)
        }
        let since = try ctx.ifModifiedSince()
        var items = ctx.org.items.values.filter { item in
            if let since, (item.updatedDateUTC ?? 0) < since { return false }
            return where_(item)
        }
        if let order { items.sort { order.before($0, $1, tieBreak: { ($0.code ?? "") < ($1.code ?? "") }) } }
        return ctx.envelope(items)
    }

    static func getItem(_ ctx: CallContext) throws -> Response {
        ctx.envelope([try ctx.pathRecord(Item.self)])
    }

    static func deleteItem(_ ctx: CallContext) throws -> Response {
        guard let item = ctx.org.item(ctx.param("id")) else { throw XeroError.notFound() }
        ctx.org.deleteItem(item.itemID!)
        return Response.empty(204)
    }

    /// PUT creates; POST also updates the item its `ItemID` (or `Code`) names.
    static func writeItems(_ ctx: CallContext, put: Bool, pathId: String?) throws -> Response {
        let summarize = ctx.summarizeErrors
        return try ctx.writeBatch(Item.self, put: put, pathId: pathId) { input, existing in
            let item = try applyItem(input, to: existing, org: ctx.org, now: ctx.now,
                                     unitdp: ctx.options.unitDecimalPlaces, seed: false)
            ctx.org.store(item)
            var shown = item
            shown.statusAttributeString = summarize ? nil : "OK"
            return shown
        }
    }

    /// Xero's item rules: Code required, ≤ 30 and unique; Name ≤ 50; descriptions ≤ 4000; prices
    /// kept to `unitdp` places; IsSold/IsPurchased false clear their side.
    static func applyItem(_ input: Item, to existing: Item?, org: Organisation, now: Int64, unitdp: Int,
                          seed: Bool) throws -> Item {
        var errors: [String] = []
        var item: Item
        if let existing {
            item = existing
        } else {
            item = Item()
            if seed, let id = input.itemID, let norm = Ids.normalize(id), norm != Ids.zero {
                guard org.items[norm] == nil else { throw Refusal("An item with ItemID \(norm) already exists.") }
                item.itemID = norm
            } else {
                item.itemID = Ids.uuid()
            }
            item.isSold = true
            item.isPurchased = true
            item.isTrackedAsInventory = false
        }
        if let code = input.code {
            let t = code.trimmingCharacters(in: .whitespacesAndNewlines)
            if t.isEmpty { errors.append("Item code must be specified.") }
            if t.longer(than: Item.maxCodeLength) { errors.append("The Code must not exceed \(Item.maxCodeLength) characters.") }
            if let other = org.itemCodes[t.uppercased()], other != item.itemID {
                errors.append("Price List Item with Code '\(t)' already exists")
            }
            item.code = t
        } else if existing == nil {
            errors.append("Item code must be specified.")
        }
        if let name = input.name {
            if name.longer(than: Item.maxNameLength) { errors.append("The Name must not exceed \(Item.maxNameLength) characters.") }
            item.name = name
        }
        if let d = input.description {
            if d.longer(than: Item.maxDescriptionLength) { errors.append("The Description must not exceed 4000 characters.") }
            item.description = d.isEmpty ? nil : d
        }
        if let d = input.purchaseDescription {
            if d.longer(than: Item.maxDescriptionLength) { errors.append("The PurchaseDescription must not exceed 4000 characters.") }
            item.purchaseDescription = d.isEmpty ? nil : d
        }
        func merge(_ given: ItemDetails?, into current: ItemDetails?, label: String) -> ItemDetails? {
            guard let given else { return current }
            var d = current ?? ItemDetails()
            if let p = given.unitPrice { d.unitPrice = p.rounded(places: unitdp) }
            if let a = given.accountCode {
                if !a.isEmpty && Chart.account(a) == nil { errors.append("Account code '\(a)' is not a valid code for this document.") }
                d.accountCode = a.isEmpty ? nil : a
            }
            if let a = given.cogsAccountCode { d.cogsAccountCode = a.isEmpty ? nil : a }
            if let t = given.taxType {
                if !t.isEmpty && Chart.taxRates[t.uppercased()] == nil {
                    errors.append("The TaxType code '\(t)' does not exist or cannot be used for this type of transaction.")
                }
                d.taxType = t.isEmpty ? nil : t.uppercased()
            }
            return d
        }
        item.salesDetails = merge(input.salesDetails, into: item.salesDetails, label: "SalesDetails")
        item.purchaseDetails = merge(input.purchaseDetails, into: item.purchaseDetails, label: "PurchaseDetails")
        if let v = input.isSold { item.isSold = v }
        if let v = input.isPurchased { item.isPurchased = v }
        if let v = input.inventoryAssetAccountCode { item.inventoryAssetAccountCode = v.isEmpty ? nil : v }
        if seed {
            if let v = input.quantityOnHand { item.quantityOnHand = v }
            if let v = input.totalCostPool { item.totalCostPool = v }
        }
        if item.isSold == false {
            item.description = nil
            item.salesDetails = nil
        }
        if item.isPurchased == false {
            item.purchaseDescription = nil
            item.purchaseDetails = nil
        }
        item.isTrackedAsInventory = item.inventoryAssetAccountCode != nil && item.purchaseDetails?.cogsAccountCode != nil
        if item.salesDetails == nil { item.salesDetails = ItemDetails() }
        if item.purchaseDetails == nil { item.purchaseDetails = ItemDetails() }
        if !errors.isEmpty { throw Refusal(errors) }
        item.updatedDateUTC = seed ? (input.updatedDateUTC ?? now) : now
        item.statusAttributeString = nil
        item.validationErrors = nil
        return item
    }
}

extension Item: StoredElement {
    static var idKey: WritableKeyPath<Item, String?> { \.itemID }
    static func find(_ id: String, in org: Organisation) -> Item? { org.item(id) }
    /// `POST /Items/{ItemID or Code}`.
    static func find(path: String, in org: Organisation) -> Item? { org.item(path) ?? org.item(code: path) }
    static func missing(_ id: String) -> String { "The item with ItemID \(id) could not be found." }

    static func match(_ input: Item, in org: Organisation) -> Item? {
        input.code.flatMap { org.item(code: $0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// What Xero sends back for an element it refused.
    static func echo(_ input: Item, _ messages: [String], summarize: Bool) -> Item {
        var e = input
        e.itemID = input.itemID ?? Ids.zero
        e.statusAttributeString = summarize ? nil : "ERROR"
        e.validationErrors = messages.map { ValidationError(message: $0) }
        return e
    }
}
