import Foundation
import Testing
@testable import BybitSimulator

/// The simulator's messages carry the keys of the real captures (and docs examples).
@Suite("Frame shapes")
struct FrameShapeTests {
    static let now: Int64 = 1_700_000_000_000
    let linear = SimInstrument.defaults(symbol: "BTCUSDT", category: .linear)
    let spot = SimInstrument.defaults(symbol: "BTCUSDT", category: .spot)

    func frames(_ category: SimCategory, _ topic: PublicTopic, steps: Int = 400) -> [[String: Any]] {
        let i = category == .linear ? linear : spot
        var m = SyntheticMarket(instrument: i, seed: 1, levels: 50, startMs: Self.now)
        var t = GeneratedTopics(category: category)
        var out: [[String: Any]] = []
        if let s = t.snapshot(topic, market: m, now: Self.now, firstSubscriber: true) { out.append(object(s)) }
        for n in 1...steps {
            let step = m.step(now: Self.now + Int64(n) * 1000)
            out += t.frames(step: step, market: m, now: Self.now + Int64(n) * 1000, active: [topic]).map { object($0.bytes) }
        }
        return out
    }

    func raw(_ category: SimCategory, _ topic: PublicTopic) -> String {
        let i = category == .linear ? linear : spot
        var m = SyntheticMarket(instrument: i, seed: 1, levels: 50, startMs: Self.now)
        var t = GeneratedTopics(category: category)
        _ = t.snapshot(topic, market: m, now: Self.now, firstSubscriber: true)
        for n in 1...400 {
            let step = m.step(now: Self.now + Int64(n) * 1000)
            if let f = t.frames(step: step, market: m, now: Self.now, active: [topic]).first { return String(decoding: f.bytes, as: UTF8.self) }
        }
        return ""
    }

    @Test func orderbookMatchesCaptures() throws {
        let fixtureLinear = object(try Fixtures.text("ws_orderbook_delta_linear_ob500.json"))
        let ours = frames(.linear, .orderbook(depth: 50, symbol: "BTCUSDT"))
        #expect(keys(ours[1]) == keys(fixtureLinear))
        #expect(dataKeys(ours[1]) == dataKeys(fixtureLinear))
        // Linear deeper levels: type before ts; spot: ts before type (reference §1.7).
        #expect(keyOrder(raw(.linear, .orderbook(depth: 50, symbol: "BTCUSDT"))) == keyOrder(try Fixtures.text("ws_orderbook_delta_linear_ob500.json")))
        #expect(keyOrder(raw(.spot, .orderbook(depth: 200, symbol: "BTCUSDT"))) == keyOrder(try Fixtures.text("ws_orderbook_delta_spot_ob200.json")))
        // Linear pads prices and sizes to the instrument's decimals, spot trims.
        let level = ((ours[0]["data"] as! [String: Any])["b"] as! [[String]])[0]
        #expect(level[0].split(separator: ".").last?.count == 2 && level[1].split(separator: ".").last?.count == 3)
    }

    @Test func tradesMatchCaptures() throws {
        let linearDoc = (try Fixtures.json("docs_examples/ws_trade.json") as! [[String: Any]])[0]
        let ours = frames(.linear, .trade(symbol: "BTCUSDT"))
        #expect(keys(ours[0]) == keys(linearDoc))
        #expect(dataKeys(linearDoc).isSubset(of: dataKeys(ours[0])))
        let item = (ours[0]["data"] as! [[String: Any]])[0]
        #expect(UUID(uuidString: item["i"] as! String) != nil)  // linear ids are UUIDs
        let spotFixture = object(try Fixtures.text("ws_public_trade_spot.json"))
        let spotOurs = frames(.spot, .trade(symbol: "BTCUSDT"))
        #expect(keys(spotOurs[0]) == keys(spotFixture))
        #expect(dataKeys(spotFixture).isSubset(of: dataKeys(spotOurs[0])))
        let spotItem = (spotOurs[0]["data"] as! [[String: Any]])[0]
        #expect(spotItem["L"] == nil && Int64(spotItem["i"] as! String) != nil)
    }

