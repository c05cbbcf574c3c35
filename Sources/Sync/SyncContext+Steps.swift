import Foundation
import Store
import Timekeeping
import Xero

/// The steps runs are made of, each found by its name: first import, apply inbox events,
/// contacts since the watermark, items since the watermark, push outbound changes, archive
/// retries, daily reconciliation.
extension SyncContext {
    /// Events claimed per slice.
    static let eventSlice = 500
    /// Contact ids per `GET Contacts?IDs=`: what a URL safely holds (Xero's front end refuses
    /// long query strings; ~52 GUIDs reported as the cap for Invoices).
    static let contactIdsPerCall = 50

    /// The contact events past the last full call of `contactIdsPerCall` ids (the contacts the
    /// newest events name), unless one of them was left before: those events are fetched now.
    func remainder(_ events: [InboxEvent], leftBefore: Set<Int64>) -> Set<Int64> {
        var order: [String] = []
        var byId: [String: [InboxEvent]] = [:]
        // Contacts whose events were left before come first, then by their oldest event.
        for e in events.filter({ leftBefore.contains($0.id) }) + events.filter({ !leftBefore.contains($0.id) })
        where e.category == "CONTACT" {
            let id = e.resourceId?.lowercased() ?? ""
            if byId[id] == nil { order.append(id) }
            byId[id, default: []].append(e)
        }
        let extra = order.count % SyncContext.contactIdsPerCall
        guard order.count > SyncContext.contactIdsPerCall, extra > 0 else { return [] }
        let left = order.suffix(extra).flatMap { byId[$0] ?? [] }
        guard !left.contains(where: { leftBefore.contains($0.id) }) else { return [] }
        return Set(left.map(\.id))
    }

    /// The first sync (R5–R7, R12): everything Xero has, then the watermarks from what it saw.
    /// The watermark a walk of Xero's pages may move to: the newest `UpdatedDateUTC` it saw, less
    /// the walk's own length (and a minute) when it read more than one page — a record changed
    /// while the pages were read can shift past the offset paging and go unseen, but it changed
    /// after the walk began, so the next sweep reads it again.
    func watermark(newest: Int64?, pages: Int, startedAt: Int64) -> Int64? {
        guard let newest else { return nil }
        guard pages > 1 else { return newest }
        return newest - (engine.monotonicNow() - startedAt) - 60_000
    }

    func firstImport() throws {
        let importer = XeroImport(accountId: accountId, tenantId: tenantId, accounting: xero, repository: runs)
        var c: XeroImport.Counts = [:]
        let started = engine.monotonicNow()
        let newestContact = watermark(newest: try importer.importContacts(counts: &c), pages: 2, startedAt: started)
        let (newestItem, _) = try importer.importItems(counts: &c, modifiedSince: nil)
        for (k, v) in c { count(k, v) }
        if let newestContact { try store.setWatermark(accountId: accountId, .contacts, newestContact) }
        if let newestItem { try store.setWatermark(accountId: accountId, .items, newestItem) }
        try store.setWatermark(accountId: accountId, .reconcile, now)
    }

