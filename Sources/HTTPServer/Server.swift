import CMicroHTTPD
import Synchronization
import Timekeeping
#if canImport(Glibc)
import Glibc
#endif

/// How the server listens and what it tolerates. The defaults keep room for legitimate
/// clients under abuse (see the README, "Front door"); every limit is configurable.
public struct ServerConfiguration: Sendable {
    public var host: String
    public var port: UInt16
    /// Worker threads in libmicrohttpd's epoll pool; defaults to the number of cores.
    public var threads: Int
    /// Largest request body accepted; a larger one gets 413.
    public var maxBodyBytes: Int
    /// Seconds an idle connection may live (libmicrohttpd's timeout, reset by any byte).
    public var connectionTimeout: Int
    /// Open connections at most. 0: as many as the descriptor limit (raised to its hard limit
    /// at start) and epoll's watch limit allow, less a reserve. A larger value is capped to that.
    public var connectionLimit: Int
    /// Open connections per client address (0: no limit). 64 by default: far above what one
    /// honest client needs, and benchmarks on 127.0.0.1 use 32. Behind a proxy every client
    /// shares its address: set 0 there and let the proxy limit.
    public var perAddressConnectionLimit: Int
    /// Bytes of libmicrohttpd's per-connection memory pool (`MHD_OPTION_CONNECTION_MEMORY_LIMIT`):
    /// it holds a request's headers and its read buffer, and is cleared as each keep-alive
    /// request ends, so a larger pool costs time on every request. Headers that do not fit are
    /// refused (431): at 16 KiB a 14 000-byte header passes, at 8 KiB a 10 000-byte one does not.
    public var connectionMemoryLimit: Int
    /// Seconds a connection may take to deliver a request's complete headers, counted from the
    /// moment it starts waiting for one (accept, or the end of the previous answer); a trickle
    /// of bytes does not extend it. 0: no deadline.
    public var headerTimeout: Double
    /// Seconds a body may take before `minUploadBytesPerSecond` applies.
    public var uploadGracePeriod: Double
    /// A body must arrive at least this fast on average, after the grace period (0: no floor).
    public var minUploadBytesPerSecond: Int
    /// Bytes of request bodies buffered across all connections before any handler has seen
    /// them (no signature verified yet). Over it: 503 with `Retry-After`. 0: 48 MiB or four
    /// bodies of `maxBodyBytes`, whichever is more.
    public var unverifiedBodyBudget: Int
    /// Bodies up to this size may use all of the budget; larger ones leave `smallBodyReserve`
    /// free, so a flood of large bodies cannot crowd out small ones (webhooks).
    public var smallBodyBytes: Int
    public var smallBodyReserve: Int
    /// PEM key and certificate: HTTPS when both are set.
    public var tlsKeyPEM: String?
    public var tlsCertPEM: String?
    /// GnuTLS priorities for HTTPS (libmicrohttpd's `MHD_OPTION_HTTPS_PRIORITIES`); by default
    /// `ServerConfiguration.modernTLSPriorities`: TLS 1.2 and 1.3, forward-secret AEAD ciphers.
    public var tlsPriorities: String
    /// `Strict-Transport-Security` sent on every answer. nil: `defaultStrictTransportSecurity`
    /// when the server speaks TLS itself, none otherwise (set it when TLS ends in front of the server).
    public var strictTransportSecurity: String?
    /// Time for deadlines and request durations (a test moves it instead of sleeping).
    public var monotonicClock: any MonotonicClock

    /// TLS 1.2 and 1.3 only; in TLS 1.2 only ECDHE key exchange (forward secrecy) with AES-GCM or
    /// ChaCha20-Poly1305 (AEAD), the server's order first. Nine suites in all with GnuTLS 3.7: the
    /// three of TLS 1.3 and `ECDHE-{RSA,ECDSA}-{AES256-GCM-SHA384, CHACHA20-POLY1305,
    /// AES128-GCM-SHA256}`. No RSA key exchange, no CBC, no SHA-1 MACs, no TLS 1.0/1.1.
    /// The per-connection pool the gateway runs with (see `connectionMemoryLimit`).
    public static let defaultConnectionMemoryLimit = 16 << 10

