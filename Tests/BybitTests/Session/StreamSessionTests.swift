import Foundation
import Testing
@testable import Bybit
import TradelogCore

@Suite("WebSocket session logic")
struct StreamSessionTests {
    func sends(_ actions: [StreamSession.Action]) -> [String] {
        actions.compactMap { if case .send(let t) = $0 { return t } else { return nil } }
    }

    @Test("spot subscriptions go out in requests of at most 10 args and are resubscribed after a reconnect")
    func batching() throws {
        var s = StreamSession(configuration: .init(channel: .spot))
        let topics = (1...23).map { "tickers.SYM\($0)USDT" }
        #expect(s.subscribe(topics).isEmpty)  // not connected yet
        let first = sends(s.connected(nowMs: 1_000))
        #expect(first.count == 3)
        for text in first {
            let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            #expect(obj["op"] as? String == "subscribe")
            #expect((obj["args"] as! [String]).count <= 10)
        }
        // Acks with the echoed req_id make the topics active.
        for text in first {
            let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            _ = s.received(.subscribeAck(success: true, reqID: obj["req_id"] as? String, message: "subscribe"), nowMs: 1_001)
        }
        #expect(s.active.count == 23)
        s.disconnected()
        #expect(s.active.isEmpty)
        let again = sends(s.connected(nowMs: 9_000))
        #expect(again.count == 3)
        let resent = try again.flatMap { text -> [String] in
            let obj = try JSONSerialization.jsonObject(with: Data(text.utf8)) as! [String: Any]
            return obj["args"] as! [String]
        }
        #expect(resent == topics)
    }

    @Test("linear acks with an empty req_id settle the oldest request")
    func emptyReqID() {
        var s = StreamSession(configuration: .init(channel: .linear))
        _ = s.connected(nowMs: 0)
        _ = s.subscribe(["orderbook.50.BTCUSDT"])
        _ = s.subscribe(["publicTrade.BTCUSDT"])
        let a = s.received(.subscribeAck(success: true, reqID: "", message: ""), nowMs: 1)
        #expect(a == [.subscribed(["orderbook.50.BTCUSDT"])])
        _ = s.received(.subscribeAck(success: true, reqID: "", message: ""), nowMs: 2)
        #expect(s.active == ["orderbook.50.BTCUSDT", "publicTrade.BTCUSDT"])
    }

    @Test("handler not found marks the named topic failed; the rest of the request is active; already subscribed is success")
    func errors() {
        var s = StreamSession(configuration: .init(channel: .linear))
        _ = s.connected(nowMs: 0)
        let out = sends(s.subscribe(["orderbook.50.NOPEUSDT", "publicTrade.BTCUSDT"]))
        #expect(out.count == 1)
        let actions = s.received(.subscribeAck(success: false, reqID: "1", message: "error:handler not found,topic:orderbook.50.NOPEUSDT"), nowMs: 1)
        #expect(actions.contains(.subscriptionFailed(topic: "orderbook.50.NOPEUSDT", message: "error:handler not found,topic:orderbook.50.NOPEUSDT")))
        #expect(s.failed["orderbook.50.NOPEUSDT"] != nil)
        #expect(s.active == ["publicTrade.BTCUSDT"])
        // A failed topic is not retried on reconnect.
        s.disconnected()
        let again = sends(s.connected(nowMs: 10))
        #expect(again.count == 1 && !again[0].contains("NOPE"))
        _ = s.received(.subscribeAck(success: false, reqID: "2", message: "error:already subscribed,topic:publicTrade.BTCUSDT"), nowMs: 11)
        #expect(s.active.contains("publicTrade.BTCUSDT"))
        #expect(StreamSession.topic(in: "error:already subscribed,topic:orderbook.1.ETHUSDT") == "orderbook.1.ETHUSDT")
        #expect(StreamSession.topic(in: "args size >10") == nil)
    }

