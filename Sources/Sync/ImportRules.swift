import Foundation
import Store
import Xero

/// R5, R6 and R12: which Xero records become SortScape records, and how.
public enum ImportRules {
    /// R5: customers, and contacts that are neither customer nor supplier. Never supplier-only,
    /// archived or GDPR-request ones.
    public static func importsContact(_ c: Xero.Contact) -> Bool {
        let status = c.contactStatus ?? .active
        guard status == .active else { return false }
        return c.isCustomer == true || c.isSupplier != true
    }

    /// R6: the one address a Xero contact's property comes from: the shipping (STREET) address
    /// when it has one, else the billing (POBOX) one, else none. An address "has one" when any of
    /// its lines, city or postal code is non-empty.
    public static func propertyAddress(of c: Xero.Contact) -> (address: Address, source: PropertySource)? {
        let addresses = c.addresses ?? []
        func first(_ type: String) -> Address? {
            addresses.first { ($0.addressType ?? "").uppercased() == type && $0.hasContent }
        }
        if let street = first(Address.street) { return (street, .xeroShipping) }
        if let poBox = first(Address.poBox) { return (poBox, .xeroBilling) }
        return nil
    }

    /// A SortScape contact, linked, and its one property (R6), made from a Xero contact.
    public static func newContact(from xero: Xero.Contact, xeroId: String, fields: ContactFields, accountId: String,
                                  newID: () -> String) -> (ContactRecord, PropertyRecord?) {
        var contact = ContactRecord(id: newID(), accountId: accountId, name: fields.name, xeroContactId: xeroId, syncState: .linked)
        contact.fields = fields
        if contact.name.isEmpty { contact.name = fields.companyName }
        guard let (address, source) = propertyAddress(of: xero) else { return (contact, nil) }
        func s(_ v: String?) -> String { (v ?? "").trimmingCharacters(in: .whitespaces) }
        let property = PropertyRecord(
            id: newID(), accountId: accountId, contactId: contact.id,
            addressLine1: s(address.addressLine1), addressLine2: s(address.addressLine2),
            addressLine3: s(address.addressLine3), addressLine4: s(address.addressLine4),
            city: s(address.city), region: s(address.region), postalCode: s(address.postalCode),
            country: s(address.country), source: source)
        return (contact, property)
    }

    /// R12: the material a Xero item becomes. An item with an empty name is named by its code;
    /// the price is the sales unit price, kept to 4 decimals.
    public static func material(from item: Item) -> MaterialFields {
        let name = (item.name ?? "").trimmingCharacters(in: .whitespaces)
        return MaterialFields(name: name.isEmpty ? (item.code ?? "") : name,
                              code: item.code ?? "",
                              description: item.description ?? "",
                              unitPrice: item.salesDetails?.unitPrice?.rounded(places: 4) ?? .zero)
    }

    /// R12's "same name": compared as R7 compares contact names.
    public static func materialKey(_ name: String) -> String { ContactKeys.name(name) }
}

/// A material's Xero-owned fields (R13: a linked material takes these from its item).
public struct MaterialFields: Sendable, Equatable {
    public var name: String
    public var code: String
    public var description: String
    public var unitPrice: Decimal4

    public init(name: String, code: String = "", description: String = "", unitPrice: Decimal4 = .zero) {
        self.name = name
        self.code = code
        self.description = description
        self.unitPrice = unitPrice
    }
}
