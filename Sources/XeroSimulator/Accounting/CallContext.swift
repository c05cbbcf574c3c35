import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

/// One accounting call being handled, under the world lock.
final class CallContext {
    let sim: Simulator
    let request: Request
    let params: [String: String]
    let world: World
    let org: Organisation
    let now: Int64
    let options: XeroEncodingOptions
    var events: [SimEvent] = []

    init(sim: Simulator, request: Request, params: [String: String], world: World, org: Organisation, now: Int64) {
        self.sim = sim
        self.request = request
        self.params = params
        self.world = world
        self.org = org
        self.now = now
        options = XeroEncodingOptions(unitDecimalPlaces: Int(queryValue(request, "unitdp") ?? "") ?? 2)
    }

    func query(_ name: String) -> String? { queryValue(request, name) }

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

    /// The JSON body, or a Xero `PostDataInvalidException` answer.
    func bodyJSON() -> Outcome<JSON, ResponseError> {
        guard !request.body.isEmpty else {
            return .failure(ResponseError(Errors.postDataInvalid("The request body is empty.")))
        }
        do {
            return .success(try JSON.parse(request.body))
        } catch {
            return .failure(ResponseError(Errors.postDataInvalid("JSON for post data was invalid, \(error.message) at position \(error.offset).")))
        }
    }

    /// The elements of `{"Contacts": [...]}` (or one bare object), decoded.
    func elements<M: XeroModel>(_ type: M.Type) -> Outcome<[M], ResponseError> {
        let json: JSON
        switch bodyJSON() {
        case .failure(let e): return .failure(e)
        case .success(let j): json = j
        }
        var items: [JSON]
        if case .object = json, let list = json[M.collectionKey] ?? (try? JSONFields(json))?.value(M.collectionKey) {
            guard case .array(let a) = list else {
                return .failure(ResponseError(Errors.postDataInvalid("\(M.collectionKey) must be an array.")))
            }
            items = a
        } else if case .object = json {
            items = [json]
        } else if case .array(let a) = json {
            items = a
        } else {
            return .failure(ResponseError(Errors.postDataInvalid("The request body must be a JSON object.")))
        }
        var out: [M] = []
        out.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            do {
                out.append(try M(json: item))
            } catch {
                return .failure(ResponseError(Errors.postDataInvalid(
                    "JSON for post data was invalid, \(M.collectionKey)[\(n)].\(error.field) \(error.message).")))
            }
        }
        return .success(out)
    }
}

extension CallContext {
    /// The `If-Modified-Since` header as ms, cut to the second as Xero compares it; nil when
    /// absent; a 400 Response when it is not a date.
    func ifModifiedSince() -> Result<Int64?, ResponseBox> {
        guard let ims = request.headers["If-Modified-Since"], !ims.isEmpty else { return .success(nil) }
        guard let ms = XeroModelDate.parseAny(ims) else {
            return .failure(ResponseBox(Errors.postDataInvalid("The If-Modified-Since header is not a valid date: \(ims)")))
        }
        return .success(ms / 1000 * 1000)
    }
}

/// A Response carried as an error.
struct ResponseBox: Error { let response: Response; init(_ r: Response) { response = r } }
