import Foundation
import Store
import Testing
import Timekeeping

/// Credentials can be withdrawn: users listed, revoked and given new tokens, their sessions
/// ended with them and capped per user; held the same for SQLite and memory.
@Suite struct CredentialContractTests {
    typealias Backend = RepositoryHarness.Backend

    func code(_ error: any Error) -> StoreError.Code? { (error as? StoreError)?.code }

    func hash(_ n: Int) -> [UInt8] { Array(repeating: UInt8(n % 256), count: 31) + [UInt8(n / 256)] }

    /// Signs `userId` in `count` times (sessions `first`…); returns their hashes, oldest first.
    func signIns(_ h: RepositoryHarness, _ userId: String, _ count: Int, first: Int) throws -> [[UInt8]] {
        let now = h.clock.nowMilliseconds()
        return try (first..<(first + count)).map { n in
            try h.sessions.createSession(tokenHash: hash(n), userId: userId, expiresAt: now + 3_600_000, now: now)
            return hash(n)
        }
    }

    func live(_ h: RepositoryHarness, _ hashes: [[UInt8]]) throws -> Int {
        let now = h.clock.nowMilliseconds()
        return try hashes.filter { try h.sessions.session(tokenHash: $0, now: now) != nil }.count
    }

    @Test(arguments: Backend.allCases)
    func usersAreListedOldestFirstAllOrOneAccountsWithoutTokens(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        h.clock.advance(milliseconds: 1000)
        let staff = try h.accounts.createUser(accountId: a.accountId, role: .staff)
        let op = try h.accounts.createUser(accountId: nil, role: .operator)   // same instant: creation order
        let b = try h.accounts.createAccount(name: "B")
        let all = try h.accounts.users(accountId: nil)
        #expect(all.map(\.id) == [a.userId, staff.userId, op.userId, b.userId])
        #expect(all[0] == UserRecord(id: a.userId, accountId: a.accountId, role: .admin, createdAt: all[0].createdAt, revokedAt: nil))
        #expect(all[2].accountId == nil && all[2].role == .operator)
        #expect(all[0].createdAt < all[1].createdAt && all[1].createdAt.hasSuffix("Z"))
        #expect(try h.accounts.users(accountId: a.accountId).map(\.id) == [a.userId, staff.userId])
        #expect(try h.accounts.users(accountId: "nobody").isEmpty)
    }

    @Test(arguments: Backend.allCases)
    func revokingATokenEndsItAndItsUsersSessionsOnly(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        let staff = try h.accounts.createUser(accountId: a.accountId, role: .staff)
        let mine = try signIns(h, staff.userId, 3, first: 1), admins = try signIns(h, a.userId, 2, first: 10)
        let now = h.clock.nowMilliseconds()
        let state = OAuthStateRecord(sessionHash: mine[0], accountId: a.accountId!, expiresAt: now + 60_000)
        try h.sessions.createOAuthState(stateHash: [42], record: state)
        h.clock.advance(milliseconds: 5000)

        #expect(try h.accounts.revokeUser(id: staff.userId) == 3)
        #expect(try h.accounts.authenticate(token: staff.token) == nil)
        #expect(try live(h, mine) == 0 && live(h, admins) == 2)
        #expect(try h.sessions.spendOAuthState(stateHash: [42]) == nil)   // ended with its session
        #expect(try h.accounts.authenticate(token: a.token)?.id == a.userId)
        let listed = try #require(try h.accounts.users(accountId: a.accountId).first { $0.id == staff.userId })
        let revokedAt = try #require(listed.revokedAt)
        // Again: nothing changes; a revoked user cannot sign in again.
        h.clock.advance(milliseconds: 5000)
        #expect(try h.accounts.revokeUser(id: staff.userId) == 0)
        #expect(try h.accounts.users(accountId: a.accountId).first { $0.id == staff.userId }?.revokedAt == revokedAt)
        #expect { try h.accounts.revokeUser(id: "nobody") } throws: { code($0) == .notFound }
    }

    @Test(arguments: Backend.allCases)
    func aRevokedUsersSessionIsNotHonouredEvenIfLeftBehind(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        try h.accounts.revokeUser(id: a.userId)
        // A session made after the revocation (a sign-in racing it) still finds no user.
        let s = try signIns(h, a.userId, 1, first: 1)
        #expect(try live(h, s) == 0)
    }

    @Test(arguments: Backend.allCases)
    func rotatingATokenIssuesANewOneEndsTheOldAndItsSessions(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        let op = try h.accounts.createUser(accountId: nil, role: .operator)
        let mine = try signIns(h, a.userId, 2, first: 1)
        let rotated = try h.accounts.rotateToken(userId: a.userId)
        #expect(rotated.userId == a.userId && rotated.accountId == a.accountId && rotated.role == .admin)
        #expect(rotated.token.hasPrefix("xgw_") && rotated.token != a.token)
        #expect(try h.accounts.authenticate(token: a.token) == nil)
        #expect(try h.accounts.authenticate(token: rotated.token) == User(id: a.userId, accountId: a.accountId, role: .admin))
        #expect(try live(h, mine) == 0)
        #expect(try h.accounts.rotateToken(userId: op.userId).accountId == nil)
        try h.accounts.revokeUser(id: op.userId)
        #expect { try h.accounts.rotateToken(userId: op.userId) } throws: { code($0) == .conflict }
        #expect { try h.accounts.rotateToken(userId: "nobody") } throws: { code($0) == .notFound }
        #expect(try h.accounts.users(accountId: nil).count == 2)
    }

    /// 300 sign-ins left 321 live sessions; now a user holds at most `AdminSession.maxPerUser`,
    /// the oldest ending (its OAuth states with it), and other users' sessions are untouched.
    @Test(arguments: Backend.allCases)
    func sessionsPerUserAreCappedTheOldestEnding(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        let staff = try h.accounts.createUser(accountId: a.accountId, role: .staff)
        let others = try signIns(h, staff.userId, 3, first: 500)
        let first = try signIns(h, a.userId, 1, first: 0)
        try h.sessions.createOAuthState(stateHash: [42], record: OAuthStateRecord(
            sessionHash: first[0], accountId: a.accountId!, expiresAt: h.clock.nowMilliseconds() + 60_000))
        let rest = try signIns(h, a.userId, 299, first: 1)
        let all = first + rest
        #expect(AdminSession.maxPerUser == 10)
        #expect(try live(h, all) == 10)
        #expect(try live(h, Array(all.suffix(10))) == 10)   // the newest ten
        #expect(try h.sessions.spendOAuthState(stateHash: [42]) == nil)
        #expect(try live(h, others) == 3)
    }

    @Test(arguments: Backend.allCases)
    func signingOutEverywhereEndsEverySessionOfOneUser(_ backend: Backend) throws {
        let h = try RepositoryHarness(backend)
        let a = try h.accounts.createAccount(name: "A")
        let staff = try h.accounts.createUser(accountId: a.accountId, role: .staff)
        let mine = try signIns(h, a.userId, 4, first: 1), theirs = try signIns(h, staff.userId, 2, first: 10)
        #expect(try h.sessions.deleteSessions(userId: a.userId) == 4)
        #expect(try live(h, mine) == 0 && live(h, theirs) == 2)
        #expect(try h.sessions.deleteSessions(userId: a.userId) == 0)
        #expect(try h.accounts.authenticate(token: a.token)?.id == a.userId)   // the token itself still works
    }
}
