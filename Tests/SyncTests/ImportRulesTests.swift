import Store
import Sync
import Testing
import Xero

@Suite struct ImportRulesTests {
    func contact(_ name: String, customer: Bool?, supplier: Bool?, status: ContactStatus? = .active) -> Xero.Contact {
        var c = Xero.Contact(contactID: "c-\(name)", name: name)
        c.isCustomer = customer
        c.isSupplier = supplier
        c.contactStatus = status
        return c
    }

    @Test func r5_customersAndNeitherAreImportedSupplierOnlyArchivedAndGDPRAreNot() {
        #expect(ImportRules.importsContact(contact("Customer", customer: true, supplier: false)))
        #expect(ImportRules.importsContact(contact("Both", customer: true, supplier: true)))
        #expect(ImportRules.importsContact(contact("Neither", customer: false, supplier: false)))
        #expect(ImportRules.importsContact(contact("Unflagged", customer: nil, supplier: nil)))
        #expect(!ImportRules.importsContact(contact("Supplier", customer: false, supplier: true)))
        #expect(!ImportRules.importsContact(contact("Archived", customer: true, supplier: false, status: .archived)))
        #expect(!ImportRules.importsContact(contact("Gone", customer: true, supplier: false, status: .gdprRequest)))
    }

    @Test func r6_shippingAddressElseBillingElseNone() {
        var c = contact("A", customer: true, supplier: false)
        let street = Address(addressType: "STREET", addressLine1: "12 Harbour Rd", city: "Auckland")
        let poBox = Address(addressType: "POBOX", addressLine1: "PO Box 5", city: "Auckland")
        let emptyStreet = Address(addressType: "STREET", addressLine1: "", city: "", region: "Auckland", country: "NZ")
        c.addresses = [poBox, street]
        #expect(ImportRules.propertyAddress(of: c)?.source == .xeroShipping)
        #expect(ImportRules.propertyAddress(of: c)?.address.addressLine1 == "12 Harbour Rd")
        c.addresses = [emptyStreet, poBox]  // a region and country alone are not an address
        #expect(ImportRules.propertyAddress(of: c)?.source == .xeroBilling)
        c.addresses = [emptyStreet]
        #expect(ImportRules.propertyAddress(of: c) == nil)
        c.addresses = nil
        #expect(ImportRules.propertyAddress(of: c) == nil)
    }

    @Test func r12_anItemBecomesAMaterialNamedByItsCodeWhenNamelessWithAFourDecimalPrice() {
        var item = Item()
        item.code = "MULCH-25"
        item.name = "  "
        item.salesDetails = ItemDetails(unitPrice: Decimal4("12.34567"))
        let m = ImportRules.material(from: item)
        #expect(m.name == "MULCH-25" && m.code == "MULCH-25")
        #expect(m.unitPrice == Decimal4("12.3457"))
        #expect(ImportRules.materialKey("Bark  MULCH") == ImportRules.materialKey("bark mulch"))
    }
}

@Suite struct ContactMatchingTests {
    @Test func r7_namesMatchIgnoringCaseSpacesAndUnicodeForm() {
        var index = ContactMatchIndex()
        index.add(id: "s1", ContactFields(name: "Zoë  O'Brien"))
        index.add(id: "s2", ContactFields(name: "Someone Else"))
        // "Zoë" with a combining diaeresis, other case, extra spaces.
        let m = index.matches(for: ContactFields(name: "  zoe\u{0308} o'brien "))
        #expect(m.map(\.id) == ["s1"] && m.first?.reasons == [.name])
        #expect(index.matches(for: ContactFields(name: "Zoe O'Brien")).isEmpty)  // ë is not e
        #expect(index.matches(for: ContactFields(name: "ZOË O'BRIEN")).map(\.id) == ["s1"])
        #expect(index.matches(for: ContactFields(name: "Zoë\tO'Brien")).map(\.id) == ["s1"])
        #expect(index.matches(for: ContactFields(name: "ZoëO'Brien")).map(\.id) == ["s1"])  // space-insensitive
    }

    @Test func r7_emailsMatchCaseInsensitivelyPhonesByDigits() {
        var index = ContactMatchIndex()
        index.add(id: "s1", ContactFields(name: "A", email: "Ops@Harbour.co.nz"))
        index.add(id: "s2", ContactFields(name: "B", phone: "021-555-0100"))
        #expect(index.matches(for: ContactFields(name: "X", email: " ops@harbour.CO.NZ")).map(\.id) == ["s1"])
        #expect(index.matches(for: ContactFields(name: "X", phone: "+64 21 555 0100")).map(\.id) == ["s2"])
        #expect(index.matches(for: ContactFields(name: "X", phone: "(021) 5550100")).first?.reasons == [.phone])
        #expect(index.matches(for: ContactFields(name: "X", phone: "021-555-0199")).isEmpty)
        #expect(index.matches(for: ContactFields(name: "X", email: "not-an-email", phone: "12")).isEmpty)
    }

    @Test func r7_theContactSharingMostIsProposedFirstWithEveryReason() {
        var index = ContactMatchIndex()
        index.add(id: "byName", ContactFields(name: "Harbour Landscaping"))
        index.add(id: "byAll", ContactFields(name: "harbour landscaping", email: "a@b.nz", phone: "09 300 1234"))
        let m = index.matches(for: ContactFields(name: "Harbour Landscaping", email: "A@B.nz", phone: "+64 9 300 1234"))
        #expect(m.map(\.id) == ["byAll", "byName"])
        #expect(m.first?.reasons == [.name, .email, .phone])
    }

    @Test func r7_companyNamesCountAsNames() {
        var index = ContactMatchIndex()
        index.add(id: "s1", ContactFields(name: "Mere Smith", companyName: "Smith Gardens Ltd"))
        #expect(index.matches(for: ContactFields(name: "Smith Gardens Ltd")).map(\.id) == ["s1"])
    }

    @Test func fieldsFromAXeroContactSplitPersonAndCompany() {
        var c = Xero.Contact(contactID: "x", name: "Smith Gardens Ltd", emailAddress: " mere@smith.nz ")
        c.firstName = "Mere"
        c.lastName = "Smith"
        c.phones = [Phone(phoneType: "FAX", phoneNumber: "999 9999"),
                    Phone(phoneType: "MOBILE", phoneNumber: "555 0100", phoneAreaCode: "21", phoneCountryCode: "64")]
        let f = ContactFields(xero: c)
        #expect(f == ContactFields(name: "Mere Smith", companyName: "Smith Gardens Ltd", email: "mere@smith.nz", phone: "+64 21 555 0100"))
        // Written back unchanged, nothing is sent; a new contact keeps the company as its Name.
        #expect(XeroContactWrite.update(c, to: f) == nil)
        let back = XeroContactWrite.newContact(f)
        #expect(back.name == "Smith Gardens Ltd" && back.firstName == "Mere" && back.lastName == "Smith")
        #expect(ContactFields(xero: back).name == "Mere Smith")
        let plain = ContactFields(xero: Xero.Contact(contactID: "y", name: "Bob Jones"))
        #expect(plain.name == "Bob Jones" && plain.companyName == "")
    }
}
