import Crypto
import Foundation
import Store
import StrictJSON
import Timekeeping
import Xero

/// What the engine writes to Xero for one linked contact.
struct ContactPush {
    /// The contact as Xero holds it now.
    let original: Xero.Contact
    /// What both sides should hold.
    let target: ContactFields
    let contactId: String
    /// The contact's outbox row to clear once Xero has it.
    let outboxEditedAt: Int64?
}

extension SyncContext {
    /// Applies Xero's contacts (from events, the sweep or a push's fresh read): a linked contact
    /// merges (R9), is archived or waits (R10), or relinks to the contact it was merged into
    /// (R10); an unknown one is imported by R5–R7. Writes what Xero must hold back to it.
    /// `outboxEdits` (Xero id → latest edit) clears the outbox rows the push carries.
    /// Returns each Xero contact's outcome.
    @discardableResult
    func applyXeroContacts(_ contacts: [Xero.Contact], outboxEdits: [String: Int64] = [:]) throws -> [String: EventOutcome] {
        var outcomes: [String: EventOutcome] = [:]
        var pending = contacts.filter { $0.contactID != nil }
        var noRelink = Set<String>()
        var survivors: [String] = []
        var pushes: [ContactPush] = []
        for attempt in 0..<4 where !pending.isEmpty {
            let linked = try store.linkedContacts(accountId: accountId, xeroContactIds: pending.map { $0.contactID!.lowercased() })
            var updates: [ContactUpdate] = []
            var byContact: [String: Xero.Contact] = [:]
            var pushByContact: [String: ContactPush] = [:]
            var unknown: [Xero.Contact] = []
            for c in pending {
                let xid = c.contactID!.lowercased()
                guard let l = linked[xid] else { unknown.append(c); continue }
                let d = try decide(l, c, noRelink: noRelink.contains(l.contact.id), outboxEditedAt: outboxEdits[xid])
                outcomes[xid] = d.outcome
                if let u = d.update { updates.append(u); byContact[l.contact.id] = c }
                if let p = d.push { pushByContact[l.contact.id] = p }
                if let s = d.update?.relinkTo { survivors.append(s) }
            }
            let results = try store.applyContactUpdates(accountId: accountId, updates)
            // After the relinks: a contact merged into another brings the survivor, which must not
            // be imported as a new contact beside it.
            if attempt == 0 {
                let relinked = Set(survivors)
                outcomes.merge(try importNew(unknown.filter { !relinked.contains($0.contactID!.lowercased()) })) { a, _ in a }
            }
            pending = []
            for (id, p) in pushByContact where byContact[id] == nil || results[id] == .applied { pushes.append(p) }
            for u in updates {
                let id = u.expected.id
                switch results[id] {
                case .stale?:
                    if let c = byContact[id] { pending.append(c) }  // a person's edit came in between: read again
                case .relinkTaken?:
                    noRelink.insert(id)
                    if let c = byContact[id] { pending.append(c) }
                    survivors.removeAll { $0 == u.relinkTo }
                default:
                    if u.relinkTo != nil { count("contactsRelinked") }
                    if u.archive { count("contactsArchived") }
                    if u.syncState == .waitingArchive { count("contactsWaitingArchive") }
                    if u.fields != nil { count("contactsUpdatedFromXero") }
                    count("conflicts", u.conflicts.count)
                }
            }
        }
        // Contacts a person kept changing while the engine read them: tried again later.
        for c in pending {
            outcomes[c.contactID!.lowercased()] = .failed("the SortScape contact kept changing while it was being updated; it will be tried again",
                                                          nextAttemptAt: now + 5_000)
        }
        try push(pushes)
        // A relinked contact takes the surviving contact's values.
        if !survivors.isEmpty {
            let fetched = try xero.contacts(tenantId: tenantId, ids: Array(Set(survivors)))
            let linked = try store.linkedContacts(accountId: accountId, xeroContactIds: survivors)
            var updates: [ContactUpdate] = []
            var more: [ContactPush] = []
            for c in fetched {
                guard let l = linked[c.contactID?.lowercased() ?? ""] else { continue }
                let d = try decide(l, c, noRelink: true, outboxEditedAt: nil)
                if let u = d.update { updates.append(u) }
                if let p = d.push { more.append(p) }
            }
            _ = try store.applyContactUpdates(accountId: accountId, updates)
            try push(more)
        }
        return outcomes
    }

