import Foundation

/// The result of create / amend / cancel: ids only. Create is asynchronous on Bybit:
/// the order's fate arrives on the private stream.
public struct RESTOrderAck: Codable, Sendable, Hashable {
    public var orderId: String
    /// `""` when the request had none (derivatives); spot may invent one (reference §2.5).
    public var orderLinkId: String

    public init(orderId: String, orderLinkId: String) {
        self.orderId = orderId
        self.orderLinkId = orderLinkId
    }
}

/// `/v5/order/cancel-all` result; `success` is `"1"` on newer responses.
public struct RESTCancelAllResult: Codable, Sendable, Hashable {
    public var list: [RESTOrderAck]
    public var success: String?

    public init(list: [RESTOrderAck], success: String?) {
        self.list = list
        self.success = success
    }
}

/// One order of `/v5/order/realtime` or `/v5/order/history`. Status and enum-like fields
/// stay strings so that new values never fail decoding.
public struct RESTOrder: Codable, Sendable, Hashable {
    public var orderId: String
    public var orderLinkId: String
    public var symbol: String
    public var side: String
    public var orderType: String
    public var orderStatus: String
    public var timeInForce: String?
    @RESTOptionalDecimal public var price: Decimal?
    @RESTDecimal public var qty: Decimal
    @RESTOptionalDecimal public var avgPrice: Decimal?
    @RESTOptionalDecimal public var leavesQty: Decimal?
    @RESTOptionalDecimal public var leavesValue: Decimal?
    @RESTOptionalDecimal public var cumExecQty: Decimal?
    @RESTOptionalDecimal public var cumExecValue: Decimal?
    /// Deprecated for linear/spot in favour of `cumFeeDetail`.
    @RESTOptionalDecimal public var cumExecFee: Decimal?
    public var cumFeeDetail: [String: String]?
    public var positionIdx: Int?
    public var reduceOnly: Bool?
    public var closeOnTrigger: Bool?
    public var createType: String?
    public var cancelType: String?
    public var rejectReason: String?
    public var stopOrderType: String?
    public var marketUnit: String?
    @RESTOptionalDecimal public var triggerPrice: Decimal?
    @RESTOptionalDecimal public var takeProfit: Decimal?
    @RESTOptionalDecimal public var stopLoss: Decimal?
    @RESTInt64 public var createdTime: Int64
    @RESTInt64 public var updatedTime: Int64

    /// `cumFeeDetail` as decimals (unparseable entries dropped).
    public var feeDetail: [String: Decimal] {
        (cumFeeDetail ?? [:]).compactMapValues { RESTNumberParsing.decimal($0) }
    }
}

/// One fill of `/v5/execution/list`.
public struct RESTExecution: Codable, Sendable, Hashable {
    public var symbol: String
    public var orderId: String
    public var orderLinkId: String
    public var side: String
    public var orderType: String?
    public var execId: String
    @RESTDecimal public var execPrice: Decimal
    @RESTDecimal public var execQty: Decimal
    @RESTOptionalDecimal public var execValue: Decimal?
    @RESTOptionalDecimal public var execFee: Decimal?
    @RESTOptionalDecimal public var feeRate: Decimal?
    public var feeCurrency: String?
    public var execType: String
    @RESTInt64 public var execTime: Int64
    public var isMaker: Bool
    @RESTOptionalDecimal public var orderPrice: Decimal?
    @RESTOptionalDecimal public var orderQty: Decimal?
    @RESTOptionalDecimal public var leavesQty: Decimal?
    @RESTOptionalDecimal public var closedSize: Decimal?
    /// The realized PnL of a closing fill (linear), when the answer gives it.
    @RESTOptionalDecimal public var execPnl: Decimal?
    @RESTOptionalDecimal public var markPrice: Decimal?
    @RESTOptionalDecimal public var indexPrice: Decimal?
    public var stopOrderType: String?
    public var blockTradeId: String?
    /// Cross sequence; unique only together with the symbol.
    @RESTOptionalInt64 public var seq: Int64?
}

