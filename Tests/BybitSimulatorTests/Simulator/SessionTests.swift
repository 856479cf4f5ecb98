import Bybit
import Testing
@testable import BybitSimulator

@Suite("WebSocket sessions")
struct SessionTests {
    let catalog = TopicCatalog(symbols: [.spot: ["BTCUSDT"], .linear: ["BTCUSDT", "ETHUSDT"]])
    let auth = RestAuthenticator(secrets: ["key": "secret"])

    func run(_ s: inout SocketSession, _ text: String, now: Int64 = 1_000) -> [SessionEffect] {
        s.handle(text: text, now: now, catalog: catalog) { auth.verifySocket(apiKey: $0, expires: $1, signature: $2) }
    }

    func replies(_ effects: [SessionEffect]) -> [[String: Any]] {
        effects.compactMap { if case .send(let b) = $0 { return object(b) } else { return nil } }
    }

    @Test func subscribeAckThenTopics() {
        var s = SocketSession(channel: .linear, connId: "c1")
        let e = run(&s, #"{"req_id":"r1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.ETHUSDT"]}"#)
        #expect(e.count == 3)
        let ack = replies(e)[0]
        #expect(ack["success"] as? Bool == true && ack["ret_msg"] as? String == "" && ack["req_id"] as? String == "r1")
        #expect(e[1] == .subscribe("orderbook.50.BTCUSDT") && e[2] == .subscribe("publicTrade.ETHUSDT"))
        #expect(s.topics == ["orderbook.50.BTCUSDT", "publicTrade.ETHUSDT"])
    }

    @Test func errorsAsBybitWordsThem() {
        var s = SocketSession(channel: .linear, connId: "c1")
        _ = run(&s, #"{"op":"subscribe","args":["orderbook.1.ETHUSDT"]}"#)
        let dup = replies(run(&s, #"{"op":"subscribe","args":["orderbook.1.ETHUSDT"]}"#))[0]
        #expect(dup["success"] as? Bool == false && dup["ret_msg"] as? String == "error:already subscribed,topic:orderbook.1.ETHUSDT")
        for bad in ["orderbook.50.NOPEUSDT", "orderbook.50.btcusdt", "orderbook.7.BTCUSDT", "liquidations:BTCUSDT", "tickers"] {
            let r = replies(run(&s, #"{"op":"subscribe","args":["\#(bad)"]}"#))[0]
            #expect(r["ret_msg"] as? String == "error:handler not found,topic:\(bad)")
        }
        let op = replies(run(&s, #"{"op":"subscribe_all","req_id":"x"}"#))[0]
        #expect(op["ret_msg"] as? String == "error:invalid op" && op["success"] as? Bool == false)
        // allLiquidation exists on linear only; 500 on linear only.
        var spot = SocketSession(channel: .spot, connId: "c2")
        #expect(replies(run(&spot, #"{"op":"subscribe","args":["allLiquidation.BTCUSDT"]}"#))[0]["success"] as? Bool == false)
        #expect(replies(run(&spot, #"{"op":"subscribe","args":["orderbook.500.BTCUSDT"]}"#))[0]["success"] as? Bool == false)
        #expect(replies(run(&s, #"{"op":"subscribe","args":["orderbook.500.BTCUSDT","allLiquidation.BTCUSDT"]}"#))[0]["success"] as? Bool == true)
    }

    @Test func spotRefusesMoreThanTenArgs() {
        var s = SocketSession(channel: .spot, connId: "c")
        let args = (0..<11).map { "\"kline.\(["1", "3", "5", "15", "30", "60", "120", "240", "360", "720", "D"][$0]).BTCUSDT\"" }
        let e = run(&s, #"{"op":"subscribe","args":[\#(args.joined(separator: ","))]}"#)
        #expect(e.count == 1)
        #expect(replies(e)[0]["ret_msg"] as? String == "args size >10")
        let ok = replies(run(&s, #"{"op":"subscribe","args":["tickers.BTCUSDT"]}"#))[0]
        #expect(ok["ret_msg"] as? String == "subscribe")  // spot's success text
    }

    @Test func pongShapes() {
        var spot = SocketSession(channel: .spot, connId: "c")
        #expect(keyOrder(String(decoding: sent(run(&spot, #"{"op":"ping"}"#)), as: UTF8.self)) == ["success", "ret_msg", "conn_id", "op"])
        var linear = SocketSession(channel: .linear, connId: "c")
        #expect(keyOrder(String(decoding: sent(run(&linear, #"{"op":"ping"}"#)), as: UTF8.self)) == ["success", "ret_msg", "conn_id", "req_id", "op"])
        var priv = SocketSession(channel: .private, connId: "c")
        let pong = object(sent(run(&priv, #"{"req_id":"p","op":"ping"}"#, now: 1_234)))
        #expect(pong["op"] as? String == "pong" && (pong["args"] as? [String]) == ["1234"] && pong["req_id"] as? String == "p")
    }

    func sent(_ e: [SessionEffect]) -> [UInt8] {
        if case .send(let b) = e.first! { return b }
        return []
    }

    @Test func privateTopicsNeedAuth() {
        var s = SocketSession(channel: .private, connId: "c")
        let early = replies(run(&s, #"{"op":"subscribe","args":["order"]}"#))[0]
        #expect(early["success"] as? Bool == false && early["ret_msg"] as? String == "Request not authorized")
        let expires: Int64 = 5_000
        let badSig = replies(run(&s, #"{"op":"auth","args":["key",\#(expires),"00"]}"#))[0]
        #expect(badSig["success"] as? Bool == false && badSig["op"] as? String == "auth")
        let unknown = replies(run(&s, #"{"op":"auth","args":["nokey",\#(expires),"00"]}"#))[0]
        #expect(unknown["success"] as? Bool == false)
        let sig = BybitSigner(secret: "secret").webSocketAuthSignature(expires: expires)
        let expired = replies(run(&s, #"{"op":"auth","args":["key",500,"\#(sig)"]}"#))[0]
        #expect(expired["ret_msg"] as? String == "Params Error")
        let malformed = replies(run(&s, #"{"op":"auth","args":["key"]}"#))[0]
        #expect(malformed["ret_msg"] as? String == "Params Error")
        let good = replies(run(&s, #"{"req_id":"a","op":"auth","args":["key",\#(expires),"\#(sig)"]}"#))[0]
        #expect(good["success"] as? Bool == true && good["ret_msg"] as? String == "")
        #expect(s.apiKey == "key")
        let e = run(&s, #"{"op":"subscribe","args":["order","execution.linear","position","wallet"]}"#)
        #expect(replies(e)[0]["success"] as? Bool == true && e.count == 5)
        #expect(replies(run(&s, #"{"op":"subscribe","args":["wallet.spot"]}"#))[0]["success"] as? Bool == false)
    }
}
