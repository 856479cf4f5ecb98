import Foundation

/// `/v5/market/time` result (same shape as v3 `/v3/public/time`).
public struct RESTServerTime: Codable, Sendable, Hashable {
    @RESTInt64 public var timeSecond: Int64
    @RESTOptionalInt64 public var timeNano: Int64?

    public init(timeSecond: Int64, timeNano: Int64?) {
        self.timeSecond = timeSecond
        self.timeNano = timeNano
    }

    /// Server time in ms, from `timeNano` when present (more precise), else `timeSecond`.
    public var milliseconds: Int64 {
        if let nano = timeNano { return nano / 1_000_000 }
        // Saturating: an absurd server time must not trap.
        let (ms, overflow) = timeSecond.multipliedReportingOverflow(by: 1000)
        return overflow ? (timeSecond < 0 ? Int64.min : Int64.max) : ms
    }
}

/// A page of a list endpoint: `list` plus `nextPageCursor` (`""` → nil).
public struct RESTPage<Item: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var category: String?
    public var list: [Item]
    public var nextPageCursor: String?

    public init(category: String?, list: [Item], nextPageCursor: String?) {
        self.category = category
        self.list = list
        self.nextPageCursor = nextPageCursor
    }

    enum CodingKeys: String, CodingKey { case category, list, nextPageCursor }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        category = try c.decodeIfPresent(String.self, forKey: .category)
        list = try c.decodeIfPresent([Item].self, forKey: .list) ?? []
        let cursor = try c.decodeIfPresent(String.self, forKey: .nextPageCursor)
        nextPageCursor = (cursor?.isEmpty ?? true) ? nil : cursor
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(category, forKey: .category)
        try c.encode(list, forKey: .list)
        try c.encode(nextPageCursor ?? "", forKey: .nextPageCursor)
    }
}

/// `priceFilter` of an instrument.
public struct RESTPriceFilter: Codable, Sendable, Hashable {
    @RESTDecimal public var tickSize: Decimal
    /// Linear/inverse/option only.
    @RESTOptionalDecimal public var minPrice: Decimal?
    @RESTOptionalDecimal public var maxPrice: Decimal?
}

/// `lotSizeFilter`: derivatives use `qtyStep`, spot uses `basePrecision` (reference §2.4).
public struct RESTLotSizeFilter: Codable, Sendable, Hashable {
    // Linear / inverse / option.
    @RESTOptionalDecimal public var qtyStep: Decimal?
    @RESTOptionalDecimal public var minOrderQty: Decimal?
    /// Limit/PostOnly maximum (derivatives); deprecated on spot.
    @RESTOptionalDecimal public var maxOrderQty: Decimal?
    @RESTOptionalDecimal public var maxMktOrderQty: Decimal?
    @RESTOptionalDecimal public var minNotionalValue: Decimal?
    @RESTOptionalDecimal public var postOnlyMaxOrderQty: Decimal?
    // Spot.
    @RESTOptionalDecimal public var basePrecision: Decimal?
    @RESTOptionalDecimal public var quotePrecision: Decimal?
    /// Minimum order value in quote coin.
    @RESTOptionalDecimal public var minOrderAmt: Decimal?
    @RESTOptionalDecimal public var maxOrderAmt: Decimal?
    @RESTOptionalDecimal public var maxLimitOrderQty: Decimal?
    @RESTOptionalDecimal public var maxMarketOrderQty: Decimal?
    @RESTOptionalDecimal public var postOnlyMaxLimitOrderSize: Decimal?

    /// The quantity step whatever the category: `qtyStep`, else spot's `basePrecision`.
    public var quantityStep: Decimal? { qtyStep ?? basePrecision }
}

/// `leverageFilter` (derivatives).
public struct RESTLeverageFilter: Codable, Sendable, Hashable {
    @RESTOptionalDecimal public var minLeverage: Decimal?
    @RESTOptionalDecimal public var maxLeverage: Decimal?
    @RESTOptionalDecimal public var leverageStep: Decimal?
}

/// One `/v5/market/instruments-info` entry (fields common to the categories).
public struct RESTInstrument: Codable, Sendable, Hashable {
    public var symbol: String
    public var status: String
    public var baseCoin: String
    public var quoteCoin: String
    public var settleCoin: String?
    /// `LinearPerpetual`, `LinearFutures`, `InversePerpetual`, … (absent on spot).
    public var contractType: String?
    @RESTOptionalInt64 public var launchTime: Int64?
    /// `"0"` for perpetuals.
    @RESTOptionalInt64 public var deliveryTime: Int64?
    @RESTOptionalInt64 public var priceScale: Int64?
    /// Minutes between fundings (derivatives), e.g. 480.
    @RESTOptionalInt64 public var fundingInterval: Int64?
    @RESTOptionalDecimal public var upperFundingRate: Decimal?
    @RESTOptionalDecimal public var lowerFundingRate: Decimal?
    public var priceFilter: RESTPriceFilter
    public var lotSizeFilter: RESTLotSizeFilter
    public var leverageFilter: RESTLeverageFilter?
}

