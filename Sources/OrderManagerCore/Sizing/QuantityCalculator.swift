import Bybit
import Foundation

/// An order quantity that passed the instrument's filters.
public struct SizedOrder: Codable, Hashable, Sendable {
    /// Base coin, or quote coin for a spot market buy.
    public var qty: Decimal
    /// `.quoteCoin` for spot market buys, else nil.
    public var marketUnit: RESTMarketUnit?
    /// Quote value: qty × price, or qty itself when in quote coin.
    public var notional: Decimal
    /// The price the size was computed with.
    public var price: Decimal

    public init(qty: Decimal, marketUnit: RESTMarketUnit?, notional: Decimal, price: Decimal) {
        self.qty = qty
        self.marketUnit = marketUnit
        self.notional = notional
        self.price = price
    }
}

/// Why an amount cannot become an order, with the figures that decided it.
public struct SizingRefusal: Error, Codable, Hashable, Sendable, CustomStringConvertible {
    /// "below_min_qty" | "below_min_notional" | "below_min_order_amt" | "above_max_qty" |
    /// "above_max_order_amt" | "zero_quantity" | "invalid_price".
    public var code: String
    /// A sentence with the figures.
    public var detail: String
    /// Canonical decimal text of each figure (e.g. qty, min_qty, step, notional, min_notional).
    public var figures: [String: String]

    public init(code: String, detail: String, figures: [String: String]) {
        self.code = code
        self.detail = detail
        self.figures = figures
    }

    public var description: String { "\(code): \(detail)" }
}

/// USDT amount → exchange quantity, rounded down and checked against the instrument filters.
public enum QuantityCalculator {
    /// amount (quote coin, USDT) ÷ price, rounded DOWN to quantityStep (linear qtyStep, spot basePrecision);
    /// linear: minOrderQty, max (Market: maxMarketOrderQty ?? maxOrderQty; Limit: maxOrderQty), notional ≥ minNotionalValue;
    /// spot Market Buy: qty = amount rounded down to quotePrecision (if nil, don't round), marketUnit .quoteCoin,
    ///   checks minOrderAmt ≤ qty ≤ maxOrderAmt;
    /// spot otherwise: base qty, minOrderQty, max qty, notional ≥ minOrderAmt, ≤ maxOrderAmt.
    ///
    /// Checks run in that order; the first failure is returned. A price ≤ 0 is "invalid_price".
    public static func size(amount: Decimal, side: RESTSide, orderType: RESTOrderType, price: Decimal,
                            rules: InstrumentRules) -> Result<SizedOrder, SizingRefusal> {
        guard price > 0 else {
            return .failure(refusal("invalid_price", "reference price \(price) is not positive",
                                    ["amount": amount, "price": price]))
        }
        if rules.category == .spot, orderType == .market, side == .buy {
            return spotMarketBuy(amount: amount, price: price, rules: rules)
        }
        return baseQuantity(amount: amount, orderType: orderType, price: price, rules: rules)
    }

    /// Spot market buys spend a quote amount (reference §2.6): only the quote filters apply.
    private static func spotMarketBuy(amount: Decimal, price: Decimal, rules: InstrumentRules)
        -> Result<SizedOrder, SizingRefusal> {
        let qty = rules.quotePrecision.map { StepRounding.floor(amount, step: $0) } ?? amount
        var figures: [String: Decimal] = ["amount": amount, "qty": qty, "price": price]
        figures["step"] = rules.quotePrecision
        guard qty > 0 else {
            return .failure(refusal("zero_quantity", "amount \(amount) rounds to quote quantity \(qty)", figures))
        }
        if let minAmt = rules.minOrderAmt, qty < minAmt {
            figures["min_order_amt"] = minAmt
            return .failure(refusal("below_min_order_amt", "quote quantity \(qty) is below minOrderAmt \(minAmt)", figures))
        }
        if let maxAmt = rules.maxOrderAmt, qty > maxAmt {
            figures["max_order_amt"] = maxAmt
            return .failure(refusal("above_max_order_amt", "quote quantity \(qty) is above maxOrderAmt \(maxAmt)", figures))
        }
        return .success(SizedOrder(qty: qty, marketUnit: .quoteCoin, notional: qty, price: price))
    }

    /// Linear orders, and spot orders other than market buys: a base quantity.
    private static func baseQuantity(amount: Decimal, orderType: RESTOrderType, price: Decimal, rules: InstrumentRules)
        -> Result<SizedOrder, SizingRefusal> {
        let step = rules.quantityStep
        let qty = StepRounding.floor(amount / price, step: step)
        let notional = qty * price
        var figures: [String: Decimal] = ["amount": amount, "price": price, "qty": qty, "step": step, "notional": notional]
        guard qty > 0 else {
            return .failure(refusal("zero_quantity", "amount \(amount) at \(price) rounds to 0 with step \(step)", figures))
        }
        if qty < rules.minOrderQty {
            figures["min_qty"] = rules.minOrderQty
            return .failure(refusal("below_min_qty", "qty \(qty) is below minOrderQty \(rules.minOrderQty)", figures))
        }
        let maxQty = orderType == .market ? (rules.maxMarketOrderQty ?? rules.maxOrderQty) : rules.maxOrderQty
        if let maxQty, qty > maxQty {
            figures["max_qty"] = maxQty
            return .failure(refusal("above_max_qty", "qty \(qty) is above the \(orderType.rawValue) maximum \(maxQty)", figures))
        }
        if rules.category == .spot {
            if let minAmt = rules.minOrderAmt, notional < minAmt {
                figures["min_order_amt"] = minAmt
                return .failure(refusal("below_min_order_amt", "notional \(notional) is below minOrderAmt \(minAmt)", figures))
            }
            if let maxAmt = rules.maxOrderAmt, notional > maxAmt {
                figures["max_order_amt"] = maxAmt
                return .failure(refusal("above_max_order_amt", "notional \(notional) is above maxOrderAmt \(maxAmt)", figures))
            }
        } else if let minNotional = rules.minNotionalValue, notional < minNotional {
            figures["min_notional"] = minNotional
            return .failure(refusal("below_min_notional", "notional \(notional) is below minNotionalValue \(minNotional)", figures))
        }
        return .success(SizedOrder(qty: qty, marketUnit: nil, notional: notional, price: price))
    }

    private static func refusal(_ code: String, _ detail: String, _ figures: [String: Decimal]) -> SizingRefusal {
        SizingRefusal(code: code, detail: detail, figures: figures.mapValues { "\($0)" })
    }
}
