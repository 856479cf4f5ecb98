import Bybit
import Foundation
import TradelogCore

/// Status of one of our orders, from intent to a final state.
public enum OrderStatus: String, Codable, Sendable, Hashable, CaseIterable {
    /// The intent is in the log; the request has not been answered.
    case requested
    /// The request timed out or failed on the server side: the order may or may not exist.
    case unknown
    case new
    case partiallyFilled = "partially_filled"
    case filled
    case cancelled
    case rejected
    /// The exchange has no order with this `orderLinkId` after an unknown outcome.
    case notPlaced = "not_placed"
    /// The intent was too old to send when tradelog came back.
    case expired

    /// No further change is expected.
    public var isFinal: Bool { [.filled, .cancelled, .rejected, .notPlaced, .expired].contains(self) }
    /// Resting at the exchange (or possibly so).
    public var isOpen: Bool { [.requested, .unknown, .new, .partiallyFilled].contains(self) }

    /// Bybit's `orderStatus` mapped to ours.
    public init?(bybit: String) {
        switch bybit {
        case "Created", "New", "Untriggered", "Triggered", "Active": self = .new
        case "PartiallyFilled": self = .partiallyFilled
        case "Filled": self = .filled
        case "Cancelled", "PartiallyFilledCanceled", "Deactivated": self = .cancelled
        case "Rejected": self = .rejected
        default: return nil
        }
    }
}

/// What one request to the exchange does to an order.
public enum OrderAction: String, Codable, Sendable, Hashable {
    case create, amend, cancel
}

/// A validation refusal: the signal is well formed but cannot be traded (item 1 of the issue).
public struct SignalRefused: EventPayload, Hashable {
    public static let eventType = "SignalRefused"
    public var signalID: String
    public var strategyID: String
    public var asset: String
    /// `unknown_asset`, `instrument_not_trading`, `instruments_unknown`, `stale_signal`,
    /// `signal_from_future`, `warmup_recorded`, `warmup_rejected`, `warmup_not_allowed`.
    public var reason: String
    public var detail: String
    public var figures: [String: String]

    public init(signalID: String, strategyID: String, asset: String, reason: String, detail: String, figures: [String: String] = [:]) {
        self.signalID = signalID
        self.strategyID = strategyID
        self.asset = asset
        self.reason = reason
        self.detail = detail
        self.figures = figures
    }
}

/// A risk, sizing or policy denial, with the figures that caused it.
public struct OrderDenied: EventPayload, Hashable {
    public static let eventType = "OrderDenied"
    public var signalID: String
    public var strategyID: String
    public var asset: String
    public var side: RESTSide
    /// e.g. `max_order_notional`, `trading_halted`, `below_min_qty`, `order_in_flight`.
    public var code: String
    public var detail: String
    public var figures: [String: String]

    public init(signalID: String, strategyID: String, asset: String, side: RESTSide, code: String, detail: String,
                figures: [String: String] = [:]) {
        self.signalID = signalID
        self.strategyID = strategyID
        self.asset = asset
        self.side = side
        self.code = code
        self.detail = detail
        self.figures = figures
    }
}

/// The decision taken for a signal that passed validation and risk: what to cancel, amend and create, and why.
public struct OrderDecided: EventPayload, Hashable {
    public static let eventType = "OrderDecided"
    public struct Step: Codable, Hashable, Sendable {
        public var action: OrderAction
        public var orderLinkId: String
        public var reason: String
    }
    public var signalID: String
    public var strategyID: String
    public var asset: String
    public var category: RESTCategory
    public var side: RESTSide
    public var orderType: RESTOrderType
    public var orderTypeReason: String
    public var referencePrice: Decimal
    public var referenceSource: PriceSource
    public var qty: Decimal
    public var notional: Decimal
    public var steps: [Step]
    /// The risk figures the decision was checked against.
    public var riskFigures: [String: String]
    /// The last log position folded into the state the decision was taken on.
    public var basisPosition: Int64

