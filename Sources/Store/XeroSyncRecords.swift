import Timekeeping

/// What the sync keeps beside SortScape's records: suspected duplicates (R7), sync runs (R17)
/// and the first import's batches (R5–R7, R12).

/// The four fields a SortScape contact and its Xero contact share (R7's three columns, R9's
/// two-way sync): name, company name, email, phone.
///
/// Xero has one `Name` (a person's or an organisation's) plus optional `FirstName`/`LastName`;
/// SortScape has a person's name and a company name. Read from Xero: a contact with a first or
/// last name is that person, and its `Name` is the company when it says something else; without
/// them, `Name` is the name and there is no company. Written to Xero: `Name` is the company when
/// there is one, else the name; `FirstName`/`LastName` come from the name.
public struct ContactFields: Sendable, Equatable, Hashable {
    public var name: String
    public var companyName: String
    public var email: String
    public var phone: String

    public init(name: String = "", companyName: String = "", email: String = "", phone: String = "") {
        self.name = name
        self.companyName = companyName
        self.email = email
        self.phone = phone
    }
}

extension ContactRecord {
    public var fields: ContactFields {
        get { ContactFields(name: name, companyName: companyName, email: email, phone: phone) }
        set {
            name = newValue.name
            companyName = newValue.companyName
            email = newValue.email
            phone = newValue.phone
        }
    }
}

public enum MatchState: String, Sendable, CaseIterable { case pending, linked, dismissed }

