import Synchronization
import Timekeeping

/// In-memory tables for tests, shared by `MemoryAccountRepository` and
/// `MemoryWebhookEventRepository` as the SQLite repositories share a `Database` (connecting an
/// account routes its tenant's inbox events). State lives under one `Mutex`.
public final class MemoryStore: Sendable {
    let clock: any WallClock
    let tables = Mutex(Tables())

    /// Empty tables; timestamps come from `clock`.
    public init(clock: any WallClock = SystemWallClock()) { self.clock = clock }

    struct StoredAccount {
        let account: Account
        let createdAt: String
    }

    struct MemorySession {
        let userId: String
        let expiresAt: Int64
        /// Creation order (SQLite's rowid), for the per-user cap.
        let seq: Int64
    }

    struct StoredUser {
        let user: User
        let createdAt: String
        var revokedAt: String?
        /// Creation order, for listing.
        let seq: Int64
    }

    struct MemoryDelivery {
        let id: Int64
        let receivedAt: String
        let body: [UInt8]
    }

    struct ContactKey: Hashable {
        let accountId: String
        let contactId: String
    }

    struct Tables {
        var accounts: [String: StoredAccount] = [:]
        /// Users by the SHA-256 of their token (the token itself is never kept).
        var users: [[UInt8]: StoredUser] = [:]
        /// The last number handed out for creation order (users, sessions).
        var sequence: Int64 = 0
        var connections: [String: AccountConnection] = [:]
        /// Events in id order.
        var events: [InboxEvent] = []
        /// Event ids by dedup key.
        var dedupKeys: [[UInt8]: Int64] = [:]
        var lastDeliveryId: Int64 = 0
        /// Committed deliveries not yet expanded, in id order (`MemoryWebhookInboxRepository`).
        var deliveries: [MemoryDelivery] = []
        /// The last delivery expanded into events.
        var expandedThrough: Int64 = 0
        /// Organisations offered while `choosing`, by account.
        var offered: [String: [OfferedTenant]] = [:]
        var organisationTimezones: [String: String] = [:]
        /// Sealed Xero tokens, by account.
        var xeroTokens: [String: SealedXeroTokens] = [:]
        /// Browser sessions by the SHA-256 of their cookie value.
        var sessions: [[UInt8]: MemorySession] = [:]
        /// OAuth states by the SHA-256 of their value.
        var oauthStates: [[UInt8]: OAuthStateRecord] = [:]
        // SortScape's records and the sync's tables (migration 2).
        var contacts = MemoryTable<ContactRecord>()
        var properties = MemoryTable<PropertyRecord>()
        var materials = MemoryTable<MaterialRecord>()
        var jobs = MemoryTable<JobRecord>()
        var issues = MemoryTable<IssueRecord>()
        var matches = MemoryTable<ContactMatchRecord>()
        var runs = MemoryTable<SyncRunRecord>()
        // The sync engine's tables (migration 5).
        var eventRetries: [Int64: Int64] = [:]
        var watermarks: [String: Int64] = [:]
        var bases: [ContactKey: ContactFields] = [:]
        var outbox: [ContactKey: OutboundContact] = [:]
        /// Conflicts in the order recorded.
        var conflicts: [(key: ContactKey, conflict: ContactConflict)] = []
        // Visits and invoice settings (migration 8).
        var visits = MemoryTable<VisitRecord>()
        var invoiceSettings: [String: InvoiceSettings] = [:]

        /// Ends a session and the OAuth states bound to it.
        mutating func endSession(_ tokenHash: [UInt8]) {
            sessions[tokenHash] = nil
            oauthStates = oauthStates.filter { $0.value.sessionHash != tokenHash }
        }

        /// Ends every session of a user; how many ended.
        @discardableResult
        mutating func endSessions(userId: String) -> Int {
            let mine = sessions.filter { $0.value.userId == userId }.map(\.key)
            for hash in mine { endSession(hash) }
            return mine.count
        }

        /// Tenant id (lowercase) → account id.
        var tenantRoutes: [String: String] {
            var m: [String: String] = [:]
            for c in connections.values { if let t = c.tenantId { m[t] = c.accountId } }
            return m
        }
    }
}
