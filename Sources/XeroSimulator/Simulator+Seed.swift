import HTTPServer
import Xero
import StrictJSON

/// What the demo seed made.
public struct DemoInfo: Sendable {
    public let tenantId: String
    public let tenantName: String
    public let secondTenantId: String
    public let secondTenantName: String
    public let loginEmail: String
    public let userId: String

    public var json: JSON {
        .object([("tenantId", .string(tenantId)), ("tenantName", .string(tenantName)),
                 ("secondTenantId", .string(secondTenantId)), ("secondTenantName", .string(secondTenantName)),
                 ("login", .string(loginEmail)), ("userId", .string(userId))])
    }
}

extension Simulator {
    public static let demoTenantId = "b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64"
    public static let demoSecondTenantId = "0f4c7b2e-91a3-4d58-b6e0-2a9d8c1f5e36"
    public static let demoLoginEmail = "owner@harbourlandscaping.co.nz"

    /// Seeds the demo organisations: customers, suppliers, both and neither, archived contacts,
    /// both address types, split phones, names that collide with SortScape's demo contacts, a
    /// price list with 4-decimal prices and a few invoices.
    @discardableResult
    public func seedDemo() -> DemoInfo {
        let now = clock.now()
        let day: Int64 = 86_400_000
        let info = DemoInfo(tenantId: Simulator.demoTenantId, tenantName: "Harbour Landscaping Ltd",
                            secondTenantId: Simulator.demoSecondTenantId, secondTenantName: "Harbour Landscaping (AU) Pty Ltd",
                            loginEmail: Simulator.demoLoginEmail, userId: "6d2f9a41-0c8b-4e57-9b13-7e5a2c0d8f64")
        world.withLock { w in
            if w.orgs[info.tenantId] != nil { return }
            let org = Organisation(tenantId: info.tenantId, name: info.tenantName, shortCode: "!HLNZ1",
                                   baseCurrency: "NZD", countryCode: "NZ", createdAt: now - 400 * day)
            let au = Organisation(tenantId: info.secondTenantId, name: info.secondTenantName, shortCode: "!HLAU2",
                                  baseCurrency: "AUD", countryCode: "AU", createdAt: now - 200 * day)
            w.add(org)
            w.add(au)
            if !w.logins.values.contains(where: { $0.email == info.loginEmail }) {
                w.logins[info.userId] = Login(id: info.userId, email: info.loginEmail, password: nil, firstName: "Sam",
                                              lastName: "Tane", tenantIds: [org.tenantId, au.tenantId])
            }

            func phone(_ type: String, _ country: String, _ area: String, _ number: String) -> Phone {
                Phone(phoneType: type, phoneNumber: number, phoneAreaCode: area, phoneCountryCode: country)
            }
            func street(_ l1: String, _ l2: String? = nil, _ city: String, _ region: String, _ pc: String,
                        country: String = "New Zealand", attention: String? = nil) -> Address {
                Address(addressType: "STREET", addressLine1: l1, addressLine2: l2 ?? "", addressLine3: "", addressLine4: "",
                        city: city, region: region, postalCode: pc, country: country, attentionTo: attention)
            }
            func pobox(_ l1: String, _ city: String, _ region: String, _ pc: String, country: String = "New Zealand",
                       attention: String? = nil) -> Address {
                Address(addressType: "POBOX", addressLine1: l1, addressLine2: "", addressLine3: "", addressLine4: "",
                        city: city, region: region, postalCode: pc, country: country, attentionTo: attention)
            }
            struct Seed {
                var name: String
                var first: String? = nil
                var last: String? = nil
                var email = ""
                var number: String? = nil
                var addresses: [Address] = []
                var phones: [Phone] = []
                var customer = false
                var supplier = false
                var archived = false
                var daysAgo: Int64 = 30
                var id: String? = nil
                var persons: [ContactPerson]? = nil
            }
            let contacts: [Seed] = [
                // Customers (several collide with SortScape's demo contacts by name, email or phone).
                Seed(name: "Harbour View Cafe", first: "Aroha", last: "Ngata", email: "accounts@harbourviewcafe.co.nz",
                     number: "CUST-0042",
                     addresses: [pobox("PO Box 5123", "Wellington", "Wellington", "6140", attention: "Accounts Payable"),
                                 street("12 Oriental Parade", "Ground Floor", "Wellington", "Wellington", "6011", attention: "Aroha Ngata")],
                     phones: [phone("DEFAULT", "64", "04", "384 9921"), phone("MOBILE", "64", "021", "555 0192")],
                     customer: true, daysAgo: 3, id: "5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c",
                     persons: [ContactPerson(firstName: "Tom", lastName: "Reid", emailAddress: "tom@harbourviewcafe.co.nz", includeInEmails: true)]),
                Seed(name: "Greenleaf Property Management", email: "maintenance@greenleafpm.co.nz", number: "CUST-0043",
                     addresses: [street("88 Willis Street", "Level 4", "Wellington", "Wellington", "6011"),
                                 pobox("PO Box 27001", "Wellington", "Wellington", "6141", attention: "Accounts")],
                     phones: [phone("DEFAULT", "64", "04", "499 2100"), phone("DDI", "64", "04", "499 2117")],
                     customer: true, daysAgo: 12),
                Seed(name: "Jane Smith", first: "Jane", last: "Smith", email: "jane.smith@example.com",
                     addresses: [street("27 Kelburn Parade", nil, "Wellington", "Wellington", "6012")],
                     phones: [phone("MOBILE", "64", "027", "555 0143")], customer: true, daysAgo: 40),
                Seed(name: "Kowhai Kindergarten", email: "office@kowhaikindy.org.nz",
                     addresses: [pobox("PO Box 3344", "Lower Hutt", "Wellington", "5040")],
                     phones: [phone("DEFAULT", "64", "04", "569 3320")], customer: true, daysAgo: 60),
                Seed(name: "Tui Apartments Body Corporate", email: "bc@tuiapartments.co.nz",
                     addresses: [street("5 Tui Street", nil, "Wellington", "Wellington", "6021"),
                                 pobox("PO Box 11042", "Wellington", "Wellington", "6142")],
                     phones: [phone("DEFAULT", "64", "04", "802 4410")], customer: true, daysAgo: 9),
                Seed(name: "Rata Street Dental", email: "reception@ratastreetdental.co.nz",
                     addresses: [street("14 Rata Street", nil, "Naenae", "Wellington", "5011")],
                     phones: [phone("DEFAULT", "64", "04", "567 8890"), phone("FAX", "64", "04", "567 8891")],
                     customer: true, daysAgo: 21),
                Seed(name: "Mount Victoria Veterinary Clinic", email: "hello@mtvicvets.co.nz",
                     addresses: [street("101 Majoribanks Street", nil, "Wellington", "Wellington", "6011")],
                     phones: [phone("DEFAULT", "64", "04", "385 6612")], customer: true, daysAgo: 5),
                Seed(name: "Oriental Bay Apartments", email: "manager@obapartments.co.nz",
                     addresses: [street("240 Oriental Parade", nil, "Wellington", "Wellington", "6011"),
                                 pobox("PO Box 9870", "Wellington", "Wellington", "6141")],
                     phones: [phone("DEFAULT", "64", "04", "801 7000")], customer: true, daysAgo: 2),
                // Suppliers only (never imported by the gateway).
                Seed(name: "Kauri Timber Supplies", email: "orders@kauritimber.co.nz",
                     addresses: [pobox("14 Industrial Way", "Whangarei", "Northland", "0110")],
                     phones: [phone("DEFAULT", "64", "09", "430 1188"), phone("FAX", "64", "09", "430 1189")],
                     supplier: true, daysAgo: 90, id: "0c9e4d2a-7f61-4b8e-a3d5-6e2f1b7c8d90"),
                Seed(name: "Central Irrigation Wholesale", email: "sales@centralirrigation.co.nz",
                     addresses: [street("3 Depot Road", nil, "Palmerston North", "Manawatu", "4410")],
                     phones: [phone("DEFAULT", "64", "06", "356 2200")], supplier: true, daysAgo: 33),
                Seed(name: "Southern Aggregates Ltd", email: "accounts@southernaggregates.co.nz",
                     addresses: [pobox("PO Box 220", "Upper Hutt", "Wellington", "5140")],
                     phones: [phone("DEFAULT", "64", "04", "528 9090")], supplier: true, daysAgo: 75),
                // Customer and supplier.
                Seed(name: "Wellington Garden Centre", email: "trade@wgtngardencentre.co.nz", number: "CUST-0007",
                     addresses: [street("400 Hutt Road", nil, "Wellington", "Wellington", "5012"),
                                 pobox("PO Box 38100", "Wellington", "Wellington", "5045")],
                     phones: [phone("DEFAULT", "64", "04", "472 3300"), phone("MOBILE", "64", "022", "555 0177")],
                     customer: true, supplier: true, daysAgo: 14),
                // Neither customer nor supplier.
                Seed(name: "Mereana Walker", first: "Mereana", last: "Walker", email: "mereana.walker@example.com",
                     phones: [phone("MOBILE", "64", "027", "555 0147")], daysAgo: 1,
                     id: "e47a0c93-1f5b-4d2a-9e86-7c3b5d1f2a08"),
                Seed(name: "Pacific Events Ltd", email: "bookings@pacificevents.co.nz",
                     addresses: [street("Level 2, 60 Cuba Street", nil, "Wellington", "Wellington", "6011")],
                     phones: [phone("DDI", "64", "04", "385 4411")], daysAgo: 18),
                Seed(name: "Tom Reid", first: "Tom", last: "Reid", email: "tom.reid@example.com", daysAgo: 25),
                // Archived.
                Seed(name: "Old Mill Bakery", email: "", customer: true, archived: true, daysAgo: 200,
                     id: "9b2d6e41-5a7c-4c38-b1f2-8d0e3a6c7b95"),
                Seed(name: "Island Bay Tennis Club", email: "secretary@ibtc.org.nz",
                     addresses: [street("1 The Parade", nil, "Island Bay", "Wellington", "6023")],
                     phones: [phone("DEFAULT", "64", "04", "383 7011")], customer: true, archived: true, daysAgo: 120),
            ]
            for s in contacts {
                var c = Contact(contactID: s.id, name: s.name, emailAddress: s.email)
                c.firstName = s.first
                c.lastName = s.last
                c.contactNumber = s.number
                c.addresses = s.addresses
                c.phones = s.phones
                c.isCustomer = s.customer
                c.isSupplier = s.supplier
                c.contactStatus = s.archived ? .archived : .active
                c.contactPersons = s.persons
                c.updatedDateUTC = now - s.daysAgo * day - Int64(s.name.count) * 61_000
                c.salesDefaultLineAmountType = "EXCLUSIVE"
                c.purchasesDefaultLineAmountType = "EXCLUSIVE"
                if let stored = try? Simulator.applyContact(c, to: nil, org: org, now: now, author: .seed) {
                    org.store(stored)
                }
            }

            func item(_ code: String, _ name: String, _ description: String?, sale: String?, purchase: String? = nil,
                      purchaseDescription: String? = nil, daysAgo: Int64, tracked: Bool = false) -> Item {
                var i = Item(code: code, name: name, description: description)
                if let sale { i.salesDetails = ItemDetails(unitPrice: Decimal4(sale), accountCode: "200", taxType: "OUTPUT2") }
                if let purchase {
                    i.purchaseDetails = ItemDetails(unitPrice: Decimal4(purchase), accountCode: tracked ? nil : "300",
                                                    cogsAccountCode: tracked ? "310" : nil, taxType: "INPUT2")
                    i.purchaseDescription = purchaseDescription
                }
                i.isSold = sale != nil
                i.isPurchased = purchase != nil
                if tracked {
                    i.inventoryAssetAccountCode = "630"
                    i.quantityOnHand = Decimal4(12)
                    i.totalCostPool = Decimal4("2520.00")
                }
                i.updatedDateUTC = now - daysAgo * day
                return i
            }
            let items = [
                item("SVC-MOW", "Lawn mowing (per visit)", "Lawn mowing and edging, per visit", sale: "65.0000", daysAgo: 100),
                item("SVC-HEDGE", "Hedge trimming (hourly)", "Hedge trimming and green waste removal, per hour", sale: "72.5000", daysAgo: 100),
                item("SVC-INSTALL", "Installation labour (hourly)", "On-site installation, charged per hour", sale: "95.0000", daysAgo: 130),
                item("SVC-DESIGN", "Garden design consultation", "Garden design consultation (1 hour)", sale: "120.0000", daysAgo: 45),
                item("MAT-MULCH-40", "Bark mulch 40L", "Bark mulch, 40 litre bag", sale: "12.9500", purchase: "7.2000",
                     purchaseDescription: "Bark mulch 40L (pallet price)", daysAgo: 20),
                item("MAT-SOIL-M3", "Garden soil (m3)", "Premium garden soil, per cubic metre", sale: "89.0000", purchase: "52.5000", daysAgo: 60),
                item("MAT-TURF-M2", "Ready lawn turf (m2)", "Ready lawn turf, per square metre", sale: "14.7500", purchase: "8.9000", daysAgo: 30),
                item("MAT-PAVER-SQ", "Concrete paver 400x400", "Concrete paver 400 x 400 mm, charcoal", sale: "8.1250", purchase: "4.0625", daysAgo: 15),
                item("IRR-DRIP-25", "Drip irrigation line 25m", "Drip irrigation line, 25 m coil", sale: "38.4500", purchase: "21.3000", daysAgo: 8),
                item("FERT-10KG", "Slow-release fertiliser 10kg", "Slow-release fertiliser, 10 kg bag", sale: "54.9900", purchase: "31.0000", daysAgo: 70),
                item("PUMP-2HP", "Water pump 2HP", "Water pump 2HP, stainless housing", sale: "349.0000", purchase: "210.0000",
                     purchaseDescription: "2HP pump - supplier SKU WP-2000", daysAgo: 3, tracked: true),
                item("CONS-GLOVES", "Nitrile gloves (100)", nil, sale: nil, purchase: "18.9000",
                     purchaseDescription: "Nitrile gloves, box of 100", daysAgo: 150),
            ]
            for i in items {
                if let stored = try? Simulator.applyItem(i, to: nil, org: org, now: now, unitdp: 4, seed: true) {
                    org.store(stored)
                }
            }

            // A few invoices (the first customer has a balance).
            let request = Request(method: "PUT", path: "/seed")
            let ctx = CallContext(sim: self, request: request, world: w, org: org, now: now - 10 * day)
            let invoices: [(String, String, [(String, String)])] = [
                ("5f3a8c1e-2b7d-4e0a-9c6f-1d2e3f4a5b6c", "AUTHORISED", [("SVC-MOW", "4"), ("MAT-MULCH-40", "6")]),
                ("Greenleaf Property Management", "AUTHORISED", [("SVC-HEDGE", "3.5")]),
                ("Jane Smith", "DRAFT", [("SVC-DESIGN", "1"), ("MAT-TURF-M2", "40")]),
            ]
            for (contact, status, lines) in invoices {
                var inv = Invoice(type: .accRec)
                inv.contact = Ids.normalize(contact) != nil ? Contact(contactID: contact) : Contact(name: contact)
                inv.status = InvoiceStatus(rawValue: status)
                inv.dueDate = now + 10 * day
                inv.lineItems = lines.map { LineItem(itemCode: $0.0, quantity: Decimal4($0.1)) }
                if let stored = try? Simulator.applyInvoice(inv, to: nil, ctx: ctx) {
                    org.store(stored)
                    Simulator.markCustomerOrSupplier(stored, org: org)
                }
            }

            // The second organisation: a handful of contacts and items.
            let auContacts: [Seed] = [
                Seed(name: "Bondi Landscape Supplies Pty Ltd", email: "orders@bondilandscape.com.au",
                     addresses: [street("Unit 4, 12 Beach Road", nil, "Bondi", "NSW", "2026", country: "Australia")],
                     phones: [phone("DEFAULT", "61", "02", "9300 1122")], supplier: true, daysAgo: 10),
                Seed(name: "Harbour View Cafe", email: "sydney@harbourviewcafe.com.au",
                     addresses: [street("3 Circular Quay", nil, "Sydney", "NSW", "2000", country: "Australia")],
                     phones: [phone("DEFAULT", "61", "02", "9251 4400")], customer: true, daysAgo: 4),
                Seed(name: "Jane Smith", first: "Jane", last: "Smith", email: "jane@smithfamily.com.au", customer: true, daysAgo: 7),
            ]
            for s in auContacts {
                var c = Contact(name: s.name, emailAddress: s.email)
                c.firstName = s.first
                c.lastName = s.last
                c.addresses = s.addresses
                c.phones = s.phones
                c.isCustomer = s.customer
                c.isSupplier = s.supplier
                c.updatedDateUTC = now - s.daysAgo * day
                if let stored = try? Simulator.applyContact(c, to: nil, org: au, now: now, author: .seed) {
                    au.store(stored)
                }
            }
            for i in [item("SVC-MOW", "Lawn mowing (per visit)", "Lawn mowing, per visit", sale: "70.0000", daysAgo: 30),
                      item("MAT-MULCH-40", "Bark mulch 40L", "Bark mulch, 40 litre bag", sale: "13.5000", daysAgo: 30)] {
                if let stored = try? Simulator.applyItem(i, to: nil, org: au, now: now, unitdp: 4, seed: true) {
                    au.store(stored)
                }
            }
        }
        return info
    }
}
