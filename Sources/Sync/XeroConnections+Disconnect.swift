import Store

extension XeroConnections {
    /// An admin's "Disconnect": this account's connection is removed at Xero as support's reset
    /// removes it (`removeAtXero`: its own organisation's connection; the grant revoked only when
    /// no other organisation remains under it), then, under the account's lock, the tokens are
    /// deleted and the state becomes `needs_reconnect`, so syncing stops. Unlike the reset, the
    /// tenant lock stays (R3): connecting again connects the same organisation only. Blocking
    /// (it calls Xero). `.notFound` for an unknown account, `.conflict` when it is not connected.
    public func disconnect(accountId: String) throws -> ResetReport {
        guard let before = try accounts.connection(accountId: accountId) else {
            throw StoreError(code: .notFound, message: "no account with id \(accountId)")
        }
        guard before.state == .connected else {
            throw StoreError(code: .conflict, message: "this account is not connected to Xero")
        }
        var report = ResetReport(previous: before, disconnected: false, revoked: false, note: nil)
        removeAtXero(accountId: accountId, tenantId: before.tenantId, &report)
        try tokens.withAccountLock(accountId) {
            try tokens.delete(accountId: accountId)
            try accounts.markNeedsReconnect(accountId: accountId)
        }
        logger.info("xero connection disconnected by an admin", metadata: [
            "accountId": "\(accountId)", "disconnected": "\(report.disconnected)", "revoked": "\(report.revoked)"])
        return report
    }
}
