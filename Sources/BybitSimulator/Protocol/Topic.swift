/// A public topic the simulator serves (reference §1.7).
public enum PublicTopic: Hashable, Sendable, CustomStringConvertible {
    case orderbook(depth: Int, symbol: String)
    case trade(symbol: String)
    case ticker(symbol: String)
    case kline(interval: KlineInterval, symbol: String)
    case liquidation(symbol: String)

    public var symbol: String {
        switch self {
        case .orderbook(_, let s), .trade(let s), .ticker(let s), .kline(_, let s), .liquidation(let s): return s
        }
    }

    public var description: String {
        switch self {
        case .orderbook(let d, let s): return "orderbook.\(d).\(s)"
        case .trade(let s): return "publicTrade.\(s)"
        case .ticker(let s): return "tickers.\(s)"
        case .kline(let i, let s): return "kline.\(i.rawValue).\(s)"
        case .liquidation(let s): return "allLiquidation.\(s)"
        }
    }

    /// Depths per channel: spot 1/50/200/1000; linear also 500 (older captures use it).
    public static func depths(_ category: SimCategory) -> [Int] {
        category == .spot ? [1, 50, 200, 1000] : [1, 50, 200, 500, 1000]
    }

    /// Parses a topic exactly as Bybit does: case-sensitive, nil when unknown on that channel.
    public static func parse(_ text: String, category: SimCategory) -> PublicTopic? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch (parts.first, parts.count) {
        case ("orderbook", 3):
            guard let d = Int(parts[1]), depths(category).contains(d), !parts[2].isEmpty else { return nil }
            return .orderbook(depth: d, symbol: parts[2])
        case ("publicTrade", 2): return parts[1].isEmpty ? nil : .trade(symbol: parts[1])
        case ("tickers", 2): return parts[1].isEmpty ? nil : .ticker(symbol: parts[1])
        case ("kline", 3):
            guard let i = KlineInterval(rawValue: parts[1]), !parts[2].isEmpty else { return nil }
            return .kline(interval: i, symbol: parts[2])
        case ("allLiquidation", 2):
            return category == .linear && !parts[1].isEmpty ? .liquidation(symbol: parts[1]) : nil
        default: return nil
        }
    }
}

/// Private topics: the all-in-one names and their per-category variants (reference §1.8).
public enum PrivateTopic: String, CaseIterable, Sendable {
    case order, execution, position, wallet

    /// Accepted names: `order`, `order.spot`, `order.linear`, `execution`, ..., `position.linear`, `wallet`.
    public static func parse(_ text: String) -> (PrivateTopic, SimCategory?)? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard let kind = PrivateTopic(rawValue: parts[0]) else { return nil }
        if parts.count == 1 { return (kind, nil) }
        guard parts.count == 2, kind != .wallet, let c = SimCategory(rawValue: parts[1]) else { return nil }
        if kind == .position, c == .spot { return nil }
        return (kind, c)
    }
}
