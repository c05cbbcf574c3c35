import CCurl
import Foundation
import Synchronization

/// A request for `HTTPClient`.
public struct ClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
    /// Whole-request timeout in seconds.
    public var timeout: Double
    /// Ask for a compressed answer (gzip, deflate) and decompress it.
    public var acceptEncoding: Bool

    public init(method: String = "GET", url: String, headers: [(name: String, value: String)] = [],
                body: [UInt8] = [], timeout: Double = 30, acceptEncoding: Bool = false) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.acceptEncoding = acceptEncoding
    }
}

/// A response received by `HTTPClient`.
public struct ClientResponse: Sendable {
    public let status: Int
    /// Header fields of the final response, names as sent.
    public let headers: [(name: String, value: String)]
    public let body: [UInt8]

    public func header(_ name: String) -> String? {
        let n = name.lowercased()
        return headers.last { $0.name.lowercased() == n }?.value
    }

    public var text: String { String(decoding: body, as: UTF8.self) }
}

/// A transport failure (no HTTP status): refused, timed out, TLS failure.
public struct ClientError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure; stable, for callers to branch on.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }

        /// No answer within the request's timeout.
        public static let timeout = Code(rawValue: "timeout")
        /// Refused, reset, DNS or TLS failure: no HTTP status.
        public static let transport = Code(rawValue: "transport")
        /// The request could not be set up (libcurl refused a handle or the body).
        public static let setup = Code(rawValue: "setup")
    }

    public let code: Code
    public let message: String
    public var description: String { "\(code): \(message)" }
    public var isTimeout: Bool { code == .timeout }
}

/// A blocking HTTP client on libcurl. Call it from worker threads, never from Swift's
/// cooperative pool. Safe to share between threads (one easy handle per call).
public final class HTTPClient: Sendable {
    private static let globalInit: Bool = {
        curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK
    }()

    /// Extra CA bundle (PEM file) to trust, e.g. the development certificate.
    public let caFile: String?
    /// Skip TLS verification: only for loopback tests against a self-signed certificate.
    public let insecure: Bool

    public init(caFile: String? = nil, insecure: Bool = false) {
        _ = HTTPClient.globalInit
        self.caFile = caFile
        self.insecure = insecure
    }

    private final class Sink {
        var body: [UInt8] = []
        var headers: [(name: String, value: String)] = []
    }

    public func send(_ request: ClientRequest) throws(ClientError) -> ClientResponse {
        guard let h = curl_easy_init() else { throw ClientError(code: .setup, message: "curl_easy_init failed") }
        defer { curl_easy_cleanup(h) }
        let sink = Sink()
        let sinkPtr = Unmanaged.passUnretained(sink).toOpaque()

        _ = xg_curl_set_string(h, CURLOPT_URL, request.url)
        _ = xg_curl_set_long(h, CURLOPT_NOSIGNAL, 1)
        _ = xg_curl_set_long(h, CURLOPT_TIMEOUT_MS, Int(request.timeout * 1000))
        _ = xg_curl_set_long(h, CURLOPT_CONNECTTIMEOUT_MS, Int(min(request.timeout, 10) * 1000))
        _ = xg_curl_set_string(h, CURLOPT_CUSTOMREQUEST, request.method)
        if request.method == "HEAD" { _ = xg_curl_set_long(h, CURLOPT_NOBODY, 1) }
        if request.acceptEncoding { _ = xg_curl_set_string(h, CURLOPT_ACCEPT_ENCODING, "") }
        if let caFile { _ = xg_curl_set_string(h, CURLOPT_CAINFO, caFile) }
        if insecure {
            _ = xg_curl_set_long(h, CURLOPT_SSL_VERIFYPEER, 0)
            _ = xg_curl_set_long(h, CURLOPT_SSL_VERIFYHOST, 0)
        }
        if !request.body.isEmpty || ["POST", "PUT", "PATCH"].contains(request.method) {
            let code = request.body.withUnsafeBytes { bp in
                xg_curl_set_postfields(h, bp.baseAddress ?? UnsafeRawPointer(bitPattern: 1), bp.count)
            }
            guard code == CURLE_OK else { throw ClientError(code: .setup, message: "cannot set request body") }
        }
        var list: UnsafeMutablePointer<curl_slist>? = nil
        // curl adds "Expect: 100-continue" for large bodies; we never want the extra round trip.
        list = curl_slist_append(list, "Expect:")
        for (name, value) in request.headers {
            list = curl_slist_append(list, "\(name): \(value)")
        }
        defer { curl_slist_free_all(list) }
        _ = xg_curl_set_slist(h, CURLOPT_HTTPHEADER, list)
        _ = xg_curl_set_pointer(h, CURLOPT_WRITEDATA, sinkPtr)
        _ = xg_curl_set_write_function(h) { ptr, size, n, ud in
            let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            if let ptr, count > 0 {
                ptr.withMemoryRebound(to: UInt8.self, capacity: count) {
                    sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: count))
                }
            }
            return count
        }
        _ = xg_curl_set_pointer(h, CURLOPT_HEADERDATA, sinkPtr)
        _ = xg_curl_set_header_function(h) { ptr, size, n, ud in
            let sink = Unmanaged<Sink>.fromOpaque(ud!).takeUnretainedValue()
            let count = size * n
            guard let ptr else { return count }
            let line = ptr.withMemoryRebound(to: UInt8.self, capacity: count) {
                String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
            }
            if line.hasPrefix("HTTP/") {
                sink.headers = []  // a new response (after a 100 or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = String(line[..<colon])
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespacesAndNewlines)
                sink.headers.append((name, value))
            }
            return count
        }

        let rc = withExtendedLifetime(sink) { curl_easy_perform(h) }
        guard rc == CURLE_OK else {
            let msg = String(cString: curl_easy_strerror(rc))
            throw ClientError(code: rc == CURLE_OPERATION_TIMEDOUT ? .timeout : .transport, message: msg)
        }
        return ClientResponse(status: xg_curl_response_code(h), headers: sink.headers, body: sink.body)
    }
}
