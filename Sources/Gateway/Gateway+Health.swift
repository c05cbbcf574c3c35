import Foundation
import HTTPServer
import Store
import Xero
import StrictJSON

extension Gateway {
    /// `GET /healthz`, for anyone: which instance answered, its store (SQLite or PostgreSQL, read
    /// and written: a store it cannot reach is unhealthy), the inbox writer, the sync scheduler, the applier's
    /// backlog, the sweep's age and accounts counted by connection state; 503 when unhealthy,
    /// with why in `problems`. Its size and cost do not grow with accounts (it copies store
    /// readings taken once a second); each account's health is `GET /api/v1/operator/accounts`.
    func health(_ request: Request) -> Response {
        let readings = healthReadings.current()
        let limits = healthReadings.limits.withLock { $0 }
        let now = monotonicClock.nowMilliseconds()
        var problems: [String] = []
        // The last durable write failed (a full disk, say): unhealthy until one succeeds.
        writeHealth.probeIfDue()
        let writable = writeHealth.writable
        let readingsAge = Double(max(0, now - readings.takenAt)) / 1000
        if !readings.readable { problems.append("The store cannot be read.") }
        if readingsAge > limits.readingsStale {
            problems.append("The store has not answered health's reads for \(Int(readingsAge)) s.")
        }
        if !writable { problems.append("The store cannot write: webhooks are not being acknowledged.") }
        let writer = inbox.writerAlive
        if !writer { problems.append("The inbox writer has stopped: webhooks are not being stored.") }
        let tickAge = syncEngine.secondsSinceSchedulerTick
        let scheduler: String
        if !syncEngine.schedulerRunning {
            scheduler = "stopped"
            problems.append("The sync scheduler has stopped: no sweeps, webhooks or pushes start.")
        } else if let tickAge, tickAge > limits.schedulerStall {
            scheduler = "stalled"
            problems.append("The sync scheduler has not run for \(Int(tickAge)) s: no sweeps, webhooks or pushes start.")
        } else {
            scheduler = "running"
        }
        let waiting = readings.unattendedSeconds(now: now)
        let applierStalled = waiting > limits.applierStall
        if applierStalled {
            problems.append("A connected account's inbox event has waited \(Int(waiting)) s with no run applying it: the applier has stopped.")
        }
        let sweepAge = syncEngine.lastSweepEndedAt.map { max(0, clock.nowMilliseconds() - $0) / 1000 }
        let body: JSON = .object([
            ("status", .string(problems.isEmpty ? "ok" : "unhealthy")),
            ("problems", .array(problems.map(JSON.string))),
            ("instance", .string(configuration.instanceName)),
            ("uptimeSeconds", .number(Int(Date().timeIntervalSince(startedAt)))),
            ("store", .object([("ok", .bool(readings.readable && writable)), ("backend", .string(stores.backend)),
                               ("readable", .bool(readings.readable)),
                               ("writable", .bool(writable)), ("readingsAgeSeconds", .number(Int(readingsAge)))])),
            ("workers", .object([
                ("inboxWriter", .string(writer ? "running" : "stopped")),
                ("inboxWriterQueue", .number(inbox.queueDepth)),
                ("unexpandedDeliveries", .number(inbox.unexpandedDeliveries)),
                ("syncScheduler", .string(scheduler)),
                ("syncSchedulerTickAgeSeconds", tickAge.map { .number(Int($0)) } ?? .null),
            ])),
            ("inboxBacklog", .number(readings.pendingEvents)),
            ("applier", .object([
                ("state", .string(applierStalled ? "stalled" : "running")),
                ("pendingEvents", .number(readings.pendingEvents)),
                ("oldestUnattendedSeconds", .number(Int(waiting))),
            ])),
            ("lastSweepAgeSeconds", sweepAge.map { .number($0) } ?? .null),
            ("accounts", .object(readings.accounts.sorted { $0.key.rawValue < $1.key.rawValue }
                .map { ($0.key.rawValue, JSON.number($0.value)) })),
        ])
        var r = Response.json(problems.isEmpty ? 200 : 503, body)
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
