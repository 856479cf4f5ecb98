import Foundation
import TradelogCore

/// A trading signal in the shape of seed 002 (`model-service.trading_signals`).
///
/// JSON keys are the seed's snake_case names. Numbers are `Decimal` taken from the JSON
/// number's exact text and written back as JSON numbers in canonical form (`500.0` → `500`,
/// `0.90` → `0.9`: the same values, no binary floating point on the way).
///
/// `time` is the parsed `timestamp` in microseconds. It is **not** encoded: the encoded
/// form is exactly the seed shape (`timestamp` keeps the original ISO 8601 text), and
/// decoding parses `timestamp` again, so `time` can never disagree with it.
///
/// `nil` optionals encode as in the seed: `model_version`, `market_data_snapshot`,
/// `metadata` and `trace_id` as `null`; `is_warmup` is always written.
public struct TradingSignal: Codable, Hashable, Sendable {
    /// `buy` or `sell`, exactly (lower case).
    public enum SignalType: String, Codable, Hashable, Sendable, CaseIterable {
        case buy
        case sell
    }

    /// Lower-case UUID text (`8-4-4-4-12`).
    public var signalID: String
    public var signalType: SignalType
    /// Instrument symbol, `[A-Z0-9]{1,32}` (e.g. `ETHUSDT`).
    public var asset: String
    /// Quote-currency amount (USDT), > 0.
    public var amount: Decimal
    /// Model confidence in [0, 1].
    public var confidence: Decimal
    /// The `timestamp` text exactly as received (ISO 8601).
    public private(set) var timestamp: String
    /// `timestamp` parsed, in microseconds since the epoch (UTC).
    public private(set) var time: Timestamp
    public var strategyID: String
    /// nil for warm-up signals (seed: `null` in warm-up mode).
    public var modelVersion: String?
    public var isWarmup: Bool
    public var marketDataSnapshot: MarketDataSnapshot?
    /// A JSON object (reasoning, risk_score, ...), or nil.
    public var metadata: JSONValue?
    public var traceID: String?

    /// A signal produced inside tradelog: `timestamp` is `time` in ISO 8601 UTC with
    /// microseconds. Check it with ``validate()`` before publishing.
    public init(
        signalID: UUID, signalType: SignalType, asset: String, amount: Decimal, confidence: Decimal,
        time: Timestamp, strategyID: String, modelVersion: String? = nil, isWarmup: Bool = false,
        marketDataSnapshot: MarketDataSnapshot? = nil, metadata: JSONValue? = nil, traceID: String? = nil
    ) {
        self.init(
            signalID: signalID.lowercasedString, signalType: signalType, asset: asset, amount: amount,
            confidence: confidence, timestamp: time.description, time: time, strategyID: strategyID,
            modelVersion: modelVersion, isWarmup: isWarmup, marketDataSnapshot: marketDataSnapshot,
            metadata: metadata, traceID: traceID)
    }

    /// Every stored field as given; `time` must be `timestamp` parsed (the parser's path).
    init(
        signalID: String, signalType: SignalType, asset: String, amount: Decimal, confidence: Decimal,
        timestamp: String, time: Timestamp, strategyID: String, modelVersion: String?, isWarmup: Bool,
        marketDataSnapshot: MarketDataSnapshot?, metadata: JSONValue?, traceID: String?
    ) {
        self.signalID = signalID
        self.signalType = signalType
        self.asset = asset
        self.amount = amount
        self.confidence = confidence
        self.timestamp = timestamp
        self.time = time
        self.strategyID = strategyID
        self.modelVersion = modelVersion
        self.isWarmup = isWarmup
        self.marketDataSnapshot = marketDataSnapshot
        self.metadata = metadata
        self.traceID = traceID
    }

    /// The signal id as a `UUID` (nil only if `signalID` was set to something else by hand).
    public var signalUUID: UUID? { SignalUUID.parse(signalID).map { UUID(uuidString: $0)! } }

    /// Replaces `timestamp` (and `time`); false, changing nothing, when `text` is not a
    /// timestamp ``ISOTimestamp`` accepts.
    @discardableResult
    public mutating func setTimestamp(_ text: String) -> Bool {
        guard let parsed = ISOTimestamp.parse(text) else { return false }
        timestamp = text
        time = parsed
        return true
    }

    /// The first rule this signal breaks, in ``SignalParser``'s order, or nil when it is a
    /// signal the parser would accept (for signals built in code before they are published).
    public func validate() -> SignalRejection? {
        SignalRules.firstProblem(in: self)
    }

    enum CodingKeys: String, CodingKey {
        case signalID = "signal_id"
        case signalType = "signal_type"
        case asset
        case amount
        case confidence
        case timestamp
        case strategyID = "strategy_id"
        case modelVersion = "model_version"
        case isWarmup = "is_warmup"
        case marketDataSnapshot = "market_data_snapshot"
        case metadata
        case traceID = "trace_id"
    }

