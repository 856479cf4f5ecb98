import Foundation
import TradelogCore

/// Public trades of one `publicTrade.{S}` frame (stream `market.{ch}.trade-{S}`).
public struct MarketTrades: EventPayload, Hashable {
    public static let eventType = "MarketTrades"

    /// One fill as Bybit reports it (taker side).
    public struct Trade: Codable, Hashable, Sendable {
        /// Trade id: a UUID on linear/inverse, a numeric string on spot.
        public var id: String
        /// Fill time, ms.
        public var time: Int64
        @DecimalString public var price: Decimal
        @DecimalString public var size: Decimal
        /// Taker side, `Buy` or `Sell`.
        public var side: String
        /// `PlusTick`, `ZeroPlusTick`, ...; spot has none.
        public var tickDirection: String?
        public var blockTrade: Bool?
        /// Cross sequence (frames from 2025-08).
        public var seq: Int64?
        /// Retail price improvement order.
        public var rpi: Bool?
    }

    public var symbol: String
    /// `spot`, `linear` or `inverse`.
    public var category: String
    /// Frame time, ms.
    public var ts: Int64?
    public var trades: [Trade]
}

/// One book level, stored as `["price","size"]`.
public struct BookLevel: Codable, Hashable, Sendable {
    public var price: Decimal
    /// Zero in a delta means the level was removed.
    public var size: Decimal

    public init(price: Decimal, size: Decimal) {
        self.price = price
        self.size = size
    }

    public init(from decoder: Decoder) throws {
        var c = try decoder.unkeyedContainer()
        let p = try c.decode(String.self)
        let s = try c.decode(String.self)
        guard let price = DecimalText.decimal(p), let size = DecimalText.decimal(s) else {
            throw DecodingError.dataCorruptedError(in: c, debugDescription: "book level is not [decimal, decimal]")
        }
        self.price = price
        self.size = size
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.unkeyedContainer()
        try c.encode(DecimalText.text(price))
        try c.encode(DecimalText.text(size))
    }
}

/// One `orderbook.{depth}.{S}` message (stream `market.{ch}.orderbook-{S}`), levels as sent.
public struct OrderBookUpdated: EventPayload, Hashable {
    public static let eventType = "OrderBookUpdated"

    public var symbol: String
    public var category: String
    public var depth: Int
    /// `snapshot` or `delta`, as in the frame.
    public var type: String
    /// Update id; +1 per message within a session.
    public var u: Int64
    /// Cross sequence.
    public var seq: Int64?
    /// Frame time, ms.
    public var ts: Int64?
    /// Matching-engine time, ms (frames from Dec 2023).
    public var cts: Int64?
    /// Bids as sent (best first in snapshots).
    public var bids: [BookLevel]
    public var asks: [BookLevel]
    /// False while the book is invalid (after a gap, until the next snapshot).
    public var synced: Bool

    public var isSnapshot: Bool { type == "snapshot" }
}

/// The book of a topic lost continuity; it stays unsynced until a snapshot arrives.
public struct OrderBookInvalidated: EventPayload, Hashable {
    public static let eventType = "OrderBookInvalidated"

    public var symbol: String
    public var category: String
    public var depth: Int
    /// The `u` that would have continued the book (nil before any snapshot).
    public var expectedU: Int64?
    public var receivedU: Int64
    /// `gap`, `step_back` or `delta_before_snapshot`.
    public var reason: String
    public var ts: Int64?
}

/// The full merged ticker after one `tickers.{S}` message (stream `market.{ch}.ticker-{S}`).
/// Spot tickers carry only the 24 h fields and `usdIndexPrice`.
public struct TickerUpdated: EventPayload, Hashable {
    public static let eventType = "TickerUpdated"

    public var symbol: String
    public var category: String
    public var ts: Int64?
    /// Cross sequence.
    public var cs: Int64?
    public var tickDirection: String?
    @OptionalDecimalString public var lastPrice: Decimal?
    @OptionalDecimalString public var price24hPcnt: Decimal?
    @OptionalDecimalString public var prevPrice24h: Decimal?
    @OptionalDecimalString public var highPrice24h: Decimal?
    @OptionalDecimalString public var lowPrice24h: Decimal?
    @OptionalDecimalString public var prevPrice1h: Decimal?
    @OptionalDecimalString public var markPrice: Decimal?
    @OptionalDecimalString public var indexPrice: Decimal?
    @OptionalDecimalString public var openInterest: Decimal?
    @OptionalDecimalString public var openInterestValue: Decimal?
    @OptionalDecimalString public var turnover24h: Decimal?
    @OptionalDecimalString public var volume24h: Decimal?
    @OptionalDecimalString public var fundingRate: Decimal?
    /// Ms.
    public var nextFundingTime: Int64?
    public var fundingIntervalHour: Int?
    @OptionalDecimalString public var fundingCap: Decimal?
    @OptionalDecimalString public var bid1Price: Decimal?
    @OptionalDecimalString public var bid1Size: Decimal?
    @OptionalDecimalString public var ask1Price: Decimal?
    @OptionalDecimalString public var ask1Size: Decimal?
    /// Dated futures: ISO 8601 text as sent.
    public var deliveryTime: String?
    @OptionalDecimalString public var basisRate: Decimal?
    @OptionalDecimalString public var basis: Decimal?
    @OptionalDecimalString public var basisRateYear: Decimal?
    @OptionalDecimalString public var deliveryFeeRate: Decimal?
    @OptionalDecimalString public var predictedDeliveryPrice: Decimal?
    @OptionalDecimalString public var preOpenPrice: Decimal?
    @OptionalDecimalString public var preQty: Decimal?
    public var curPreListingPhase: String?
    /// Spot only.
    @OptionalDecimalString public var usdIndexPrice: Decimal?
}