    @Test func tickersMatchCaptures() throws {
        let linearDoc = (try Fixtures.json("docs_examples/ws_ticker.json") as! [[String: Any]])[0]
        let ours = frames(.linear, .ticker(symbol: "BTCUSDT"))
        #expect(keys(ours[0]) == keys(linearDoc))
        #expect(dataKeys(ours[0]) == dataKeys(linearDoc))
        let legacy = object(try Fixtures.text("ws_ticker_linear_snapshot_2023.json"))
        #expect(dataKeys(legacy).isSubset(of: dataKeys(ours[0])))
        let spotFixture = object(try Fixtures.text("ws_ticker_spot_2025.json"))
        let spotOurs = frames(.spot, .ticker(symbol: "BTCUSDT"))
        #expect(spotOurs.allSatisfy { $0["type"] as? String == "snapshot" })
        #expect(keys(spotOurs[1]) == keys(spotFixture))
        #expect(dataKeys(spotOurs[1]) == dataKeys(spotFixture))
    }

    @Test func klineAndLiquidationMatchCaptures() throws {
        let kline = object(try Fixtures.text("ws_kline_linear_2024.json"))
        let ours = frames(.linear, .kline(interval: .m1, symbol: "BTCUSDT"))
        #expect(keys(ours[0]) == keys(kline))
        #expect(dataKeys(ours[0]) == dataKeys(kline))
        let liq = object(try Fixtures.text("ws_all_liquidation.json"))
        let liqOurs = frames(.linear, .liquidation(symbol: "BTCUSDT"), steps: 2_000)
        #expect(!liqOurs.isEmpty)
        #expect(keys(liqOurs[0]) == keys(liq))
        #expect(dataKeys(liqOurs[0]) == dataKeys(liq))
    }

