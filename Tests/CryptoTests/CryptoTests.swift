import Crypto
import Testing

@Suite struct CryptoTests {
    @Test func hmacMatchesRFC4231Case2() {
        let mac = Crypto.hmacSHA256(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
        #expect(hex(mac) == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    @Test func hmacOfEmptyMessageAndKey() {
        // An empty array has no base address; the result must still be HMAC("", "").
        #expect(hex(Crypto.hmacSHA256(key: [UInt8](), message: [UInt8]()))
                == "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    @Test func sha256() {
        #expect(hex(Crypto.sha256(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex(Crypto.sha256([UInt8]())) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }

    @Test func constantTimeEquals() {
        #expect(Crypto.constantTimeEquals([1, 2, 3], [1, 2, 3]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2, 4]))
        #expect(!Crypto.constantTimeEquals([1, 2, 3], [1, 2]))
        #expect(Crypto.constantTimeEquals([], []))
    }

    @Test func randomBytesDiffer() {
        let a = Crypto.randomBytes(32), b = Crypto.randomBytes(32)
        #expect(a.count == 32 && a != b)
    }

    @Test func base64RoundTripsAllLengths() {
        for n in 0..<40 {
            let bytes = (0..<n).map { UInt8(truncatingIfNeeded: $0 * 37 + 11) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
            #expect(Base64.decode(Base64.encodeURL(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.encode(Array("fo".utf8)) == "Zm8=")
        #expect(Base64.encodeURL([0xfb, 0xff]) == "-_8")
    }

    @Test(arguments: ["Zm9v!mFy", "Zm9=", "Z", "Zm9vYg===", "Zm8==", "Zm9vYh=="])
    func base64RejectsMalformed(_ text: String) {
        #expect(Base64.decode(text) == nil)
    }

    @Test func aesGCMSealsAndOpens() throws {
        let box = try AESGCM(key: Crypto.randomBytes(32))
        let secret = Array("refresh-token-value".utf8)
        let sealed = try box.seal(secret, associatedData: Array("acct-1".utf8))
        #expect(sealed.count == 12 + secret.count + 16)
        #expect(try box.open(sealed, associatedData: Array("acct-1".utf8)) == secret)
        #expect(try box.seal(secret) != box.seal(secret))  // fresh nonce each time
    }

    @Test func aesGCMRefusesTamperingWrongKeyAndWrongContext() throws {
        let key = Crypto.randomBytes(32)
        let box = try AESGCM(key: key)
        var sealed = try box.seal(Array("x".utf8), associatedData: [1])
        #expect(throws: CryptoError.self) { try box.open(sealed, associatedData: [2]) }
        #expect(throws: CryptoError.self) { try AESGCM(key: Crypto.randomBytes(32)).open(sealed, associatedData: [1]) }
        sealed[13] ^= 1
        #expect(throws: CryptoError.self) { try box.open(sealed, associatedData: [1]) }
        #expect(throws: CryptoError.self) { try box.open([1, 2, 3]) }
        #expect(throws: CryptoError.self) { try AESGCM(key: [1, 2, 3]) }
        #expect(try box.open(box.seal([])) == [])
    }

    // MARK: key derivation and rotation

    func bytes(_ hexString: String) -> [UInt8] {
        var out: [UInt8] = [], chars = Array(hexString)
        while chars.count >= 2 { out.append(UInt8(String(chars[0..<2]), radix: 16)!); chars.removeFirst(2) }
        return out
    }

    @Test func hkdfMatchesRFC5869Cases1And3() throws {
        let ikm = [UInt8](repeating: 0x0b, count: 22)
        let okm = try Crypto.hkdfSHA256(key: ikm, salt: bytes("000102030405060708090a0b0c"),
                                        info: bytes("f0f1f2f3f4f5f6f7f8f9"), length: 42)
        #expect(hex(okm) == "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
        // No salt, no info.
        #expect(hex(try Crypto.hkdfSHA256(key: ikm, info: [], length: 42))
                == "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8")
        #expect(throws: CryptoError.self) { try Crypto.hkdfSHA256(key: [], info: [1]) }
    }

    @Test func subkeysDifferByPurposeAndFromTheMasterKey() throws {
        let key = try SecretKey(Crypto.randomBytes(32))
        let a = key.subkey(SecretKey.Purpose(info: "purpose a v1")), b = key.subkey(SecretKey.Purpose(info: "purpose b v1"))
        #expect(a.count == 32 && b.count == 32 && a != b && a != key.raw && b != key.raw)
        #expect(a == key.subkey(SecretKey.Purpose(info: "purpose a v1")))  // deterministic
        #expect(throws: CryptoError.self) { try SecretKey([1, 2, 3]) }
    }

    @Test func aKeyRingSealsWithItsFirstKeyAndOpensWithAnyNamingWhich() throws {
        let new = Crypto.randomBytes(32), old = Crypto.randomBytes(32)
        let ring = try AESGCMKeyRing(keys: [new, old])
        let byOld = try AESGCM(key: old).seal([7, 7], associatedData: [1])
        #expect(try ring.open(byOld, associatedData: [1]) == ([7, 7], 1))
        let sealed = try ring.seal([8], associatedData: [1])
        #expect(try AESGCM(key: new).open(sealed, associatedData: [1]) == [8])
        #expect(try ring.open(sealed, associatedData: [1]).keyIndex == 0)
        #expect(throws: CryptoError.self) { try ring.open(sealed, associatedData: [2]) }
        #expect(throws: CryptoError.self) { try AESGCMKeyRing(keys: [new]).open(byOld, associatedData: [1]) }
        #expect(throws: CryptoError.self) { try AESGCMKeyRing(keys: []) }
    }
}

func hex(_ b: [UInt8]) -> String {
    b.map { let s = String($0, radix: 16); return s.count == 1 ? "0" + s : s }.joined()
}
