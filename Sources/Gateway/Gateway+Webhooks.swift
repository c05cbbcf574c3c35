import HTTPServer
import Store
import Xero

extension Gateway {
    /// R16: verify the signature, commit the raw delivery, and only then answer 200 with no body.
    /// Its events are expanded and deduplicated by the inbox just after.
    func receiveWebhook(_ request: Request) -> HandlerResult {
        guard verifier.isValid(body: request.body, signature: request.headers["x-xero-signature"]) else {
            metrics.webhook("rejected")
            logger.notice("webhook rejected: missing or bad signature", metadata: ["bytes": "\(request.body.count)"])
            return .respond(.empty(401))
        }
        let metrics = self.metrics, logger = self.logger
        return .deferred { responder in
            self.inbox.append(request.body) { result in
                switch result {
                case .success:
                    metrics.webhook("accepted")
                    responder.respond(.empty(200))
                case .failure(let error):
                    // Not stored: no 200, so Xero delivers it again.
                    metrics.webhook("failed")
                    logger.error("webhook not stored", metadata: ["error": "\(error.code)"])
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
