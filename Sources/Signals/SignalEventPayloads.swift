import Foundation
import TradelogCore

/// A valid inbound signal, durably in the log (stream `signal-<signal_id>`).
public struct SignalReceived: EventPayload, Hashable {
    public static let eventType = "SignalReceived"

    public var signal: TradingSignal
    /// Lower-case hex SHA-256 of the message body as received: a redelivery has the same
    /// digest, a second signal reusing the id has another.
    public var bodySHA256: String
    /// The queue it was consumed from.
    public var queue: String
    /// The broker's `redelivered` flag on the delivery that was logged.
    public var redelivered: Bool

    public init(signal: TradingSignal, bodySHA256: String, queue: String, redelivered: Bool) {
        self.signal = signal
        self.bodySHA256 = bodySHA256
        self.queue = queue
        self.redelivered = redelivered
    }

    enum CodingKeys: String, CodingKey {
        case signal
        case bodySHA256 = "body_sha256"
        case queue
        case redelivered
    }

    /// Whether `body` is the body this event was logged from (a redelivery, a no-op) rather
    /// than another message reusing the signal id (a `duplicate_signal_id`).
    public func matches(body: [UInt8]) -> Bool {
        matches(bodySHA256: SignalEvents.bodySHA256(body))
    }

    public func matches(bodySHA256 digest: String) -> Bool {
        bodySHA256 == digest.lowercased()
    }
}

/// A refused inbound message (stream `signal.rejected-<event id>`), with its body so it can be
/// examined or replayed: `body` when it is UTF-8 without U+0000 (PostgreSQL's jsonb cannot
/// hold U+0000), otherwise `body_base64`. At most ``maxStoredBodyBytes`` are kept
/// (`body_truncated` says so); `body_sha256` and `body_bytes` are of the whole body.
public struct SignalRejected: EventPayload, Hashable {
    public static let eventType = "SignalRejected"
    /// Longest body stored in the event; only a `body_too_large` body is ever longer.
    public static let maxStoredBodyBytes = SignalParser.maxBodyBytes

    public var reason: SignalRejectionReason
    public var field: String?
    public var detail: String
    public var signalID: String?
    public var traceID: String?
    public var body: String?
    public var bodyBase64: String?
    public var bodyTruncated: Bool
    public var bodySHA256: String
    public var bodyBytes: Int
    public var queue: String

    /// The event for `rejection` of `body`, consumed from `queue`.
    /// `forceBase64` keeps the body as base64 even when it is clean UTF-8 text.
    public init(_ rejection: SignalRejection, body: [UInt8], queue: String, forceBase64: Bool = false) {
        reason = rejection.reason
        field = rejection.field
        detail = rejection.detail
        signalID = rejection.signalID
        traceID = rejection.traceID
        bodySHA256 = SignalEvents.bodySHA256(body)
        bodyBytes = body.count
        self.queue = queue
        bodyTruncated = body.count > Self.maxStoredBodyBytes
        let kept = bodyTruncated ? Array(body.prefix(Self.maxStoredBodyBytes)) : body
        if !forceBase64, !kept.contains(0), SignalParser.firstInvalidUTF8(kept) == nil {
            self.body = String(decoding: kept, as: UTF8.self)
            bodyBase64 = nil
        } else {
            self.body = nil
            bodyBase64 = Data(kept).base64EncodedString()
        }
    }

    /// The rejection this event records.
    public var rejection: SignalRejection {
        SignalRejection(reason: reason, field: field, detail: detail, signalID: signalID, traceID: traceID)
    }

    /// The stored body bytes (the first ``maxStoredBodyBytes`` when `bodyTruncated`).
    public var storedBody: [UInt8]? {
        if let body { return Array(body.utf8) }
        if let bodyBase64, let data = Data(base64Encoded: bodyBase64) { return Array(data) }
        return nil
    }

    enum CodingKeys: String, CodingKey {
        case reason
        case field
        case detail
        case signalID = "signal_id"
        case traceID = "trace_id"
        case body
        case bodyBase64 = "body_base64"
        case bodyTruncated = "body_truncated"
        case bodySHA256 = "body_sha256"
        case bodyBytes = "body_bytes"
        case queue
    }
}

/// A signal produced inside tradelog, for the relay to publish to
/// `model-service.trading_signals`. Its data is the signal itself in the seed-002 shape
/// (no wrapper object), as ISSUE4's envelope puts the signal's keys at the top level.
public struct SignalGenerated: EventPayload, Hashable {
    public static let eventType = "SignalGenerated"

    public var signal: TradingSignal

    public init(signal: TradingSignal) { self.signal = signal }

    public init(from decoder: Decoder) throws {
        signal = try TradingSignal(from: decoder)
    }

    public func encode(to encoder: Encoder) throws {
        try signal.encode(to: encoder)
    }
}
