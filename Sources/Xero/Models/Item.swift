import StrictJSON
/// `SalesDetails` / `PurchaseDetails` of an item (Xero's `Purchase` schema). Empty details are `{}`.
public struct ItemDetails: Sendable, Equatable {
    public var unitPrice: Decimal4?
    public var accountCode: String?
    public var cogsAccountCode: String?
    public var taxType: String?

    public init(unitPrice: Decimal4? = nil, accountCode: String? = nil, cogsAccountCode: String? = nil, taxType: String? = nil) {
        self.unitPrice = unitPrice
        self.accountCode = accountCode
        self.cogsAccountCode = cogsAccountCode
        self.taxType = taxType
    }

    public init(json: JSON, path: String) throws(XeroModelError) {
        let f = try JSONFields(json, path: path)
        unitPrice = try f.decimal("UnitPrice")
        accountCode = try f.string("AccountCode")
        cogsAccountCode = try f.string("COGSAccountCode")
        taxType = try f.string("TaxType")
    }

    public var isEmpty: Bool { unitPrice == nil && accountCode == nil && cogsAccountCode == nil && taxType == nil }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 4)
        o.add("UnitPrice", unitPrice, places: options.unitDecimalPlaces)
        o.add("AccountCode", accountCode)
        o.add("COGSAccountCode", cogsAccountCode)
        o.add("TaxType", taxType)
        return o.json
    }
}

/// A Xero item (product or service in the price list). `Code` is required (≤ 30) and unique.
public struct Item: XeroModel, Equatable {
    public static let collectionKey = "Items"
    public static let maxCodeLength = 30
    public static let maxNameLength = 50
    public static let maxDescriptionLength = 4000

    public var itemID: String?
    public var code: String?
    public var name: String?
    /// The sales description.
    public var description: String?
    public var purchaseDescription: String?
    public var updatedDateUTC: Int64?
    public var purchaseDetails: ItemDetails?
    public var salesDetails: ItemDetails?
    public var isTrackedAsInventory: Bool?
    public var inventoryAssetAccountCode: String?
    public var totalCostPool: Decimal4?
    public var quantityOnHand: Decimal4?
    public var isSold: Bool?
    public var isPurchased: Bool?
    public var statusAttributeString: String?
    public var validationErrors: [ValidationError]?

    public init(itemID: String? = nil, code: String? = nil, name: String? = nil, description: String? = nil,
                salesDetails: ItemDetails? = nil) {
        self.itemID = itemID
        self.code = code
        self.name = name
        self.description = description
        self.salesDetails = salesDetails
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        itemID = try f.string("ItemID")
        code = try f.string("Code")
        name = try f.string("Name")
        description = try f.string("Description")
        purchaseDescription = try f.string("PurchaseDescription")
        updatedDateUTC = try f.date("UpdatedDateUTC")
        purchaseDetails = try f.value("PurchaseDetails").map { v throws(XeroModelError) in
            try ItemDetails(json: v, path: "PurchaseDetails")
        }
        salesDetails = try f.value("SalesDetails").map { v throws(XeroModelError) in
            try ItemDetails(json: v, path: "SalesDetails")
        }
        isTrackedAsInventory = try f.bool("IsTrackedAsInventory")
        inventoryAssetAccountCode = try f.string("InventoryAssetAccountCode")
        totalCostPool = try f.decimal("TotalCostPool")
        quantityOnHand = try f.decimal("QuantityOnHand")
        isSold = try f.bool("IsSold")
        isPurchased = try f.bool("IsPurchased")
        statusAttributeString = try f.string("StatusAttributeString")
        validationErrors = try f.models("ValidationErrors", as: ValidationError.self)
    }

    public func json(_ options: XeroEncodingOptions) -> JSON {
        var o = JSONObjectBuilder(capacity: 16)
        o.add("ItemID", itemID)
        o.add("Code", code)
        o.add("Description", description)
        o.add("PurchaseDescription", purchaseDescription)
        o.addDate("UpdatedDateUTC", updatedDateUTC)
        o.add("PurchaseDetails", purchaseDetails?.json(options))
        o.add("SalesDetails", salesDetails?.json(options))
        o.add("Name", name)
        o.add("IsTrackedAsInventory", isTrackedAsInventory)
        o.add("InventoryAssetAccountCode", inventoryAssetAccountCode)
        o.add("TotalCostPool", totalCostPool, places: 2)
        o.add("QuantityOnHand", quantityOnHand, places: 4)
        o.add("IsSold", isSold)
        o.add("IsPurchased", isPurchased)
        o.add("StatusAttributeString", statusAttributeString)
        o.add("ValidationErrors", validationErrors, options)
        return o.json
    }
}
