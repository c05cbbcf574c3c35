import Foundation
import Gateway
import Store
import StrictJSON
import Testing

/// `/api/v1/visits` (DESIGN §3 `visit`), `…/complete`, the checks before `…/invoice` (R15) and
/// the invoice settings. Invoicing against Xero itself is in EndToEndTests.
@Suite struct VisitsAPITests {
    /// A contact with a property, and a material; their ids.
    func family(_ c: RecordsClient) throws -> (contact: String, property: String, material: String) {
        let contact = try c.create("contacts", #"{"name":"Jo Bloggs","companyName":"Matai Builders"}"#)
        let property = try c.create("properties", #"{"contactId":"\#(contact)","addressLine1":"1 Matai Rd"}"#)
        let material = try c.create("materials", #"{"name":"Pea Straw","unitPrice":9.5}"#)
        return (contact, property, material)
    }

    func raw(_ json: JSON?) -> String? { json.flatMap { if case .number(_, let raw) = $0 { return raw } else { return nil } } }

    @Test func visitsAreCreatedReadPatchedCompletedAndArchivedWithExactLines() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let f = try family(c)
        let created = try c.call("POST", "/api/v1/visits", #"""
            {"contactId":"\#(f.contact)","propertyId":"\#(f.property)","lines":[
              {"materialId":"\#(f.material)","quantity":2.5},
              {"kind":"labour","description":"Mulching","quantity":1.0001,"unitPrice":12.3456},
              {"materialId":"\#(f.material)","description":"Straw, premium","quantity":1,"unitPrice":0.0001}]}
            """#)
        #expect(created.status == 201, "\(created.json.serialized)")
        let id = try #require(created.json["id"]?.stringValue)
        #expect(Set(created.json.objectKeys) == ["id", "contactId", "propertyId", "status", "completedAt", "lines", "xeroInvoiceId",
                                                  "xeroInvoiceNumber", "xeroInvoiceStatus", "archived", "updatedAt", "version"])
        #expect(created.json["status"]?.stringValue == "scheduled" && created.json["completedAt"]?.isNull == true)
        #expect(created.json["xeroInvoiceId"]?.isNull == true && created.json["version"]?.intValue == 1)
        let lines = try #require(created.json["lines"]?.arrayValue)
        try #require(lines.count == 3)
        // A material line takes the material's name and price unless given; amounts exact.
        #expect(lines[0]["kind"]?.stringValue == "material" && lines[0]["description"]?.stringValue == "Pea Straw")
        #expect(raw(lines[0]["quantity"]) == "2.5" && raw(lines[0]["unitPrice"]) == "9.5")
        #expect(lines[1]["kind"]?.stringValue == "labour" && lines[1]["materialId"]?.isNull == true)
        #expect(raw(lines[1]["quantity"]) == "1.0001" && raw(lines[1]["unitPrice"]) == "12.3456")
        #expect(lines[2]["description"]?.stringValue == "Straw, premium" && raw(lines[2]["unitPrice"]) == "0.0001")
        #expect(try c.call("GET", "/api/v1/visits/\(id)").json == created.json)
        #expect(try c.all("visits").count == 1)

        // A patch replaces the lines; null takes the property away.
        let patched = try c.call("PATCH", "/api/v1/visits/\(id)", #"{"propertyId":null,"lines":[{"description":"Weeding","quantity":3,"unitPrice":45}]}"#)
        #expect(patched.status == 200, "\(patched.json.serialized)")
        #expect(patched.json["propertyId"]?.isNull == true && patched.json["lines"]?.arrayValue?.count == 1 && patched.json["version"]?.intValue == 2)

        // Completing (staff may), once; a stale If-Match is 412.
        let staff = try t.gateway.accounts.createUser(accountId: c.accountId, role: .staff).token
        #expect(try t.request("POST", "/api/v1/visits/\(id)/complete", headers: [("Authorization", "Bearer \(staff)"), ("If-Match", "\"1\"")]).status == 412)
        let done = try c.call("POST", "/api/v1/visits/\(id)/complete", token: staff)
        #expect(done.status == 200 && done.json["status"]?.stringValue == "completed" && done.json["completedAt"]?.stringValue?.hasSuffix("Z") == true)
        let again = try c.call("POST", "/api/v1/visits/\(id)/complete")
        #expect(again.json["completedAt"] == done.json["completedAt"] && again.json["version"] == done.json["version"])

        // Archived: kept readable, neither completed nor invoiced.
        let second = try c.create("visits", #"{"contactId":"\#(f.contact)"}"#)
        #expect(try c.call("POST", "/api/v1/visits/\(second)/archive").json["archived"]?.boolValue == true)
        let archived = try c.call("POST", "/api/v1/visits/\(second)/complete")
        #expect(archived.status == 409 && errorCode(archived.json) == "archived")
        #expect(try c.all("visits", query: "archived=false").map { $0["id"]?.stringValue } == [id])
        // Another account sees nothing of them.
        let other = try RecordsClient(t, name: "Other")
        #expect(try other.call("GET", "/api/v1/visits/\(id)").status == 404)
        #expect(try other.call("POST", "/api/v1/visits/\(id)/complete").status == 404)
        #expect(try other.call("POST", "/api/v1/visits", #"{"contactId":"\#(f.contact)"}"#).status == 422)
    }

    @Test func aBadVisitIs422NamingTheFieldAndChangesNothing() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let f = try family(c)
        let elsewhere = try c.create("contacts", #"{"name":"Ann"}"#)
        let cases: [(String, String)] = [
            (#"{}"#, "contactId: is required"),
            (#"{"contactId":"nope"}"#, "contactId: no contact"),
            (#"{"contactId":"\#(elsewhere)","propertyId":"\#(f.property)"}"#, "propertyId: is not a property of the visit's contact"),
            (#"{"contactId":"\#(f.contact)","propertyId":7}"#, "propertyId: must be a string or null"),
            (#"{"contactId":"\#(f.contact)","lines":{}}"#, "lines: must be an array"),
            (#"{"contactId":"\#(f.contact)","lines":[3]}"#, "lines[0]: must be an object"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":1.00001,"unitPrice":1}]}"#, "lines[0].quantity:"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":0,"unitPrice":1}]}"#, "lines[0].quantity: must be more than 0"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":1000000,"unitPrice":1}]}"#, "lines[0].quantity:"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":-1,"unitPrice":1}]}"#, "lines[0].quantity:"),
            (#"{"contactId":"\#(f.contact)","lines":[{"quantity":1,"unitPrice":1}]}"#, "lines[0].description: is required on a labour line"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":1}]}"#, "lines[0].unitPrice: is required on a labour line"),
            (#"{"contactId":"\#(f.contact)","lines":[{"description":"x","quantity":1,"unitPrice":-2}]}"#, "lines[0].unitPrice: must not be negative"),
            (#"{"contactId":"\#(f.contact)","lines":[{"materialId":"nope","quantity":1}]}"#, "lines[0].materialId: no material"),
            (#"{"contactId":"\#(f.contact)","lines":[{"kind":"material","quantity":1}]}"#, "lines[0].materialId: is required on a material line"),
            (#"{"contactId":"\#(f.contact)","lines":[{"kind":"labour","materialId":"\#(f.material)","quantity":1}]}"#, "lines[0].materialId: a labour line"),
            (#"{"contactId":"\#(f.contact)","lines":[{"kind":"travel","quantity":1}]}"#, "lines[0].kind: must be one of material, labour"),
            (#"{"contactId":"\#(f.contact)","lines":[{"materialId":"\#(f.material)","quantity":1,"colour":"red"}]}"#, "lines[0].colour: is not a known field"),
            (#"{"contactId":"\#(f.contact)","status":"completed"}"#, "status: is read-only"),
            (#"{"contactId":"\#(f.contact)","xeroInvoiceId":"x"}"#, "xeroInvoiceId: is read-only"),
        ]
        for (body, message) in cases {
            let r = try c.call("POST", "/api/v1/visits", body)
            #expect(r.status == 422 && errorCode(r.json) == "invalid_field" && errorMessage(r.json).hasPrefix(message),
                    "\(body): \(r.status) \(r.json.serialized)")
        }
        let many = (0...100).map { _ in #"{"description":"x","quantity":1,"unitPrice":1}"# }.joined(separator: ",")
        let tooMany = try c.call("POST", "/api/v1/visits", #"{"contactId":"\#(f.contact)","lines":[\#(many)]}"#)
        #expect(tooMany.status == 422 && errorMessage(tooMany.json) == "lines: must have at most 100 lines")
        #expect(try c.all("visits").isEmpty)
        // A patch is checked the same way against the stored visit.
        let id = try c.create("visits", #"{"contactId":"\#(f.contact)","propertyId":"\#(f.property)"}"#)
        let moved = try c.call("PATCH", "/api/v1/visits/\(id)", #"{"contactId":"\#(elsewhere)"}"#)
        #expect(moved.status == 422 && errorMessage(moved.json).hasPrefix("propertyId: is not a property of the visit's contact"))
        #expect(try c.call("GET", "/api/v1/visits/\(id)").json["version"]?.intValue == 1)
    }

    @Test func r15_invoicingNeedsAnAdminACompletedVisitWithLinesAndAConnectionAndAnInvoicedVisitIsChangedInXero() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let f = try family(c)
        let staff = try t.gateway.accounts.createUser(accountId: c.accountId, role: .staff).token
        let id = try c.create("visits", #"{"contactId":"\#(f.contact)","lines":[{"materialId":"\#(f.material)","quantity":1}]}"#)
        #expect(try c.call("POST", "/api/v1/visits/\(id)/invoice", token: staff).status == 403)
        let scheduled = try c.call("POST", "/api/v1/visits/\(id)/invoice")
        #expect(scheduled.status == 409 && errorCode(scheduled.json) == "not_completed")
        let empty = try c.create("visits", #"{"contactId":"\#(f.contact)"}"#)
        #expect(try c.call("POST", "/api/v1/visits/\(empty)/complete").status == 200)
        let noLines = try c.call("POST", "/api/v1/visits/\(empty)/invoice")
        #expect(noLines.status == 422 && errorCode(noLines.json) == "no_lines")
        #expect(try c.call("POST", "/api/v1/visits/\(id)/complete").status == 200)
        let unconnected = try c.call("POST", "/api/v1/visits/\(id)/invoice")
        #expect(unconnected.status == 409 && errorCode(unconnected.json) == "not_connected")
        #expect(try c.call("POST", "/api/v1/visits/nope/invoice").status == 404)
        #expect(try RecordsClient(t, name: "Other").call("POST", "/api/v1/visits/\(id)/invoice").status == 404)

        // Invoiced (by the engine): a patch is 409 saying where to change it; invoicing again
        // answers with the visit as it is and never reaches Xero (this account is not even connected).
        try t.gateway.records.visitInvoices.linkInvoice(accountId: c.accountId, visitId: id,
                                                        VisitInvoice(invoiceId: "inv-1", number: "INV-0042", status: "DRAFT"))
        let patch = try c.call("PATCH", "/api/v1/visits/\(id)", #"{"lines":[]}"#)
        #expect(patch.status == 409 && errorCode(patch.json) == "invoiced" && errorMessage(patch.json).contains("INV-0042"))
        let again = try c.call("POST", "/api/v1/visits/\(id)/invoice")
        #expect(again.status == 200 && again.json["xeroInvoiceNumber"]?.stringValue == "INV-0042" && again.json["xeroInvoiceId"]?.stringValue == "inv-1")
        #expect(try c.call("POST", "/api/v1/visits/\(id)/archive").status == 200, "archiving stays local")
    }

    @Test func invoiceSettingsAreTheAdminsToReadAndChange() throws {
        let t = try TestGateway()
        let c = try RecordsClient(t)
        let staff = try t.gateway.accounts.createUser(accountId: c.accountId, role: .staff).token
        let read = try c.call("GET", "/api/v1/xero/invoice-settings")
        #expect(read.status == 200 && read.json.serialized == #"{"invoiceStatus":"DRAFT","labourAccountCode":null}"#)
        #expect(try c.call("GET", "/api/v1/xero/invoice-settings", token: staff).status == 403)
        #expect(try c.call("PATCH", "/api/v1/xero/invoice-settings", #"{"invoiceStatus":"AUTHORISED"}"#, token: staff).status == 403)
        let set = try c.call("PATCH", "/api/v1/xero/invoice-settings", #"{"invoiceStatus":"AUTHORISED","labourAccountCode":"200"}"#)
        #expect(set.status == 200 && set.json.serialized == #"{"invoiceStatus":"AUTHORISED","labourAccountCode":"200"}"#)
        #expect(try t.gateway.records.visitInvoices.invoiceSettings(accountId: c.accountId) == InvoiceSettings(invoiceStatus: .authorised, labourAccountCode: "200"))
        let cleared = try c.call("PATCH", "/api/v1/xero/invoice-settings", #"{"labourAccountCode":null}"#)
        #expect(cleared.json.serialized == #"{"invoiceStatus":"AUTHORISED","labourAccountCode":null}"#)
        for (body, message) in [(#"{"invoiceStatus":"PAID"}"#, "invoiceStatus: must be one of DRAFT, AUTHORISED"),
                                (#"{"labourAccountCode":"two hundred"}"#, "labourAccountCode: must be at most 10 characters"),
                                (#"{"labourAccountCode":"2 0"}"#, "labourAccountCode: must be a Xero account code"),
                                (#"{"labourAccountCode":5}"#, "labourAccountCode: must be a string or null"),
                                (#"{"colour":"red"}"#, "colour: is not a known field")] {
            let r = try c.call("PATCH", "/api/v1/xero/invoice-settings", body)
            #expect(r.status == 422 && errorMessage(r.json).hasPrefix(message), "\(body): \(r.json.serialized)")
        }
        #expect(try c.call("GET", "/api/v1/xero/invoice-settings").json["invoiceStatus"]?.stringValue == "AUTHORISED")
    }
}