/// One `/v5/position/list` entry. The entry price is `avgPrice` here (WS says `entryPrice`).
public struct RESTPosition: Codable, Sendable, Hashable {
    public var symbol: String
    public var positionIdx: Int
    /// `Buy`, `Sell`, or `""` when flat (`"None"` in older responses).
    public var side: String
    @RESTDecimal public var size: Decimal
    @RESTOptionalDecimal public var avgPrice: Decimal?
    @RESTOptionalDecimal public var positionValue: Decimal?
    @RESTOptionalDecimal public var leverage: Decimal?
    @RESTOptionalDecimal public var markPrice: Decimal?
    @RESTOptionalDecimal public var liqPrice: Decimal?
    @RESTOptionalDecimal public var bustPrice: Decimal?
    @RESTOptionalDecimal public var breakEvenPrice: Decimal?
    @RESTOptionalDecimal public var positionIM: Decimal?
    @RESTOptionalDecimal public var positionMM: Decimal?
    @RESTOptionalDecimal public var positionBalance: Decimal?
    @RESTOptionalDecimal public var unrealisedPnl: Decimal?
    @RESTOptionalDecimal public var curRealisedPnl: Decimal?
    @RESTOptionalDecimal public var cumRealisedPnl: Decimal?
    @RESTOptionalDecimal public var takeProfit: Decimal?
    @RESTOptionalDecimal public var stopLoss: Decimal?
    @RESTOptionalDecimal public var trailingStop: Decimal?
    @RESTOptionalDecimal public var riskLimitValue: Decimal?
    public var riskId: Int?
    public var tradeMode: Int?
    public var autoAddMargin: Int?
    public var adlRankIndicator: Int?
    public var positionStatus: String?
    public var tpslMode: String?
    public var isReduceOnly: Bool?
    /// `-1` when never traded.
    @RESTOptionalInt64 public var seq: Int64?
    @RESTOptionalInt64 public var createdTime: Int64?
    @RESTOptionalInt64 public var updatedTime: Int64?

    /// No position: size zero or no side.
    public var isFlat: Bool { size == 0 || side.isEmpty || side == "None" }
}

/// `/v5/account/wallet-balance` result.
public struct RESTWalletBalance: Codable, Sendable, Hashable {
    public var list: [RESTWalletAccount]
}

/// One account of the wallet balance (UTA). Totals may be `""` for some account types.
public struct RESTWalletAccount: Codable, Sendable, Hashable {
    public var accountType: String
    @RESTOptionalDecimal public var totalEquity: Decimal?
    @RESTOptionalDecimal public var totalWalletBalance: Decimal?
    @RESTOptionalDecimal public var totalMarginBalance: Decimal?
    @RESTOptionalDecimal public var totalAvailableBalance: Decimal?
    @RESTOptionalDecimal public var totalPerpUPL: Decimal?
    @RESTOptionalDecimal public var totalInitialMargin: Decimal?
    @RESTOptionalDecimal public var totalMaintenanceMargin: Decimal?
    @RESTOptionalDecimal public var accountIMRate: Decimal?
    @RESTOptionalDecimal public var accountMMRate: Decimal?
    @RESTOptionalDecimal public var accountLTV: Decimal?
    public var coin: [RESTWalletCoin]
}

/// One coin of an account. Balances can be negative in UTA; deprecated fields
/// (`availableToWithdraw`, `availableToBorrow`) come as `""` → nil.
public struct RESTWalletCoin: Codable, Sendable, Hashable {
    public var coin: String
    @RESTOptionalDecimal public var equity: Decimal?
    @RESTOptionalDecimal public var walletBalance: Decimal?
    @RESTOptionalDecimal public var usdValue: Decimal?
    @RESTOptionalDecimal public var unrealisedPnl: Decimal?
    @RESTOptionalDecimal public var cumRealisedPnl: Decimal?
    @RESTOptionalDecimal public var locked: Decimal?
    @RESTOptionalDecimal public var borrowAmount: Decimal?
    @RESTOptionalDecimal public var spotBorrow: Decimal?
    @RESTOptionalDecimal public var accruedInterest: Decimal?
    @RESTOptionalDecimal public var totalOrderIM: Decimal?
    @RESTOptionalDecimal public var totalPositionIM: Decimal?
    @RESTOptionalDecimal public var totalPositionMM: Decimal?
    @RESTOptionalDecimal public var availableToWithdraw: Decimal?
    @RESTOptionalDecimal public var availableToBorrow: Decimal?
    @RESTOptionalDecimal public var bonus: Decimal?
    @RESTOptionalDecimal public var spotHedgingQty: Decimal?
    public var collateralSwitch: Bool?
    public var marginCollateral: Bool?
}
