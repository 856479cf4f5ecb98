import CCrypto
import Foundation

/// An API key and its secret. `description` never shows the secret.
public struct BybitCredentials: Sendable, CustomStringConvertible {
    public var apiKey: String
    public var secret: String

    public init(apiKey: String, secret: String) {
        self.apiKey = apiKey
        self.secret = secret
    }

    public var signer: BybitSigner { BybitSigner(secret: secret) }

    public var description: String {
        let shown = apiKey.count > 4 ? String(apiKey.prefix(4)) + "…" : "…"
        return "BybitCredentials(apiKey: \(shown), secret: <redacted>)"
    }
}

/// HMAC-SHA256 signing as Bybit v5 specifies it (reference §2.2): lowercase hex over the
/// exact plaintext, which must be built from the exact bytes that are sent.
public struct BybitSigner: Sendable {
    private let secret: [UInt8]

    public init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// Lowercase hex HMAC-SHA256 of `plaintext`.
    public func signature(_ plaintext: String) -> String {
        signature(bytes: Array(plaintext.utf8))
    }

    public func signature(bytes: [UInt8]) -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        secret.withUnsafeBufferPointer { key in
            bytes.withUnsafeBufferPointer { data in
                _ = HMAC(EVP_sha256(), key.baseAddress, Int32(key.count),
                         data.baseAddress, data.count, &out, &length)
            }
        }
        return Self.hex(out.prefix(Int(length)))
    }

    /// `timestamp + apiKey + recvWindow + payload`, where payload is the query string of a
    /// GET or the JSON body of a POST, exactly as sent.
    public static func restPlaintext(timestamp: Int64, apiKey: String, recvWindow: Int, payload: String) -> String {
        "\(timestamp)\(apiKey)\(recvWindow)\(payload)"
    }

    /// `GET/realtime` + expires (ms), the private WebSocket auth plaintext.
    public static func webSocketAuthPlaintext(expires: Int64) -> String {
        "GET/realtime\(expires)"
    }

    /// The REST signature for one request.
    public func restSignature(timestamp: Int64, apiKey: String, recvWindow: Int, payload: String) -> String {
        signature(Self.restPlaintext(timestamp: timestamp, apiKey: apiKey, recvWindow: recvWindow, payload: payload))
    }

    /// The private WebSocket auth signature.
    public func webSocketAuthSignature(expires: Int64) -> String {
        signature(Self.webSocketAuthPlaintext(expires: expires))
    }

    /// Constant-time comparison of two signatures (the simulator verifies with it).
    public static func matches(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var diff: UInt8 = 0
        for i in 0..<x.count { diff |= x[i] ^ y[i] }
        return diff == 0
    }

    private static func hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
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
