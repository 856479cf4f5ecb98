import Bybit
import Foundation
import Testing
@testable import BybitSimulator

@Suite("REST")
struct RestTests {
    static let now: Int64 = 1_700_000_000_500

    func venue(symbols: [String] = ["BTCUSDT", "ETHUSDT"]) -> Venue {
        let instruments = symbols.flatMap { [SimInstrument.defaults(symbol: $0, category: .linear), SimInstrument.defaults(symbol: $0, category: .spot)] }
        return Venue(instruments: instruments, accounts: [Account(apiKey: "test_api_key", uid: 100_000_001, coins: ["USDT": Fixed(100_000), "BTC": Fixed(1)])],
                     secrets: ["test_api_key": "test_secret"], fees: FeeSchedule(),
                     generated: GeneratedFeed(instruments: instruments, seed: 1, levels: 50, startMs: Self.now), replay: nil)
    }

    func signed(_ method: String, _ path: String, query: String = "", body: String = "", ts: Int64 = 1_700_000_000_000,
                key: String = "test_api_key", secret: String = "test_secret") -> RestRequest {
        let sig = BybitSigner(secret: secret).restSignature(timestamp: ts, apiKey: key, recvWindow: 5000, payload: method == "GET" ? query : body)
        return RestRequest(method: method, path: path, rawQuery: query, body: body, headers: [
            "X-BAPI-API-KEY": key, "X-BAPI-TIMESTAMP": String(ts), "X-BAPI-RECV-WINDOW": "5000", "X-BAPI-SIGN": sig,
        ])
    }

    @Test func signatureVectorFromTheReference() {
        let sig = BybitSigner(secret: "test_secret").restSignature(timestamp: 1_700_000_000_000, apiKey: "test_api_key", recvWindow: 5000,
                                                                  payload: "category=linear&symbol=BTCUSDT")
        #expect(sig == "fd4f31228a46109dc6673062328693696df9a96c7ff04e6491a45e7f63a0fdd7")
        let auth = RestAuthenticator(secrets: ["test_api_key": "test_secret"])
        let r = signed("GET", "/v5/position/list", query: "category=linear&symbol=BTCUSDT")
        #expect(r.headers["x-bapi-sign"] == sig)
        #expect((try? auth.verify(r, now: Self.now).get()) == "test_api_key")
    }

    @Test func authErrors() {
        var v = venue()
        let q = "category=linear&symbol=BTCUSDT"
        let unknown = object(v.handle(signed("GET", "/v5/position/list", query: q, key: "other"), now: Self.now).0.body)
        #expect(unknown["retCode"] as? Int == 10003)
        let stale = object(v.handle(signed("GET", "/v5/position/list", query: q, ts: Self.now - 6_000), now: Self.now).0.body)
        #expect(stale["retCode"] as? Int == 10002)
        #expect((stale["retMsg"] as! String).contains("recv_window[5000]"))
        let future = object(v.handle(signed("GET", "/v5/position/list", query: q, ts: Self.now + 1_000), now: Self.now).0.body)
        #expect(future["retCode"] as? Int == 10002)
        var tampered = signed("GET", "/v5/position/list", query: q)
        tampered.rawQuery = "category=linear&symbol=ETHUSDT"
        let (reply, _) = v.handle(tampered, now: Self.now)
        let bad = object(reply.body)
        #expect(reply.status == 200)
        #expect(bad["retCode"] as? Int == 10004)
        #expect(bad["retMsg"] as? String == "error sign! origin_string[1700000000000XXXXXXXXXXXX5000category=linear&symbol=ETHUSDT]")
        #expect(!reply.text.contains("test_secret") && !reply.text.contains("test_api_key"))
        #expect(keys(bad) == ["retCode", "retMsg", "result", "retExtInfo", "time"])
    }

