import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Order book decoding")
struct OrderBookDecodingTests {
    static let sequenceFile = "seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl"
    static let topic = "orderbook.500.XRPUSDT"

    @Test func recordedSequenceStaysContinuous() throws {
        let frames = try Fixtures.frames(Self.sequenceFile)
        #expect(frames.count == 50)
        var d = FrameDecoder(channel: .linear)
        let outs = d.decodeAll(frames)
        let events = outs.flatMap(\.events)
        #expect(events.count == 50)
        #expect(events.allSatisfy { $0.type == "OrderBookUpdated" && $0.stream == "market.linear.orderbook-XRPUSDT" })
        #expect(outs.allSatisfy { $0.resync.isEmpty && $0.control == nil })
        #expect(d.unparsableFrames == 0 && d.unknownTopicFrames == 0 && d.frames == 50 && d.events == 50)

        let first = try payload(OrderBookUpdated.self, events[0])
        #expect(first.type == "snapshot" && first.isSnapshot)
        #expect(first.u == 20_254_869 && first.depth == 500 && first.synced)
        #expect(first.bids.count == 500 && first.asks.count == 500)
        #expect(first.bids[0] == BookLevel(price: dec("1.9531"), size: 6203))
        #expect(first.ts == 1_733_011_200_691)
        #expect(try events[0].json[levels: "bids"][1] == ["1.953", "2409"])  // "1.9530" canonical

        let second = try payload(OrderBookUpdated.self, events[1])
        #expect(second.type == "delta" && second.u == 20_254_870 && second.seq == 130_020_239_261)
        #expect(second.cts == 1_733_011_200_691 && second.ts == 1_733_011_200_693)
        #expect(second.bids.count == 13 && second.asks.count == 22)
        #expect(second.bids[0] == BookLevel(price: dec("1.9531"), size: 6198))

        var lastU: Int64 = 0
        for e in events {
            let p = try payload(OrderBookUpdated.self, e)
            #expect(p.synced)
            if lastU != 0 { #expect(p.u == lastU + 1) }
            lastU = p.u
            #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: p.ts!))
            try expectWellFormed(e)
        }
        #expect(lastU == 20_254_918)

        let tracked = try #require(d.book(topic: Self.topic))
        #expect(tracked.isSynced && tracked.updateID == 20_254_918 && tracked.depth == 500)
        let book = tracked.book
        #expect(book.bestBid == OrderBook.Level(price: PriceKey("1.9537")!, size: PriceKey("10605")!))
        #expect(book.bestAsk == OrderBook.Level(price: PriceKey("1.9538")!, size: PriceKey("6702")!))
        #expect(book.bidCount == 500 && book.askCount == 500)
        #expect(book.topBids(3).map(\.price.description) == ["1.9537", "1.9536", "1.9535"])
        #expect(book.topAsks(3).map(\.price.description) == ["1.9538", "1.9539", "1.954"])
        // Bids strictly descending, asks strictly ascending, never crossed, no zero sizes.
        #expect(zip(book.bids, book.bids.dropFirst()).allSatisfy { $0.price > $1.price })
        #expect(zip(book.asks, book.asks.dropFirst()).allSatisfy { $0.price < $1.price })
        #expect(book.bestBid!.price < book.bestAsk!.price)
        #expect(!book.bids.contains { $0.size.isZero } && !book.asks.contains { $0.size.isZero })
        #expect(book.checksum == Self.referenceBook(frames).checksum)
    }

    /// The same book built with a plain dictionary, as an independent reference.
    static func referenceBook(_ frames: [[UInt8]]) -> OrderBook {
        var bids: [Decimal: Decimal] = [:]
        var asks: [Decimal: Decimal] = [:]
        for f in frames {
            let root = try! JSONDocument(parsing: f).root
            if root["type"]?.string == "snapshot" {
                bids = [:]
                asks = [:]
            }
            for (key, side) in [("b", 0), ("a", 1)] {
                for level in root["data"]?[key]?.elements ?? [] {
                    let p = level[0]!.decimal!
                    let s = level[1]!.decimal!
                    if side == 0 { bids[p] = s == 0 ? nil : s } else { asks[p] = s == 0 ? nil : s }
                }
            }
        }
        var book = OrderBook()
        for (p, s) in bids.sorted(by: { $0.key > $1.key }) { book.set(.bid, price: PriceKey(p)!, size: PriceKey(s)!) }
        for (p, s) in asks.sorted(by: { $0.key < $1.key }) { book.set(.ask, price: PriceKey(p)!, size: PriceKey(s)!) }
        return book
    }

    @Test func droppedLineInvalidatesUntilTheNextSnapshot() throws {
        var frames = try Fixtures.frames(Self.sequenceFile)
        frames.remove(at: 10)  // u = 20254879 never arrives
        var d = FrameDecoder(channel: .linear)
        let outs = d.decodeAll(Array(frames[0..<12]))
        #expect(outs[0..<10].allSatisfy { $0.resync.isEmpty && $0.events.count == 1 })
        let gap = outs[10]
        #expect(gap.resync == [Self.topic])
        #expect(gap.events.map(\.type) == ["OrderBookInvalidated", "OrderBookUpdated"])
        let inv = try payload(OrderBookInvalidated.self, gap.events[0])
        #expect(inv.reason == "gap" && inv.expectedU == 20_254_879 && inv.receivedU == 20_254_880)
        #expect(inv.symbol == "XRPUSDT" && inv.category == "linear" && inv.depth == 500)
        #expect(gap.events[0].stream == "market.linear.orderbook-XRPUSDT")
        try expectWellFormed(gap.events[0])
        // The delta is still recorded, marked unsynced; so is the next one, without a second invalidation.
        #expect(try payload(OrderBookUpdated.self, gap.events[1]).synced == false)
        #expect(outs[11].resync.isEmpty && outs[11].events.count == 1)
        #expect(try payload(OrderBookUpdated.self, outs[11].events[0]).synced == false)
        #expect(d.book(topic: Self.topic)?.isSynced == false)

        // A snapshot resyncs.
        let resynced = d.decode(frames[0], receivedAt: receivedAt)
        #expect(resynced.resync.isEmpty)
        #expect(try payload(OrderBookUpdated.self, resynced.events[0]).synced)
        #expect(d.book(topic: Self.topic)?.isSynced == true)
        #expect(d.book(topic: Self.topic)?.updateID == 20_254_869)
        let next = d.decode(frames[1], receivedAt: receivedAt)
        #expect(try next.resync.isEmpty && payload(OrderBookUpdated.self, next.events[0]).synced)
    }

    @Test func repeatedLineIsAStepBack() throws {
        let frames = try Fixtures.frames(Self.sequenceFile)
        var d = FrameDecoder(channel: .linear)
        _ = d.decodeAll(Array(frames[0...5]))
        let again = d.decode(frames[5], receivedAt: receivedAt)
        #expect(again.resync == [Self.topic])
        let inv = try payload(OrderBookInvalidated.self, again.events[0])
        #expect(inv.reason == "step_back" && inv.expectedU == 20_254_875 && inv.receivedU == 20_254_874)
        // The replayed delta has the same id as the first time it was decoded.
        var fresh = FrameDecoder(channel: .linear)
        let original = fresh.decodeAll(Array(frames[0...5]))[5].events[0]
        #expect(again.events[1].eventID == original.eventID)
        #expect(again.events[1].data != original.data)  // but says synced:false
    }

    @Test func deltaBeforeAnySnapshot() throws {
        var d = FrameDecoder(channel: .spot)
        let out = d.decodeAll(try Fixtures.frames("ws_orderbook_delta_spot_ob200.json"))[0]
        #expect(out.resync == ["orderbook.200.BTCUSDT"])
        let inv = try payload(OrderBookInvalidated.self, out.events[0])
        #expect(inv.reason == "delta_before_snapshot" && inv.expectedU == nil && inv.receivedU == 5_179_080)
        #expect(out.events[0].stream == "market.spot.orderbook-BTCUSDT")
        let delta = try payload(OrderBookUpdated.self, out.events[1])
        #expect(!delta.synced && delta.type == "delta" && delta.category == "spot" && delta.depth == 200)
        #expect(delta.bids.count == 8 && delta.asks.count == 5)
        #expect(delta.bids[1] == BookLevel(price: dec("43725.35"), size: 0))
        #expect(delta.cts == 1_703_430_557_847)
    }

    @Test func spotSessionSnapshotThenDelta() throws {
        var d = FrameDecoder(channel: .spot)
        let outs = d.decodeAll(try Fixtures.frames("ws_spot_orderbook200_session.jsonl"))
        #expect(outs.count == 3)
        guard case .subscription(let ack) = outs[0].control else {
            Issue.record("expected a subscribe ack")
            return
        }
        #expect(ack.success && ack.retMsg == "subscribe" && ack.op == "subscribe" && ack.reqID == nil)
        #expect(ack.connID == "4492c76f-36ec-4e93-afa9-39d7d871d5d2")
        let snap = try payload(OrderBookUpdated.self, outs[1].events[0])
        #expect(snap.u == 5_179_079 && snap.bids.count == 200 && snap.asks.count == 200 && snap.type == "snapshot")
        #expect(snap.bids[0] == BookLevel(price: dec("43732.01"), size: dec("0.049391")))
        #expect(snap.bids[2] == BookLevel(price: 43730, size: dec("0.1101")))
        let delta = try payload(OrderBookUpdated.self, outs[2].events[0])
        #expect(delta.synced && delta.u == 5_179_080)
        #expect(outs.allSatisfy { $0.resync.isEmpty })
        let book = try #require(d.book(topic: "orderbook.200.BTCUSDT")).book
        // The delta adds 43728.19 and removes 43725.35 among others.
        #expect(book.bestBid?.price == PriceKey("43732.01"))
        #expect(book.size(at: PriceKey("43728.19")!, side: .bid) == PriceKey("0.5"))
        #expect(book.size(at: PriceKey("43725.35")!, side: .bid) == nil)
        #expect(book.size(at: PriceKey("43736.01")!, side: .ask) == PriceKey("0.525"))
        #expect(book.checksum == Self.referenceBook(Array(try Fixtures.frames("ws_spot_orderbook200_session.jsonl").dropFirst())).checksum)
        for e in outs.flatMap(\.events) { try expectWellFormed(e) }
    }

    @Test func emptyBidSideDelta() throws {
        var d = FrameDecoder(channel: .spot)
        _ = d.decode(#"{"topic":"orderbook.50.BTCUSDT","ts":1691130685000,"type":"snapshot","data":{"s":"BTCUSDT","b":[["29230.1","1"]],"a":[["29236.1","0.5"],["29240","2"]],"u":1854103,"seq":10559247730}}"#)
        let out = d.decodeAll(try Fixtures.frames("ws_orderbook_delta_spot_empty_bids.json"))[0]
        #expect(out.resync.isEmpty)
        let p = try payload(OrderBookUpdated.self, out.events[0])
        #expect(p.bids.isEmpty && p.asks.count == 2 && p.u == 1_854_104 && p.cts == nil && p.synced)
        #expect(try out.events[0].json["cts"] == nil)
        let book = try #require(d.book(topic: "orderbook.50.BTCUSDT")).book
        #expect(book.asks.map(\.description) == ["29239.37@0.082356", "29240@2"])
        #expect(book.bids.map(\.description) == ["29230.1@1"])
    }

    @Test func linearOb500Fixtures() throws {
        var d = FrameDecoder(channel: .linear)
        let snap = d.decodeAll(try Fixtures.frames("ws_orderbook_snapshot_linear_ob500.json"))[0]
        let delta = d.decodeAll(try Fixtures.frames("ws_orderbook_delta_linear_ob500.json"))[0]
        #expect(snap.events.count == 1 && delta.events.count == 1 && delta.resync.isEmpty)
        let s = try payload(OrderBookUpdated.self, snap.events[0])
        #expect(s.type == "snapshot" && s.u == 20_254_869 && s.seq == 130_020_238_981 && s.bids.count == 500 && s.asks.count == 500)
        #expect(s.asks[0] == BookLevel(price: dec("1.9532"), size: 10480) && s.cts == 1_733_011_200_589)
        #expect(try payload(OrderBookUpdated.self, delta.events[0]).u == 20_254_870)
        #expect(d.book(topic: Self.topic)?.book.size(at: PriceKey("1.9531")!, side: .bid) == PriceKey("6198"))
    }

    @Test func serviceRestartSnapshotWithUOne() throws {
        var d = FrameDecoder(channel: .linear)
        func frame(_ type: String, _ u: Int, _ bids: String, ts: Int) -> String {
            #"{"topic":"orderbook.50.BTCUSDT","type":"\#(type)","ts":\#(ts),"data":{"s":"BTCUSDT","b":[\#(bids)],"a":[["30001","1"]],"u":\#(u),"seq":1}}"#
        }
        _ = d.decode(frame("snapshot", 500, #"["30000","1"],["29999","2"]"#, ts: 1))
        _ = d.decode(frame("delta", 501, #"["30000","3"]"#, ts: 2))
        // After a restart Bybit starts again at u = 1 (a snapshot, even if we only trust u).
        let restart = d.decode(frame("snapshot", 1, #"["29000","5"]"#, ts: 3))
        #expect(restart.resync.isEmpty)
        #expect(d.book(topic: "orderbook.50.BTCUSDT")?.book.bids.map(\.description) == ["29000@5"])
        let next = d.decode(frame("delta", 2, #"["29001","1"]"#, ts: 4))
        #expect(try next.resync.isEmpty && payload(OrderBookUpdated.self, next.events[0]).synced)
        // u = 1 typed as a delta still resets.
        _ = d.decode(frame("delta", 1, #"["28000","1"]"#, ts: 5))
        #expect(d.book(topic: "orderbook.50.BTCUSDT")?.book.bids.map(\.description) == ["28000@1"])
        #expect(d.book(topic: "orderbook.50.BTCUSDT")?.isSynced == true)
        // Ids differ from the pre-restart messages with the same u (ts is part of the key).
        var e = FrameDecoder(channel: .linear)
        let a = e.decode(frame("delta", 2, #"["1","1"]"#, ts: 10)).events.last!.eventID
        let b = e.decode(frame("delta", 2, #"["1","1"]"#, ts: 11)).events.last!.eventID
        #expect(a != b)
    }

    @Test func forgetBookAndResetRequireASnapshot() throws {
        let frames = try Fixtures.frames(Self.sequenceFile)
        var d = FrameDecoder(channel: .linear)
        _ = d.decodeAll(Array(frames[0...2]))
        d.forgetBook(topic: Self.topic)
        #expect(d.book(topic: Self.topic) == nil)
        let out = d.decode(frames[3], receivedAt: receivedAt)
        #expect(out.resync == [Self.topic])
        #expect(try payload(OrderBookInvalidated.self, out.events[0]).reason == "delta_before_snapshot")
        _ = d.decode(frames[0], receivedAt: receivedAt)
        d.reset()
        #expect(d.book(topic: Self.topic) == nil)
        #expect(d.frames == 5)  // counters survive a reset
    }

    @Test func levelOneIsToleratedAndTrimmed() throws {
        var d = FrameDecoder(channel: .linear)
        let lines = try Fixtures.frames("tardis_bybit_linear_inverse_v5_2023-04.jsonl")
        let snap = d.decode(lines[2], receivedAt: receivedAt)
        let delta = d.decode(lines[3], receivedAt: receivedAt)
        #expect(snap.resync.isEmpty && delta.resync.isEmpty)
        var book = try #require(d.book(topic: "orderbook.1.BTCUSDT"))
        #expect(book.book.bids.map(\.description) == ["28552@0.012"])
        #expect(book.book.asks.map(\.description) == ["28552.1@25.433"])
        // A later capture (another session: u went back) with a level-1 delta of two levels.
        let other = d.decode(lines[12], receivedAt: receivedAt)
        #expect(other.resync.isEmpty && other.events.map(\.type) == ["OrderBookUpdated"])
        let p = try payload(OrderBookUpdated.self, other.events[0])
        #expect(p.type == "delta" && p.depth == 1 && p.synced && p.u == 1_188_472)
        book = try #require(d.book(topic: "orderbook.1.BTCUSDT"))
        #expect(book.book.bids.map(\.description) == ["27991.7@0.777"])
        #expect(book.book.asks.map(\.description) == ["27994.4@0.058"])
        // A repeated level-1 snapshot with the same u (sent every 3 s when unchanged) is fine.
        let repeated = d.decode(lines[2], receivedAt: receivedAt)
        #expect(repeated.resync.isEmpty)
    }

    @Test func docsExamples() throws {
        let examples = try Fixtures.docsExamples("ws_orderbook.json")
        #expect(examples.count == 2)
        var d = FrameDecoder(channel: .linear)
        // The first example is the docs' text with "..." placeholders: not JSON, kept raw.
        let raw = try #require(JSONDocument(parsing: examples[0]).root["_unparsed_raw"]?.string)
        let bad = d.decode(raw)
        #expect(bad.events.map(\.type) == ["UnparsedFrame"])
        #expect(try payload(UnparsedFrame.self, bad.events[0]).text == raw)
        let delta = d.decode(examples[1], receivedAt: receivedAt)
        #expect(delta.events.map(\.type) == ["OrderBookInvalidated", "OrderBookUpdated"])
        let p = try payload(OrderBookUpdated.self, delta.events[1])
        #expect(p.u == 177_400_507 && p.bids.count == 5 && p.asks.count == 7 && p.cts == 1_687_940_967_464)
        #expect(p.bids[0] == BookLevel(price: dec("30247.2"), size: dec("30.028")))
    }

    @Test func badLevelsLeaveTheBookUntouched() throws {
        var d = FrameDecoder(channel: .linear)
        _ = d.decode(#"{"topic":"orderbook.50.X","type":"snapshot","ts":1,"data":{"s":"X","b":[["1","1"]],"a":[["2","1"]],"u":10}}"#)
        let before = try #require(d.book(topic: "orderbook.50.X"))
        for bad in [#"[["1.5","x"]]"#, #"[["1.5"]]"#, #"[["-1","1"]]"#, #"[[1.5,"1"]]"#, #""x""#, #"[["1.5","1"],["abc","1"]]"#] {
            let out = d.decode(#"{"topic":"orderbook.50.X","type":"delta","ts":2,"data":{"s":"X","b":\#(bad),"a":[],"u":11}}"#)
            #expect(out.events.map(\.type) == ["UnparsedFrame"], "\(bad)")
            #expect(out.resync.isEmpty)
        }
        #expect(d.book(topic: "orderbook.50.X") == before)
        #expect(d.unparsableFrames == 6)
        let missingU = d.decode(#"{"topic":"orderbook.50.X","type":"delta","ts":2,"data":{"s":"X","b":[],"a":[]}}"#)
        #expect(try payload(UnparsedFrame.self, missingU.events[0]).reason == "orderbook data without u")
    }
}

@Suite("Order book")
struct OrderBookTests {
    @Test func setInsertsReplacesAndDeletes() {
        var b = OrderBook()
        b.set(.bid, price: PriceKey("100")!, size: PriceKey("1")!)
        b.set(.bid, price: PriceKey("101.5")!, size: PriceKey("2")!)
        b.set(.bid, price: PriceKey("99")!, size: PriceKey("3")!)
        b.set(.bid, price: PriceKey("100.00")!, size: PriceKey("4")!)
        b.set(.ask, price: PriceKey("102")!, size: PriceKey("1")!)
        b.set(.ask, price: PriceKey("101.75")!, size: PriceKey("1")!)
        b.set(.ask, price: PriceKey("103")!, size: .zero)  // deleting an unknown level is a no-op
        #expect(b.bids.map(\.description) == ["101.5@2", "100@4", "99@3"])
        #expect(b.asks.map(\.description) == ["101.75@1", "102@1"])
        b.set(.bid, price: PriceKey("101.5")!, size: PriceKey("0")!)
        #expect(b.bestBid?.description == "100@4")
        #expect(b.size(at: PriceKey("99")!, side: .bid) == PriceKey("3"))
        #expect(b.size(at: PriceKey("98")!, side: .bid) == nil)
        b.trim(to: 1)
        #expect(b.bidCount == 1 && b.askCount == 1)
        b.removeAll()
        #expect(b.isEmpty)
    }

    @Test func finerPricesRescaleAndHugeOnesFallBack() {
        // Start coarse, then add prices with more decimals than the initial scale, then one
        // that cannot be an Int64 at that scale: order stays exact throughout.
        var b = OrderBook()
        var reference: [Decimal] = []
        for text in ["1", "2.5", "0.000000001", "0.0000000000015", "3", "922337203685477580", "1.00000000000001", "0.5"] {
            b.set(.ask, price: PriceKey(text)!, size: PriceKey("1")!)
            reference.append(Decimal(string: text)!)
        }
        #expect(b.asks.map(\.price.decimal) == reference.sorted())
        var c = OrderBook()
        for text in ["1", "2.5", "0.000000001", "0.0000000000015", "3", "922337203685477580", "1.00000000000001", "0.5"].reversed() {
            c.set(.ask, price: PriceKey(text)!, size: PriceKey("1")!)
        }
        #expect(b == c)
        #expect(b.checksum == c.checksum)
        c.set(.ask, price: PriceKey("3")!, size: PriceKey("2")!)
        #expect(b.checksum != c.checksum)
    }

    @Test func negativePricesStillOrderExactly() {
        // Never in a real book, but the public API accepts them (the fast integer search
        // steps aside).
        var b = OrderBook()
        for text in ["2", "-1", "0", "-3.5", "1"] { b.set(.ask, price: PriceKey(text)!, size: PriceKey("1")!) }
        for text in ["2", "-1", "0", "-3.5", "1"] { b.set(.bid, price: PriceKey(text)!, size: PriceKey("1")!) }
        #expect(b.asks.map(\.price.description) == ["-3.5", "-1", "0", "1", "2"])
        #expect(b.bids.map(\.price.description) == ["2", "1", "0", "-1", "-3.5"])
        b.set(.ask, price: PriceKey("-1")!, size: .zero)
        #expect(b.askCount == 4 && b.size(at: PriceKey("-3.5")!, side: .ask) == PriceKey("1"))
    }

    @Test func randomOperationsMatchADictionary() {
        // Seeded generator: deterministic.
        var state: UInt64 = 7
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        var book = OrderBook()
        var bids: [Decimal: Decimal] = [:]
        var asks: [Decimal: Decimal] = [:]
        for _ in 0..<8000 {
            let ticks = Int(next() % 200)
            let decimals = Int(next() % 3)  // mixes 1.9, 1.95, 1.953 ...
            let price = Decimal(ticks) / 10 + Decimal(Int(next() % 10)) / Decimal(sign: .plus, exponent: decimals + 1, significand: 1)
            let size = next() % 4 == 0 ? Decimal(0) : Decimal(Int(next() % 1000))
            let side: OrderBook.Side = next() % 2 == 0 ? .bid : .ask
            book.set(side, price: PriceKey(price)!, size: PriceKey(size)!)
            if side == .bid { bids[price] = size == 0 ? nil : size } else { asks[price] = size == 0 ? nil : size }
        }
        #expect(book.bids.map(\.price.decimal) == bids.keys.sorted(by: >))
        #expect(book.bids.map(\.size.decimal) == bids.sorted(by: { $0.key > $1.key }).map(\.value))
        #expect(book.asks.map(\.price.decimal) == asks.keys.sorted())
        #expect(book.asks.map(\.size.decimal) == asks.sorted(by: { $0.key < $1.key }).map(\.value))
        for (p, s) in asks { #expect(book.size(at: PriceKey(p)!, side: .ask) == PriceKey(s)) }
    }
}
