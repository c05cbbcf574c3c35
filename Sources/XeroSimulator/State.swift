import HTTPServer
import OrderedCollections
import Xero
import StrictJSON

/// One Xero organisation (tenant) and everything in it.
final class Organisation {
    let tenantId: String
    var name: String
    var shortCode: String
    var baseCurrency: String
    var countryCode: String
    let createdAt: Int64
    let brandingThemeId: String
    /// Xero's name of the organisation's time zone (`NEWZEALANDSTANDARDTIME`): its own day
    /// dates what has no date.
    var timezone: String
    /// Xero's end of year lock date (UTC midnight of the day, ms): nothing is approved on or before it.
    var endOfYearLockDate: Int64?

    // Contacts by lowercase ContactID in creation order, and the unique-name index of ACTIVE ones.
    var contacts: OrderedDictionary<String, Contact> = [:]
    var activeNames: [String: String] = [:]
    var contactNumbers: [String: String] = [:]
    /// Bumped on every contact change; keys the sorted-order cache.
    var contactVersion = 0
    var contactSortCache: [String: (version: Int, ids: [String])] = [:]
    var contactQueryCache: [String: (version: Int, ids: [String])] = [:]

    // Items by lowercase ItemID in creation order; upper-cased Code → id.
    var items: OrderedDictionary<String, Item> = [:]
    var itemCodes: [String: String] = [:]

    // Invoices by lowercase InvoiceID in creation order; upper-cased number → id.
    var invoices: OrderedDictionary<String, Invoice> = [:]
    var invoiceNumbers: [String: String] = [:]
    var nextInvoiceNumber = 1

    var idempotency: [String: IdempotencyEntry] = [:]
    var rate = RateState()

    init(tenantId: String, name: String, shortCode: String, baseCurrency: String, countryCode: String, createdAt: Int64) {
        self.tenantId = tenantId
        self.name = name
        self.shortCode = shortCode
        self.baseCurrency = baseCurrency
        self.countryCode = countryCode
        self.createdAt = createdAt
        brandingThemeId = Ids.uuid()
        timezone = countryCode.uppercased() == "AU" ? "AUSEASTERNSTANDARDTIME" : "NEWZEALANDSTANDARDTIME"
    }

    func contact(_ id: String) -> Contact? {
        guard let key = Ids.normalize(id) else { return nil }
        return contacts[key]
    }

    /// Stores a contact, keeping the name and number indexes right.
    func store(_ c: Contact) {
        let id = c.contactID!
        if let old = contacts[id] {
            if let n = old.name, old.isActive, activeNames[n.nameKey] == id { activeNames[n.nameKey] = nil }
            if let num = old.contactNumber, !num.isEmpty, contactNumbers[num.lowercased()] == id { contactNumbers[num.lowercased()] = nil }
        }
        contacts[id] = c
        if let n = c.name, c.isActive { activeNames[n.nameKey] = id }
        if let num = c.contactNumber, !num.isEmpty { contactNumbers[num.lowercased()] = id }
        contactVersion += 1
    }

    func item(_ id: String) -> Item? {
        guard let key = Ids.normalize(id) else { return nil }
        return items[key]
    }

    func item(code: String) -> Item? {
        itemCodes[code.uppercased()].flatMap { items[$0] }
    }

    func store(_ item: Item) {
        let id = item.itemID!
        if let old = items[id] {
            if let code = old.code, itemCodes[code.uppercased()] == id { itemCodes[code.uppercased()] = nil }
        }
        items[id] = item
        if let code = item.code { itemCodes[code.uppercased()] = id }
    }

    func deleteItem(_ id: String) {
        guard let old = items.removeValue(forKey: id) else { return }
        if let code = old.code, itemCodes[code.uppercased()] == id { itemCodes[code.uppercased()] = nil }
    }

    func invoice(_ idOrNumber: String) -> Invoice? {
        if let key = Ids.normalize(idOrNumber), let inv = invoices[key] { return inv }
        return invoiceNumbers[idOrNumber.uppercased()].flatMap { invoices[$0] }
    }

    func store(_ inv: Invoice) {
        let id = inv.invoiceID!
        if let old = invoices[id] {
            if let n = old.invoiceNumber, invoiceNumbers[n.uppercased()] == id { invoiceNumbers[n.uppercased()] = nil }
        }
        invoices[id] = inv
        if let n = inv.invoiceNumber, !n.isEmpty { invoiceNumbers[n.uppercased()] = id }
    }
}

