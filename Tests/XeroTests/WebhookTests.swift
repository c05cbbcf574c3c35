import Testing
import Xero

@Suite struct WebhookSignatureTests {
    let verifier = WebhookVerifier(webhookKey: Fixtures.webhookKey)

    @Test(arguments: [
        ("webhook_events.json", "yIyHB4L9nOzZvawLjtNqg+vWLQRZG45gLNUoHWzkkXk="),
        ("webhook_creditnote_event.json", "yaLetIWoA/OZvnrUBhgpE/aJu6X4FuD0AnwBqF7c5OU="),
        ("webhook_intent_to_receive.json", "0UIjXqjbGv/vvAep+sQc05v8wFggsp6Niau3A/eRWlc="),
    ])
    func r16_fixtureSignaturesVerify(file: String, signature: String) throws {
        let body = try Fixtures.bytes(file)
        #expect(verifier.signature(for: body) == signature)
        #expect(verifier.isValid(body: body, signature: signature))
    }

    @Test func r16_rejectsWrongKeyTamperedBodyMissingAndMalformedSignatures() throws {
        let body = try Fixtures.bytes("webhook_events.json")
        let good = "yIyHB4L9nOzZvawLjtNqg+vWLQRZG45gLNUoHWzkkXk="
        #expect(!WebhookVerifier(webhookKey: "another-key").isValid(body: body, signature: good))
        var tampered = body
        tampered[tampered.count / 2] ^= 0x01
        #expect(!verifier.isValid(body: tampered, signature: good))
        #expect(!verifier.isValid(body: body, signature: nil))
        #expect(!verifier.isValid(body: body, signature: ""))
        #expect(!verifier.isValid(body: body, signature: "not base64 at all!!"))
        #expect(!verifier.isValid(body: body, signature: String(good.dropLast(2))))
        #expect(!verifier.isValid(body: body, signature: good.lowercased()))
        #expect(!verifier.isValid(body: [], signature: good))
        // Hex instead of base64 (a common mistake) is not accepted either.
        #expect(!verifier.isValid(body: body, signature: "c88c87"))
    }

    @Test func r16_emptyBodyVerifiesOnlyWithItsOwnSignature() {
        let sig = verifier.signature(for: [])
        #expect(verifier.isValid(body: [], signature: sig))
        #expect(!verifier.isValid(body: [0x20], signature: sig))
    }
}

@Suite struct WebhookPayloadTests {
    @Test func r16_readsXeroEventsAndNormalisesThem() throws {
        let p = WebhookPayload.parse(try Fixtures.bytes("webhook_events.json"))
        #expect(p.problems.isEmpty)
        #expect(p.events.count == 2)
        let e = p.events[0]
        #expect(e.eventCategory == "CONTACT" && e.eventType == "UPDATE")
        #expect(e.tenantId == "b8f3a2c1-6d4e-4f90-a1b7-3c5e9d0f2a64")
        #expect(e.eventDateUtc.hasSuffix("Z"))
        #expect(e.resourceUrl.contains("/Contacts/"))
    }

    @Test func r16_intentToReceiveHasNoEventsAndNoProblems() throws {
        let p = WebhookPayload.parse(try Fixtures.bytes("webhook_intent_to_receive.json"))
        #expect(p.events.isEmpty && p.problems.isEmpty)
        #expect(p.firstEventSequence == 0)
    }

    @Test func r16_unknownCategoriesAreReadNotRefused() throws {
        let p = WebhookPayload.parse(try Fixtures.bytes("webhook_creditnote_event.json"))
        #expect(p.problems.isEmpty)
        #expect(p.events.first?.eventCategory == "CREDITNOTE")
    }

    @Test func r16_caseOfTypeAndIdsIsNormalisedForDeduplication() {
        let body = #"{"events":[{"resourceUrl":"u","resourceId":"ABC-1","tenantId":"T-1","tenantType":"ORGANISATION","eventCategory":"contact","eventType":"Update","eventDateUtc":"2024-06-21T01:15:39.9"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"x"}"#
        let e = WebhookPayload.parse(Array(body.utf8)).events[0]
        #expect(e.resourceId == "abc-1" && e.tenantId == "t-1")
        #expect(e.eventCategory == "CONTACT" && e.eventType == "UPDATE")
        #expect(e.eventDateUtc == "2024-06-21T01:15:39.900Z")
    }

