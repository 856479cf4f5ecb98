import Foundation
import TradelogCore

/// One event decoded from a frame, ready to append to the log.
public struct DecodedEvent: Sendable, Hashable {
    /// `category-id`, e.g. `market.linear.orderbook-BTCUSDT`, `exchange.order-<orderId>`.
    public var stream: String
    /// The event type, e.g. `OrderBookUpdated`.
    public var type: String
    /// Deterministic: the same frame always yields the same id.
    public var eventID: UUID
    /// The payload: a JSON object with keys sorted, decimals as canonical strings.
    public var data: [UInt8]
    /// When the exchange says the fact happened (`ts`, `creationTime`, `updatedTime`, ...).
    public var exchangeTime: Timestamp?

    public init(stream: String, type: String, eventID: UUID, data: [UInt8], exchangeTime: Timestamp?) {
        self.stream = stream
        self.type = type
        self.eventID = eventID
        self.data = data
        self.exchangeTime = exchangeTime
    }

    /// The event to append, with exchange and receive time in its metadata.
    public func newEvent(receivedAt: Timestamp?, source: String? = nil) -> NewEvent {
        NewEvent(eventID: eventID, type: type, data: data,
                 metadata: EventMetadata(source: source, exchangeTime: exchangeTime, receiveTime: receivedAt))
    }
}

/// What one WebSocket frame produced.
public struct FrameOutput: Sendable, Hashable {
    /// Events to append, in order.
    public var events: [DecodedEvent] = []
    /// A protocol reply (pong, subscribe ack, auth result, ...), when the frame was one.
    public var control: ControlFrame?
    /// Topics whose book just became invalid: resubscribe to get a fresh snapshot.
    public var resync: [String] = []

    public init(events: [DecodedEvent] = [], control: ControlFrame? = nil, resync: [String] = []) {
        self.events = events
        self.control = control
        self.resync = resync
    }
}

/// Protocol replies from Bybit's WebSocket servers (reference §1.2, §1.3, §1.5).
public enum ControlFrame: Sendable, Hashable {
    case pong(Pong)
    /// Reply to `subscribe` / `unsubscribe` (spot, linear, inverse, private shapes).
    case subscription(SubscriptionAck)
    case auth(AuthResult)
    /// Option/spread `{"type":"COMMAND_RESP",...}` subscribe replies.
    case commandResponse(CommandResponse)
    /// A reply on the order-entry stream (`/v5/trade`): `order.create` etc.
    case orderEntry(OrderEntryResponse)
}

/// A heartbeat reply. Public spot/linear send `op:"ping"` with `ret_msg:"pong"`; private and
/// option send `op:"pong"` with `args:[<ms>]`; the trade stream puts the time in `data`.
public struct Pong: Sendable, Hashable {
    /// `ping` or `pong`, as sent.
    public var op: String
    public var connID: String?
    public var reqID: String?
    /// Server time(s) in ms as text, when given.
    public var args: [String]

    public init(op: String, connID: String?, reqID: String?, args: [String]) {
        self.op = op
        self.connID = connID
        self.reqID = reqID
        self.args = args
    }
}

/// Reply to a subscribe or unsubscribe request (one per request, covering all its args).
public struct SubscriptionAck: Sendable, Hashable {
    /// `subscribe` or `unsubscribe`.
    public var op: String
    public var success: Bool
    /// As sent: `""`, `"subscribe"` (spot), or an error text.
    public var retMsg: String
    public var reqID: String?
    public var connID: String?
    /// The error without its `error:` prefix and topic suffix: `handler not found`,
    /// `already subscribed`, `args size >10`; nil on success.
    public var error: String?
    /// The topic named in the error (`…,topic:orderbook.50.NOPEUSDT`), if any.
    public var failedTopic: String?

    public init(op: String, success: Bool, retMsg: String, reqID: String?, connID: String?,
                error: String?, failedTopic: String?) {
        self.op = op
        self.success = success
        self.retMsg = retMsg
        self.reqID = reqID
        self.connID = connID
        self.error = error
        self.failedTopic = failedTopic
    }
}

/// Result of `op:"auth"` on the private stream (or the trade stream, which uses `retCode`).
public struct AuthResult: Sendable, Hashable {
    public var success: Bool
    public var retMsg: String
    /// The trade stream's numeric code (0 = OK); nil on the private stream.
    public var retCode: Int?
    public var reqID: String?
    public var connID: String?

    public init(success: Bool, retMsg: String, retCode: Int?, reqID: String?, connID: String?) {
        self.success = success
        self.retMsg = retMsg
        self.retCode = retCode
        self.reqID = reqID
        self.connID = connID
    }
}

/// Option/spread subscribe reply: per-topic outcome.
public struct CommandResponse: Sendable, Hashable {
    public var success: Bool
    public var retMsg: String?
    public var reqID: String?
    public var connID: String?
    public var successTopics: [String]
    public var failTopics: [String]

    public init(success: Bool, retMsg: String?, reqID: String?, connID: String?,
                successTopics: [String], failTopics: [String]) {
        self.success = success
        self.retMsg = retMsg
        self.reqID = reqID
        self.connID = connID
        self.successTopics = successTopics
        self.failTopics = failTopics
    }
}

/// A reply on the order-entry stream: `{"reqId","retCode","retMsg","op","data",...}`.
public struct OrderEntryResponse: Sendable, Hashable {
    public var op: String
    public var reqID: String?
    public var retCode: Int
    public var retMsg: String
    public var connID: String?
    /// `data` as canonical JSON (keys sorted), or nil when absent.
    public var data: [UInt8]?
    /// `retExtInfo` as canonical JSON, or nil when absent.
    public var retExtInfo: [UInt8]?
    /// Response headers (`X-Bapi-Limit-Status`, `Traceid`, ...), as sent.
    public var header: [String: String]

    public init(op: String, reqID: String?, retCode: Int, retMsg: String, connID: String?,
                data: [UInt8]?, retExtInfo: [UInt8]?, header: [String: String]) {
        self.op = op
        self.reqID = reqID
        self.retCode = retCode
        self.retMsg = retMsg
        self.connID = connID
        self.data = data
        self.retExtInfo = retExtInfo
        self.header = header
    }
}