/// A Xero user who can log in and consent for the organisations they belong to.
struct Login {
    let id: String  // xero_userid
    var email: String
    var password: String?
    var firstName: String
    var lastName: String
    var tenantIds: [String]
}

/// The parameters of one authorize request, carried through the login and consent pages.
struct AuthorizeRequest {
    let clientId: String
    let redirectURI: String
    let scope: [String]
    let state: String?
    let codeChallenge: String?
    let codeChallengeMethod: String?
}

struct LoginSession {
    let loginId: String
    let request: AuthorizeRequest
    let expires: Int64
}

struct AuthCode {
    let grantId: String
    let clientId: String
    let redirectURI: String
    let codeChallenge: String?
    let codeChallengeMethod: String?
    let expires: Int64
}

/// One consent: a user, the app, the scopes granted and the auth event it created.
struct Grant {
    let id: String
    let loginId: String
    let clientId: String
    let scope: [String]
    let authEventId: String
    let authTime: Int64
    let sessionId: String
    var revoked = false
    /// Exchanged with PKCE and no client secret: may refresh without one.
    var publicClient = false
}

struct AccessRecord {
    let grantId: String
    let expires: Int64
}

struct RefreshRecord {
    let grantId: String
    var lastUsed: Int64
    /// When a newer refresh token replaced this one; usable for 30 more minutes.
    var supersededAt: Int64?
}

/// A tenant connected to the app by a user.
struct SimConnection {
    let id: String
    let loginId: String
    let clientId: String
    let tenantId: String
    var authEventId: String
    let created: Int64
    var updated: Int64
}

struct IdempotencyEntry {
    let fingerprint: [UInt8]
    let response: Response
    let expires: Int64
}

/// Per-tenant counters: fixed windows that start with the first call.
struct RateState {
    var minuteStart: Int64 = 0
    var minuteCount = 0
    var dayStart: Int64 = 0
    var dayCount = 0
    var inFlight = 0
}

/// One logged API call.
struct CallRecord {
    let sequence: Int
    let at: Int64
    let method: String
    let path: String
    let query: String
    let headers: [(String, String)]
    let body: String
    let bodyBytes: Int
    var status = 0
    var durationMs = 0.0
    var tenantId: String?
    var fault: String?
    var rateLimitProblem: String?
    var responseBody = ""

    var json: JSON {
        var o = JSONObjectBuilder(capacity: 16)
        o.add("seq", JSON.number(sequence))
        o.add("at", XeroDate.formatISO(milliseconds: at))
        o.add("method", method)
        o.add("path", path)
        o.add("query", query)
        o.add("headers", JSON.object(headers.map { ($0.0, JSON.string($0.1)) }))
        o.add("tenantId", tenantId)
        o.add("idempotencyKey", headers.first { $0.0 == "Idempotency-Key" }?.1)
        o.add("ifModifiedSince", headers.first { $0.0 == "If-Modified-Since" }?.1)
        o.add("body", body)
        o.add("bodyBytes", JSON.number(bodyBytes))
        o.add("status", JSON.number(status))
        o.add("durationMs", JSON.double(durationMs))
        o.add("fault", fault)
        o.add("rateLimitProblem", rateLimitProblem)
        o.add("response", responseBody)
        return o.json
    }
}

/// An injected failure.
struct Fault {
    enum Kind: String, CaseIterable {
        // accounting calls
        case status500 = "500", status503 = "503", status429 = "429", hang
        // webhook payloads
        case drop, duplicate, delay, reorder, badSignature
    }

    let id: Int
    let kind: Kind
    var remaining: Int
    let tenantId: String?
    let pathContains: String?
    let method: String?
    let delayMs: Int
    /// For accounting faults: carry the request out before answering with the fault.
    let process: Bool
    let retryAfter: Int

    var isWebhook: Bool { [.drop, .duplicate, .delay, .reorder, .badSignature].contains(kind) }

    var json: JSON {
        var o = JSONObjectBuilder()
        o.add("id", JSON.number(id))
        o.add("kind", kind.rawValue)
        o.add("remaining", JSON.number(remaining))
        o.add("tenantId", tenantId)
        o.add("path", pathContains)
        o.add("method", method)
        o.add("delayMs", JSON.number(delayMs))
        o.add("process", process)
        o.add("retryAfter", JSON.number(retryAfter))
        return o.json
    }
}

