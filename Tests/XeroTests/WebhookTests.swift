import Crypto
import Testing
import Xero
import StrictJSON

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

    @Test func r16_aSignatureThatDiffersOnlyInItsLastByteIsRefused() throws {
        let v = WebhookVerifier(webhookKey: "k")
        let body = Array(#"{"events":[],"firstEventSequence":0,"lastEventSequence":0,"entropy":"e"}"#.utf8)
        var raw = try #require(Base64.decode(v.signature(for: body)))
        #expect(raw.count == 32)
        for bit in [UInt8(1), 0x80] {
            var forged = raw
            forged[31] ^= bit
            #expect(!v.isValid(body: body, signature: Base64.encode(forged)))
        }
        raw[0] ^= 1
        #expect(!v.isValid(body: body, signature: Base64.encode(raw)))
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
        let e = try #require(p.events.first)
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

    @Test func r16_caseOfTypeAndIdsIsNormalisedForDeduplication() throws {
        let body = #"{"events":[{"resourceUrl":"u","resourceId":"ABC-1","tenantId":"T-1","tenantType":"ORGANISATION","eventCategory":"contact","eventType":"Update","eventDateUtc":"2024-06-21T01:15:39.9"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"x"}"#
        let e = try #require(WebhookPayload.parse(Array(body.utf8)).events.first)
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
        #expect(p.problems.first?.contains(reason) == true)
    }

    @Test(arguments: ["0000-01-01T00:00:00+23:59", "1899-12-31T23:59:59", "10000-01-01T00:00:00"])
    func r16_outOfRangeEventDatesAreUnreadableNotStoredMalformed(_ date: String) {
        let body = #"{"events":[{"resourceUrl":"u","resourceId":"r1","tenantId":"t1","tenantType":"ORGANISATION","eventCategory":"CONTACT","eventType":"UPDATE","eventDateUtc":"\#(date)"}],"firstEventSequence":1,"lastEventSequence":1,"entropy":"x"}"#
        let p = WebhookPayload.parse(Array(body.utf8))
        #expect(p.events.isEmpty)
        #expect(p.problems.count == 1)
    }

    @Test func r16_badElementsAreSetAsideGoodOnesKept() {
        let body = #"{"events":[{"resourceId":"a","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"2024-06-21T01:15:39.902"},{"resourceId":"b","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"yesterday"},{"tenantId":"t"},7,{"resourceId":"a b","tenantId":"t","eventCategory":"CONTACT","eventType":"CREATE","eventDateUtc":"2024-06-21T01:15:39"}]}"#
        let p = WebhookPayload.parse(Array(body.utf8))
        #expect(p.events.map(\.resourceId) == ["a"])
        #expect(p.problems.count == 4)
        #expect(p.problems.first?.hasPrefix("events[1]") == true)
    }
}
