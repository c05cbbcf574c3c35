import Foundation
import HTTPClient
import HTTPServer
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// A raw connection from a chosen loopback source address (127.0.0.0/8 is all loopback).
private func connect(port: UInt16, from source: String) -> Int32? {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var local = sockaddr_in()
    local.sin_family = sa_family_t(AF_INET)
    local.sin_addr.s_addr = inet_addr(source)
    var remote = sockaddr_in()
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_port = port.bigEndian
    remote.sin_addr.s_addr = inet_addr("127.0.0.1")
    let ok = withUnsafePointer(to: &local) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0 && withUnsafePointer(to: &remote) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
    guard ok else { close(fd); return nil }
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    return fd
}

/// Sends `request` on a fresh connection and returns what comes back until the server closes.
private func exchange(_ server: Server, _ request: String) throws -> String {
    let s = try RawSocket(port: server.port)
    s.send(request)
    return s.readUntilClosed() ?? ""
}

private func statusLines(_ response: String) -> Int {
    response.components(separatedBy: "HTTP/1.1 ").count - 1
}

@Suite struct FrontDoorTests {
    /// A route that counts the bodies it was handed.
    final class Counter: Sendable {
        let value = Atomic<Int>(0)
        func load(ordering _: AtomicLoadOrdering) -> Int { value.load(ordering: .relaxed) }
        func add(_ n: Int, ordering _: AtomicUpdateOrdering) { value.add(n, ordering: .relaxed) }
    }

    private func countingServer(_ config: ServerConfiguration = ServerConfiguration(port: 0)) throws -> (Server, Counter) {
        let handled = Counter()
        let server = try startServer({ r in
            r.post("/in") { _ in
                handled.add(1, ordering: .relaxed)
                return .respond(.empty(200))
            }
        }, config: config)
        return (server, handled)
    }

    @Test func conflictingContentLengthsGet400AndNoHandler() throws {
        let (server, handled) = try countingServer()
        defer { server.shutdown() }
        let r = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 8\r\n\r\nabcdefgh")
        #expect(r.hasPrefix("HTTP/1.1 400"))
        #expect(r.contains("bad_framing"))
        #expect(statusLines(r) == 1)
        // The same value twice is one length (RFC 9112 §6.3 lets a recipient accept it).
        let same = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc")
        #expect(same.hasPrefix("HTTP/1.1 200"))
        #expect(handled.load(ordering: .relaxed) == 1)
    }

    @Test func contentLengthWithTransferEncodingGets400AndNoHandler() throws {
        let (server, handled) = try countingServer()
        defer { server.shutdown() }
        let r = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n")
        #expect(r.hasPrefix("HTTP/1.1 400"))
        #expect(statusLines(r) == 1)
        #expect(handled.load(ordering: .relaxed) == 0)
    }

    /// libmicrohttpd 0.9.75 answers these itself, before any handler, and repeats its status line
    /// and headers (a library bug; the README says so). What matters: refused, nothing handled.
    @Test func malformedContentLengthIsRefusedAndNeverReachesAHandler() throws {
        let (server, handled) = try countingServer()
        defer { server.shutdown() }
        for value in ["-1", "abc", "1 2"] {
            let r = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: \(value)\r\n\r\n")
            #expect(r.hasPrefix("HTTP/1.1 400"), "Content-Length: \(value)")
        }
        let huge = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999999\r\n\r\n")
        #expect(huge.hasPrefix("HTTP/1.1 413"))
        #expect(handled.load(ordering: .relaxed) == 0)
    }

    @Test func perAddressLimitRefusesTheExcessAndOthersStillGetIn() throws {
        let server = try startServer({ r in r.get("/ping") { _ in .respond(.text(200, "pong")) } },
                                     config: ServerConfiguration(port: 0, perAddressConnectionLimit: 4))
        defer { server.shutdown() }
        var fds: [Int32] = []
        defer { for fd in fds { close(fd) } }
        for _ in 0..<8 {
            if let fd = connect(port: server.port, from: "127.0.0.7") { fds.append(fd) }
        }
        usleep(300_000)
        // The server closes what is over the limit at once: those read end-of-stream.
        var closedByServer = 0
        for fd in fds {
            var byte: UInt8 = 0
            let n = recv(fd, &byte, 1, Int32(MSG_DONTWAIT))
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) { closedByServer += 1 }
        }
        #expect(fds.count == 8)
        #expect(closedByServer == 4)
        let r = try HTTPClient().send(ClientRequest(url: url(server, "/ping"), timeout: 5))
        #expect(r.status == 200)
    }

    @Test func headersMustArriveBeforeTheDeadlineEvenAsATrickle() throws {
        let server = try startServer({ r in r.get("/ping") { _ in .respond(.text(200, "pong")) } },
                                     config: ServerConfiguration(port: 0, connectionTimeout: 30, headerTimeout: 1))
        defer { server.shutdown() }
        let s = try RawSocket(port: server.port)
        let start = Date()
        s.send("GET /ping HTTP/1.1\r\n")
        // A byte every 300 ms would keep libmicrohttpd's idle timeout (30 s) from ever firing.
        let fd = s.fd
        let trickle = Thread {
            for _ in 0..<20 {
                usleep(300_000)
                var x: UInt8 = 88
                if Glibc.send(fd, &x, 1, Int32(MSG_NOSIGNAL)) < 0 { return }
            }
        }
        trickle.start()
        #expect(s.readUntilClosed() != nil)
        let took = Date().timeIntervalSince(start)
        #expect(took < 3, "cut off after \(took) s")
        #expect(server.abuseCounters.headerTimeouts >= 1)
    }

    @Test func bodyBudgetRefusesLargeBodiesWith503ButLetsSmallOnesIn() throws {
        let config = ServerConfiguration(port: 0, maxBodyBytes: 1 << 20, unverifiedBodyBudget: 3 << 20,
                                         smallBodyBytes: 64 << 10, smallBodyReserve: 1 << 20)
        let (server, handled) = try countingServer(config)
        defer { server.shutdown() }
        // Two held-open 1 MiB bodies fill the part of the budget large bodies may use...
        var held: [RawSocket] = []
        for _ in 0..<2 {
            let s = try RawSocket(port: server.port)
            s.send("POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: \(1 << 20)\r\n\r\n" + String(repeating: "a", count: 1000))
            held.append(s)
        }
        usleep(200_000)
        // ...so a third is refused at once, before its body is read.
        let third = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: \(1 << 20)\r\n\r\n")
        #expect(third.hasPrefix("HTTP/1.1 503"))
        #expect(third.contains("Retry-After: 5"))
        // A small body still gets in.
        let small = try exchange(server, "POST /in HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello")
        #expect(small.hasPrefix("HTTP/1.1 200"))
        #expect(handled.load(ordering: .relaxed) == 1)
        held.removeAll()
        // Closed connections give their share back.
        let deadline = Date().addingTimeInterval(3)
        while server.bufferedBodyBytes > 0 && Date() < deadline { usleep(20_000) }
        #expect(server.bufferedBodyBytes == 0)
    }

    @Test func connectionLimitIsSizedToTheDescriptorLimit() throws {
        let server = try startServer({ _ in }, config: ServerConfiguration(port: 0))
        defer { server.shutdown() }
        var r = rlimit()
        getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &r)
        #expect(r.rlim_cur == r.rlim_max)
        #expect(server.effectiveConnectionLimit > 0 && server.effectiveConnectionLimit <= Int(r.rlim_cur))
    }
}