    public init(signalID: String, strategyID: String, asset: String, category: RESTCategory, side: RESTSide, orderType: RESTOrderType, orderTypeReason: String, referencePrice: Decimal, referenceSource: PriceSource, qty: Decimal, notional: Decimal, steps: [Step], riskFigures: [String: String], basisPosition: Int64) {
        self.signalID = signalID
        self.strategyID = strategyID
        self.asset = asset
        self.category = category
        self.side = side
        self.orderType = orderType
        self.orderTypeReason = orderTypeReason
        self.referencePrice = referencePrice
        self.referenceSource = referenceSource
        self.qty = qty
        self.notional = notional
        self.steps = steps
        self.riskFigures = riskFigures
        self.basisPosition = basisPosition
    }
}

/// The intent to place an order: durable before the REST call (DESIGN invariant 6).
public struct OrderRequested: EventPayload, Hashable {
    public static let eventType = "OrderRequested"
    public var orderLinkId: String
    public var signalID: String
    public var strategyID: String
    public var traceID: String?
    /// The order's place among the legs of its signal (0 first).
    public var leg: Int
    public var category: RESTCategory
    public var symbol: String
    public var side: RESTSide
    public var orderType: RESTOrderType
    public var timeInForce: RESTTimeInForce
    public var qty: Decimal
    public var price: Decimal?
    public var marketUnit: RESTMarketUnit?
    public var reduceOnly: Bool?
    /// The signal's amount in the quote coin.
    public var requestedAmount: Decimal
    public var referencePrice: Decimal
    public var snapshotPrice: Decimal?
    /// When the signal was received (µs), for the latencies.
    public var signalReceivedAt: Timestamp?
    public var reason: String

    /// The REST body this intent sends.
    public var restRequest: RESTCreateOrder {
        RESTCreateOrder(category: category, symbol: symbol, side: side, orderType: orderType, qty: qty,
                        price: orderType == .limit ? price : nil, timeInForce: timeInForce, orderLinkId: orderLinkId,
                        reduceOnly: reduceOnly, marketUnit: marketUnit)
    }

    public init(orderLinkId: String, signalID: String, strategyID: String, traceID: String? = nil, leg: Int, category: RESTCategory, symbol: String, side: RESTSide, orderType: RESTOrderType, timeInForce: RESTTimeInForce, qty: Decimal, price: Decimal? = nil, marketUnit: RESTMarketUnit? = nil, reduceOnly: Bool? = nil, requestedAmount: Decimal, referencePrice: Decimal, snapshotPrice: Decimal? = nil, signalReceivedAt: Timestamp? = nil, reason: String) {
        self.orderLinkId = orderLinkId
        self.signalID = signalID
        self.strategyID = strategyID
        self.traceID = traceID
        self.leg = leg
        self.category = category
        self.symbol = symbol
        self.side = side
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.qty = qty
        self.price = price
        self.marketUnit = marketUnit
        self.reduceOnly = reduceOnly
        self.requestedAmount = requestedAmount
        self.referencePrice = referencePrice
        self.snapshotPrice = snapshotPrice
        self.signalReceivedAt = signalReceivedAt
        self.reason = reason
    }
}

/// The intent to amend a resting order (a same-side signal, or a re-price).
public struct OrderAmendRequested: EventPayload, Hashable {
    public static let eventType = "OrderAmendRequested"
    public var orderLinkId: String
    public var category: RESTCategory
    public var symbol: String
    /// 1 for the first amend of this order, 2 for the next, ...
    public var amendIndex: Int
    public var qty: Decimal?
    public var price: Decimal?
    /// The signal that caused it, if any (re-prices have none).
    public var signalID: String?
    public var reason: String

    public init(orderLinkId: String, category: RESTCategory, symbol: String, amendIndex: Int, qty: Decimal? = nil, price: Decimal? = nil, signalID: String? = nil, reason: String) {
        self.orderLinkId = orderLinkId
        self.category = category
        self.symbol = symbol
        self.amendIndex = amendIndex
        self.qty = qty
        self.price = price
        self.signalID = signalID
        self.reason = reason
    }
}

/// The intent to cancel a resting order.
public struct OrderCancelRequested: EventPayload, Hashable {
    public static let eventType = "OrderCancelRequested"
    public var orderLinkId: String
    public var category: RESTCategory
    public var symbol: String
    public var signalID: String?
    /// `opposite_signal`, `unfilled_timeout`, `manual`.
    public var reason: String

    public init(orderLinkId: String, category: RESTCategory, symbol: String, signalID: String? = nil, reason: String) {
        self.orderLinkId = orderLinkId
        self.category = category
        self.symbol = symbol
        self.signalID = signalID
        self.reason = reason
    }
}

