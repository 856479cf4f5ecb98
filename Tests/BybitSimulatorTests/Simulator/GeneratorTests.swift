import Foundation
import Testing
@testable import BybitSimulator

@Suite("Market generator")
struct GeneratorTests {
    static let start: Int64 = 1_700_000_000_000
    let instruments = ["BTCUSDT", "ETHUSDT"].flatMap { s in
        [SimInstrument.defaults(symbol: s, category: .linear), SimInstrument.defaults(symbol: s, category: .spot)]
    }

    /// All topics of all markets, active from the start.
    func run(seed: UInt64, steps: Int) -> [String] {
        var feed = GeneratedFeed(instruments: instruments, seed: seed, levels: 50, startMs: Self.start)
        var active: [MarketKey: [PublicTopic]] = [:]
        var out: [String] = []
        for key in feed.keys {
            var topics: [PublicTopic] = [.orderbook(depth: 1, symbol: key.symbol), .orderbook(depth: 50, symbol: key.symbol),
                                         .trade(symbol: key.symbol), .ticker(symbol: key.symbol), .kline(interval: .m1, symbol: key.symbol)]
            if key.category == .linear { topics.append(.liquidation(symbol: key.symbol)) }
            for t in topics {
                if let s = feed.snapshot(key, t, now: Self.start, firstSubscriber: true) { out.append(String(decoding: s, as: UTF8.self)) }
            }
            active[key] = topics
        }
        for n in 0..<steps {
            let step = feed.step(now: Self.start + Int64(n) * 250, active: active)
            out.append(contentsOf: step.frames.map { String(decoding: $0.bytes, as: UTF8.self) })
        }
        return out
    }

    @Test func sameSeedSameFrames() {
        let a = run(seed: 42, steps: 400)
        let b = run(seed: 42, steps: 400)
        #expect(a.count > 400)
        #expect(a == b)
        #expect(a != run(seed: 43, steps: 400))
    }

    @Test func bookStaysSaneAndOnTheGrid() {
        let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .linear)
        var m = SyntheticMarket(instrument: i, seed: 7, levels: 50, startMs: Self.start)
        var sawTrade = false
        for n in 0..<5_000 {
            let step = m.step(now: Self.start + Int64(n))
            sawTrade = sawTrade || !step.trades.isEmpty
            let b = m.book
            #expect(b.bids.count == 50 && b.asks.count == 50)
            #expect(b.bestBid!.price < b.bestAsk!.price)
            #expect(zip(b.bids, b.bids.dropFirst()).allSatisfy { $0.price > $1.price })
            #expect(zip(b.asks, b.asks.dropFirst()).allSatisfy { $0.price < $1.price })
            #expect((b.bids + b.asks).allSatisfy { $0.price.isMultiple(of: i.tickSize) && $0.size.isMultiple(of: i.qtyStep) && $0.size.raw > 0 })
            for t in step.trades { #expect(t.price.isMultiple(of: i.tickSize) && t.size.raw > 0) }
        }
        #expect(sawTrade)
        // The mean reversion keeps a long walk near the start.
        let drift = (m.lastPrice - i.initialPrice).magnitude.divided(by: i.initialPrice)
        #expect(drift < fx("0.2"))
    }