/// A Xero contact that looks like a SortScape one and was not imported (R7).
public struct ContactMatchRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    /// The SortScape contact it looks like.
    public var contactId: String
    public var xeroContactId: String
    /// The Xero contact's shared fields when the match was found.
    public var xero: ContactFields
    /// `name`, `email`, `phone`: what they share.
    public var reasons: [String]
    public var state: MatchState
    /// The Xero contact as Xero sent it (JSON), to import it if the match is dismissed.
    public var xeroContact: [UInt8]
    public var createdAt: String
    public var updatedAt: String

    public init(id: String, accountId: String, contactId: String, xeroContactId: String, xero: ContactFields,
                reasons: [String], state: MatchState = .pending, xeroContact: [UInt8], createdAt: String = "", updatedAt: String = "") {
        self.id = id
        self.accountId = accountId
        self.contactId = contactId
        self.xeroContactId = xeroContactId
        self.xero = xero
        self.reasons = reasons
        self.state = state
        self.xeroContact = xeroContact
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What started a sync run (the CHECK list of `sync_runs.trigger`, in order): the first sync, a
/// webhook, the sweep, "Sync with Xero", the daily reconciliation, a link or a contact sent to
/// Xero by a person, the push of SortScape edits, and a visit invoiced by a person (R15).
public enum SyncTrigger: String, Sendable, CaseIterable {
    case initial, webhook, scheduled, manual, reconcile, link, push, invoice

    /// The runs that read Xero whole or since a watermark: what "last sync" means to people.
    public static let sweeps: Set<SyncTrigger> = [.initial, .scheduled, .manual, .reconcile]
}
public enum SyncRunState: String, Sendable, CaseIterable { case running, succeeded, failed }

/// One sync run (DESIGN §3 `sync run`).
public struct SyncRunRecord: Sendable, Equatable {
    public var id: String
    public var accountId: String
    public var trigger: SyncTrigger
    public var state: SyncRunState
    public var startedAt: String
    public var finishedAt: String?
    /// e.g. `contactsCreated`, `contactsMatched`, `contactsSkippedSupplier`, `materialsLinked`.
    public var counts: [String: Int]
    public var xeroCalls: Int
    /// Plain sentences, for people.
    public var errors: [String]
    /// The process carrying the run out (`SyncRunOwnership`), when it said.
    public var owner: String?
    /// When the owner last showed the run is alive (ms; nil for a finished run of an older build).
    public var heartbeatAt: Int64?

    public init(id: String, accountId: String, trigger: SyncTrigger, state: SyncRunState = .running, startedAt: String = "",
                finishedAt: String? = nil, counts: [String: Int] = [:], xeroCalls: Int = 0, errors: [String] = [],
                owner: String? = nil, heartbeatAt: Int64? = nil) {
        self.owner = owner
        self.heartbeatAt = heartbeatAt
        self.id = id
        self.accountId = accountId
        self.trigger = trigger
        self.state = state
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.counts = counts
        self.xeroCalls = xeroCalls
        self.errors = errors
    }
}

/// One slice of an import, applied in one transaction. Re-applying it changes nothing: a contact
/// whose `xeroContactId` the account already has, a match already recorded for the same
/// (Xero contact, SortScape contact), and a material whose `xeroItemId` is already linked are
/// skipped (their property with them).
public struct ImportBatch: Sendable {
    public var accountId: String
    public var contacts: [(contact: ContactRecord, property: PropertyRecord?)]
    public var matches: [ContactMatchRecord]
    public var newMaterials: [MaterialRecord]
    /// Existing materials linked to an item (or refreshed from it): their Xero-owned fields win (R13).
    public var linkedMaterials: [MaterialRecord]

    public init(accountId: String, contacts: [(contact: ContactRecord, property: PropertyRecord?)] = [],
                matches: [ContactMatchRecord] = [], newMaterials: [MaterialRecord] = [], linkedMaterials: [MaterialRecord] = []) {
        self.accountId = accountId
        self.contacts = contacts
        self.matches = matches
        self.newMaterials = newMaterials
        self.linkedMaterials = linkedMaterials
    }
}

/// What an applied batch actually changed.
public struct ImportOutcome: Sendable, Equatable {
    public var contactsCreated = 0
    public var propertiesCreated = 0
    public var matchesRecorded = 0
    public var materialsCreated = 0
    public var materialsLinked = 0
    public init() {}
}

/// Matches, sync runs and import batches for one store.
public protocol XeroSyncRepository: Sendable {
    // Import
    /// Every contact of the account (archived ones too): what the duplicate check compares with.
    func allContacts(accountId: String) throws(StoreError) -> [ContactRecord]
    /// Every material of the account.
    func allMaterials(accountId: String) throws(StoreError) -> [MaterialRecord]
    /// Xero contacts that already have a match recorded (any state).
    func matchedXeroContactIds(accountId: String) throws(StoreError) -> Set<String>
    func apply(_ batch: ImportBatch) throws(StoreError) -> ImportOutcome

    // Matches (R7)
    func matches(accountId: String, state: MatchState?, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<ContactMatchRecord>
    func match(accountId: String, id: String) throws(StoreError) -> ContactMatchRecord?
    func pendingMatchCount(accountId: String) throws(StoreError) -> Int
    /// Links: the SortScape contact takes `fields` and the Xero contact id, becomes `linked`; this
    /// match becomes `linked` and the other pending matches of the same Xero contact `dismissed`.
    /// Throws `conflict` when the match is not pending or the contact is already linked.
    func link(accountId: String, matchId: String, fields: ContactFields) throws(StoreError) -> ContactRecord
    /// Dismisses: imports the Xero contact as `contact` (with `property`) unless the account
    /// already has it, and dismisses every pending match of that Xero contact.
    func dismiss(accountId: String, matchId: String, contact: ContactRecord, property: PropertyRecord?) throws(StoreError) -> ContactRecord

    // Sync runs (R17)
    /// Starts a run carried out by `owner` (its heartbeat now), unless one is already running for
    /// the account: then that one comes back with `started == false` (coalescing). A running run
    /// whose heartbeat is stale (`SyncRunOwnership.staleAfter`) is failed as abandoned first.
    func startRun(accountId: String, trigger: SyncTrigger, owner: String?) throws(StoreError) -> (run: SyncRunRecord, started: Bool)
    /// The owner's running runs are alive now (their heartbeat moves).
    func heartbeat(owner: String) throws(StoreError)
    /// Records how a run ended (state, counts, calls, errors); `finishedAt` is stamped.
    @discardableResult func finishRun(_ run: SyncRunRecord) throws(StoreError) -> SyncRunRecord
    func runs(accountId: String, limit: Int, cursor: String?) throws(StoreError) -> RecordPage<SyncRunRecord>
    func run(accountId: String, id: String) throws(StoreError) -> SyncRunRecord?
    /// The account's newest runs, newest first (at most `limit`, 1–100): the screen's history.
    func recentRuns(accountId: String, limit: Int) throws(StoreError) -> [SyncRunRecord]
    /// The account's last finished run, of these triggers only when given.
    func lastFinishedRun(accountId: String, triggers: Set<SyncTrigger>?) throws(StoreError) -> SyncRunRecord?
    /// Running runs whose heartbeat is stale (their process stopped: a crash, a restart) become
    /// `failed` ("interrupted"); a run another live process carries out (the command line's
    /// `sync`) is left alone. Called at start and by the engine's scheduler.
    func failAbandonedRuns() throws(StoreError)
}

extension XeroSyncRepository {
    /// Starts a run no process beats for: abandoned once `SyncRunOwnership.staleAfter` has passed.
    public func startRun(accountId: String, trigger: SyncTrigger) throws(StoreError) -> (run: SyncRunRecord, started: Bool) {
        try startRun(accountId: accountId, trigger: trigger, owner: nil)
    }
}

/// How runs show they are alive: their owner's heartbeat every `interval`; a run whose
/// heartbeat is `staleAfter` old is abandoned.
public enum SyncRunOwnership {
    public static let interval: Int64 = 10_000
    public static let staleAfter: Int64 = 60_000

    /// Whether a running run's process is gone.
    public static func isStale(_ run: SyncRunRecord, now: Int64) -> Bool {
        run.state == .running && (run.heartbeatAt ?? Timestamp.parse(run.startedAt) ?? 0) <= now - staleAfter
    }
}
