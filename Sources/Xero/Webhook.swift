import Crypto
import StrictJSON

/// Verifies `x-xero-signature`: base64(HMAC-SHA256(webhook key as-is, raw body)).
public struct WebhookVerifier: Sendable {
    private let key: [UInt8]

    public init(webhookKey: String) { key = Array(webhookKey.utf8) }

    /// The header value Xero would send for `body`.
    public func signature(for body: [UInt8]) -> String {
        Base64.encode(Crypto.hmacSHA256(key: key, message: body))
    }

    /// True only for a well-formed base64 signature that matches, compared in constant time.
    public func isValid(body: [UInt8], signature: String?) -> Bool {
        guard let signature, signature.utf8.count == 44, let given = Base64.decode(signature), given.count == 32 else {
            return false
        }
        guard let expected = body.withUnsafeBytes({ Crypto.hmacSHA256(key: key, message: $0) }) else { return false }
        return Crypto.constantTimeEquals(expected, given)
    }
}

/// One event of a webhook payload, checked and normalised.
public struct WebhookEvent: Sendable, Equatable {
    public let resourceUrl: String
    public let resourceId: String
    public let tenantId: String
    public let tenantType: String
    public let eventCategory: String
    public let eventType: String
    /// Canonical UTC, e.g. `2024-06-21T01:15:39.902Z`.
    public let eventDateUtc: String
    /// The same instant in milliseconds since the epoch.
    public let eventDateMilliseconds: Int64
}

/// A webhook body read as far as it can be: good events, and a reason for each part that is not.
public struct WebhookPayload: Sendable {
    public var events: [WebhookEvent]
    public var problems: [String]
    public var firstEventSequence: Int?
    public var lastEventSequence: Int?

    /// Reads a verified body. A body that is not a Xero payload gives no events and one problem.
    public static func parse(_ body: [UInt8]) -> WebhookPayload {
        let json: JSON
        do {
            json = try JSON.parse(body)
        } catch {
            return WebhookPayload(events: [], problems: ["body is not JSON: \(error)"])
        }
        guard case .object = json else {
            return WebhookPayload(events: [], problems: ["body is not a JSON object"])
        }
        guard let items = json["events"]?.arrayValue else {
            return WebhookPayload(events: [], problems: ["body has no \"events\" array"])
        }
        var out = WebhookPayload(events: [], problems: [],
                                 firstEventSequence: json["firstEventSequence"]?.intValue,
                                 lastEventSequence: json["lastEventSequence"]?.intValue)
        out.events.reserveCapacity(items.count)
        for (n, item) in items.enumerated() {
            switch event(item) {
            case .success(let e): out.events.append(e)
            case .failure(let why): out.problems.append("events[\(n)]: \(why.message)")
            }
        }
        return out
    }

    struct Problem: Error { let message: String }

    /// Event dates outside 1900-01-01 … 9999-12-31 UTC are unreadable, not stored malformed.
    static let eventDateRange: ClosedRange<Int64> = -2_208_988_800_000 ... 253_402_300_799_999

    static func event(_ j: JSON) -> Result<WebhookEvent, Problem> {
        guard case .object = j else { return .failure(Problem(message: "not an object")) }
        func field(_ name: String, max: Int = 100) -> Result<String, Problem> {
            guard let v = j[name]?.stringValue, !v.isEmpty else {
                return .failure(Problem(message: "missing \(name)"))
            }
            guard v.utf8.count <= max else { return .failure(Problem(message: "\(name) is too long")) }
            return .success(v)
        }
        func identifier(_ name: String) -> Result<String, Problem> {
            field(name).flatMap { v in
                v.utf8.allSatisfy { isIdentifierByte($0) } ? .success(v)
                    : .failure(Problem(message: "\(name) is not an identifier"))
            }
        }
        do {
            let resourceId = try identifier("resourceId").get()
            let tenantId = try identifier("tenantId").get()
            let category = try identifier("eventCategory").get()
            let type = try identifier("eventType").get()
            let dateText = try field("eventDateUtc", max: 40).get()
            guard let ms = XeroDate.parseISO(dateText) else {
                return .failure(Problem(message: "eventDateUtc is not a date: \(dateText.prefix(40))"))
            }
            guard WebhookPayload.eventDateRange.contains(ms) else {
                return .failure(Problem(message: "eventDateUtc is out of range (1900–9999): \(dateText.prefix(40))"))
            }
            let tenantType = j["tenantType"]?.stringValue ?? "ORGANISATION"
            let url = j["resourceUrl"]?.stringValue ?? ""
            guard url.utf8.count <= 2048, tenantType.utf8.count <= 40 else {
                return .failure(Problem(message: "resourceUrl or tenantType is too long"))
            }
            return .success(WebhookEvent(resourceUrl: url, resourceId: resourceId.lowercased(),
                                         tenantId: tenantId.lowercased(), tenantType: tenantType.uppercased(),
                                         eventCategory: category.uppercased(), eventType: type.uppercased(),
                                         eventDateUtc: XeroDate.formatISO(milliseconds: ms),
                                         eventDateMilliseconds: ms))
        } catch let p {
            return .failure(p)
        }
    }

    static func isIdentifierByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F
    }
}
