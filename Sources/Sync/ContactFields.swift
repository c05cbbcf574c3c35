import Foundation
import Store
import Xero

extension ContactFields {
    /// The fields as SortScape reads them from a Xero contact.
    public init(xero c: Xero.Contact) {
        let person = [c.firstName, c.lastName].compactMap { $0?.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty }.joined(separator: " ")
        let xeroName = (c.name ?? "").trimmingCharacters(in: .whitespaces)
        let email = (c.emailAddress ?? "").trimmingCharacters(in: .whitespaces)
        if person.isEmpty {
            self.init(name: xeroName, companyName: "", email: email, phone: ContactFields.phone(of: c))
        } else {
            self.init(name: person, companyName: ContactKeys.name(xeroName) == ContactKeys.name(person) ? "" : xeroName,
                      email: email, phone: ContactFields.phone(of: c))
        }
    }

    /// The phone SortScape shows for a Xero contact: its default phone, else mobile, direct
    /// dial or office; country code, area code and number joined by spaces.
    static func phone(of c: Xero.Contact) -> String {
        guard let i = phoneIndex(of: c), let p = c.phones?[i] else { return "" }
        var parts: [String] = []
        if let cc = p.phoneCountryCode?.trimmingCharacters(in: .whitespaces), !cc.isEmpty {
            parts.append(cc.hasPrefix("+") ? cc : "+" + cc)
        }
        for part in [p.phoneAreaCode, p.phoneNumber] {
            if let s = part?.trimmingCharacters(in: .whitespaces), !s.isEmpty { parts.append(s) }
        }
        return parts.joined(separator: " ")
    }

