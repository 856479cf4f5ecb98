/// Order types the simulator matches.
public enum OrderKind: String, Sendable, Hashable {
    case limit = "Limit"
    case market = "Market"
}

public enum TimeInForce: String, Sendable, Hashable {
    case gtc = "GTC"
    case ioc = "IOC"
    case fok = "FOK"
    case postOnly = "PostOnly"
}

/// `orderStatus` values (reference §2.7).
public enum OrderStatus: String, Sendable, Hashable {
    case new = "New"
    case partiallyFilled = "PartiallyFilled"
    case filled = "Filled"
    case cancelled = "Cancelled"
    case partiallyFilledCanceled = "PartiallyFilledCanceled"
    case rejected = "Rejected"

    public var isOpen: Bool { self == .new || self == .partiallyFilled }
}

/// A Bybit error answer: `retCode` and `retMsg`.
public struct ExchangeError: Error, Sendable, Hashable, CustomStringConvertible {
    public var code: Int
    public var message: String

    public init(_ code: Int, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code) \(message)" }

    static func params(_ text: String) -> ExchangeError { ExchangeError(10001, text) }
    static let orderNotFound = ExchangeError(110001, "Order does not exist")
    static let spotOrderNotFound = ExchangeError(170213, "Order does not exist.")
    static let duplicateLinkId = ExchangeError(110072, "OrderLinkedID is duplicate")
    static let spotDuplicateLinkId = ExchangeError(170141, "Duplicate clientOrderId")
    static let insufficient = ExchangeError(110007, "ab not enough for new order")
    static let spotInsufficient = ExchangeError(170131, "Insufficient balance.")
    static let reduceOnly = ExchangeError(110017, "Reduce-only rule not satisfied")
    static let orderFinished = ExchangeError(110008, "The order has been filled or cancelled")
}

/// One order as the simulator keeps it; the REST views and `order` messages are drawn from it.
public struct SimOrder: Sendable, Hashable {
    public var category: SimCategory
    public var symbol: String
    public var orderId: String
    public var orderLinkId: String
    public var side: Side
    public var kind: OrderKind
    public var timeInForce: TimeInForce
    /// The limit price; for market orders the protection price (as Bybit reports it).
    public var price: Fixed
    /// Quantity in base coin, or in quote coin when `quoteQty` (spot market buy by value).
    public var qty: Fixed
    public var quoteQty: Bool
    public var marketUnit: String
    public var status: OrderStatus = .new
    public var cumExecQty: Fixed = .zero
    public var cumExecValue: Fixed = .zero
    public var cumExecFee: Fixed = .zero
    public var feeCurrency: String = ""
    public var closedPnl: Fixed = .zero
    public var reduceOnly: Bool
    public var closeOnTrigger: Bool = false
    public var positionIdx: Int
    public var cancelType: String = "UNKNOWN"
    public var rejectReason: String = "EC_NoError"
    public var createType: String = "CreateByUser"
    public var lastPriceOnCreated: Fixed
    public var createdTime: Int64
    public var updatedTime: Int64
    /// Creation order within the account, for stable listings.
    public var sequence: Int64
    /// Margin (linear) or coin amount (spot) this order holds while open.
    public var reserved: Fixed = .zero

    public var isOpen: Bool { status.isOpen }

    /// What remains, in the unit of `qty`.
    public var leaves: Fixed {
        guard isOpen else { return .zero }
        return quoteQty ? qty - cumExecValue : qty - cumExecQty
    }

    public var leavesQty: Fixed { quoteQty ? .zero : leaves }
    public var leavesValue: Fixed { quoteQty ? leaves : leaves * price }

    public var avgPrice: Fixed? {
        cumExecQty.isZero ? nil : cumExecValue.divided(by: cumExecQty)
    }
}

/// One fill of one of our orders.
public struct SimExecution: Sendable, Hashable {
    public var category: SimCategory
    public var symbol: String
    public var execId: String
    public var orderId: String
    public var orderLinkId: String
    public var side: Side
    public var orderKind: OrderKind
    public var orderPrice: Fixed
    public var orderQty: Fixed
    public var execPrice: Fixed
    public var execQty: Fixed
    public var execValue: Fixed
    public var execFee: Fixed
    public var feeRate: Fixed
    public var feeCurrency: String
    public var isMaker: Bool
    public var leavesQty: Fixed
    public var closedSize: Fixed
    public var execPnl: Fixed
    public var markPrice: Fixed
    public var execTime: Int64
    public var seq: Int64
    public var marketUnit: String
}

/// A linear position (one-way mode, `positionIdx` 0).
public struct SimPosition: Sendable, Hashable {
    public var symbol: String
    /// Signed size: positive long, negative short.
    public var signedSize: Fixed = .zero
    public var avgPrice: Fixed = .zero
    public var cumRealisedPnl: Fixed = .zero
    public var curRealisedPnl: Fixed = .zero
    public var leverage: Int
    public var createdTime: Int64
    public var updatedTime: Int64
    /// -1 until the first trade (reference §1.8).
    public var seq: Int64 = -1

    public var size: Fixed { signedSize.magnitude }
    public var side: String { signedSize.isZero ? "" : (signedSize.isNegative ? "Sell" : "Buy") }
    public var positionValue: Fixed { size * avgPrice }

    public func unrealisedPnl(mark: Fixed) -> Fixed {
        signedSize.isZero ? .zero : (mark - avgPrice) * signedSize
    }

    public var initialMargin: Fixed { positionValue.divided(by: Fixed(leverage)) }
    /// A flat 0.5% maintenance rate (Bybit's first risk tier for majors).
    public var maintenanceMargin: Fixed { positionValue * Fixed(raw: 500_000) }
}

/// One coin of a unified account.
public struct CoinBalance: Sendable, Hashable {
    public var walletBalance: Fixed
    /// Held by open spot orders.
    public var locked: Fixed = .zero
    public var cumRealisedPnl: Fixed = .zero

    public init(walletBalance: Fixed) { self.walletBalance = walletBalance }
}
