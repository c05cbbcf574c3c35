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

    /// The proposal: SortScape's value where it has one, else Xero's.
    public static func propose(xero: ContactFields, sortscape: ContactFields) -> ContactFields {
        func pick(_ s: String, _ x: String) -> String { s.trimmingCharacters(in: .whitespaces).isEmpty ? x : s }
        return ContactFields(name: pick(sortscape.name, xero.name), companyName: pick(sortscape.companyName, xero.companyName),
                             email: pick(sortscape.email, xero.email), phone: pick(sortscape.phone, xero.phone))
    }
}

/// R7's two answers to a suspected match: link (write the chosen values to both sides, Xero
/// through one API call) or dismiss (import the Xero contact as a new one). Blocking: run on a
/// worker thread.
public struct ContactMatches: Sendable {
    let repository: any XeroSyncRepository
    let records: any SortScapeRecords
    let connector: any XeroConnector

    public init(repository: any XeroSyncRepository, records: any SortScapeRecords, connector: any XeroConnector) {
        self.repository = repository
        self.records = records
        self.connector = connector
    }

    public func review(_ match: ContactMatchRecord) throws -> MatchReview {
        let contact = try records.contacts.get(accountId: match.accountId, id: match.contactId)
        let sortscape = contact?.fields ?? ContactFields()
        return MatchReview(match: match, sortscape: sortscape, proposed: MatchReview.propose(xero: match.xero, sortscape: sortscape))
    }

    /// Writes `chosen` to the Xero contact (one call, with an idempotency key derived from the
    /// match and the values, so a retried click cannot write twice), then links locally.
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
        guard let (client, tenantId) = try connector.accounting(for: accountId, observer: { _ in }) else {
            throw SyncError.notConnected
        }
        var contact = Xero.Contact(contactID: match.xeroContactId)
        chosen.apply(to: &contact)
        let key = "link-" + match.id + "-" + Base64.encodeURL(Crypto.sha256(Array(
            [chosen.name, chosen.companyName, chosen.email, chosen.phone].joined(separator: "\u{1f}").utf8)).prefix(12))
        let saved = try client.saveContacts(tenantId: tenantId, [contact], idempotencyKey: key)
        if let refused = saved.first(where: { !($0.validationErrors ?? []).isEmpty }) {
            throw SyncError(message: "Xero refused the values: " + (refused.validationErrors ?? []).map(\.message).joined(separator: "; "))
        }
        return try repository.link(accountId: accountId, matchId: matchId, fields: chosen)
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
