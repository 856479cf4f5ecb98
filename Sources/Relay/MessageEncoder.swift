import AMQP
import Bybit
import TradelogCore

/// Builds the AMQP message of a log event: the envelope of docs/messages.md as the body,
/// the event id as `message_id`, the log type as `type`, trace and correlation ids as headers.
public enum MessageEncoder {
    public static let envelopeVersion = 1

    public static func message(for event: RecordedEvent, route: RelayRoute) -> AMQPMessage {
        var headers: [AMQPMessage.Header] = []
        if let t = event.metadata.traceID { headers.append(.init("trace_id", t)) }
        if let c = event.metadata.correlationID { headers.append(.init("correlation_id", c)) }
        let time = event.metadata.exchangeTime ?? event.recordedAt
        return AMQPMessage(
            queue: route.queue, body: body(for: event, route: route), messageID: event.eventID.lowercasedString,
            type: event.type, timestamp: floorDiv(time.microsecondsSinceEpoch, 1_000_000), headers: headers,
            globalPosition: event.globalPosition, persistent: true)
    }

    public static func body(for event: RecordedEvent, route: RelayRoute) -> [UInt8] {
        var w = JSONWriter(capacity: event.data.count + 640)
        w.beginObject()
        w.key("envelope_version"); w.int(envelopeVersion)
        w.key("event_id"); w.string(event.eventID.lowercasedString)
        w.key("event_type"); w.string(route.eventType)
        w.key("log_event_type"); w.string(event.type)
        w.key("schema_version"); w.int(Int(event.schemaVersion))
        w.key("global_position"); w.int(event.globalPosition)
        w.key("stream"); w.string(event.stream)
        w.key("stream_version"); w.int(event.streamVersion)
        w.key("exchange_time"); time(event.metadata.exchangeTime, &w)
        w.key("receive_time"); time(event.metadata.receiveTime, &w)
        w.key("recorded_at"); w.string(event.recordedAt.description)
        if route.style == .envelope {
            // In the flat style the signal's own trace_id stands at the top level.
            w.key("trace_id"); optional(event.metadata.traceID, &w)
        }
        w.key("correlation_id"); optional(event.metadata.correlationID, &w)
        w.key("causation_id"); optional(event.metadata.causationID, &w)
        w.key("source"); optional(event.metadata.source, &w)
        switch route.style {
        case .envelope:
            w.key("payload")
            w.raw(event.data)
            w.endObject()
            return w.take()
        case .flat:
            w.endObject()
            var out = w.take()
            out.removeLast()  // the closing brace: the payload's members follow
            let inner = objectMembers(event.data)
            if !inner.isEmpty {
                out.append(UInt8(ascii: ","))
                out.append(contentsOf: inner)
            }
            out.append(UInt8(ascii: "}"))
            return out
        }
    }

    /// The bytes between an object's braces (empty for `{}` or a non-object).
    static func objectMembers(_ json: [UInt8]) -> ArraySlice<UInt8> {
        guard let open = json.firstIndex(of: UInt8(ascii: "{")), let close = json.lastIndex(of: UInt8(ascii: "}")),
              open < close else { return [] }
        let inner = json[(open + 1)..<close]
        return inner.allSatisfy { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 } ? [] : inner
    }

    private static func time(_ t: Timestamp?, _ w: inout JSONWriter) {
        if let t { w.string(t.description) } else { w.null() }
    }

    private static func optional(_ s: String?, _ w: inout JSONWriter) {
        if let s { w.string(s) } else { w.null() }
    }

    private static func floorDiv(_ a: Int64, _ b: Int64) -> Int64 { a >= 0 ? a / b : (a - b + 1) / b }
}
