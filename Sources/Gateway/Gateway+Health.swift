import Foundation
import HTTPServer
import Store
import Xero

extension Gateway {
    /// `GET /healthz`: store, workers, connections, inbox backlog; 503 when unhealthy.
    func health(_ request: Request) -> HandlerResult {
        var healthy = true
        var storeOK = true
        var connections: [AccountConnection] = []
        var pending: [String: Int] = [:]
        do {
            connections = try accounts.connections()
            pending = try inbox.pendingByAccount()
        } catch {
            storeOK = false
            healthy = false
        }
        let writer = inbox.writerAlive
        if !writer { healthy = false }
        let accountsJSON: [JSON] = connections.map { c in
            .object([
                ("accountId", .string(c.accountId)),
                ("connection", .string(c.state)),
                ("tenantId", c.tenantId.map(JSON.string) ?? .null),
                ("inboxBacklog", .number(pending[c.accountId] ?? 0)),
            ])
        }
        let body: JSON = .object([
            ("status", .string(healthy ? "ok" : "unhealthy")),
            ("uptimeSeconds", .number(Int(Date().timeIntervalSince(startedAt)))),
            ("store", .object([("ok", .bool(storeOK))])),
            ("workers", .object([
                ("inboxWriter", .string(writer ? "running" : "stopped")),
                ("inboxWriterQueue", .number(inbox.queueDepth)),
                ("unexpandedDeliveries", .number(inbox.unexpandedDeliveries)),
            ])),
            ("inboxBacklog", .number(pending.values.reduce(0, +))),
            ("accounts", .array(accountsJSON)),
            ("lastSweepAgeSeconds", .null),
        ])
        var r = Response.json(healthy ? 200 : 503, Array(body.serialized.utf8))
        r.headers.add("Cache-Control", "no-store")
        return .respond(r)
    }

    /// `GET /metrics`: Prometheus text, for operators (bearer token).
    func metricsText(_ request: Request) -> HandlerResult {
        if case .failure(let e) = authorize(request, .operator) { return .respond(e.response) }
        if let counts = try? inbox.counts() {
            metrics.setEventStates(counts)
            metrics.inboxDepth.set(Int64(counts["pending"] ?? 0))
        }
        metrics.inboxQueue.set(Int64(inbox.queueDepth))
        return .respond(Response(status: 200, headers: HTTPHeaders([("Content-Type", "text/plain; version=0.0.4")]),
                                 body: metrics.registry.emitToBuffer()))
    }
}