    /// Decodes the seed shape as this type encodes it (the log's copy). `signal_id` must be a
    /// UUID and `timestamp` must parse; the value rules are the parser's job, not repeated.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let rawID = try c.decode(String.self, forKey: .signalID)
        guard let id = SignalUUID.parse(rawID) else {
            throw DecodingError.dataCorruptedError(forKey: .signalID, in: c, debugDescription: "signal_id is not a UUID")
        }
        let text = try c.decode(String.self, forKey: .timestamp)
        guard let parsed = ISOTimestamp.parse(text) else {
            throw DecodingError.dataCorruptedError(forKey: .timestamp, in: c, debugDescription: "timestamp is not ISO 8601")
        }
        self.init(
            signalID: id,
            signalType: try c.decode(SignalType.self, forKey: .signalType),
            asset: try c.decode(String.self, forKey: .asset),
            amount: try c.decode(Decimal.self, forKey: .amount),
            confidence: try c.decode(Decimal.self, forKey: .confidence),
            timestamp: text, time: parsed,
            strategyID: try c.decode(String.self, forKey: .strategyID),
            modelVersion: try c.decodeIfPresent(String.self, forKey: .modelVersion),
            isWarmup: try c.decodeIfPresent(Bool.self, forKey: .isWarmup) ?? false,
            marketDataSnapshot: try c.decodeIfPresent(MarketDataSnapshot.self, forKey: .marketDataSnapshot),
            metadata: try c.decodeIfPresent(JSONValue.self, forKey: .metadata),
            traceID: try c.decodeIfPresent(String.self, forKey: .traceID))
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(signalID, forKey: .signalID)
        try c.encode(signalType, forKey: .signalType)
        try c.encode(asset, forKey: .asset)
        try c.encode(amount, forKey: .amount)
        try c.encode(confidence, forKey: .confidence)
        try c.encode(timestamp, forKey: .timestamp)
        try c.encode(strategyID, forKey: .strategyID)
        try c.encode(modelVersion, forKey: .modelVersion)  // Optional: nil is written as null
        try c.encode(isWarmup, forKey: .isWarmup)
        try c.encode(marketDataSnapshot, forKey: .marketDataSnapshot)
        try c.encode(metadata, forKey: .metadata)
        try c.encode(traceID, forKey: .traceID)
    }
}

/// The seed's `market_data_snapshot`: every number optional (absent or `null` → nil, left
/// out when encoding), but a number when present; `orderbook_depth` and
/// `technical_indicators` are an object or `null` (written as `null` when nil).
public struct MarketDataSnapshot: Codable, Hashable, Sendable {
    /// > 0 when present.
    public var price: Decimal?
    public var spread: Decimal?
    public var volume24h: Decimal?
    public var volatility: Decimal?
    public var orderbookDepth: OrderbookDepth?
    /// Any JSON object (RSI, MACD, ...), kept as given.
    public var technicalIndicators: JSONValue?

    public init(
        price: Decimal? = nil, spread: Decimal? = nil, volume24h: Decimal? = nil, volatility: Decimal? = nil,
        orderbookDepth: OrderbookDepth? = nil, technicalIndicators: JSONValue? = nil
    ) {
        self.price = price
        self.spread = spread
        self.volume24h = volume24h
        self.volatility = volatility
        self.orderbookDepth = orderbookDepth
        self.technicalIndicators = technicalIndicators
    }

    enum CodingKeys: String, CodingKey {
        case price
        case spread
        case volume24h = "volume_24h"
        case volatility
        case orderbookDepth = "orderbook_depth"
        case technicalIndicators = "technical_indicators"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        price = try c.decodeIfPresent(Decimal.self, forKey: .price)
        spread = try c.decodeIfPresent(Decimal.self, forKey: .spread)
        volume24h = try c.decodeIfPresent(Decimal.self, forKey: .volume24h)
        volatility = try c.decodeIfPresent(Decimal.self, forKey: .volatility)
        orderbookDepth = try c.decodeIfPresent(OrderbookDepth.self, forKey: .orderbookDepth)
        technicalIndicators = try c.decodeIfPresent(JSONValue.self, forKey: .technicalIndicators)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(price, forKey: .price)
        try c.encodeIfPresent(spread, forKey: .spread)
        try c.encodeIfPresent(volume24h, forKey: .volume24h)
        try c.encodeIfPresent(volatility, forKey: .volatility)
        try c.encode(orderbookDepth, forKey: .orderbookDepth)
        try c.encode(technicalIndicators, forKey: .technicalIndicators)
    }
}

/// The seed's `orderbook_depth`: `bid_depth` and `ask_depth`, each optional but a number.
public struct OrderbookDepth: Codable, Hashable, Sendable {
    public var bidDepth: Decimal?
    public var askDepth: Decimal?

    public init(bidDepth: Decimal? = nil, askDepth: Decimal? = nil) {
        self.bidDepth = bidDepth
        self.askDepth = askDepth
    }

    enum CodingKeys: String, CodingKey {
        case bidDepth = "bid_depth"
        case askDepth = "ask_depth"
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        bidDepth = try c.decodeIfPresent(Decimal.self, forKey: .bidDepth)
        askDepth = try c.decodeIfPresent(Decimal.self, forKey: .askDepth)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(bidDepth, forKey: .bidDepth)
        try c.encodeIfPresent(askDepth, forKey: .askDepth)
    }
}
