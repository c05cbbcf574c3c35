import Foundation
import Store
import Sync
import Testing
import Xero

/// R9's three-way merge and how values are written onto a Xero contact.
@Suite struct ContactMergeTests {
    let base = ContactFields(name: "Kauri Landscapes", companyName: "", email: "office@kauri.nz", phone: "+64 9 300 1000")

    @Test func r9_aFieldChangedOnOneSideTakesThatSide() {
        var local = base
        local.email = "jobs@kauri.nz"
        var xero = base
        xero.name = "Kauri Landscapes Ltd"
        let r = ContactMerge.merge(base: base, local: local, xero: xero, localChangedAt: 1, xeroChangedAt: 2, now: "t")
        #expect(r.fields == ContactFields(name: "Kauri Landscapes Ltd", email: "jobs@kauri.nz", phone: "+64 9 300 1000"))
        #expect(r.conflicts.isEmpty)
    }

    @Test(arguments: [(1, 2, "xero"), (2, 1, "sortscape"), (5, 5, "sortscape")])
    func r9_aFieldChangedOnBothSidesIsAConflictAndTheLaterChangeWins(localAt: Int, xeroAt: Int, kept: String) {
        var local = base, xero = base
        local.email = "ours@kauri.nz"
        xero.email = "theirs@kauri.nz"
        let r = ContactMerge.merge(base: base, local: local, xero: xero, localChangedAt: Int64(localAt), xeroChangedAt: Int64(xeroAt), now: "t")
        #expect(r.fields.email == (kept == "xero" ? "theirs@kauri.nz" : "ours@kauri.nz"))
        #expect(r.conflicts == [ContactConflict(field: "email", sortscape: "ours@kauri.nz", xero: "theirs@kauri.nz", kept: kept, at: "t")])
    }

    @Test func r9_theSameChangeOnBothSidesOrOnlyFormattingIsNoConflict() {
        var local = base, xero = base
        local.email = "New@Kauri.nz"
        xero.email = "new@kauri.nz"
        local.phone = "09 300 1000"
        xero.phone = "+64 9 300 1000"
        local.name = " Kauri   Landscapes "
        let r = ContactMerge.merge(base: base, local: local, xero: xero, localChangedAt: 1, xeroChangedAt: 2, now: "t")
        #expect(r.conflicts.isEmpty)
        #expect(ContactMerge.same("phone", "(09) 300-1000", "09 300 1000") && !ContactMerge.same("phone", "09 300 1001", "09 300 1000"))
        #expect(ContactMerge.same("email", "A@B.nz", "a@b.nz") && !ContactMerge.same("name", "Kauri", "Kowhai"))
    }

    // MARK: writing to Xero never damages a record

    func company(_ name: String) -> Xero.Contact {
        var c = Xero.Contact(contactID: "x", name: name, emailAddress: "office@greenleaf.nz")
        c.phones = [Phone(phoneType: "DEFAULT", phoneNumber: "300 1000", phoneAreaCode: "9", phoneCountryCode: "64"),
                    Phone(phoneType: "MOBILE", phoneNumber: "", phoneAreaCode: "", phoneCountryCode: "")]
        return c
    }

    @Test func aCompanysNameNeverBecomesAPersonsFirstAndLastName() throws {
        let original = company("Greenleaf Property Management")
        var f = ContactFields(xero: original)
        #expect(XeroContactWrite.update(original, to: f) == nil, "unchanged values send nothing")
        f.name = "Greenleaf  PM "
        let u = try #require(XeroContactWrite.update(original, to: f))
        #expect(u.name == "Greenleaf PM" && u.firstName == nil && u.lastName == nil)
        #expect(u.phones == nil && u.emailAddress == nil, "only what changed is sent")
    }

    @Test func aPhoneWrittenBackUnchangedKeepsXerosSplitAndAChangedOneReplacesTheSameSlot() throws {
        let original = company("Greenleaf")
        var f = ContactFields(xero: original)
        #expect(f.phone == "+64 9 300 1000")
        f.email = "new@greenleaf.nz"
        let u = try #require(XeroContactWrite.update(original, to: f))
        #expect(u.phones == nil && u.emailAddress == "new@greenleaf.nz")
        f.phone = "021 555 0100"
        let p = try #require(XeroContactWrite.update(original, to: f)?.phones)
        #expect(p.count == 2 && p[0].phoneType == "DEFAULT" && p[0].phoneNumber == "021 555 0100" && p[1].phoneType == "MOBILE")
    }

    @Test func aPersonsNameIsWrittenAsFirstAndLastNameBesideTheCompany() throws {
        var original = company("Smith Gardens Ltd")
        original.firstName = "Mere"
        original.lastName = "Smith"
        var f = ContactFields(xero: original)
        #expect(f.name == "Mere Smith" && f.companyName == "Smith Gardens Ltd")
        f.name = "Mere  Smith-Jones"
        let u = try #require(XeroContactWrite.update(original, to: f))
        #expect(u.firstName == "Mere" && u.lastName == "Smith-Jones" && u.name == nil, "the company's Name stays")
    }
}
