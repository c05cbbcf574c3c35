import Foundation
import HTTPServer
import Store
import Xero
import StrictJSON

extension Gateway {
    /// `GET /healthz`: store, workers, connections, inbox backlog; 503 when unhealthy. Anyone
    /// sees accounts counted by connection state; an operator's token shows each account.
    func health(_ request: Request) -> Response {
        let detailed = request.headers["Authorization"] != nil
            && (try? authorize(request, .operator)) != nil
        var healthy = true
        var storeOK = true
        var connections: [AccountConnection] = []
        var pending: [String: Int] = [:]
        do {
            connections = try accounts.connections()
            pending = try inboxEvents.pendingByAccount()
        } catch {
            storeOK = false
            healthy = false
        }
        let writer = inbox.writerAlive
        if !writer { healthy = false }
        // The last durable write failed (a full disk, say): unhealthy until one succeeds.
        writeHealth.probeIfDue()
        let writable = writeHealth.writable
        if !writable { healthy = false }
        let accountsJSON: JSON
        if detailed {
            accountsJSON = .array(connections.map { c in
                .object([
                    ("accountId", .string(c.accountId)),
                    ("connection", .string(c.state.rawValue)),
                    ("tenantId", c.tenantId.map(JSON.string) ?? .null),
                    ("inboxBacklog", .number(pending[c.accountId] ?? 0)),
                ])
            })
        } else {
            var byState: [String: Int] = [:]
            for c in connections { byState[c.state.rawValue, default: 0] += 1 }
            accountsJSON = .object(byState.sorted { $0.key < $1.key }.map { ($0.key, JSON.number($0.value)) })
        }
        let body: JSON = .object([
            ("status", .string(healthy ? "ok" : "unhealthy")),
            ("uptimeSeconds", .number(Int(Date().timeIntervalSince(startedAt)))),
            ("store", .object([("ok", .bool(storeOK && writable)), ("readable", .bool(storeOK)), ("writable", .bool(writable))])),
            ("workers", .object([
                ("inboxWriter", .string(writer ? "running" : "stopped")),
                ("inboxWriterQueue", .number(inbox.queueDepth)),
                ("unexpandedDeliveries", .number(inbox.unexpandedDeliveries)),
            ])),
            ("inboxBacklog", .number(pending.values.reduce(0, +))),
            ("accounts", accountsJSON),
            ("lastSweepAgeSeconds", .null),
        ])
        var r = Response.json(healthy ? 200 : 503, body)
        r.headers.add("Cache-Control", "no-store")
        return r
    }

    /// `GET /metrics`: Prometheus text, for operators (bearer token).
    func metricsText(_ request: Request) throws -> Response {
        _ = try authorize(request, .operator)
        if let counts = try? inboxEvents.counts() {
            metrics.setEventStates(counts)
            metrics.inboxDepth.set(Int64(counts[.pending] ?? 0))
        }
        metrics.inboxQueue.set(Int64(inbox.queueDepth))
        return Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4")]),
                        body: metrics.registry.emitToBuffer())
    }
}