    /// What one linked contact becomes, given Xero's contact.
    func decide(_ l: LinkedContact, _ c: Xero.Contact, noRelink: Bool, outboxEditedAt: Int64?)
        throws -> (update: ContactUpdate?, push: ContactPush?, outcome: EventOutcome) {
        let local = l.contact
        let xid = c.contactID!.lowercased()
        if local.archived && local.syncState != .waitingArchive {
            let clear = outboxEditedAt.map { ContactUpdate(expected: local, clearOutboxEditedAt: $0, checked: false) }
            return (clear, nil, .ignored("this contact is archived in SortScape, so Xero's changes to it are not applied (R8)"))
        }
        let status = c.contactStatus ?? .active
        if status != .active {
            if !noRelink, let merged = c.mergedToContactID?.lowercased(), !merged.isEmpty, merged != xid,
               merged != "00000000-0000-0000-0000-000000000000" {
                return (ContactUpdate(expected: local, syncState: .linked, relinkTo: merged), nil, .applied)
            }
            if try store.hasPendingWork(accountId: accountId, contactId: local.id) {
                if local.syncState == .waitingArchive { return (nil, nil, .applied) }
                return (ContactUpdate(expected: local, syncState: .waitingArchive), nil, .applied)
            }
            return (ContactUpdate(expected: local, syncState: .linked, archive: true), nil, .applied)
        }
        let xero = ContactFields(xero: c)
        let base = l.base ?? local.fields
        let merged = ContactMerge.merge(base: base, local: local.fields, xero: xero,
                                        localChangedAt: Timestamp.parse(local.updatedAt) ?? 0,
                                        xeroChangedAt: c.updatedDateUTC ?? 0, now: engine.clock.timestamp())
        var u = ContactUpdate(expected: local)
        if local.syncState == .waitingArchive { u.syncState = .linked }  // restored in Xero
        if !ContactMerge.same(merged.fields, local.fields) { u.fields = merged.fields }
        u.conflicts = merged.conflicts
        var push: ContactPush?
        if XeroContactWrite.update(c, to: merged.fields) != nil {
            push = ContactPush(original: c, target: merged.fields, contactId: local.id, outboxEditedAt: outboxEditedAt)
        } else {
            if !ContactMerge.same(base, merged.fields) || l.base == nil || l.base != xero { u.base = xero }
            u.clearOutboxEditedAt = outboxEditedAt
        }
        return (u.isEmpty ? nil : u, push, .applied)
    }

    /// R5–R7 for Xero contacts no SortScape contact is linked to.
    func importNew(_ contacts: [Xero.Contact]) throws -> [String: EventOutcome] {
        var outcomes: [String: EventOutcome] = [:]
        var batch = ImportBatch(accountId: accountId)
        for c in contacts {
            let xid = c.contactID!.lowercased()
            guard ImportRules.importsContact(c) else {
                switch c.contactStatus ?? .active {
                case .archived: outcomes[xid] = .ignored("an archived Xero contact is not imported (R5)")
                case .gdprRequest: outcomes[xid] = .ignored("a contact with a GDPR request is not imported (R5)")
                default: outcomes[xid] = .ignored("a supplier-only contact is not imported (R5)")
                }
                continue
            }
            if matchedXeroIds == nil { matchedXeroIds = try runs.matchedXeroContactIds(accountId: accountId) }
            if matchedXeroIds!.contains(xid) {
                outcomes[xid] = .ignored("this contact waits for review as a suspected duplicate (R7)")
                continue
            }
            if matchIndex == nil {
                var index = ContactMatchIndex()
                for existing in try runs.allContacts(accountId: accountId) where !existing.archived { index.add(id: existing.id, existing.fields) }
                matchIndex = index
            }
            let fields = ContactFields(xero: c)
            let candidates = matchIndex!.matches(for: fields)
            if !candidates.isEmpty {
                let snapshot = XeroWire.bytes(c.json(.standard))
                for candidate in candidates.prefix(XeroImport.maxCandidates) {
                    batch.matches.append(ContactMatchRecord(id: UUID().uuidString.lowercased(), accountId: accountId, contactId: candidate.id,
                                                            xeroContactId: xid, xero: fields,
                                                            reasons: candidate.reasons.map(\.rawValue), xeroContact: snapshot))
                }
                matchedXeroIds!.insert(xid)
                count("contactsMatched")
                outcomes[xid] = .applied
                continue
            }
            let (contact, property) = ImportRules.newContact(from: c, xeroId: xid, fields: fields, accountId: accountId,
                                                             newID: { UUID().uuidString.lowercased() })
            batch.contacts.append((contact, property))
            matchIndex!.add(id: contact.id, fields)
            outcomes[xid] = .applied
        }
        let outcome = try runs.apply(batch)
        count("contactsCreated", outcome.contactsCreated)
        count("propertiesCreated", outcome.propertiesCreated)
        return outcomes
    }

