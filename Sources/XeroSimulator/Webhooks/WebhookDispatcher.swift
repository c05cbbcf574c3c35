import Crypto
import Foundation
import HTTPClient
import HTTPServer
import Xero
import StrictJSON

/// Delivers change events the way Xero does: batched into signed payloads
/// (`events`, `firstEventSequence`, `lastEventSequence`, `entropy`), POSTed from a background
/// thread, retried with backoff until the receiver answers 200 (at-least-once, in order),
/// with injectable faults (drop, duplicate, delay, reorder, bad signature).
final class WebhookDispatcher: @unchecked Sendable {
    struct Settings {
        var url: String?
        var key: String
        var resourceOrigin: String
        /// Events wait this long for company before a payload is made.
        var batchDelay = 0.25
        var maxEventsPerPayload = 100
        var retryInitial = 0.5
        var retryMax = 30.0
        var timeout = 5.0
        /// Only tenants connected to the app get events (Xero's rule), unless false.
        var onlyConnected = true
        var enabled = true
    }

    struct Payload {
        let id: Int
        let body: [UInt8]
        let signature: String
        let first: Int
        let last: Int
        let eventCount: Int
        var attempts = 0
        var retryAt = ContinuousClock.now
        var setAsideUntil = ContinuousClock.now
        var holdForNext = false
        var heldSince = ContinuousClock.now
        var duplicate = false
        var badSignature = false
        var faults: [String] = []
    }

    struct Attempt {
        let payloadId: Int
        let attempt: Int
        let at: Int64
        let status: Int?
        let error: String?
        let signedCorrectly: Bool
        let note: String?

        var json: JSON {
            var o = JSONObjectBuilder()
            o.add("payload", JSON.number(payloadId))
            o.add("attempt", JSON.number(attempt))
            o.add("at", XeroDate.formatISO(milliseconds: at))
            o.add("status", status.map { JSON.number($0) } ?? .null)
            o.add("error", error)
            o.add("signedCorrectly", signedCorrectly)
            o.add("note", note)
            return o.json
        }
    }

    struct Delivered {
        let payloadId: Int
        let body: String
        let signature: String
        let first: Int
        let last: Int
        let at: Int64
    }

    private let condition = NSCondition()
    private var settings: Settings
    private var pending: [SimEvent] = []
    private var firstPendingAt = ContinuousClock.now
    private var outbox: [Payload] = []
    private var eventSequence = 0
    private var payloadSequence = 0
    private var faults: [Fault] = []
    private var attempts: [Attempt] = []
    private var delivered: [Delivered] = []
    private var counters: [String: Int] = [:]
    private var stopped = false
    private var sending = false
    private var thread: Thread?
    private var lastIntentToReceive: JSON = .null
    private let client = HTTPClient()
    let clock: @Sendable () -> Int64

    init(url: String?, key: String, resourceOrigin: String, clock: @escaping @Sendable () -> Int64 = SimClock.wallNow) {
        settings = Settings(url: url, key: key, resourceOrigin: resourceOrigin)
        self.clock = clock
    }

    func start() {
        let t = Thread { [self] in self.loop() }
        t.name = "xero-sim-webhooks"
        thread = t
        t.start()
    }

    func stop() {
        condition.lock()
        stopped = true
        condition.broadcast()
        condition.unlock()
    }

    func withSettings<R>(_ body: (inout Settings) -> R) -> R {
        condition.lock()
        defer {
            condition.broadcast()
            condition.unlock()
        }
        return body(&settings)
    }

    var onlyConnected: Bool { withSettings { $0.onlyConnected } }

    func add(_ fault: Fault) {
        condition.lock()
        faults.append(fault)
        condition.unlock()
    }

    var pendingFaults: [Fault] {
        condition.lock()
        defer { condition.unlock() }
        return faults
    }

    func clearFaults() {
        condition.lock()
        faults = []
        condition.unlock()
    }

