import Foundation
import TradelogCore

/// An `order` topic update (stream `exchange.order-{orderId}`). Fields as Bybit names them;
/// `""` values are absent. A cancel racing a fill can produce two `Filled` updates.
public struct ExchangeOrderUpdated: EventPayload, Hashable {
    public static let eventType = "ExchangeOrderUpdated"

    public var category: String?
    public var symbol: String
    public var orderId: String
    public var orderLinkId: String?
    public var blockTradeId: String?
    public var parentOrderLinkId: String?
    public var side: String
    public var positionIdx: Int?
    /// `New`, `PartiallyFilled`, `Filled`, `Cancelled`, `Rejected`, ...
    public var orderStatus: String?
    public var cancelType: String?
    public var rejectReason: String?
    public var createType: String?
    public var timeInForce: String?
    public var orderType: String?
    public var stopOrderType: String?
    public var isLeverage: String?
    @OptionalDecimalString public var price: Decimal?
    @OptionalDecimalString public var qty: Decimal?
    @OptionalDecimalString public var avgPrice: Decimal?
    @OptionalDecimalString public var leavesQty: Decimal?
    @OptionalDecimalString public var leavesValue: Decimal?
    @OptionalDecimalString public var cumExecQty: Decimal?
    @OptionalDecimalString public var cumExecValue: Decimal?
    /// Deprecated for linear/spot in favour of ``cumFeeDetail``.
    @OptionalDecimalString public var cumExecFee: Decimal?
    /// Fee by coin, canonical decimal text (e.g. `["USDT": "0.0256322"]`).
    public var cumFeeDetail: [String: String]?
    public var feeCurrency: String?
    @OptionalDecimalString public var closedPnl: Decimal?
    @OptionalDecimalString public var orderIv: Decimal?
    @OptionalDecimalString public var triggerPrice: Decimal?
    public var triggerBy: String?
    public var triggerDirection: Int?
    @OptionalDecimalString public var takeProfit: Decimal?
    @OptionalDecimalString public var stopLoss: Decimal?
    public var tpTriggerBy: String?
    public var slTriggerBy: String?
    @OptionalDecimalString public var tpLimitPrice: Decimal?
    @OptionalDecimalString public var slLimitPrice: Decimal?
    public var tpslMode: String?
    @OptionalDecimalString public var lastPriceOnCreated: Decimal?
    public var placeType: String?
    public var closeOnTrigger: Bool?
    public var reduceOnly: Bool?
    public var smpType: String?
    public var smpGroup: Int?
    public var smpOrderId: String?
    public var marketUnit: String?
    @OptionalDecimalString public var slippageTolerance: Decimal?
    public var slippageToleranceType: String?
    public var rpiTakerAccess: Bool?
    @OptionalDecimalString public var rpiMatchedQty: Decimal?
    /// Ms.
    public var createdTime: Int64?
    /// Ms.
    public var updatedTime: Int64?
}

/// An `execution` item (shared by fills and non-fill executions).
public struct ExecutionReport: Codable, Hashable, Sendable {
    /// One extra fee line (e.g. GST).
    public struct ExtraFee: Codable, Hashable, Sendable {
        public var feeCoin: String?
        public var feeType: String?
        public var subFeeType: String?
        @OptionalDecimalString public var feeRate: Decimal?
        @OptionalDecimalString public var fee: Decimal?
    }

    public var category: String?
    public var symbol: String
    public var execId: String
    /// `Trade`, `Funding`, `AdlTrade`, `BustTrade`, `Settle`, ...; absent on `execution.fast` (fills).
    public var execType: String?
    @OptionalDecimalString public var execPrice: Decimal?
    @OptionalDecimalString public var execQty: Decimal?
    @OptionalDecimalString public var execValue: Decimal?
    @OptionalDecimalString public var execFee: Decimal?
    @OptionalDecimalString public var execPnl: Decimal?
    public var feeCurrency: String?
    @OptionalDecimalString public var feeRate: Decimal?
    public var extraFees: [ExtraFee]?
    /// Ms.
    public var execTime: Int64?
    public var isMaker: Bool?
    public var orderId: String?
    public var orderLinkId: String?
    @OptionalDecimalString public var orderPrice: Decimal?
    @OptionalDecimalString public var orderQty: Decimal?
    public var orderType: String?
    public var stopOrderType: String?
    public var side: String?
    @OptionalDecimalString public var leavesQty: Decimal?
    @OptionalDecimalString public var closedSize: Decimal?
    @OptionalDecimalString public var markPrice: Decimal?
    @OptionalDecimalString public var indexPrice: Decimal?
    @OptionalDecimalString public var underlyingPrice: Decimal?
    @OptionalDecimalString public var tradeIv: Decimal?
    @OptionalDecimalString public var markIv: Decimal?
    public var blockTradeId: String?
    public var isLeverage: String?
    public var marketUnit: String?
    public var createType: String?
    /// Unique only together with the symbol.
    public var seq: Int64?
}

/// A fill (execType `Trade`), stream `exchange.execution-{orderId}`.
public struct ExchangeExecution: EventPayload, Hashable {
    public static let eventType = "ExchangeExecution"
    public var execution: ExecutionReport

    public init(execution: ExecutionReport) { self.execution = execution }
    public init(from decoder: Decoder) throws { execution = try ExecutionReport(from: decoder) }
    public func encode(to encoder: Encoder) throws { try execution.encode(to: encoder) }
}