    /// A filled linear market order and the venue's private messages for it.
    func privateFrames() throws -> [PrivateTopic: [String: Any]] {
        var venue = Venue(instruments: [linear], accounts: [testAccount()], secrets: ["k": "s"], fees: FeeSchedule(),
                          generated: GeneratedFeed(instruments: [linear], seed: 1, levels: 20, startMs: Self.now), replay: nil)
        let ctx = try #require(venue.context(linear.key))
        let (_, u) = try venue.matching.place(OrderRequest(category: .linear, symbol: "BTCUSDT", side: .buy, kind: .market, qty: fx("0.01")),
                                              account: &venue.accounts["k"]!, market: ctx, prices: venue.prices, now: Self.now)
        var out: [PrivateTopic: [String: Any]] = [:]
        for kind in PrivateTopic.allCases {
            out[kind] = object(try #require(venue.privateFrame(kind, update: u, topicName: kind.rawValue, now: Self.now)))
        }
        return out
    }

    @Test func privateMessagesMatchCaptures() throws {
        let ours = try privateFrames()
        let order = object(try Fixtures.text("ws_private_order_linear_market_close_testnet_2024.json"))
        #expect(keys(ours[.order]) == keys(order))
        #expect(dataKeys(order).isSubset(of: dataKeys(ours[.order]!)))
        let exec = object(try Fixtures.text("ws_private_execution_linear_testnet_2024.json"))
        #expect(keys(ours[.execution]) == keys(exec))
        #expect(dataKeys(exec).isSubset(of: dataKeys(ours[.execution]!)))
        let position = (try Fixtures.json("docs_examples/ws_private_position.json") as! [[String: Any]])[1]
        #expect(keys(ours[.position]) == keys(position))
        #expect(dataKeys(position) == dataKeys(ours[.position]!))
        let wallet = object(try Fixtures.text("ws_private_wallet_testnet_2024.json"))
        #expect(keys(ours[.wallet]) == keys(wallet))
        #expect(dataKeys(wallet).isSubset(of: dataKeys(ours[.wallet]!)))
        let coin = ((wallet["data"] as! [[String: Any]])[0]["coin"] as! [Any])[0]
        let ourCoin = ((ours[.wallet]!["data"] as! [[String: Any]])[0]["coin"] as! [Any])[0]
        #expect(keys(coin).isSubset(of: keys(ourCoin)))
        // Values: strings for numbers, ms times as strings inside items, numbers in the envelope.
        let item = (ours[.order]!["data"] as! [[String: Any]])[0]
        #expect(item["orderStatus"] as? String == "Filled" && item["createdTime"] is String && ours[.order]!["creationTime"] is NSNumber)
    }

    @Test func controlFramesMatchCaptures() throws {
        func same(_ ours: [UInt8], _ fixture: String, connId: String) {
            let text = String(decoding: ours, as: UTF8.self)
            let expected = fixture.replacingOccurrences(of: connId, with: "CONN")
            #expect(text == expected)
        }
        same(ControlFrames.commandAck(channel: .spot, op: "subscribe", success: true, retMsg: nil, connId: "CONN", reqId: nil),
             try Fixtures.text("ws_subscribe_ack_spot_bbgo.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "a403c8e5-e2b6-4edd-a8f0-1a64fa7227a5")
        same(ControlFrames.commandAck(channel: .linear, op: "subscribe", success: true, retMsg: nil, connId: "CONN", reqId: nil),
             try Fixtures.text("ws_subscribe_ack_linear_2026.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "d6ki1eae0cl5msgggj7g-1uoz2")
        same(ControlFrames.commandAck(channel: .linear, op: "subscribe", success: true, retMsg: nil, connId: "CONN", reqId: "probe-pp"),
             try Fixtures.text("ws_subscribe_ack_linear_with_req_id_2026.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "da7tou12ob6fpjtusqi0-8f1rr")
        same(ControlFrames.commandAck(channel: .private, op: "subscribe", success: true, retMsg: nil, connId: "CONN", reqId: nil),
             try Fixtures.text("ws_subscribe_ack_private.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "cm6ickhqo29n65o1kpog-74ew")
        let pongs = try Fixtures.lines("ws_pong_variants.jsonl")
        same(ControlFrames.pong(channel: .spot, connId: "CONN", reqId: nil, now: 0), pongs[0], connId: "a806f6c4-3608-4b6d-a225-9f5da975bc44")
        same(ControlFrames.pong(channel: .spot, connId: "CONN", reqId: "b26704da-f5af-44c2-bdf7-935d6739e1a0", now: 0), pongs[1],
             connId: "a806f6c4-3608-4b6d-a225-9f5da975bc44")
        same(ControlFrames.pong(channel: .private, connId: "CONN", reqId: nil, now: 1_690_884_539_181), pongs[2], connId: "civn4p1dcjmtvb69ome0-yrt1")
        same(ControlFrames.pong(channel: .linear, connId: "CONN", reqId: "ping-pp", now: 0),
             try Fixtures.text("ws_pong_linear_with_req_id_2026.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "da7tou12ob6fpjtusqi0-8f1rr")
        same(ControlFrames.auth(success: true, retMsg: "", connId: "CONN", reqId: "1e979e9f-c8ea-44f5-a631-79fc82af7f41"),
             try Fixtures.text("ws_auth_success_private.json").trimmingCharacters(in: .whitespacesAndNewlines),
             connId: "cqg7829qo29sr7bfifu0-cuck")
        let failure = object(try Fixtures.text("ws_auth_failure_params_error.json"))
        let ourFailure = object(ControlFrames.auth(success: false, retMsg: "Params Error", connId: "c", reqId: nil))
        #expect(keys(ourFailure) == keys(failure) && ourFailure["ret_msg"] as? String == "Params Error")
        let errors = try Fixtures.lines("ws_subscribe_errors.jsonl")
        same(ControlFrames.commandAck(channel: .linear, op: "subscribe", success: false,
                                      retMsg: "error:handler not found,topic:orderbook.50.NOPEUSDT", connId: "CONN", reqId: "e1"),
             errors[0], connId: "da7tmhs21nld3jk6lb70-8csm4")
        same(ControlFrames.commandAck(channel: .spot, op: "subscribe", success: false, retMsg: "args size >10", connId: "CONN", reqId: nil),
             errors[3], connId: "0a555e6f-199c-49bb-9bb8-6f8adcd8b057")
    }
}
