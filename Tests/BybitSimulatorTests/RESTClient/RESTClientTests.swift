import Bybit
import BybitClient
import Foundation
import Testing

@Suite("BybitRESTClient against a stub server")
struct RESTClientTests {
    let order = RESTCreateOrder(category: .linear, symbol: "BTCUSDT", side: .buy, orderType: .limit,
                                qty: Decimal(string: "0.001")!, price: Decimal(string: "30000")!,
                                timeInForce: .gtc, orderLinkId: "link-1", positionIdx: 0)

    @Test("signed GET and POST pass the stub's signature check; headers as specified")
    func signatures() async throws {
        try await withRESTStub(script: { req in
            switch req.path {
            case "/v5/position/list": return .ok(emptyPositionPage)
            case "/v5/order/create": return .ok(#"{"orderId":"o-1","orderLinkId":"link-1"}"#)
            case "/v5/account/wallet-balance": return .ok(sampleWallet)
            case "/v5/market/tickers": return .ok(sampleTickers)
            default: return nil
            }
        }) { stub in
            let client = makeRESTClient(stub, recvWindowMs: 7000)
            let positions = try await client.positions(category: .linear, symbol: "BTCUSDT")
            #expect(positions.isEmpty)
            let ack = try await client.createOrder(order)
            #expect(ack == RESTOrderAck(orderId: "o-1", orderLinkId: "link-1"))
            let wallet = try await client.walletBalance(coin: "USDT,USDC")
            #expect(wallet.list[0].coin[0].walletBalance == dec("-1.5"))
            #expect(wallet.list[0].coin[0].availableToWithdraw == nil)
            let tickers = try await client.tickers(category: .spot, symbol: "BTCUSDT")
            #expect(tickers[0].bid1Price == dec("100.5"))

            let requests = await stub.log.requests
            #expect(requests.map(\.path) == ["/v5/position/list", "/v5/order/create", "/v5/account/wallet-balance", "/v5/market/tickers"])
            for signed in requests.prefix(3) {
                #expect(signed.signatureValid == true, "\(signed.path)")
                #expect(signed.headers["x-bapi-api-key"] == stub.credentials.apiKey)
                #expect(signed.headers["x-bapi-sign-type"] == "2")
                #expect(signed.headers["x-bapi-recv-window"] == "7000")
                let ts = try #require(Int64(signed.headers["x-bapi-timestamp"] ?? ""))
                // Signed when sent (well inside the 7 s receive window; a loaded test machine may
                // hold a request a few seconds).
                #expect(abs(ts - signed.receivedAtMs) < 7000)
            }
            #expect(requests[0].rawQuery == "category=linear&limit=200&symbol=BTCUSDT")
            #expect(requests[1].headers["content-type"] == "application/json")
            #expect(requests[1].body == order.body.encoded)
            #expect(requests[2].rawQuery == "accountType=UNIFIED&coin=USDT,USDC")
            #expect(requests[2].headers["content-type"] == nil)
            // Public endpoints are not signed.
            #expect(requests[3].signatureValid == nil)
            #expect(requests[3].headers["x-bapi-sign"] == nil)
        }
    }

    @Test("wrong secret → BybitAPIError 10004, not retried, API key redacted from the message")
    func badSignature() async throws {
        try await withRESTStub { stub in
            let wrong = BybitCredentials(apiKey: stub.credentials.apiKey, secret: "not-the-secret")
            let client = makeRESTClient(stub, credentials: wrong)
            let error = try await #require(throws: BybitAPIError.self) { try await client.createOrder(order) }
            #expect(error.isSignatureError)
            #expect(!error.message.contains(stub.credentials.apiKey))
            #expect(error.message.contains("<api-key>"))
            #expect(await stub.log.count("/v5/order/create") == 1)
        }
    }

    @Test("private endpoint without credentials fails before sending")
    func noCredentials() async throws {
        try await withRESTStub { stub in
            let client = makeRESTClient(stub, useStubCredentials: false)
            await #expect(throws: BybitRESTUsageError.self) { try await client.walletBalance() }
            #expect(await stub.log.requests.isEmpty)
        }
    }

    @Test("10002 → one clock re-sync from /v5/market/time and one retry that succeeds (POST)")
    func timestampResync() async throws {
        try await withRESTStub(script: { req in
            req.path == "/v5/order/create" ? .ok(#"{"orderId":"o-2","orderLinkId":"link-1"}"#) : nil
        }) { stub in
            // The host clock is a minute slow: outside any recv window.
            let client = makeRESTClient(stub, clock: .skewed(by: -60_000))
            let ack = try await client.createOrder(order)
            #expect(ack.orderId == "o-2")
            let requests = await stub.log.requests
            #expect(requests.map(\.path) == ["/v5/order/create", "/v5/market/time", "/v5/order/create"])
            let firstTs = try #require(Int64(requests[0].headers["x-bapi-timestamp"] ?? ""))
            let retryTs = try #require(Int64(requests[2].headers["x-bapi-timestamp"] ?? ""))
            #expect(requests[0].receivedAtMs - firstTs > 55_000)
            #expect(abs(requests[2].receivedAtMs - retryTs) < 2000)
            #expect(requests[2].signatureValid == true)
            #expect(requests[2].body == requests[0].body)  // same bytes, new timestamp and signature
            let offset = await client.clockOffsetMs
            #expect(abs(offset - 60_000) < 2000)
        }
    }

    @Test("10002 again after the re-sync → BybitAPIError, exactly one retry (also for GET)")
    func timestampResyncOnlyOnce() async throws {
        // The time endpoint lies by the same minute, so re-syncing cannot help.
        try await withRESTStub(reportedTimeSkewMs: -60_000) { stub in
            let client = makeRESTClient(stub, clock: .skewed(by: -60_000))
            let error = try await #require(throws: BybitAPIError.self) { try await client.walletBalance() }
            #expect(error.isTimestampError)
            #expect(await stub.log.paths() == ["/v5/account/wallet-balance", "/v5/market/time", "/v5/account/wallet-balance"])
        }
    }

    @Test("retCode ≠ 0 → typed BybitAPIError; rejected order entry and bad reads are not retried")
    func apiErrors() async throws {
        try await withRESTStub(script: { req in
            switch req.path {
            case "/v5/order/create": return .error(110072, "OrderLinkedID is duplicate")
            case "/v5/order/realtime": return .error(10001, "params error: symbol invalid")
            default: return nil
            }
        }) { stub in
            let client = makeRESTClient(stub)
            let dup = try await #require(throws: BybitAPIError.self) { try await client.createOrder(order) }
            #expect(dup.isDuplicateOrderLinkID && dup.code == 110072 && dup.path == "/v5/order/create")
            let bad = try await #require(throws: BybitAPIError.self) {
                try await client.openOrders(category: .linear, symbol: "NOPE")
            }
            #expect(bad.code == 10001)
            #expect(await stub.log.count("/v5/order/create") == 1)
            #expect(await stub.log.count("/v5/order/realtime") == 1)
        }
    }

    @Test("5xx on create / cancel → outcome unknown, exactly one request reached the server")
    func serverErrorOnOrderEntry() async throws {
        try await withRESTStub(script: { req in
            req.path.hasPrefix("/v5/order/") ? StubReply(status: 502, body: "<html>bad gateway</html>") : nil
        }) { stub in
            let client = makeRESTClient(stub)
            let unknown = try await #require(throws: BybitOrderOutcomeUnknownError.self) { try await client.createOrder(order) }
            #expect(unknown.orderLinkId == "link-1")
            #expect(unknown.path == "/v5/order/create")
            await #expect(throws: BybitOrderOutcomeUnknownError.self) {
                try await client.cancelOrder(RESTCancelOrder(category: .linear, symbol: "BTCUSDT", orderLinkId: "link-1"))
            }
            #expect(await stub.log.count("/v5/order/create") == 1)
            #expect(await stub.log.count("/v5/order/cancel") == 1)
        }
    }