    /// Queues events; they go out after the batch delay.
    func enqueue(_ events: [SimEvent]) {
        guard !events.isEmpty else { return }
        condition.lock()
        if settings.enabled {
            if pending.isEmpty { firstPendingAt = .now }
            pending += events
            counters["eventsQueued", default: 0] += events.count
            condition.broadcast()
        }
        condition.unlock()
    }

    /// Forgets everything queued and logged (sequence numbers keep counting, like Xero's).
    func reset() {
        condition.lock()
        pending = []
        outbox = []
        faults = []
        attempts = []
        delivered = []
        counters = [:]
        lastIntentToReceive = .null
        condition.unlock()
    }

    /// True when nothing is queued, waiting for a retry, or being sent.
    var idle: Bool {
        condition.lock()
        defer { condition.unlock() }
        return pending.isEmpty && outbox.isEmpty && !sending
    }

    func status(limit: Int) -> JSON {
        condition.lock()
        defer { condition.unlock() }
        var o = JSONObjectBuilder()
        o.add("url", settings.url)
        o.add("enabled", settings.enabled)
        o.add("onlyConnected", settings.onlyConnected)
        o.add("batchDelayMs", JSON.number(Int(settings.batchDelay * 1000)))
        o.add("maxEventsPerPayload", JSON.number(settings.maxEventsPerPayload))
        o.add("retryInitialMs", JSON.number(Int(settings.retryInitial * 1000)))
        o.add("retryMaxMs", JSON.number(Int(settings.retryMax * 1000)))
        o.add("pendingEvents", JSON.number(pending.count))
        o.add("queuedPayloads", JSON.number(outbox.count))
        o.add("idle", pending.isEmpty && outbox.isEmpty && !sending)
        o.add("lastEventSequence", JSON.number(eventSequence))
        o.add("counters", JSON.object(counters.sorted { $0.key < $1.key }.map { ($0.key, JSON.number($0.value)) }))
        o.add("attempts", JSON.array(attempts.suffix(limit).map(\.json)))
        o.add("delivered", JSON.array(delivered.suffix(limit).map { d in
            .object([("payload", .number(d.payloadId)), ("firstEventSequence", .number(d.first)),
                     ("lastEventSequence", .number(d.last)), ("at", .string(XeroDate.formatISO(milliseconds: d.at))),
                     ("signature", .string(d.signature)), ("body", .string(d.body))])
        }))
        o.add("intentToReceive", lastIntentToReceive)
        return o.json
    }

    // MARK: - the sender thread

    private func makePayloads(now: ContinuousClock.Instant) {
        while !pending.isEmpty {
            let chunk = Array(pending.prefix(settings.maxEventsPerPayload))
            pending.removeFirst(chunk.count)
            let first = eventSequence + 1
            eventSequence += chunk.count
            let events = chunk.map { e -> JSON in
                let resource = e.category == "INVOICE" ? "Invoices" : "Contacts"
                return .object([
                    ("resourceUrl", .string("\(settings.resourceOrigin)/api.xro/2.0/\(resource)/\(e.resourceId)")),
                    ("resourceId", .string(e.resourceId)),
                    ("eventDateUtc", .string(String(XeroDate.formatISO(milliseconds: e.at).dropLast()))),
                    ("eventType", .string(e.type)),
                    ("eventCategory", .string(e.category)),
                    ("tenantId", .string(e.tenantId)),
                    ("tenantType", .string("ORGANISATION")),
                ])
            }
            let body = XeroWire.bytes(.object([("events", .array(events)), ("firstEventSequence", .number(first)),
                                               ("lastEventSequence", .number(eventSequence)),
                                               ("entropy", .string(Ids.letters(20)))]))
            payloadSequence += 1
            var p = Payload(id: payloadSequence, body: body,
                            signature: WebhookVerifier(webhookKey: settings.key).signature(for: body),
                            first: first, last: eventSequence, eventCount: chunk.count)
            applyFaults(&p, now: now)
            if p.faults.contains("drop") {
                counters["payloadsDropped", default: 0] += 1
                attempts.append(Attempt(payloadId: p.id, attempt: 0, at: clock(), status: nil, error: nil,
                                        signedCorrectly: true, note: "dropped by fault"))
                continue
            }
            outbox.append(p)
        }
    }

