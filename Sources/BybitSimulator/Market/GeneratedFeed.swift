/// A public frame for one topic of one channel.
public struct FeedFrame: Sendable {
    public var category: SimCategory
    public var topic: String
    public var bytes: [UInt8]
}

/// What a feed produced while advancing: frames for active topics and, per market that
/// changed, the trades (matching needs both the new book and the prints).
public struct FeedOutput: Sendable {
    public var frames: [FeedFrame] = []
    public var changed: [MarketKey] = []
    public var trades: [MarketKey: [TradePrint]] = [:]
}

/// `--generate SEED`: one synthetic market per instrument, stepped together.
public struct GeneratedFeed: Sendable {
    public private(set) var markets: [MarketKey: SyntheticMarket] = [:]
    var topics: [MarketKey: GeneratedTopics] = [:]
    /// Markets in a fixed order, so output order never depends on hashing.
    public let keys: [MarketKey]

    public init(instruments: [SimInstrument], seed: UInt64, levels: Int = 200, startMs: Int64) {
        for i in instruments {
            markets[i.key] = SyntheticMarket(instrument: i, seed: seed, levels: levels, startMs: startMs)
            topics[i.key] = GeneratedTopics(category: i.category)
        }
        keys = instruments.map(\.key).sorted()
    }

    /// Steps every market once and renders frames for `active` topics (per market, in order).
    public mutating func step(now: Int64, active: [MarketKey: [PublicTopic]], skipUpdateId: Set<String> = []) -> FeedOutput {
        var out = FeedOutput()
        for key in keys {
            let step = markets[key]!.step(now: now)
            out.changed.append(key)
            if !step.trades.isEmpty { out.trades[key] = step.trades }
            guard let list = active[key], !list.isEmpty else { continue }
            let skip = skipUpdateId.isEmpty ? [] : Set(skipUpdateId.compactMap { s -> String? in
                let prefix = key.category.rawValue + "/"
                return s.hasPrefix(prefix) ? String(s.dropFirst(prefix.count)) : nil
            })
            for (topic, bytes) in topics[key]!.frames(step: step, market: markets[key]!, now: now, active: list, skipUpdateId: skip) {
                out.frames.append(FeedFrame(category: key.category, topic: topic.description, bytes: bytes))
            }
        }
        return out
    }

    public mutating func snapshot(_ key: MarketKey, _ topic: PublicTopic, now: Int64, firstSubscriber: Bool) -> [UInt8]? {
        guard let m = markets[key] else { return nil }
        return topics[key]!.snapshot(topic, market: m, now: now, firstSubscriber: firstSubscriber)
    }
}
