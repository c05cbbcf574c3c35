import HTTPServer
import Logging
import Store
import Sync
import Xero

/// The one place failures become HTTP answers. A handler lets a `StoreError` go (the router in
/// `addRoutes` answers it); a handler typed `throws(HTTPError)` runs its store calls in
/// `store { }`; a deferred answer (a worker thread, no router to throw to) asks `answer(for:)`.
extension HTTPError {
    /// The answer for a store error: unknown → 404, a stale version → 412, a refused write →
    /// 409, a bad cursor → 400, anything else (the store cannot read or write) → 503.
    init(_ error: StoreError) {
        switch error.code {
        case .notFound: self.init(404, code: "not_found", message: error.message)
        case .invalidCursor: self.init(400, code: "invalid_cursor", message: "cursor is not one this API gave")
        case .preconditionFailed: self = .preconditionFailed
        case .conflict:
            // The database's own words (a constraint's name) are for the log, not for people.
            self.init(409, code: "conflict", message: error.isConstraintViolation
                ? "the change conflicts with another record; reload and try again" : error.message)
        default: self = .storeUnavailable
        }
    }
}

extension Gateway {
    /// Runs a store call where only an `HTTPError` may be thrown: its error answered as
    /// `HTTPError(_:)` says (a failing store logged).
    func store<T>(_ body: () throws(StoreError) -> T) throws(HTTPError) -> T {
        do { return try body() } catch { throw Gateway.failure(for: error, logger: logger) }
    }

    /// The answer for a failure of a store, sync or match call: what to fix, in a sentence.
    static func answer(for error: any Error, logger: Logger) -> Response {
        failure(for: error, logger: logger).response
    }

    /// A failure of a store, sync or match call as the HTTP error the API answers and the
    /// screens show (its `message` is the sentence); a store that fails is logged.
    static func failure(for error: any Error, logger: Logger) -> HTTPError {
        switch error {
        case let e as HTTPError: return e
        case let e as StoreError:
            let answer = HTTPError(e)
            if answer.status >= 500 { logger.error("store call failed", metadata: ["error": "\(e)"]) }
            return answer
        case let e as SyncError where e.message == SyncError.notConnected.message:
            return HTTPError(409, code: "not_connected", message: e.message)
        case let e as SyncError where e.message == SyncError.busy.message:
            return HTTPError(503, code: "sync_running", message: e.message)
        case let e as SyncError where e.unreachable: return HTTPError(502, code: "xero_unavailable", message: e.message)
        case let e as SyncError: return HTTPError(422, code: "xero_refused", message: e.message)
        case let e as XeroAPIError where e.code == .validation:
            return HTTPError(422, code: "xero_refused", message: SyncError.sentence(for: e))
        case let e as XeroAPIError:
            return HTTPError(502, code: "xero_unavailable", message: SyncError.sentence(for: e))
        default:
            logger.error("call failed", metadata: ["error": "\(error)"])
            return HTTPError.storeUnavailable
        }
    }
}
