import CCrypto
import Foundation

/// SHA digests over OpenSSL's libcrypto (EVP).
public struct Hasher256: ~Copyable {
    public enum Algorithm: Sendable {
        case sha1, sha256
    }

    private let ctx: OpaquePointer

    public init(_ algorithm: Algorithm = .sha256) {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.ctx = ctx
        EVP_DigestInit_ex(ctx, algorithm == .sha1 ? Digest.sha1MD : Digest.sha256MD, nil)
    }

    deinit { EVP_MD_CTX_free(ctx) }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        if bytes.count > 0 { EVP_DigestUpdate(ctx, bytes.baseAddress, bytes.count) }
    }

    public mutating func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    public mutating func update(_ string: String) {
        var s = string
        s.withUTF8 { update(UnsafeRawBufferPointer($0)) }
    }

    public consuming func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var len: UInt32 = 0
        _ = out.withUnsafeMutableBufferPointer { EVP_DigestFinal_ex(ctx, $0.baseAddress, &len) }
        return Array(out.prefix(Int(len)))
    }
}

public enum Digest {
    /// Fetched once: OpenSSL 3 looks an algorithm up again on every `EVP_sha1()` init, which
    /// was a fifth of the cost of decoding a book frame (one UUIDv5 per event).
    nonisolated(unsafe) static let sha1MD: OpaquePointer = EVP_MD_fetch(nil, "SHA1", nil)
    nonisolated(unsafe) static let sha256MD: OpaquePointer = EVP_MD_fetch(nil, "SHA256", nil)

    public static func sha256(_ bytes: [UInt8]) -> [UInt8] {
        oneShot(bytes, sha256MD)
    }

    public static func sha1(_ bytes: [UInt8]) -> [UInt8] {
        oneShot(bytes, sha1MD)
    }

    /// SHA-1 of `bytes` into the first 20 bytes of `out` (at least 20 bytes long).
    static func sha1(_ bytes: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer) {
        precondition(out.count >= 20, "a SHA-1 digest is 20 bytes")
        var len: UInt32 = 0
        let ok = EVP_Digest(bytes.baseAddress, bytes.count, out.baseAddress?.assumingMemoryBound(to: UInt8.self), &len, sha1MD, nil)
        precondition(ok == 1 && len == 20, "SHA-1 failed in libcrypto")
    }

    private static func oneShot(_ bytes: [UInt8], _ md: OpaquePointer) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: Int(EVP_MAX_MD_SIZE)) { out, count in
            var len: UInt32 = 0
            bytes.withUnsafeBytes { data in
                _ = EVP_Digest(data.baseAddress, data.count, out.baseAddress, &len, md, nil)
            }
            count = Int(len)
        }
    }

    public static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(bytes.count * 2)
        for b in bytes {
            out.append(digits[Int(b >> 4)])
            out.append(digits[Int(b & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// Ids derived from their cause, so that a redelivered message or a replay produces the same
/// event id (DESIGN invariants 3 and 5). RFC 9562 version 5 (SHA-1, name-based) UUIDs.
public enum DeterministicID {
    /// The namespace under which tradelog derives its ids.
    public static let namespace = UUID(uuidString: "6f1d1a3e-6b0e-5c4e-9a51-7472616465ab")!

    public static func uuid5(namespace: UUID, name: String) -> UUID {
        var name = name
        return name.withUTF8 { uuid5(namespace: namespace, name: UnsafeRawBufferPointer($0)) }
    }

    /// The same over the name's UTF-8 bytes. SHA-1 of the namespace's 16 bytes then the name's,
    /// hashed from one buffer (on the stack for names up to a few hundred bytes): no arrays.
    public static func uuid5(namespace: UUID, name: UnsafeRawBufferPointer) -> UUID {
        let total = 16 + name.count
        var digest: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0, 0, 0)
        withUnsafeTemporaryAllocation(byteCount: total, alignment: 8) { buffer in
            withUnsafeBytes(of: namespace.uuid) { buffer.copyMemory(from: $0) }
            if name.count > 0 { UnsafeMutableRawBufferPointer(rebasing: buffer[16...]).copyMemory(from: name) }
            withUnsafeMutableBytes(of: &digest) { out in
                Digest.sha1(UnsafeRawBufferPointer(buffer), into: out)
            }
        }
        return withUnsafeBytes(of: digest) { h in
            UUID(uuid: (h[0], h[1], h[2], h[3], h[4], h[5], (h[6] & 0x0f) | 0x50, h[7],
                        (h[8] & 0x3f) | 0x80, h[9], h[10], h[11], h[12], h[13], h[14], h[15]))
        }
    }

    /// The id of the `index`-th event caused by `causation` (an event id or an inbound message id).
    public static func derived(from causation: String, index: Int = 0, kind: String = "") -> UUID {
        uuid5(namespace: namespace, name: "\(causation)/\(kind)/\(index)")
    }
}

extension UUID {
    /// Lower-case canonical text (`8-4-4-4-12`), without Foundation's formatter: appends
    /// put thousands of ids into one statement.
    public var lowercasedString: String {
        let digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102)
        return withUnsafeBytes(of: uuid) { raw in
            withUnsafeBytes(of: digits) { hex in
                String(unsafeUninitializedCapacity: 36) { out in
                    var o = 0
                    for i in 0..<16 {
                        if i == 4 || i == 6 || i == 8 || i == 10 {
                            out[o] = UInt8(ascii: "-")
                            o += 1
                        }
                        out[o] = hex[Int(raw[i] >> 4)]
                        out[o + 1] = hex[Int(raw[i] & 0x0f)]
                        o += 2
                    }
                    return o
                }
            }
        }
    }
}