/// An execution that is not a fill (Funding, AdlTrade, BustTrade, Settle, ...), stream
/// `exchange.execution-{orderId}` or `-{symbol}` for funding.
public struct ExchangeNonTradeExecution: EventPayload, Hashable {
    public static let eventType = "ExchangeNonTradeExecution"
    public var execution: ExecutionReport

    public init(execution: ExecutionReport) { self.execution = execution }
    public init(from decoder: Decoder) throws { execution = try ExecutionReport(from: decoder) }
    public func encode(to encoder: Encoder) throws { try execution.encode(to: encoder) }
}

/// A `position` update, stream `exchange.position-{category}.{symbol}.{positionIdx}`.
/// The WebSocket sends `entryPrice` (REST says `avgPrice`); no side means flat.
public struct ExchangePositionUpdated: EventPayload, Hashable {
    public static let eventType = "ExchangePositionUpdated"

    public var category: String?
    public var symbol: String
    /// `Buy`, `Sell`, or nil when flat.
    public var side: String?
    @OptionalDecimalString public var size: Decimal?
    public var positionIdx: Int?
    public var tradeMode: Int?
    public var riskId: Int?
    @OptionalDecimalString public var riskLimitValue: Decimal?
    @OptionalDecimalString public var entryPrice: Decimal?
    @OptionalDecimalString public var leverage: Decimal?
    @OptionalDecimalString public var breakEvenPrice: Decimal?
    @OptionalDecimalString public var positionValue: Decimal?
    @OptionalDecimalString public var positionBalance: Decimal?
    @OptionalDecimalString public var markPrice: Decimal?
    @OptionalDecimalString public var positionIM: Decimal?
    @OptionalDecimalString public var positionIMByMp: Decimal?
    @OptionalDecimalString public var positionMM: Decimal?
    @OptionalDecimalString public var positionMMByMp: Decimal?
    @OptionalDecimalString public var takeProfit: Decimal?
    @OptionalDecimalString public var stopLoss: Decimal?
    @OptionalDecimalString public var trailingStop: Decimal?
    @OptionalDecimalString public var unrealisedPnl: Decimal?
    @OptionalDecimalString public var curRealisedPnl: Decimal?
    @OptionalDecimalString public var cumRealisedPnl: Decimal?
    @OptionalDecimalString public var sessionAvgPrice: Decimal?
    @OptionalDecimalString public var liqPrice: Decimal?
    @OptionalDecimalString public var bustPrice: Decimal?
    public var tpslMode: String?
    public var positionStatus: String?
    public var adlRankIndicator: Int?
    public var autoAddMargin: Int?
    public var isReduceOnly: Bool?
    /// -1 when never traded.
    public var seq: Int64?
    /// Ms.
    public var createdTime: Int64?
    /// Ms.
    public var updatedTime: Int64?
    public var leverageSysUpdatedTime: Int64?
    public var mmrSysUpdatedTime: Int64?

    public var isFlat: Bool { side == nil || size == 0 }
}

/// A `wallet` update, stream `exchange.wallet-{accountType}` (no snapshot on subscribe).
public struct ExchangeWalletUpdated: EventPayload, Hashable {
    public static let eventType = "ExchangeWalletUpdated"

    /// One coin of the account; balances can be negative.
    public struct Coin: Codable, Hashable, Sendable {
        public var coin: String
        @OptionalDecimalString public var equity: Decimal?
        @OptionalDecimalString public var usdValue: Decimal?
        @OptionalDecimalString public var walletBalance: Decimal?
        @OptionalDecimalString public var free: Decimal?
        @OptionalDecimalString public var locked: Decimal?
        @OptionalDecimalString public var availableToWithdraw: Decimal?
        @OptionalDecimalString public var availableToBorrow: Decimal?
        @OptionalDecimalString public var borrowAmount: Decimal?
        @OptionalDecimalString public var spotBorrow: Decimal?
        @OptionalDecimalString public var accruedInterest: Decimal?
        @OptionalDecimalString public var totalOrderIM: Decimal?
        @OptionalDecimalString public var totalPositionIM: Decimal?
        @OptionalDecimalString public var totalPositionMM: Decimal?
        @OptionalDecimalString public var unrealisedPnl: Decimal?
        @OptionalDecimalString public var cumRealisedPnl: Decimal?
        @OptionalDecimalString public var bonus: Decimal?
        @OptionalDecimalString public var spotHedgingQty: Decimal?
        public var collateralSwitch: Bool?
        public var marginCollateral: Bool?
    }

    public var accountType: String
    @OptionalDecimalString public var accountIMRate: Decimal?
    @OptionalDecimalString public var accountIMRateByMp: Decimal?
    @OptionalDecimalString public var accountMMRate: Decimal?
    @OptionalDecimalString public var accountMMRateByMp: Decimal?
    @OptionalDecimalString public var accountLTV: Decimal?
    @OptionalDecimalString public var totalEquity: Decimal?
    @OptionalDecimalString public var totalWalletBalance: Decimal?
    @OptionalDecimalString public var totalMarginBalance: Decimal?
    @OptionalDecimalString public var totalAvailableBalance: Decimal?
    @OptionalDecimalString public var totalPerpUPL: Decimal?
    @OptionalDecimalString public var totalInitialMargin: Decimal?
    @OptionalDecimalString public var totalInitialMarginByMp: Decimal?
    @OptionalDecimalString public var totalMaintenanceMargin: Decimal?
    @OptionalDecimalString public var totalMaintenanceMarginByMp: Decimal?
    public var coin: [Coin]
}