    @Test(arguments: [
        ("not json", "not JSON"),
        ("[1,2]", "not a JSON object"),
        (#"{"entropy":"x"}"#, "no \"events\""),
        ("", "not JSON"),
        (String(repeating: "[", count: 100_000), "not JSON"),
    ])
    func r16_unreadableBodiesAreReportedNotCrashed(body: String, reason: String) {
        let p = WebhookPayload.parse(Array(body.utf8))
        #expect(p.events.isEmpty)
        #expect(p.problems.count == 1)
        #expect(p.problems[0].contains(reason))
    }

    @Test func r16_badElementsAreSetAsideGoodOnesKept() {
        let body = #"{"events":[{"resourceId":"a","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"2024-06-21T01:15:39.902"},{"resourceId":"b","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"yesterday"},{"tenantId":"t"},7,{"resourceId":"a b","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"2024-06-21T01:15:39"}]}"#
        let p = WebhookPayload.parse(Array(body.utf8))
        #expect(p.events.map(\.resourceId) == ["a"])
        #expect(p.problems.count == 4)
        #expect(p.problems[0].hasPrefix("events[1]"))
    }
}

@Suite struct XeroDateTests {
    @Test(arguments: [
        ("2024-06-21T01:15:39.902", "2024-06-21T01:15:39.902Z"),
        ("2024-06-21T01:15:39", "2024-06-21T01:15:39.000Z"),
        ("2024-06-21T01:15:39.9025400", "2024-06-21T01:15:39.902Z"),
        ("2024-06-21T01:15:39Z", "2024-06-21T01:15:39.000Z"),
        ("2020-02-06T12:17:43.202-08:00", "2020-02-06T20:17:43.202Z"),
        ("2020-02-06T12:17:43+0130", "2020-02-06T10:47:43.000Z"),
    ])
    func parsesISOFormsAsUTC(text: String, canonical: String) throws {
        let ms = try #require(XeroDate.parseISO(text))
        #expect(XeroDate.formatISO(milliseconds: ms) == canonical)
    }

    @Test(arguments: ["", "2024-06-21", "2024-13-01T00:00:00", "2024-02-30T00:00:00", "2024-06-21T01:15:39.", "2024-06-21T01:15:39+5", "2024-06-21T01:15:39 junk"])
    func rejectsNonDates(_ text: String) {
        #expect(XeroDate.parseISO(text) == nil)
    }

    @Test func msDates() {
        #expect(XeroDate.parseMS("/Date(1573755038314)/") == 1573755038314)
        #expect(XeroDate.parseMS("/Date(1503348544227+0000)/") == 1503348544227)
        #expect(XeroDate.parseMS("/Date(x)/") == nil)
        #expect(XeroDate.formatMS(milliseconds: 5) == "/Date(5+0000)/")
    }
}

@Suite struct JSONTests {
    @Test func parsesAndSerialisesRoundTrip() throws {
        let text = #"{"a":[1,-2.5e3,true,false,null],"b":"x\"y\\z\n\u00e9\ud83d\ude00","c":{}}"#
        let v = try JSON.parse(text)
        #expect(v["b"]?.stringValue == "x\"y\\z\né😀")
        #expect(try JSON.parse(v.serialized) == v)
        #expect(v["a"]?.arrayValue?.count == 5)
    }

    @Test(arguments: ["{", "[1,]", "{\"a\" 1}", "01", "1.", "\"\\x\"", "\"\u{01}\"", "tru", "\"\\ud800\"", "{} x", "-", "1e999"])
    func rejectsInvalid(_ text: String) {
        #expect(throws: JSONError.self) { try JSON.parse(text) }
    }

    @Test func deepNestingIsRefusedNotACrash() {
        #expect(throws: JSONError.self) { try JSON.parse(String(repeating: "[", count: 1_000_000)) }
        #expect(throws: JSONError.self) { try JSON.parse(Array([0xff, 0xfe])) }
        #expect(throws: JSONError.self) { try JSON.parse([0x22, 0xc3, 0x28, 0x22]) }  // invalid UTF-8
    }
}
