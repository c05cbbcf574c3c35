import COpenSSL

extension Crypto {
    /// HKDF-SHA256 (RFC 5869): `length` bytes (at most 255 × 32) derived from `key`, bound to
    /// `info`; an empty `salt` is the RFC's default (32 zero bytes). Throws only if OpenSSL fails.
    public static func hkdfSHA256(key: [UInt8], salt: [UInt8] = [], info: [UInt8], length: Int = 32) throws -> [UInt8] {
        guard !key.isEmpty, length > 0, length <= 255 * 32 else {
            throw CryptoError(code: "bad_key", message: "HKDF needs a key and 1 to 8160 output bytes")
        }
        var out = [UInt8](repeating: 0, count: length)
        let ok = key.withUnsafeBufferPointer { k in
            salt.withUnsafeBufferPointer { s in
                info.withUnsafeBufferPointer { i in
                    out.withUnsafeMutableBufferPointer { o in
                        xg_hkdf_sha256(k.baseAddress, key.count, s.baseAddress ?? UnsafePointer(emptyByte), salt.count,
                                       i.baseAddress ?? UnsafePointer(emptyByte), info.count, o.baseAddress, length)
                    }
                }
            }
        }
        guard ok == 1 else { throw CryptoError(code: "openssl", message: "HKDF failed") }
        return out
    }
}

/// A 32-byte master secret (`GATEWAY_SECRET_KEY`) and the subkeys derived from it, one per
/// purpose (HKDF-SHA256 with the purpose as `info`), so no two jobs share a key: a key that
/// seals tokens never keys an HMAC, and a subkey found out says nothing of the others.
public struct SecretKey: Sendable, Equatable {
    /// What a subkey is for; its `info` names the purpose and a version (change the version to
    /// derive a fresh subkey).
    public struct Purpose: Sendable, Hashable {
        public let info: String
        public init(info: String) { self.info = info }
    }

    /// The master secret itself. Only for reading what was sealed before subkeys existed.
    public let raw: [UInt8]

    /// `.bad_key` unless exactly 32 bytes.
    public init(_ raw: [UInt8]) throws {
        guard raw.count == 32 else {
            throw CryptoError(code: "bad_key", message: "a secret key is 32 bytes, got \(raw.count)")
        }
        self.raw = raw
    }

    /// The 32-byte subkey for `purpose`.
    public func subkey(_ purpose: Purpose) -> [UInt8] {
        // Cannot fail for a 32-byte key and 32 bytes out, short of OpenSSL itself being broken.
        guard let k = try? Crypto.hkdfSHA256(key: raw, info: Array(purpose.info.utf8)) else {
            preconditionFailure("HKDF-SHA256 failed in OpenSSL")
        }
        return k
    }
}

/// AES-256-GCM over a list of keys, for key rotation: it seals with the first and opens with
/// each in turn, saying which one opened (0 is the sealing key).
public struct AESGCMKeyRing: Sendable {
    private let boxes: [AESGCM]

    /// `keys` first to last: the sealing key, then older keys still accepted for opening.
    public init(keys: [[UInt8]]) throws {
        guard !keys.isEmpty else { throw CryptoError(code: "bad_key", message: "a key ring needs a key") }
        boxes = try keys.map { try AESGCM(key: $0) }
    }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        try boxes[0].seal(plaintext, associatedData: associatedData)
    }

    /// The plaintext and the position of the key that opened it; `bad_ciphertext` when none does.
    public func open(_ sealed: [UInt8], associatedData: [UInt8] = []) throws -> (plaintext: [UInt8], keyIndex: Int) {
        for (i, box) in boxes.enumerated() {
            if let p = try? box.open(sealed, associatedData: associatedData) { return (p, i) }
        }
        throw CryptoError(code: "bad_ciphertext", message: "no key opens it (authentication failed)")
    }
}
