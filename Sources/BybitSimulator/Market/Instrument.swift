/// The two markets the simulator serves (Bybit's REST `category`).
public enum SimCategory: String, Sendable, Hashable, CaseIterable, Comparable {
    case spot
    case linear

    public static func < (a: SimCategory, b: SimCategory) -> Bool { a.rawValue < b.rawValue }
}

/// A market: category plus symbol (`linear/BTCUSDT`).
public struct MarketKey: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var category: SimCategory
    public var symbol: String

    public init(_ category: SimCategory, _ symbol: String) {
        self.category = category
        self.symbol = symbol
    }

    public static func < (a: MarketKey, b: MarketKey) -> Bool {
        (a.category, a.symbol) < (b.category, b.symbol)
    }

    public var description: String { "\(category.rawValue)/\(symbol)" }
}

/// One instrument and its filters (reference §2.4 "Instrument filters"). For spot `qtyStep`
/// is `basePrecision` and `minNotional` is `minOrderAmt`; for linear they are `qtyStep` and
/// `minNotionalValue`.
public struct SimInstrument: Sendable, Hashable {
    public var category: SimCategory
    public var symbol: String
    public var baseCoin: String
    public var quoteCoin: String
    public var tickSize: Fixed
    public var qtyStep: Fixed
    public var minOrderQty: Fixed
    public var maxOrderQty: Fixed
    public var maxMarketOrderQty: Fixed
    public var minNotional: Fixed
    /// Spot only: the quote-amount step of market buys by value.
    public var quotePrecision: Fixed
    /// Where the generated market starts.
    public var initialPrice: Fixed
    /// Decimals of published prices (`priceScale`; BTCUSDT linear: 2 with tick 0.10).
    public var priceScale: Int

    public init(
        category: SimCategory, symbol: String, baseCoin: String, quoteCoin: String,
        tickSize: Fixed, qtyStep: Fixed, minOrderQty: Fixed, maxOrderQty: Fixed,
        maxMarketOrderQty: Fixed, minNotional: Fixed, quotePrecision: Fixed, initialPrice: Fixed,
        priceScale: Int? = nil
    ) {
        self.category = category
        self.symbol = symbol
        self.baseCoin = baseCoin
        self.quoteCoin = quoteCoin
        self.tickSize = tickSize
        self.qtyStep = qtyStep
        self.minOrderQty = minOrderQty
        self.maxOrderQty = maxOrderQty
        self.maxMarketOrderQty = maxMarketOrderQty
        self.minNotional = minNotional
        self.quotePrecision = quotePrecision
        self.initialPrice = initialPrice
        self.priceScale = priceScale ?? tickSize.decimalPlaces
    }

    public var key: MarketKey { MarketKey(category, symbol) }

    /// Linear pads prices to the tick's decimals, spot trims (as real frames do).
    public var priceStyle: NumberStyle { category == .linear ? .places(priceScale) : .trimmed }
    public var qtyStyle: NumberStyle { category == .linear ? .places(qtyStep.decimalPlaces) : .trimmed }

    /// Sensible filters for a symbol: known majors get Bybit-like values, anything else a
    /// generic small-cap profile. `XYZUSDT` splits into base `XYZ` and quote `USDT`.
    public static func defaults(symbol: String, category: SimCategory) -> SimInstrument {
        let quote = ["USDT", "USDC", "BTC"].first { symbol.hasSuffix($0) && symbol.count > $0.count } ?? "USDT"
        let base = String(symbol.dropLast(quote.count))
        func f(_ s: String) -> Fixed { Fixed(s)! }
        // (price, linear tick, linear step, spot tick, spot basePrecision, linear priceScale)
        let profile: (String, String, String, String, String, Int)
        switch base {
        case "BTC": profile = ("65000", "0.10", "0.001", "0.1", "0.000001", 2)
        case "ETH": profile = ("3500", "0.01", "0.01", "0.01", "0.00001", 2)
        case "SOL": profile = ("150", "0.010", "0.1", "0.01", "0.001", 3)
        case "XRP": profile = ("0.5", "0.0001", "1", "0.0001", "0.01", 4)
        default: profile = ("1", "0.0001", "1", "0.0001", "0.01", 4)
        }
        let linear = category == .linear
        let step = f(linear ? profile.2 : profile.4)
        return SimInstrument(
            category: category, symbol: symbol, baseCoin: base, quoteCoin: quote,
            tickSize: f(linear ? profile.1 : profile.3), qtyStep: step, minOrderQty: step,
            maxOrderQty: linear ? step * 1_190_000 : step * 83_000_000,
            maxMarketOrderQty: linear ? step * 500_000 : step * 41_500_000,
            minNotional: Fixed(5), quotePrecision: f("0.0000001"), initialPrice: f(profile.0),
            priceScale: linear ? profile.5 : nil)
    }
}
