import Crypto
import Foundation
import Store
import StrictJSON
import Xero

extension SyncContext {
    /// R12–R14: the Xero item a material goes to Xero as (the invoice uses it): the item it is
    /// linked to; else a same-named item, linked instead of duplicated (its values win, R13);
    /// else a new item, created once (an idempotency key per material), then linked.
    func itemForMaterial(materialId: String) throws -> MaterialRecord {
        guard let material = try records.materials.get(accountId: accountId, id: materialId) else {
            throw StoreError(code: .notFound, message: "no material with id \(materialId)")
        }
        if material.xeroItemId != nil { return material }
        let name = ContactText.tidy(material.name)
        if let existing = try xero.items(tenantId: tenantId, named: name).first(where: {
            ImportRules.materialKey($0.name ?? "") == ImportRules.materialKey(name)
        }) {
            count("materialsLinked")
            return try link(material, to: existing)
        }
        var item = Item(code: SyncContext.itemCode(material), name: String(name.prefix(50)),
                        description: material.description.isEmpty ? name : material.description,
                        salesDetails: ItemDetails(unitPrice: Decimal4(units: material.unitPrice)))
        item.isSold = true
        let body = Base64.encodeURL(Array(Crypto.sha256(XeroWire.bytes(item.json(.standard))).prefix(12)))
        let saved = try xero.saveItems(tenantId: tenantId, [item], idempotencyKey: "create-item-" + materialId + "-" + body)
        guard let created = saved.first, (created.validationErrors ?? []).isEmpty, created.itemID != nil else {
            let why = saved.first?.validationErrors?.map(\.message).joined(separator: "; ") ?? "Xero sent no item back"
            throw SyncError(message: "Xero refused the new item \(name): \(why)")
        }
        count("itemsCreated")
        return try link(material, to: created)
    }

    func link(_ material: MaterialRecord, to item: Item) throws -> MaterialRecord {
        guard let itemId = item.itemID?.lowercased() else { throw SyncError(message: "Xero sent an item without an ItemID") }
        var linked = material
        linked.xeroItemId = itemId
        XeroImport.take(ImportRules.material(from: item), into: &linked)
        var batch = ImportBatch(accountId: accountId)
        batch.linkedMaterials = [linked]
        _ = try runs.apply(batch)
        guard let stored = try records.materials.get(accountId: accountId, id: material.id), stored.xeroItemId == itemId else {
            throw StoreError(code: .conflict, message: "the Xero item \(item.name ?? itemId) is already linked to another material")
        }
        return stored
    }

    /// A Xero item code for a material: its own code, else its name in capitals, letters, digits
    /// and dashes, at most 30 characters (Xero's limit).
    static func itemCode(_ m: MaterialRecord) -> String {
        let source = m.code.isEmpty ? m.name : m.code
        var out = ""
        for ch in source.uppercased() {
            if ch.isASCII && (ch.isLetter || ch.isNumber) { out.append(ch) } else if !out.hasSuffix("-") && !out.isEmpty { out.append("-") }
        }
        while out.hasSuffix("-") { out.removeLast() }
        if out.isEmpty { out = "ITEM-" + String(m.id.prefix(8)).uppercased() }
        return String(out.prefix(30))
    }
}

extension SyncEngine {
    /// R14: sends a material to Xero as an item (linking a same-named one), through the engine.
    public func materialToXero(accountId: String, materialId: String) throws -> MaterialRecord {
        try perform(accountId: accountId, trigger: .link) { try $0.itemForMaterial(materialId: materialId) }
    }
}
