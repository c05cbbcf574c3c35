/// What the sync engine keeps to hold both sides in step (R8–R11, R16, R17): inbox events it
/// claims and settles, a watermark per account and resource, for each linked contact the values
/// last agreed with Xero (the base of R9's three-way merge), the outbox of SortScape edits waiting
/// to reach Xero, and the conflicts it recorded.
///
/// Implementations: `SQLiteSyncEngineRepository` (production) and `MemorySyncEngineRepository`
/// (tests); one contract suite runs against both.

/// A resource the engine reads from Xero, with how far it has read (`sync_watermarks.resource`).
public enum SyncResource: String, Sendable, CaseIterable {
    /// Contacts: the newest `UpdatedDateUTC` (ms) applied.
    case contacts
    /// Items: the newest `UpdatedDateUTC` (ms) applied.
    case items
    /// When everything was last read in full (ms, wall clock): the daily reconciliation.
    case reconcile
    /// Until when (ms, wall clock) one gateway holds the account's scheduled sweep (`takeSweepLease`).
    case sweepLease = "sweep_lease"
}

/// How the engine ends an inbox event.
public enum EventOutcome: Sendable, Equatable {
    case applied
    /// Nothing to do, and why (e.g. "a supplier-only contact is not imported (R5)").
    case ignored(String)
    /// The apply failed; it is tried again at `nextAttemptAt` (ms), or never when nil.
    case failed(String, nextAttemptAt: Int64?)
}

/// A field changed on both sides (R9), as the contact's `conflicts` show it.
public struct ContactConflict: Sendable, Equatable {
    public var field: String
    public var sortscape: String
    public var xero: String
    /// `sortscape` or `xero`: the side whose value was kept.
    public var kept: String
    public var at: String

    public init(field: String, sortscape: String, xero: String, kept: String, at: String) {
        self.field = field
        self.sortscape = sortscape
        self.xero = xero
        self.kept = kept
        self.at = at
    }
}

/// A linked contact with the values last agreed with Xero (nil when none were recorded).
public struct LinkedContact: Sendable, Equatable {
    public var contact: ContactRecord
    public var base: ContactFields?

    public init(contact: ContactRecord, base: ContactFields?) {
        self.contact = contact
        self.base = base
    }
}

/// A linked contact a person changed, waiting for the push to Xero.
public struct OutboundContact: Sendable, Equatable {
    public var contactId: String
    /// The first edit not yet pushed (ms).
    public var queuedAt: Int64
    /// The latest edit (ms): the push clears the row only if no edit came after the one it read.
    public var editedAt: Int64
    public var attempts: Int

    public init(contactId: String, queuedAt: Int64, editedAt: Int64, attempts: Int = 0) {
        self.contactId = contactId
        self.queuedAt = queuedAt
        self.editedAt = editedAt
        self.attempts = attempts
    }
}

/// One change the engine makes to a contact, applied only while the contact still holds what the
/// engine read (`expected`): a person's edit in between makes it stale, and the engine reads again.
public struct ContactUpdate: Sendable, Equatable {
    public var expected: ContactRecord
    /// New values for SortScape (nil: unchanged).
    public var fields: ContactFields?
    /// New values last agreed with Xero (nil: unchanged).
    public var base: ContactFields?
    public var syncState: ContactSyncState?
    /// Another Xero contact to link to (R10's merge).
    public var relinkTo: String?
    /// Archive the contact and its properties (R10) — unless, at the write, a property has a
    /// pending job or an open issue: then the contact is `waiting_archive` instead.
    public var archive: Bool
    public var conflicts: [ContactConflict]
    /// Clears the contact's outbox row if its latest edit is still this one (the push carried it).
    public var clearOutboxEditedAt: Int64?
    /// False for what Xero has agreed to (a base after a push): written even if the contact changed since.
    public var checked: Bool

    public init(expected: ContactRecord, fields: ContactFields? = nil, base: ContactFields? = nil,
                syncState: ContactSyncState? = nil, relinkTo: String? = nil, archive: Bool = false,
                conflicts: [ContactConflict] = [], clearOutboxEditedAt: Int64? = nil, checked: Bool = true) {
        self.expected = expected
        self.fields = fields
        self.base = base
        self.syncState = syncState
        self.relinkTo = relinkTo
        self.archive = archive
        self.conflicts = conflicts
        self.clearOutboxEditedAt = clearOutboxEditedAt
        self.checked = checked
    }

    /// True when the update changes nothing.
    public var isEmpty: Bool {
        fields == nil && base == nil && syncState == nil && relinkTo == nil && !archive && conflicts.isEmpty
            && clearOutboxEditedAt == nil
    }
}

/// What `applyContactUpdates` did with each update, by contact id.
public enum ContactUpdateResult: Sendable, Equatable {
    case applied
    /// The contact changed since it was read (or is gone): nothing was written.
    case stale
    /// The relink target is another contact's already: nothing was written.
    case relinkTaken
}

/// How long history is kept (`pruneHistory`): the engine prunes once a day.
public struct HistoryRetention: Sendable, Equatable {
    /// Finished sync runs that ended before this (a timestamp) are deleted…
    public var runsEndedBefore: String
    /// …except each account's newest this many.
    public var keepRunsPerAccount: Int
    /// Settled inbox events received before this (a timestamp) are deleted, and the webhook
    /// deliveries left without events.
    public var eventsReceivedBefore: String

    public init(runsEndedBefore: String, keepRunsPerAccount: Int, eventsReceivedBefore: String) {
        self.runsEndedBefore = runsEndedBefore
        self.keepRunsPerAccount = keepRunsPerAccount
        self.eventsReceivedBefore = eventsReceivedBefore
    }
}

