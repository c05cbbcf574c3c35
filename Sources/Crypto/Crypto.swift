import COpenSSL

/// An error from the crypto layer, with a stable code.
public struct CryptoError: Error, Equatable, CustomStringConvertible {
    public let code: String
    public let message: String
    public init(code: String, message: String) { self.code = code; self.message = message }
    public var description: String { "\(code): \(message)" }
}

/// A valid pointer to pass where C wants a buffer and ours is empty (length 0).
nonisolated(unsafe) let emptyByte: UnsafeMutablePointer<UInt8> = {
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: 1)
    p.pointee = 0
    return p
}()

/// HMAC-SHA256, SHA-256, constant-time comparison and secure random bytes over OpenSSL's libcrypto.
public enum Crypto {
    /// HMAC-SHA256 of `message` with `key` (32 zero bytes if OpenSSL fails, which never verifies:
    /// verification uses the raw-buffer form, which reports the failure).
    public static func hmacSHA256<K: Collection, M: Collection>(key: K, message: M) -> [UInt8]
    where K.Element == UInt8, M.Element == UInt8 {
        Array(message).withUnsafeBytes { hmacSHA256(key: Array(key), message: $0) } ?? [UInt8](repeating: 0, count: 32)
    }

    /// HMAC-SHA256 over a raw buffer, avoiding a copy on the hot path; nil if OpenSSL fails.
    public static func hmacSHA256(key: [UInt8], message: UnsafeRawBufferPointer) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: 32)
        var outLen: UInt32 = 0
        let ok = key.withUnsafeBytes { kp in
            out.withUnsafeMutableBufferPointer { op in
                HMAC(EVP_sha256(), kp.baseAddress ?? UnsafeRawPointer(emptyByte), Int32(key.count),
                     message.baseAddress?.assumingMemoryBound(to: UInt8.self) ?? UnsafePointer(emptyByte),
                     message.count, op.baseAddress, &outLen) != nil
            }
        }
        return ok && outLen == 32 ? out : nil
    }

    /// SHA-256 digest.
    public static func sha256<M: Collection>(_ message: M) -> [UInt8] where M.Element == UInt8 {
        sha256(Array(message))
    }

    /// SHA-256 digest of an array (no generic dispatch: for hot paths).
    public static func sha256(_ m: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        m.withUnsafeBufferPointer { mp in
            out.withUnsafeMutableBufferPointer { op in
                _ = SHA256(mp.baseAddress ?? UnsafePointer(emptyByte), m.count, op.baseAddress)
            }
        }
        return out
    }

    /// Compares two byte strings in time independent of their contents (lengths are not secret).
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        if a.isEmpty { return true }
        return a.withUnsafeBytes { ap in b.withUnsafeBytes { bp in
            CRYPTO_memcmp(ap.baseAddress, bp.baseAddress, a.count) == 0
        } }
    }

    /// `count` cryptographically secure random bytes.
    public static func randomBytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        precondition(ok == 1, "RAND_bytes failed: no secure randomness available")
        return out
    }
}
