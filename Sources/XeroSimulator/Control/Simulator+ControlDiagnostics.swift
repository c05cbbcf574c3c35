import Crypto
import Foundation
import HTTPServer
import Xero
import StrictJSON

extension Simulator {
    func faultsState() -> Response {
        let api = world.withLock { $0.faults }
        let hooks = webhooks.pendingFaults
        return Reply.json(200, .object([("faults", .array((api + hooks).map(\.json)))]))
    }

    /// `{"kind": "500"|"503"|"429"|"hang"|"drop"|"duplicate"|"delay"|"reorder"|"badSignature",
    ///   "count": 1, "tenantId", "path", "method", "delayMs", "process", "retryAfter"}`.
    func controlAddFault(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
        let kindText = ((try? f.string("kind")) ?? nil) ?? ""
        guard let kind = Fault.Kind(rawValue: kindText) ?? Fault.Kind.allCases.first(where: { $0.rawValue.lowercased() == kindText.lowercased() }) else {
            throw XeroError.control(400, "kind must be one of \(Fault.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let count = ((try? f.int("count")) ?? nil) ?? 1
        guard count >= 1 else { throw XeroError.control(400, "count must be at least 1") }
        let tenant = ((try? f.string("tenantId")) ?? nil).flatMap { Ids.normalize($0) }
        let delay = min(600_000, max(0, ((try? f.int("delayMs")) ?? nil) ?? (kind == .hang ? 40_000 : 2_000)))
        let process = ((try? f.bool("process")) ?? nil) ?? (kind == .hang)
        let retryAfter = ((try? f.int("retryAfter")) ?? nil) ?? 1
        let method = ((try? f.string("method")) ?? nil)?.uppercased()
        let path = (try? f.string("path")) ?? nil
        let fault = world.withLock { w -> Fault in
            w.faultSequence += 1
            let fault = Fault(id: w.faultSequence, kind: kind, remaining: count, tenantId: tenant, pathContains: path,
                              method: method, delayMs: delay, process: process, retryAfter: retryAfter)
            if !fault.isWebhook { w.faults.append(fault) }
            return fault
        }
        if fault.isWebhook { webhooks.add(fault) }
        return Reply.json(201, fault.json)
    }

    func controlClearFaults() throws -> Response {
        world.withLock { $0.faults = [] }
        webhooks.clearFaults()
        return Reply.json(200, .object([("faults", .array([]))]))
    }

    /// `?since=<seq>&tenantId=&path=&method=&limit=`.
    func controlCalls(_ r: Request) throws -> Response {
        let since = Int(queryValue(r, "since") ?? "") ?? 0
        let tenant = queryValue(r, "tenantId").flatMap { Ids.normalize($0) }
        let path = queryValue(r, "path")?.lowercased()
        let method = queryValue(r, "method")?.uppercased()
        let limit = max(0, Int(queryValue(r, "limit") ?? "") ?? 1000)
        return world.withLock { w in
            let list = w.calls.filter { c in
                c.sequence > since && (tenant == nil || c.tenantId == tenant)
                    && (path == nil || c.path.lowercased().contains(path!)) && (method == nil || c.method == method)
            }.sorted { $0.sequence < $1.sequence }.suffix(limit)
            return Reply.json(200, .object([("calls", .array(list.map(\.json))), ("lastSeq", .number(w.callSequence))]))
        }
    }

    func controlClearCalls() throws -> Response {
        world.withLock { w in
            w.calls = []
            return Reply.json(200, .object([("lastSeq", .number(w.callSequence))]))
        }
    }

    func controlWebhookConfig(_ r: Request) throws -> Response {
        let f = try controlBody(r, required: true)
        do {
            let url = try f.string("url")
            let key = try f.string("key")
            let batch = try f.int("batchDelayMs")
            let maxEvents = try f.int("maxEventsPerPayload")
            let retryInitial = try f.int("retryInitialMs")
            let retryMax = try f.int("retryMaxMs")
            let timeout = try f.int("timeoutMs")
            let onlyConnected = try f.bool("onlyConnected")
            let enabled = try f.bool("enabled")
            let clearURL = f.members.contains { $0.key == "url" && $0.value.isNull }
            webhooks.withSettings { s in
                if let url { s.url = url.isEmpty ? nil : url }
                if clearURL { s.url = nil }
                if let key { s.key = key }
                if let batch { s.batchDelay = Double(max(0, batch)) / 1000 }
                if let maxEvents { s.maxEventsPerPayload = max(1, maxEvents) }
                if let retryInitial { s.retryInitial = Double(max(1, retryInitial)) / 1000 }
                if let retryMax { s.retryMax = Double(max(1, retryMax)) / 1000 }
                if let timeout { s.timeout = Double(max(1, timeout)) / 1000 }
                if let onlyConnected { s.onlyConnected = onlyConnected }
                if let enabled { s.enabled = enabled }
            }
            return Reply.json(200, webhooks.status(limit: 0))
        } catch {
            throw XeroError.control(400, error.description)
        }
    }
}
