import Foundation
import Store
import Synchronization
import Xero

/// How Sync reaches Xero for an account: its tenant and an accounting client bound to its
/// tokens, or nil while the account is not connected. The gateway supplies it.
public protocol XeroConnector: Sendable {
    /// `observer` is told of every call the client makes (for the run's `xeroCalls`).
    func accounting(for accountId: String, observer: @escaping XeroCallObserver) throws -> (client: any XeroAccounting, tenantId: String)?
}

/// Counts the calls one run makes.
final class CallCounter: Sendable {
    private let n = Atomic<Int>(0)
    var count: Int { n.load(ordering: .relaxed) }
    @Sendable func record(_ r: XeroCallRecord) { n.add(1, ordering: .relaxed) }
}

/// Why a sync or a match could not be carried out, as a plain sentence for the person reading it.
public struct SyncError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// Xero could not be reached or did not answer: nothing was refused, and trying again is safe.
    public let unreachable: Bool
    public var description: String { message }

    public init(message: String, unreachable: Bool = false) {
        self.message = message
        self.unreachable = unreachable
    }

    public static let notConnected = SyncError(message: "This account is not connected to Xero; connect it on the Xero Integration screen.")
    public static let busy = SyncError(message: "A sync is running for this account; try again in a moment.")

    /// The sentence a user sees for any failure during a sync.
    public static func sentence(for error: any Error) -> String {
        if let e = error as? SyncError { return e.message }
        if let e = error as? XeroAPIError {
            switch e.code {
            case .invalidGrant, .unauthorized:
                return "Xero no longer accepts this connection; reconnect to Xero on the Xero Integration screen."
            case .forbidden:
                return "Xero refused access to this organisation (it may have been disconnected, or a permission is missing); reconnect to Xero."
            case .rateLimited:
                return "Xero's limit on calls for this organisation was reached; the sync will carry on at its next run."
            case .server:
                let status = e.status > 0 ? " (HTTP \(e.status))" : ""
                return "Xero could not be reached: it answered with a server error\(status) after retries; the sync will carry on at its next run."
            case .timeout:
                return "Xero could not be reached: it did not answer in time after retries; the sync will carry on at its next run."
            case .transport:
                return "Xero could not be reached: the connection failed after retries; the sync will carry on at its next run."
            case .validation:
                return "Xero refused the change: " + (e.validationErrors.isEmpty ? e.message : e.validationErrors.joined(separator: "; "))
            default:
                return "Xero answered unexpectedly (\(e)); the sync will try again at its next run."
            }
        }
        if let e = error as? StoreError { return "The gateway could not save the sync's results (\(e.code)); it will try again." }
        return "The sync failed: \(error)"
    }
}
