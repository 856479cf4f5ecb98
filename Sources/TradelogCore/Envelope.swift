import Foundation

/// Causal and timing metadata carried by every event (DESIGN invariant 4).
public struct EventMetadata: Hashable, Sendable {
    /// The id that ties together everything caused by one inbound message (e.g. a signal id).
    public var correlationID: String?
    /// The event id of the event or message that directly caused this one.
    public var causationID: String?
    /// The trace id carried in from the signal, if any.
    public var traceID: String?
    /// Which service or connection wrote the event (`gateway`, `order-manager`, ...).
    public var source: String?
    /// When the exchange says the fact happened.
    public var exchangeTime: Timestamp?
    /// When this process received it.
    public var receiveTime: Timestamp?

    public init(
        correlationID: String? = nil, causationID: String? = nil, traceID: String? = nil,
        source: String? = nil, exchangeTime: Timestamp? = nil, receiveTime: Timestamp? = nil
    ) {
        self.correlationID = correlationID
        self.causationID = causationID
        self.traceID = traceID
        self.source = source
        self.exchangeTime = exchangeTime
        self.receiveTime = receiveTime
    }
}

/// An event to append: its id, type, schema version, JSON data and metadata.
public struct NewEvent: Sendable {
    /// Deterministic where the event has an inbound cause (see ``DeterministicID``);
    /// appending the same id twice stores it once.
    public var eventID: UUID
    public var type: String
    public var schemaVersion: Int32
    /// UTF-8 JSON text of the payload.
    public var data: [UInt8]
    public var metadata: EventMetadata
    /// The payload `data` was written from, when the event was made from one: in memory only,
    /// never stored. A fold handed this event in the same process may read it instead of
    /// decoding `data` (see ``PayloadReading``): canonical JSON reads back to an equal payload,
    /// decimals included (their text is normalized). The replay tests hold this to account: the
    /// bundled sessions, replayed with it, still give the digests recorded before it existed.
    public var payload: (any EventPayload)?

    public init(eventID: UUID, type: String, schemaVersion: Int32 = 1, data: [UInt8], metadata: EventMetadata = .init()) {
        self.eventID = eventID
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
    }
}

/// An event as stored in the log.
public struct RecordedEvent: Sendable {
    public var globalPosition: Int64
    public var eventID: UUID
    public var stream: String
    public var streamVersion: Int64
    public var type: String
    public var schemaVersion: Int32
    /// UTF-8 JSON text of the payload, as PostgreSQL's `jsonb` prints it.
    public var data: [UInt8]
    public var metadata: EventMetadata
    /// When the log committed it (server clock).
    public var recordedAt: Timestamp

    public init(
        globalPosition: Int64, eventID: UUID, stream: String, streamVersion: Int64, type: String,
        schemaVersion: Int32, data: [UInt8], metadata: EventMetadata, recordedAt: Timestamp
    ) {
        self.globalPosition = globalPosition
        self.eventID = eventID
        self.stream = stream
        self.streamVersion = streamVersion
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
        self.recordedAt = recordedAt
    }

    public var category: String { StreamName.category(of: stream) }
}
