import Foundation

/// Xero's documented examples, hand-written to Xero's schema (Tests/Fixtures/xero, see its README).
enum Fixtures {
    static let directory: URL = {
        var dir = URL(fileURLWithPath: #filePath)
        for _ in 0..<2 { dir.deleteLastPathComponent() }  // Tests/XeroSimulatorTests/Fixtures.swift → Tests
        return dir.appendingPathComponent("Fixtures/xero")
    }()

    static func text(_ file: String) -> String {
        guard let data = FileManager.default.contents(atPath: directory.appendingPathComponent(file).path) else {
            fatalError("missing fixture \(file) in \(directory.path)")
        }
        return String(decoding: data, as: UTF8.self)
    }

    static var connectionsGet: String { text("connections_get.json") }
    static var contactsGetPage1: String { text("contacts_get_page1.json") }
    static var contactsPostSummarizeErrorsFalse: String { text("contacts_post_summarize_errors_false.json") }
    static var error400ValidationContacts: String { text("error_400_validation_contacts.json") }
    static var error401TokenExpired: String { text("error_401_token_expired.json") }
    static var error403Forbidden: String { text("error_403_forbidden.json") }
    static var invoicePutRequest: String { text("invoice_put_request.json") }
    static var invoicePutResponse: String { text("invoice_put_response.json") }
    static var itemsGet: String { text("items_get.json") }
    static var tokenErrorInvalidGrant: String { text("token_error_invalid_grant.json") }
    static var tokenResponse: String { text("token_response.json") }
    static var webhookCreditnoteEvent: String { text("webhook_creditnote_event.json") }
    static var webhookEvents: String { text("webhook_events.json") }
    static var webhookIntentToReceive: String { text("webhook_intent_to_receive.json") }
}