/// Everything the simulator knows; only touched under `Simulator.world`'s lock.
final class World {
    // Organisations, logins and connections by id, in creation order.
    var orgs: OrderedDictionary<String, Organisation> = [:]
    var logins: OrderedDictionary<String, Login> = [:]
    var loginSessions: [String: LoginSession] = [:]
    var codes: [String: AuthCode] = [:]
    var grants: [String: Grant] = [:]
    var accessTokens: [String: AccessRecord] = [:]
    var refreshTokens: [String: RefreshRecord] = [:]
    var connections: OrderedDictionary<String, SimConnection> = [:]
    var calls: [CallRecord] = []
    var callSequence = 0
    var faults: [Fault] = []
    var faultSequence = 0
    var limits = RateLimits()
    var appMinuteStart: Int64 = 0
    var appMinuteCount = 0
    var clientId: String
    var clientSecret: String
    var redirectURIs: [String]

    init(clientId: String, clientSecret: String, redirectURIs: [String]) {
        self.clientId = clientId
        self.clientSecret = clientSecret
        self.redirectURIs = redirectURIs
    }

    func org(_ tenantId: String) -> Organisation? {
        guard let key = Ids.normalize(tenantId) else { return nil }
        return orgs[key]
    }

    func add(_ org: Organisation) {
        orgs[org.tenantId] = org
    }

    /// The live connection of this user and app to a tenant.
    func connection(loginId: String, clientId: String, tenantId: String) -> SimConnection? {
        connections.values.first { $0.loginId == loginId && $0.clientId == clientId && $0.tenantId == tenantId }
    }

    /// True when any user has this tenant connected to the app (webhooks go only to those).
    func isConnected(_ tenantId: String) -> Bool {
        connections.values.contains { $0.tenantId == tenantId && $0.clientId == clientId }
    }

    /// The call log keeps the latest 10 000 calls (bodies cut at 16 KB, answers at 2 KB).
    static let maxCalls = 10_000

    func append(_ call: CallRecord) {
        calls.append(call)
        if calls.count > World.maxCalls + 1000 { calls.removeFirst(calls.count - World.maxCalls) }
    }
}

/// The demo chart of accounts (NZ) and tax rates.
enum Chart {
    struct Account {
        let code: String
        let name: String
        let accountID: String
        let taxType: String
        let isRevenue: Bool
    }

    static let accounts: [Account] = [
        Account(code: "200", name: "Sales", accountID: "5040915e-8ce7-4177-8d08-fde416232f18", taxType: "OUTPUT2", isRevenue: true),
        Account(code: "260", name: "Other Revenue", accountID: "e0a4c0a2-6a3f-4d1b-9a0e-2f1f6d5b7c01", taxType: "OUTPUT2", isRevenue: true),
        Account(code: "270", name: "Interest Income", accountID: "7d0f3b2c-1e5a-4c6d-8f9a-0b1c2d3e4f02", taxType: "NONE", isRevenue: true),
        Account(code: "300", name: "Purchases", accountID: "c3b1a2d4-5e6f-4a7b-8c9d-0e1f2a3b4c03", taxType: "INPUT2", isRevenue: false),
        Account(code: "310", name: "Cost of Goods Sold", accountID: "a1b2c3d4-e5f6-4718-9a2b-3c4d5e6f7a04", taxType: "INPUT2", isRevenue: false),
        Account(code: "400", name: "Advertising", accountID: "b2c3d4e5-f6a7-4829-8b3c-4d5e6f7a8b05", taxType: "INPUT2", isRevenue: false),
        Account(code: "429", name: "General Expenses", accountID: "d4e5f6a7-b8c9-4a0b-9c1d-2e3f4a5b6c06", taxType: "INPUT2", isRevenue: false),
        Account(code: "630", name: "Inventory", accountID: "e5f6a7b8-c9d0-4e1f-8a2b-3c4d5e6f7a07", taxType: "INPUT2", isRevenue: false),
    ]

    static func account(_ code: String) -> Account? { accounts.first { $0.code == code } }

    /// Rates as Decimal4 fractions (0.15 = 1500 units).
    static let taxRates: [String: Decimal4] = [
        "OUTPUT2": Decimal4(units: 1500), "INPUT2": Decimal4(units: 1500), "NONE": .zero,
        "EXEMPTOUTPUT": .zero, "EXEMPTINPUT": .zero, "ZERORATEDOUTPUT": .zero, "ZERORATEDINPUT": .zero,
    ]
}
