import ArgumentParser
import Foundation
import Gateway
import Logging
import Store
import Synchronization

/// `xero-gateway sync --account ID [--full]`: one sync through the engine, beside a running
/// server or not; a progress line on stderr, the run as JSON on stdout at the end.
struct SyncCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Run one sync of an account now (needs the serve environment); prints the run as JSON.",
        discussion: """
            Without --full: the incremental sweep (trigger manual); with it: the reconciliation (trigger \
            reconcile), which reads every contact and item. Only one run per account goes on at a time, \
            whichever process started it: a run already going on is waited for (--wait), then named. \
            Exit status: 0 the run succeeded, 1 it failed, 2 nothing was run.
            """)

    @Option(help: "account id") var account: String
    @Flag(help: "reconcile: read every contact and item, not only those changed since the last sync") var full = false
    @Option(help: "seconds to wait for a run already going on for the account") var wait: Double = 30
    @OptionGroup var store: StoreOptions

    func run() throws {
        var overrides: [String: String] = [:]
        overrides["GATEWAY_DB"] = store.db
        let config: Configuration
        do {
            config = try Configuration.load(environment: ProcessInfo.processInfo.environment, overrides: overrides)
        } catch let e as ConfigurationError {
            fail(e.description)
        }
        LoggingSystem.bootstrap(StreamLogHandler.standardError)
        var logger = Logger(label: "xero-gateway.sync")
        logger.logLevel = .warning
        let stores = store.openStores()
        defer { stores.close() }
        let line = ProgressLine()
        let result: SyncRunRecord
        do {
            result = try CommandLineSync.run(accountId: account, full: full, configuration: config, stores: stores, wait: wait,
                                             logger: logger) { p, left in
                line.show(CommandLineSync.progressLine(p, callsLeftToday: left))
            }
        } catch {
            line.end()
            stores.close()
            FileHandle.standardError.write(Data("error: \(error.message)\n".utf8))
            Foundation.exit(2)
        }
        line.end()
        for l in CommandLineSync.summaryLines(result) { FileHandle.standardError.write(Data((l + "\n").utf8)) }
        print(CommandLineSync.json(result).serialized)
        let status = CommandLineSync.exitStatus(result)
        if status != 0 {
            stores.close()
            Foundation.exit(status)
        }
    }
}

/// One progress line on stderr: rewritten in place on a terminal, else a line at most every
/// half second (and the last one at the end).
final class ProgressLine: Sendable {
    private let state = Mutex<(last: String?, shownAt: Double, pending: Bool)>((nil, 0, false))
    private let terminal = isatty(STDERR_FILENO) == 1

    func show(_ text: String) {
        let now = Date().timeIntervalSince1970
        let out = state.withLock { s -> String? in
            s.last = text
            guard now - s.shownAt >= (terminal ? 0.1 : 0.5) else { s.pending = true; return nil }
            s.shownAt = now
            s.pending = false
            return text
        }
        if let out { write(out) }
    }

    /// Shows the last line if it was held back, and ends it.
    func end() {
        let (last, pending) = state.withLock { s in (s.last, s.pending) }
        if let last, pending { write(last) }
        if last != nil, terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data((terminal ? "\r\u{1B}[K" + text : text + "\n").utf8))
    }
}
