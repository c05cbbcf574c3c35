import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// One accounting call being handled, under the world lock.
final class CallContext {
    let sim: Simulator
    let request: Request
    let world: World
    let org: Organisation
    let now: Int64
    let options: XeroEncodingOptions
    var events: [SimEvent] = []

    init(sim: Simulator, request: Request, world: World, org: Organisation, now: Int64) {
        self.sim = sim
        self.request = request
        self.world = world
        self.org = org
        self.now = now
        options = XeroEncodingOptions(unitDecimalPlaces: Int(queryValue(request, "unitdp") ?? "") ?? 2)
    }

    func query(_ name: String) -> String? { queryValue(request, name) }

    /// A `{name}` segment of the matched route.
    func param(_ name: String) -> String { request.pathParameter(name) ?? "" }

    /// `summarizeErrors` (default true).
    var summarizeErrors: Bool { parseBool(query("summarizeErrors")) ?? true }

    func envelope<M: XeroModel>(_ elements: [M], pagination: Pagination? = nil) -> Response {
        let env = ResponseEnvelope(id: Ids.uuid(), providerName: sim.configuration.appName, dateTimeUTC: now,
                                   pagination: pagination, elements: elements)
        return Reply.xeroJSON(200, env.json(options))
    }

    func emit(_ category: String, _ type: String, _ resourceId: String) {
        events.append(SimEvent(tenantId: org.tenantId, category: category, type: type, resourceId: resourceId, at: now))
    }

    /// The JSON body; a Xero `PostDataInvalidException` when there is none or it is not JSON.
    func bodyJSON() throws -> JSON {
        guard !request.body.isEmpty else { throw XeroError.postDataInvalid("The request body is empty.") }
        do {
            return try JSON.parse(request.body)
        } catch {
            throw XeroError.postDataInvalid("JSON for post data was invalid, \(error.message) at position \(error.offset).")
        }
    }

    /// The elements of `{"Contacts": [...]}` (or one bare object, or a bare array), decoded.
    func elements<M: XeroModel>(_ type: M.Type) throws -> [M] {
        let json = try bodyJSON()
        let list: JSON
        switch json {
        case .object: list = json[M.collectionKey] ?? (try? JSONFields(json))?.value(M.collectionKey) ?? .array([json])
        case .array: list = json
        default: throw XeroError.postDataInvalid("The request body must be a JSON object.")
        }
        do {
            return try JSONFields(.object([(M.collectionKey, list)])).models(M.collectionKey, as: M.self) ?? []
        } catch {
            throw XeroError.postDataInvalid("JSON for post data was invalid, \(error.field) \(error.message).")
        }
    }

    /// The `If-Modified-Since` header as ms, cut to the second as Xero compares it; nil when
    /// absent; a `PostDataInvalidException` when it is not a date.
    func ifModifiedSince() throws -> Int64? {
        guard let ims = request.headers["If-Modified-Since"], !ims.isEmpty else { return nil }
        guard let ms = XeroModelDate.parseAny(ims) else {
            throw XeroError.postDataInvalid("The If-Modified-Since header is not a valid date: \(ims)")
        }
        return ms / 1000 * 1000
    }

    /// The record `POST /{Resource}/{id}` names; Xero's 404 when there is none.
    func pathRecord<M: StoredElement>(_ type: M.Type) throws -> M {
        guard let found = M.find(path: param("id"), in: org) else { throw XeroError.notFound() }
        return found
    }

    /// Xero's batch write, shared by Contacts, Items and Invoices (PUT, POST and POST /{id}):
    /// each element is decoded and given the path's id; an element naming an id updates that
    /// record (a `Refusal` when there is none), on POST one matching its other key does too;
    /// then `write` applies the type's own rules (validating, storing, emitting) and returns
    /// what the answer shows, or throws a `Refusal`. With `summarizeErrors=false` every element
    /// comes back, refused ones echoed; otherwise any refusal makes the answer a
    /// `ValidationException` (accepted elements are kept all the same: Xero's batches are not
    /// transactional).
    func writeBatch<M: StoredElement>(_ type: M.Type, put: Bool, pathId: String?,
                                      write: (_ input: M, _ existing: M?) throws -> M) throws -> Response {
        let summarize = summarizeErrors
        var results: [M] = []
        var failures: [M] = []
        for var input in try elements(M.self) {
            if let pathId { input[keyPath: M.idKey] = pathId }
            do {
                var existing: M?
                if let id = input[keyPath: M.idKey], !id.isEmpty, id != Ids.zero {
                    guard let found = M.find(id, in: org) else { throw Refusal(M.missing(id)) }
                    existing = found
                } else if !put {
                    existing = M.match(input, in: org)
                }
                results.append(try write(input, existing))
            } catch let refusal as Refusal {
                let e = M.echo(input, refusal.messages, summarize: summarize)
                results.append(e)
                failures.append(e)
            }
        }
        if summarize && !failures.isEmpty { throw XeroError.validation(failures.map { $0.json(options) }) }
        return envelope(results)
    }
}

/// What the batch writer needs to know of a Xero record type; the rules stay with the type.
protocol StoredElement: XeroModel {
    /// `ContactID`, `ItemID`, `InvoiceID`.
    static var idKey: WritableKeyPath<Self, String?> { get }
    static func find(_ id: String, in org: Organisation) -> Self?
    /// The record a path segment names (by id, and for some types by another key).
    static func find(path: String, in org: Organisation) -> Self?
    /// Xero's message for an id it does not know.
    static func missing(_ id: String) -> String
    /// The record a POST element without an id updates (by `ContactNumber`, `Code`, `InvoiceNumber`).
    static func match(_ input: Self, in org: Organisation) -> Self?
    /// What Xero sends back for an element it refused.
    static func echo(_ input: Self, _ messages: [String], summarize: Bool) -> Self
}

extension StoredElement {
    static func find(path: String, in org: Organisation) -> Self? { find(path, in: org) }
}
