import HTTPServer
import Store
import StrictJSON
import Sync

/// `/api/v1/visits`: list, get, create, patch and archive like the other records, plus
/// `POST …/{id}/complete` (admins and staff) and `POST …/{id}/invoice` (admins, R15); and the
/// account's invoice settings, `GET`/`PATCH /api/v1/xero/invoice-settings` (admins).
extension Gateway {
    static let visitRoutes: [Route] = [
        ("GET", "/api/v1/visits", { .respond(try $0.listRecords(VisitRecord.self, $1)) }),
        ("POST", "/api/v1/visits", { .respond(try $0.createRecord(VisitRecord.self, $1)) }),
        ("GET", "/api/v1/visits/{id}", { .respond(try $0.getRecord(VisitRecord.self, $1)) }),
        ("PATCH", "/api/v1/visits/{id}", { .respond(try $0.patchRecord(VisitRecord.self, $1)) }),
        ("POST", "/api/v1/visits/{id}/archive", { .respond(try $0.archiveRecord(VisitRecord.self, $1)) }),
        ("POST", "/api/v1/visits/{id}/complete", { .respond(try $0.completeVisit($1)) }),
        ("POST", "/api/v1/visits/{id}/invoice", { try $0.invoiceVisit($1) }),
        ("GET", "/api/v1/xero/invoice-settings", { .respond(try $0.invoiceSettings($1)) }),
        ("PATCH", "/api/v1/xero/invoice-settings", { .respond(try $0.patchInvoiceSettings($1)) }),
    ]

    /// `POST /api/v1/visits/{id}/complete` → 200 with the completed visit (`completedAt` now).
    /// Completing a completed visit changes nothing; an archived one is 409 `archived`.
    func completeVisit(_ request: Request) throws(HTTPError) -> Response {
        let accountId = try recordsAccount(request)
        let visit = try existing(VisitRecord.self, accountId: accountId, request)
        let expected = try IfMatch.parse(request)?.expectedVersion(current: visit.version)
        guard !visit.archived else { throw HTTPError.visitArchived }
        guard visit.status != .completed else { return try rendered(visit, 200) }
        let now = clock.timestamp()
        let stored = try store { () throws(StoreError) in
            try records.visits.modify(accountId: accountId, id: visit.id, expectedVersion: expected) { v throws(StoreError) in
                guard !v.archived else { throw StoreError(code: .conflict, message: "the visit was archived") }
                guard v.status != .completed else { return }
                v.status = .completed
                v.completedAt = now
            }
        }
        return try rendered(stored, 200)
    }

    /// `POST /api/v1/visits/{id}/invoice` (R15): the visit's one Xero invoice, made through the
    /// sync engine (an `invoice` run: the contact and items first where needed); 200 with the
    /// visit holding it. A visit invoiced already answers at once, unchanged. The Xero calls run
    /// on a worker thread; the request waits for them.
    func invoiceVisit(_ request: Request) throws -> HandlerResult {
        let accountId = try adminAccount(request)
        let visit = try existing(VisitRecord.self, accountId: accountId, request)
        if visit.invoiced { return .respond(try rendered(visit, 200)) }
        guard !visit.archived else { throw HTTPError.visitArchived }
        guard visit.status == .completed else {
            throw HTTPError(409, code: "not_completed", message: "This visit is not completed; complete it, then create the invoice.")
        }
        guard !visit.lines.isEmpty else {
            throw HTTPError(422, code: "no_lines", message: "This visit has no lines; add the materials used and the labour, then create the invoice.")
        }
        guard try currentConnection(accountId).state == .connected else {
            throw HTTPError(409, code: "not_connected", message: SyncError.notConnected.message)
        }
        let engine = syncEngine, workers = interactiveWorkers, logger = self.logger, gateway = self
        return .deferred { responder in
            workers.submit {
                do {
                    let invoiced = try engine.invoiceVisit(accountId: accountId, visitId: visit.id)
                    responder.respond(try gateway.rendered(invoiced, 200))
                } catch {
                    responder.respond(Gateway.answer(for: error, logger: logger))
                }
            }
        }
    }

    /// `GET /api/v1/xero/invoice-settings` → `{invoiceStatus, labourAccountCode}`.
    func invoiceSettings(_ request: Request) throws(HTTPError) -> Response {
        let accountId = try adminAccount(request)
        return .json(200, try store { () throws(StoreError) in try records.visitInvoices.invoiceSettings(accountId: accountId) }.json)
    }

    /// `PATCH /api/v1/xero/invoice-settings`: `invoiceStatus` (`DRAFT` or `AUTHORISED`: the
    /// status new invoices get) and `labourAccountCode` (the Xero sales account of labour
    /// lines, or null for none).
    func patchInvoiceSettings(_ request: Request) throws(HTTPError) -> Response {
        let accountId = try adminAccount(request)
        var settings = try store { () throws(StoreError) in try records.visitInvoices.invoiceSettings(accountId: accountId) }
        var body = try RecordBody(request)
        if let s = try body.choice("invoiceStatus", InvoiceStatusSetting.self) { settings.invoiceStatus = s }
        if let code = body.value("labourAccountCode") {
            switch code {
            case .null: settings.labourAccountCode = nil
            case .string:
                let c = try body.string("labourAccountCode", max: 10, nonEmpty: true) ?? ""
                guard c.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == ".") }) else {
                    throw RecordBody.invalid("labourAccountCode", "must be a Xero account code (letters, digits, - and .)")
                }
                settings.labourAccountCode = c
            default: throw RecordBody.invalid("labourAccountCode", "must be a string or null")
            }
        }
        try body.rejectOthers(readOnly: [])
        let stored = settings
        return .json(200, try store { () throws(StoreError) in
            try records.visitInvoices.setInvoiceSettings(accountId: accountId, stored)
        }.json)
    }
}

extension InvoiceSettings {
    var json: JSON {
        .object([("invoiceStatus", .string(invoiceStatus.rawValue)), ("labourAccountCode", labourAccountCode.map(JSON.string) ?? .null)])
    }
}

extension HTTPError {
    static let visitArchived = HTTPError(409, code: "archived", message: "This visit is archived; archived visits are not completed or invoiced.")
}