    /// R16: the account's pending events (and failed ones due again), a slice at a time: the
    /// contacts they name fetched with `GET Contacts?IDs=…` and applied, the invoices visits hold
    /// with `GET Invoices?IDs=…` (R15); the rest ignored with why.
    ///
    /// `deferRemainder` (webhook runs): when the tenant's events are still arriving, the contacts
    /// past the last full call of 50 ids are left pending for the next run (after
    /// `webhookRemainderWait` at the latest), so a delivery of 51 costs one call, not two; an
    /// event left once is fetched by the next run whatever comes.
    func applyInboxEvents(deferRemainder: Bool = false) throws {
        var seen = Set<Int64>()
        let leftBefore = engine.deferredEvents(accountId: accountId)
        var leftNow = Set<Int64>()
        defer { if deferRemainder { engine.deferEvents(accountId: accountId, leftNow) } }
        while true {
            let claimed = try store.claimableEvents(accountId: accountId, now: now, limit: SyncContext.eventSlice)
            var events = claimed.filter { !seen.contains($0.id) }
            guard !events.isEmpty else { return }
            for e in events { seen.insert(e.id) }
            if deferRemainder && claimed.count < SyncContext.eventSlice && engine.eventsStillArriving(accountId: accountId) {
                let left = remainder(events, leftBefore: leftBefore)
                leftNow.formUnion(left)
                events.removeAll { left.contains($0.id) }
            }
            var outcomes: [(id: Int64, outcome: EventOutcome)] = []
            var contactEvents: [InboxEvent] = []
            var invoiceEvents: [InboxEvent] = []
            for e in events {
                switch e.category ?? "" {
                case "CONTACT": contactEvents.append(e)
                case "INVOICE": invoiceEvents.append(e)
                default: outcomes.append((e.id, .ignored("Xero sent an event category the gateway does not use")))
                }
            }
            if !contactEvents.isEmpty {
                let ids = Array(Set(contactEvents.compactMap { $0.resourceId?.lowercased() })).sorted()
                do {
                    var fetched: [Xero.Contact] = []
                    for start in stride(from: 0, to: ids.count, by: SyncContext.contactIdsPerCall) {
                        fetched += try xero.contacts(tenantId: tenantId, ids: Array(ids[start..<min(ids.count, start + SyncContext.contactIdsPerCall)]))
                    }
                    let results = try applyXeroContacts(fetched)
                    for e in contactEvents {
                        outcomes.append((e.id, results[e.resourceId?.lowercased() ?? ""] ?? .ignored("Xero has no contact with this id")))
                    }
                } catch {
                    let sentence = SyncError.sentence(for: error)
                    for e in contactEvents { outcomes.append((e.id, .failed(sentence, nextAttemptAt: retryAt(attempts: e.attempts + 1)))) }
                    try store.settle(accountId: accountId, outcomes)
                    count("eventsFailed", contactEvents.count)
                    throw error
                }
            }
            if !invoiceEvents.isEmpty {
                let (applied, failure) = applyInvoiceEvents(invoiceEvents)
                outcomes += applied
                if let failure {
                    try store.settle(accountId: accountId, outcomes)
                    count("eventsFailed", invoiceEvents.count)
                    throw failure
                }
            }
            try store.settle(accountId: accountId, outcomes)
            for (_, o) in outcomes {
                switch o {
                case .applied: count("eventsApplied")
                case .ignored: count("eventsIgnored")
                case .failed: count("eventsFailed")
                }
            }
            if events.count < SyncContext.eventSlice { return }
        }
    }

    /// When a failed event is tried again: the base delay doubling per attempt, at most an hour;
    /// nil once it has had its attempts (it then waits for a replay).
    func retryAt(attempts: Int) -> Int64? {
        guard attempts < engine.settings.eventMaxAttempts else { return nil }
        let delay = min(3600, engine.settings.eventRetryBase * pow(2, Double(max(0, attempts - 1))))
        return now + Int64(delay * 1000)
    }

    /// R17: contacts Xero changed since the watermark (`If-Modified-Since`, archived ones included).
    func contactsSinceWatermark() throws {
        let since = try store.watermark(accountId: accountId, .contacts)
        if let mark = try applyContactPages(modifiedSince: since), mark != since {
            try store.setWatermark(accountId: accountId, .contacts, mark)
        }
    }

    /// Applies every page of contacts Xero has (archived ones included; since `modifiedSince`
    /// when given) and returns the watermark the walk reached (see `watermark(newest:…)`).
    func applyContactPages(modifiedSince: Int64?) throws -> Int64? {
        var newest = modifiedSince
        var pages = 0
        let started = engine.monotonicNow()
        try xero.forEachContactsPage(tenantId: tenantId, includeArchived: true, modifiedSince: modifiedSince) { page in
            pages += 1
            _ = try applyXeroContacts(page)
            for c in page { if let u = c.updatedDateUTC { newest = max(newest ?? u, u) } }
        }
        return watermark(newest: newest, pages: pages, startedAt: started)
    }