    @Test("an ack with an unknown req_id settles nothing; unsubscribing a pending topic sends the unsubscribe")
    func staleAcksAndPendingUnsubscribe() {
        var s = StreamSession(configuration: .init(channel: .linear))
        _ = s.connected(nowMs: 0)
        _ = s.subscribe(["publicTrade.BTCUSDT"])
        #expect(s.received(.subscribeAck(success: true, reqID: "999", message: ""), nowMs: 1).isEmpty)
        #expect(s.active.isEmpty && s.pendingTopics == ["publicTrade.BTCUSDT"])
        let out = sends(s.unsubscribe(["publicTrade.BTCUSDT"]))
        #expect(out.count == 1 && out[0].contains("unsubscribe"))
        // The late ack of the original request does not bring it back.
        _ = s.received(.subscribeAck(success: true, reqID: "1", message: ""), nowMs: 2)
        #expect(s.active.isEmpty)
    }

    @Test("ping every 20 s; a silent socket is declared dead")
    func heartbeat() {
        var s = StreamSession(configuration: .init(channel: .linear))
        _ = s.connected(nowMs: 0)
        #expect(s.tick(nowMs: 19_999).isEmpty)
        let ping = sends(s.tick(nowMs: 20_000))
        #expect(ping.count == 1 && ping[0].contains(#""op":"ping""#))
        s.received(nowMs: 20_010)
        #expect(s.tick(nowMs: 30_000).isEmpty)
        let dead = s.tick(nowMs: 20_010 + 35_000)
        #expect(dead.count == 1)
        if case .reconnect = dead[0] {} else { Issue.record("expected reconnect, got \(dead)") }
    }

    @Test("private: auth first with a signature over GET/realtime+expires, subscriptions after the ack; refusal reconnects")
    func privateAuth() throws {
        let creds = BybitCredentials(apiKey: "test_api_key", secret: "test_secret")
        var s = StreamSession(configuration: .init(channel: .private), credentials: creds)
        _ = s.subscribe(["order", "execution", "position", "wallet", "order.linear"])
        let auth = sends(s.connected(nowMs: 1_699_999_990_000))
        #expect(auth.count == 1)
        let obj = try JSONSerialization.jsonObject(with: Data(auth[0].utf8)) as! [String: Any]
        let args = obj["args"] as! [Any]
        #expect(args[0] as? String == "test_api_key")
        #expect((args[1] as? NSNumber)?.int64Value == 1_700_000_000_000)
        #expect(args[2] as? String == "bacffe7500499eb829bb58c45d36d1b3e5ac67c14eaeba91df5e99ccee013925")
        let after = s.received(.authAck(success: true, message: ""), nowMs: 1_699_999_990_100)
        let subs = sends(after)
        // All-in-one and categorised topics never share a request.
        #expect(subs.count == 2)
        #expect(subs[1].contains("order.linear") && !subs[0].contains("order.linear"))
        // A local clock 30 s behind Bybit's: the expiry is on Bybit's clock.
        var behind = StreamSession(configuration: .init(channel: .private), credentials: creds)
        let late = sends(behind.connected(nowMs: 1_699_999_960_000, serverOffsetMs: 30_000))
        let lateArgs = (try JSONSerialization.jsonObject(with: Data(late[0].utf8)) as! [String: Any])["args"] as! [Any]
        #expect((lateArgs[1] as? NSNumber)?.int64Value == 1_700_000_000_000)
        var bad = StreamSession(configuration: .init(channel: .private), credentials: creds)
        _ = bad.connected(nowMs: 0)
        let refused = bad.received(.authAck(success: false, message: "Params Error"), nowMs: 1)
        #expect(refused.contains(.authFailed(message: "Params Error")))
    }

    @Test("resync unsubscribes and subscribes the topic again")
    func resync() {
        var s = StreamSession(configuration: .init(channel: .linear))
        _ = s.connected(nowMs: 0)
        _ = s.subscribe(["orderbook.50.BTCUSDT"])
        _ = s.received(.subscribeAck(success: true, reqID: "1", message: ""), nowMs: 1)
        let out = sends(s.resync("orderbook.50.BTCUSDT"))
        #expect(out.count == 2)
        #expect(out[0].contains("unsubscribe") && out[1].contains(#""op":"subscribe""#))
    }

    @Test("backoff 5 s, 10 s, 20 s, 40 s, 60 s, 60 s; reset")
    func backoff() {
        var b = ReconnectBackoff()
        #expect((0..<6).map { _ in b.next() } == [5_000, 10_000, 20_000, 40_000, 60_000, 60_000])
        b.reset()
        #expect(b.next() == 5_000)
    }
}
