import HTTPServer
import Logging
import Store
import Xero

extension Gateway {
    /// R16: verify the signature, commit the raw delivery, and only then answer 200 with no body.
    /// Its events are expanded and deduplicated by the inbox just after.
    func receiveWebhook(_ request: Request) -> HandlerResult {
        guard verifier.isValid(body: request.body, signature: request.headers["x-xero-signature"]) else {
            metrics.webhook("rejected")
            if let suppressed = rejectedWebhookLog.permit() {
                var metadata: Logger.Metadata = ["bytes": "\(request.body.count)"]
                if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
                logger.notice("webhook rejected: missing or bad signature", metadata: metadata)
            }
            return .respond(.empty(401))
        }
        let metrics = self.metrics, logger = self.logger, health = writeHealth, failedLog = failedWebhookLog
        return .deferred { responder in
            self.inbox.append(request.body) { result in
                switch result {
                case .success:
                    health.record(ok: true)
                    metrics.webhook("accepted")
                    responder.respond(.empty(200))
                case .failure(let error):
                    // Not stored: no 200, so Xero delivers it again.
                    health.record(ok: false)
                    metrics.webhook("failed")
                    if let suppressed = failedLog.permit() {
                        var metadata: Logger.Metadata = ["error": "\(error.code)"]
                        if suppressed > 0 { metadata["suppressed"] = "\(suppressed)" }
                        logger.error("webhook not stored", metadata: metadata)
                    }
                    responder.respond(.empty(503))
                }
            }
        }
    }
}

extension Gateway {
    /// How the inbox reads a stored body: Xero's payload, normalised; unreadable parts quarantined.
    static func readDelivery(_ body: [UInt8]) -> DeliveryContents {
        let payload = WebhookPayload.parse(body)
        return DeliveryContents(
            events: payload.events.map {
                InboxEventInput(tenantId: $0.tenantId, category: $0.eventCategory, type: $0.eventType,
                                resourceId: $0.resourceId, eventDateUtc: $0.eventDateUtc,
                                eventDateMilliseconds: $0.eventDateMilliseconds)
            },
            problems: payload.problems)
    }
}