    /// Writes to Xero what its contacts must hold, 50 to a `POST Contacts` (R18: writes
    /// batched), with an idempotency key derived from what is sent; then records the values as
    /// agreed and clears the outbox rows carried.
    func push(_ pushes: [ContactPush]) throws {
        var start = 0
        while start < pushes.count {
            let chunk = Array(pushes[start..<min(pushes.count, start + 50)])
            start += 50
            let pairs = chunk.compactMap { p in XeroContactWrite.update(p.original, to: p.target).map { (p, $0) } }
            guard !pairs.isEmpty else { continue }
            let payload = pairs.map(\.1)
            // Unique to this write: Xero answers a repeated key from its cache (for minutes) without
            // applying anything, so the same values sent again later must carry a new key.
            let digest = Crypto.sha256(XeroWire.bytes(JSON.array(payload.map { $0.json(.standard) })) + Array((runId + "/\(start)").utf8))
            let key = "push-" + Base64.encodeURL(Array(digest.prefix(18)))
            let saved: [Xero.Contact]
            do { saved = try xero.saveContacts(tenantId: tenantId, payload, idempotencyKey: key) } catch {
                try store.failOutbound(accountId: accountId, contactIds: chunk.filter { $0.outboxEditedAt != nil }.map(\.contactId),
                                       error: SyncError.sentence(for: error))
                throw error
            }
            var updates: [ContactUpdate] = []
            for (i, (p, _)) in pairs.enumerated() {
                let refused = i < saved.count ? (saved[i].validationErrors ?? []) : []
                if !refused.isEmpty {
                    let why = refused.map(\.message).joined(separator: "; ")
                    note("Xero refused the change to \(p.target.companyName.isEmpty ? p.target.name : p.target.companyName): \(why)")
                    try store.failOutbound(accountId: accountId, contactIds: [p.contactId], error: why)
                    count("pushesRefused")
                    continue
                }
                // The agreed values are what Xero now holds, as it sent them back.
                let agreed = i < saved.count && saved[i].contactID != nil ? ContactFields(xero: saved[i]) : p.target
                let placeholder = ContactRecord(id: p.contactId, accountId: accountId, name: "")
                updates.append(ContactUpdate(expected: placeholder, base: agreed, clearOutboxEditedAt: p.outboxEditedAt, checked: false))
                count("contactsPushed")
            }
            _ = try store.applyContactUpdates(accountId: accountId, updates)
        }
    }

    // MARK: - a person's links