/// The exchange accepted a request (`retCode` 0), or a query found the order.
public struct OrderAccepted: EventPayload, Hashable {
    public static let eventType = "OrderAccepted"
    public var orderLinkId: String
    public var orderId: String
    public var action: OrderAction
    /// `rest` (the answer), `query` (settled by querying), `sync`.
    public var via: String
    /// The order's status when it was found by a query.
    public var exchangeStatus: String?
    /// The amend answered (its ``OrderAmendRequested/amendIndex``); absent in older events and
    /// for other actions.
    public var amendIndex: Int?

    public init(orderLinkId: String, orderId: String, action: OrderAction, via: String, exchangeStatus: String? = nil,
                amendIndex: Int? = nil) {
        self.orderLinkId = orderLinkId
        self.orderId = orderId
        self.action = action
        self.via = via
        self.exchangeStatus = exchangeStatus
        self.amendIndex = amendIndex
    }
}

/// The exchange refused a request with `retCode ≠ 0`.
public struct OrderRejected: EventPayload, Hashable {
    public static let eventType = "OrderRejected"
    public var orderLinkId: String
    public var action: OrderAction
    public var retCode: Int
    public var retMsg: String
    /// The amend answered (its ``OrderAmendRequested/amendIndex``); absent in older events and
    /// for other actions.
    public var amendIndex: Int?

    public init(orderLinkId: String, action: OrderAction, retCode: Int, retMsg: String, amendIndex: Int? = nil) {
        self.orderLinkId = orderLinkId
        self.action = action
        self.retCode = retCode
        self.retMsg = retMsg
        self.amendIndex = amendIndex
    }
}

/// A request timed out or failed on the server: settled later by querying by `orderLinkId`.
public struct OrderOutcomeUnknown: EventPayload, Hashable {
    public static let eventType = "OrderOutcomeUnknown"
    public var orderLinkId: String
    public var action: OrderAction
    public var reason: String
    /// The amend whose outcome is unknown (its ``OrderAmendRequested/amendIndex``); absent in
    /// older events and for other actions.
    public var amendIndex: Int?

    public init(orderLinkId: String, action: OrderAction, reason: String, amendIndex: Int? = nil) {
        self.orderLinkId = orderLinkId
        self.action = action
        self.reason = reason
        self.amendIndex = amendIndex
    }
}

/// A query found no order for an intent whose outcome was unknown.
public struct OrderNotPlaced: EventPayload, Hashable {
    public static let eventType = "OrderNotPlaced"
    public var orderLinkId: String
    public var reason: String

    public init(orderLinkId: String, reason: String) {
        self.orderLinkId = orderLinkId
        self.reason = reason
    }
}

/// An intent found unsent at start that is too old to send now.
public struct OrderExpired: EventPayload, Hashable {
    public static let eventType = "OrderExpired"
    public var orderLinkId: String
    public var ageMs: Int64
    public var maxAgeMs: Int64

    public init(orderLinkId: String, ageMs: Int64, maxAgeMs: Int64) {
        self.orderLinkId = orderLinkId
        self.ageMs = ageMs
        self.maxAgeMs = maxAgeMs
    }
}

/// An order at the exchange that tradelog did not place.
public struct ExternalOrderObserved: EventPayload, Hashable {
    public static let eventType = "ExternalOrderObserved"
    public var category: RESTCategory
    public var symbol: String
    public var orderId: String
    public var orderLinkId: String?
    public var side: String
    public var orderType: String
    public var orderStatus: String
    public var qty: Decimal
    public var price: Decimal?
    public var cumExecQty: Decimal?

    public init(category: RESTCategory, symbol: String, orderId: String, orderLinkId: String? = nil, side: String, orderType: String, orderStatus: String, qty: Decimal, price: Decimal? = nil, cumExecQty: Decimal? = nil) {
        self.category = category
        self.symbol = symbol
        self.orderId = orderId
        self.orderLinkId = orderLinkId
        self.side = side
        self.orderType = orderType
        self.orderStatus = orderStatus
        self.qty = qty
        self.price = price
        self.cumExecQty = cumExecQty
    }
}

