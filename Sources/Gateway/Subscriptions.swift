import Bybit
import Foundation
import TradelogCore

/// A topic on one channel, e.g. `linear` + `orderbook.50.BTCUSDT`. Its id (`linear:orderbook.50.BTCUSDT`)
/// is what `DELETE /api/v1/subscriptions/{id}` takes.
public struct SubscriptionKey: Hashable, Sendable, Comparable, Codable {
    public var channel: BybitChannel
    public var topic: String

    public init(channel: BybitChannel, topic: String) {
        self.channel = channel
        self.topic = topic
    }

    public var id: String { "\(channel.rawValue):\(topic)" }

    public init?(id: String) {
        guard let colon = id.firstIndex(of: ":"),
              let channel = BybitChannel(rawValue: String(id[..<colon])) else { return nil }
        let topic = String(id[id.index(after: colon)...])
        guard !topic.isEmpty else { return nil }
        self.init(channel: channel, topic: topic)
    }

    public static func < (a: SubscriptionKey, b: SubscriptionKey) -> Bool { a.id < b.id }
}

/// `SubscriptionAdded`: a topic the gateway must carry, from the API or the config.
public struct SubscriptionAdded: EventPayload, Equatable {
    public static let eventType = "SubscriptionAdded"
    public var channel: BybitChannel
    public var topic: String
    /// The seed's `channel_type` (trades, ticker, orderbook, kline, funding, liquidation,
    /// order, execution, balance, position) when the request used it.
    public var channelType: String?
    public var symbol: String?
    /// Who asked (`requesting_service` in the API, `config` for the configuration).
    public var requestedBy: String
    public var via: String

    public init(channel: BybitChannel, topic: String, channelType: String?, symbol: String?, requestedBy: String, via: String) {
        self.channel = channel
        self.topic = topic
        self.channelType = channelType
        self.symbol = symbol
        self.requestedBy = requestedBy
        self.via = via
    }
}

/// `SubscriptionRemoved`.
public struct SubscriptionRemoved: EventPayload, Equatable {
    public static let eventType = "SubscriptionRemoved"
    public var channel: BybitChannel
    public var topic: String
    public var requestedBy: String

    public init(channel: BybitChannel, topic: String, requestedBy: String) {
        self.channel = channel
        self.topic = topic
        self.requestedBy = requestedBy
    }
}

/// The subscriptions in force: a fold over the gateway's subscription stream, in the order
/// they were first added.
public struct SubscriptionSet: Sendable, Equatable {
    public struct Entry: Sendable, Equatable {
        public var key: SubscriptionKey
        public var added: SubscriptionAdded
        /// Global position of the `SubscriptionAdded` event (0 when not yet stored).
        public var position: Int64
        public var addedAt: Timestamp?
    }

    public private(set) var entries: [Entry] = []

    public init() {}

    public func contains(_ key: SubscriptionKey) -> Bool { entries.contains { $0.key == key } }

    public func entry(_ key: SubscriptionKey) -> Entry? { entries.first { $0.key == key } }

    public mutating func apply(_ added: SubscriptionAdded, position: Int64 = 0, at: Timestamp? = nil) {
        let key = SubscriptionKey(channel: added.channel, topic: added.topic)
        guard !contains(key) else { return }
        entries.append(Entry(key: key, added: added, position: position, addedAt: at))
    }

    public mutating func apply(_ removed: SubscriptionRemoved) {
        let key = SubscriptionKey(channel: removed.channel, topic: removed.topic)
        entries.removeAll { $0.key == key }
    }

    /// Folds the stream's events (other types are ignored).
    public mutating func apply(_ event: RecordedEvent) throws {
        let decoder = JSONDecoder()
        switch event.type {
        case SubscriptionAdded.eventType:
            apply(try decoder.decode(SubscriptionAdded.self, from: Data(event.data)),
                  position: event.globalPosition, at: event.metadata.receiveTime ?? event.recordedAt)
        case SubscriptionRemoved.eventType:
            apply(try decoder.decode(SubscriptionRemoved.self, from: Data(event.data)))
        default:
            break
        }
    }

