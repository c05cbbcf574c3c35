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
        let order = [Phone.defaultType, Phone.mobile, Phone.ddi, Phone.office]
        let phones = (c.phones ?? []).filter { !($0.phoneNumber ?? "").trimmingCharacters(in: .whitespaces).isEmpty }
        guard let p = order.lazy.compactMap({ type in phones.first { ($0.phoneType ?? "").uppercased() == type } }).first
                ?? phones.first(where: { ($0.phoneType ?? "").uppercased() != Phone.fax }) else { return "" }
        var parts: [String] = []
        if let cc = p.phoneCountryCode?.trimmingCharacters(in: .whitespaces), !cc.isEmpty {
            parts.append(cc.hasPrefix("+") ? cc : "+" + cc)
        }
        for part in [p.phoneAreaCode, p.phoneNumber] {
            if let s = part?.trimmingCharacters(in: .whitespaces), !s.isEmpty { parts.append(s) }
        }
        return parts.joined(separator: " ")
    }

    /// These fields written onto a Xero contact (for a link or a push), other fields untouched.
    public func apply(to c: inout Xero.Contact) {
        c.name = companyName.isEmpty ? name : companyName
        let words = name.split(separator: " ", omittingEmptySubsequences: true)
        c.firstName = words.first.map(String.init) ?? ""
        c.lastName = words.dropFirst().joined(separator: " ")
        c.emailAddress = email
        var phones = (c.phones ?? []).filter { ($0.phoneType ?? "").uppercased() != Phone.defaultType }
        phones.insert(Phone(phoneType: Phone.defaultType, phoneNumber: phone, phoneAreaCode: "", phoneCountryCode: ""), at: 0)
        c.phones = phones
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
