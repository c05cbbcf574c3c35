import Foundation
import Gateway
import Store
import StrictJSON
import Sync
import Synchronization
import Testing
import Xero

/// `xero-gateway sync --account ID [--full]` end to end: one run through the engine beside a
/// running gateway (its own store connection, as another process has), against xero-sim.
@Suite(.serialized) struct SyncCommandTests {
    let f = FirstSyncTests()

    /// A connected account with KeepInStepTests' seed imported by the gateway's first sync.
    func connected(backend: StoreBackend = .sqlite) throws -> (p: ConnectPair, account: String, admin: String, tenant: String) {
        let p = try ConnectPair(realSync: true, backend: backend)
        let (account, admin, tenant) = try f.connectedAndSynced(p, seed: { t in
            try p.sim("POST", "/sim/organisations/\(t)/contacts", KeepInStepTests.seed)
            try p.sim("POST", "/sim/organisations/\(t)/items", #"{"Items": [{"Code": "MULCH", "Name": "Bark Mulch"}]}"#)
        })
        return (p, account, admin, tenant)
    }

    /// What the command does, in this process: its own stores on the gateway's `GATEWAY_DB`.
    func sync(_ p: ConnectPair, _ account: String, full: Bool = false, wait: Double = 5) throws
        -> (run: SyncRunRecord, progress: [(SyncProgress, Int?)]) {
        let stores = try p.openStores()
        defer { stores.close() }
        let seen = Mutex<[(SyncProgress, Int?)]>([])
        let run = try CommandLineSync.run(
            accountId: account, full: full, configuration: Configuration.load(environment: p.environment), stores: stores, wait: wait,
            xeroRetry: XeroRetryPolicy(attempts: 2, baseDelay: 0.01, maxDelay: 0.02, timeout: 3)) { progress, left in
            seen.withLock { $0.append((progress, left)) }
        }
        return (run, seen.withLock { $0 })
    }

    func apiRun(_ p: ConnectPair, _ admin: String, _ id: String) throws -> JSON {
        try JSON.parse(p.request("GET", "/api/v1/xero/sync-runs/\(id)", bearer: admin).body)
    }

    @Test(arguments: StoreBackend.all)
    func r17_theSyncCommandRunsTheIncrementalSweepBesideTheServerWithProgress(_ backend: StoreBackend) throws {
        let (p, account, admin, tenant) = try connected(backend: backend)
        let kauri = try #require(try f.all(p, admin, "contacts").first { $0["name"]?.stringValue == "Kauri Landscapes" })
        let xid = try #require(kauri["xeroContactId"]?.stringValue)
        try p.sim("PATCH", "/sim/organisations/\(tenant)/contacts/\(xid)", #"{"EmailAddress": "cli@kauri.nz"}"#)

        let (run, progress) = try sync(p, account)
        #expect(run.trigger == .manual && run.state == .succeeded, "\(run)")
        #expect(run.counts["contactsUpdatedFromXero"] == 1)
        #expect(run.xeroCalls >= 2 && run.errors.isEmpty)
        #expect(CommandLineSync.exitStatus(run) == 0)
        // Progress as it went: pages and records read, calls made, and Xero's word on the day's calls.
        let last = try #require(progress.last)
        #expect(last.0.xeroCalls == run.xeroCalls && last.0.pages >= 2 && last.0.records >= 1)
        #expect(last.1.map { $0 < 5_000 && $0 > 4_000 } == true)
        #expect(progress.map(\.0.xeroCalls) == progress.map(\.0.xeroCalls).sorted())
        #expect(CommandLineSync.progressLine(last.0, callsLeftToday: last.1).hasPrefix("sync: \(last.0.pages) pages, "))
        #expect(CommandLineSync.summaryLines(run).first?.contains("(manual) succeeded") == true)
        // The gateway sees the run and the change it brought.
        let shown = try apiRun(p, admin, run.id)
        #expect(shown["state"]?.stringValue == "succeeded" && shown["trigger"]?.stringValue == "manual")
        let after = try #require(try f.all(p, admin, "contacts").first { $0["name"]?.stringValue == "Kauri Landscapes" })
        #expect(after["email"]?.stringValue == "cli@kauri.nz")
    }

    @Test func r17_fullRunsTheReconciliationReadingEverything() throws {
        let (p, account, admin, _) = try connected()
        let (run, progress) = try sync(p, account, full: true)
        #expect(run.trigger == .reconcile && run.state == .succeeded, "\(run)")
        let last = try #require(progress.last).0
        #expect(last.pages >= 2 && last.records >= 4)  // every contact (3) and item (1)
        #expect(try apiRun(p, admin, run.id)["trigger"]?.stringValue == "reconcile")
    }

    @Test func aFailedRunIsRecordedAndExitsNonZero() throws {
        let (p, account, admin, _) = try connected()
        try p.sim("POST", "/sim/faults", #"{"kind":"503","count":100,"path":"/Contacts"}"#)
        let (run, _) = try sync(p, account)
        try p.sim("DELETE", "/sim/faults")
        #expect(run.state == .failed)
        #expect(run.errors.contains { $0.contains("could not be reached") }, "\(run.errors)")
        #expect(CommandLineSync.exitStatus(run) == 1)
        #expect(CommandLineSync.summaryLines(run).contains { $0.hasPrefix("error: Xero could not be reached") })
        let shown = try apiRun(p, admin, run.id)
        #expect(shown["state"]?.stringValue == "failed" && shown["errors"]?.arrayValue?.isEmpty == false)
    }

    @Test func aRunAlreadyGoingOnIsWaitedForThenNamed() throws {
        let (p, account, admin, _) = try connected()
        // The gateway holds the account (a long run, say).
        let (holder, started) = try p.gateway.sync.startRun(accountId: account, trigger: .scheduled)
        #expect(started)
        let refused = Date()
        #expect { try sync(p, account, wait: 0.5) } throws: { error in
            let message = (error as? CommandLineSync.Refusal)?.message ?? ""
            return message.contains(holder.id) && message.contains("still going on")
        }
        #expect(Date().timeIntervalSince(refused) >= 0.5)
        #expect(try f.runs(p, admin).count == 2)  // the first sync and the holder: nothing new
        // Once it ends, the command runs; a run ending while the command waits is waited for.
        DispatchQueue.global().asyncAfter(deadline: .now() + 0.5) {
            var done = holder
            done.state = .succeeded
            _ = try? p.gateway.sync.finishRun(done)
        }
        let (run, _) = try sync(p, account, wait: 10)
        #expect(run.state == .succeeded && run.id != holder.id)
    }

    @Test func nothingRunsForAnUnknownOrUnconnectedAccount() throws {
        let p = try ConnectPair(realSync: true)
        let (account, admin) = try p.account()
        for id in [account, "no-such-account"] {
            #expect { try sync(p, id) } throws: { error in
                let message = (error as? CommandLineSync.Refusal)?.message ?? ""
                return message.contains("not connected") || message.contains("No account has the id")
            }
        }
        #expect(try f.runs(p, admin).isEmpty)
    }

    /// The executable itself: exit status, the progress line and errors on stderr, the run on stdout.
    @Test(arguments: StoreBackend.all)
    func theCommandExitsNonZeroWhenTheRunFails(_ backend: StoreBackend) throws {
        let binary = try #require(Self.gatewayBinary(), "xero-gateway is not built beside the tests")
        let (p, account, _, _) = try connected(backend: backend)
        // Xero holds the organisation back for an hour: the command's run fails at once.
        try p.sim("POST", "/sim/faults", #"{"kind":"429","retryAfter":3600,"count":100,"path":"/Contacts"}"#)
        defer { _ = try? p.sim("DELETE", "/sim/faults") }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["sync", "--account", account]
        process.environment = p.environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 1, "\(stderr)")
        #expect(stderr.contains("sync: ") && stderr.contains("Xero call"), "\(stderr)")
        #expect(stderr.contains("(manual) failed") && stderr.contains("error: Xero's limit on calls"), "\(stderr)")
        let run = try JSON.parse(Array(stdout))
        #expect(run["state"]?.stringValue == "failed" && run["trigger"]?.stringValue == "manual")
    }

    /// `xero-gateway` built beside the test bundle.
    static func gatewayBinary() -> String? {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        let candidates = [dir.appendingPathComponent("xero-gateway").path,
                          dir.deletingLastPathComponent().appendingPathComponent("xero-gateway").path]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}
