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

/// The contract harnesses' way in for a delivery: `body` appended to `inbox`, then waited for
/// until it is expanded into events.
func deliverAndExpand(_ inbox: WebhookInbox) -> (String) -> Void {
    { body in
        _ = appendAndWait(inbox, body)
        #expect(inbox.waitUntilExpanded())
    }
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
}
