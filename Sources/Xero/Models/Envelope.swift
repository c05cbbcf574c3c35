import StrictJSON
/// `pagination` of a paged response.
public struct Pagination: Sendable, Equatable {
    public var page: Int
    public var pageSize: Int
    public var pageCount: Int
    public var itemCount: Int

    public init(page: Int, pageSize: Int, pageCount: Int, itemCount: Int) {
        self.page = page
        self.pageSize = pageSize
        self.pageCount = pageCount
        self.itemCount = itemCount
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json, path: "pagination")
        page = try f.int("page") ?? 1
        pageSize = try f.int("pageSize") ?? 0
        pageCount = try f.int("pageCount") ?? 0
        itemCount = try f.int("itemCount") ?? 0
    }

    public var json: JSON {
        .object([("page", .number(page)), ("pageSize", .number(pageSize)),
                 ("pageCount", .number(pageCount)), ("itemCount", .number(itemCount))])
    }
}

/// Xero's response envelope: `{Id, Status, ProviderName, DateTimeUTC, [pagination], [Warnings], Contacts: […]}`.
public struct ResponseEnvelope<Element: XeroModel>: Sendable {
    public var id: String
    public var status: String
    public var providerName: String
    /// Milliseconds since the epoch; written as `/Date(ms)/` without an offset.
    public var dateTimeUTC: Int64
    public var pagination: Pagination?
    public var warnings: [ValidationError]?
    public var elements: [Element]

    public init(id: String, status: String = "OK", providerName: String, dateTimeUTC: Int64,
                pagination: Pagination? = nil, warnings: [ValidationError]? = nil, elements: [Element]) {
        self.id = id
        self.status = status
        self.providerName = providerName
        self.dateTimeUTC = dateTimeUTC
        self.pagination = pagination
        self.warnings = warnings
        self.elements = elements
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        id = try f.string("Id") ?? ""
        status = try f.string("Status") ?? ""
        providerName = try f.string("ProviderName") ?? ""
        dateTimeUTC = try f.date("DateTimeUTC") ?? 0
        pagination = try f.value("pagination").map { v throws(XeroModelError) in try Pagination(json: v) }
        warnings = try f.models("Warnings", as: ValidationError.self)
        elements = try f.models(Element.collectionKey, as: Element.self) ?? []
    }

    public func json(_ options: XeroEncodingOptions = .standard) -> JSON {
        var o = JSONObjectBuilder(capacity: 7)
        o.add("Id", id)
        o.add("Status", status)
        o.add("ProviderName", providerName)
        o.add("DateTimeUTC", "/Date(\(dateTimeUTC))/")
        o.add("pagination", pagination?.json)
        o.add("Warnings", warnings, options)
        o.add(Element.collectionKey, elements, options)
        return o.json
    }
}

/// A 400 `ValidationException`: `{ErrorNumber: 10, Type, Message, Elements: [entity + ValidationErrors]}`.
public struct ValidationException: Sendable {
    public var errorNumber: Int
    public var type: String
    public var message: String
    /// The failing elements as sent back (each an entity with `ValidationErrors`).
    public var elements: [JSON]

    public init(errorNumber: Int = 10, type: String = "ValidationException",
                message: String = "A validation exception occurred", elements: [JSON]) {
        self.errorNumber = errorNumber
        self.type = type
        self.message = message
        self.elements = elements
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        errorNumber = try f.int("ErrorNumber") ?? 0
        type = try f.string("Type") ?? ""
        message = try f.string("Message") ?? ""
        elements = try f.array("Elements") ?? []
    }

    /// Every `ValidationErrors[].Message` in the elements, nested ones (addresses, phones, line
    /// items) included, in document order.
    public var validationMessages: [String] {
        var out: [String] = []
        func walk(_ j: JSON) {
            switch j {
            case .object(let members):
                for m in members {
                    if m.key == "ValidationErrors", case .array(let errs) = m.value {
                        for e in errs { if let s = e["Message"]?.stringValue { out.append(s) } }
                    } else {
                        walk(m.value)
                    }
                }
            case .array(let a): a.forEach(walk)
            default: break
            }
        }
        elements.forEach(walk)
        return out
    }

    public var json: JSON {
        .object([("ErrorNumber", .number(errorNumber)), ("Type", .string(type)), ("Message", .string(message)),
                 ("Elements", .array(elements))])
    }
}