    @Test("timeout on create → outcome unknown, exactly one request reached the server")
    func timeoutOnCreate() async throws {
        try await withRESTStub(script: { req in
            req.path == "/v5/order/create" ? StubReply(body: #"{"retCode":0,"retMsg":"OK","result":{"orderId":"late","orderLinkId":"link-1"}}"#, delayMs: 3000) : nil
        }) { stub in
            let client = makeRESTClient(stub, timeout: .milliseconds(1000))
            let unknown = try await #require(throws: BybitOrderOutcomeUnknownError.self) { try await client.createOrder(order) }
            #expect(unknown.orderLinkId == "link-1")
            try await Task.sleep(for: .milliseconds(300))
            // Never retried. (On a loaded machine the timeout can fire before the request is
            // even sent, which is still an unknown outcome for the client: hence ≤ 1.)
            #expect(await stub.log.count("/v5/order/create") <= 1)
        }
    }

    @Test("GET is retried on 5xx and on a timeout; the observer sees every response")
    func readRetries() async throws {
        let collector = ExchangeCollector()
        try await withRESTStub(script: { req in
            switch (req.path, req.indexOnPath) {
            case ("/v5/market/tickers", 0): return StubReply(status: 503, body: "unavailable")
            case ("/v5/market/tickers", _): return .ok(sampleTickers)
            case ("/v5/market/orderbook", 0): return StubReply(body: "{}", delayMs: 10_000)
            case ("/v5/market/orderbook", _):
                return .ok(#"{"s":"BTCUSDT","a":[["101","2"]],"b":[["100","1"]],"ts":1716863719031,"u":7,"seq":9,"cts":1716863718905}"#)
            default: return nil
            }
        }) { stub in
            // The timeout is long enough that the 503 always arrives in time on a loaded machine,
            // and short enough to cut the delayed orderbook reply.
            let client = makeRESTClient(stub, timeout: .milliseconds(3000), onResponse: collector.add)
            let tickers = try await client.tickers(category: .spot, symbol: "BTCUSDT")
            #expect(tickers.count == 1 && tickers[0].ask1Price == 101)
            #expect(await stub.log.count("/v5/market/tickers") == 2)
            let book = try await client.orderbook(category: .linear, symbol: "BTCUSDT", limit: 1)
            #expect(book.updateId == 7 && book.bids[0].price == 100)
            #expect(await stub.log.count("/v5/market/orderbook") == 2)

            let exchanges = collector.exchanges
            // The timed-out attempt produced no response, so three exchanges.
            #expect(exchanges.map(\.status) == [503, 200, 200])
            #expect(exchanges.map(\.attempt) == [1, 2, 2])
            #expect(exchanges[0].path == "/v5/market/tickers" && exchanges[0].method == .get)
            #expect(exchanges[0].query == "category=spot&symbol=BTCUSDT")
            #expect(String(decoding: exchanges[0].body, as: UTF8.self) == "unavailable")
            #expect(String(decoding: exchanges[1].body, as: UTF8.self).contains("BTCUSDT"))
            #expect(exchanges[1].receivedAtMicros >= exchanges[1].sentAtMicros)
        }
    }

    @Test("remaining 0 delays the next request of the same group until the reset; other groups go on")
    func rateLimitHeaders() async throws {
        let reset = LockedReset()
        try await withRESTStub(script: { req in
            switch req.path {
            case "/v5/position/list" where req.indexOnPath == 0:
                // Far enough ahead that a loaded machine still sends the other group's request
                // before it (CI saw a wallet request 940 ms late with 600).
                let resetAt = req.receivedAtMs + 2500
                reset.set(resetAt)
                return .ok(emptyPositionPage, remaining: 0, limit: 50, resetAtMs: resetAt)
            case "/v5/position/list":
                return .ok(emptyPositionPage, remaining: 49, limit: 50, resetAtMs: req.receivedAtMs + 1000)
            case "/v5/account/wallet-balance":
                return .ok(sampleWallet)
            default: return nil
            }
        }) { stub in
            let client = makeRESTClient(stub)
            _ = try await client.positions(category: .linear, symbol: "BTCUSDT")
            let resetAt = try #require(reset.value)
            #expect(await client.rateLimitBudget(.position)?.remaining == 0)
            _ = try await client.walletBalance()
            _ = try await client.positions(category: .linear, symbol: "BTCUSDT")
            let requests = await stub.log.requests
            #expect(requests.map(\.path) == ["/v5/position/list", "/v5/account/wallet-balance", "/v5/position/list"])
            #expect(requests[1].receivedAtMs < resetAt)  // another budget: not delayed
            #expect(requests[2].receivedAtMs >= resetAt)
        }
    }

    @Test("10006 on a read: wait until the reset timestamp, then retry")
    func rateLimitError() async throws {
        let reset = LockedReset()
        try await withRESTStub(script: { req in
            guard req.path == "/v5/market/tickers" else { return nil }
            if req.indexOnPath == 0 {
                let resetAt = req.receivedAtMs + 400
                reset.set(resetAt)
                var reply = StubReply.error(10006, "Too many visits!")
                reply.headers = [("X-Bapi-Limit-Status", "0"), ("X-Bapi-Limit", "10"), ("X-Bapi-Limit-Reset-Timestamp", "\(resetAt)")]
                return reply
            }
            return .ok(sampleTickers)
        }) { stub in
            let client = makeRESTClient(stub)
            let tickers = try await client.tickers(category: .spot)
            #expect(tickers.count == 1)
            let requests = await stub.log.on("/v5/market/tickers")
            #expect(requests.count == 2)
            #expect(requests[1].receivedAtMs >= (try #require(reset.value)))
        }
    }

    @Test("instruments follow nextPageCursor across 3 pages; cursors are sent back verbatim")
    func pagination() async throws {
        try await withRESTStub(script: { req in
            guard req.path == "/v5/market/instruments-info" else { return nil }
            if req.rawQuery.contains("cursor=page%3D2%26") { return .ok(instrumentsPage(2, next: "page%3D3%26")) }
            if req.rawQuery.contains("cursor=page%3D3%26") { return .ok(instrumentsPage(3, next: "")) }
            return .ok(instrumentsPage(1, next: "page%3D2%26"))
        }) { stub in
            let client = makeRESTClient(stub, useStubCredentials: false)
            let instruments = try await client.instruments(category: .linear)
            #expect(instruments.map(\.symbol) == ["SYM11USDT", "SYM12USDT", "SYM21USDT", "SYM22USDT", "SYM31USDT", "SYM32USDT"])
            #expect(instruments[0].lotSizeFilter.maxMktOrderQty == 50)
            let queries = await stub.log.on("/v5/market/instruments-info").map(\.rawQuery)
            #expect(queries == ["category=linear&limit=1000",
                                "category=linear&cursor=page%3D2%26&limit=1000",
                                "category=linear&cursor=page%3D3%26&limit=1000"])
        }
    }

