extension WebhookInbox {
    /// Group commit: every delivery of `batch` in one durable transaction, then each completion
    /// with the one result.
    func commit(_ batch: [Pending]) {
        let result: Result<Void, StoreError>
        do {
            let last = try repository.commitDeliveries(batch.map(\.body), receivedAt: clock.timestamp())
            lastDelivery.store(Int(last), ordering: .relaxed)
            committedDeliveries.add(batch.count, ordering: .relaxed)
            result = .success(())
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            result = .failure(error)
        }
        for p in batch { p.completion(result) }
    }
}
