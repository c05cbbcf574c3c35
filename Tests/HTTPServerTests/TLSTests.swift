import Foundation
import HTTPClient
import HTTPServer
import Testing

/// A self-signed certificate for 127.0.0.1 in a fresh folder (openssl's command line).
struct TestCertificate {
    let dir: String
    var certPath: String { "\(dir)/cert.pem" }
    var keyPath: String { "\(dir)/key.pem" }

    init() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let (status, output) = try openssl(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/key.pem",
                                            "-out", "\(dir)/cert.pem", "-days", "2", "-subj", "/CN=localhost",
                                            "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"])
        guard status == 0 else { throw POSIXError(.EIO, "openssl req failed: \(output)") }
    }

    /// Removes the folder (call with `defer`).
    func remove() { try? FileManager.default.removeItem(atPath: dir) }

    func configuration(_ change: (inout ServerConfiguration) -> Void = { _ in }) throws -> ServerConfiguration {
        var c = ServerConfiguration(port: 0, tlsKeyPEM: try String(contentsOfFile: keyPath, encoding: .utf8),
                                    tlsCertPEM: try String(contentsOfFile: certPath, encoding: .utf8))
        change(&c)
        return c
    }
}

extension POSIXError {
    init(_ code: POSIXErrorCode, _ message: String) {
        self.init(code, userInfo: [NSLocalizedDescriptionKey: message])
    }
}

/// Runs `openssl` with `arguments` and nothing on its input; its exit status and output (both streams).
func openssl(_ arguments: [String]) throws -> (Int32, String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
    p.arguments = arguments
    let out = Pipe()
    p.standardOutput = out
    p.standardError = out
    p.standardInput = FileHandle.nullDevice
    try p.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// One handshake with `openssl s_client`: whether it completed, the protocol and cipher it
/// settled on, and the whole output (issue 13).
struct Handshake {
    let connected: Bool
    let proto: String?
    let cipher: String?
    let output: String

    init(port: UInt16, _ options: [String]) throws {
        let (status, out) = try openssl(["s_client", "-connect", "127.0.0.1:\(port)", "-servername", "localhost"] + options)
        output = out
        // "New, <the cipher's version>, Cipher is <cipher>"; the session's "Protocol :" line, when
        // printed (not for TLS 1.3), is the version agreed.
        let line = out.firstMatch(of: /New, ([^,]+), Cipher is (\S+)/)
        proto = out.firstMatch(of: /Protocol *: *(\S+)/).map { String($0.1) } ?? line.map { String($0.1) }
        cipher = line.map { String($0.2) }
        connected = status == 0 && cipher != nil && cipher != "(NONE)"
    }

    /// One line for a failed expectation: what was agreed, or how it ended.
    var summary: String {
        connected ? "connected: \(proto ?? "?") \(cipher ?? "?")"
            : "not connected: " + (output.firstMatch(of: /handshake has read \d+ bytes and written \d+ bytes/).map { String($0.0) } ?? output.prefix(200).description)
    }

    /// The server said no: the client sent its hello (so it was willing to speak this) and the
    /// server answered with a TLS alert or with nothing at all (libmicrohttpd closes without an
    /// alert). A client that gives up on the server's answer read bytes first and does not count.
    var refusedByServer: Bool {
        guard !connected, let m = output.firstMatch(of: /handshake has read (\d+) bytes and written (\d+) bytes/),
              let read = Int(m.1), let written = Int(m.2), written > 0 else { return false }
        return read == 0 || output.contains(/alert (protocol version|handshake failure|insufficient security)/)
    }
}

/// HTTPS as a bank's (issue 13): TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, HSTS on
/// every answer.
@Suite struct TLSTests {
    /// Handshakes the server must refuse: TLS 1.0 and 1.1 (OpenSSL 3 refuses them client-side at
    /// its default security level, so the client is told to allow them: SECLEVEL=0), and TLS 1.2
    /// without forward secrecy (RSA key exchange) or without AEAD (CBC).
    static let refused: [(String, [String])] = [
        ("TLS 1.0", ["-tls1", "-cipher", "DEFAULT@SECLEVEL=0"]),
        ("TLS 1.1", ["-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"]),
    ] + ["AES128-SHA", "AES256-SHA", "AES128-GCM-SHA256", "ECDHE-RSA-AES128-SHA"].map {
        ("TLS 1.2 \($0)", ["-tls1_2", "-cipher", "\($0)@SECLEVEL=0"])
    }

    @Test func onlyTLS12And13WithForwardSecretAEADCiphersAreAccepted() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        // The control: a server with GnuTLS's "NORMAL" (libmicrohttpd's default, the old setting)
        // accepts every one of these handshakes, so this client can make them and a refusal below
        // is the server's.
        let old = try startServer({ _ in }, config: try cert.configuration { $0.tlsPriorities = "NORMAL" })
        defer { old.shutdown() }
        for (name, options) in TLSTests.refused {
            let h = try Handshake(port: old.port, options)
            #expect(h.connected, "control, \(name): \(h.summary)")
        }
        let server = try startServer({ r in r.get("/s") { _ in .respond(.text(200, "secure")) } }, config: try cert.configuration())
        defer { server.shutdown() }
        for (name, options) in TLSTests.refused {
            let h = try Handshake(port: server.port, options)
            #expect(h.refusedByServer, "\(name): \(h.summary)")
        }
        let tls12 = try Handshake(port: server.port, ["-tls1_2"])
        #expect(tls12.connected && tls12.proto == "TLSv1.2", "\(tls12.summary)")
        #expect(tls12.cipher.map { $0.hasPrefix("ECDHE-") && ($0.contains("GCM") || $0.contains("CHACHA20")) } == true,
                "\(tls12.cipher ?? "none")")
        let tls13 = try Handshake(port: server.port, ["-tls1_3"])
        #expect(tls13.connected && tls13.proto == "TLSv1.3", "\(tls13.summary)")
    }

    @Test func everyHTTPSAnswerCarriesStrictTransportSecurity() throws {
        let cert = try TestCertificate()
        defer { cert.remove() }
        let server = try startServer({ r in
            r.get("/s") { _ in .respond(.text(200, "secure")) }
            r.post("/empty") { _ in .respond(.empty(401)) }
            r.get("/thrown") { _ in throw HTTPError(403, code: "forbidden", message: "no") }
            r.get("/later") { _ in .deferred { $0.respond(.json(202, Array("{}".utf8))) } }
            r.get("/own") { _ in .respond(Response(status: 200, headers: HTTPHeaders([("Strict-Transport-Security", "max-age=5")]))) }
        }, config: try cert.configuration())
        defer { server.shutdown() }
        let client = HTTPClient(caFile: cert.certPath)
        let hsts = ServerConfiguration.defaultStrictTransportSecurity
        for (method, path, status) in [("GET", "/s", 200), ("POST", "/empty", 401), ("GET", "/thrown", 403),
                                       ("GET", "/later", 202), ("GET", "/nowhere", 404), ("DELETE", "/s", 405)] {
            let r = try client.send(ClientRequest(method: method, url: url(server, path, scheme: "https")))
            #expect(r.status == status && r.header("Strict-Transport-Security") == hsts, "\(method) \(path)")
        }
        // An answer that sets its own keeps it (one header, not two).
        let own = try client.send(ClientRequest(url: url(server, "/own", scheme: "https")))
        #expect(own.header("Strict-Transport-Security") == "max-age=5")
        #expect(own.headers.filter { $0.name.lowercased() == "strict-transport-security" }.count == 1)
    }

    @Test func plainHTTPSendsStrictTransportSecurityOnlyWhenTold() throws {
        let plain = try startServer({ r in r.post("/empty") { _ in .respond(.empty(200)) } })
        defer { plain.shutdown() }
        #expect(try HTTPClient().send(ClientRequest(method: "POST", url: url(plain, "/empty"))).header("Strict-Transport-Security") == nil)
        // Behind a proxy that ends TLS, the server is told to send it.
        let proxied = try startServer({ r in r.post("/empty") { _ in .respond(.empty(200)) } },
                                      config: ServerConfiguration(port: 0, strictTransportSecurity: "max-age=60"))
        defer { proxied.shutdown() }
        #expect(try HTTPClient().send(ClientRequest(method: "POST", url: url(proxied, "/empty"))).header("Strict-Transport-Security") == "max-age=60")
    }
}