    @Test("executions: every page of every 7-day window from startTime, the last window open-ended")
    func executionWindows() async throws {
        let start: Int64 = 1_700_000_000_000
        let week: Int64 = 7 * 86_400_000
        try await withRESTStub(script: { req in
            guard req.path == "/v5/execution/list" else { return nil }
            let q = req.rawQuery
            if q.contains("cursor=p2") { return .ok(executionsPage(["e2"], next: "")) }
            if q.contains("endTime=\(start + week - 1)&") { return .ok(executionsPage(["e1"], next: "p2")) }
            if q.contains("endTime=\(start + 2 * week - 1)&") { return .ok(executionsPage(["e3"], next: "")) }
            return .ok(executionsPage(["e4"], next: ""))
        }) { stub in
            let client = makeRESTClient(stub)
            let fills = try await client.allExecutions(category: .linear, startTime: start, nowMs: start + 15 * 86_400_000)
            #expect(fills.map(\.execId) == ["e1", "e2", "e3", "e4"])
            let queries = await stub.log.on("/v5/execution/list").map(\.rawQuery)
            #expect(queries == [
                "category=linear&endTime=\(start + week - 1)&limit=100&startTime=\(start)",
                "category=linear&cursor=p2&endTime=\(start + week - 1)&limit=100&startTime=\(start)",
                "category=linear&endTime=\(start + 2 * week - 1)&limit=100&startTime=\(start + week)",
                "category=linear&limit=100&startTime=\(start + 2 * week)",
            ])
            // Without a start: one open-ended window (Bybit's last 7 days).
            _ = try await client.allExecutions(category: .spot, startTime: nil, nowMs: start)
            #expect(await stub.log.on("/v5/execution/list").last?.rawQuery == "category=spot&limit=100")
        }
    }

    @Test("executions: a window over the page limit is split in two, the open one fetched as a closed window")
    func executionWindowSplit() async throws {
        let start: Int64 = 1_700_000_000_000
        let week: Int64 = 7 * 86_400_000
        let middle = start + (week - 1) / 2
        // A page that always names a next one: the window holds more than the page limit.
        @Sendable func endless(_ q: String) -> StubReply {
            let n = q.range(of: #"cursor=c(\d+)"#, options: .regularExpression)
                .flatMap { Int(q[$0].dropFirst("cursor=c".count)) } ?? 0
            return .ok(executionsPage(["x\(n)"], next: "c\(n + 1)"))
        }
        try await withRESTStub(script: { req in
            guard req.path == "/v5/execution/list" else { return nil }
            let q = req.rawQuery
            if q.contains("endTime=\(start + week - 1)&") && q.hasSuffix("startTime=\(start)") { return endless(q) }
            if q.contains("endTime=\(middle)&") { return .ok(executionsPage(["a1"], next: "")) }
            if q.hasSuffix("startTime=\(middle + 1)") { return .ok(executionsPage(["a2"], next: "")) }
            if !q.contains("endTime=") { return endless(q) }
            if q.contains("endTime=\(start + 2 * week - 1)&") { return .ok(executionsPage(["b1"], next: "")) }
            return nil
        }) { stub in
            let client = makeRESTClient(stub, maxPages: 3)
            let fills = try await client.allExecutions(category: .linear, startTime: start, nowMs: start + week + 60_000)
            #expect(fills.map(\.execId) == ["a1", "a2", "b1"])
            let queries = await stub.log.on("/v5/execution/list").map(\.rawQuery).filter { !$0.contains("cursor=") }
            #expect(queries == [
                "category=linear&endTime=\(start + week - 1)&limit=100&startTime=\(start)",
                "category=linear&endTime=\(middle)&limit=100&startTime=\(start)",
                "category=linear&endTime=\(start + week - 1)&limit=100&startTime=\(middle + 1)",
                "category=linear&limit=100&startTime=\(start + week)",
                "category=linear&endTime=\(start + 2 * week - 1)&limit=100&startTime=\(start + week)",
            ])
        }
    }

    @Test("HTTP 403 → BybitHTTPError, then requests fail fast without reaching the server")
    func forbidden() async throws {
        try await withRESTStub(script: { req in
            req.path == "/v5/market/tickers" ? StubReply(status: 403, body: "access too frequent") : nil
        }) { stub in
            let client = makeRESTClient(stub)
            let error = try await #require(throws: BybitHTTPError.self) { try await client.tickers(category: .linear) }
            #expect(error.isForbidden && error.bodyPrefix == "access too frequent")
            await #expect(throws: BybitRESTUsageError.self) { try await client.serverTime() }
            #expect(await stub.log.paths() == ["/v5/market/tickers"])
        }
    }

    @Test("serverTime and syncClock")
    func serverTime() async throws {
        try await withRESTStub(serverSkewMs: 30_000) { stub in
            let client = makeRESTClient(stub)
            let time = try await client.serverTime()
            #expect(abs(time.milliseconds - stub.nowMs) < 2000)
            let offset = try await client.syncClock()
            #expect(abs(offset - 30_000) < 2000)
            // Signed requests now pass the stub's timestamp check.
            _ = try await client.openOrders(category: .linear, symbol: "BTCUSDT")
            #expect(await stub.log.on("/v5/order/realtime").first?.signatureValid == true)
        }
    }
}