    /// Which of the contact's phones SortScape shows (see `phone(of:)`), if any.
    static func phoneIndex(of c: Xero.Contact) -> Int? {
        let phones = c.phones ?? []
        func usable(_ p: Phone) -> Bool { !(p.phoneNumber ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        for type in [Phone.defaultType, Phone.mobile, Phone.ddi, Phone.office] {
            if let i = phones.firstIndex(where: { usable($0) && ($0.phoneType ?? "").uppercased() == type }) { return i }
        }
        return phones.firstIndex { usable($0) && ($0.phoneType ?? "").uppercased() != Phone.fax }
    }

    /// The same values, trimmed and with inner white space collapsed (what goes to Xero).
    public var tidied: ContactFields {
        ContactFields(name: ContactText.tidy(name), companyName: ContactText.tidy(companyName),
                      email: ContactText.tidy(email), phone: ContactText.tidy(phone))
    }
}

/// How SortScape's four fields are written onto a Xero contact without damaging it: only what
/// changed is sent; a company's `Name` stays the company and never becomes a person's first and
/// last name; a phone written back unchanged keeps Xero's split (country, area, number); names
/// are trimmed and inner spaces collapsed.
public enum XeroContactWrite {
    /// The update that makes `original` (as Xero has it) carry `wanted`, or nil when it already does.
    public static func update(_ original: Xero.Contact, to wanted: ContactFields) -> Xero.Contact? {
        let f = wanted.tidied
        let current = ContactFields(xero: original)
        var out = Xero.Contact(contactID: original.contactID)
        var changed = false
        let isPerson = !ContactText.tidy([original.firstName, original.lastName].compactMap { $0 }.joined(separator: " ")).isEmpty
        if !ContactMerge.same("name", f.name, current.name) || !ContactMerge.same("companyName", f.companyName, current.companyName) {
            let xeroName = f.companyName.isEmpty ? f.name : f.companyName
            if ContactText.tidy(original.name ?? "") != xeroName, !xeroName.isEmpty {
                out.name = xeroName
                changed = true
            }
            // First and last name carry SortScape's name only where it is a person's: Xero already
            // holds a person, or the contact has a company (Xero's Name) beside the name. A
            // company's Name itself is never split into a first and last name.
            let person = isPerson || (!f.companyName.isEmpty && !ContactMerge.same("name", f.name, f.companyName))
            if person && !f.name.isEmpty && (!ContactMerge.same("name", f.name, current.name) || !isPerson) {
                let words = f.name.split(separator: " ")
                out.firstName = words.first.map(String.init) ?? ""
                out.lastName = words.dropFirst().joined(separator: " ")
                changed = true
            }
        }
        if !ContactMerge.same("email", f.email, current.email) {
            out.emailAddress = f.email
            changed = true
        }
        if !ContactMerge.same("phone", f.phone, current.phone) {
            var phones = original.phones ?? []
            // The phone SortScape shows, else Xero's (empty) DEFAULT slot.
            let read = ContactFields.phoneIndex(of: original)
                ?? phones.firstIndex { ($0.phoneType ?? "").uppercased() == Phone.defaultType }
            let type = read.map { phones[$0].phoneType ?? Phone.defaultType } ?? Phone.defaultType
            let replacement = Phone(phoneType: type, phoneNumber: f.phone, phoneAreaCode: "", phoneCountryCode: "")
            if let i = read { phones[i] = replacement } else { phones.insert(replacement, at: 0) }
            out.phones = phones
            changed = true
        }
        return changed ? out : nil
    }

    /// A new Xero contact carrying `fields` (R11): `Name` is the company when there is one, else
    /// the name; a person's first and last name only beside a company.
    /// The `ContactNumber` ("Contact Code", ≤ 50 characters, written only through the API) a
    /// contact the gateway creates in Xero carries: the SortScape contact's id (R11).
    public static func contactNumber(contactId: String) -> String { String(("SortScape " + contactId).prefix(50)) }

    public static func newContact(_ fields: ContactFields) -> Xero.Contact {
        let f = fields.tidied
        var c = Xero.Contact(contactID: nil, name: f.companyName.isEmpty ? f.name : f.companyName,
                             emailAddress: f.email.isEmpty ? nil : f.email)
        if !f.companyName.isEmpty, !f.name.isEmpty, !ContactMerge.same("name", f.name, f.companyName) {
            let words = f.name.split(separator: " ")
            c.firstName = words.first.map(String.init)
            c.lastName = words.dropFirst().joined(separator: " ")
        }
        if !f.phone.isEmpty { c.phones = [Phone(phoneType: Phone.defaultType, phoneNumber: f.phone, phoneAreaCode: "", phoneCountryCode: "")] }
        return c
    }
}

/// Text as it goes to Xero: trimmed, inner white space collapsed to one space.
public enum ContactText {
    public static func tidy(_ s: String) -> String {
        s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")
    }
}

/// How contacts are compared (R7): names case-, space- and Unicode-normalisation-insensitively,
/// emails case-insensitively, phones by their digits.
public enum ContactKeys {
    /// Lowercase, NFKC, without white space: "  ACME  Ltd ", "acme ltd" and "ACMELtd" agree.
    public static func name(_ s: String) -> String {
        String(s.precomposedStringWithCompatibilityMapping.lowercased().unicodeScalars
            .filter { !CharacterSet.whitespacesAndNewlines.contains($0) })
    }

    /// Trimmed and lowercase; empty when it is not an address at all.
    public static func email(_ s: String) -> String {
        let e = s.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return e.contains("@") ? e : ""
    }

    /// The last eight digits (enough to tell numbers apart, and the same whether or not a
    /// country code or trunk zero was written: "+64 21 555 0100" and "021-555-0100" agree);
    /// all of them when there are six or seven; none below six.
    public static func phone(_ s: String) -> String {
        let digits = s.unicodeScalars.filter { CharacterSet.decimalDigits.contains($0) && $0.isASCII }
        let d = String(String.UnicodeScalarView(digits))
        if d.count >= 8 { return String(d.suffix(8)) }
        return d.count >= 6 ? d : ""
    }
}
