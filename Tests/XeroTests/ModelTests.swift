import Testing
import Xero
import StrictJSON

/// Objects with their keys sorted, recursively: key order is not part of JSON's meaning.
func canonical(_ j: JSON) -> JSON {
    switch j {
    case .object(let m): return .object(m.map { ($0.key, canonical($0.value)) }.sorted { $0.0 < $1.0 })
    case .array(let a): return .array(a.map(canonical))
    default: return j
    }
}

/// Canonical text: compares number spellings (349.00 vs 349) as well as values.
func same(_ a: JSON, _ b: JSON) -> Bool { XeroWire.string(canonical(a)) == XeroWire.string(canonical(b)) }

@Suite("Xero models")
struct ModelTests {
    @Test("Decimal4: exact parsing, rounding half away from zero, fixed-point text")
    func decimals() {
        #expect(Decimal4("349.00")?.units == 3_490_000)
        #expect(Decimal4("1e-3")?.units == 10)
        #expect(Decimal4("2.5E2") == Decimal4(250))
        #expect(Decimal4("1.23456") == Decimal4("1.2346"))
        #expect(Decimal4("-0.00005") == Decimal4("-0.0001"))
        #expect(Decimal4("0.1")!.formatted(places: 2) == "0.10")
        #expect(Decimal4("-1.005")!.formatted(places: 2) == "-1.01")
        #expect(Decimal4("12.3456")!.formatted(places: 6) == "12.345600")
        #expect(Decimal4("332.50")!.multiplied(by: Decimal4("0.15")!).rounded(places: 2) == Decimal4("49.88"))
        #expect(Decimal4("115")!.taxIncluded(rate: Decimal4("0.15")!) == Decimal4(15))
        #expect(Decimal4("abc") == nil && Decimal4("") == nil && Decimal4("1.2.3") == nil && Decimal4("1e999") == nil)
        #expect(Decimal4("99999999999999999999") == nil)
        #expect(Decimal4("3.5")!.description == "3.5")
    }

    @Test("contacts page fixture: decode and encode back to the same JSON")
    func contactsRoundTrip() throws {
        let source = try JSON.parse(Fixtures.text("contacts_get_page1.json"))
        let env = try ResponseEnvelope<Contact>(json: source)
        #expect(env.pagination == Pagination(page: 1, pageSize: 100, pageCount: 1, itemCount: 5))
        try #require(env.elements.count == 5)
        let cafe = env.elements[0]
        #expect(cafe.address(Address.street)?.addressLine1 == "12 Oriental Parade")
        #expect(cafe.phone(Phone.defaultType)?.formatted == "64 04 384 9921")
        #expect(cafe.updatedDateUTC == 1_784_517_247_123)
        #expect(cafe.balances?.accountsReceivable.outstanding == Decimal4("1150"))
        #expect(env.elements[2].contactStatus == .archived && !env.elements[2].isActive)
        #expect(same(env.json(), source))
        // The wire form escapes the slashes of dates, like Xero.
        #expect(XeroWire.string(env.json()).contains(#""UpdatedDateUTC":"\/Date(1784517247123+0000)\/""#))
    }

    @Test("items, invoice, summarizeErrors=false and validation fixtures round-trip")
    func otherRoundTrips() throws {
        let items = try JSON.parse(Fixtures.text("items_get.json"))
        let itemEnv = try ResponseEnvelope<Item>(json: items)
        #expect(itemEnv.elements.first?.salesDetails?.unitPrice == Decimal4(95))
        #expect(same(itemEnv.json(XeroEncodingOptions(unitDecimalPlaces: 4)), items))

        let invoice = try JSON.parse(Fixtures.text("invoice_put_response.json"))
        let invEnv = try ResponseEnvelope<Invoice>(json: invoice)
        let inv = try #require(invEnv.elements.first)
        #expect(inv.total == Decimal4("1185.08") && inv.type == .accRec && inv.status == .authorised)
        #expect(inv.lineItems?.first?.quantity == Decimal4(2))
        #expect(same(invEnv.json(), invoice))

        let request = try ResponseEnvelope<Invoice>(json: JSON.parse(Fixtures.text("invoice_put_request.json")))
        #expect(request.elements.first?.date == 1_784_678_400_000)
        #expect(request.elements.first?.lineAmountTypes == .exclusive)

        let post = try JSON.parse(Fixtures.text("contacts_post_summarize_errors_false.json"))
        let postEnv = try ResponseEnvelope<Contact>(json: post)
        try #require(postEnv.elements.count == 2)
        #expect(postEnv.elements[1].validationErrors?.first?.message.hasPrefix("The contact name Harbour View Cafe Ltd") == true)
        #expect(same(postEnv.json(), post))

        let error = try ValidationException(json: JSON.parse(Fixtures.text("error_400_validation_contacts.json")))
        #expect(error.validationMessages.count == 2)
        #expect(same(error.json, try JSON.parse(Fixtures.text("error_400_validation_contacts.json"))))
        let echoed = try error.elements.map { try Contact(json: $0) }
        #expect(same(.object([("Elements", .array(echoed.map(\.json)))]),
                     .object([("Elements", .array(error.elements))])))
    }

    @Test("identity and problem fixtures")
    func identity() throws {
        let conns = try #require(try JSON.parse(Fixtures.text("connections_get.json")).arrayValue).map { try XeroConnection(json: $0) }
        try #require(conns.count == 2)
        #expect(conns[0].tenantName == "Harbour Hardware Ltd")
        #expect(XeroConnection.formatDate(conns[0].createdDateUtc) == "2026-03-14T02:11:09.0030000")
        let token = try XeroTokenResponse(json: JSON.parse(Fixtures.text("token_response.json")))
        #expect(token.expiresIn == 1800 && token.refreshToken != nil)
        #expect(same(token.json, try JSON.parse(Fixtures.text("token_response.json"))))
        let expired = try XeroProblem(json: JSON.parse(Fixtures.text("error_401_token_expired.json")))
        #expect(expired.isTokenExpired && expired.status == 401)
        #expect(same(expired.json, try JSON.parse(Fixtures.text("error_401_token_expired.json"))))
        #expect(same(try XeroProblem(json: JSON.parse(Fixtures.text("error_403_forbidden.json"))).json, try JSON.parse(Fixtures.text("error_403_forbidden.json"))))
    }

    @Test("webhook fixture signatures: the rule the simulator signs with")
    func signatures() {
        let v = WebhookVerifier(webhookKey: "fixture-webhook-key-NOT-REAL-3u1Qm7Yt0d9Vb2Xn")
        #expect(v.signature(for: Array(Fixtures.text("webhook_events.json").utf8)) == "yIyHB4L9nOzZvawLjtNqg+vWLQRZG45gLNUoHWzkkXk=")
        #expect(v.signature(for: Array(Fixtures.text("webhook_intent_to_receive.json").utf8)) == "0UIjXqjbGv/vvAep+sQc05v8wFggsp6Niau3A/eRWlc=")
    }
}