    /// R12, R13, R17: items Xero changed since the watermark: linked materials take their values,
    /// new items link to a same-named material or become materials.
    func itemsSinceWatermark() throws {
        let since = try store.watermark(accountId: accountId, .items)
        let importer = XeroImport(accountId: accountId, tenantId: tenantId, accounting: xero, repository: runs)
        var c: XeroImport.Counts = [:]
        let (newest, _) = try importer.importItems(counts: &c, modifiedSince: since)
        for (k, v) in c { count(k, v) }
        if let newest { try store.setWatermark(accountId: accountId, .items, newest) }
    }

    /// R17's daily reconciliation: every contact (flag changes do not move `UpdatedDateUTC`) and
    /// every item; a material whose item Xero no longer has is unlinked and editable again.
    func dailyReconciliation() throws {
        if let mark = try applyContactPages(modifiedSince: nil) { try store.setWatermark(accountId: accountId, .contacts, mark) }
        let importer = XeroImport(accountId: accountId, tenantId: tenantId, accounting: xero, repository: runs)
        var c: XeroImport.Counts = [:]
        let (newestItem, itemIds) = try importer.importItems(counts: &c, modifiedSince: nil)
        for (k, v) in c { count(k, v) }
        if let newestItem { try store.setWatermark(accountId: accountId, .items, newestItem) }
        let gone = try runs.allMaterials(accountId: accountId).filter { m in m.xeroItemId.map { !itemIds.contains($0) } ?? false }
        count("materialsUnlinked", try store.unlinkMaterials(accountId: accountId, materialIds: gone.map(\.id)))
        try store.setWatermark(accountId: accountId, .reconcile, now)
    }

    /// R9: linked contacts a person changed, 50 to a `POST Contacts`: each merged with what Xero
    /// holds now, so a change made in Xero meanwhile is not overwritten.
    func pushOutboundChanges() throws {
        var done = Set<String>()
        while true {
            let rows = try store.outbound(accountId: accountId, now: now, limit: 50).filter { !done.contains($0.contactId) }
            guard !rows.isEmpty else { return }
            for r in rows { done.insert(r.contactId) }
            let linked = try store.linkedContacts(accountId: accountId, contactIds: rows.map(\.contactId))
            let byId = Dictionary(linked.map { ($0.contact.id, $0) }) { a, _ in a }
            let unpushable = rows.filter { r in
                guard let l = byId[r.contactId] else { return true }
                return l.contact.xeroContactId == nil || l.contact.archived || l.contact.syncState != .linked
            }.map(\.contactId)
            try store.dropOutbound(accountId: accountId, contactIds: unpushable)
            let live = rows.filter { !unpushable.contains($0.contactId) }
            if !live.isEmpty {
                let xeroIds = live.compactMap { byId[$0.contactId]?.contact.xeroContactId }
                let fetched: [Xero.Contact]
                do { fetched = try xero.contacts(tenantId: tenantId, ids: xeroIds) } catch {
                    try store.failOutbound(accountId: accountId, contactIds: live.map(\.contactId), error: SyncError.sentence(for: error))
                    throw error
                }
                let edits = Dictionary(live.compactMap { r in byId[r.contactId]?.contact.xeroContactId.map { ($0, r.editedAt) } }) { a, _ in a }
                _ = try applyXeroContacts(fetched, outboxEdits: edits)
                let missing = Set(xeroIds).subtracting(fetched.compactMap { $0.contactID?.lowercased() })
                if !missing.isEmpty {
                    note("Xero no longer has \(missing.count) linked contact(s); their SortScape changes were not sent.")
                    try store.dropOutbound(accountId: accountId, contactIds: live.filter { byId[$0.contactId]?.contact.xeroContactId.map(missing.contains) ?? false }.map(\.contactId))
                }
            }
            if rows.count < 50 { return }
        }
    }

    /// R10: contacts waiting to be archived are archived once their work is resolved or deleted.
    func archiveRetries() throws {
        for contact in try store.contacts(accountId: accountId, syncState: .waitingArchive) {
            if try store.hasPendingWork(accountId: accountId, contactId: contact.id) {
                count("contactsWaitingArchive")
                continue
            }
            let result = try store.applyContactUpdates(accountId: accountId, [ContactUpdate(expected: contact, syncState: .linked, archive: true)])
            if result[contact.id] == .applied { count("contactsArchived") }
        }
    }
}
