import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Control frames")
struct ControlFrameTests {
    func control(_ frame: [UInt8], channel: BybitChannel = .linear) throws -> ControlFrame {
        var d = FrameDecoder(channel: channel)
        let out = d.decode(frame, receivedAt: receivedAt)
        #expect(out.events.isEmpty && out.resync.isEmpty)
        return try #require(out.control, "\(String(decoding: frame, as: UTF8.self))")
    }

    @Test func pongShapes() throws {
        let frames = try Fixtures.frames("ws_pong_variants.jsonl")
        #expect(frames.count == 4)
        let expected = [
            Pong(op: "ping", connID: "a806f6c4-3608-4b6d-a225-9f5da975bc44", reqID: nil, args: []),
            Pong(op: "ping", connID: "a806f6c4-3608-4b6d-a225-9f5da975bc44", reqID: "b26704da-f5af-44c2-bdf7-935d6739e1a0", args: []),
            Pong(op: "pong", connID: "civn4p1dcjmtvb69ome0-yrt1", reqID: nil, args: ["1690884539181"]),
            Pong(op: "pong", connID: "civn4p1dcjmtvb69ome0-yrt1", reqID: "78d36b57-a142-47b7-9143-5843df77d44d", args: ["1690884539181"]),
        ]
        for (frame, pong) in zip(frames, expected) {
            #expect(try control(frame) == .pong(pong))
        }
        #expect(try control(Fixtures.frames("ws_pong_linear_with_req_id_2026.json")[0])
            == .pong(Pong(op: "ping", connID: "da7tou12ob6fpjtusqi0-8f1rr", reqID: "ping-pp", args: [])))
        // Option/spread public pong.
        #expect(try control(Array(#"{"args":["1672916271846"],"op":"pong"}"#.utf8))
            == .pong(Pong(op: "pong", connID: nil, reqID: nil, args: ["1672916271846"])))
    }

    @Test func subscribeAcks() throws {
        #expect(try control(Fixtures.frames("ws_subscribe_ack_linear_2026.json")[0]) == .subscription(SubscriptionAck(
            op: "subscribe", success: true, retMsg: "", reqID: "", connID: "d6ki1eae0cl5msgggj7g-1uoz2", error: nil, failedTopic: nil)))
        #expect(try control(Fixtures.frames("ws_subscribe_ack_linear_with_req_id_2026.json")[0]) == .subscription(SubscriptionAck(
            op: "subscribe", success: true, retMsg: "", reqID: "probe-pp", connID: "da7tou12ob6fpjtusqi0-8f1rr", error: nil, failedTopic: nil)))
        #expect(try control(Fixtures.frames("ws_subscribe_ack_spot_bbgo.json")[0], channel: .spot) == .subscription(SubscriptionAck(
            op: "subscribe", success: true, retMsg: "subscribe", reqID: nil, connID: "a403c8e5-e2b6-4edd-a8f0-1a64fa7227a5", error: nil, failedTopic: nil)))
        #expect(try control(Fixtures.frames("ws_subscribe_ack_private.json")[0], channel: .private) == .subscription(SubscriptionAck(
            op: "subscribe", success: true, retMsg: "", reqID: nil, connID: "cm6ickhqo29n65o1kpog-74ew", error: nil, failedTopic: nil)))
        #expect(try control(Array(#"{"success":true,"ret_msg":"","conn_id":"c","req_id":"9","op":"unsubscribe"}"#.utf8))
            == .subscription(SubscriptionAck(op: "unsubscribe", success: true, retMsg: "", reqID: "9", connID: "c", error: nil, failedTopic: nil)))
    }

    @Test func subscribeErrorsNameTheTopic() throws {
        let frames = try Fixtures.frames("ws_subscribe_errors.jsonl")
        let acks: [SubscriptionAck] = try frames.map {
            guard case .subscription(let a) = try control($0) else { throw Failure("not an ack") }
            return a
        }
        #expect(acks.allSatisfy { !$0.success && $0.op == "subscribe" })
        #expect(acks.map(\.error) == ["handler not found", "already subscribed", "handler not found", "args size >10"])
        #expect(acks.map(\.failedTopic) == ["orderbook.50.NOPEUSDT", "orderbook.1.ETHUSDT", "liquidations:BTCUSDT", nil])
        #expect(acks.map(\.reqID) == ["e1", "e6", "", nil])
        #expect(acks[3].retMsg == "args size >10" && acks[3].connID == "0a555e6f-199c-49bb-9bb8-6f8adcd8b057")
        #expect(FrameDecoder.splitSubscribeError("error:invalid op") == ("invalid op", nil))
    }

    @Test func authResults() throws {
        #expect(try control(Fixtures.frames("ws_auth_success_private.json")[0], channel: .private) == .auth(AuthResult(
            success: true, retMsg: "", retCode: nil, reqID: "1e979e9f-c8ea-44f5-a631-79fc82af7f41", connID: "cqg7829qo29sr7bfifu0-cuck")))
        #expect(try control(Fixtures.frames("ws_auth_failure_params_error.json")[0], channel: .private) == .auth(AuthResult(
            success: false, retMsg: "Params Error", retCode: nil, reqID: nil, connID: "cldfn8fcgepd64b9hgg0-o8uhe")))
    }

    @Test func moxtPrivateSession() throws {
        let frames = try Fixtures.frames("ws_private_control_frames_moxt.jsonl")
        var d = FrameDecoder(channel: .private)
        let controls = d.decodeAll(frames).map(\.control)
        #expect(controls == [
            .auth(AuthResult(success: true, retMsg: "", retCode: nil, reqID: "LzIP5BH2aBVLUkmsOzg-q", connID: "cldfn01dcjmj8l28s6sg-ngkux")),
            .subscription(SubscriptionAck(op: "subscribe", success: true, retMsg: "", reqID: "74z-iUiWshWGFAyIWQBxk",
                                          connID: "cl9i0rtdaugsu2kfn8ng-3084a", error: nil, failedTopic: nil)),
            .pong(Pong(op: "pong", connID: "cl9i0rtdaugsu2kfn8ng-3aqxh", reqID: "VCKnRAeA6qrQXS8H94a-_", args: ["1703683273204"])),
        ])
        #expect(d.events == 0 && d.frames == 3)
    }

    @Test func optionCommandResponse() throws {
        let frame = #"{"success":true,"conn_id":"c1","data":{"failTopics":["tickers.NOPE"],"successTopics":["orderbook.100.BTC-6JAN23-17500-C"]},"type":"COMMAND_RESP"}"#
        #expect(try control(Array(frame.utf8)) == .commandResponse(CommandResponse(
            success: true, retMsg: nil, reqID: nil, connID: "c1", successTopics: ["orderbook.100.BTC-6JAN23-17500-C"], failTopics: ["tickers.NOPE"])))
    }

    @Test func orderEntryStreamReplies() throws {
        let examples = try Fixtures.docsExamples("ws_trade_order_entry.json")
        #expect(examples.count == 8)
        var d = FrameDecoder(channel: .private)
        let outs = d.decodeAll(examples)
        // Requests (auth with args, order.create, batch, ping) are not server frames.
        #expect([0, 2, 4, 6].allSatisfy { outs[$0].control == nil && outs[$0].events.map(\.type) == ["UnparsedFrame"] })
        #expect(outs[1].control == .auth(AuthResult(success: true, retMsg: "OK", retCode: 0, reqID: nil, connID: "cnt5leec0hvan15eukcg-2t")))
        guard case .orderEntry(let create) = outs[3].control else { throw Failure("no order entry reply") }
        #expect(create.op == "order.create" && create.reqID == "test-005" && create.retCode == 0 && create.retMsg == "OK")
        #expect(create.connID == "cnt5leec0hvan15eukcg-2v" && create.header["Traceid"] == "38b7977b430f9bd228f4b19724794dfd")
        #expect(create.header["X-Bapi-Limit-Status"] == "9")
        #expect(create.data.map { String(decoding: $0, as: UTF8.self) } == #"{"orderId":"a4c1718e-fe53-4659-a118-1f6ecce04ad9","orderLinkId":""}"#)
        #expect(create.retExtInfo == Array("{}".utf8))
        guard case .orderEntry(let batch) = outs[5].control else { throw Failure("no batch reply") }
        #expect(batch.op == "order.create-batch" && batch.reqID == nil)
        let ext = try JSONDocument(parsing: try #require(batch.retExtInfo)).root
        #expect(ext["list"]?.count == 3 && ext["list"]?[0]?["code"]?.int64 == 10001)
        #expect(outs[7].control == .pong(Pong(op: "pong", connID: "cnt5leec0hvan15eukcg-2v", reqID: nil, args: ["1711002002529"])))
    }
}

