/// The sync engine's tables in memory, for tests, on a `MemoryStore`; behaves as
/// `SQLiteSyncEngineRepository` does (the shared contract tests hold both to it).
public final class MemorySyncEngineRepository: SyncEngineRepository {
    public let store: MemoryStore

    public init(store: MemoryStore = MemoryStore()) { self.store = store }

    typealias Key = MemoryStore.ContactKey
    typealias Contacts = MemoryRecordRepository<ContactRecord>

    // MARK: inbox

    static func claimable(_ e: InboxEvent, _ t: MemoryStore.Tables, now: Int64) -> Bool {
        e.state == .pending || (e.state == .failed && (t.eventRetries[e.id].map { $0 <= now } ?? false))
    }

    public func claimableEvents(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [InboxEvent] {
        store.tables.withLock { t in
            let tables = t
            return Array(tables.events.filter { $0.accountId == accountId && Self.claimable($0, tables, now: now) }.prefix(max(1, limit)))
        }
    }

    public func accountsWithClaimableEvents(now: Int64) throws(StoreError) -> [String] {
        store.tables.withLock { t in
            let tables = t
            return Array(Set(tables.events.filter { $0.accountId != nil && Self.claimable($0, tables, now: now) }.compactMap(\.accountId)))
        }
    }

    static func with(_ e: InboxEvent, state: InboxEventState, attempts: Int, lastError: String?) -> InboxEvent {
        InboxEvent(id: e.id, deliveryId: e.deliveryId, accountId: e.accountId, tenantId: e.tenantId, category: e.category,
                   type: e.type, resourceId: e.resourceId, eventDateUtc: e.eventDateUtc, state: state, attempts: attempts,
                   lastError: lastError, receivedAt: e.receivedAt)
    }

    public func settle(accountId: String, _ outcomes: [(id: Int64, outcome: EventOutcome)]) throws(StoreError) {
        store.tables.withLock { t in
            for (id, outcome) in outcomes {
                guard let i = t.events.firstIndex(where: { $0.id == id && $0.accountId == accountId }) else { continue }
                let e = t.events[i]
                t.eventRetries[id] = nil
                switch outcome {
                case .applied: t.events[i] = Self.with(e, state: .applied, attempts: e.attempts + 1, lastError: nil)
                case .ignored(let why): t.events[i] = Self.with(e, state: .ignored, attempts: e.attempts + 1, lastError: String(why.prefix(500)))
                case .failed(let error, let next):
                    t.events[i] = Self.with(e, state: .failed, attempts: e.attempts + 1, lastError: String(error.prefix(500)))
                    t.eventRetries[id] = next
                }
            }
        }
    }

    public func replay(accountId: String?, eventId: Int64) throws(StoreError) -> InboxEvent {
        try store.tables.withLock { t throws(StoreError) in
            guard let i = t.events.firstIndex(where: { $0.id == eventId && (accountId == nil || $0.accountId == accountId) }) else {
                throw RecordRules.notFound("event", String(eventId))
            }
            let e = t.events[i]
            guard [.failed, .applied, .ignored, .pending].contains(e.state), e.accountId != nil else {
                throw RecordRules.conflict("an event that is \(e.state.rawValue) cannot be replayed")
            }
            t.eventRetries[eventId] = nil
            t.events[i] = Self.with(e, state: .pending, attempts: e.attempts, lastError: e.lastError)
            return t.events[i]
        }
    }

    public func nextEventRetries() throws(StoreError) -> [String: Int64] {
        store.tables.withLock { t in
            var m: [String: Int64] = [:]
            for e in t.events where e.state == .failed {
                guard let a = e.accountId, let next = t.eventRetries[e.id] else { continue }
                m[a] = min(m[a] ?? .max, next)
            }
            return m
        }
    }

    // MARK: watermarks

    static func key(_ accountId: String, _ r: SyncResource) -> String { accountId + "\u{1}" + r.rawValue }

    public func watermark(accountId: String, _ resource: SyncResource) throws(StoreError) -> Int64? {
        store.tables.withLock { $0.watermarks[Self.key(accountId, resource)] }
    }

    public func takeSweepLease(accountId: String, now: Int64, until: Int64) throws(StoreError) -> Bool {
        store.tables.withLock { t in
            let k = Self.key(accountId, .sweepLease)
            if let held = t.watermarks[k], held > now || held >= until { return false }
            t.watermarks[k] = until
            return true
        }
    }

    public func setWatermark(accountId: String, _ resource: SyncResource, _ value: Int64) throws(StoreError) {
        store.tables.withLock { t in
            let k = Self.key(accountId, resource)
            t.watermarks[k] = max(t.watermarks[k] ?? .min, value)
        }
    }

    // MARK: linked contacts

    public func linkedContacts(accountId: String, xeroContactIds: [String]) throws(StoreError) -> [String: LinkedContact] {
        let wanted = Set(xeroContactIds.map { $0.lowercased() })
        return store.tables.withLock { t in
            var m: [String: LinkedContact] = [:]
            for r in t.contacts.rows where r.record.accountId == accountId {
                guard let x = r.record.xeroContactId, wanted.contains(x) else { continue }
                m[x] = LinkedContact(contact: r.record, base: t.bases[Key(accountId: accountId, contactId: r.record.id)])
            }
            return m
        }
    }

    public func linkedContacts(accountId: String, contactIds: [String]) throws(StoreError) -> [LinkedContact] {
        let wanted = Set(contactIds)
        return store.tables.withLock { t in
            let bases = t.bases
            return t.contacts.rows.map(\.record).filter { $0.accountId == accountId && wanted.contains($0.id) }
                .map { LinkedContact(contact: $0, base: bases[Key(accountId: accountId, contactId: $0.id)]) }
        }
    }

    public func applyContactUpdates(accountId: String, _ updates: [ContactUpdate]) throws(StoreError) -> [String: ContactUpdateResult] {
        let now = store.clock.timestamp()
        return try store.tables.withLock { tables throws(StoreError) in
            var t = tables
            var results: [String: ContactUpdateResult] = [:]
            for u in updates where !u.isEmpty {
                let id = u.expected.id
                guard let current = t.contacts.rows.first(where: { $0.record.accountId == accountId && $0.record.id == id })?.record,
                      !u.checked || SyncEngineRules.same(current, u.expected) else {
                    results[id] = .stale
                    continue
                }
                var contact = current
                if let target = u.relinkTo?.lowercased() {
                    if t.contacts.rows.contains(where: { $0.record.accountId == accountId && $0.record.xeroContactId == target && $0.record.id != id }) {
                        results[id] = .relinkTaken
                        continue
                    }
                    contact.xeroContactId = target
                }
                if let f = u.fields { contact.fields = f }
                if let s = u.syncState { contact.syncState = s }
                var archive = u.archive
                if archive, Self.hasPendingWork(accountId: accountId, contactId: id, t) {
                    archive = false  // work came in since the engine looked (R10)
                    contact.syncState = .waitingArchive
                }
                if archive { contact.archived = true }
                if contact != current { _ = try Contacts.update(contact, now: now, &t) }
                let key = Key(accountId: accountId, contactId: id)
                if archive {
                    MemorySortScapeRecords.archiveProperties(accountId: accountId, contactId: id, now: now, &t)
                    t.outbox[key] = nil
                }
                if let b = u.base { t.bases[key] = b }
                for k in u.conflicts {
                    let known = t.conflicts.contains {
                        $0.key == key && $0.conflict.field == k.field && $0.conflict.sortscape == k.sortscape && $0.conflict.xero == k.xero
                    }
                    if !known {
                        var stamped = k
                        if stamped.at.isEmpty { stamped.at = now }
                        t.conflicts.append((key, stamped))
                    }
                }
                if let edited = u.clearOutboxEditedAt, let row = t.outbox[key], row.editedAt <= edited { t.outbox[key] = nil }
                results[id] = .applied
            }
            tables = t
            return results
        }
    }

    public func linkContact(accountId: String, contactId: String, xeroContactId: String, fields: ContactFields?,
                            base: ContactFields, expectedVersion: Int64?) throws(StoreError) -> ContactRecord {
        let now = store.clock.timestamp()
        return try store.tables.withLock { tables throws(StoreError) in
            var t = tables
            guard var contact = t.contacts.rows.first(where: { $0.record.accountId == accountId && $0.record.id == contactId })?.record else {
                throw RecordRules.notFound("contact", contactId)
            }
            guard contact.xeroContactId == nil else { throw RecordRules.conflict("this contact is already linked to a Xero contact") }
            if let expectedVersion, contact.version != expectedVersion {
                throw RecordRules.conflict("the contact changed while it was being sent to Xero; try again")
            }
            let x = xeroContactId.lowercased()
            guard !t.contacts.rows.contains(where: { $0.record.accountId == accountId && $0.record.xeroContactId == x }) else {
                throw RecordRules.conflict("the Xero contact with this name is already linked to another SortScape contact")
            }
            contact.xeroContactId = x
            contact.syncState = .linked
            if let fields { contact.fields = fields }
            let stored = try Contacts.update(contact, now: now, &t)
            t.bases[Key(accountId: accountId, contactId: contactId)] = base
            MemoryXeroSyncRepository.setMatches(&t, now, to: .dismissed) {
                $0.accountId == accountId && $0.contactId == contactId && $0.state == .pending
            }
            tables = t
            return stored
        }
    }

    public func contacts(accountId: String, syncState: ContactSyncState) throws(StoreError) -> [ContactRecord] {
        store.tables.withLock { $0.contacts.rows.map(\.record).filter { $0.accountId == accountId && $0.syncState == syncState } }
    }

    public func contactCount(accountId: String, syncState: ContactSyncState) throws(StoreError) -> Int {
        store.tables.withLock { $0.contacts.rows.count { $0.record.accountId == accountId && $0.record.syncState == syncState } }
    }

    public func hasPendingWork(accountId: String, contactId: String) throws(StoreError) -> Bool {
        store.tables.withLock { t in Self.hasPendingWork(accountId: accountId, contactId: contactId, t) }
    }

    static func hasPendingWork(accountId: String, contactId: String, _ t: MemoryStore.Tables) -> Bool {
            let properties = Set(t.properties.rows.map(\.record).filter { $0.accountId == accountId && $0.contactId == contactId }.map(\.id))
            return t.jobs.rows.contains { $0.record.accountId == accountId && properties.contains($0.record.propertyId) && $0.record.status == .pending && !$0.record.archived }
                || t.issues.rows.contains { $0.record.accountId == accountId && properties.contains($0.record.propertyId) && $0.record.status == .open && !$0.record.archived }
    }

    public func conflicts(accountId: String, contactIds: [String]) throws(StoreError) -> [String: [ContactConflict]] {
        let wanted = Set(contactIds)
        return store.tables.withLock { t in
            var m: [String: [ContactConflict]] = [:]
            for (key, c) in t.conflicts.reversed() where key.accountId == accountId && wanted.contains(key.contactId) {
                m[key.contactId, default: []].append(c)
            }
            return m
        }
    }

    // MARK: outbox

    public func outbound(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [OutboundContact] {
        store.tables.withLock { t in
            Array(t.outbox.filter { $0.key.accountId == accountId && $0.value.queuedAt <= now }.values.sorted { ($0.queuedAt, $0.contactId) < ($1.queuedAt, $1.contactId) }
                .prefix(max(1, limit)))
        }
    }

    public func outboundQueued() throws(StoreError) -> [String: Int64] {
        store.tables.withLock { t in
            var m: [String: Int64] = [:]
            for (k, row) in t.outbox { m[k.accountId] = min(m[k.accountId] ?? .max, row.queuedAt) }
            return m
        }
    }

    public func failOutbound(accountId: String, contactIds: [String], error: String) throws(StoreError) {
        store.tables.withLock { t in
            let now = store.clock.nowMilliseconds()
            for id in contactIds {
                let k = Key(accountId: accountId, contactId: id)
                guard var row = t.outbox[k] else { continue }
                row.queuedAt = now + min(3_600_000, 30_000 * (1 << Int64(min(row.attempts, 7))))
                row.attempts += 1
                t.outbox[k] = row
            }
        }
    }

    public func dropOutbound(accountId: String, contactIds: [String]) throws(StoreError) {
        store.tables.withLock { t in for id in contactIds { t.outbox[Key(accountId: accountId, contactId: id)] = nil } }
    }

    // MARK: items

    public func unlinkMaterials(accountId: String, materialIds: [String]) throws(StoreError) -> Int {
        let wanted = Set(materialIds)
        let now = store.clock.timestamp()
        return store.tables.withLock { t in
            var n = 0
            for i in t.materials.rows.indices
            where t.materials.rows[i].record.accountId == accountId && wanted.contains(t.materials.rows[i].record.id)
                && t.materials.rows[i].record.xeroItemId != nil {
                t.materials.write(at: i) {
                    $0.xeroItemId = nil
                    $0.updatedAt = now
                }
                n += 1
            }
            return n
        }
    }

    // MARK: retention

    public func pruneHistory(_ r: HistoryRetention) throws(StoreError) -> PrunedHistory {
        store.tables.withLock { t in
            var pruned = PrunedHistory()
            var newest: [String: Int] = [:]
            var keep = Set<Int64>()
            for row in t.runs.rows.reversed() {
                let n = newest[row.record.accountId, default: 0]
                if n < r.keepRunsPerAccount { keep.insert(row.seq) }
                newest[row.record.accountId] = n + 1
            }
            let before = t.runs.rows.count
            t.runs.rows.removeAll { row in
                row.record.state != .running && (row.record.finishedAt ?? "") < r.runsEndedBefore && !keep.contains(row.seq)
            }
            pruned.runs = before - t.runs.rows.count
            let newestEvent = t.events.last?.id
            let retries = t.eventRetries
            let gone = Set(t.events.filter { e in
                guard e.receivedAt < r.eventsReceivedBefore, e.id != newestEvent else { return false }
                switch e.state {
                case .applied, .ignored, .unrouted, .quarantined: return true
                case .failed: return retries[e.id] == nil
                case .pending: return false
                }
            }.map(\.id))
            t.events.removeAll { gone.contains($0.id) }
            t.dedupKeys = t.dedupKeys.filter { !gone.contains($0.value) }
            pruned.events = gone.count
            return pruned
        }
    }
}
