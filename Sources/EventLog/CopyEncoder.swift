import Foundation
import PostgresClient
import TradelogCore

/// Writes rows in PostgreSQL's binary `COPY` format (no escaping, no text parsing on the server).
struct BinaryCopyWriter {
    private(set) var bytes: [UInt8] = []

    init(reserving capacity: Int = 0) {
        bytes.reserveCapacity(capacity + 21)
        bytes.append(contentsOf: Array("PGCOPY\n".utf8))
        bytes.append(contentsOf: [0xff, 0x0d, 0x0a, 0x00])
        appendInt32(0)  // flags
        appendInt32(0)  // header extension length
    }

    mutating func beginRow(fields: Int16) { appendInt16(fields) }

    mutating func null() { appendInt32(-1) }

    mutating func int64(_ v: Int64) {
        appendInt32(8)
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func int32(_ v: Int32) {
        appendInt32(4)
        appendInt32(v)
    }

    mutating func text(_ s: String) {
        var s = s
        s.withUTF8 { utf8 in
            appendInt32(Int32(utf8.count))
            bytes.append(contentsOf: utf8)
        }
    }

    mutating func text(_ s: String?) {
        if let s { text(s) } else { null() }
    }

    mutating func uuid(_ u: UUID) {
        appendInt32(16)
        withUnsafeBytes(of: u.uuid) { bytes.append(contentsOf: $0) }
    }

    /// `jsonb` binary input: a version byte (1) and the JSON text.
    mutating func jsonb(_ json: [UInt8]) {
        appendInt32(Int32(json.count + 1))
        bytes.append(1)
        bytes.append(contentsOf: json)
    }

    mutating func timestamp(_ t: Timestamp?) {
        guard let t else { return null() }
        int64(t.microsecondsSinceEpoch - PGBinary.postgresEpochOffsetMicros)
    }

    mutating func finish() -> [UInt8] {
        appendInt16(-1)
        return bytes
    }

    private mutating func appendInt32(_ v: Int32) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }

    private mutating func appendInt16(_ v: Int16) {
        withUnsafeBytes(of: v.bigEndian) { bytes.append(contentsOf: $0) }
    }
}

enum EventRows {
    /// The columns the log writes; `recorded_at` takes the server's transaction time.
    static let copyColumns = """
        global_position, event_id, stream, category, stream_version, type, schema_version, data, \
        correlation_id, causation_id, trace_id, source, exchange_time, receive_time, retention
        """

    static func copyStatement(table: String) -> String {
        "COPY \(PGConnection.quoteIdentifier(table)) (\(copyColumns)) FROM STDIN (FORMAT binary)"
    }

    static func encode(_ rows: [PlannedRow]) -> [UInt8] {
        var w = BinaryCopyWriter(reserving: rows.reduce(0) { $0 + $1.event.data.count + 200 })
        for r in rows { encode(r, into: &w) }
        return w.finish()
    }

    static func encode(_ r: PlannedRow, into w: inout BinaryCopyWriter) {
        w.beginRow(fields: 15)
        w.int64(r.globalPosition)
        w.uuid(r.event.eventID)
        w.text(r.stream)
        w.text(r.category)
        w.int64(r.streamVersion)
        w.text(r.event.type)
        w.int32(r.event.schemaVersion)
        w.jsonb(r.event.data)
        w.text(r.event.metadata.correlationID)
        w.text(r.event.metadata.causationID)
        w.text(r.event.metadata.traceID)
        w.text(r.event.metadata.source)
        w.timestamp(r.event.metadata.exchangeTime)
        w.timestamp(r.event.metadata.receiveTime)
        w.text(r.isMarket ? "market" : "domain")
    }

    /// The columns every read selects, in the order ``decode(_:row:)`` reads them.
    static let selectColumns = """
        global_position, event_id, stream, stream_version, type, schema_version, data, \
        correlation_id, causation_id, trace_id, source, exchange_time, receive_time, recorded_at
        """

    /// Decodes one row of a binary-format result selected with ``selectColumns``.
    static func decode(_ r: PGResult, row i: Int) -> RecordedEvent {
        RecordedEvent(
            globalPosition: r.binaryInt64(i, 0)!,
            eventID: r.binaryUUID(i, 1)!,
            stream: r.binaryString(i, 2)!,
            streamVersion: r.binaryInt64(i, 3)!,
            type: r.binaryString(i, 4)!,
            schemaVersion: r.binaryInt32(i, 5)!,
            data: r.binaryJSONB(i, 6)!,
            metadata: EventMetadata(
                correlationID: r.binaryString(i, 7),
                causationID: r.binaryString(i, 8),
                traceID: r.binaryString(i, 9),
                source: r.binaryString(i, 10),
                exchangeTime: r.binaryTimestampMicros(i, 11).map(Timestamp.init(microsecondsSinceEpoch:)),
                receiveTime: r.binaryTimestampMicros(i, 12).map(Timestamp.init(microsecondsSinceEpoch:))),
            recordedAt: Timestamp(microsecondsSinceEpoch: r.binaryTimestampMicros(i, 13)!))
    }

    static func decodeAll(_ r: PGResult) -> [RecordedEvent] {
        var out: [RecordedEvent] = []
        out.reserveCapacity(r.rowCount)
        for i in 0..<r.rowCount { out.append(decode(r, row: i)) }
        return out
    }
}
