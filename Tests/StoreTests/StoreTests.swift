import Foundation
import Store
import Synchronization
import Testing

/// A fresh database in its own temporary directory.
func temporaryDatabasePath() -> String {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("xg-store-\(UUID().uuidString)")
    try! FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir.appendingPathComponent("gateway.sqlite").path
}

/// A fake payload format for the inbox: `tenant category resource date type` lines; `!why`
/// lines are problems. Keeps these tests independent of Xero's JSON.
let fakeReader: DeliveryReader = { body in
    var contents = DeliveryContents(events: [])
    for line in String(decoding: body, as: UTF8.self).split(separator: "\n") {
        if line.hasPrefix("!") { contents.problems.append(String(line.dropFirst())); continue }
        let f = line.split(separator: " ").map(String.init)
        guard f.count == 5 else { contents.problems.append("bad line"); continue }
        contents.events.append(InboxEventInput(tenantId: f[0], category: f[1], type: f[4],
                                               resourceId: f[2], eventDateUtc: f[3],
                                               eventDateMilliseconds: Int64(f[3].hashValue & 0xffff_ffff)))
    }
    return contents
}

/// Appends and waits for the commit; returns the result.
func appendAndWait(_ inbox: WebhookInbox, _ body: String) -> Result<Void, StoreError> {
    let done = DispatchSemaphore(value: 0)
    let result = Mutex<Result<Void, StoreError>?>(nil)
    inbox.append(Array(body.utf8)) { r in
        result.withLock { $0 = r }
        done.signal()
    }
    done.wait()
    return result.withLock { $0! }
}

@Suite struct MigrationTests {
    @Test func freshDatabaseIsMigratedAndReopens() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        #expect(db.schemaVersion >= 1)
        db.close()
        let again = try Database(path: path)
        #expect(again.schemaVersion == db.schemaVersion)
    }

    @Test func refusesASchemaNewerThanTheBuild() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        try db.write { try $0.execute("PRAGMA user_version = 999") }
        db.close()
        #expect { try Database(path: path) } throws: { ($0 as? StoreError)?.code == .schemaTooNew }
    }

    @Test func unwritablePathIsAClearError() {
        // A missing folder is created (0700), so: one that cannot be, even by root.
        #expect { try Database(path: "/proc/nonexistent-dir/x/gateway.sqlite") } throws: { ($0 as? StoreError)?.code == .openFailed }
    }
}

@Suite struct SQLiteAccountRepositoryTests {
    @Test func accountCreationIssuesAnAdminTokenThatAuthenticates() throws {
        let db = try Database(path: temporaryDatabasePath())
        let store = SQLiteAccountRepository(database: db)
        let issued = try store.createAccount(name: "  Acme Gardens ")
        let user = try #require(try store.authenticate(token: issued.token))
        #expect(user.role == .admin && user.accountId == issued.accountId)
        #expect(try store.accounts().map(\.name) == ["Acme Gardens"])
        #expect(try store.connection(accountId: issued.accountId!)?.state == .inactive)
        #expect(try store.authenticate(token: issued.token + "x") == nil)
        #expect(try store.authenticate(token: "") == nil)
    }

    @Test func onlyTheTokensHashIsStored() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let issued = try SQLiteAccountRepository(database: db).createAccount(name: "Acme")
        db.close()
        for suffix in ["", "-wal"] {
            if let data = FileManager.default.contents(atPath: path + suffix) {
                #expect(data.range(of: Data(issued.token.utf8)) == nil)
            }
        }
    }

    @Test func usersNeedAnAccountExceptOperators() throws {
        let db = try Database(path: temporaryDatabasePath())
        let store = SQLiteAccountRepository(database: db)
        let acct = try store.createAccount(name: "A").accountId!
        let staff = try store.createUser(accountId: acct, role: .staff)
        #expect(try store.authenticate(token: staff.token)?.role == .staff)
        let op = try store.createUser(accountId: nil, role: .operator)
        let opUser = try #require(try store.authenticate(token: op.token))
        #expect(opUser.id == op.userId && opUser.accountId == nil && opUser.role == .operator)
        #expect { try store.createUser(accountId: nil, role: .admin) } throws: { ($0 as? StoreError)?.code == .invalidAccount }
        #expect { try store.createUser(accountId: acct, role: .operator) } throws: { ($0 as? StoreError)?.code == .invalidRole }
        #expect { try store.createUser(accountId: "no-such-account", role: .staff) } throws: { ($0 as? StoreError)?.code == .notFound }
        #expect { try store.createAccount(name: "   ") } throws: { ($0 as? StoreError)?.code == .invalidName }
    }
}