    public func topics(on channel: BybitChannel) -> [String] {
        entries.filter { $0.key.channel == channel }.map(\.key.topic)
    }

    public var channels: [BybitChannel] {
        BybitChannel.allCases.filter { ch in entries.contains { $0.key.channel == ch } }
    }
}

/// A subscription request in the seed's terms (`channel_type` + `symbol`) or as a raw topic,
/// turned into the Bybit topic and channel. Corrects the seed where Bybit v5 differs:
/// funding comes from `tickers.{symbol}` (there is no `fundingRate.{symbol}` topic) and
/// liquidations from `allLiquidation.{symbol}` (there is no bare `liquidation` topic).
public struct SubscriptionRequest: Codable, Sendable, Equatable {
    public var channelType: String?
    public var symbol: String?
    /// `linear` (default) or `spot` (or `inverse`) for public data.
    public var category: String?
    /// A raw Bybit topic instead of channel_type + symbol.
    public var topic: String?
    /// Orderbook depth (default 1, seed 000's level-1 book) and kline interval (default 1).
    public var depth: Int?
    public var interval: String?
    public var requestingService: String?

    enum CodingKeys: String, CodingKey {
        case channelType = "channel_type", symbol, category, topic, depth, interval
        case requestingService = "requesting_service"
    }

    public init(channelType: String? = nil, symbol: String? = nil, category: String? = nil, topic: String? = nil,
                depth: Int? = nil, interval: String? = nil, requestingService: String? = nil) {
        self.channelType = channelType
        self.symbol = symbol
        self.category = category
        self.topic = topic
        self.depth = depth
        self.interval = interval
        self.requestingService = requestingService
    }

    static let privateTopics: Set<String> = ["order", "execution", "position", "wallet"]
    static let orderbookDepths: [String: Set<Int>] = [
        "spot": [1, 50, 200, 1000], "linear": [1, 50, 200, 1000], "inverse": [1, 50, 200, 1000],
    ]
    static let klineIntervals: Set<String> = ["1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D", "W", "M"]