/// One `/v5/market/tickers` entry. Spot REST tickers do carry bid1/ask1 (unlike WS).
public struct RESTTicker: Codable, Sendable, Hashable {
    public var symbol: String
    @RESTOptionalDecimal public var lastPrice: Decimal?
    @RESTOptionalDecimal public var bid1Price: Decimal?
    @RESTOptionalDecimal public var bid1Size: Decimal?
    @RESTOptionalDecimal public var ask1Price: Decimal?
    @RESTOptionalDecimal public var ask1Size: Decimal?
    @RESTOptionalDecimal public var prevPrice24h: Decimal?
    @RESTOptionalDecimal public var price24hPcnt: Decimal?
    @RESTOptionalDecimal public var highPrice24h: Decimal?
    @RESTOptionalDecimal public var lowPrice24h: Decimal?
    @RESTOptionalDecimal public var prevPrice1h: Decimal?
    @RESTOptionalDecimal public var volume24h: Decimal?
    @RESTOptionalDecimal public var turnover24h: Decimal?
    @RESTOptionalDecimal public var markPrice: Decimal?
    @RESTOptionalDecimal public var indexPrice: Decimal?
    @RESTOptionalDecimal public var usdIndexPrice: Decimal?
    @RESTOptionalDecimal public var openInterest: Decimal?
    @RESTOptionalDecimal public var openInterestValue: Decimal?
    /// `""` (nil) on dated futures.
    @RESTOptionalDecimal public var fundingRate: Decimal?
    @RESTOptionalInt64 public var nextFundingTime: Int64?
    @RESTOptionalInt64 public var fundingIntervalHour: Int64?
    @RESTOptionalDecimal public var fundingCap: Decimal?
    @RESTOptionalInt64 public var deliveryTime: Int64?
}

/// The `list` wrapper of tickers / funding history / recent trades (no cursor).
public struct RESTList<Item: Codable & Sendable & Hashable>: Codable, Sendable, Hashable {
    public var category: String?
    public var list: [Item]

    enum CodingKeys: String, CodingKey { case category, list }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        category = try c.decodeIfPresent(String.self, forKey: .category)
        list = try c.decodeIfPresent([Item].self, forKey: .list) ?? []
    }
}

/// One `[price, size]` book level.
public struct RESTBookLevel: Codable, Sendable, Hashable {
    public var price: Decimal
    public var size: Decimal

    public init(price: Decimal, size: Decimal) {
        self.price = price
        self.size = size
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        price = try c.decode(RESTDecimal.self).wrappedValue
        size = try c.decode(RESTDecimal.self).wrappedValue
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(RESTDecimal(wrappedValue: price))
        try c.encode(RESTDecimal(wrappedValue: size))
    }
}

/// `/v5/market/orderbook` result `{s, a, b, ts, u, seq, cts}`; bids descending, asks ascending.
public struct RESTOrderbook: Codable, Sendable, Hashable {
    public var symbol: String
    public var asks: [RESTBookLevel]
    public var bids: [RESTBookLevel]
    /// Snapshot time (ms).
    @RESTInt64 public var timestamp: Int64
    /// Update id; matches the 1000-level WS stream.
    @RESTInt64 public var updateId: Int64
    /// Cross sequence (absent in old captures).
    @RESTOptionalInt64 public var sequence: Int64?
    /// Matching-engine time (absent in old captures).
    @RESTOptionalInt64 public var matchingEngineTimestamp: Int64?

    enum CodingKeys: String, CodingKey {
        case symbol = "s", asks = "a", bids = "b", timestamp = "ts", updateId = "u"
        case sequence = "seq", matchingEngineTimestamp = "cts"
    }
}

/// One kline row `[start, open, high, low, close, volume, turnover]` (strings).
public struct RESTKline: Codable, Sendable, Hashable {
    public var start: Int64
    public var open: Decimal
    public var high: Decimal
    public var low: Decimal
    public var close: Decimal
    public var volume: Decimal
    public var turnover: Decimal

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        start = try c.decode(RESTInt64.self).wrappedValue
        open = try c.decode(RESTDecimal.self).wrappedValue
        high = try c.decode(RESTDecimal.self).wrappedValue
        low = try c.decode(RESTDecimal.self).wrappedValue
        close = try c.decode(RESTDecimal.self).wrappedValue
        volume = try c.decode(RESTDecimal.self).wrappedValue
        turnover = try c.decode(RESTDecimal.self).wrappedValue
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(RESTInt64(wrappedValue: start))
        for v in [open, high, low, close, volume, turnover] { try c.encode(RESTDecimal(wrappedValue: v)) }
    }
}

/// `/v5/market/kline` result; `list` is newest first, as Bybit sends it.
public struct RESTKlines: Codable, Sendable, Hashable {
    public var symbol: String?
    public var category: String?
    public var list: [RESTKline]
}

/// One settled funding rate of `/v5/market/funding/history`.
public struct RESTFundingRate: Codable, Sendable, Hashable {
    public var symbol: String
    @RESTDecimal public var fundingRate: Decimal
    @RESTInt64 public var fundingRateTimestamp: Int64
}

/// One `/v5/market/recent-trade` entry.
public struct RESTPublicTrade: Codable, Sendable, Hashable {
    public var execId: String
    public var symbol: String
    @RESTDecimal public var price: Decimal
    @RESTDecimal public var size: Decimal
    public var side: String
    @RESTInt64 public var time: Int64
    public var isBlockTrade: Bool?
}