    private func applyFaults(_ p: inout Payload, now: ContinuousClock.Instant) {
        var i = 0
        while i < faults.count {
            let f = faults[i]
            switch f.kind {
            case .drop: p.faults.append("drop")
            case .duplicate: p.duplicate = true; p.faults.append("duplicate")
            case .delay: p.setAsideUntil = now + .milliseconds(f.delayMs); p.faults.append("delay")
            case .reorder: p.holdForNext = true; p.heldSince = now; p.faults.append("reorder")
            case .badSignature: p.badSignature = true; p.faults.append("badSignature")
            default: break
            }
            faults[i].remaining -= 1
            if faults[i].remaining <= 0 { faults.remove(at: i) } else { i += 1 }
            if !p.faults.isEmpty { break }
        }
    }

    /// The next payload to send now, or how long to wait.
    private func next(now: ContinuousClock.Instant) -> (index: Int?, wait: Duration?) {
        var wait: Duration?
        func soon(_ t: ContinuousClock.Instant) { wait = min(wait ?? t - now, max(.milliseconds(1), t - now)) }
        if !pending.isEmpty {
            if now >= firstPendingAt + .seconds(settings.batchDelay) || pending.count >= settings.maxEventsPerPayload {
                makePayloads(now: now)
            } else {
                soon(firstPendingAt + .seconds(settings.batchDelay))
            }
        }
        for (i, p) in outbox.enumerated() {
            if p.setAsideUntil > now { soon(p.setAsideUntil); continue }
            if p.holdForNext {
                let laterExists = outbox[(i + 1)...].contains { !$0.holdForNext && $0.setAsideUntil <= now }
                if !laterExists && now - p.heldSince > .seconds(2) {
                    outbox[i].holdForNext = false
                } else {
                    if !laterExists { soon(p.heldSince + .milliseconds(2001)) }
                    continue
                }
            }
            if p.retryAt > now { soon(p.retryAt); return (nil, wait) }
            return (i, nil)
        }
        return (nil, wait)
    }

    private func loop() {
        while true {
            condition.lock()
            var chosen: Payload?
            var url: String?
            var timeout = 5.0
            while !stopped {
                let now = ContinuousClock.now
                guard settings.url != nil, settings.enabled else {
                    // Nowhere to send: keep payloads until a URL is configured.
                    if !pending.isEmpty && now >= firstPendingAt + .seconds(settings.batchDelay) { makePayloads(now: now) }
                    condition.wait()
                    continue
                }
                let (index, wait) = next(now: now)
                if let index {
                    outbox[index].attempts += 1
                    chosen = outbox[index]
                    url = settings.url
                    timeout = settings.timeout
                    sending = true
                    break
                }
                if let wait { _ = condition.wait(until: Date(timeIntervalSinceNow: wait.seconds)) } else { condition.wait() }
            }
            if stopped {
                condition.unlock()
                return
            }
            let key = settings.key
            condition.unlock()
            guard let p = chosen, let url else { continue }

            let useBad = p.badSignature && p.attempts == 1
            let signature = useBad ? WebhookVerifier(webhookKey: key + "-wrong").signature(for: p.body) : p.signature
            let (status, error) = post(url, p.body, signature, timeout)
            var duplicateResult: (Int?, String?)?
            if status == 200 && p.duplicate { duplicateResult = post(url, p.body, signature, timeout) }

            condition.lock()
            sending = false
            counters["attempts", default: 0] += 1
            let at = clock()
            attempts.append(Attempt(payloadId: p.id, attempt: p.attempts, at: at, status: status, error: error,
                                    signedCorrectly: !useBad, note: p.faults.isEmpty ? nil : p.faults.joined(separator: ",")))
            if let d = duplicateResult {
                counters["duplicatesSent", default: 0] += 1
                attempts.append(Attempt(payloadId: p.id, attempt: p.attempts, at: at, status: d.0, error: d.1,
                                        signedCorrectly: true, note: "duplicate"))
            }
            if attempts.count > 2000 { attempts.removeFirst(attempts.count - 2000) }
            if let i = outbox.firstIndex(where: { $0.id == p.id }) {
                if status == 200 {
                    let done = outbox.remove(at: i)
                    counters["payloadsDelivered", default: 0] += 1
                    counters["eventsDelivered", default: 0] += done.eventCount
                    delivered.append(Delivered(payloadId: done.id, body: String(decoding: done.body, as: UTF8.self),
                                               signature: done.signature, first: done.first, last: done.last, at: at))
                    if delivered.count > 500 { delivered.removeFirst(delivered.count - 500) }
                    // A payload held back for reordering goes right after the one that overtook it.
                    for j in outbox.indices where outbox[j].holdForNext && outbox[j].id < done.id { outbox[j].holdForNext = false }
                } else {
                    counters["failures", default: 0] += 1
                    let backoff = min(settings.retryMax, settings.retryInitial * pow(2, Double(min(p.attempts - 1, 20))))
                    outbox[i].retryAt = .now + .seconds(backoff)
                }
            }
            condition.broadcast()
            condition.unlock()
        }
    }

