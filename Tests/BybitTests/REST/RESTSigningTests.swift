import Foundation
import Testing
@testable import Bybit

/// Reference §2.2 vectors (secret `test_secret`, key `test_api_key`, recvWindow 5000,
/// timestamp 1700000000000) and the "sign exactly what is sent" rule.
@Suite("REST request signing")
struct RESTSigningTests {
    let credentials = BybitCredentials(apiKey: "test_api_key", secret: "test_secret")
    let timestamp: Int64 = 1_700_000_000_000

    @Test("GET vector: category=linear&symbol=BTCUSDT")
    func getVector() throws {
        let request = BybitRESTRequest.tickers(category: .linear, symbol: "BTCUSDT")
        #expect(request.queryString == "category=linear&symbol=BTCUSDT")
        let signed = request.signed(credentials: credentials, timestampMs: timestamp, recvWindowMs: 5000)
        #expect(signed.header("X-BAPI-SIGN") == "fd4f31228a46109dc6673062328693696df9a96c7ff04e6491a45e7f63a0fdd7")
    }

    @Test("POST vector: body with spaces, signed verbatim")
    func postVector() throws {
        let body = #"{"category": "linear", "symbol": "BTCUSDT", "orderLinkId": "test-order-1"}"#
        let request = BybitRESTRequest(post: .orderCreate, rawBody: body, category: .linear)
        let signed = request.signed(credentials: credentials, timestampMs: timestamp, recvWindowMs: 5000)
        #expect(signed.header("X-BAPI-SIGN") == "2df4a0603d69c08d5dea29ba85b46eb7db64ce9e9ebd34a7802a3d69700cb2a1")
        #expect(signed.bodyBytes == Array(body.utf8))
    }