    /// The channel and topic, or a message naming the field that is wrong.
    public func resolve() -> Result<SubscriptionAdded, SubscriptionRequestError> {
        // Text that goes into the log: printable, bounded in bytes (the log refuses U+0000).
        func printable(_ text: String, limit: Int) -> Bool { EventText.isPrintable(text, maxBytes: limit) }
        if let r = requestingService, !printable(r, limit: 100) {
            return .failure(.init(field: "requesting_service", problem: "must be at most 100 printable characters"))
        }
        if let topic, !printable(topic, limit: 200) {
            return .failure(.init(field: "topic", problem: "must be a Bybit topic like orderbook.50.BTCUSDT (at most 200 printable characters)"))
        }
        if let channelType, !printable(channelType, limit: 50) {
            return .failure(.init(field: "channel_type", problem: "must be at most 50 printable characters"))
        }
        let by = requestingService ?? "api"
        let categoryName = (category ?? "linear").lowercased()
        if let topic {
            let root = String(topic.split(separator: ".").first ?? "")
            if Self.privateTopics.contains(root) {
                return .success(.init(channel: .private, topic: topic, channelType: channelType, symbol: nil, requestedBy: by, via: "api"))
            }
            guard let channel = BybitChannel(rawValue: categoryName), channel != .private else {
                return .failure(.init(field: "category", problem: "must be spot, linear or inverse, got \(categoryName)"))
            }
            guard !topic.isEmpty, !topic.contains(" ") else {
                return .failure(.init(field: "topic", problem: "must be a Bybit topic like orderbook.50.BTCUSDT"))
            }
            return .success(.init(channel: channel, topic: topic, channelType: channelType, symbol: topic.split(separator: ".").last.map(String.init), requestedBy: by, via: "api"))
        }
        guard let type = channelType?.lowercased() else {
            return .failure(.init(field: "channel_type", problem: "is required (or give topic)"))
        }
        switch type {
        case "order", "orders": return .success(.init(channel: .private, topic: "order", channelType: type, symbol: nil, requestedBy: by, via: "api"))
        case "execution", "executions": return .success(.init(channel: .private, topic: "execution", channelType: type, symbol: nil, requestedBy: by, via: "api"))
        case "position", "positions": return .success(.init(channel: .private, topic: "position", channelType: type, symbol: nil, requestedBy: by, via: "api"))
        case "balance", "wallet": return .success(.init(channel: .private, topic: "wallet", channelType: type, symbol: nil, requestedBy: by, via: "api"))
        default: break
        }
        guard let channel = BybitChannel(rawValue: categoryName), channel != .private else {
            return .failure(.init(field: "category", problem: "must be spot, linear or inverse, got \(categoryName)"))
        }
        guard let rawSymbol = symbol, !rawSymbol.isEmpty else {
            return .failure(.init(field: "symbol", problem: "is required for channel_type \(type)"))
        }
        // Topics are case-sensitive on Bybit: symbols are upper case.
        let s = rawSymbol.uppercased()
        guard s.utf8.count <= 50, s.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
            return .failure(.init(field: "symbol", problem: "must be letters and digits, got \(rawSymbol)"))
        }
        let topic: String
        switch type {
        case "trades", "trade": topic = "publicTrade.\(s)"
        case "ticker", "tickers": topic = "tickers.\(s)"
        case "orderbook":
            // Seed 000: the `orderbook` channel is `orderbook.1.{symbol}`, the level-1 book.
            let d = depth ?? 1
            guard Self.orderbookDepths[channel.rawValue]?.contains(d) == true else {
                return .failure(.init(field: "depth", problem: "must be one of 1, 50, 200, 1000, got \(d)"))
            }
            topic = "orderbook.\(d).\(s)"
        case "kline":
            let i = interval ?? "1"
            guard Self.klineIntervals.contains(i) else {
                return .failure(.init(field: "interval", problem: "must be one of 1 3 5 15 30 60 120 240 360 720 D W M, got \(i)"))
            }
            topic = "kline.\(i).\(s)"
        case "funding":
            guard channel != .spot else {
                return .failure(.init(field: "category", problem: "funding exists for linear and inverse only"))
            }
            topic = "tickers.\(s)"
        case "liquidation", "liquidations":
            guard channel != .spot else {
                return .failure(.init(field: "category", problem: "liquidations exist for linear and inverse only"))
            }
            topic = "allLiquidation.\(s)"
        default:
            return .failure(.init(field: "channel_type", problem: "unknown channel_type \(type) (known: trades, ticker, orderbook, kline, funding, liquidation, order, execution, position, balance)"))
        }
        return .success(.init(channel: channel, topic: topic, channelType: type, symbol: s, requestedBy: by, via: "api"))
    }
}

public struct SubscriptionRequestError: Error, Sendable, Equatable, CustomStringConvertible {
    public var field: String
    public var problem: String
    public var description: String { "\(field) \(problem)" }
}

/// Parses `linear:orderbook.50.BTCUSDT,spot:publicTrade.BTCUSDT,private:order` (config and
/// `TRADELOG_GATEWAY_SUBSCRIPTIONS`); errors name the entry and the source.
public func parseSubscriptionList(_ text: String, source: String) throws -> [SubscriptionKey] {
    var keys: [SubscriptionKey] = []
    for raw in text.split(whereSeparator: { $0 == "," || $0 == " " || $0 == "\n" }) {
        let item = raw.trimmingCharacters(in: .whitespaces)
        if item.isEmpty { continue }
        guard let key = SubscriptionKey(id: item) else {
            throw ConfigurationError(field: "subscriptions", source: source,
                                     problem: "\(item.debugDescription) is not channel:topic (channel = spot, linear, inverse or private)")
        }
        if !keys.contains(key) { keys.append(key) }
    }
    return keys
}
