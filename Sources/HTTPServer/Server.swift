import CMicroHTTPD
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the server listens and what it tolerates.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: UInt16
    /// Worker threads in libmicrohttpd's epoll pool; defaults to the number of cores.
    public var threads: Int
    /// Largest request body accepted; a larger one gets 413.
    public var maxBodyBytes: Int
    /// Seconds an idle or slow connection may live.
    public var connectionTimeout: Int
    public var connectionLimit: Int
    /// PEM key and certificate: HTTPS when both are set.
    public var tlsKeyPEM: String?
    public var tlsCertPEM: String?

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, threads: Int = 0,
                maxBodyBytes: Int = 1 << 20, connectionTimeout: Int = 10, connectionLimit: Int = 1000,
                tlsKeyPEM: String? = nil, tlsCertPEM: String? = nil) {
        self.host = host
        self.port = port
        self.threads = threads > 0 ? threads : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeout = connectionTimeout
        self.connectionLimit = connectionLimit
        self.tlsKeyPEM = tlsKeyPEM
        self.tlsCertPEM = tlsCertPEM
    }
}

public struct ServerError: Error, CustomStringConvertible {
    public let code: String
    public let message: String
    public var description: String { "\(code): \(message)" }
}

/// Called once per answered request with the route pattern ("unmatched" if none), status and
/// seconds from first byte to the queued response.
public typealias ResponseObserver = @Sendable (_ method: String, _ route: String, _ status: Int, _ seconds: Double) -> Void

/// An HTTP/1.1 server on libmicrohttpd's thread pool (epoll). Handlers run on the pool's
/// threads; a handler that must wait returns `.deferred` and the connection is suspended.
public final class Server: @unchecked Sendable {
    public let configuration: ServerConfiguration
    let router: Router
    let observer: ResponseObserver?
    private let state = Mutex(State())
    /// One empty MHD response, reused (libmicrohttpd reference-counts responses).
    let emptyResponse: OpaquePointer? = xg_mhd_empty_response()
    private var keyCString: UnsafeMutablePointer<CChar>?
    private var certCString: UnsafeMutablePointer<CChar>?

    struct State {
        /// The running daemon and its bound port; set by `start`, cleared by `shutdown`.
        var daemon: UnsafeSendablePointer?
        var port: UInt16 = 0
        var inFlight = 0
        var suspended = 0
        var stopping = false
    }

    public init(configuration: ServerConfiguration, router: Router, observer: ResponseObserver? = nil) {
        self.configuration = configuration
        self.router = router
        self.observer = observer
    }

    deinit {
        if let d = state.withLock({ $0.daemon }) { MHD_stop_daemon(d.pointer) }
        if let r = emptyResponse { MHD_destroy_response(r) }
        free(keyCString)
        free(certCString)
    }

    /// The bound port (the real one when configured with port 0).
    public var port: UInt16 { state.withLock { $0.port } }

    private var daemon: OpaquePointer? { state.withLock { $0.daemon?.pointer } }

    /// Starts listening. Call once.
    public func start() throws {
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue | MHD_USE_ITC.rawValue
            | MHD_USE_ERROR_LOG.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
        let me = Unmanaged.passUnretained(self).toOpaque()
        if let k = configuration.tlsKeyPEM, let c = configuration.tlsCertPEM {
            keyCString = strdup(k)
            certCString = strdup(c)
        }
        let d = xg_mhd_start(
            UInt32(flags), configuration.host, configuration.port,
            mhdAccessHandler, me, mhdRequestCompleted, me, nil, nil,
            UInt32(configuration.threads), UInt32(configuration.connectionTimeout),
            UInt32(configuration.connectionLimit), 64 * 1024,
            keyCString, certCString)
        guard let d else {
            throw ServerError(code: "listen_failed",
                              message: "cannot listen on \(configuration.host):\(configuration.port) (address in use, bad address, or bad TLS key/certificate)")
        }
        let port = xg_mhd_bound_port(d)
        state.withLock { s in
            s.daemon = UnsafeSendablePointer(d)
            s.port = port
        }
    }

    /// Stops accepting new connections and answers new requests on open ones with 503.
    public func quiesce() {
        guard let d = daemon else { return }
        let first = state.withLock { s -> Bool in
            defer { s.stopping = true }
            return !s.stopping
        }
        if first {
            let fd = MHD_quiesce_daemon(d)
            if fd >= 0 { close(fd) }
        }
    }

