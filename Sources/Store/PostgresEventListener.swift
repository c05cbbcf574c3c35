import CPostgreSQL
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Wakes this gateway when another one sharing the database commits inbox events: a thread of
/// its own on a connection of its own `LISTEN`s on the schema's channel, waits on the socket
/// (`poll`), and hands each notification's accounts to `wake`. `PostgresWebhookInboxRepository`
/// sends them (`pg_notify`, delivered when the expansion commits). A lost connection is
/// replaced after a second; anything committed meanwhile is found by the engine's store scan.
public final class PostgresEventListener: Sendable {
    private let stopped = Atomic<Bool>(false)
    private let finished = Atomic<Bool>(false)
    private let listening = Atomic<Bool>(false)

    /// True while the listener holds a connection that `LISTEN`s.
    public var isListening: Bool { listening.load(ordering: .relaxed) }

    /// The channel of the schema `PostgresDatabase` connections use (their `search_path`).
    static let channelSQL = "'xg_events:' || current_schema()"

    /// Starts listening on `database`'s server (its schema's channel); `wake` runs on the
    /// listener's thread with the accounts that have new pending events.
    public init(database: PostgresDatabase, wake: @escaping @Sendable (Set<String>) -> Void) {
        let t = Thread { [self] in
            defer { finished.store(true, ordering: .releasing) }
            while !stopped.load(ordering: .acquiring) {
                if let c = try? database.connectListener() {
                    listen(c, wake)
                }
                listening.store(false, ordering: .relaxed)
                // Lost or not reached: try again in a second.
                for _ in 0..<10 where !stopped.load(ordering: .acquiring) { usleep(100_000) }
            }
        }
        t.name = "pg-listener"
        t.start()
    }

    private func listen(_ c: PostgresConnection, _ wake: @Sendable (Set<String>) -> Void) {
        guard let channel = try? c.query("SELECT \(PostgresEventListener.channelSQL) AS ch").first?.string("ch"),
              (try? c.execute("LISTEN \"\(channel.replacingOccurrences(of: "\"", with: "\"\""))\"")) != nil else { return }
        listening.store(true, ordering: .relaxed)
        let socket = PQsocket(c.handle)
        guard socket >= 0 else { return }
        while !stopped.load(ordering: .acquiring) {
            var fd = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&fd, 1, 250)   // a quarter second: stop is noticed soon
            if ready < 0 && errno != EINTR { return }
            guard ready > 0 else { continue }
            guard PQconsumeInput(c.handle) == 1, c.isUsable else { return }
            var accounts = Set<String>()
            while let n = PQnotifies(c.handle) {
                if let extra = n.pointee.extra {
                    for id in String(cString: extra).split(separator: ",") { accounts.insert(String(id)) }
                }
                PQfreemem(n)
            }
            if !accounts.isEmpty { wake(accounts) }
        }
    }

    /// Stops listening and waits for the thread to end (within a quarter second).
    public func stop() {
        stopped.store(true, ordering: .releasing)
        while !finished.load(ordering: .acquiring) { usleep(1_000) }
    }
}

extension PostgresDatabase {
    /// A new connection of its own for `PostgresEventListener` (this database's schema).
    func connectListener() throws(StoreError) -> PostgresConnection {
        guard !closed.load(ordering: .acquiring) else { throw PostgresDatabase.closedError }
        return try PostgresDatabase.connect(conninfo, label: label, schema: schema, readOnly: true)
    }
}
