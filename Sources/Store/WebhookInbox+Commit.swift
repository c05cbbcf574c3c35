extension WebhookInbox {
    /// Group commit: every delivery of `batch` in one fsynced transaction, then each completion
    /// with the one result.
    func commit(_ batch: [Pending]) {
        let result: Result<Void, StoreError>
        do {
            let now = clock.timestamp()
            let last = try db.write(durable: true) { c -> Int64 in
                let insert = try c.prepare("INSERT INTO webhook_deliveries (received_at, body) VALUES (?, ?)")
                for p in batch {
                    try insert.bind(.text(now), at: 1)
                    try p.body.withUnsafeBytes { try insert.bindBlob($0, at: 2) }
                    while try insert.step() {}
                    insert.reset()
                }
                return c.lastInsertRowID
            }
            lastDelivery.store(Int(last), ordering: .relaxed)
            committedDeliveries.add(batch.count, ordering: .relaxed)
            result = .success(())
        } catch let e as StoreError {
            failedBatches.add(1, ordering: .relaxed)
            result = .failure(e)
        } catch {
            failedBatches.add(1, ordering: .relaxed)
            result = .failure(StoreError(code: .store, message: "\(error)"))
        }
        for p in batch { p.completion(result) }
    }
}