    /// Stops accepting, lets in-flight requests (deferred ones included) finish for up to
    /// `timeout` seconds, then closes every connection. Returns false, leaving the daemon
    /// running, if deferred answers are still outstanding: libmicrohttpd must not be stopped
    /// with suspended connections (the process is exiting anyway).
    @discardableResult
    public func shutdown(timeout: Double = 10) -> Bool {
        guard let d = daemon else { return true }
        quiesce()
        let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
        while state.withLock({ $0.inFlight }) > 0 && ContinuousClock.now < deadline {
            usleep(5_000)
        }
        let stop = state.withLock { s -> Bool in
            guard s.suspended == 0, s.daemon != nil else { return false }
            s.daemon = nil
            return true
        }
        guard stop else { return state.withLock { $0.daemon == nil } }
        MHD_stop_daemon(d)
        return true
    }

    fileprivate func suspended(_ delta: Int) { state.withLock { $0.suspended += delta } }

    // MARK: - per request

    fileprivate func begin() -> Bool {
        state.withLock { s in
            s.inFlight += 1
            return s.stopping
        }
    }

    fileprivate func finished() {
        state.withLock { $0.inFlight -= 1 }
    }
}

/// libmicrohttpd's per-request closure (`con_cls`): what one request has accumulated across
/// the access handler's calls (headers, body chunks, the resume after a deferred answer).
final class MHDRequestState: @unchecked Sendable {
    let started = ContinuousClock.now
    var body: [UInt8] = []
    var tooLarge = false
    var refuse = false
    var route = "unmatched"
    var method = ""
    /// Set by a DeferredResponse from another thread, read after resume.
    let deferred = Mutex<Response?>(nil)
    var suspended = false
}

/// The answer a `.deferred` handler owes: call `respond` once, from any thread, and the
/// suspended connection resumes with it.
public final class DeferredResponse: Sendable {
    private let connection: UnsafeSendablePointer
    private let context: MHDRequestState
    private let server: Server
    private let used = Atomic<Bool>(false)

    init(connection: OpaquePointer, context: MHDRequestState, server: Server) {
        self.connection = UnsafeSendablePointer(connection)
        self.context = context
        self.server = server
    }

    public func respond(_ response: Response) {
        guard !used.exchange(true, ordering: .acquiringAndReleasing) else { return }
        context.deferred.withLock { $0 = response }
        MHD_resume_connection(connection.pointer)
        server.suspended(-1)
    }
}

struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: OpaquePointer
    init(_ p: OpaquePointer) { pointer = p }
}

private func collectValues(_ connection: OpaquePointer, _ kind: MHD_ValueKind) -> [(name: String, value: String)] {
    final class Box { var items: [(name: String, value: String)] = [] }
    let box = Box()
    let cls = Unmanaged.passUnretained(box).toOpaque()
    _ = MHD_get_connection_values(connection, kind, { cls, _, key, value in
        let b = Unmanaged<Box>.fromOpaque(cls!).takeUnretainedValue()
        if let key {
            b.items.append((String(cString: key), value.map { String(cString: $0) } ?? ""))
        }
        return .YES
    }, cls)
    return withExtendedLifetime(box) { box.items }
}

private func queue(_ connection: OpaquePointer, _ response: Response, server: Server, ctx: MHDRequestState) -> MHD_Result {
    // Bodiless, headerless answers (the webhook's 200 and 401) share one response object.
    if response.body.isEmpty && response.headers.fields.isEmpty, let shared = server.emptyResponse {
        let result = MHD_queue_response(connection, UInt32(response.status), shared)
        server.observer?(ctx.method, ctx.route, response.status, elapsedSeconds(since: ctx.started))
        return result
    }
    let r: OpaquePointer?
    if response.body.isEmpty {
        r = xg_mhd_empty_response()
    } else {
        r = response.body.withUnsafeBytes { bp in
            MHD_create_response_from_buffer(bp.count, UnsafeMutableRawPointer(mutating: bp.baseAddress), .RESPMEM_MUST_COPY)
        }
    }
    guard let r else { return .NO }
    for (name, value) in response.headers {
        _ = MHD_add_response_header(r, name, value)
    }
    let result = MHD_queue_response(connection, UInt32(response.status), r)
    MHD_destroy_response(r)
    server.observer?(ctx.method, ctx.route, response.status, elapsedSeconds(since: ctx.started))
    return result
}