/// A reset timestamp written by the stub script and read by the test.
final class LockedReset: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: Int64?

    func set(_ value: Int64) {
        lock.lock()
        stored = value
        lock.unlock()
    }

    var value: Int64? {
        lock.lock()
        defer { lock.unlock() }
        return stored
    }
}

/// One page of two made-up linear instruments.
private func instrumentsPage(_ n: Int, next: String) -> String {
    let items = (1...2).map { i in
        #"{"symbol":"SYM\#(n)\#(i)USDT","contractType":"LinearPerpetual","status":"Trading","baseCoin":"SYM","quoteCoin":"USDT","priceFilter":{"minPrice":"0.1","maxPrice":"1000","tickSize":"0.1"},"lotSizeFilter":{"qtyStep":"0.01","minOrderQty":"0.01","maxOrderQty":"100","maxMktOrderQty":"50","minNotionalValue":"5"}}"#
    }
    return #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":"\#(next)"}"#
}

private func executionsPage(_ ids: [String], next: String) -> String {
    let items = ids.map { id in
        #"{"symbol":"BTCUSDT","orderId":"o-\#(id)","orderLinkId":"","side":"Buy","execId":"\#(id)","execPrice":"50000","execQty":"0.01","execType":"Trade","execTime":"1700000000000","isMaker":false}"#
    }
    return #"{"category":"linear","list":[\#(items.joined(separator: ","))],"nextPageCursor":"\#(next)"}"#
}

private func dec(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }
