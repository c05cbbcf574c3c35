import Prometheus
import Xero
import Store
import Synchronization

/// The gateway's Prometheus metrics.
public final class GatewayMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let webhookCounters: [String: Counter]
    /// Histograms of the gateway's own routes, made up front so the hot path takes no lock.
    private let knownLatency: [RouteKey: DurationHistogram]
    private let latency = Mutex<[RouteKey: DurationHistogram]>([:])
    private let xeroCalls: [String: Counter]
    let inboxDepth: Gauge
    let inboxQueue: Gauge
    private let eventStates: [InboxEventState: Gauge]

    public static let webhookOutcomes = ["accepted", "rejected", "failed"]

    public init(routes: [(method: String, route: String)] = []) {
        var w: [String: Counter] = [:]
        for o in GatewayMetrics.webhookOutcomes {
            w[o] = registry.makeCounter(descriptor: .init(metricName: "xero_webhooks", unitName: "total",
                                                                      helpText: "Webhook deliveries by outcome"),
                                        labels: [("outcome", o)])
        }
        webhookCounters = w
        var x: [String: Counter] = [:]
        for status in GatewayMetrics.xeroCallStatuses {
            x[status] = registry.makeCounter(descriptor: .init(metricName: "xero_calls", unitName: "total",
                                                               helpText: "Calls to Xero by status (none: no answer)"),
                                             labels: [("status", status)])
        }
        xeroCalls = x
        inboxDepth = registry.makeGauge(descriptor: .init(metricName: "xero_inbox_pending", unitName: "events",
                                                           helpText: "Inbox events waiting to be applied"))
        inboxQueue = registry.makeGauge(descriptor: .init(metricName: "xero_inbox_writer_queue", unitName: "deliveries",
                                                          helpText: "Verified deliveries waiting for the group commit"))
        var s: [InboxEventState: Gauge] = [:]
        for st in InboxEventState.allCases {
            s[st] = registry.makeGauge(descriptor: .init(metricName: "xero_inbox", unitName: "events", helpText: "Inbox events by state"),
                                       labels: [("state", st.rawValue)])
        }
        eventStates = s
        var known: [RouteKey: DurationHistogram] = [:]
        for r in routes { known[RouteKey(method: r.method, route: r.route)] = GatewayMetrics.histogram(registry, r.method, r.route) }
        knownLatency = known
    }

    static func histogram(_ registry: PrometheusCollectorRegistry, _ method: String, _ route: String) -> DurationHistogram {
        registry.makeDurationHistogram(
            descriptor: .init(metricName: "http_request_duration", unitName: "seconds", helpText: "Time from request to response"),
            labels: [("method", method), ("route", route)],
            buckets: [.microseconds(500), .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10),
                      .milliseconds(25), .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500),
                      .seconds(1), .seconds(2.5), .seconds(5)])
    }

    public func webhook(_ outcome: String) { webhookCounters[outcome]?.increment() }

    /// Names the instance and its store (`xero_gateway_instance{instance, store} 1`), so series
    /// from several gateways on one store tell apart which one answered.
    func nameInstance(_ instance: String, store: String) {
        registry.makeGauge(descriptor: .init(metricName: "xero_gateway", unitName: "instance",
                                             helpText: "This gateway (1), named by GATEWAY_INSTANCE, and its store"),
                           labels: [("instance", instance), ("store", store)]).set(Int64(1))
    }

    /// Status classes of Xero calls, as `xero_calls_total{status}` labels (bounded).
    public static let xeroCallStatuses = ["2xx", "401", "403", "404", "429", "4xx", "5xx", "none"]

    /// Counts a call to Xero by its status class (R18: 429s apart).
    public func xeroCall(_ r: XeroCallRecord) {
        let label: String
        switch r.status {
        case 0: label = "none"
        case 200..<300: label = "2xx"
        case 401, 403, 404, 429: label = String(r.status)
        case 400..<500: label = "4xx"
        default: label = "5xx"
        }
        xeroCalls[label]?.increment()
    }

    struct RouteKey: Hashable { let method: String; let route: String }

    /// Methods kept as metric labels; anything else a client sends is counted as OTHER, so no
    /// request can mint new series.
    static let methods: Set<String> = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]

    public func observe(method: String, route: String, status: Int, seconds: Double) {
        let key = RouteKey(method: GatewayMetrics.methods.contains(method) ? method : "OTHER", route: route)
        let h = knownLatency[key] ?? latency.withLock { m -> DurationHistogram in
            if let h = m[key] { return h }
            let h = GatewayMetrics.histogram(registry, key.method, key.route)
            m[key] = h
            return h
        }
        h.recordNanoseconds(Int64(seconds * 1e9))
    }

    func setEventStates(_ counts: [InboxEventState: Int]) {
        for (state, g) in eventStates { g.set(Int64(counts[state] ?? 0)) }
    }
}
