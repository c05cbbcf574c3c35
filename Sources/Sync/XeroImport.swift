import Foundation
import Store
import StrictJSON
import Xero

/// The import (R5, R6, R7, R12): Xero's contacts and items into SortScape, page by page, each
/// page applied in one transaction. Idempotent: a run after a failed one picks up where it
/// stopped (contacts already linked or already matched are skipped), so faults never duplicate.
///
/// Calls to Xero: one per 1 000 contacts (pages as large as Xero allows) and one for all items.
public struct XeroImport: Sendable {
    public let accountId: String
    public let tenantId: String
    let accounting: any XeroAccounting
    let repository: any XeroSyncRepository
    let newID: @Sendable () -> String

    public init(accountId: String, tenantId: String, accounting: any XeroAccounting, repository: any XeroSyncRepository,
                newID: @escaping @Sendable () -> String = { UUID().uuidString.lowercased() }) {
        self.accountId = accountId
        self.tenantId = tenantId
        self.accounting = accounting
        self.repository = repository
        self.newID = newID
    }

    /// Suspected matches kept per Xero contact (the best ones): a shared switchboard number or
    /// company name must not multiply rows.
    static let maxCandidates = 5

    /// What a run did, by name (`contactsCreated`, `contactsSkippedSupplier`, …).
    public typealias Counts = [String: Int]

    /// Imports contacts, then items. Throws the first Xero or store failure; what was applied
    /// before it stays (and is skipped by the next run).
    public func run(counts: inout Counts) throws -> Void {
        try importContacts(counts: &counts)
        try importItems(counts: &counts, modifiedSince: nil)
    }

    // MARK: - contacts

    /// Returns the newest `UpdatedDateUTC` seen (the contacts watermark).
    @discardableResult
    func importContacts(counts: inout Counts) throws -> Int64? {
        var newest: Int64?
        let existing = try repository.allContacts(accountId: accountId)
        var linked = Set(existing.compactMap(\.xeroContactId))
        let matched = try repository.matchedXeroContactIds(accountId: accountId)
        var index = ContactMatchIndex()
        for c in existing where !c.archived { index.add(id: c.id, c.fields) }

        try accounting.forEachContactsPage(tenantId: tenantId, includeArchived: false, modifiedSince: nil) { contacts in
            var batch = ImportBatch(accountId: accountId)
            for xero in contacts {
                if let u = xero.updatedDateUTC { newest = max(newest ?? u, u) }
                guard let xeroId = xero.contactID?.lowercased() else { continue }
                guard ImportRules.importsContact(xero) else {
                    counts[XeroImport.skipReason(xero), default: 0] += 1
                    continue
                }
                if linked.contains(xeroId) { counts["contactsSkippedAlreadyLinked", default: 0] += 1; continue }
                if matched.contains(xeroId) { counts["contactsSkippedAwaitingMatch", default: 0] += 1; continue }
                let fields = ContactFields(xero: xero)
                let candidates = index.matches(for: fields)
                if !candidates.isEmpty {
                    let snapshot = XeroWire.bytes(xero.json(.standard))
                    for candidate in candidates.prefix(XeroImport.maxCandidates) {
                        batch.matches.append(ContactMatchRecord(
                            id: newID(), accountId: accountId, contactId: candidate.id, xeroContactId: xeroId, xero: fields,
                            reasons: candidate.reasons.map(\.rawValue), xeroContact: snapshot))
                    }
                    continue
                }
                let (contact, property) = newContact(from: xero, xeroId: xeroId, fields: fields)
                batch.contacts.append((contact, property))
                index.add(id: contact.id, fields)  // a later Xero contact like this one is a match, not a duplicate
                linked.insert(xeroId)
            }
            let outcome = try repository.apply(batch)
            counts["contactsCreated", default: 0] += outcome.contactsCreated
            counts["propertiesCreated", default: 0] += outcome.propertiesCreated
            counts["contactsMatched", default: 0] += Set(batch.matches.map(\.xeroContactId)).count
        }
        return newest
    }

    static func skipReason(_ c: Xero.Contact) -> String {
        switch c.contactStatus ?? .active {
        case .archived: return "contactsSkippedArchived"
        case .gdprRequest: return "contactsSkippedGDPRRequest"
        default: return "contactsSkippedSupplierOnly"
        }
    }

    func newContact(from xero: Xero.Contact, xeroId: String, fields: ContactFields) -> (ContactRecord, PropertyRecord?) {
        ImportRules.newContact(from: xero, xeroId: xeroId, fields: fields, accountId: accountId, newID: newID)
    }

    // MARK: - items

    /// Items changed since `modifiedSince` (all when nil); returns the newest `UpdatedDateUTC`
    /// seen and the ids of the items read.
    @discardableResult
    func importItems(counts: inout Counts, modifiedSince: Int64?) throws -> (newest: Int64?, itemIds: Set<String>) {
        let items = try accounting.items(tenantId: tenantId, modifiedSince: modifiedSince)
        var newest: Int64?
        var ids = Set<String>()
        let materials = try repository.allMaterials(accountId: accountId)
        var byItem: [String: MaterialRecord] = [:]
        var byName: [String: MaterialRecord] = [:]
        for m in materials {
            if let item = m.xeroItemId { byItem[item] = m }
            else if !m.archived, byName[ImportRules.materialKey(m.name)] == nil { byName[ImportRules.materialKey(m.name)] = m }
        }
        var batch = ImportBatch(accountId: accountId)
        for item in items {
            if let u = item.updatedDateUTC { newest = max(newest ?? u, u) }
            guard let itemId = item.itemID?.lowercased() else { continue }
            ids.insert(itemId)
            let values = ImportRules.material(from: item)
            guard !values.name.isEmpty else { counts["itemsSkippedNameless", default: 0] += 1; continue }
            if var m = byItem[itemId] {
                XeroImport.take(values, into: &m)
                batch.linkedMaterials.append(m)
                counts["materialsRefreshed", default: 0] += 1
            } else if var m = byName.removeValue(forKey: ImportRules.materialKey(values.name)) {
                m.xeroItemId = itemId
                XeroImport.take(values, into: &m)  // R13: the item's values win at once
                batch.linkedMaterials.append(m)
                counts["materialsLinked", default: 0] += 1
            } else {
                var m = MaterialRecord(id: newID(), accountId: accountId, name: values.name, xeroItemId: itemId)
                XeroImport.take(values, into: &m)
                batch.newMaterials.append(m)
            }
        }
        let outcome = try repository.apply(batch)
        counts["materialsCreated", default: 0] += outcome.materialsCreated
        return (newest, ids)
    }

    static func take(_ values: MaterialFields, into m: inout MaterialRecord) {
        m.name = values.name
        m.code = values.code
        m.description = values.description
        m.unitPrice = values.unitPrice.units
    }
}
