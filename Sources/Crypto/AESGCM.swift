import COpenSSL

/// AES-256-GCM sealing for secrets at rest: output is nonce (12) ‖ ciphertext ‖ tag (16).
public struct AESGCM: Sendable {
    private let key: [UInt8]

    public init(key: [UInt8]) throws {
        guard key.count == 32 else {
            throw CryptoError(code: "bad_key", message: "AES-256-GCM needs a 32-byte key, got \(key.count)")
        }
        self.key = key
    }

    public func seal(_ plaintext: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        let nonce = Crypto.randomBytes(12)
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError(code: "openssl", message: "no cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: plaintext.count + 16)
        var len: Int32 = 0, total: Int32 = 0
        var tag = [UInt8](repeating: 0, count: 16)
        guard EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              xg_gcm_set_ivlen(ctx, 12) == 1,
              EVP_EncryptInit_ex(ctx, nil, nil, key, nonce) == 1 else {
            throw CryptoError(code: "openssl", message: "encrypt init failed")
        }
        if !associatedData.isEmpty {
            guard EVP_EncryptUpdate(ctx, nil, &len, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError(code: "openssl", message: "aad failed")
            }
        }
        let ok = out.withUnsafeMutableBufferPointer { op -> Bool in
            if !plaintext.isEmpty {
                guard EVP_EncryptUpdate(ctx, op.baseAddress, &len, plaintext, Int32(plaintext.count)) == 1 else { return false }
                total = len
            }
            guard EVP_EncryptFinal_ex(ctx, op.baseAddress! + Int(total), &len) == 1 else { return false }
            total += len
            return true
        }
        guard ok, xg_gcm_get_tag(ctx, &tag, 16) == 1 else { throw CryptoError(code: "openssl", message: "encrypt failed") }
        return nonce + out[0..<Int(total)] + tag
    }

    public func open(_ sealed: [UInt8], associatedData: [UInt8] = []) throws -> [UInt8] {
        guard sealed.count >= 28 else { throw CryptoError(code: "bad_ciphertext", message: "sealed box too short") }
        let nonce = Array(sealed[0..<12])
        let body = Array(sealed[12..<(sealed.count - 16)])
        var tag = Array(sealed[(sealed.count - 16)...])
        guard let ctx = EVP_CIPHER_CTX_new() else { throw CryptoError(code: "openssl", message: "no cipher context") }
        defer { EVP_CIPHER_CTX_free(ctx) }
        var out = [UInt8](repeating: 0, count: body.count + 16)
        var len: Int32 = 0, total: Int32 = 0
        guard EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), nil, nil, nil) == 1,
              xg_gcm_set_ivlen(ctx, 12) == 1,
              EVP_DecryptInit_ex(ctx, nil, nil, key, nonce) == 1 else {
            throw CryptoError(code: "openssl", message: "decrypt init failed")
        }
        if !associatedData.isEmpty {
            guard EVP_DecryptUpdate(ctx, nil, &len, associatedData, Int32(associatedData.count)) == 1 else {
                throw CryptoError(code: "openssl", message: "aad failed")
            }
        }
        let ok = out.withUnsafeMutableBufferPointer { op -> Bool in
            if !body.isEmpty {
                guard EVP_DecryptUpdate(ctx, op.baseAddress, &len, body, Int32(body.count)) == 1 else { return false }
                total = len
            }
            guard xg_gcm_set_tag(ctx, &tag, 16) == 1 else { return false }
            guard EVP_DecryptFinal_ex(ctx, op.baseAddress! + Int(total), &len) == 1 else { return false }
            total += len
            return true
        }
        guard ok else { throw CryptoError(code: "bad_ciphertext", message: "authentication failed") }
        return Array(out[0..<Int(total)])
    }
}
