import Bybit
import Foundation
import TradelogCore

/// The trading rules of one instrument, as `/v5/market/instruments-info` gives them.
///
/// Linear contracts step their quantity by `qtyStep` and check `minNotionalValue`; spot
/// pairs step by `basePrecision` (quote amounts by `quotePrecision`) and check `minOrderAmt`.
public struct InstrumentRules: Codable, Hashable, Sendable {
    public var category: RESTCategory
    public var symbol: String
    /// `Trading` when orders are accepted.
    public var status: String
    public var baseCoin: String
    public var quoteCoin: String
    public var tickSize: Decimal
    /// Linear: `qtyStep`. Spot: `basePrecision`.
    public var quantityStep: Decimal
    /// Spot: `quotePrecision` (the step of a quote-coin market buy). Nil for linear.
    public var quotePrecision: Decimal?
    public var minOrderQty: Decimal
    /// The largest limit order quantity (`maxOrderQty`, spot `maxLimitOrderQty` when given).
    public var maxOrderQty: Decimal?
    /// The largest market order quantity (`maxMktOrderQty` / `maxMarketOrderQty`).
    public var maxMarketOrderQty: Decimal?
    /// Linear: the smallest order value in the settle coin.
    public var minNotionalValue: Decimal?
    /// Spot: the smallest and largest order value in the quote coin.
    public var minOrderAmt: Decimal?
    public var maxOrderAmt: Decimal?

    public init(category: RESTCategory, symbol: String, status: String = "Trading", baseCoin: String, quoteCoin: String,
                tickSize: Decimal, quantityStep: Decimal, quotePrecision: Decimal? = nil, minOrderQty: Decimal,
                maxOrderQty: Decimal? = nil, maxMarketOrderQty: Decimal? = nil, minNotionalValue: Decimal? = nil,
                minOrderAmt: Decimal? = nil, maxOrderAmt: Decimal? = nil) {
        self.category = category
        self.symbol = symbol
        self.status = status
        self.baseCoin = baseCoin
        self.quoteCoin = quoteCoin
        self.tickSize = tickSize
        self.quantityStep = quantityStep
        self.quotePrecision = quotePrecision
        self.minOrderQty = minOrderQty
        self.maxOrderQty = maxOrderQty
        self.maxMarketOrderQty = maxMarketOrderQty
        self.minNotionalValue = minNotionalValue
        self.minOrderAmt = minOrderAmt
        self.maxOrderAmt = maxOrderAmt
    }

    /// Orders are accepted only in status `Trading`.
    public var isTradable: Bool { status == "Trading" }

    /// The rules of a REST instrument; nil when a required filter is missing.
    public init?(category: RESTCategory, _ i: RESTInstrument) {
        let lot = i.lotSizeFilter
        guard let step = category == .spot ? (lot.basePrecision ?? lot.qtyStep) : (lot.qtyStep ?? lot.basePrecision),
              step > 0 else { return nil }
        self.init(
            category: category, symbol: i.symbol, status: i.status, baseCoin: i.baseCoin, quoteCoin: i.quoteCoin,
            tickSize: i.priceFilter.tickSize, quantityStep: step,
            quotePrecision: category == .spot ? lot.quotePrecision : nil,
            minOrderQty: lot.minOrderQty ?? step,
            maxOrderQty: category == .spot ? (lot.maxLimitOrderQty ?? lot.maxOrderQty) : lot.maxOrderQty,
            maxMarketOrderQty: lot.maxMktOrderQty ?? lot.maxMarketOrderQty,
            minNotionalValue: category == .spot ? nil : lot.minNotionalValue,
            minOrderAmt: category == .spot ? lot.minOrderAmt : nil,
            maxOrderAmt: category == .spot ? lot.maxOrderAmt : nil)
    }
}

/// Rounding of decimals to an exchange step, always toward zero (never order more than asked).
public enum StepRounding {
    /// `value` rounded down to a whole multiple of `step` (`step` > 0).
    public static func floor(_ value: Decimal, step: Decimal) -> Decimal {
        guard step > 0 else { return value }
        var q = value / step
        var whole = Decimal()
        NSDecimalRound(&whole, &q, 0, .down)
        return whole * step
    }

    /// `value` rounded up to a whole multiple of `step`.
    public static func ceil(_ value: Decimal, step: Decimal) -> Decimal {
        guard step > 0 else { return value }
        var q = value / step
        var whole = Decimal()
        NSDecimalRound(&whole, &q, 0, .up)
        return whole * step
    }
}
