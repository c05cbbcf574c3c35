import Foundation
import Store

/// R9's three-way merge of a linked contact's four fields against the values last agreed with
/// Xero (the base): a field changed on one side takes that side; changed on both to different
/// values, the later change wins and the conflict is recorded.
public enum ContactMerge {
    public struct Result: Sendable, Equatable {
        /// What both sides should hold.
        public var fields: ContactFields
        public var conflicts: [ContactConflict]
    }

    public static let fieldNames = ["name", "companyName", "email", "phone"]

    /// `localChangedAt` and `xeroChangedAt` are ms since the epoch (SortScape's `updatedAt`,
    /// Xero's `UpdatedDateUTC`); a tie keeps SortScape's value.
    public static func merge(base: ContactFields, local: ContactFields, xero: ContactFields,
                             localChangedAt: Int64, xeroChangedAt: Int64, now: String) -> Result {
        var out = local
        var conflicts: [ContactConflict] = []
        for field in fieldNames {
            let b = value(base, field), l = value(local, field), x = value(xero, field)
            let localChanged = !same(field, l, b), xeroChanged = !same(field, x, b)
            var kept = l
            switch (localChanged, xeroChanged) {
            case (false, true): kept = x
            case (true, true) where !same(field, l, x):
                let xeroWins = xeroChangedAt > localChangedAt
                kept = xeroWins ? x : l
                conflicts.append(ContactConflict(field: field, sortscape: l, xero: x, kept: xeroWins ? "xero" : "sortscape", at: now))
            default: kept = l
            }
            set(&out, field, kept)
        }
        return Result(fields: out, conflicts: conflicts)
    }

    /// Whether two values of a field are the same: names and companies with white space
    /// collapsed, emails case-insensitively, phones by their digits.
    public static func same(_ field: String, _ a: String, _ b: String) -> Bool {
        switch field {
        case "email": return ContactText.tidy(a).lowercased() == ContactText.tidy(b).lowercased()
        case "phone":
            func digits(_ s: String) -> String { String(s.unicodeScalars.filter { $0.isASCII && CharacterSet.decimalDigits.contains($0) }.map(Character.init)) }
            let (da, db) = (digits(a), digits(b))
            return da.isEmpty && db.isEmpty ? ContactText.tidy(a) == ContactText.tidy(b) : da == db
        default: return ContactText.tidy(a) == ContactText.tidy(b)
        }
    }

    /// Whether every field of `a` is the same as in `b`.
    public static func same(_ a: ContactFields, _ b: ContactFields) -> Bool {
        fieldNames.allSatisfy { same($0, value(a, $0), value(b, $0)) }
    }

    static func value(_ f: ContactFields, _ field: String) -> String {
        switch field {
        case "name": return f.name
        case "companyName": return f.companyName
        case "email": return f.email
        default: return f.phone
        }
    }

    static func set(_ f: inout ContactFields, _ field: String, _ v: String) {
        switch field {
        case "name": f.name = v
        case "companyName": f.companyName = v
        case "email": f.email = v
        default: f.phone = v
        }
    }
}