/// Funding rate or next funding time changed (derived from linear/inverse tickers; there
/// is no funding topic). Stream `market.{ch}.funding-{S}`.
public struct FundingRateUpdated: EventPayload, Hashable {
    public static let eventType = "FundingRateUpdated"

    public var symbol: String
    public var category: String
    @DecimalString public var fundingRate: Decimal
    /// Ms.
    public var nextFundingTime: Int64?
    public var ts: Int64?
}

/// One candle as Bybit pushes it (`kline.{interval}.{S}`).
public struct Kline: Codable, Hashable, Sendable {
    public var symbol: String
    public var category: String
    /// `1`, `5`, ..., `D`, `W`, `M`.
    public var interval: String
    /// Open time, ms.
    public var start: Int64
    /// Last ms of the candle.
    public var end: Int64
    @DecimalString public var open: Decimal
    @DecimalString public var close: Decimal
    @DecimalString public var high: Decimal
    @DecimalString public var low: Decimal
    @DecimalString public var volume: Decimal
    @DecimalString public var turnover: Decimal
    /// True once the candle is closed.
    public var confirm: Bool
    /// Push time, ms.
    public var timestamp: Int64
}

/// A candle still forming (stream `market.{ch}.kline-{S}.{interval}`).
public struct KlineUpdated: EventPayload, Hashable {
    public static let eventType = "KlineUpdated"
    public var kline: Kline

    public init(kline: Kline) { self.kline = kline }
    public init(from decoder: Decoder) throws { kline = try Kline(from: decoder) }
    public func encode(to encoder: Encoder) throws { try kline.encode(to: encoder) }
}

/// A closed candle (`confirm: true`).
public struct KlineClosed: EventPayload, Hashable {
    public static let eventType = "KlineClosed"
    public var kline: Kline

    public init(kline: Kline) { self.kline = kline }
    public init(from decoder: Decoder) throws { kline = try Kline(from: decoder) }
    public func encode(to encoder: Encoder) throws { try kline.encode(to: encoder) }
}

/// Liquidations of one `allLiquidation.{S}` frame (or one deprecated `liquidation.{S}`).
/// Stream `market.{ch}.liquidation-{S}`.
public struct LiquidationsReported: EventPayload, Hashable {
    public static let eventType = "LiquidationsReported"

    /// One liquidation; side `Buy` means a long position was liquidated.
    public struct Liquidation: Codable, Hashable, Sendable {
        /// Ms.
        public var time: Int64
        public var side: String
        @DecimalString public var size: Decimal
        /// Bankruptcy price.
        @DecimalString public var price: Decimal
    }

    public var symbol: String
    public var category: String
    public var ts: Int64?
    /// True when it came from the deprecated `liquidation.{S}` topic.
    public var legacy: Bool?
    public var liquidations: [Liquidation]
}

/// A frame that could not be decoded (stream `gateway.unparsed-{ch}`), kept so nothing is
/// silently lost.
public struct UnparsedFrame: EventPayload, Hashable {
    public static let eventType = "UnparsedFrame"

    public var reason: String
    /// The frame as text, cut at 64 KiB (U+0000 and bytes that are not UTF-8 as U+FFFD).
    public var text: String
    public var byteCount: Int
    public var truncated: Bool
    /// The kept bytes exactly, when ``text`` could not hold them (U+0000, invalid UTF-8).
    public var base64: String?
}

/// A data frame for a topic the decoder does not handle (stream `gateway.unparsed-{ch}`).
public struct UnknownTopicFrame: EventPayload, Hashable {
    public static let eventType = "UnknownTopicFrame"

    public var topic: String
    public var text: String
    public var byteCount: Int
    public var truncated: Bool
    /// The kept bytes exactly, when ``text`` could not hold them (U+0000, invalid UTF-8).
    public var base64: String?
}
