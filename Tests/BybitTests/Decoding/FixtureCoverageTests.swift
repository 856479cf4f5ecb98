import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Recorded sessions and fixture coverage")
struct FixtureCoverageTests {
    /// The Tardis file mixes linear and inverse captures; each goes to its channel's decoder.
    static let inverseSymbols: Set<String> = ["BTCUSD", "BTCUSDU23", "XRPUSD"]

    @Test func tardisLinearInverseSession() throws {
        let lines = try Fixtures.frames("tardis_bybit_linear_inverse_v5_2023-04.jsonl")
        #expect(lines.count == 14)
        var linear = FrameDecoder(channel: .linear)
        var inverse = FrameDecoder(channel: .inverse)
        var outs: [FrameOutput] = []
        for line in lines {
            let topic = try #require(JSONDocument(parsing: line).root[string: "topic"])
            let symbol = String(topic.split(separator: ".").last!)
            if Self.inverseSymbols.contains(symbol) {
                outs.append(inverse.decode(line, receivedAt: receivedAt))
            } else {
                outs.append(linear.decode(line, receivedAt: receivedAt))
            }
        }
        #expect(outs.map { $0.events.map(\.type) } == [
            ["MarketTrades"], ["MarketTrades"], ["OrderBookUpdated"], ["OrderBookUpdated"], ["OrderBookUpdated"],
            ["OrderBookUpdated"], ["TickerUpdated", "FundingRateUpdated"], ["TickerUpdated"], ["TickerUpdated"],
            ["TickerUpdated"], ["TickerUpdated", "FundingRateUpdated"], ["LiquidationsReported"], ["OrderBookUpdated"],
            ["LiquidationsReported"],
        ])
        #expect(outs.map { $0.events[0].stream } == [
            "market.inverse.trade-BTCUSD", "market.linear.trade-LTCUSDT", "market.linear.orderbook-BTCUSDT",
            "market.linear.orderbook-BTCUSDT", "market.linear.orderbook-BTCPERP", "market.linear.orderbook-BTCPERP",
            "market.inverse.ticker-BTCUSD", "market.inverse.ticker-BTCUSD", "market.inverse.ticker-BTCUSDU23",
            "market.inverse.ticker-BTCUSDU23", "market.linear.ticker-BTCUSDT", "market.inverse.liquidation-XRPUSD",
            "market.linear.orderbook-BTCUSDT", "market.linear.liquidation-PIPPINUSDT",
        ])
        #expect(outs.allSatisfy { $0.resync.isEmpty && $0.control == nil })
        #expect(try payload(MarketTrades.self, outs[0].events[0]).trades.count == 3)
        let ltc = try payload(MarketTrades.self, outs[1].events[0]).trades[0]
        #expect(ltc.price == dec("94.53") && ltc.size == dec("0.4") && ltc.tickDirection == "ZeroMinusTick")
        let perpDelta = try payload(OrderBookUpdated.self, outs[5].events[0])
        #expect(perpDelta.synced && perpDelta.u == 20_683_569 && perpDelta.cts == nil)
        let perp = try #require(linear.book(topic: "orderbook.50.BTCPERP")).book
        #expect(perp.bids.map(\.description) == ["28555.2@0.677"] && perp.asks.map(\.description) == ["28555.3@0.029"])
        #expect(try payload(FundingRateUpdated.self, outs[10].events[1]).symbol == "BTCUSDT")
        #expect(linear.unparsableFrames == 0 && inverse.unparsableFrames == 0)
        #expect(linear.frames + inverse.frames == 14)
        for e in outs.flatMap(\.events) { try expectWellFormed(e) }
    }

    @Test func tardisSpotSession() throws {
        var d = FrameDecoder(channel: .spot)
        let outs = d.decodeAll(try Fixtures.frames("tardis_bybit_spot_v5_2023-04.jsonl"))
        #expect(outs.count == 6 && outs.allSatisfy { $0.events.count == 1 && $0.resync.isEmpty })
        let fills = try payload(MarketTrades.self, outs[0].events[0])
        #expect(fills.trades.map(\.id) == ["2290000000050703789", "2290000000050703790", "2290000000050703791", "2290000000050703792"])
        #expect(fills.trades.map(\.size) == [dec("0.041732"), dec("0.008513"), dec("0.042384"), dec("0.055371")])
        #expect(fills.trades.allSatisfy { $0.price == dec("28165.38") && $0.tickDirection == nil })
        #expect(outs[1].events[0].stream == "market.spot.trade-BTCUSDC")
        let top = try #require(d.book(topic: "orderbook.1.BTCUSDT")).book
        #expect(top.bids.map(\.description) == ["28165.07@0.166754"] && top.asks.map(\.description) == ["28165.08@0.996816"])
        let ob50 = try #require(d.book(topic: "orderbook.50.BTCUSDT"))
        #expect(ob50.isSynced && ob50.updateID == 59_438_061)
        #expect(ob50.book.bids.map(\.description) == ["28162.57@0.07562", "28161.04@0.177474"])
        #expect(ob50.book.asks.map(\.description) == ["28162.58@0.506829"])
        for e in outs.flatMap(\.events) { try expectWellFormed(e) }
    }

    /// Every WebSocket fixture (captured and docs) decodes without a crash; each frame gives
    /// events or a control frame, and the only raw records are the ones expected.
    @Test func everyWebSocketFixtureDecodes() throws {
        var files = try Fixtures.names(prefix: "ws_") + Fixtures.names(prefix: "seq_") + Fixtures.names(prefix: "tardis_")
        files = files.filter { $0.hasSuffix(".json") || $0.hasSuffix(".jsonl") }
        #expect(files.count == 34)
        var total = 0
        for file in files {
            let channel: BybitChannel = file.contains("spot") ? .spot : file.contains("private") || file.contains("auth") ? .private : .linear
            var d = FrameDecoder(channel: channel)
            for out in d.decodeAll(try Fixtures.frames(file)) {
                #expect(!out.events.isEmpty || out.control != nil, "\(file)")
                for e in out.events {
                    try expectWellFormed(e)
                    total += 1
                }
            }
            // Only the lone ob200 delta (no snapshot before it) breaks continuity.
            #expect(d.unparsableFrames == 0 && d.unknownTopicFrames == 0, "\(file)")
        }
        #expect(total > 100)

        let docs = try Fixtures.names(prefix: "ws_", in: "docs_examples")
        #expect(docs.count == 11)
        var unparsed = 0
        for file in docs {
            var d = FrameDecoder(channel: file.contains("private") ? .private : .linear)
            for example in try Fixtures.docsExamples(file) {
                let out = d.decode(example, receivedAt: receivedAt)
                #expect(!out.events.isEmpty || out.control != nil, "\(file)")
                for e in out.events { try expectWellFormed(e) }
            }
            unparsed += d.unparsableFrames
        }
        // The orderbook text with "..." placeholders, four private subscribe requests and
        // four order-entry requests.
        #expect(unparsed == 9)
    }

    /// What the writer produced reads back through the registry as equal typed values.
    @Test func payloadsRoundTripThroughTheRegistry() throws {
        var d = FrameDecoder(channel: .inverse)
        var events = d.decodeAll(try Fixtures.frames("ws_ticker_inverse_snapshot_then_delta.jsonl")).flatMap(\.events)
        var l = FrameDecoder(channel: .linear)
        events += l.decodeAll(try Fixtures.frames("seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl")).flatMap(\.events)
        events += l.decodeAll(try Fixtures.frames("ws_all_liquidation.json") + Fixtures.frames("ws_kline_linear_2024.json")).flatMap(\.events)
        events += l.decodeAll(try Fixtures.frames("ws_public_trade_inverse_multi.json") + Fixtures.frames("ws_orderbook_delta_spot_ob200.json")).flatMap(\.events)
        events += l.decode(Array("junk".utf8), receivedAt: receivedAt).events
        events += l.decode(Array(#"{"topic":"x.y","data":1}"#.utf8), receivedAt: receivedAt).events
        var p = FrameDecoder(channel: .private)
        events += p.decodeAll(try ["ws_private_order_linear_market_close_testnet_2024.json", "ws_private_execution_linear_testnet_2024.json",
                                   "ws_private_wallet_testnet_2024.json"].flatMap(Fixtures.frames)).flatMap(\.events)
        events += p.decode(try Fixtures.docsExamples("ws_private_position.json")[1], receivedAt: receivedAt).events
        #expect(Set(events.map(\.type)).count == 13)
        for e in events {
            let value = try bybitRegistry.decode(type: e.type, schemaVersion: 1, data: e.data)
            // Encoding the typed value and decoding it again gives an equal value.
            let again = try bybitRegistry.decode(type: e.type, schemaVersion: 1, data: Array(try CanonicalJSON.encoder.encode(value)))
            #expect(String(describing: again) == String(describing: value))
            // For market and raw events the typed value holds every field: same bytes.
            if !e.stream.hasPrefix("exchange.") {
                #expect(Array(try CanonicalJSON.encoder.encode(value)) == e.data, "\(e.type)")
            }
        }
    }
}