/// The order manager's trading state, switched through the API.
public enum TradingState: String, Codable, Sendable, Hashable, CaseIterable {
    case active = "ACTIVE"
    case reduceOnly = "REDUCE_ONLY"
    case halted = "HALTED"
}

public struct TradingStateChanged: EventPayload, Hashable {
    public static let eventType = "TradingStateChanged"
    public var state: TradingState
    public var previous: TradingState
    public var reason: String

    public init(state: TradingState, previous: TradingState, reason: String) {
        self.state = state
        self.previous = previous
        self.reason = reason
    }
}

/// The instruments' rules as loaded from the exchange (validation and sizing read them from the log).
public struct InstrumentsLoaded: EventPayload, Hashable {
    public static let eventType = "InstrumentsLoaded"
    public var category: RESTCategory
    public var instruments: [InstrumentRules]

    public init(category: RESTCategory, instruments: [InstrumentRules]) {
        self.category = category
        self.instruments = instruments
    }
}

/// A sync with the exchange finished (start-up or `POST /api/v1/sync`).
public struct OrderSyncCompleted: EventPayload, Hashable {
    public static let eventType = "OrderSyncCompleted"
    public var trigger: String
    public var settledIntents: Int
    public var resent: Int
    public var openOrders: Int
    public var external: Int
    public var executionsFetched: Int
    public var differences: Int

    public init(trigger: String, settledIntents: Int, resent: Int, openOrders: Int, external: Int, executionsFetched: Int, differences: Int) {
        self.trigger = trigger
        self.settledIntents = settledIntents
        self.resent = resent
        self.openOrders = openOrders
        self.external = external
        self.executionsFetched = executionsFetched
        self.differences = differences
    }
}

/// A lifecycle change of one of our orders, enriched for `order-manager.order_events`.
public struct OrderLifecycleChanged: EventPayload, Hashable {
    public static let eventType = "OrderLifecycleChanged"
    public var orderLinkId: String
    public var orderId: String?
    public var signalID: String?
    public var strategyID: String?
    public var traceID: String?
    public var category: RESTCategory
    public var symbol: String
    public var side: RESTSide
    public var orderType: RESTOrderType
    public var status: OrderStatus
    public var previousStatus: OrderStatus?
    /// The type of the event that caused the change.
    public var cause: String
    public var reason: String?
    public var requestedAmount: Decimal?
    public var requestedQty: Decimal
    public var price: Decimal?
    public var executedQty: Decimal
    public var averagePrice: Decimal?
    public var fees: Decimal
    public var feeCurrency: String?
    /// Against the signal's snapshot price; positive = worse than the snapshot.
    public var slippageBps: Decimal?
    public var latencyToAckMs: Int64?
    public var latencyToFillMs: Int64?

    public init(orderLinkId: String, orderId: String? = nil, signalID: String? = nil, strategyID: String? = nil, traceID: String? = nil, category: RESTCategory, symbol: String, side: RESTSide, orderType: RESTOrderType, status: OrderStatus, previousStatus: OrderStatus? = nil, cause: String, reason: String? = nil, requestedAmount: Decimal? = nil, requestedQty: Decimal, price: Decimal? = nil, executedQty: Decimal, averagePrice: Decimal? = nil, fees: Decimal, feeCurrency: String? = nil, slippageBps: Decimal? = nil, latencyToAckMs: Int64? = nil, latencyToFillMs: Int64? = nil) {
        self.orderLinkId = orderLinkId
        self.orderId = orderId
        self.signalID = signalID
        self.strategyID = strategyID
        self.traceID = traceID
        self.category = category
        self.symbol = symbol
        self.side = side
        self.orderType = orderType
        self.status = status
        self.previousStatus = previousStatus
        self.cause = cause
        self.reason = reason
        self.requestedAmount = requestedAmount
        self.requestedQty = requestedQty
        self.price = price
        self.executedQty = executedQty
        self.averagePrice = averagePrice
        self.fees = fees
        self.feeCurrency = feeCurrency
        self.slippageBps = slippageBps
        self.latencyToAckMs = latencyToAckMs
        self.latencyToFillMs = latencyToFillMs
    }
}

