import Store

/// Why a Xero contact is suspected to be a SortScape one (R7).
public enum MatchReason: String, Sendable, CaseIterable, Comparable {
    case name, email, phone

    public static func < (a: MatchReason, b: MatchReason) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// R7's duplicate check as an index: SortScape contacts are added once; each Xero contact is
/// then looked up by its normalised name, email and phone in constant time (no scan per contact).
public struct ContactMatchIndex: Sendable {
    private var byName: [String: [String]] = [:]
    private var byEmail: [String: [String]] = [:]
    private var byPhone: [String: [String]] = [:]

    public init() {}

    /// Adds a SortScape contact under its keys.
    public mutating func add(id: String, _ fields: ContactFields) {
        let n = ContactKeys.name(fields.name), e = ContactKeys.email(fields.email), p = ContactKeys.phone(fields.phone)
        if !n.isEmpty { byName[n, default: []].append(id) }
        if !e.isEmpty { byEmail[e, default: []].append(id) }
        if !p.isEmpty { byPhone[p, default: []].append(id) }
        let c = ContactKeys.name(fields.companyName)
        if !c.isEmpty && c != n { byName[c, default: []].append(id) }
    }

    /// SortScape contacts that share a name, email or phone with `fields`, best first (most
    /// reasons), each with its reasons.
    public func matches(for fields: ContactFields) -> [(id: String, reasons: [MatchReason])] {
        var found: [String: Set<MatchReason>] = [:]
        var order: [String] = []
        func note(_ ids: [String]?, _ reason: MatchReason) {
            for id in ids ?? [] {
                if found[id] == nil { order.append(id) }
                found[id, default: []].insert(reason)
            }
        }
        let names = Set([ContactKeys.name(fields.name), ContactKeys.name(fields.companyName)].filter { !$0.isEmpty })
        for n in names.sorted() { note(byName[n], .name) }
        let e = ContactKeys.email(fields.email)
        if !e.isEmpty { note(byEmail[e], .email) }
        let p = ContactKeys.phone(fields.phone)
        if !p.isEmpty { note(byPhone[p], .phone) }
        let ranked: [(id: String, reasons: [MatchReason])] = order.map { (id: $0, reasons: found[$0]!.sorted()) }
        // Stable: equally good matches keep the order they were found in.
        return ranked.indices.sorted { a, b in
            let ra = ranked[a].reasons.count, rb = ranked[b].reasons.count
            return ra != rb ? ra > rb : a < b
        }.map { ranked[$0] }
    }
}