    /// R11: creates the contact in Xero, or links it to the active Xero contact of that name.
    /// A contact the gateway created carries the SortScape contact's id in its `ContactNumber`
    /// (`XeroContactWrite.contactNumber`): a retry whose first answer was lost finds it there,
    /// however long after (Xero keeps idempotency keys ~6 minutes) and whatever it is named now.
    func createContactInXero(contactId: String) throws -> ContactRecord {
        guard let contact = try records.contacts.get(accountId: accountId, id: contactId) else {
            throw StoreError(code: .notFound, message: "no contact with id \(contactId)")
        }
        guard contact.xeroContactId == nil else {
            throw StoreError(code: .conflict, message: "this contact is already linked to a Xero contact")
        }
        guard !contact.archived else {
            throw StoreError(code: .conflict, message: "an archived contact is not sent to Xero; restore it first")
        }
        let f = contact.fields.tidied
        let number = XeroContactWrite.contactNumber(contactId: contactId)
        var new = XeroContactWrite.newContact(f)
        new.contactNumber = number
        if let made = try xero.contacts(tenantId: tenantId, contactNumber: number).first(where: {
            ($0.contactStatus ?? .active) == .active && $0.contactNumber == number
        }), let xid = made.contactID?.lowercased() {
            // Created by an earlier try whose answer was lost: linked with what was sent as the
            // values agreed, then merged with Xero's (a Xero user's rename meanwhile is kept, R9).
            count("contactsCreatedInXero")
            let linked = try store.linkContact(accountId: accountId, contactId: contactId, xeroContactId: xid, fields: nil,
                                               base: ContactFields(xero: new), expectedVersion: nil)
            _ = try applyXeroContacts([made])
            return try records.contacts.get(accountId: accountId, id: contactId) ?? linked
        }
        let xeroName = f.companyName.isEmpty ? f.name : f.companyName
        let existing = try xero.contacts(tenantId: tenantId, named: xeroName).first {
            ($0.contactStatus ?? .active) == .active && ContactKeys.name($0.name ?? "") == ContactKeys.name(xeroName)
        }
        if let existing, let xid = existing.contactID?.lowercased() {
            let theirs = ContactFields(xero: existing)
            let chosen = MatchReview.propose(xero: theirs, sortscape: contact.fields)
            let linked = try store.linkContact(accountId: accountId, contactId: contactId, xeroContactId: xid, fields: chosen, base: theirs,
                                               expectedVersion: contact.version)
            try push([ContactPush(original: existing, target: chosen, contactId: contactId, outboxEditedAt: nil)])
            count("contactsLinked")
            return linked
        }
        // The key names the contact and what is sent: a retry of this request gets Xero's answer to
        // it, and different values later are a new request, not a refused reuse of the key.
        let body = Base64.encodeURL(Array(Crypto.sha256(XeroWire.bytes(new.json(.standard))).prefix(12)))
        let saved = try xero.saveContacts(tenantId: tenantId, [new], idempotencyKey: "create-contact-" + contactId + "-" + body)
        guard let created = saved.first, (created.validationErrors ?? []).isEmpty, let xid = created.contactID?.lowercased() else {
            let why = saved.first?.validationErrors?.map(\.message).joined(separator: "; ") ?? "Xero sent no contact back"
            throw SyncError(message: "Xero refused the new contact: \(why)")
        }
        count("contactsCreatedInXero")
        // The contact keeps what it holds now (a person's edit meanwhile is not undone; the next
        // merge sends it, since it differs from what Xero agreed to).
        return try store.linkContact(accountId: accountId, contactId: contactId, xeroContactId: xid, fields: nil,
                                     base: ContactFields(xero: created), expectedVersion: nil)
    }

    /// R7's "Accept values and link": writes the chosen values to the Xero contact as it is now
    /// (only what differs, never damaging it), then links.
    func linkMatch(_ match: ContactMatchRecord, chosen: ContactFields) throws -> ContactRecord {
        let current = try xero.contacts(tenantId: tenantId, ids: [match.xeroContactId]).first
        let original = try current ?? Xero.Contact(json: JSON.parse(match.xeroContact))
        if let update = XeroContactWrite.update(original, to: chosen) {
            let key = "link-" + match.id + "-" + Base64.encodeURL(Array(Crypto.sha256(XeroWire.bytes(update.json(.standard))).prefix(12)))
            let saved = try xero.saveContacts(tenantId: tenantId, [update], idempotencyKey: key)
            if let refused = saved.first(where: { !($0.validationErrors ?? []).isEmpty }) {
                throw SyncError(message: "Xero refused the values: " + (refused.validationErrors ?? []).map(\.message).joined(separator: "; "))
            }
        }
        count("contactsLinked")
        return try runs.link(accountId: accountId, matchId: match.id, fields: chosen)
    }
}

extension SyncEngine {
    /// R11: "Create contact in Xero" on a SortScape contact, through the engine (a `link` run).
    public func createContactInXero(accountId: String, contactId: String) throws -> ContactRecord {
        try perform(accountId: accountId, trigger: .link) { try $0.createContactInXero(contactId: contactId) }
    }
}
