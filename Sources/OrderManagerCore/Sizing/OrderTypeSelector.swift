import Bybit
import Foundation

/// The documented thresholds of the order type selector (docs/order-policy.md).
public struct OrderTypeThresholds: Codable, Hashable, Sendable {
    /// Signal confidence at or above this → Market ("high_confidence").
    public var marketConfidence: Decimal
    /// Snapshot volatility at or above this → Market ("high_volatility").
    public var marketVolatility: Decimal
    /// Spread in basis points at or below this → Market ("tight_spread").
    public var tightSpreadBps: Decimal

    // Exact decimals: a float literal would pass through Double (0.8 ≠ 0.8000000000000000512).
    public init(marketConfidence: Decimal = Decimal(sign: .plus, exponent: -1, significand: 8),
                marketVolatility: Decimal = Decimal(sign: .plus, exponent: -2, significand: 3),
                tightSpreadBps: Decimal = 2) {
        self.marketConfidence = marketConfidence
        self.marketVolatility = marketVolatility
        self.tightSpreadBps = tightSpreadBps
    }
}

/// Market or limit, with the time in force, the limit price and the rule that decided.
public struct OrderTypeDecision: Codable, Hashable, Sendable {
    public var orderType: RESTOrderType
    /// Market → `.ioc`, Limit → `.postOnly`.
    public var timeInForce: RESTTimeInForce
    /// Limit: best bid for a buy, best ask for a sell (book, else ticker). Nil for Market.
    public var price: Decimal?
    /// "no_quote" | "high_confidence" | "high_volatility" | "tight_spread" | "passive_limit".
    public var reason: String

    public init(orderType: RESTOrderType, timeInForce: RESTTimeInForce, price: Decimal?, reason: String) {
        self.orderType = orderType
        self.timeInForce = timeInForce
        self.price = price
        self.reason = reason
    }

    /// A market order (always IOC on Bybit) decided by `reason`.
    public static func market(_ reason: String) -> OrderTypeDecision {
        OrderTypeDecision(orderType: .market, timeInForce: .ioc, price: nil, reason: reason)
    }
}

/// Chooses Market or a PostOnly Limit at the near touch.
public enum OrderTypeSelector {
    /// Rules in this order: no best bid/ask on the needed side (book nor ticker) → Market "no_quote";
    /// confidence ≥ marketConfidence → Market; volatility ≥ marketVolatility → Market;
    /// spreadBps ≤ tightSpreadBps → Market; else Limit PostOnly at the near touch.
    ///
    /// A nil volatility or spread skips its rule. The limit price is rounded to `tickSize`
    /// away from the touch's far side (down for a buy, up for a sell), so it never crosses.
    public static func select(side: RESTSide, confidence: Decimal, volatility: Decimal?, spreadBps: Decimal?,
                              book: BidAsk?, ticker: BidAsk?, tickSize: Decimal,
                              thresholds: OrderTypeThresholds) -> OrderTypeDecision {
        guard let touch = book?.nearTouch(side) ?? ticker?.nearTouch(side) else { return .market("no_quote") }
        if confidence >= thresholds.marketConfidence { return .market("high_confidence") }
        if let v = volatility, v >= thresholds.marketVolatility { return .market("high_volatility") }
        if let s = spreadBps, s <= thresholds.tightSpreadBps { return .market("tight_spread") }
        let price = side == .buy ? StepRounding.floor(touch, step: tickSize) : StepRounding.ceil(touch, step: tickSize)
        return OrderTypeDecision(orderType: .limit, timeInForce: .postOnly, price: price, reason: "passive_limit")
    }
}