/// A fill of one of our orders, for `order-manager.order_executed`.
public struct OrderExecuted: EventPayload, Hashable {
    public static let eventType = "OrderExecuted"
    public var orderLinkId: String
    public var orderId: String?
    public var execId: String
    public var signalID: String?
    public var strategyID: String?
    public var traceID: String?
    public var category: RESTCategory
    public var symbol: String
    public var side: RESTSide
    public var execQty: Decimal
    public var execPrice: Decimal
    public var execFee: Decimal
    public var feeCurrency: String?
    public var isMaker: Bool?
    /// Exchange ms.
    public var execTime: Int64?
    public var executedQty: Decimal
    public var averagePrice: Decimal?
    public var slippageBps: Decimal?
    public var latencyToFillMs: Int64?

    public init(orderLinkId: String, orderId: String? = nil, execId: String, signalID: String? = nil, strategyID: String? = nil, traceID: String? = nil, category: RESTCategory, symbol: String, side: RESTSide, execQty: Decimal, execPrice: Decimal, execFee: Decimal, feeCurrency: String? = nil, isMaker: Bool? = nil, execTime: Int64? = nil, executedQty: Decimal, averagePrice: Decimal? = nil, slippageBps: Decimal? = nil, latencyToFillMs: Int64? = nil) {
        self.orderLinkId = orderLinkId
        self.orderId = orderId
        self.execId = execId
        self.signalID = signalID
        self.strategyID = strategyID
        self.traceID = traceID
        self.category = category
        self.symbol = symbol
        self.side = side
        self.execQty = execQty
        self.execPrice = execPrice
        self.execFee = execFee
        self.feeCurrency = feeCurrency
        self.isMaker = isMaker
        self.execTime = execTime
        self.executedQty = executedQty
        self.averagePrice = averagePrice
        self.slippageBps = slippageBps
        self.latencyToFillMs = latencyToFillMs
    }
}

/// Streams and ids of the order manager's events.
public enum OrderEvents {
    public static let orderCategory = "order"
    public static func stream(orderLinkId: String) -> String { "\(orderCategory)-\(orderLinkId)" }
    /// The `orderLinkId` of an order's stream (``stream(orderLinkId:)``); nil for any other stream.
    public static func orderLinkId(ofStream stream: String) -> String? {
        let prefix = orderCategory + "-"
        return stream.hasPrefix(prefix) ? String(stream.dropFirst(prefix.count)) : nil
    }
    public static func externalStream(orderId: String) -> String { "order.external-\(orderId)" }
    public static let tradingStateStream = "ordermanager.control-trading"
    public static func instrumentsStream(_ category: RESTCategory) -> String { "instruments-\(category.rawValue)" }
    public static let source = "order-manager"

    /// The `orderLinkId` of leg `leg` of a signal: the signal id's 32 hex digits, a dash and
    /// the leg (at most 36 characters of `[0-9a-f-]`, the same after any restart).
    public static func orderLinkID(signalID: String, leg: Int) -> String {
        let hex = signalID.lowercased().filter { $0.isHexDigit }
        let base = hex.count == 32 ? hex : Digest.hex(Digest.sha256(Array(signalID.utf8))).prefix(32).description
        return "\(base)-\(leg)"
    }

    /// Registers every order-manager event type.
    public static func register(_ r: inout EventRegistry) {
        r.register(SignalRefused.self)
        r.register(OrderDenied.self)
        r.register(OrderDecided.self)
        r.register(OrderRequested.self)
        r.register(OrderAmendRequested.self)
        r.register(OrderCancelRequested.self)
        r.register(OrderAccepted.self)
        r.register(OrderRejected.self)
        r.register(OrderOutcomeUnknown.self)
        r.register(OrderNotPlaced.self)
        r.register(OrderExpired.self)
        r.register(ExternalOrderObserved.self)
        r.register(TradingStateChanged.self)
        r.register(InstrumentsLoaded.self)
        r.register(OrderSyncCompleted.self)
        r.register(OrderLifecycleChanged.self)
        r.register(OrderExecuted.self)
    }
}

// Read from the log over the tape before `JSONDecoder` (every such event of the bundled
// sessions is in the tape decoder's subset; tested against `JSONDecoder` on them).
extension OrderDecided: TapeDecodable {}
extension OrderRequested: TapeDecodable {}
extension InstrumentsLoaded: TapeDecodable {}
extension OrderLifecycleChanged: TapeDecodable {}
extension OrderExecuted: TapeDecodable {}
