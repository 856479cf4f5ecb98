import Foundation
import TradelogCore

/// Event ids, streams and metadata for inbound signals (ISSUE4, "Inbound signals").
///
/// - Valid: `SignalReceived` in `signal-<signal_id>`, id uuid5(`SignalReceived/<signal_id>`),
///   so a redelivery appends the same id (a no-op).
/// - Malformed: `SignalRejected` in `signal.rejected-<event id>`, id
///   uuid5(`SignalRejected/<body sha256 hex>`), so a redelivered bad body is one event.
/// - Duplicate id with another body: `SignalRejected` (`duplicate_signal_id`) in
///   `signal.rejected-<event id>`, id uuid5(`SignalRejected/duplicate/<signal_id>/<hex>`).
///
/// All ids use ``DeterministicID/namespace``. Metadata: correlation id = the signal id
/// (when known), trace id = the signal's `trace_id`, causation id = the AMQP `message_id`,
/// source = `signals:<queue>`, receive time as given.
public enum SignalEvents {
    /// Category of the streams of valid signals (`signal-<signal_id>`).
    public static let receivedCategory = "signal"
    /// Category of the streams of rejected messages (`signal.rejected-<event id>`).
    public static let rejectedCategory = "signal.rejected"

    /// Lower-case hex SHA-256 of a message body.
    public static func bodySHA256(_ body: [UInt8]) -> String {
        Digest.hex(Digest.sha256(body))
    }

    public static func receivedEventID(signalID: String) -> UUID {
        DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "SignalReceived/" + signalID.lowercased())
    }

    /// The stream of a signal: `signal-<signal_id>`.
    public static func stream(signalID: String) -> String {
        receivedCategory + "-" + signalID.lowercased()
    }

    public static func rejectedEventID(bodySHA256: String) -> UUID {
        DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "SignalRejected/" + bodySHA256.lowercased())
    }

    public static func duplicateEventID(signalID: String, bodySHA256: String) -> UUID {
        DeterministicID.uuid5(
            namespace: DeterministicID.namespace,
            name: "SignalRejected/duplicate/" + signalID.lowercased() + "/" + bodySHA256.lowercased())
    }

    /// The stream of a rejection: `signal.rejected-<event id>`.
    public static func rejectedStream(eventID: UUID) -> String {
        rejectedCategory + "-" + eventID.lowercasedString
    }

    public static func source(queue: String) -> String { "signals:" + queue }

    /// The `SignalReceived` event of a valid signal.
    public static func received(
        signal: TradingSignal, body: [UInt8], queue: String, redelivered: Bool,
        receiveTime: Timestamp?, messageID: String?
    ) throws -> (stream: String, event: NewEvent) {
        let payload = SignalReceived(signal: signal, bodySHA256: bodySHA256(body), queue: queue, redelivered: redelivered)
        let metadata = EventMetadata(
            correlationID: signal.signalID, causationID: messageID, traceID: signal.traceID,
            source: source(queue: queue), receiveTime: receiveTime)
        let event = try NewEvent(eventID: receivedEventID(signalID: signal.signalID), payload: payload, metadata: metadata)
        return (stream(signalID: signal.signalID), event)
    }

    /// The `SignalRejected` event of a body the parser refused.
    public static func rejected(
        _ rejection: SignalRejection, body: [UInt8], queue: String, receiveTime: Timestamp?, messageID: String?,
        forceBase64: Bool = false
    ) throws -> (stream: String, event: NewEvent) {
        let payload = SignalRejected(rejection, body: body, queue: queue, forceBase64: forceBase64)
        let id = rejectedEventID(bodySHA256: payload.bodySHA256)
        let metadata = EventMetadata(
            correlationID: rejection.signalID, causationID: messageID, traceID: rejection.traceID,
            source: source(queue: queue), receiveTime: receiveTime)
        return (rejectedStream(eventID: id), try NewEvent(eventID: id, payload: payload, metadata: metadata))
    }

    /// The `SignalRejected` (`duplicate_signal_id`) event of a well-formed signal whose id is
    /// already logged with a different body (check with ``SignalReceived/matches(body:)``).
    public static func duplicate(
        signal: TradingSignal, body: [UInt8], queue: String, receiveTime: Timestamp?, messageID: String?
    ) throws -> (stream: String, event: NewEvent) {
        let rejection = SignalRejection(
            reason: .duplicateSignalID, field: "signal_id",
            detail: "signal_id \(signal.signalID) is already in the log with a different body",
            signalID: signal.signalID, traceID: signal.traceID)
        let payload = SignalRejected(rejection, body: body, queue: queue)
        let id = duplicateEventID(signalID: signal.signalID, bodySHA256: payload.bodySHA256)
        let metadata = EventMetadata(
            correlationID: signal.signalID, causationID: messageID, traceID: signal.traceID,
            source: source(queue: queue), receiveTime: receiveTime)
        return (rejectedStream(eventID: id), try NewEvent(eventID: id, payload: payload, metadata: metadata))
    }

    /// Registers `SignalReceived`, `SignalRejected` and `SignalGenerated`.
    public static func register(_ registry: inout EventRegistry) {
        registry.register(SignalReceived.self)
        registry.register(SignalRejected.self)
        registry.register(SignalGenerated.self)
    }
}

/// What to do with a well-formed signal given what the log already holds for its id.
public enum SignalDisposition: Hashable, Sendable {
    /// Nothing logged under this id yet: append `SignalReceived`.
    case new
    /// The same body again: already logged, just ack.
    case redelivery
    /// Another body reusing the id: append a `duplicate_signal_id` rejection.
    case duplicate

    /// Compares `body` with the `SignalReceived` already logged for the id, if any.
    public init(existing: SignalReceived?, body: [UInt8]) {
        guard let existing else {
            self = .new
            return
        }
        self = existing.matches(body: body) ? .redelivery : .duplicate
    }
}