@Suite("Raw frames, counters, ids")
struct RawFrameTests {
    @Test func garbageBecomesUnparsedAndIsCounted() throws {
        var d = FrameDecoder(channel: .linear)
        let inputs: [[UInt8]] = [[], Array("not json".utf8), [0xff, 0xfe, 0x00], Array("[1,2,3]".utf8), Array("{\"foo\":1}".utf8),
                                 Array(#"{"topic":5,"data":[]}"#.utf8), Array(#"{"topic":"publicTrade.X","data":{}}"#.utf8),
                                 Array(#"{"topic":"publicTrade.X","data":[{"T":1,"S":"Buy","v":"x","p":"1","i":"a"}]}"#.utf8)]
        for input in inputs {
            let out = d.decode(input, receivedAt: receivedAt)
            #expect(out.events.count == 1 && out.events[0].type == "UnparsedFrame" && out.control == nil)
            #expect(out.events[0].stream == "gateway.unparsed-linear" && out.events[0].exchangeTime == nil)
            try expectWellFormed(out.events[0])
        }
        #expect(d.unparsableFrames == inputs.count && d.frames == inputs.count && d.events == inputs.count && d.unknownTopicFrames == 0)
        let invalidUTF8 = try payload(UnparsedFrame.self, d.decode([0xff, 0xfe, 0x00], receivedAt: receivedAt).events[0])
        #expect(invalidUTF8.text == "\u{FFFD}\u{FFFD}\u{FFFD}" && invalidUTF8.byteCount == 3)
        #expect(invalidUTF8.base64.flatMap { Data(base64Encoded: $0) }.map(Array.init) == [0xff, 0xfe, 0x00], "the exact bytes")
        #expect(try payload(UnparsedFrame.self, d.decode(Array("not json".utf8), receivedAt: receivedAt).events[0]).base64 == nil)
        #expect(invalidUTF8.reason.hasPrefix("invalid JSON at byte 0"))
    }

    @Test func unknownTopicsAreRecordedRaw() throws {
        var d = FrameDecoder(channel: .linear)
        let frame = Array(#"{"topic":"insurance.USDT","type":"delta","ts":1,"data":[]}"#.utf8)
        let out = d.decode(frame, receivedAt: receivedAt)
        #expect(out.events.map(\.type) == ["UnknownTopicFrame"])
        let p = try payload(UnknownTopicFrame.self, out.events[0])
        #expect(p.topic == "insurance.USDT" && p.text == String(decoding: frame, as: UTF8.self) && !p.truncated)
        #expect(out.events[0].stream == "gateway.unparsed-linear")
        for topic in ["orderbook.full.BTCUSDT", "orderbook.rpi.BTCUSDT", "tickers", "kline.1", "publicTrade.A.B", "wallet.x"] {
            _ = d.decode(Array(#"{"topic":"\#(topic)","data":[]}"#.utf8), receivedAt: receivedAt)
        }
        #expect(d.unknownTopicFrames == 7 && d.unparsableFrames == 0)
    }

    @Test func rawIdsHashBytesAndReceiveTime() throws {
        var d = FrameDecoder(channel: .spot)
        let a = d.decode(Array("garbage".utf8), receivedAt: receivedAt).events[0]
        let b = d.decode(Array("garbage".utf8), receivedAt: receivedAt).events[0]
        let c = d.decode(Array("garbage".utf8), receivedAt: Timestamp(microsecondsSinceEpoch: 1)).events[0]
        let e = d.decode(Array("garbagf".utf8), receivedAt: receivedAt).events[0]
        #expect(a.eventID == b.eventID && a.eventID != c.eventID && a.eventID != e.eventID)
        let digest = Digest.hex(Digest.sha256(Array("garbage".utf8)))
        #expect(a.eventID == DeterministicID.uuid5(namespace: DeterministicID.namespace,
                                                   name: "gateway.unparsed-spot|UnparsedFrame|\(digest)|\(receivedAt.microsecondsSinceEpoch)"))
    }

    @Test func longFramesAreTruncatedOnACharacterBoundary() throws {
        var d = FrameDecoder(channel: .linear)
        // 65,535 ASCII bytes then "é": the cut at 64 KiB would split it.
        let frame = Array(String(repeating: "x", count: 65_535).utf8) + Array("é and more".utf8)
        let p = try payload(UnparsedFrame.self, d.decode(frame, receivedAt: receivedAt).events[0])
        #expect(p.truncated && p.byteCount == frame.count && p.text.utf8.count == 65_535)
    }

    @Test func sameFramesTwiceGiveTheSameEvents() throws {
        // A reconnect replays frames: every id (and here every byte) is the same.
        var frames: [[UInt8]] = []
        for name in try Fixtures.names(prefix: "ws_") {
            // Some captures appear in two files; keep each distinct frame once.
            frames += try Fixtures.frames(name).filter { !frames.contains($0) }
        }
        var a = FrameDecoder(channel: .linear)
        var b = FrameDecoder(channel: .linear)
        let first = a.decodeAll(frames).flatMap(\.events)
        let second = b.decodeAll(frames).flatMap(\.events)
        #expect(first.count == 28 && first == second)
        #expect(Set(first.map(\.eventID)).count == first.count)
    }

    @Test func eventsBecomeNewEventsWithMetadata() throws {
        var d = FrameDecoder(channel: .inverse)
        let e = d.decodeAll(try Fixtures.frames("ws_public_trade_inverse_multi.json"))[0].events[0]
        let n = e.newEvent(receivedAt: receivedAt, source: "gateway")
        #expect(n.eventID == e.eventID && n.type == "MarketTrades" && n.data == e.data && n.schemaVersion == 1)
        #expect(n.metadata.exchangeTime == e.exchangeTime && n.metadata.receiveTime == receivedAt && n.metadata.source == "gateway")
        #expect(StreamName.isMarketData(stream: e.stream))
    }
}
