import Foundation

/// A typed event payload: a Codable value with a type name and a schema version.
public protocol EventPayload: Codable, Sendable {
    /// The event type stored in the log, e.g. `SignalReceived`.
    static var eventType: String { get }
    /// The current schema version written by this code.
    static var schemaVersion: Int32 { get }
}

extension EventPayload {
    public static var schemaVersion: Int32 { 1 }
}

/// A payload with a hand-written decoder of its stored data, for the log's most frequent
/// types (market data every fold reads). The registry tries it first and falls back to
/// `Codable` whenever it returns nil, so it only has to handle the shapes the writers produce
/// and must give exactly what `Codable` would for them.
public protocol StoredDataDecodable: EventPayload {
    /// The payload, or nil to let `Codable` decode the data (and report what is wrong).
    static func decodeStored(_ data: [UInt8]) -> Self?
}

/// A payload with a hand-written encoder of its data, for types written often enough that
/// `JSONEncoder` shows in a replay's profile. It must give exactly the bytes
/// `CanonicalJSON.encoder` gives, or nil to let the encoder write them (and report what is
/// wrong).
public protocol CanonicalDataEncodable: EventPayload {
    func canonicalData() -> [UInt8]?
}

extension CanonicalJSON {
    /// A payload's data in canonical JSON: its hand-written encoder when it has one.
    public static func data<E: EventPayload>(_ payload: E) throws -> [UInt8] {
        if let fast = payload as? any CanonicalDataEncodable, let bytes = fast.canonicalData() { return bytes }
        return Array(try encoder.encode(payload))
    }
}

/// Errors from encoding or decoding typed events.
public struct EventDecodingError: Error, CustomStringConvertible, Sendable {
    public var type: String
    public var schemaVersion: Int32
    public var reason: String
    public var description: String { "cannot decode \(type) v\(schemaVersion): \(reason)" }
}

/// Maps type names and schema versions to Swift types, with one place to upcast old versions.
///
/// Upcasters turn the JSON of version *n* into the JSON of version *n+1*; decoding an old
/// event runs every upcaster from its stored version to the current one, then decodes the
/// current type. The log itself is never rewritten.
public struct EventRegistry: Sendable {
    public typealias Upcaster = @Sendable ([String: JSONValue]) throws -> [String: JSONValue]

    private struct Entry: Sendable {
        var currentVersion: Int32
        /// The Swift type the data decodes to.
        var payloadType: ObjectIdentifier
        var decode: @Sendable ([UInt8]) throws -> any EventPayload
    }

    private var entries: [String: Entry] = [:]
    /// Keyed by type and the version an upcaster reads.
    private var upcasters: [String: [Int32: Upcaster]] = [:]

    public init() {}

    public mutating func register<E: EventPayload>(_ type: E.Type) {
        let fast = E.self as? any StoredDataDecodable.Type
        entries[E.eventType] = Entry(currentVersion: E.schemaVersion, payloadType: ObjectIdentifier(E.self)) { data in
            if let payload = fast?.decodeStored(data) { return payload }
            return try CanonicalJSON.decoder.decode(E.self, from: Data(data))
        }
    }

    /// Registers the function that lifts `type` from `version` to `version + 1`.
    public mutating func registerUpcaster(type: String, from version: Int32, _ upcast: @escaping Upcaster) {
        upcasters[type, default: [:]][version] = upcast
    }

    public func isRegistered(_ type: String) -> Bool { entries[type] != nil }

    /// The schema version this build decodes `type` to; nil when the type is not registered.
    public func currentVersion(of type: String) -> Int32? { entries[type]?.currentVersion }

    /// Whether this registry decodes data of `type` at `schemaVersion` to a value of `payloadType`
    /// as it is (the type registered, at that version: nothing to upcast).
    public func decodes(_ payloadType: any EventPayload.Type, type: String, schemaVersion: Int32) -> Bool {
        guard let entry = entries[type] else { return false }
        return entry.currentVersion == schemaVersion && entry.payloadType == ObjectIdentifier(payloadType)
    }

