/// Turns one synthetic market into topic frames: snapshots for new subscribers, then one
/// frame per step for each active topic (orderbook deltas with `u` +1, trades, tickers,
/// klines, liquidations). Pure: the engine decides which topics are active.
public struct GeneratedTopics: Sendable {
    struct DepthState: Sendable {
        var view: DepthView
        var u: Int64
    }

    public let category: SimCategory
    var depths: [Int: DepthState] = [:]
    var lastTicker: [(String, String)] = []
    /// Book update ids start here (a fresh session; `u=1` would mean "service restarted").
    public static let firstUpdateId: Int64 = 1_000_000

    public init(category: SimCategory) { self.category = category }

    /// The first frame(s) for a new subscriber. `firstSubscriber` restarts the topic's
    /// published state from the current market (nobody holds the old one).
    public mutating func snapshot(
        _ topic: PublicTopic, market m: SyntheticMarket, now: Int64, firstSubscriber: Bool
    ) -> [UInt8]? {
        let i = m.instrument
        switch topic {
        case .orderbook(let depth, _):
            var state = depths[depth] ?? DepthState(view: DepthView(depth: depth), u: Self.firstUpdateId - 1)
            if firstSubscriber || depths[depth] == nil {
                state.view.reset(to: m.book)
                state.u += 1
            }
            depths[depth] = state
            return PublicFrames.orderbook(
                topic: topic.description, category: category, depth: depth, snapshot: true, ts: now, cts: m.time,
                symbol: i.symbol, bids: state.view.bids, asks: state.view.asks, u: state.u, seq: m.crossSeq,
                priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)
        case .ticker:
            let fields = category == .linear ? TickerFields.linear(m) : TickerFields.spot(m)
            if firstSubscriber || lastTicker.isEmpty { lastTicker = fields }
            return PublicFrames.ticker(topic: topic.description, category: category, snapshot: true, ts: now, cs: m.crossSeq,
                                       fields: category == .linear ? lastTicker : fields)
        case .kline(let interval, _):
            guard let c = m.candles.open[interval] else { return nil }
            return PublicFrames.kline(topic: topic.description, ts: now, candles: [(c, false)],
                                      priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)
        case .trade, .liquidation:
            return nil  // event streams: nothing to show until the next event
        }
    }

    /// Frames of one step for `active` topics (in that order). `skipUpdateId` topics jump
    /// one `u` (fault injection: the client must notice the gap).
    public mutating func frames(
        step: MarketStep, market m: SyntheticMarket, now: Int64, active: [PublicTopic], skipUpdateId: Set<String> = []
    ) -> [(topic: PublicTopic, bytes: [UInt8])] {
        let i = m.instrument
        var out: [(PublicTopic, [UInt8])] = []
        var tickerFields: [(String, String)]?
        for topic in active {
            switch topic {
            case .orderbook(let depth, _):
                guard var state = depths[depth] else { continue }
                let (db, da) = state.view.advance(to: m.book)
                guard !db.isEmpty || !da.isEmpty else { depths[depth] = state; continue }
                state.u += skipUpdateId.contains(topic.description) ? 2 : 1
                depths[depth] = state
                let snapshotOnly = depth == 1
                out.append((topic, PublicFrames.orderbook(
                    topic: topic.description, category: category, depth: depth, snapshot: snapshotOnly, ts: now,
                    cts: m.time, symbol: i.symbol,
                    bids: snapshotOnly ? state.view.bids : db, asks: snapshotOnly ? state.view.asks : da,
                    u: state.u, seq: m.crossSeq, priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)))
            case .trade:
                guard !step.trades.isEmpty else { continue }
                out.append((topic, PublicFrames.trades(
                    topic: topic.description, category: category, ts: now, symbol: i.symbol, prints: step.trades,
                    priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)))
            case .ticker:
                let fields = tickerFields ?? (category == .linear ? TickerFields.linear(m) : TickerFields.spot(m))
                tickerFields = fields
                if category == .linear {
                    let delta = TickerFields.delta(fields, previous: lastTicker)
                    lastTicker = fields
                    guard delta.count > 1 else { continue }
                    out.append((topic, PublicFrames.ticker(topic: topic.description, category: category, snapshot: false,
                                                           ts: now, cs: m.crossSeq, fields: delta)))
                } else {
                    let changed = TickerFields.delta(fields, previous: lastTicker).count > 1
                    lastTicker = fields
                    guard changed else { continue }
                    out.append((topic, PublicFrames.ticker(topic: topic.description, category: category, snapshot: true,
                                                           ts: now, cs: m.crossSeq, fields: fields)))
                }
            case .kline(let interval, _):
                for c in step.closedCandles where c.interval == interval {
                    out.append((topic, PublicFrames.kline(topic: topic.description, ts: now, candles: [(c, true)],
                                                          priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)))
                }
                if let c = m.candles.open[interval] {
                    out.append((topic, PublicFrames.kline(topic: topic.description, ts: now, candles: [(c, false)],
                                                          priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)))
                }
            case .liquidation:
                guard let l = step.liquidation else { continue }
                out.append((topic, PublicFrames.liquidation(topic: topic.description, ts: now, symbol: i.symbol,
                                                            prints: [l], priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)))
            }
        }
        return out
    }
}