/// `Router.addHeaders`: one place for the headers of every answer under a path.
@Suite struct RouteHeaderTests {
    @Test func everyAnswerUnderThePrefixCarriesTheHeadersHoweverItIsMade() throws {
        let server = try startServer { r in
            r.addHeaders(HTTPHeaders([("Cache-Control", "no-store"), ("X-Content-Type-Options", "nosniff")]), toPathsUnder: "/api/")
            r.get("/api/ok") { _ in .respond(.json(200, Array("{}".utf8))) }
            r.get("/api/empty") { _ in .respond(.empty(204)) }
            r.get("/api/thrown") { _ in throw HTTPError(401, code: "unauthenticated", message: "no") }
            r.get("/api/later") { _ in .deferred { $0.respond(.json(200, Array("{}".utf8))) } }
            r.get("/api/cached") { _ in .respond(Response(status: 200, headers: HTTPHeaders([("Cache-Control", "max-age=60")]))) }
            r.get("/other") { _ in .respond(.json(200, Array("{}".utf8))) }
        }
        defer { server.shutdown() }
        let client = HTTPClient()
        for path in ["/api/ok", "/api/empty", "/api/thrown", "/api/later", "/api/missing"] {
            let r = try client.send(ClientRequest(url: url(server, path)))
            #expect(r.header("Cache-Control") == "no-store" && r.header("X-Content-Type-Options") == "nosniff", "\(path)")
        }
        let cached = try client.send(ClientRequest(url: url(server, "/api/cached")))
        #expect(cached.header("Cache-Control") == "max-age=60" && cached.header("X-Content-Type-Options") == "nosniff")
        let other = try client.send(ClientRequest(url: url(server, "/other")))
        #expect(other.header("Cache-Control") == nil && other.header("X-Content-Type-Options") == nil)
    }

    @Test func refusalsBeforeAnyHandlerCarryThemToo() throws {
        let server = try startServer({ r in
            r.addHeaders(HTTPHeaders([("Cache-Control", "no-store")]), toPathsUnder: "/api/")
            r.post("/api/ok") { _ in .respond(.empty(204)) }
        }, config: ServerConfiguration(port: 0, maxBodyBytes: 16))
        defer { server.shutdown() }
        let r = try HTTPClient().send(ClientRequest(method: "POST", url: url(server, "/api/ok"), body: Array(repeating: 65, count: 64)))
        #expect(r.status == 413 && r.header("Cache-Control") == "no-store")
    }

    @Test func aHandlerSeesTheClientsAddress() throws {
        let server = try startServer { r in r.get("/who") { .respond(.text(200, $0.remoteAddress ?? "unknown")) } }
        defer { server.shutdown() }
        #expect(try HTTPClient().send(ClientRequest(url: url(server, "/who"))).text == "127.0.0.1")
    }
}
