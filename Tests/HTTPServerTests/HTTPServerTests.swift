import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

func startServer(_ configure: (inout Router) -> Void, config: ServerConfiguration = ServerConfiguration(port: 0)) throws -> Server {
    var router = Router()
    configure(&router)
    let server = Server(configuration: config, router: router)
    try server.start()
    return server
}

func url(_ server: Server, _ path: String, scheme: String = "http") -> String {
    "\(scheme)://127.0.0.1:\(server.port)\(path)"
}

/// A raw TCP connection to the server, for clients that misbehave.
final class RawSocket {
    let fd: Int32
    init(port: UInt16) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard rc == 0 else { throw POSIXError(.ECONNREFUSED) }
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }
    deinit { close(fd) }
    func send(_ s: String) { _ = s.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
    /// Bytes read until the peer closes (or 5 s pass); nil on a timeout with the socket still open.
    func readUntilClosed() -> String? {
        var out = [UInt8]()
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return String(decoding: out, as: UTF8.self) }
            if n < 0 { return errno == ECONNRESET ? String(decoding: out, as: UTF8.self) : nil }
            out.append(contentsOf: buf[0..<n])
        }
    }
}

@Suite struct RouterTests {
    @Test func matchesLiteralsAndParameters() {
        var r = Router()
        r.get("/a/{id}/b") { .respond(.text(200, $0.pathParameter("id")!)) }
        r.post("/a/{id}/b") { _ in .respond(.empty(201)) }
        guard case .found(_, let pattern, let params) = r.match(method: "GET", path: "/a/42/b") else {
            Issue.record("no match"); return
        }
        #expect(pattern == "/a/{id}/b" && params == ["id": "42"])
        if case .methodNotAllowed(let allowed) = r.match(method: "DELETE", path: "/a/1/b") {
            #expect(Set(allowed) == ["GET", "POST"])
        } else { Issue.record("expected 405") }
        if case .notFound = r.match(method: "GET", path: "/a/1") {} else { Issue.record("expected 404") }
        if case .found = r.match(method: "HEAD", path: "/a/1/b") {} else { Issue.record("HEAD should use GET") }
        r.fallback { _ in .respond(.empty(418)) }
        if case .found(_, let p, _) = r.match(method: "DELETE", path: "/anything/else") { #expect(p == "fallback") }
        else { Issue.record("fallback not used") }
        if case .found(_, let p, _) = r.match(method: "GET", path: "/a/7/b") { #expect(p == "/a/{id}/b") }
        else { Issue.record("routes must still win over the fallback") }
    }
}

@Suite struct ServerTests {
    let client = HTTPClient()

    @Test func servesRoutesWithHeadersQueryAndBody() throws {
        let server = try startServer { r in
            r.post("/echo/{name}") { req in
                .respond(.text(200, "\(req.pathParameter("name")!)|\(req.queryValue("q") ?? "-")|\(req.headers["X-Thing"] ?? "-")|\(String(decoding: req.body, as: UTF8.self))"))
            }
        }
        defer { server.shutdown() }
        let r = try client.send(ClientRequest(method: "POST", url: url(server, "/echo/bob?q=a%20b"),
                                              headers: [("x-thing", "yes")], body: Array("hello".utf8)))
        #expect(r.status == 200)
        #expect(r.text == "bob|a b|yes|hello")
    }

    @Test func unknownPathsAndMethodsGetJSONErrors() throws {
        let server = try startServer { r in r.get("/only-get") { _ in .respond(.empty(204)) } }
        defer { server.shutdown() }
        let nf = try client.send(ClientRequest(url: url(server, "/nope")))
        #expect(nf.status == 404 && nf.text.contains("\"code\":\"not_found\""))
        let na = try client.send(ClientRequest(method: "PUT", url: url(server, "/only-get")))
        #expect(na.status == 405 && na.header("Allow") == "GET")
    }

    @Test func bodiesOverTheCapGet413NotADroppedConnection() throws {
        let server = try startServer({ r in r.post("/in") { req in .respond(.text(200, "\(req.body.count)")) } },
                                     config: ServerConfiguration(port: 0, maxBodyBytes: 1024))
        defer { server.shutdown() }
        let ok = try client.send(ClientRequest(method: "POST", url: url(server, "/in"), body: [UInt8](repeating: 1, count: 1024)))
        #expect(ok.status == 200 && ok.text == "1024")
        let big = try client.send(ClientRequest(method: "POST", url: url(server, "/in"), body: [UInt8](repeating: 1, count: 2048)))
        #expect(big.status == 413 && big.text.contains("body_too_large"))
        // Chunked, so no Content-Length to refuse early.
        let chunked = try client.send(ClientRequest(method: "POST", url: url(server, "/in"),
                                                    headers: [("Transfer-Encoding", "chunked")],
                                                    body: [UInt8](repeating: 1, count: 5000)))
        #expect(chunked.status == 413)
        // The server still serves.
        #expect(try client.send(ClientRequest(method: "POST", url: url(server, "/in"), body: [1])).status == 200)
    }

    @Test func deferredHandlersAnswerFromAnotherThread() throws {
        let server = try startServer { r in
            r.get("/later") { _ in
                .deferred { responder in
                    Thread.detachNewThread {
                        usleep(50_000)
                        responder.respond(.text(200, "done"))
                        responder.respond(.text(500, "twice"))  // ignored
                    }
                }
            }
        }
        defer { server.shutdown() }
        for _ in 0..<3 {
            let r = try client.send(ClientRequest(url: url(server, "/later")))
            #expect(r.status == 200 && r.text == "done")
        }
    }

    @Test func idleAndSlowClientsAreCutOffAndCannotExhaustTheServer() throws {
        let server = try startServer({ r in r.get("/ping") { _ in .respond(.text(200, "pong")) } },
                                     config: ServerConfiguration(port: 0, connectionTimeout: 1, connectionLimit: 8))
        defer { server.shutdown() }
        // Fill every connection slot with clients that never finish their request.
        var sockets: [RawSocket] = []
        for _ in 0..<8 {
            let s = try RawSocket(port: server.port)
            s.send("GET /ping HTTP/1.1\r\nHost: x\r\n")  // headers never end
            sockets.append(s)
        }
        // The server closes them after its timeout...
        for s in sockets { #expect(s.readUntilClosed() != nil) }
        // ...and serves others again.
        let r = try client.send(ClientRequest(url: url(server, "/ping"), timeout: 5))
        #expect(r.status == 200 && r.text == "pong")
    }

    @Test func shutdownFinishesRequestsInFlight() throws {
        let server = try startServer { r in
            r.get("/slow") { _ in
                .deferred { responder in
                    Thread.detachNewThread { usleep(300_000); responder.respond(.text(200, "finished")) }
                }
            }
        }
        let result = Mutex<ClientResponse?>(nil)
        let port = server.port
        let t = Thread {
            let r = try? HTTPClient().send(ClientRequest(url: "http://127.0.0.1:\(port)/slow"))
            result.withLock { $0 = r }
        }
        t.start()
        usleep(100_000)
        server.shutdown(timeout: 5)
        usleep(100_000)
        let r = result.withLock { $0 }
        #expect(r?.status == 200 && r?.text == "finished")
        // And nothing listens any more.
        #expect(throws: ClientError.self) { try HTTPClient().send(ClientRequest(url: "http://127.0.0.1:\(port)/slow", timeout: 2)) }
    }

    @Test func servesHTTPSWithAPEMKeyAndCertificate() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem",
                       "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"]
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        let key = try String(contentsOfFile: "\(dir)/key.pem", encoding: .utf8)
        let cert = try String(contentsOfFile: "\(dir)/cert.pem", encoding: .utf8)
        let server = try startServer({ r in r.get("/s") { _ in .respond(.text(200, "secure")) } },
                                     config: ServerConfiguration(port: 0, tlsKeyPEM: key, tlsCertPEM: cert))
        defer { server.shutdown() }
        let r = try HTTPClient(caFile: "\(dir)/cert.pem").send(ClientRequest(url: url(server, "/s", scheme: "https")))
        #expect(r.status == 200 && r.text == "secure")
        // Plain HTTP to a TLS port is not served.
        #expect((try? client.send(ClientRequest(url: url(server, "/s"), timeout: 3)))?.status != 200)
    }

    @Test func listeningOnABadAddressIsAClearError() {
        #expect { _ = try startServer({ _ in }, config: ServerConfiguration(host: "not-an-ip", port: 0)) }
            throws: { ($0 as? ServerError)?.code == "listen_failed" }
    }
}

@Suite struct MalformedInputTests {
    @Test func garbageAndOversizedRequestsNeverTakeTheServerDown() throws {
        let server = try startServer({ r in r.get("/ping") { _ in .respond(.text(200, "pong")) } },
                                     config: ServerConfiguration(port: 0, connectionTimeout: 2))
        defer { server.shutdown() }
        var generator = SystemRandomNumberGenerator()
        let attacks: [String] = [
            "\r\n\r\n",
            "GARBAGE\r\n\r\n",
            "GET\r\n\r\n",
            "GET /ping HTTP/9.9\r\n\r\n",
            "GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
            "POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
            "POST /ping HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n",
            "GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 200_000))\r\n\r\n",
            "GET /\(String(repeating: "%", count: 5000)) HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /ping%00%ff HTTP/1.1\r\nHost: x\r\n\r\n",
            String((0..<3000).map { _ in Character(Unicode.Scalar(UInt8.random(in: 1...255, using: &generator))) }),
        ]
        for attack in attacks {
            let s = try RawSocket(port: server.port)
            s.send(attack)
            _ = s.readUntilClosed()
        }
        let r = try HTTPClient().send(ClientRequest(url: url(server, "/ping"), timeout: 5))
        #expect(r.status == 200 && r.text == "pong")
    }
}