@Suite struct WebhookInboxTests {
    @Test func r16_aCommittedDeliveryIsOnDiskBeforeTheCompletionRuns() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        let done = DispatchSemaphore(value: 0)
        let seenByOtherConnection = Mutex(-1)
        inbox.append(Array("t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE".utf8)) { result in
            // Read through a brand-new connection from inside the completion.
            let other = try! Database(path: path)
            let n = try! other.read { try $0.query("SELECT COUNT(*) AS n FROM webhook_deliveries").first!.int("n")! }
            seenByOtherConnection.withLock { $0 = n }
            other.close()
            done.signal()
        }
        done.wait()
        #expect(seenByOtherConnection.withLock { $0 } == 1)
        inbox.stop()
    }

    @Test func r16_eventsAreExpandedAndDeduplicated() throws {
        let db = try Database(path: temporaryDatabasePath())
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        let body = "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE\nt1 INVOICE r2 2024-01-01T00:00:00.000Z CREATE"
        #expect(throws: Never.self) { try appendAndWait(inbox, body).get() }
        #expect(throws: Never.self) { try appendAndWait(inbox, body).get() }  // Xero retried
        #expect(throws: Never.self) { try appendAndWait(inbox, "T1 contact R1 2024-01-01T00:00:00.000Z update").get() }
        #expect(throws: Never.self) { try appendAndWait(inbox, "t1 CONTACT r1 2024-01-01T00:00:01.000Z UPDATE").get() }
        #expect(inbox.waitUntilExpanded())
        let events = try SQLiteWebhookEventRepository(database: db).events(accountId: nil, state: nil, limit: 100, afterId: nil)
        #expect(events.count == 3)
        #expect(events.map(\.resourceId) == ["r1", "r2", "r1"])
        #expect(events.allSatisfy { $0.state == .unrouted })
        inbox.stop()
    }

    @Test func r16_unreadablePartsAreQuarantinedNotDropped() throws {
        let db = try Database(path: temporaryDatabasePath())
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        #expect(throws: Never.self) { try appendAndWait(inbox, "!body is not JSON\nt1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE").get() }
        #expect(inbox.waitUntilExpanded())
        let q = try SQLiteWebhookEventRepository(database: db).events(accountId: nil, state: .quarantined, limit: 10, afterId: nil)
        #expect(q.count == 1 && q[0].lastError == "body is not JSON")
        #expect(try SQLiteWebhookEventRepository(database: db).events(accountId: nil, state: .unrouted, limit: 10, afterId: nil).count == 1)
        inbox.stop()
    }

    @Test func r16_everyUnreadablePartIsAccountedForAndAPoisonedDeliveryIsQuarantinedOnceWithItsCount() throws {
        let db = try Database(path: temporaryDatabasePath())
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        let repo = SQLiteWebhookEventRepository(database: db)
        // Up to 100 problems: one row each (past 65 536 rows the old 16-bit key wrapped and dropped rows).
        let hundred = (0..<100).map { "!bad \($0)" }.joined(separator: "\n")
        _ = appendAndWait(inbox, hundred)
        // 70 000 problems: one row that says how many.
        let poisoned = (0..<70_000).map { "!bad \($0)" }.joined(separator: "\n")
        _ = appendAndWait(inbox, poisoned)
        _ = appendAndWait(inbox, poisoned)  // re-sent (its 200 lost): quarantined once
        #expect(inbox.waitUntilExpanded(timeout: 30))
        let rows = try repo.events(accountId: nil, state: .quarantined, limit: 500, afterId: nil)
        #expect(rows.count == 101)
        #expect(Set(rows.prefix(100).compactMap(\.lastError)).count == 100)
        #expect(rows.last?.lastError?.hasPrefix("70000 unreadable parts") == true)
        inbox.stop()
    }

    @Test func r16_eventsRouteToTheConnectedAccountAndEarlierOnesFollow() throws {
        let db = try Database(path: temporaryDatabasePath())
        let accounts = SQLiteAccountRepository(database: db)
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        let a = try accounts.createAccount(name: "A").accountId!
        _ = appendAndWait(inbox, "tenant-a CONTACT r1 2024-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        #expect(try SQLiteWebhookEventRepository(database: db).events(accountId: a, state: nil, limit: 10, afterId: nil).isEmpty)

        try accounts.connect(accountId: a, tenantId: "TENANT-A", tenantName: "Org A")
        _ = appendAndWait(inbox, "tenant-a CONTACT r2 2024-01-01T00:00:00.000Z UPDATE\nother CONTACT r3 2024-01-01T00:00:00.000Z UPDATE")
        #expect(inbox.waitUntilExpanded())
        let mine = try SQLiteWebhookEventRepository(database: db).events(accountId: a, state: .pending, limit: 10, afterId: nil)
        #expect(mine.map(\.resourceId) == ["r1", "r2"])
        #expect(try SQLiteWebhookEventRepository(database: db).events(accountId: nil, state: .unrouted, limit: 10, afterId: nil).map(\.resourceId) == ["r3"])
        #expect(try SQLiteWebhookEventRepository(database: db).pendingByAccount() == [a: 2])
        inbox.stop()
    }

    @Test func r16_deliveriesCommittedBeforeACrashAreExpandedAtTheNextStart() throws {
        let path = temporaryDatabasePath()
        let db = try Database(path: path)
        // As if the process died right after committing, before expanding.
        try db.write { c in
            for r in ["r1", "r2", "r1"] {
                try c.run("INSERT INTO webhook_deliveries (received_at, body) VALUES ('2024-01-01T00:00:00.000Z', ?)",
                          [.blob(Array("t1 CONTACT \(r) 2024-01-01T00:00:00.000Z UPDATE".utf8))])
            }
        }
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        #expect(inbox.waitUntilExpanded())
        #expect(try SQLiteWebhookEventRepository(database: db).events(accountId: nil, state: nil, limit: 10, afterId: nil).map(\.resourceId) == ["r1", "r2"])
        inbox.stop()
        // And a restart does not expand them twice.
        let again = try WebhookInbox(database: db, reader: fakeReader)
        #expect(again.waitUntilExpanded())
        #expect(try SQLiteWebhookEventRepository(database: db).counts() == [.unrouted: 2])
        again.stop()
    }

    @Test func r16_manyConcurrentAppendsShareCommitsAndAllLand() throws {
        let db = try Database(path: temporaryDatabasePath())
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        let n = 2000
        let group = DispatchGroup()
        let failures = Atomic<Int>(0)
        for i in 0..<n {
            group.enter()
            inbox.append(Array("t1 CONTACT r\(i) 2024-01-01T00:00:00.000Z UPDATE".utf8)) { r in
                if case .failure = r { failures.add(1, ordering: .relaxed) }
                group.leave()
            }
        }
        group.wait()
        #expect(failures.load(ordering: .relaxed) == 0)
        #expect(inbox.committedDeliveries.load(ordering: .relaxed) == n)
        #expect(inbox.waitUntilExpanded(timeout: 20))
        #expect(try SQLiteWebhookEventRepository(database: db).counts() == [.unrouted: n])
        inbox.stop()
    }

    @Test func r16_afterStopNothingIsAcceptedAndCallersAreToldSo() throws {
        let db = try Database(path: temporaryDatabasePath())
        let inbox = try WebhookInbox(database: db, reader: fakeReader)
        inbox.stop()
        #expect(!inbox.writerAlive)
        guard case .failure(let e) = appendAndWait(inbox, "t1 CONTACT r1 2024-01-01T00:00:00.000Z UPDATE") else {
            Issue.record("append after stop succeeded")
            return
        }
        #expect(e.code == .stopping)
    }
}