    public static let modernTLSPriorities =
        "SECURE128:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2:-KX-ALL:+ECDHE-ECDSA:+ECDHE-RSA"
        + ":-CIPHER-ALL:+AES-256-GCM:+CHACHA20-POLY1305:+AES-128-GCM:-MAC-ALL:+AEAD:%SERVER_PRECEDENCE"
    /// Two years, subdomains included (no `preload`: that is a decision for the domain's owner).
    public static let defaultStrictTransportSecurity = "max-age=63072000; includeSubDomains"

    public init(host: String = "127.0.0.1", port: UInt16 = 8080, threads: Int = 0,
                maxBodyBytes: Int = 1 << 20, connectionTimeout: Int = 10, connectionLimit: Int = 0,
                perAddressConnectionLimit: Int = 64, connectionMemoryLimit: Int = ServerConfiguration.defaultConnectionMemoryLimit,
                headerTimeout: Double = 5,
                uploadGracePeriod: Double = 5, minUploadBytesPerSecond: Int = 4096,
                unverifiedBodyBudget: Int = 0, smallBodyBytes: Int = 64 << 10, smallBodyReserve: Int = 16 << 20,
                tlsKeyPEM: String? = nil, tlsCertPEM: String? = nil,
                tlsPriorities: String = ServerConfiguration.modernTLSPriorities, strictTransportSecurity: String? = nil,
                monotonicClock: any MonotonicClock = SystemMonotonicClock()) {
        self.host = host
        self.port = port
        self.threads = threads > 0 ? threads : max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN))))
        self.maxBodyBytes = maxBodyBytes
        self.connectionTimeout = connectionTimeout
        self.connectionLimit = connectionLimit
        self.connectionMemoryLimit = max(4 << 10, connectionMemoryLimit)
        self.perAddressConnectionLimit = perAddressConnectionLimit
        self.headerTimeout = headerTimeout
        self.uploadGracePeriod = uploadGracePeriod
        self.minUploadBytesPerSecond = minUploadBytesPerSecond
        self.unverifiedBodyBudget = unverifiedBodyBudget > 0 ? unverifiedBodyBudget
            : max(48 << 20, 4 * maxBodyBytes)
        self.smallBodyBytes = smallBodyBytes
        self.smallBodyReserve = min(smallBodyReserve, self.unverifiedBodyBudget / 2)
        self.tlsKeyPEM = tlsKeyPEM
        self.tlsCertPEM = tlsCertPEM
        self.tlsPriorities = tlsPriorities
        self.strictTransportSecurity = strictTransportSecurity
        self.monotonicClock = monotonicClock
    }

    /// Whether the server speaks TLS itself (both PEMs set).
    public var servesTLS: Bool { tlsKeyPEM != nil && tlsCertPEM != nil }

    /// The `Strict-Transport-Security` value every answer carries, if any.
    public var effectiveStrictTransportSecurity: String? {
        strictTransportSecurity ?? (servesTLS ? ServerConfiguration.defaultStrictTransportSecurity : nil)
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
    /// One empty MHD response, reused (libmicrohttpd reference-counts responses); it carries
    /// `serverHeaders`.
    let emptyResponse: OpaquePointer?
    /// Headers on every answer (`Strict-Transport-Security`), unless the answer sets them itself.
    let serverHeaders: [(name: String, value: String)]
    /// Deadlines, upload floor and body budget (see `ConnectionGuard`).
    let connectionGuard: ConnectionGuard
    /// libmicrohttpd's log and URI-log state (see shim.h); freed with the server.
    private var logState: UnsafeMutablePointer<xg_log_state>?
    private var keyCString: UnsafeMutablePointer<CChar>?
    private var certCString: UnsafeMutablePointer<CChar>?
    private var prioritiesCString: UnsafeMutablePointer<CChar>?

    struct State {
        /// The running daemon and its bound port; set by `start`, cleared by `shutdown`.
        var daemon: UnsafeSendablePointer?
        var port: UInt16 = 0
        var connectionLimit = 0
        var inFlight = 0
        var suspended = 0
        var stopping = false
    }

    public init(configuration: ServerConfiguration, router: Router, observer: ResponseObserver? = nil) {
        self.configuration = configuration
        self.router = router
        self.observer = observer
        connectionGuard = ConnectionGuard(configuration: configuration)
        serverHeaders = configuration.effectiveStrictTransportSecurity.map { [("Strict-Transport-Security", $0)] } ?? []
        emptyResponse = xg_mhd_empty_response()
        if let r = emptyResponse {
            for (name, value) in serverHeaders { _ = MHD_add_response_header(r, name, value) }
        }
    }

    deinit {
        connectionGuard.stopSweeper()
        if let d = state.withLock({ $0.daemon }) { MHD_stop_daemon(d.pointer) }
        if let r = emptyResponse { MHD_destroy_response(r) }
        free(logState)
        free(keyCString)
        free(certCString)
        free(prioritiesCString)
    }

    /// The bound port (the real one when configured with port 0).
    public var port: UInt16 { state.withLock { $0.port } }

    private var daemon: OpaquePointer? { state.withLock { $0.daemon?.pointer } }

    /// The connection limit in force: the configured one, capped by what descriptors and
    /// epoll allow (the descriptor limit is raised to its hard limit first).
    public var effectiveConnectionLimit: Int { state.withLock { $0.connectionLimit } }

    /// Open connections right now.
    public var openConnections: Int { connectionGuard.openConnections }
    /// Body bytes buffered before any handler saw them, right now.
    public var bufferedBodyBytes: Int { connectionGuard.bufferedBodyBytes.load(ordering: .relaxed) }
    /// Connections cut off for late headers, for a too-slow body, and requests refused for the
    /// body budget, since start.
    public var abuseCounters: (headerTimeouts: Int, slowUploads: Int, budgetRefusals: Int) {
        (connectionGuard.headerTimeouts.load(ordering: .relaxed), connectionGuard.slowUploads.load(ordering: .relaxed),
         connectionGuard.budgetRefusals.load(ordering: .relaxed))
    }

    /// Starts listening. Call once.
    public func start() throws {
        let flags = MHD_USE_INTERNAL_POLLING_THREAD.rawValue | MHD_USE_EPOLL.rawValue | MHD_USE_ITC.rawValue
            | MHD_USE_ERROR_LOG.rawValue | MHD_ALLOW_SUSPEND_RESUME.rawValue
        let me = Unmanaged.passUnretained(self).toOpaque()
        if let k = configuration.tlsKeyPEM, let c = configuration.tlsCertPEM {
            keyCString = strdup(k)
            certCString = strdup(c)
            prioritiesCString = strdup(configuration.tlsPriorities)
        }
        if logState == nil { logState = xg_log_state_new() }
        let capacity = connectionCapacity()
        let limit = configuration.connectionLimit > 0 ? min(configuration.connectionLimit, capacity) : capacity
        let d = xg_mhd_start(
            UInt32(flags), configuration.host, configuration.port,
            mhdAccessHandler, me, mhdRequestCompleted, me, mhdNotifyConnection, me,
            UInt32(configuration.threads), UInt32(configuration.connectionTimeout),
            UInt32(limit), Int(configuration.connectionMemoryLimit), UInt32(max(0, configuration.perAddressConnectionLimit)),
            logState, keyCString, certCString, prioritiesCString)
        guard let d else {
            throw ServerError(code: "listen_failed",
                              message: "cannot listen on \(configuration.host):\(configuration.port) (address in use, bad address, bad TLS key/certificate or TLS priorities)")
        }
        let port = xg_mhd_bound_port(d)
        state.withLock { s in
            s.daemon = UnsafeSendablePointer(d)
            s.port = port
            s.connectionLimit = limit
        }
        connectionGuard.startSweeper()
    }

    /// Answers every new request with 503 (`shutting_down`, `Connection: close`) from now on.
    public func quiesce() {
        // Not MHD_quiesce_daemon: in libmicrohttpd 0.9.75 it races a pool worker that has reached
        // its connection limit (both take the listening socket out of the worker's epoll set, and
        // the loser aborts the process). New requests get 503 from the `stopping` flag instead;
        // `MHD_stop_daemon` closes the listening socket once in-flight requests are done.
        state.withLock { $0.stopping = true }
    }

    /// Refuses new requests (503), lets in-flight ones (deferred ones included) finish for up to
    /// `timeout` seconds, then closes every connection. Returns false, leaving the daemon
    /// running, if deferred answers are still outstanding: libmicrohttpd must not be stopped
    /// with suspended connections (the process is exiting anyway).
    @discardableResult
    public func shutdown(timeout: Double = 10) -> Bool {
        guard let d = daemon else { return true }
        quiesce()
        // Real time, whatever the configured clock: this waits on other threads.
        let clock = SystemMonotonicClock()
        let deadline = clock.nowMilliseconds() + Int64(timeout * 1000)
        while state.withLock({ $0.inFlight }) > 0 && clock.nowMilliseconds() < deadline {
            usleep(5_000)
        }
        let stop = state.withLock { s -> Bool in
            guard s.suspended == 0, s.daemon != nil else { return false }
            s.daemon = nil
            return true
        }
        guard stop else { return state.withLock { $0.daemon == nil } }
        MHD_stop_daemon(d)
        connectionGuard.stopSweeper()
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
    /// Monotonic nanoseconds when the request began.
    let started: Int64

    init(started: Int64) { self.started = started }
    /// The body as it arrived, in chunks (no reservation from a claimed Content-Length).
    var chunks: [[UInt8]] = []
    var received = 0
    /// Bytes of the body budget this request holds (released once a handler has the body).
    var admitted = 0
    /// Admitted up front from Content-Length rather than chunk by chunk.
    var admittedUpFront = false
    var overBudget = false
    var headers: [(name: String, value: String)] = []
    var tracked: TrackedConnection?
    var tooLarge = false
    var refuse = false
    var route = "unmatched"
    var method = ""
    /// Headers the router adds to every answer under this path (`Router.addHeaders`).
    var routeHeaders: [(name: String, value: String)] = []
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
    if response.body.isEmpty && response.headers.fields.isEmpty && ctx.routeHeaders.isEmpty, let shared = server.emptyResponse {
        let result = MHD_queue_response(connection, UInt32(response.status), shared)
        server.observer?(ctx.method, ctx.route, response.status, server.elapsedSeconds(since: ctx.started))
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
    // The path's headers (`Router.addHeaders`) and the server's, unless the answer set them.
    for (name, value) in ctx.routeHeaders where response.headers[name] == nil {
        _ = MHD_add_response_header(r, name, value)
    }
    for (name, value) in server.serverHeaders where response.headers[name] == nil {
        _ = MHD_add_response_header(r, name, value)
    }
    let result = MHD_queue_response(connection, UInt32(response.status), r)
    MHD_destroy_response(r)
    server.observer?(ctx.method, ctx.route, response.status, server.elapsedSeconds(since: ctx.started))
    return result
}

/// Framing problems RFC 9112 §6.3 says to answer with 400 (request smuggling): two different
/// Content-Length values, or Content-Length with Transfer-Encoding. `malformedLength` is a
/// Content-Length that is not a decimal number.
enum FramingProblem: Equatable {
    case conflictingLengths, lengthWithTransferEncoding, malformedLength
}

func framingProblem(_ headers: [(name: String, value: String)]) -> FramingProblem? {
    var length: String?
    var transferEncoding = false
    for (name, value) in headers where name.utf8.count == 14 || name.utf8.count == 17 {
        let lower = name.lowercased()
        if lower == "content-length" {
            // RFC 9110 optional white space (SP, HTAB) around the value; nothing else is trimmed.
            let bytes = value.utf8.drop { $0 == 0x20 || $0 == 0x09 }.reversed().drop { $0 == 0x20 || $0 == 0x09 }.reversed()
            let v = String(decoding: bytes, as: UTF8.self)
            guard !v.isEmpty, v.utf8.count <= 18, v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return .malformedLength }
            if let l = length, l != v { return .conflictingLengths }
            length = v
        } else if lower == "transfer-encoding" {
            transferEncoding = true
        }
    }
    if length != nil && transferEncoding { return .lengthWithTransferEncoding }
    return nil
}

/// An answer queued before the body is read: libmicrohttpd then skips the body and closes.
private func refuseEarly(_ connection: OpaquePointer, _ error: HTTPError, server: Server, ctx: MHDRequestState) -> MHD_Result {
    var r = error.response
    r.headers.add("Connection", "close")
    return queue(connection, r, server: server, ctx: ctx)
}

private let mhdAccessHandler: MHD_AccessHandlerCallback = { cls, connection, url, method, _, uploadData, uploadDataSize, conCls in
    guard let cls, let connection, let conCls, let uploadDataSize else { return .NO }
    let server = Unmanaged<Server>.fromOpaque(cls).takeUnretainedValue()
    let guardian = server.connectionGuard

    // First call: headers only.
    guard let raw = conCls.pointee else {
        let ctx = MHDRequestState(started: server.configuration.monotonicClock.nowNanoseconds())
        ctx.method = method.map { String(cString: $0) } ?? "GET"
        // Set before any answer, so refusals (413, 503) under the path carry them too.
        ctx.routeHeaders = server.router.headers(forPath: url.map { String(cString: $0) } ?? "/")
        ctx.refuse = server.begin()
        conCls.pointee = Unmanaged.passRetained(ctx).toOpaque()
        if let t = xg_mhd_socket_context(connection) {
            let tracked = Unmanaged<TrackedConnection>.fromOpaque(t).takeUnretainedValue()
            tracked.enter(.receivingBody)
            ctx.tracked = tracked
        }
        ctx.headers = collectValues(connection, .HEADER_KIND)
        switch framingProblem(ctx.headers) {
        case .malformedLength?:
            // libmicrohttpd answers these itself (see xg_answer_malformed_length in shim.h).
            return refuseEarly(connection, HTTPError(400, code: "bad_framing", message: "Content-Length is not a decimal number"),
                               server: server, ctx: ctx)
        case .conflictingLengths?:
            return refuseEarly(connection, HTTPError(400, code: "bad_framing", message: "conflicting Content-Length headers"),
                               server: server, ctx: ctx)
        case .lengthWithTransferEncoding?:
            return refuseEarly(connection, HTTPError(400, code: "bad_framing", message: "Content-Length together with Transfer-Encoding"),
                               server: server, ctx: ctx)
        case nil:
            break
        }
        if let cl = MHD_lookup_connection_value(connection, .HEADER_KIND, "Content-Length"),
           let n = Int(String(cString: cl)), n > 0 {
            if n > server.configuration.maxBodyBytes {
                ctx.tooLarge = true
            } else if guardian.admit(n, requestTotal: n) {
                // Counted against the budget now (so a flood is refused before its bodies
                // arrive), but nothing is allocated until bytes do.
                ctx.admitted = n
                ctx.admittedUpFront = true
            } else {
                return refuseEarly(connection, HTTPError(503, code: "busy", message: "too many request bodies in flight; retry shortly",
                                                         headers: HTTPHeaders([("Retry-After", "5")])),
                                   server: server, ctx: ctx)
            }
        }
        return .YES
    }
    let ctx = Unmanaged<MHDRequestState>.fromOpaque(raw).takeUnretainedValue()

    // Body chunks.
    if uploadDataSize.pointee > 0 {
        let n = uploadDataSize.pointee
        ctx.tracked?.bodyBytes.add(n, ordering: .relaxed)
        if !ctx.tooLarge && !ctx.overBudget {
            if ctx.received + n > server.configuration.maxBodyBytes {
                ctx.tooLarge = true
                ctx.chunks = []
                guardian.release(ctx.admitted)
                ctx.admitted = 0
            } else if !ctx.admittedUpFront && !guardian.admit(n, requestTotal: ctx.received + n) {
                ctx.overBudget = true
                ctx.chunks = []
                guardian.release(ctx.admitted)
                ctx.admitted = 0
            } else if let uploadData {
                if !ctx.admittedUpFront { ctx.admitted += n }
                uploadData.withMemoryRebound(to: UInt8.self, capacity: n) { p in
                    ctx.chunks.append(Array(UnsafeBufferPointer(start: p, count: n)))
                }
                ctx.received += n
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
    ctx.tracked?.enter(.handling)

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
    if ctx.overBudget {
        var r = HTTPError(503, code: "busy", message: "too many request bodies in flight; retry shortly",
                          headers: HTTPHeaders([("Retry-After", "5")])).response
        r.headers.add("Connection", "close")
        return queue(connection, r, server: server, ctx: ctx)
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
        let body: [UInt8]
        if ctx.chunks.count == 1 {
            body = ctx.chunks[0]
        } else {
            var joined: [UInt8] = []
            joined.reserveCapacity(ctx.received)  // bytes that arrived, not a claim
            for c in ctx.chunks { joined.append(contentsOf: c) }
            body = joined
        }
        ctx.chunks = []
        var request = Request(method: ctx.method, path: path,
                              query: collectValues(connection, .GET_ARGUMENT_KIND),
                              headers: HTTPHeaders(ctx.headers),
                              body: body)
        request.pathParameters = parameters
        request.remoteAddress = ctx.tracked?.address
        ctx.headers = []
        let result: HandlerResult
        do {
            result = try handler(request)
        } catch let error as any HTTPResponseError {
            result = .respond(error.response)
        } catch {
            result = .respond(.error(500, code: "internal_error", message: "the server could not answer this request"))
        }
        // The handler has judged the body (a webhook's signature is checked): it no longer
        // counts against the budget for unverified bodies.
        guardian.release(ctx.admitted)
        ctx.admitted = 0
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
    let ctx = Unmanaged<MHDRequestState>.fromOpaque(raw).takeRetainedValue()
    conCls.pointee = nil
    server.connectionGuard.release(ctx.admitted)
    ctx.admitted = 0
    ctx.chunks = []
    // Keep-alive: the connection now waits for its next request's headers.
    ctx.tracked?.enter(.awaitingHeaders)
    server.finished()
}

/// Registers each connection with the deadline sweeper, and removes it before libmicrohttpd
/// closes its descriptor.
private let mhdNotifyConnection: MHD_NotifyConnectionCallback = { cls, connection, socketContext, code in
    guard let cls, let connection, let socketContext else { return }
    let server = Unmanaged<Server>.fromOpaque(cls).takeUnretainedValue()
    let key = UInt(bitPattern: Int(bitPattern: UnsafeRawPointer(connection)))
    if code.rawValue == 0 {  // MHD_CONNECTION_NOTIFY_STARTED
        var buffer = [CChar](repeating: 0, count: 64)
        xg_mhd_client_address(connection, &buffer, buffer.count)
        let address = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        let tracked = server.connectionGuard.opened(key, fd: xg_mhd_connection_fd(connection), address: address)
        socketContext.pointee = Unmanaged.passRetained(tracked).toOpaque()
    } else {
        server.connectionGuard.closed(key)
        if let t = socketContext.pointee {
            Unmanaged<TrackedConnection>.fromOpaque(t).release()
            socketContext.pointee = nil
        }
    }
}

extension Server {
    func elapsedSeconds(since start: Int64) -> Double {
        Double(max(0, configuration.monotonicClock.nowNanoseconds() - start)) / 1e9
    }
}
