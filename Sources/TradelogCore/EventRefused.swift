import Foundation

/// An event the log refused for what it holds (the same append would be refused again): a
/// processor's derived event or a gateway's decoded frame, recorded in its place so that
/// nothing is dropped unseen and the events after it are not held back behind it.
public struct EventRefused: EventPayload, Hashable {
    public static let eventType = "EventRefused"
    /// The refused event's id, stream and type (its data is not copied: it is what was refused).
    public var eventID: UUID
    public var stream: String
    public var type: String
    /// The refusal: the server's SQLSTATE and message, or the log's own check.
    public var sqlState: String?
    public var reason: String

    public init(eventID: UUID, stream: String, type: String, sqlState: String?, reason: String) {
        self.eventID = eventID
        self.stream = stream
        self.type = type
        self.sqlState = sqlState
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case eventID = "event_id", stream, type, sqlState = "sql_state", reason
    }
}
