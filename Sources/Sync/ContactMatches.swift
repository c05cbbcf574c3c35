import Crypto
import Foundation
import Store
import StrictJSON
import Xero

/// A suspected match as the review screen shows it: Xero's values (left), the proposal
/// (middle) and SortScape's values (right).
public struct MatchReview: Sendable, Equatable {
    public let match: ContactMatchRecord
    public let sortscape: ContactFields
    public let proposed: ContactFields

    /// The proposal: Xero's value where Xero has one, with Xero's blanks filled from SortScape, so
    /// accepting the defaults never renames a Xero record.
    public static func propose(xero: ContactFields, sortscape: ContactFields) -> ContactFields {
        func pick(_ x: String, _ s: String) -> String { x.trimmingCharacters(in: .whitespaces).isEmpty ? s : x }
        return ContactFields(name: pick(xero.name, sortscape.name), companyName: pick(xero.companyName, sortscape.companyName),
                             email: pick(xero.email, sortscape.email), phone: pick(xero.phone, sortscape.phone))
    }
}

/// R7's two answers to a suspected match: link (write the chosen values to both sides, Xero
/// through the engine, as a `link` run) or dismiss (import the Xero contact as a new one).
/// Blocking: run on a worker thread.
public struct ContactMatches: Sendable {
    let engine: SyncEngine
    var repository: any XeroSyncRepository { engine.stores.runs }
    var records: any SortScapeRecords { engine.stores.records }

    public init(engine: SyncEngine) { self.engine = engine }

    public func review(_ match: ContactMatchRecord) throws(StoreError) -> MatchReview {
        let contact = try records.contacts.get(accountId: match.accountId, id: match.contactId)
        let sortscape = contact?.fields ?? ContactFields()
        return MatchReview(match: match, sortscape: sortscape, proposed: MatchReview.propose(xero: match.xero, sortscape: sortscape))
    }

    /// Writes `chosen` to the Xero contact (only what differs from what Xero holds, with an
    /// idempotency key derived from the match and the values), then links locally.
    public func link(accountId: String, matchId: String, chosen: ContactFields) throws -> ContactRecord {
        guard let match = try repository.match(accountId: accountId, id: matchId) else {
            throw StoreError(code: .notFound, message: "no such match")
        }
        guard match.state == .pending else {
            throw StoreError(code: .conflict, message: "this match was already \(match.state.rawValue)")
        }
        // Checked before Xero is written to: a contact linked meanwhile (by another match) can
        // take no second Xero contact, and Xero must not be changed for a link that cannot happen.
        guard let local = try records.contacts.get(accountId: accountId, id: match.contactId) else {
            throw StoreError(code: .notFound, message: "the SortScape contact of this match no longer exists")
        }
        guard local.xeroContactId == nil else {
            throw StoreError(code: .conflict, message: "this SortScape contact is already linked to another Xero contact; dismiss the match to import the Xero contact as a new one")
        }
        return try engine.perform(accountId: accountId, trigger: .link) { try $0.linkMatch(match, chosen: chosen.tidied) }
    }

    /// Imports the match's Xero contact as a new SortScape contact (with its property, R6).
    public func dismiss(accountId: String, matchId: String) throws -> ContactRecord {
        guard let match = try repository.match(accountId: accountId, id: matchId) else {
            throw StoreError(code: .notFound, message: "no such match")
        }
        guard match.state == .pending else {
            throw StoreError(code: .conflict, message: "this match was already \(match.state.rawValue)")
        }
        let xero = try Xero.Contact(json: JSON.parse(match.xeroContact))
        let (contact, property) = ImportRules.newContact(from: xero, xeroId: match.xeroContactId, fields: ContactFields(xero: xero),
                                                         accountId: accountId, newID: { UUID().uuidString.lowercased() })
        return try repository.dismiss(accountId: accountId, matchId: matchId, contact: contact, property: property)
    }
}
