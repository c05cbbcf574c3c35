import Foundation
import HTTPClient
import HTTPServer
import Testing

@Suite struct HTTPClientTests {
    func serve(_ configure: (inout Router) -> Void) throws -> Server {
        var router = Router()
        configure(&router)
        let s = Server(configuration: ServerConfiguration(port: 0), router: router)
        try s.start()
        return s
    }

    @Test func sendsMethodHeadersAndBodyAndReadsTheResponse() throws {
        let server = try serve { r in
            r.add("PUT", "/x") { req in
                var resp = Response.text(201, "\(req.method) \(req.headers["Authorization"] ?? "") \(req.body.count)")
                resp.headers.add("X-Answer", "42")
                return .respond(resp)
            }
        }
        defer { server.shutdown() }
        let r = try HTTPClient().send(ClientRequest(method: "PUT", url: "http://127.0.0.1:\(server.port)/x",
                                                    headers: [("Authorization", "Bearer t")], body: [1, 2, 3]))
        #expect(r.status == 201)
        #expect(r.text == "PUT Bearer t 3")
        #expect(r.header("x-answer") == "42")
    }

    @Test func aServerThatDoesNotAnswerIsATimeout() throws {
        let server = try serve { r in
            r.get("/hang") { _ in .deferred { responder in
                Thread.detachNewThread { sleep(3); responder.respond(.empty(200)) }
            } }
        }
        defer { server.shutdown() }
        #expect { try HTTPClient().send(ClientRequest(url: "http://127.0.0.1:\(server.port)/hang", timeout: 0.5)) }
            throws: { ($0 as? ClientError)?.isTimeout == true }
    }

    @Test func nobodyListeningIsATransportError() {
        #expect { try HTTPClient().send(ClientRequest(url: "http://127.0.0.1:1/", timeout: 2)) }
            throws: { ($0 as? ClientError)?.code == .transport }
    }
}