    public func encode<E: EventPayload>(_ payload: E) throws -> (type: String, schemaVersion: Int32, data: [UInt8]) {
        (E.eventType, E.schemaVersion, try CanonicalJSON.data(payload))
    }

    /// Decodes a stored event's data, upcasting it first when it was written by an older version.
    public func decode(type: String, schemaVersion: Int32, data: [UInt8]) throws -> any EventPayload {
        guard let entry = entries[type] else {
            throw EventDecodingError(type: type, schemaVersion: schemaVersion, reason: "type is not registered")
        }
        if schemaVersion > entry.currentVersion {
            throw EventDecodingError(
                type: type, schemaVersion: schemaVersion,
                reason: "stored version is newer than this build (v\(entry.currentVersion))")
        }
        var bytes = data
        if schemaVersion < entry.currentVersion {
            guard case .object(var object) = try JSONValue.parse(Data(bytes)) else {
                throw EventDecodingError(type: type, schemaVersion: schemaVersion, reason: "data is not a JSON object")
            }
            for v in schemaVersion..<entry.currentVersion {
                guard let up = upcasters[type]?[v] else {
                    throw EventDecodingError(type: type, schemaVersion: schemaVersion, reason: "no upcaster from v\(v)")
                }
                object = try up(object)
            }
            bytes = Array(try CanonicalJSON.encoder.encode(JSONValue.object(object)))
        }
        do {
            return try entry.decode(bytes)
        } catch {
            throw EventDecodingError(type: type, schemaVersion: schemaVersion, reason: "\(error)")
        }
    }

    public func decode<E: EventPayload>(_ type: E.Type, from event: RecordedEvent) throws -> E {
        guard event.type == E.eventType else {
            throw EventDecodingError(type: event.type, schemaVersion: event.schemaVersion, reason: "expected \(E.eventType)")
        }
        let any = try decode(type: event.type, schemaVersion: event.schemaVersion, data: event.data)
        guard let typed = any as? E else {
            throw EventDecodingError(type: event.type, schemaVersion: event.schemaVersion, reason: "registered type is not \(E.self)")
        }
        return typed
    }
}

extension NewEvent {
    /// An event from a typed payload: its type name and schema version from the payload's
    /// type, its data in canonical JSON.
    public init<E: EventPayload>(eventID: UUID, payload: E, metadata: EventMetadata = .init()) throws {
        self.init(eventID: eventID, type: E.eventType, schemaVersion: E.schemaVersion,
                  data: try CanonicalJSON.data(payload), metadata: metadata)
        self.payload = payload
    }
}

/// One logged event's payload for the folds it is handed to, decoded at most once. A replay
/// hands each event to two folds, and already holds the payload of every event it made from
/// one (``NewEvent/payload``): the folds read that instead of decoding the data again.
public struct PayloadReading {
    private var payload: (any EventPayload)?
    /// The event the reading is of, from its first use on: another event drops what is held.
    private var eventID: UUID?

    /// - Parameter known: the payload the event's data was written from, if the caller has it.
    public init(known: (any EventPayload)? = nil) {
        payload = known
    }

    /// The event's payload as `registry` decodes it: nil when the registry does not know the
    /// type or cannot decode the data. The payload held is used when it is of the Swift type the
    /// registry decodes the event's type and version to, as it is (nothing to upcast). A decoded
    /// payload is kept for the next fold; a failure is not (another fold's registry may know the type).
    public mutating func payload(of e: RecordedEvent, registry: EventRegistry) -> (any EventPayload)? {
        if eventID != e.eventID {
            if eventID != nil { payload = nil }
            eventID = e.eventID
        }
        guard registry.isRegistered(e.type) else { return nil }
        if let payload, registry.decodes(type(of: payload), type: e.type, schemaVersion: e.schemaVersion) { return payload }
        guard let decoded = try? registry.decode(type: e.type, schemaVersion: e.schemaVersion, data: e.data) else { return nil }
        if registry.decodes(type(of: decoded), type: e.type, schemaVersion: e.schemaVersion) { payload = decoded }
        return decoded
    }
}
