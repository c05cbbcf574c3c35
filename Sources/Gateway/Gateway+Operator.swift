import HTTPServer
import Store
import StrictJSON
import Timekeeping

extension Gateway {
    static let operatorRoutes: [Route] = [
        ("GET", "/api/v1/operator/accounts", { .respond(try $0.operatorAccounts($1)) }),
    ]

    /// `GET /api/v1/operator/accounts[?limit=&cursor=]`, for operators: each account's health by
    /// account id — connection state, tenant, inbox backlog, last finished run, next sweep and
    /// whether a run is going on — as `{"items", "nextCursor"}`.
    func operatorAccounts(_ request: Request) throws -> Response {
        _ = try authorize(request, .operator)
        let limit = try Page.limit(request)
        var after: String?
        if let c = request.queryValue("cursor"), !c.isEmpty {
            guard c.utf8.count <= 100, c.utf8.allSatisfy({ $0 == 0x2D || (0x30...0x39).contains($0) || (0x61...0x7A).contains($0) }) else {
                throw HTTPError(400, code: "invalid_cursor", message: "cursor is not one this API gave")
            }
            after = c
        }
        let page = try accounts.connections(afterAccountId: after, limit: limit + 1)
        let backlog = try inboxEvents.pendingCounts(accountIds: page.prefix(limit).map(\.accountId))
        let items = try page.prefix(limit).map { c throws -> JSON in
            let last = try store { () throws(StoreError) in try sync.lastFinishedRun(accountId: c.accountId, triggers: nil) }
            return .object([
                ("accountId", .string(c.accountId)),
                ("connection", .string(c.state.rawValue)),
                ("tenantId", c.tenantId.map(JSON.string) ?? .null),
                ("tenantName", c.tenantName.map(JSON.string) ?? .null),
                ("inboxBacklog", .number(backlog[c.accountId] ?? 0)),
                ("syncing", .bool(syncEngine.isRunning(accountId: c.accountId))),
                ("lastRun", last.map { r in
                    .object([("id", .string(r.id)), ("trigger", .string(r.trigger.rawValue)), ("state", .string(r.state.rawValue)),
                             ("finishedAt", r.finishedAt.map(JSON.string) ?? .null), ("errors", .array(r.errors.map(JSON.string)))])
                } ?? .null),
                ("nextSweepAt", syncEngine.nextSweepAt(accountId: c.accountId)
                    .map { .string(Timestamp.format(millisecondsSinceEpoch: $0)) } ?? .null),
            ])
        }
        let next: JSON = page.count > limit ? .string(page[limit - 1].accountId) : .null
        return .json(200, JSON.object([("items", .array(items)), ("nextCursor", next)]))
    }
}
