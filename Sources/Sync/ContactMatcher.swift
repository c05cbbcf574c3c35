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
/// Compact for large imports: keys are held as 64-bit hashes of the normalised values and
/// contacts as positions in one id list (a hash collision could only add a suspected match for
/// a person to review, never lose a real one).
public struct ContactMatchIndex: Sendable {
    private var ids: [String] = []
    private var byName: [UInt64: [Int32]] = [:]
    private var byEmail: [UInt64: [Int32]] = [:]
    private var byPhone: [UInt64: [Int32]] = [:]

    public init() {}

    public var count: Int { ids.count }

    /// FNV-1a: stable, cheap, and the same for equal normalised strings.
    static func key(_ s: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in s.utf8 {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// Adds a SortScape contact under its keys.
    public mutating func add(id: String, _ fields: ContactFields) {
        let position = Int32(ids.count)
        ids.append(id)
        let n = ContactKeys.name(fields.name), e = ContactKeys.email(fields.email), p = ContactKeys.phone(fields.phone)
        if !n.isEmpty { byName[Self.key(n), default: []].append(position) }
        if !e.isEmpty { byEmail[Self.key(e), default: []].append(position) }
        if !p.isEmpty { byPhone[Self.key(p), default: []].append(position) }
        let c = ContactKeys.name(fields.companyName)
        if !c.isEmpty && c != n { byName[Self.key(c), default: []].append(position) }
    }

    /// SortScape contacts that share a name, email or phone with `fields`, best first (most
    /// reasons), each with its reasons.
    public func matches(for fields: ContactFields) -> [(id: String, reasons: [MatchReason])] {
        var found: [Int32: Set<MatchReason>] = [:]
        var order: [Int32] = []
        func note(_ positions: [Int32]?, _ reason: MatchReason) {
            for position in positions ?? [] {
                if found[position] == nil { order.append(position) }
                found[position, default: []].insert(reason)
            }
        }
        let names = Set([ContactKeys.name(fields.name), ContactKeys.name(fields.companyName)].filter { !$0.isEmpty })
        for n in names.sorted() { note(byName[Self.key(n)], .name) }
        let e = ContactKeys.email(fields.email)
        if !e.isEmpty { note(byEmail[Self.key(e)], .email) }
        let p = ContactKeys.phone(fields.phone)
        if !p.isEmpty { note(byPhone[Self.key(p)], .phone) }
        let ranked: [(id: String, reasons: [MatchReason])] = order.map { (id: ids[Int($0)], reasons: found[$0]!.sorted()) }
        // Stable: equally good matches keep the order they were found in.
        return ranked.indices.sorted { a, b in
            let ra = ranked[a].reasons.count, rb = ranked[b].reasons.count
            return ra != rb ? ra > rb : a < b
        }.map { ranked[$0] }
    }
}
