import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import Xero
import XeroSimulator
import StrictJSON

/// Element names of a well-formed XML document, in order; nil when it does not parse.
func xmlElementNames(_ body: [UInt8]) -> [String]? {
    final class Collector: NSObject, XMLParserDelegate {
        var names: [String] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            names.append(name)
        }
    }
    let parser = XMLParser(data: Data(body))
    let collector = Collector()
    parser.delegate = collector
    return parser.parse() ? collector.names : nil
}

@Suite("xero-sim wire: Accept, routing, Idempotency-Key on POST", .serialized)
struct WireTests {
    /// An accounting call with exactly these headers (no default Accept).
    func raw(_ c: Connected, _ method: String, _ path: String, accept: String?, body: String? = nil) throws -> Harness.Reply {
        var headers = [("Authorization", "Bearer \(c.token)"), ("xero-tenant-id", c.tenant)]
        if let accept { headers.append(("Accept", accept)) }
        if body != nil { headers.append(("Content-Type", "application/json")) }
        return try c.h.send(method, "/api.xro/2.0" + path, headers: headers, body: body)
    }

    @Test("the accounting API answers XML unless Accept asks for JSON (FACTS §4.3a); identity answers JSON")
    func acceptNegotiation() throws {
        let c = try Connected()
        try c.seedContacts(#"{"Contacts":[{"Name":"Tui & Kea <Gardens>","EmailAddress":"tui@kea.example"}]}"#)

        let json = try raw(c, "GET", "/Contacts", accept: "application/json")
        #expect(json.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(contacts(json).first?["Name"]?.stringValue == "Tui & Kea <Gardens>")

        for accept in [nil, "*/*", "text/xml", "application/xml"] as [String?] {
            let xml = try raw(c, "GET", "/Contacts", accept: accept)
            #expect(xml.status == 200)
            #expect(xml.header("Content-Type") == "text/xml; charset=utf-8", "Accept \(accept ?? "none")")
            #expect((try? JSON.parse(xml.body)) == nil, "not JSON for Accept \(accept ?? "none")")
            let names = try #require(xmlElementNames(xml.body), "well-formed XML: \(xml.text)")
            #expect(names.prefix(2) == ["Response", "Id"])
            #expect(names.contains("Contacts") && names.contains("Contact") && names.contains("Address"))
            #expect(xml.text.contains("<Name>Tui &amp; Kea &lt;Gardens&gt;</Name>"))
            // Rate-limit headers ride along whatever the format.
            #expect(xml.header("X-MinLimit-Remaining") != nil)
        }
        // A JSON media type among others is enough.
        let mixed = try raw(c, "GET", "/Organisation", accept: "text/html, application/json;q=0.9")
        #expect(mixed.json["Organisations"]?.arrayValue?.count == 1)

        // Errors follow the same rule; plain-text answers stay plain text.
        let invalid = try raw(c, "PUT", "/Contacts", accept: nil, body: #"{"Contacts":[{"Name":""}]}"#)
        #expect(invalid.status == 400)
        #expect(invalid.header("Content-Type") == "text/xml; charset=utf-8")
        let errorNames = try #require(xmlElementNames(invalid.body), "\(invalid.text)")
        #expect(errorNames.first == "ApiException" && errorNames.contains("ValidationError"))
        let missing = try raw(c, "GET", "/Contacts/\(UUID().uuidString)", accept: nil)
        #expect(missing.status == 404 && missing.text == "The resource you're looking for cannot be found")
        let unauthorized = try c.h.send("GET", "/api.xro/2.0/Contacts", headers: [("xero-tenant-id", c.tenant)])
        #expect(unauthorized.status == 401)
        #expect((try? JSON.parse(unauthorized.body)) == nil)

        // Dates come as ISO in XML, as MS dates in JSON.
        let item = try raw(c, "PUT", "/Items", accept: nil, body: #"{"Items":[{"Code":"XML-1"}]}"#)
        #expect(item.text.contains("<UpdatedDateUTC>20"), "\(item.text)")
        #expect(!item.text.contains("/Date("))

        // Identity answers JSON without being asked (as Xero's does).
        let connections = try c.h.send("GET", "/connections", headers: [("Authorization", "Bearer \(c.token)")])
        #expect(connections.header("Content-Type")?.hasPrefix("application/json") == true)
        #expect(connections.json.arrayValue?.count == 1)
        let token = try c.h.tokenRequest("grant_type=refresh_token&refresh_token=nope")
        #expect(token.status == 400 && token.json["error"]?.stringValue == "invalid_grant")
    }

    @Test("one router: Xero's paths ignore case; plain-text 404, /sim JSON 404 and Xero's 405 text")
    func routing() throws {
        let c = try Connected()
        let upper = try c.h.api("GET", "/CONTACTS", token: c.token, tenant: c.tenant)
        #expect(upper.status == 200)
        let lower = try c.h.send("GET", "/API.XRO/2.0/organisation",
                                 headers: [("Authorization", "Bearer \(c.token)"), ("xero-tenant-id", c.tenant),
                                           ("Accept", "application/json")])
        #expect(lower.status == 200 && lower.json["Organisations"] != nil)

        let unknown = try c.h.send("GET", "/api.xro/2.0/Nope")
        #expect(unknown.status == 404 && unknown.text == "The resource you're looking for cannot be found")
        #expect(unknown.header("Content-Type")?.hasPrefix("text/plain") == true)

        let control = try c.h.send("GET", "/sim/nope")
        #expect(control.status == 404)
        #expect(control.json["error"]?.stringValue == "no such control endpoint: GET /sim/nope")

        let wrong = try c.h.send("PATCH", "/api.xro/2.0/Contacts")
        #expect(wrong.status == 405)
        #expect(wrong.text == "The requested resource does not support http method 'PATCH'.")
        #expect(wrong.header("Allow") == "GET, PUT, POST")
        let wrongItem = try c.h.send("PUT", "/api.xro/2.0/items/\(UUID().uuidString)")
        #expect(wrongItem.status == 405 && wrongItem.header("Allow") == "GET, POST, DELETE")
    }

    @Test("Idempotency-Key on POST /Invoices, /Contacts and /Items: replayed within 6 minutes, no second record")
    func idempotentPost() throws {
        let c = try Connected()
        let contact = try #require(c.seedContacts(#"{"Contacts":[{"Name":"Kauri Court Body Corporate"}]}"#).first)
        let invoice = #"{"Invoices":[{"Type":"ACCREC","Contact":{"ContactID":"\#(contact)"},"Status":"AUTHORISED","LineItems":[{"Description":"Visit 7: lawns","Quantity":1,"UnitAmount":95,"AccountCode":"200"}]}]}"#
        let first = try c.api("POST", "/Invoices", invoice, headers: [("Idempotency-Key", "post-visit-7")])
        #expect(first.status == 200)
        let id = try #require(invoices(first).first?["InvoiceID"]?.stringValue)
        let retry = try c.api("POST", "/Invoices", invoice, headers: [("Idempotency-Key", "post-visit-7")])
        #expect(retry.status == 200)
        #expect(retry.body == first.body)
        #expect(invoices(try c.api("GET", "/Invoices")).map { $0["InvoiceID"]?.stringValue } == [id])
        let reused = try c.api("POST", "/Invoices", invoice.replacingOccurrences(of: "95", with: "96"),
                               headers: [("Idempotency-Key", "post-visit-7")])
        #expect(reused.status == 400)
        #expect(invoices(try c.api("GET", "/Invoices")).count == 1)
        // The key is scoped to the method and path: a PUT with it is another request.
        #expect(try c.api("PUT", "/Invoices", invoice, headers: [("Idempotency-Key", "post-visit-7")]).status == 400)

        let newContact = #"{"Contacts":[{"Name":"Pohutukawa Motor Lodge"}]}"#
        let c1 = try c.api("POST", "/Contacts", newContact, headers: [("Idempotency-Key", "post-contact")])
        let c2 = try c.api("POST", "/Contacts", newContact, headers: [("Idempotency-Key", "post-contact")])
        #expect(c1.status == 200 && c2.body == c1.body)
        let named = try c.api("GET", "/Contacts?where=" + FormEncode.encode(#"Name=="Pohutukawa Motor Lodge""#))
        #expect(contacts(named).count == 1)

        let item = #"{"Items":[{"Code":"POST-IDEM","Name":"Mulch"}]}"#
        let i1 = try c.api("POST", "/Items", item, headers: [("Idempotency-Key", "post-item")])
        let i2 = try c.api("POST", "/Items", item, headers: [("Idempotency-Key", "post-item")])
        #expect(i1.status == 200 && i2.body == i1.body)
        #expect(items(try c.api("GET", "/Items")).count == 1)

        // Errors are remembered too (retry with a new key after checking).
        let bad = #"{"Items":[{"Name":"No code"}]}"#
        let e1 = try c.api("POST", "/Items", bad, headers: [("Idempotency-Key", "post-bad")])
        #expect(e1.status == 400)
        #expect(try c.api("POST", "/Items", bad, headers: [("Idempotency-Key", "post-bad")]).body == e1.body)

        // After 6 minutes the key is forgotten: the same POST creates a second invoice.
        try c.h.advanceClock(6 * 60 + 1)
        let later = try c.api("POST", "/Invoices", invoice, headers: [("Idempotency-Key", "post-visit-7")])
        #expect(invoices(later).first?["InvoiceID"]?.stringValue != id)
        #expect(invoices(try c.api("GET", "/Invoices")).count == 2)
    }
}

@Suite("xero-sim request bodies")
struct BodyTests {
    @Test("bad bodies get PostDataInvalidException naming the element and field; nothing is created")
    func postDataInvalid() throws {
        let c = try Connected()
        let notJSON = try c.api("PUT", "/Contacts", "{oops")
        #expect(notJSON.status == 400)
        #expect(notJSON.json["Type"]?.stringValue == "PostDataInvalidException")
        #expect(notJSON.json["Message"]?.stringValue?.hasPrefix("JSON for post data was invalid") == true)
        let badField = try c.api("PUT", "/Contacts", #"{"Contacts":[{"Name":"Fine"},{"Name":"Odd","Addresses":"none"}]}"#)
        #expect(badField.status == 400)
        #expect(badField.json["Message"]?.stringValue?.contains("Contacts[1].Addresses") == true, "\(badField.text)")
        let notArray = try c.api("PUT", "/Items", #"{"Items":{"Code":"X"}}"#)
        #expect(notArray.status == 400 && notArray.json["Type"]?.stringValue == "PostDataInvalidException")
        let empty = try c.api("PUT", "/Invoices", "")
        #expect(empty.json["Message"]?.stringValue == "The request body is empty.")
        // A bare object and a bare array are one batch too.
        #expect(contacts(try c.api("PUT", "/Contacts", #"{"Name":"Bare Object Ltd"}"#)).count == 1)
        #expect(contacts(try c.api("PUT", "/Contacts", #"[{"Name":"Bare Array Ltd"},{"Name":"Bare Array Two"}]"#)).count == 2)
        #expect(contacts(try c.api("GET", "/Contacts")).count == 3)
    }
}

@Suite("xero-sim XML")
struct XMLTests {
    @Test("control characters Xero's JSON can carry are left out of the XML, which stays well-formed")
    func controlCharacters() throws {
        let c = try Connected()
        try c.seedContacts(#"{"Contacts":[{"Name":"Bell\u0007 Tower Ltd","FirstName":"Tab\tand\nline"}]}"#)
        let r = try c.h.send("GET", "/api.xro/2.0/Contacts",
                             headers: [("Authorization", "Bearer \(c.token)"), ("xero-tenant-id", c.tenant), ("Accept", "text/xml")])
        #expect(xmlElementNames(r.body) != nil, "\(r.text)")
        #expect(r.text.contains("<Name>Bell Tower Ltd</Name>"))
    }
}