    private func post(_ url: String, _ body: [UInt8], _ signature: String, _ timeout: Double) -> (Int?, String?) {
        do {
            let r = try client.send(ClientRequest(method: "POST", url: url,
                                                  headers: [("Content-Type", "application/json; charset=utf-8"),
                                                            ("x-xero-signature", signature),
                                                            ("User-Agent", "Xero-Webhooks/2.0 (xero-sim)")],
                                                  body: body, timeout: timeout))
            return (r.status, nil)
        } catch {
            return (nil, error.description)
        }
    }

    // MARK: - intent to receive

    /// Xero's intent-to-receive check: several `{"events":[],…}` posts, some signed correctly
    /// (expect 200) and some not (expect 401), each answered within 5 s with no body and no cookie.
    func intentToReceive(url overrideURL: String?) -> JSON {
        let (url, key) = withSettings { ($0.url, $0.key) }
        guard let target = overrideURL ?? url else {
            return .object([("passed", .bool(false)), ("error", .string("no webhook URL configured"))])
        }
        let plan = [true, false, true, false, false, true]
        var results: [JSON] = []
        var passed = true
        for good in plan {
            let body = XeroWire.bytes(.object([("events", .array([])), ("lastEventSequence", .number(0)),
                                               ("firstEventSequence", .number(0)), ("entropy", .string(Ids.letters(20)))]))
            let signature = WebhookVerifier(webhookKey: good ? key : key + Ids.letters(4)).signature(for: body)
            let expected = good ? 200 : 401
            let started = ContinuousClock.now
            var o = JSONObjectBuilder()
            o.add("signedCorrectly", good)
            o.add("expected", JSON.number(expected))
            do {
                let r = try client.send(ClientRequest(method: "POST", url: target,
                                                      headers: [("Content-Type", "application/json; charset=utf-8"),
                                                                ("x-xero-signature", signature)],
                                                      body: body, timeout: 5))
                let elapsed = started.duration(to: .now)
                var problems: [String] = []
                if r.status != expected { problems.append("answered \(r.status), expected \(expected)") }
                if !r.body.isEmpty { problems.append("response has a body (\(r.body.count) bytes)") }
                if r.header("Set-Cookie") != nil { problems.append("response sets a cookie") }
                if elapsed > .seconds(5) { problems.append("took longer than 5 seconds") }
                o.add("status", JSON.number(r.status))
                o.add("elapsedMs", JSON.number(Int(elapsed.milliseconds)))
                o.add("ok", problems.isEmpty)
                if !problems.isEmpty {
                    passed = false
                    o.add("problems", JSON.array(problems.map { .string($0) }))
                }
            } catch {
                passed = false
                o.add("ok", false)
                o.add("problems", JSON.array([.string(error.description)]))
            }
            results.append(o.json)
        }
        let report = JSON.object([("passed", .bool(passed)), ("url", .string(target)), ("attempts", .array(results))])
        condition.lock()
        lastIntentToReceive = report
        condition.unlock()
        return report
    }
}
