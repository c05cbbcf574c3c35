import Foundation
import HTTPClient
import InMemoryLogging
import Logging
import Testing
@testable import Gateway

/// No value from outside can forge a log line (issue 13): one handler escapes everything the
/// gateway logs.
@Suite struct LogInjectionTests {
    @Test func controlCharactersAreEscapedAndPlainTextIsLeftAlone() {
        #expect(LogText.escaped("x\nforged") == #"x\nforged"#)
        #expect(LogText.escaped("a\r\nb\tc") == #"a\r\nb\tc"#)
        #expect(LogText.escaped("\u{1B}[31mred\u{7F}\u{85}") == #"\u{1B}[31mred\u{7F}\u{85}"#)
        #expect(LogText.escaped("line\u{2028}sep \u{202E}evil") == #"line\u{2028}sep \u{202E}evil"#)
        #expect(LogText.escaped(#"a\nb"#) == #"a\\nb"#)   // a literal backslash-n cannot pass for an escape
        #expect(LogText.escaped("Kōwhai Nursery — 12 € ✓") == "Kōwhai Nursery — 12 € ✓")
    }

    @Test func theHandlerEscapesMessageMetadataAndErrorsOnceOnly() {
        struct Failure: Error, CustomStringConvertible { var description: String { "bad\nthing" } }
        let memory = InMemoryLogHandler()
        let logger = Logger(label: "t") { _ in memory }.escaping().escaping()
        logger.info("a\nb", metadata: ["k": "v\nw", "list": ["x\ny"], "nested": ["inner": "z\r"], "plain": "ok"])
        logger.error("failed", error: Failure())
        let first = try! #require(memory.entries.first)
        #expect(first.message.description == #"a\nb"#)
        #expect(first.metadata["k"] == .string(#"v\nw"#))
        #expect(first.metadata["list"] == .array([.string(#"x\ny"#)]))
        #expect(first.metadata["nested"] == .dictionary(["inner": .string(#"z\r"#)]))
        #expect(first.metadata["plain"] == .string("ok"))
        #expect(memory.entries.last?.error.map { "\($0)" } == #"bad\nthing"#)
    }

    @Test func anOAuthCallbacksErrorWithANewlineIsOneEntryWithoutANewline() throws {
        let g = try TestGateway()
        let admin = try g.gateway.accounts.createAccount(name: "A")
        _ = try g.gateway.accounts.activate(accountId: try #require(admin.accountId))
        let login = try g.request("POST", "/admin/login", headers: [("Content-Type", "application/x-www-form-urlencoded")],
                                  body: Array("token=\(admin.token)".utf8))
        let cookie = try #require(login.header("Set-Cookie")?.split(separator: ";").first.map(String.init))
        let connect = try g.request("GET", "/oauth/xero/connect", headers: [("Cookie", cookie)])
        #expect(connect.status == 302)
        let location = try #require(connect.header("Location"))
        let state = try #require(URLComponents(string: location)?.queryItems?.first { $0.name == "state" }?.value)
        let forged = "x%0Aforged%0D%0A2026-12-06T12:00:00%2B0000%20critical%20xero-gateway%20:%20accountId=other%20support%20reset"
        let r = try g.request("GET", "/oauth/xero/callback?state=\(state)&error=\(forged)", headers: [("Cookie", cookie)])
        #expect(r.status == 303 && r.header("Location") == "/admin/xero?m=xero_error")
        let entries = g.logs.entries.filter { "\($0.message) \($0.metadata)".contains("forged") }
        #expect(entries.count == 1)
        let text = try #require(entries.first.map { "\($0.message) \($0.metadata)" })
        #expect(!text.contains("\n") && !text.contains("\r"), "\(text)")
        #expect(text.contains(#"x\nforged\r\n2026"#))
        #expect(!g.logText.split(separator: "\n").contains { $0.hasPrefix("forged") || $0.hasPrefix("2026-12-06") })
    }
}