    @Test("WS auth vector")
    func webSocketVector() {
        #expect(credentials.signer.webSocketAuthSignature(expires: timestamp)
            == "bacffe7500499eb829bb58c45d36d1b3e5ac67c14eaeba91df5e99ccee013925")
    }

    @Test("headers: key, timestamp, sign, recv window, sign type, content type on POST only")
    func headers() {
        let get = BybitRESTRequest.positions(category: .linear, symbol: "BTCUSDT")
            .signed(credentials: credentials, timestampMs: timestamp, recvWindowMs: 8000)
        #expect(get.header("X-BAPI-API-KEY") == "test_api_key")
        #expect(get.header("X-BAPI-TIMESTAMP") == "1700000000000")
        #expect(get.header("X-BAPI-RECV-WINDOW") == "8000")
        #expect(get.header("X-BAPI-SIGN-TYPE") == "2")
        #expect(get.header("Content-Type") == nil)
        let post = RESTCancelOrder(category: .linear, symbol: "BTCUSDT", orderLinkId: "a").request
            .signed(credentials: credentials, timestampMs: timestamp)
        #expect(post.header("content-type") == "application/json")
        #expect(post.header("X-BAPI-RECV-WINDOW") == "5000")
        // Public requests carry no auth headers.
        let pub = BybitRESTRequest.serverTime().signed(credentials: nil, timestampMs: timestamp)
        #expect(pub.headers.isEmpty)
        #expect(pub.timestampMs == nil)
    }

    @Test("the signature covers exactly the bytes sent (GET query and POST body)")
    func signatureCoversSentBytes() {
        let create = RESTCreateOrder(category: .linear, symbol: "BTCUSDT", side: .buy, orderType: .limit,
                                     qty: Decimal(string: "0.001")!, price: Decimal(string: "30000.5")!,
                                     timeInForce: .postOnly, orderLinkId: "ol-1", positionIdx: 0, reduceOnly: false)
        let signed = create.request.signed(credentials: credentials, timestampMs: timestamp, recvWindowMs: 5000)
        let sentBody = String(decoding: signed.bodyBytes, as: UTF8.self)
        #expect(sentBody == #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"0.001","price":"30000.5","timeInForce":"PostOnly","orderLinkId":"ol-1","positionIdx":0,"reduceOnly":false}"#)
        let expected = credentials.signer.signature("1700000000000test_api_key5000" + sentBody)
        #expect(signed.header("X-BAPI-SIGN") == expected)
        // Any change to the sent bytes changes the signature.
        #expect(credentials.signer.signature("1700000000000test_api_key5000" + sentBody + " ") != expected)

        let cursor = "page_args%3D58364642-a4d6%26"
        let get = BybitRESTRequest.openOrders(category: .linear, symbol: "BTCUSDT", cursor: cursor, limit: 50)
        let signedGet = get.signed(credentials: credentials, timestampMs: timestamp)
        let sentQuery = String(get.pathAndQuery.split(separator: "?", maxSplits: 1)[1])
        #expect(sentQuery == get.queryString)
        #expect(sentQuery == "category=linear&cursor=page_args%3D58364642-a4d6%26&limit=50&symbol=BTCUSDT")
        #expect(signedGet.header("X-BAPI-SIGN") == credentials.signer.signature("1700000000000test_api_key5000" + sentQuery))
    }

    @Test("query strings are sorted and escaped once; bodies keep insertion order")
    func payloadBuilding() {
        var q = RESTQuery()
        q.set("symbol", "BTC USDT")
        q.set("coin", "USDT,USDC")
        q.set("a&b", "x=y")
        q.set("skip", nil as String?)
        #expect(q.encoded == "a%26b=x%3Dy&coin=USDT,USDC&symbol=BTC%20USDT")
        var b = RESTJSONBody()
        b.set("z", "quote\"back\\slash\nnl")
        b.set("a", 1)
        b.set("m", true)
        b.set("z", "again")
        b.set("d", Decimal(string: "0.00000001")!)
        #expect(b.encoded == #"{"z":"again","a":1,"m":true,"d":"0.00000001"}"#)
        var e = RESTJSONBody()
        e.set("s", "quote\"back\\slash\nnl\u{1}")
        #expect(e.encoded == #"{"s":"quote\"back\\slash\nnl\u0001"}"#)
    }

    @Test("decimals are written without exponent")
    func decimalText() {
        #expect(RESTNumberParsing.text(Decimal(string: "0.00000001")!) == "0.00000001")
        #expect(RESTNumberParsing.text(Decimal(string: "123456789012.5")!) == "123456789012.5")
        #expect(RESTNumberParsing.text(Decimal(string: "100.000")!) == "100")
        #expect(RESTNumberParsing.text(Decimal(string: "-1.25")!) == "-1.25")
    }

    @Test("signed request description redacts key and signature")
    func redaction() {
        let signed = BybitRESTRequest.walletBalance().signed(credentials: credentials, timestampMs: timestamp)
        let text = signed.description
        #expect(!text.contains("test_api_key"))
        #expect(!text.contains(signed.header("X-BAPI-SIGN")!))
        #expect(text.contains("<redacted>"))
    }

    @Test("endpoint builders: paths, methods, groups")
    func builders() {
        #expect(BybitRESTRequest.klines(category: .spot, symbol: "BTCUSDT", interval: .oneMinute, start: 1, end: 2, limit: 3).pathAndQuery
            == "/v5/market/kline?category=spot&end=2&interval=1&limit=3&start=1&symbol=BTCUSDT")
        #expect(BybitRESTRequest.walletBalance(coin: "USDT,USDC").pathAndQuery
            == "/v5/account/wallet-balance?accountType=UNIFIED&coin=USDT,USDC")
        #expect(BybitRESTRequest.fundingHistory(category: .linear, symbol: "BTCUSDT", startTime: 10, endTime: 20).queryString
            == "category=linear&endTime=20&startTime=10&symbol=BTCUSDT")
        let create = RESTCreateOrder(category: .spot, symbol: "BTCUSDT", side: .sell, orderType: .market, qty: 1).request
        #expect(create.rateLimitGroup == .orderCreate(.spot))
        #expect(create.endpoint.path == "/v5/order/create")
        #expect(!create.endpoint.isSafeRead)
        #expect(RESTCancelAllOrders(category: .linear, symbol: "X").request.rateLimitGroup == .cancelAll(.linear))
        #expect(RESTAmendOrder(category: .linear, symbol: "X", orderLinkId: "o", price: 2).body.encoded
            == #"{"category":"linear","symbol":"X","orderLinkId":"o","price":"2"}"#)
        #expect(BybitRESTRequest.executions(category: .linear).rateLimitGroup == .execution)
        #expect(BybitRESTRequest.orderHistory(category: .linear).endpoint.isSafeRead)
    }
}