private let mhdAccessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<Server>.fromOpaque(cls).takeUnretainedValue()

    // First call: headers only.
    guard let raw = conCls.pointee else {
        let ctx = MHDRequestState()
        ctx.method = method.map { String(cString: $0) } ?? "GET"
        ctx.refuse = server.begin()
        if let cl = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
           let n = Int(String(cString: cl)) {
            if n > server.configuration.maxBodyBytes { ctx.tooLarge = true } else { ctx.body.reserveCapacity(n) }
        }
        conCls.pointee = Unmanaged.passRetained(ctx).toOpaque()
        return .YES
    }
    let ctx = Unmanaged<MHDRequestState>.fromOpaque(raw).takeUnretainedValue()

    // Body chunks.
    if uploadDataSize.pointee > 0 {
        let n = uploadDataSize.pointee
        if !ctx.tooLarge {
            if ctx.body.count + n > server.configuration.maxBodyBytes {
                ctx.tooLarge = true
                ctx.body = []
            } else if let uploadData {
                uploadData.withMemoryRebound(to: UInt8.self, capacity: n) { p in
                    ctx.body.append(contentsOf: UnsafeBufferPointer(start: p, count: n))
                }
            }
        }
        uploadDataSize.pointee = 0
        return .YES
    }

    // Resumed after a deferred answer.
    if ctx.suspended {
        guard let response = ctx.deferred.withLock({ $0 }) else { return .NO }
        return queue(connection, response, server: server, ctx: ctx)
    }

    if ctx.refuse {
        var r = Response.error(503, code: "shutting_down", message: "the server is shutting down")
        r.headers.add("Connection", "close")
        return queue(connection, r, server: server, ctx: ctx)
    }
    if ctx.tooLarge {
        return queue(connection, .error(413, code: "body_too_large",
                                        message: "request body exceeds \(server.configuration.maxBodyBytes) bytes"),
                     server: server, ctx: ctx)
    }

    let path = url.map { String(cString: $0) } ?? "/"
    switch server.router.match(method: ctx.method, path: path) {
    case .notFound:
        return queue(connection, .error(404, code: "not_found", message: "no such endpoint: \(ctx.method) \(path)"),
                     server: server, ctx: ctx)
    case .methodNotAllowed(let allowed):
        var r = Response.error(405, code: "method_not_allowed", message: "\(ctx.method) is not allowed here")
        r.headers.add("Allow", allowed.joined(separator: ", "))
        return queue(connection, r, server: server, ctx: ctx)
    case .found(let handler, let pattern, let parameters):
        ctx.route = pattern
        var request = Request(method: ctx.method, path: path,
                              query: collectValues(connection, .GET_ARGUMENT_KIND),
                              headers: HTTPHeaders(collectValues(connection, .HEADER_KIND)),
                              body: ctx.body)
        request.pathParameters = parameters
        ctx.body = []
        let result: HandlerResult
        do {
            result = try handler(request)
        } catch let error as any HTTPResponseError {
            result = .respond(error.response)
        } catch {
            result = .respond(.error(500, code: "internal_error", message: "the server could not answer this request"))
        }
        switch result {
        case .respond(let response):
            return queue(connection, response, server: server, ctx: ctx)
        case .deferred(let work):
            // Suspend before handing off, so a fast answer cannot race the suspension.
            ctx.suspended = true
            server.suspended(1)
            MHD_suspend_connection(connection)
            work(DeferredResponse(connection: connection, context: ctx, server: server))
            return .YES
        }
    }
}

private let mhdRequestCompleted: MHD_RequestCompletedCallback = { cls, _, conCls, _ in
    guard let cls, let conCls, let raw = conCls.pointee else { return }
    let server = Unmanaged<Server>.fromOpaque(cls).takeUnretainedValue()
    Unmanaged<MHDRequestState>.fromOpaque(raw).release()
    conCls.pointee = nil
    server.finished()
}

private func elapsedSeconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
}