/// What `pruneHistory` deleted.
public struct PrunedHistory: Sendable, Equatable {
    public var runs: Int
    public var events: Int
    /// Webhook bodies (the memory store keeps none: always 0 there).
    public var deliveries: Int

    public init(runs: Int = 0, events: Int = 0, deliveries: Int = 0) {
        self.runs = runs
        self.events = events
        self.deliveries = deliveries
    }
}

public protocol SyncEngineRepository: Sendable {
    // MARK: inbox (R16)
    /// The account's events the engine should apply now: `pending` ones and `failed` ones whose
    /// retry is due, oldest first, at most `limit`.
    func claimableEvents(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [InboxEvent]
    /// Accounts with claimable events (at start, and after a crash).
    func accountsWithClaimableEvents(now: Int64) throws(StoreError) -> [String]
    /// Ends events: `applied`, `ignored` (with why) or `failed` (attempts counted, error kept).
    func settle(accountId: String, _ outcomes: [(id: Int64, outcome: EventOutcome)]) throws(StoreError)
    /// Makes an event pending again (attempts kept); `notFound` when the account has no such event.
    /// `accountId` nil: an operator's replay, any account's.
    @discardableResult func replay(accountId: String?, eventId: Int64) throws(StoreError) -> InboxEvent
    /// The earliest retry due among failed events, per account (for the scheduler).
    func nextEventRetries() throws(StoreError) -> [String: Int64]

    // MARK: watermarks (R17)
    func watermark(accountId: String, _ resource: SyncResource) throws(StoreError) -> Int64?
    /// Moves a watermark; it never goes back (a smaller value is ignored).
    func setWatermark(accountId: String, _ resource: SyncResource, _ value: Int64) throws(StoreError)
    /// Takes the account's scheduled sweep until `until` (ms) when no gateway sharing the store
    /// holds it at `now` (the `sweepLease` watermark is then moved to `until`): of any number of
    /// callers, one gets true per lease; a lease whose holder died ends by itself.
    func takeSweepLease(accountId: String, now: Int64, until: Int64) throws(StoreError) -> Bool

    // MARK: linked contacts (R9, R10)
    /// The account's contacts linked to these Xero contacts, by Xero contact id (lowercase).
    func linkedContacts(accountId: String, xeroContactIds: [String]) throws(StoreError) -> [String: LinkedContact]
    /// These contacts of the account with their base, in no particular order (unknown ids left out).
    func linkedContacts(accountId: String, contactIds: [String]) throws(StoreError) -> [LinkedContact]
    /// Applies each update in one transaction, each only while its contact still holds `expected`.
    func applyContactUpdates(accountId: String, _ updates: [ContactUpdate]) throws(StoreError) -> [String: ContactUpdateResult]
    /// Links an unlinked contact to a Xero contact (R11): it takes `fields` (nil: keeps its own),
    /// and `base` is what Xero holds; `conflict` when the contact is linked already, another
    /// contact has that Xero contact, or (with `expectedVersion`) the contact changed meanwhile.
    func linkContact(accountId: String, contactId: String, xeroContactId: String, fields: ContactFields?,
                     base: ContactFields, expectedVersion: Int64?) throws(StoreError) -> ContactRecord
    /// The account's contacts in `syncState`.
    func contacts(accountId: String, syncState: ContactSyncState) throws(StoreError) -> [ContactRecord]
    func contactCount(accountId: String, syncState: ContactSyncState) throws(StoreError) -> Int
    /// Whether any of the contact's properties has a pending job or an open issue (R10).
    func hasPendingWork(accountId: String, contactId: String) throws(StoreError) -> Bool
    /// The conflicts recorded on these contacts, newest first, by contact id.
    func conflicts(accountId: String, contactIds: [String]) throws(StoreError) -> [String: [ContactConflict]]

    // MARK: outbox (R9)
    /// The account's edited linked contacts due for a push (queued at or before `now`), oldest first.
    func outbound(accountId: String, now: Int64, limit: Int) throws(StoreError) -> [OutboundContact]
    /// When each account's earliest push is queued (ms; a refused one's is in the future).
    func outboundQueued() throws(StoreError) -> [String: Int64]
    /// Counts a failed or refused push on these rows, keeps the error and queues them again
    /// after a backoff (30 s doubling to an hour); a person's next edit makes them due at once.
    func failOutbound(accountId: String, contactIds: [String], error: String) throws(StoreError)
    /// Drops rows whose contact can no longer be pushed (unlinked or archived).
    func dropOutbound(accountId: String, contactIds: [String]) throws(StoreError)

    // MARK: items (R12–R14, R17)
    /// Unlinks materials whose item Xero no longer has: they become editable again.
    func unlinkMaterials(accountId: String, materialIds: [String]) throws(StoreError) -> Int

    // MARK: retention
    /// Deletes history kept only for a while, every account's: finished sync runs that ended
    /// before `runsEndedBefore` beyond each account's newest `keepRunsPerAccount`; inbox events
    /// received before `eventsReceivedBefore` that are settled (`applied`, `ignored`, `unrouted`,
    /// `quarantined`, or `failed` with no attempt left — never `pending` or a failed one still to
    /// be retried); and the webhook deliveries expanded before then that no event refers to any
    /// more. The newest event and delivery are always kept (their ids are never handed out again).
    func pruneHistory(_ retention: HistoryRetention) throws(StoreError) -> PrunedHistory
}
