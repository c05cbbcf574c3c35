import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    // MARK: - organisations and logins

    func controlCreateOrganisation(_ r: Request) throws -> Response {
        let f = try controlBody(r)
        let name = ((try? f.string("name")) ?? nil) ?? "Demo Company (NZ)"
        var tenantId = Ids.uuid()
        if let given = (try? f.string("tenantId")) ?? nil {
            guard let norm = Ids.normalize(given) else { throw XeroError.control(400, "tenantId must be a GUID") }
            tenantId = norm
        }
        let currency = (((try? f.string("baseCurrency")) ?? nil) ?? "NZD").uppercased()
        let country = (((try? f.string("countryCode")) ?? nil) ?? "NZ").uppercased()
        let shortCode = ((try? f.string("shortCode")) ?? nil) ?? "!" + Ids.letters(5)
        let timezone = try Simulator.timezone(f)
        return try world.withLock { w in
            guard w.orgs[tenantId] == nil else { throw XeroError.control(409, "organisation \(tenantId) exists") }
            let org = Organisation(tenantId: tenantId, name: name, shortCode: shortCode, baseCurrency: currency,
                                   countryCode: country, createdAt: clock.now())
            if let timezone { org.timezone = timezone }
            w.add(org)
            return Reply.json(201, .object([("tenantId", .string(tenantId)), ("name", .string(name))]))
        }
    }

    /// `PATCH /sim/organisations/{t}` `{"timezone": "NEWZEALANDSTANDARDTIME", "endOfYearLockDate":
    /// "2026-07-31" | null}`: the organisation's settings, as its adviser would change them.
    func controlPatchOrganisation(_ r: Request, _ tenant: String) throws -> Response {
        let f = try controlBody(r, required: true)
        let timezone = try Simulator.timezone(f)
        var lock: Int64??
        if let v = f.members.last(where: { $0.key == "endOfYearLockDate" })?.value {  // `value` reads null as absent
            if v.isNull {
                lock = .some(nil)
            } else {
                guard let s = v.stringValue, s.utf8.count == 10, let ms = XeroModelDate.parseAny(s) else {
                    throw XeroError.control(400, "endOfYearLockDate must be a date (YYYY-MM-DD) or null")
                }
                lock = .some(ms)
            }
        }
        return try world.withLock { w in
            guard let org = w.org(tenant) else { throw XeroError.control(404, "no organisation \(tenant)") }
            if let timezone { org.timezone = timezone }
            if let lock { org.endOfYearLockDate = lock }
            return Reply.json(200, .object([
                ("tenantId", .string(org.tenantId)), ("timezone", .string(org.timezone)),
                ("endOfYearLockDate", org.endOfYearLockDate.map { .string(XeroModelDate.day($0)) } ?? .null),
            ]))
        }
    }

    /// The body's `timezone`, one of Xero's names the simulator knows; nil when absent.
    static func timezone(_ f: JSONFields) throws -> String? {
        guard let t = (try? f.string("timezone")) ?? nil else { return nil }
        guard Organisation.timezones[t.uppercased()] != nil else {
            throw XeroError.control(400, "timezone must be one of \(Organisation.timezones.keys.sorted().joined(separator: ", "))")
        }
        return t.uppercased()
    }

    /// Creates an organisation (Swift API, for tests and seeding).
    @discardableResult
    public func createOrganisation(name: String, tenantId: String? = nil) -> String {
        let id = tenantId.flatMap { Ids.normalize($0) } ?? Ids.uuid()
        world.withLock { w in
            if w.orgs[id] == nil {
                w.add(Organisation(tenantId: id, name: name, shortCode: "!" + Ids.letters(5), baseCurrency: "NZD",
                                   countryCode: "NZ", createdAt: clock.now()))
            }
        }
        return id
    }

    func controlCreateLogin(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
        guard let email = ((try? f.string("email")) ?? nil)?.trimmingCharacters(in: .whitespacesAndNewlines), email.contains("@") else {
            throw XeroError.control(400, "email is required")
        }
        let tenantIds = ((try? f.array("tenantIds")) ?? nil)?.compactMap(\.stringValue) ?? []
        var userId = Ids.uuid()
        if let given = (try? f.string("userId")) ?? nil {
            guard let norm = Ids.normalize(given) else { throw XeroError.control(400, "userId must be a GUID") }
            userId = norm
        }
        let login = Login(id: userId, email: email, password: (try? f.string("password")) ?? nil,
                          firstName: ((try? f.string("firstName")) ?? nil) ?? "Demo",
                          lastName: ((try? f.string("lastName")) ?? nil) ?? "User",
                          tenantIds: tenantIds.compactMap { Ids.normalize($0) })
        return try world.withLock { w in
            for t in login.tenantIds where w.orgs[t] == nil { throw XeroError.control(404, "no organisation \(t)") }
            guard !w.logins.values.contains(where: { $0.email.lowercased() == email.lowercased() }) else {
                throw XeroError.control(409, "a login with email \(email) exists")
            }
            w.logins[login.id] = login
            return Reply.json(201, .object([("userId", .string(login.id)), ("email", .string(login.email)),
                                            ("tenantIds", .array(login.tenantIds.map { .string($0) }))]))
        }
    }

    /// Creates a login owning `tenantIds` (Swift API).
    @discardableResult
    public func createLogin(email: String, firstName: String = "Demo", lastName: String = "User",
                            password: String? = nil, tenantIds: [String]) -> String {
        let login = Login(id: Ids.uuid(), email: email, password: password, firstName: firstName, lastName: lastName,
                          tenantIds: tenantIds.compactMap { Ids.normalize($0) })
        world.withLock { w in
            w.logins[login.id] = login
        }
        return login.id
    }
}