    /// Applying the deltas of a depth stream to its snapshot rebuilds the published book, with `u` +1 each.
    @Test func deltasRebuildTheBook() throws {
        let i = SimInstrument.defaults(symbol: "ETHUSDT", category: .linear)
        var m = SyntheticMarket(instrument: i, seed: 9, levels: 80, startMs: Self.start)
        var topics = GeneratedTopics(category: .linear)
        let topic = PublicTopic.orderbook(depth: 50, symbol: "ETHUSDT")
        let first = topics.snapshot(topic, market: m, now: Self.start, firstSubscriber: true)
        let snap = object(try #require(first))
        #expect(snap["type"] as? String == "snapshot")
        var book = OrderBook()
        func levels(_ any: Any?) -> [BookLevel] {
            (any as? [[String]] ?? []).map { BookLevel(price: fx($0[0]), size: fx($0[1])) }
        }
        var data = snap["data"] as! [String: Any]
        book.replace(bids: levels(data["b"]), asks: levels(data["a"]))
        var u = data["u"] as! Int64
        var deltas = 0
        for n in 1...300 {
            let step = m.step(now: Self.start + Int64(n) * 100)
            for (_, bytes) in topics.frames(step: step, market: m, now: Self.start + Int64(n) * 100, active: [topic]) {
                let o = object(bytes)
                #expect(o["type"] as? String == "delta")
                data = o["data"] as! [String: Any]
                #expect(data["u"] as! Int64 == u + 1)
                u += 1
                for l in levels(data["b"]) { book.set(.bid, price: l.price, size: l.size) }
                for l in levels(data["a"]) { book.set(.ask, price: l.price, size: l.size) }
                deltas += 1
            }
            #expect(book.bids == Array(m.book.bids.prefix(50)))
            #expect(book.asks == Array(m.book.asks.prefix(50)))
        }
        #expect(deltas > 250)
    }

    @Test func levelOneIsSnapshotOnly() {
        let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .spot)
        var m = SyntheticMarket(instrument: i, seed: 3, levels: 20, startMs: Self.start)
        var topics = GeneratedTopics(category: .spot)
        let topic = PublicTopic.orderbook(depth: 1, symbol: "BTCUSDT")
        _ = topics.snapshot(topic, market: m, now: Self.start, firstSubscriber: true)
        var frames = 0
        for n in 1...100 {
            let step = m.step(now: Self.start + Int64(n))
            for (_, bytes) in topics.frames(step: step, market: m, now: Self.start + Int64(n), active: [topic]) {
                let o = object(bytes)
                #expect(o["type"] as? String == "snapshot")
                let d = o["data"] as! [String: Any]
                #expect((d["b"] as! [Any]).count == 1 && (d["a"] as! [Any]).count == 1)
                frames += 1
            }
        }
        #expect(frames > 10)
    }

    @Test func linearTickerDeltasCarryOnlyChanges() throws {
        let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .linear)
        var m = SyntheticMarket(instrument: i, seed: 5, levels: 20, startMs: Self.start)
        var topics = GeneratedTopics(category: .linear)
        let topic = PublicTopic.ticker(symbol: "BTCUSDT")
        let first = topics.snapshot(topic, market: m, now: Self.start, firstSubscriber: true)
        let snap = object(try #require(first))
        let full = (snap["data"] as! [String: Any]).count
        var sawFunding = false
        for n in 1...200 {
            let step = m.step(now: Self.start + Int64(n) * 100)
            for (_, bytes) in topics.frames(step: step, market: m, now: Self.start + Int64(n) * 100, active: [topic]) {
                let o = object(bytes)
                #expect(o["type"] as? String == "delta")
                let d = o["data"] as! [String: Any]
                #expect(d["symbol"] as? String == "BTCUSDT")
                #expect(d.count < full)
                sawFunding = sawFunding || d["fundingRate"] != nil
            }
        }
        #expect(sawFunding)
    }

    @Test func klinesConfirmWhenTheMinuteEnds() {
        let i = SimInstrument.defaults(symbol: "BTCUSDT", category: .linear)
        let minute: Int64 = 1_700_000_040_000  // a minute boundary
        var m = SyntheticMarket(instrument: i, seed: 11, levels: 20, startMs: minute + 1_000)
        var topics = GeneratedTopics(category: .linear)
        let topic = PublicTopic.kline(interval: .m1, symbol: "BTCUSDT")
        var confirmed: [[String: Any]] = []
        for n in 0..<130 {
            let step = m.step(now: minute + 1_000 + Int64(n) * 1_000)
            for (_, bytes) in topics.frames(step: step, market: m, now: minute + Int64(n) * 1_000, active: [topic]) {
                let item = (object(bytes)["data"] as! [[String: Any]])[0]
                if item["confirm"] as? Bool == true { confirmed.append(item) }
            }
        }
        #expect(confirmed.count == 2)
        #expect(confirmed.first?["start"] as? Int64 == minute)
        #expect(confirmed.first?["end"] as? Int64 == minute + 59_999)
    }

    @Test func intervalsAlignLikeBybit() {
        let t: Int64 = 1_719_667_601_380  // 2024-06-29 13:26:41 UTC, a Saturday
        #expect(KlineInterval.m1.start(containing: t) == 1_719_667_560_000)
        #expect(KlineInterval.day.start(containing: t) == 1_719_619_200_000)
        #expect(KlineInterval.week.start(containing: t) == 1_719_187_200_000)  // Monday 2024-06-24
        #expect(KlineInterval.month.start(containing: t) == 1_717_200_000_000)  // 2024-06-01
        #expect(KlineInterval.month.end(ofStart: 1_717_200_000_000) == 1_719_791_999_999)
    }
}
