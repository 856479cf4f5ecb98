import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Public trades, tickers, klines, liquidations")
struct MarketDecodingTests {
    // MARK: publicTrade

    @Test func inverseTradesWithThreeFills() throws {
        var d = FrameDecoder(channel: .inverse)
        let out = d.decodeAll(try Fixtures.frames("ws_public_trade_inverse_multi.json"))[0]
        #expect(out.events.count == 1)
        let e = out.events[0]
        #expect(e.stream == "market.inverse.trade-BTCUSD" && e.type == "MarketTrades")
        #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: 1_680_673_823_566))
        let p = try payload(MarketTrades.self, e)
        #expect(p.symbol == "BTCUSD" && p.category == "inverse" && p.ts == 1_680_673_823_566)
        #expect(p.trades.map(\.id) == ["0cbf2330-952d-5d03-a462-4bf826c867af", "912e56de-9ed6-5f4f-9421-f0ff5a42d84a",
                                       "cb558b74-cf72-5157-b53b-93944db336ad"])
        #expect(p.trades.map(\.size) == [5823, 3, 5593])
        #expect(p.trades.allSatisfy { $0.price == dec("28560.5") && $0.side == "Buy" && $0.time == 1_680_673_823_564 })
        #expect(p.trades.map(\.tickDirection) == ["PlusTick", "ZeroPlusTick", "ZeroPlusTick"])
        #expect(p.trades.allSatisfy { $0.blockTrade == false && $0.seq == nil })
        #expect(try e.json["trades"]?[0]?[string: "price"] == "28560.5")  // "28560.50" canonical
        try expectWellFormed(e)
        // Re-encoding the typed payload gives the very same bytes.
        #expect(Array(try CanonicalJSON.encoder.encode(p)) == e.data)
    }

    @Test(arguments: ["ws_public_trade_spot.json", "ws_public_trade_spot_bbgo.json"])
    func spotTradesHaveNumericIdsAndNoTickDirection(_ file: String) throws {
        var d = FrameDecoder(channel: .spot)
        let e = try #require(d.decodeAll(try Fixtures.frames(file))[0].events.first)
        #expect(e.stream == "market.spot.trade-BTCUSDT")
        let p = try payload(MarketTrades.self, e)
        #expect(p.trades.count == 1 && p.category == "spot")
        let t = p.trades[0]
        #expect(t.tickDirection == nil && t.side == "Sell" && UInt64(t.id) != nil && t.id.hasPrefix("2290000000"))
        if file == "ws_public_trade_spot.json" {
            #expect(t.id == "2290000000090712222" && t.price == 43774 && t.size == dec("0.0026") && t.time == 1_703_430_744_102)
        } else {
            #expect(t.id == "2290000000068683805" && t.price == dec("25816.27") && t.size == dec("0.000083"))
        }
        try expectWellFormed(e)
    }

    @Test func spotTradeSession() throws {
        var d = FrameDecoder(channel: .spot)
        let outs = d.decodeAll(try Fixtures.frames("ws_spot_public_trade_session.jsonl"))
        guard case .subscription(let ack) = outs[0].control else { throw Failure("no ack") }
        #expect(ack.success && ack.connID == "6c642bd0-3fa2-408e-8617-3d62cb898d4c" && ack.retMsg == "subscribe")
        #expect(outs[0].events.isEmpty)
        let a = try payload(MarketTrades.self, outs[1].events[0])
        let b = try payload(MarketTrades.self, outs[2].events[0])
        #expect(a.trades[0].id == "2290000000090712222" && b.trades[0].id == "2290000000090712223")
        #expect(b.trades[0].price == dec("43774.01") && b.trades[0].side == "Buy" && b.trades[0].size == dec("0.009516"))
        #expect(outs[1].events[0].eventID != outs[2].events[0].eventID)
    }

    @Test func docsTradeHasSeq() throws {
        var d = FrameDecoder(channel: .linear)
        let e = try #require(d.decode(try Fixtures.docsExamples("ws_trade.json")[0], receivedAt: receivedAt).events.first)
        let t = try payload(MarketTrades.self, e).trades[0]
        #expect(t.seq == 1_783_284_617 && t.price == dec("16578.5") && t.size == dec("0.001") && t.tickDirection == "PlusTick")
        #expect(e.stream == "market.linear.trade-BTCUSDT")
        try expectWellFormed(e)
    }

    @Test func sameFrameTwiceGivesTheSameIds() throws {
        let frame = try Fixtures.frames("ws_public_trade_inverse_multi.json")[0]
        var a = FrameDecoder(channel: .inverse)
        var b = FrameDecoder(channel: .inverse)
        let first = a.decode(frame, receivedAt: receivedAt).events[0]
        let again = a.decode(frame, receivedAt: Timestamp(microsecondsSinceEpoch: 42)).events[0]
        let other = b.decode(frame, receivedAt: receivedAt).events[0]
        #expect(first == again && first == other)
        #expect(first.eventID == DeterministicID.uuid5(
            namespace: DeterministicID.namespace,
            name: "market.inverse.trade-BTCUSD|MarketTrades|0cbf2330-952d-5d03-a462-4bf826c867af,"
                + "912e56de-9ed6-5f4f-9421-f0ff5a42d84a,cb558b74-cf72-5157-b53b-93944db336ad"))
    }

    // MARK: tickers

    @Test func inverseTickerDeltaIsMergedAndFundingDerivedOnce() throws {
        var d = FrameDecoder(channel: .inverse)
        let outs = d.decodeAll(try Fixtures.frames("ws_ticker_inverse_snapshot_then_delta.jsonl"))
        #expect(outs[0].events.map(\.type) == ["TickerUpdated", "FundingRateUpdated"])
        #expect(outs[0].events.map(\.stream) == ["market.inverse.ticker-BTCUSD", "market.inverse.funding-BTCUSD"])
        let funding = try payload(FundingRateUpdated.self, outs[0].events[1])
        #expect(funding.fundingRate == dec("0.0001") && funding.nextFundingTime == 1_680_681_600_000)
        #expect(funding.symbol == "BTCUSD" && funding.category == "inverse" && funding.ts == 1_680_673_822_577)
        // The delta repeats fundingRate with the same value: no new funding event.
        #expect(outs[1].events.map(\.type) == ["TickerUpdated"])
        let merged = try payload(TickerUpdated.self, outs[1].events[0])
        #expect(merged.openInterest == 449_736_674)  // from the delta
        #expect(merged.lastPrice == 28560 && merged.markPrice == 28560 && merged.highPrice24h == 28815)  // kept
        #expect(merged.prevPrice1h == dec("28500.5") && merged.tickDirection == "MinusTick")
        #expect(merged.nextFundingTime == 1_680_681_600_000 && merged.fundingRate == dec("0.0001"))
        #expect(merged.bid1Price == 28560 && merged.ask1Size == 70817)
        #expect(merged.ts == 1_680_673_822_776 && merged.cs == 20_856_433_603)
        // The whole snapshot field set is still there.
        let snapKeys = try outs[0].events[0].json.members.map(\.key)
        let mergedKeys = try outs[1].events[0].json.members.map(\.key)
        #expect(snapKeys == mergedKeys && mergedKeys.count == 23)
        for e in outs.flatMap(\.events) { try expectWellFormed(e) }
        #expect(Array(try CanonicalJSON.encoder.encode(merged)) == outs[1].events[0].data)
    }

    @Test func datedFutureHasNoFunding() throws {
        var d = FrameDecoder(channel: .inverse)
        let outs = d.decodeAll(try Fixtures.frames("ws_ticker_inverse_futures_snapshot_then_delta.jsonl"))
        #expect(outs.flatMap(\.events).map(\.type) == ["TickerUpdated", "TickerUpdated"])
        let snap = try payload(TickerUpdated.self, outs[0].events[0])
        #expect(snap.fundingRate == nil && snap.nextFundingTime == nil)
        #expect(try outs[0].events[0].json["fundingRate"] == nil)  // "" is absent
        #expect(snap.deliveryTime == "2023-09-29T08:00:00Z" && snap.basis == dec("459.06"))
        #expect(snap.predictedDeliveryPrice == 0 && snap.basisRate == dec("0.01600486"))
        let merged = try payload(TickerUpdated.self, outs[1].events[0])
        #expect(merged.basisRate == dec("0.01603111") && merged.lastPrice == 29026 && merged.symbol == "BTCUSDU23")
    }

    @Test func linearSnapshotDerivesFunding() throws {
        var d = FrameDecoder(channel: .linear)
        let out = d.decodeAll(try Fixtures.frames("ws_ticker_linear_snapshot_2023.json"))[0]
        #expect(out.events.map(\.type) == ["TickerUpdated", "FundingRateUpdated"])
        let t = try payload(TickerUpdated.self, out.events[0])
        #expect(t.symbol == "BTCUSDT" && t.category == "linear" && t.lastPrice == dec("28550.7"))
        #expect(t.openInterestValue == dec("1506861070.82") && t.volume24h == dec("151185.516"))
        #expect(t.fundingIntervalHour == nil && t.fundingCap == nil)
        let f = try payload(FundingRateUpdated.self, out.events[1])
        #expect(f.fundingRate == dec("0.0001") && f.nextFundingTime == 1_680_681_600_000)
        #expect(out.events[1].stream == "market.linear.funding-BTCUSDT")
    }

    @Test func fundingChangesAreReported() throws {
        var d = FrameDecoder(channel: .linear)
        func frame(_ type: String, _ fields: String, ts: Int) -> String {
            #"{"topic":"tickers.ETHUSDT","type":"\#(type)","data":{"symbol":"ETHUSDT"\#(fields)},"cs":\#(ts),"ts":\#(ts)}"#
        }
        let kinds = [
            frame("snapshot", #","lastPrice":"1","fundingRate":"0.0001","nextFundingTime":"1000""#, ts: 1),
            frame("delta", #","lastPrice":"2""#, ts: 2),  // no funding change
            frame("delta", #","fundingRate":"0.00010""#, ts: 3),  // same value, other text
            frame("delta", #","fundingRate":"-0.0002""#, ts: 4),  // rate changed
            frame("delta", #","nextFundingTime":"2000""#, ts: 5),  // time changed
            frame("delta", #","fundingRate":"""#, ts: 6),  // funding gone
            frame("delta", #","fundingRate":"0.0003""#, ts: 7),  // back
        ].map { d.decode($0).events.map(\.type).filter { $0 == "FundingRateUpdated" }.count }
        #expect(kinds == [1, 0, 0, 1, 1, 0, 1])
        // After reset the first snapshot counts again.
        d.reset()
        #expect(d.decode(frame("snapshot", #","fundingRate":"0.0003","nextFundingTime":"2000""#, ts: 8)).events.count == 2)
        // Spot never derives funding.
        var s = FrameDecoder(channel: .spot)
        #expect(s.decode(frame("snapshot", #","fundingRate":"0.0003""#, ts: 9)).events.map(\.type) == ["TickerUpdated"])
    }

    @Test("a long run of deltas whose values change length (the state is compacted on the way) merges as a fresh snapshot of the same fields")
    func tickerStateOverManyDeltas() throws {
        func frame(_ type: String, _ fields: [(String, String)], cs: Int) -> String {
            let data = fields.map { #""\#($0.0)":"\#($0.1)""# }.joined(separator: ",")
            return #"{"topic":"tickers.BTCUSDT","type":"\#(type)","data":{\#(data)},"cs":\#(cs),"ts":1700000000000}"#
        }
        var d = FrameDecoder(channel: .linear)
        var merged: [String: String] = ["symbol": "BTCUSDT", "lastPrice": "1", "markPrice": "2", "indexPrice": "3", "bid1Size": "7"]
        _ = d.decode(frame("snapshot", merged.sorted { $0.key < $1.key }, cs: 0))
        for i in 1...3000 {
            var delta = [("lastPrice", i % 2 == 0 ? "1" : "12345.678\(i)"), ("markPrice", "2.\(i)")]
            if i % 7 == 0 { delta.append(("openInterest", "\(i)")) }
            if i % 11 == 0 { delta.append(("bid1Size", "")) }  // absent: dropped
            if i % 13 == 0 { delta.append(("bid1Size", "\(i).5")) }
            for (k, v) in delta { merged[k] = v.isEmpty ? nil : v }
            let out = d.decode(frame("delta", delta, cs: i))
            var fresh = FrameDecoder(channel: .linear)
            let reference = fresh.decode(frame("snapshot", merged.sorted { $0.key < $1.key }, cs: i))
            #expect(out.events.first?.type == "TickerUpdated")
            #expect(out.events.first?.data == reference.events.first?.data, "delta \(i)")
        }
        // Compacted on the way: the dead bytes stay under the live ones plus the slack.
        let state = try #require(d.topics[0].ticker)
        #expect(state.arena.count <= 2 * state.liveBytes + TickerState.compactionSlack)
        #expect(state.liveBytes == state.fields.reduce(0) { $0 + $1.keyCount + $1.encodedKeyCount + $1.valueCount })
        // Each field's encoded key is its name as a JSON key.
        for f in state.fields {
            let name = String(decoding: state.arena[f.keyStart..<(f.keyStart + f.keyCount)], as: UTF8.self)
            #expect(Array(state.arena[f.encodedKeyStart..<(f.encodedKeyStart + f.encodedKeyCount)]) == Array("\"\(name)\":".utf8))
        }
    }

    @Test("the envelope's category, cs, symbol and ts win over same-named data fields, and only when the envelope has them; an escaped key is merged by its text")
    func tickerEnvelopeAndDataFields() throws {
        var d = FrameDecoder(channel: .linear)
        let withCs = d.decode(#"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"category":"x","cs":"5","symbol":"ETHUSDT","ts":"6","mark\u0050rice":"7.50","lastPrice":"8"},"cs":11,"ts":1700000000000}"#)
        let a = try withCs.events[0].json
        #expect(a["category"]?.string == "linear" && a["symbol"]?.string == "BTCUSDT")
        #expect(a["cs"]?.numberText == "11" && a["ts"]?.numberText == "1700000000000")
        #expect(a["markPrice"]?.string == "7.5" && a["lastPrice"]?.string == "8")
        #expect(a.members.map(\.key) == ["category", "cs", "lastPrice", "markPrice", "symbol", "ts"])
        // No cs or ts in the envelope: the data's own fields stay.
        let without = d.decode(#"{"topic":"tickers.BTCUSDT","type":"delta","data":{"lastPrice":"9"}}"#)
        let b = try without.events[0].json
        #expect(b["cs"]?.string == "5" && b["ts"]?.string == "6" && b["lastPrice"]?.string == "9" && b["markPrice"]?.string == "7.5")
        #expect(b["category"]?.string == "linear" && b["symbol"]?.string == "BTCUSDT")
    }

    @Test func tickerDeltaBeforeSnapshotIsRecordedRaw() throws {
        var d = FrameDecoder(channel: .inverse)
        let delta = try Fixtures.frames("ws_ticker_inverse_snapshot_then_delta.jsonl")[1]
        let out = d.decode(delta, receivedAt: receivedAt)
        #expect(out.events.map(\.type) == ["UnparsedFrame"])
        #expect(out.events[0].stream == "gateway.unparsed-inverse")
        let p = try payload(UnparsedFrame.self, out.events[0])
        #expect(p.reason == "ticker delta before snapshot for tickers.BTCUSD")
        #expect(p.text == String(decoding: delta, as: UTF8.self) && !p.truncated && p.byteCount == delta.count)
        #expect(d.unparsableFrames == 1)
    }

    @Test func spotTickersAreSnapshotsWithFewFields() throws {
        var d = FrameDecoder(channel: .spot)
        let outs = d.decodeAll(try Fixtures.frames("ws_spot_ticker_session_2025.jsonl"))
        #expect(outs[0].control != nil)
        let btc = try payload(TickerUpdated.self, outs[1].events[0])
        let atom = try payload(TickerUpdated.self, outs[2].events[0])
        #expect(outs[1].events[0].stream == "market.spot.ticker-BTCUSDT" && outs[2].events[0].stream == "market.spot.ticker-ATOMUSDT")
        #expect(btc.lastPrice == dec("102742.6") && btc.usdIndexPrice == dec("102810.374009") && btc.bid1Price == nil)
        #expect(btc.turnover24h == dec("1242160016.20538339") && btc.price24hPcnt == dec("-0.0236") && btc.cs == 76_067_784_435)
        #expect(atom.lastPrice == dec("4.166") && atom.volume24h == dec("836887.238"))
        #expect(try outs[2].events[0].json.members.count == 12)
        let single = d.decodeAll(try Fixtures.frames("ws_ticker_spot_2025.json"))[0]
        #expect(single.events.count == 1 && single.events[0].type == "TickerUpdated")
        #expect(single.events[0].eventID == outs[1].events[0].eventID)  // same frame, same id
    }

    @Test func docsTickers() throws {
        let examples = try Fixtures.docsExamples("ws_ticker.json")
        #expect(examples.count == 4)
        var linear = FrameDecoder(channel: .linear)
        let perp = linear.decode(examples[0], receivedAt: receivedAt)
        #expect(perp.events.map(\.type) == ["TickerUpdated", "FundingRateUpdated"])
        let t = try payload(TickerUpdated.self, perp.events[0])
        #expect(t.fundingIntervalHour == 8 && t.fundingCap == dec("0.005") && t.fundingRate == dec("-0.005"))
        #expect(t.preOpenPrice == nil && t.curPreListingPhase == nil && t.lastPrice == dec("66666.6"))
        #expect(try payload(FundingRateUpdated.self, perp.events[1]).nextFundingTime == 1_760_342_400_000)
        let future = linear.decode(examples[1], receivedAt: receivedAt)
        #expect(future.events.map(\.type) == ["TickerUpdated"])
        #expect(try payload(TickerUpdated.self, future.events[0]).basisRateYear == dec("0.30655351"))
        #expect(future.events[0].stream == "market.linear.ticker-BTC-26DEC25")
        // An option ticker (no cs) still decodes; its extra fields are kept in the data.
        let option = linear.decode(examples[2], receivedAt: receivedAt)
        #expect(try option.events[0].json[string: "markPriceIv"] == "0.4896")
        #expect(try option.events[0].json[string: "theta"] == "-19.9115368")
        var spot = FrameDecoder(channel: .spot)
        let s = spot.decode(examples[3], receivedAt: receivedAt)
        #expect(try payload(TickerUpdated.self, s.events[0]).usdIndexPrice == dec("21120.2400136"))
        for e in perp.events + future.events + option.events + s.events { try expectWellFormed(e) }
    }

    // MARK: kline

    @Test(arguments: [("ws_kline_linear_2024.json", "61029.9", Int64(1_719_667_560_000)),
                      ("ws_kline_linear_testnet_2026.json", "77256.8", Int64(1_789_470_120_000))])
    func klineUpdated(_ file: String, _ close: String, _ start: Int64) throws {
        var d = FrameDecoder(channel: .linear)
        let e = try #require(d.decodeAll(try Fixtures.frames(file))[0].events.first)
        #expect(e.type == "KlineUpdated" && e.stream == "market.linear.kline-BTCUSDT.1")
        let k = try payload(KlineUpdated.self, e).kline
        #expect(k.close == Decimal(string: close)! && k.start == start && k.end == start + 59_999 && !k.confirm)
        #expect(k.interval == "1" && k.symbol == "BTCUSDT" && k.category == "linear")
        #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: k.timestamp))
        try expectWellFormed(e)
        #expect(Array(try CanonicalJSON.encoder.encode(KlineUpdated(kline: k))) == e.data)
    }

    @Test("Ticker, funding and kline ids: UUIDv5 of `stream|type|` and the natural key")
    func tickerAndKlineIDs() throws {
        func id(_ name: String) -> UUID { DeterministicID.uuid5(namespace: DeterministicID.namespace, name: name) }
        var d = FrameDecoder(channel: .linear)
        let ticker = d.decode(try Fixtures.frames("ws_ticker_linear_snapshot_2023.json")[0], receivedAt: receivedAt).events
        #expect(ticker.map(\.type) == ["TickerUpdated", "FundingRateUpdated"])
        #expect(ticker[0].eventID == id("market.linear.ticker-BTCUSDT|TickerUpdated|1680673821770|50193544280"))
        #expect(ticker[1].eventID == id("market.linear.funding-BTCUSDT|FundingRateUpdated|1680673821770|50193544280"))
        let kline = d.decode(try Fixtures.frames("ws_kline_linear_2024.json")[0], receivedAt: receivedAt).events
        #expect(kline[0].eventID == id("market.linear.kline-BTCUSDT.1|KlineUpdated|1719667560000|1719667601380|false"))
        let frame = String(decoding: try Fixtures.frames("ws_kline_linear_2024.json")[0], as: UTF8.self)
        let closed = d.decode(frame.replacingOccurrences(of: "\"confirm\":false", with: "\"confirm\":true")).events
        #expect(closed[0].eventID == id("market.linear.kline-BTCUSDT.1|KlineClosed|1719667560000|1719667601380|true"))
        // A ticker without ts or cs: both parts of its key are 0.
        var e = FrameDecoder(channel: .linear)
        let bare = e.decode(#"{"topic":"tickers.ETHUSDT","type":"snapshot","data":{"symbol":"ETHUSDT","lastPrice":"1.5"}}"#).events
        #expect(bare[0].eventID == id("market.linear.ticker-ETHUSDT|TickerUpdated|0|0"))
    }

    @Test("An id's name is hashed as a String holds it: bytes that are not UTF-8 are repaired first")
    func idNameBytes() {
        var ascii = IDName("s", "T")
        ascii.add(-42)
        ascii.add("x")
        #expect(ascii.uuid == DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "s|T|-42|x"))
        var broken = IDName("s", "T")
        [UInt8(0x61), 0xFF, 0xC3, 0xA9].withUnsafeBytes { broken.add($0) }
        #expect(broken.uuid == DeterministicID.uuid5(namespace: DeterministicID.namespace,
                                                     name: String(decoding: Array("s|T|".utf8) + [0x61, 0xFF, 0xC3, 0xA9], as: UTF8.self)))
        // Int64's ends, and zero.
        var ends = IDName("s", "T")
        ends.add(Int64.min); ends.add(Int64.max); ends.add(0)
        #expect(ends.uuid == DeterministicID.uuid5(namespace: DeterministicID.namespace,
                                                   name: "s|T|\(Int64.min)|\(Int64.max)|0"))
        // Names around and past the inline bytes (a trade frame listing many ids moves to the
        // heap), built by every kind of part.
        for length in [186, 187, 188, 189, 190, 191, 192, 193, 194, 400, 5000] {
            var name = IDName("stream", "Type")
            var expected = "stream|Type"
            name.separator(); expected += "|"
            var n = 0
            while expected.utf8.count < length {
                switch n % 4 {
                case 0: name.extend(UInt8(ascii: "a")); expected += "a"
                case 1: Array("bc".utf8).withUnsafeBytes { name.extend($0) }; expected += "bc"
                case 2: name.add(Int64(n)); expected += "|\(n)"
                default: name.add("d"); expected += "|d"
                }
                n += 1
            }
            #expect(name.uuid == DeterministicID.uuid5(namespace: DeterministicID.namespace, name: expected), "length \(length)")
        }
        // A long name with bytes that are not UTF-8, past the inline bytes: repaired as a String.
        var long = IDName("s", "T")
        let tail = [UInt8](repeating: UInt8(ascii: "x"), count: 250) + [0xFF, 0xC3, 0xA9]
        tail.withUnsafeBytes { long.add($0) }
        #expect(long.uuid == DeterministicID.uuid5(namespace: DeterministicID.namespace,
                                                   name: String(decoding: Array("s|T|".utf8) + tail, as: UTF8.self)))
    }

    @Test func klineConfirmMakesAClosedCandle() throws {
        var d = FrameDecoder(channel: .linear)
        let frame = try Fixtures.frames("ws_kline_linear_2024.json")[0]
        let text = String(decoding: frame, as: UTF8.self).replacingOccurrences(of: "\"confirm\":false", with: "\"confirm\":true")
        let closed = d.decode(text).events[0]
        let open = d.decode(frame, receivedAt: receivedAt).events[0]
        #expect(closed.type == "KlineClosed" && open.type == "KlineUpdated")
        #expect(closed.stream == open.stream && closed.eventID != open.eventID)
        #expect(try payload(KlineClosed.self, closed).kline.confirm)
        let docs = d.decode(try Fixtures.docsExamples("ws_kline.json")[0], receivedAt: receivedAt).events[0]
        #expect(docs.stream == "market.linear.kline-BTCUSDT.5")
        #expect(try payload(KlineUpdated.self, docs).kline.turnover == dec("34666.4005"))
        // Two candles in one frame give two events.
        let two = text.replacingOccurrences(of: "\"data\":[{", with: "\"data\":[{\"start\":1,\"end\":2,\"interval\":\"1\",\"open\":\"1\",\"close\":\"1\",\"high\":\"1\",\"low\":\"1\",\"volume\":\"0\",\"turnover\":\"0\",\"confirm\":true,\"timestamp\":3},{")
        #expect(d.decode(two).events.map(\.type) == ["KlineClosed", "KlineClosed"])
    }

    // MARK: liquidations

    @Test func allLiquidation() throws {
        var d = FrameDecoder(channel: .linear)
        let e = try #require(d.decodeAll(try Fixtures.frames("ws_all_liquidation.json"))[0].events.first)
        #expect(e.type == "LiquidationsReported" && e.stream == "market.linear.liquidation-PIPPINUSDT")
        let p = try payload(LiquidationsReported.self, e)
        #expect(p.legacy == nil && p.ts == 1_740_480_207_578 && p.liquidations.count == 1)
        let l = p.liquidations[0]
        #expect(l.time == 1_740_480_207_110 && l.side == "Sell" && l.size == 2846 && l.price == dec("0.02456"))
        try expectWellFormed(e)
        let docs = d.decode(try Fixtures.docsExamples("ws_all_liquidation.json")[0], receivedAt: receivedAt).events[0]
        #expect(try payload(LiquidationsReported.self, docs).liquidations[0].price == dec("0.04499"))
    }

    @Test func legacyLiquidationTopic() throws {
        var d = FrameDecoder(channel: .inverse)
        let e = try #require(d.decodeAll(try Fixtures.frames("ws_liquidation_legacy_deprecated.json"))[0].events.first)
        #expect(e.stream == "market.inverse.liquidation-XRPUSD")
        let p = try payload(LiquidationsReported.self, e)
        #expect(p.legacy == true && p.liquidations[0].size == 6949 && p.liquidations[0].price == dec("0.5149"))
        #expect(p.liquidations[0].time == 1_680_673_944_093)
        var l = FrameDecoder(channel: .linear)
        let docs = l.decode(try Fixtures.docsExamples("ws_liquidation_deprecated.json")[0], receivedAt: receivedAt).events[0]
        #expect(try payload(LiquidationsReported.self, docs).liquidations[0].price == dec("43511.7"))
        try expectWellFormed(docs)
    }
}

struct Failure: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}