/// The problem shape of 401 and 403 answers: `{Type: null, Title, Status, Detail, Instance, Extensions: {}}`.
public struct XeroProblem: Sendable, Equatable {
    public var type: String?
    public var title: String
    public var status: Int
    public var detail: String
    public var instance: String

    public init(type: String? = nil, title: String, status: Int, detail: String, instance: String) {
        self.type = type
        self.title = title
        self.status = status
        self.detail = detail
        self.instance = instance
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        type = try f.string("Type")
        title = try f.string("Title") ?? ""
        status = try f.int("Status") ?? 0
        detail = try f.string("Detail") ?? ""
        instance = try f.string("Instance") ?? ""
    }

    /// `TokenExpired: …` in `Detail`.
    public var isTokenExpired: Bool { detail.hasPrefix("TokenExpired") }

    public var json: JSON {
        .object([("Type", type.map { .string($0) } ?? .null), ("Title", .string(title)), ("Status", .number(status)),
                 ("Detail", .string(detail)), ("Instance", .string(instance)), ("Extensions", .object([]))])
    }
}

/// One entry of `GET /connections`.
public struct XeroConnection: Sendable, Equatable {
    public var id: String
    public var authEventId: String
    public var tenantId: String
    public var tenantType: String
    public var tenantName: String?
    /// Milliseconds since the epoch (UTC).
    public var createdDateUtc: Int64
    public var updatedDateUtc: Int64

    public init(id: String, authEventId: String, tenantId: String, tenantType: String = "ORGANISATION",
                tenantName: String?, createdDateUtc: Int64, updatedDateUtc: Int64) {
        self.id = id
        self.authEventId = authEventId
        self.tenantId = tenantId
        self.tenantType = tenantType
        self.tenantName = tenantName
        self.createdDateUtc = createdDateUtc
        self.updatedDateUtc = updatedDateUtc
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        id = try f.string("id") ?? ""
        authEventId = try f.string("authEventId") ?? ""
        tenantId = try f.string("tenantId") ?? ""
        tenantType = try f.string("tenantType") ?? ""
        tenantName = try f.string("tenantName")
        createdDateUtc = try f.date("createdDateUtc") ?? 0
        updatedDateUtc = try f.date("updatedDateUtc") ?? 0
    }

    /// `/connections` dates: `2019-12-07T18:46:19.5165400` (seven fractional digits, no zone).
    public static func formatDate(_ ms: Int64) -> String {
        String(XeroDate.formatISO(milliseconds: ms).dropLast()) + "0000"
    }

    public var json: JSON {
        .object([("id", .string(id)), ("authEventId", .string(authEventId)), ("tenantId", .string(tenantId)),
                 ("tenantType", .string(tenantType)), ("tenantName", tenantName.map { .string($0) } ?? .null),
                 ("createdDateUtc", .string(XeroConnection.formatDate(createdDateUtc))),
                 ("updatedDateUtc", .string(XeroConnection.formatDate(updatedDateUtc)))])
    }
}

/// The token endpoint's answer.
public struct XeroTokenResponse: Sendable, Equatable {
    public var idToken: String?
    public var accessToken: String
    public var expiresIn: Int
    public var tokenType: String
    public var refreshToken: String?
    /// Space-separated.
    public var scope: String

    public init(idToken: String?, accessToken: String, expiresIn: Int, tokenType: String = "Bearer",
                refreshToken: String?, scope: String) {
        self.idToken = idToken
        self.accessToken = accessToken
        self.expiresIn = expiresIn
        self.tokenType = tokenType
        self.refreshToken = refreshToken
        self.scope = scope
    }

    public init(json: JSON) throws(XeroModelError) {
        let f = try JSONFields(json)
        idToken = try f.string("id_token")
        guard let at = try f.string("access_token") else { throw XeroModelError(field: "access_token", message: "is missing") }
        accessToken = at
        expiresIn = try f.int("expires_in") ?? 0
        tokenType = try f.string("token_type") ?? "Bearer"
        refreshToken = try f.string("refresh_token")
        scope = try f.string("scope") ?? ""
    }

    public var json: JSON {
        var o = JSONObjectBuilder(capacity: 6)
        o.add("id_token", idToken)
        o.add("access_token", accessToken)
        o.add("expires_in", JSON.number(expiresIn))
        o.add("token_type", tokenType)
        o.add("refresh_token", refreshToken)
        o.add("scope", scope)
        return o.json
    }
}
