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

    /// The elements of `{"Contacts": [...]}` (or one bare object), decoded.
    func elements<M: XeroModel>(_ type: M.Type) throws -> [M] {
        let json = try bodyJSON()
        var items: [JSON]
        if case .object = json, let list = json[M.collectionKey] ?? (try? JSONFields(json))?.value(M.collectionKey) {
            guard case .array(let a) = list else { throw XeroError.postDataInvalid("\(M.collectionKey) must be an array.") }
            items = a
        } else if case .object = json {
            items = [json]
        } else if case .array(let a) = json {
            items = a
        } else {
            throw XeroError.postDataInvalid("The request body must be a JSON object.")
        }
        var out: [M] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            do {
                out.append(try M(json: item))
            } catch {
                throw XeroError.postDataInvalid(
                    "JSON for post data was invalid, \(M.collectionKey)[\(n)].\(error.field) \(error.message).")
            }
        }
        return out
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

    /// Xero's batch write, shared by Contacts, Items and Invoices (PUT, POST and POST /{id}):
    /// each element is decoded, given the path's id, then `write` applies the type's own rules
    /// (finding, validating, storing, emitting) and returns what the answer shows, or throws a
    /// `Refusal`. With `summarizeErrors=false` every element comes back, refused ones as
    /// `echo` makes them; otherwise any refusal makes the answer a `ValidationException` (the
    /// accepted elements are kept all the same: Xero's batches are not transactional).
    func writeBatch<M: XeroModel>(_ type: M.Type, id: WritableKeyPath<M, String?>, pathId: String?,
                                  write: (M) throws -> M, echo: (M, [String]) -> M) throws -> Response {
        var results: [M] = []
        var failures: [M] = []
        for var input in try elements(M.self) {
            if let pathId { input[keyPath: id] = pathId }
            do {
                results.append(try write(input))
            } catch let refusal as Refusal {
                let e = echo(input, refusal.messages)
                results.append(e)
                failures.append(e)
            }
        }
        if summarizeErrors && !failures.isEmpty { throw XeroError.validation(failures.map { $0.json(options) }) }
        return envelope(results)
    }
}