    @Test func ordersThroughRest() throws {
        var v = venue()
        let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.010","price":"60000","orderLinkId":"l-1"}"#
        let (reply, updates) = v.handle(signed("POST", "/v5/order/create", body: body), now: Self.now)
        let created = object(reply.body)
        #expect(created["retCode"] as? Int == 0)
        let orderId = (created["result"] as! [String: Any])["orderId"] as! String
        #expect((created["result"] as! [String: Any])["orderLinkId"] as? String == "l-1")
        #expect(updates.count == 1 && updates[0].orders[0].status == .new)
        #expect(reply.headers.map(\.0) == ["X-Bapi-Limit", "X-Bapi-Limit-Status", "X-Bapi-Limit-Reset-Timestamp"])
        #expect(reply.headers[1].1 == "9")
        let dup = object(v.handle(signed("POST", "/v5/order/create", body: body), now: Self.now).0.body)
        #expect(dup["retCode"] as? Int == 110072 && dup["retMsg"] as? String == "OrderLinkedID is duplicate")
        let open = object(v.handle(signed("GET", "/v5/order/realtime", query: "category=linear&symbol=BTCUSDT"), now: Self.now).0.body)
        let list = (open["result"] as! [String: Any])["list"] as! [[String: Any]]
        #expect(list.count == 1 && list[0]["orderId"] as? String == orderId && list[0]["qty"] as? String == "0.010")
        let fixture = object(try Fixtures.text("http_order_realtime_linear_testnet.json"))
        let fixtureItem = ((fixture["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(fixtureItem).isSubset(of: keys(list[0])))
        let noSymbol = object(v.handle(signed("GET", "/v5/order/realtime", query: "category=linear"), now: Self.now).0.body)
        #expect(noSymbol["retCode"] as? Int == 10001)
        let cancel = #"{"category":"linear","symbol":"BTCUSDT","orderLinkId":"l-1"}"#
        let (c, cu) = v.handle(signed("POST", "/v5/order/cancel", body: cancel), now: Self.now)
        #expect(object(c.body)["retCode"] as? Int == 0 && cu[0].orders[0].status == .cancelled)
        let again = object(v.handle(signed("POST", "/v5/order/cancel", body: cancel), now: Self.now).0.body)
        #expect(again["retCode"] as? Int == 110001)
        let history = object(v.handle(signed("GET", "/v5/order/history", query: "category=linear"), now: Self.now).0.body)
        let h = (history["result"] as! [String: Any])["list"] as! [[String: Any]]
        #expect(h.first?["orderStatus"] as? String == "Cancelled")
        let fewer = object(v.handle(signed("POST", "/v5/order/create", body: #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.0001","price":"60000"}"#), now: Self.now).0.body)
        #expect(fewer["retCode"] as? Int == 10001)
    }

    @Test func accountViews() throws {
        var v = venue()
        let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.01"}"#
        #expect(object(v.handle(signed("POST", "/v5/order/create", body: body), now: Self.now).0.body)["retCode"] as? Int == 0)
        let pos = object(v.handle(signed("GET", "/v5/position/list", query: "category=linear&settleCoin=USDT"), now: Self.now).0.body)
        let p = ((pos["result"] as! [String: Any])["list"] as! [[String: Any]])
        #expect(p.count == 1 && p[0]["size"] as? String == "0.010" && p[0]["side"] as? String == "Buy")
        let docPos = ((try Fixtures.docs("http_position_list.json")["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(docPos) == keys(p[0]))
        let exec = object(v.handle(signed("GET", "/v5/execution/list", query: "category=linear"), now: Self.now).0.body)
        let e = (exec["result"] as! [String: Any])["list"] as! [[String: Any]]
        let docExec = ((try Fixtures.docs("http_execution_list.json")["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(!e.isEmpty && keys(docExec).isSubset(of: keys(e[0])))
        let wallet = object(v.handle(signed("GET", "/v5/account/wallet-balance", query: "accountType=UNIFIED"), now: Self.now).0.body)
        let w = ((wallet["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        let fixtureWallet = ((object(try Fixtures.text("http_wallet_balance_unified_testnet.json"))["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(fixtureWallet).isSubset(of: keys(w)))
        let coins = (w["coin"] as! [[String: Any]]).map { $0["coin"] as! String }
        #expect(coins == ["BTC", "USDT"])
        let bad = object(v.handle(signed("GET", "/v5/account/wallet-balance", query: "accountType=SPOT"), now: Self.now).0.body)
        #expect(bad["retCode"] as? Int == 10001)
    }

    @Test func marketData() throws {
        var v = venue(symbols: ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT"])
        var cursor = "", seen: [String] = []
        repeat {
            let q = "category=linear&limit=2" + (cursor.isEmpty ? "" : "&cursor=\(cursor)")
            let o = object(v.handle(RestRequest(method: "GET", path: "/v5/market/instruments-info", rawQuery: q), now: Self.now).0.body)
            let result = o["result"] as! [String: Any]
            let list = result["list"] as! [[String: Any]]
            #expect(list.count <= 2)
            seen += list.map { $0["symbol"] as! String }
            cursor = result["nextPageCursor"] as! String
        } while !cursor.isEmpty
        #expect(seen == ["BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"])
        let info = object(v.handle(RestRequest(method: "GET", path: "/v5/market/instruments-info", rawQuery: "category=linear&symbol=BTCUSDT"), now: Self.now).0.body)
        let docLinear = ((try Fixtures.docs("http_instruments_info.json", 0)["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        let ours = ((info["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(docLinear).subtracting(["symbolId"]) == keys(ours))
        #expect((ours["priceFilter"] as! [String: Any])["tickSize"] as? String == "0.10")
        #expect((ours["lotSizeFilter"] as! [String: Any])["qtyStep"] as? String == "0.001")
        let spotInfo = object(v.handle(RestRequest(method: "GET", path: "/v5/market/instruments-info", rawQuery: "category=spot&symbol=BTCUSDT"), now: Self.now).0.body)
        let docSpot = ((try Fixtures.docs("http_instruments_info.json", 3)["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        let spotOurs = ((spotInfo["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(docSpot).subtracting(["symbolId"]) == keys(spotOurs))
        #expect(keys(docSpot["lotSizeFilter"]) == keys(spotOurs["lotSizeFilter"]))

        let time = object(v.handle(RestRequest(method: "GET", path: "/v5/market/time"), now: Self.now).0.body)
        #expect(keys(time["result"]) == keys(object(try Fixtures.text("http_server_time.json"))["result"]))
        let tickers = object(v.handle(RestRequest(method: "GET", path: "/v5/market/tickers", rawQuery: "category=linear&symbol=BTCUSDT"), now: Self.now).0.body)
        let docTicker = ((try Fixtures.docs("http_tickers.json", 0)["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(docTicker) == keys(((tickers["result"] as! [String: Any])["list"] as! [[String: Any]])[0]))
        let spotTickers = object(v.handle(RestRequest(method: "GET", path: "/v5/market/tickers", rawQuery: "category=spot"), now: Self.now).0.body)
        let docSpotTicker = ((try Fixtures.docs("http_tickers.json", 2)["result"] as! [String: Any])["list"] as! [[String: Any]])[0]
        #expect(keys(docSpotTicker) == keys(((spotTickers["result"] as! [String: Any])["list"] as! [[String: Any]])[0]))
        let book = object(v.handle(RestRequest(method: "GET", path: "/v5/market/orderbook", rawQuery: "category=linear&symbol=BTCUSDT&limit=5"), now: Self.now).0.body)
        let docBook = try Fixtures.docs("http_orderbook.json")["result"]
        #expect(keys(docBook) == keys(book["result"]))
        #expect(((book["result"] as! [String: Any])["b"] as! [Any]).count == 5)
        let kline = object(v.handle(RestRequest(method: "GET", path: "/v5/market/kline", rawQuery: "category=linear&symbol=BTCUSDT&interval=1"), now: Self.now).0.body)
        let rows = (kline["result"] as! [String: Any])["list"] as! [[String]]
        #expect(rows.count == 1 && rows[0].count == 7)
        let funding = object(v.handle(RestRequest(method: "GET", path: "/v5/market/funding/history", rawQuery: "category=linear&symbol=BTCUSDT&limit=3"), now: Self.now).0.body)
        let fl = (funding["result"] as! [String: Any])["list"] as! [[String: Any]]
        #expect(fl.count == 3 && keys(fl[0]) == ["symbol", "fundingRate", "fundingRateTimestamp"])
        let unknown = v.handle(RestRequest(method: "GET", path: "/v5/nope"), now: Self.now).0
        #expect(unknown.status == 404)
        let badSymbol = object(v.handle(RestRequest(method: "GET", path: "/v5/market/orderbook", rawQuery: "category=linear&symbol=NOPE"), now: Self.now).0.body)
        #expect(badSymbol["retCode"] as? Int == 10001)
    }
}
