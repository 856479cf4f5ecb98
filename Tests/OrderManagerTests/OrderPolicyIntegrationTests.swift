import Bybit
import BybitSimulator
import Foundation
import OrderManager
import OrderManagerCore
import Signals
import Testing
import TradelogCore
import TradelogTesting

/// The open-order policy table (docs/order-policy.md), quantity rounding and minimums, the
/// audit and the REST API, through the whole stack against the simulator.
extension OrderManagerIntegrationTests {
/// Nested in the serialized suite above: the stacks of the two never run at the same time.
@Suite("Order policy, sizing, audit and API end to end", .serialized)
struct OrderPolicyIntegrationTests {
    /// Limit orders unless the signal is very confident: the market does not move (manual
    /// rate), so a resting PostOnly order stays where it is for the whole test.
    static func limitConfig() -> OrderManagerConfig {
        var c = OMStack.config()
        c.orderTypes = OrderTypeThresholds(marketConfidence: Decimal(string: "0.95")!, marketVolatility: 1, tightSpreadBps: -1)
        return c
    }

    static func still(_ c: inout SimulatorConfiguration) {
        c.rate = .manual
        // SOLUSDT linear: a small maximum so that row 5's "amend would exceed maxQty" is reachable.
        var sol = SimInstrument.defaults(symbol: "SOLUSDT", category: .linear)
        sol.maxOrderQty = Fixed("1.5")!
        c.instruments = [sol]
    }

    /// The reasons of the steps of a signal's decision (cancel, amend, create), or the stream's
    /// events when there is no decision (so that a failure says what happened instead).
    func steps(_ stack: OMStack, _ id: String) async throws -> [String] {
        let stream = SignalEvents.stream(signalID: id)
        _ = try await TestDatabase.eventually(timeout: .seconds(10)) { try await stack.eventTypes(stream: stream).count >= 2 }
        guard let d = try await stack.payload(stream: stream, type: "OrderDecided") else {
            return try await stack.log.readStream(stream).map { "\($0.type): \(String(decoding: $0.data, as: UTF8.self).prefix(400))" }
        }
        return (d["steps"] as? [[String: Any]] ?? []).map { "\($0["action"] ?? "?") \($0["reason"] ?? "?")" }
    }

    /// The order manager has the answer to the last request on this order (row 2 no longer applies).
    func settled(_ stack: OMStack, _ link: String) async throws -> Bool {
        try await TestDatabase.eventually(timeout: .seconds(10)) {
            _ = try await stack.engine.follow()
            return await stack.engine.state.order(link)?.pending == nil
        }
    }

    @Test("every row of the open-order policy table; the audit of a signal cancelled by a later one and of a denied one")
    func policyRows() async throws {
        try await OMStack.with(config: Self.limitConfig(), simulator: Self.still) { stack in
            // Row 1: nothing resting → create (a PostOnly limit buy rests at the best bid).
            let (a, aBody) = OMStack.signal(type: "buy", amount: "200", confidence: "0.5")
            try await stack.publish([aBody])
            let aLink = OrderEvents.orderLinkID(signalID: a, leg: 0)
            #expect(try await stack.waitOrder(aLink, [.new])?.status == .new)
            let aQty = try #require(try await stack.exchangeOrder(aLink)?.qty)
            #expect(try await settled(stack, aLink))

            // Row 5: same side, both limit → amend the resting order to the sum; no new order.
            let (b, bBody) = OMStack.signal(type: "buy", amount: "200", confidence: "0.5")
            try await stack.publish([bBody])
            let bSteps = try await steps(stack, b)
            #expect(bSteps == ["amend same_side_amend"])
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.exchangeOrder(aLink)?.qty == aQty * 2
            }, "amended to the sum at the exchange")
            #expect(try await stack.ordersAtExchange(OrderEvents.orderLinkID(signalID: b, leg: 0)) == 0)
            // The amend's own answer settles it in the order manager (until then, row 2 applies).
            #expect(try await settled(stack, aLink))

            // Row 6: same side, the new order is Market → another order (filled).
            let (c, cBody) = OMStack.signal(type: "buy", amount: "200", confidence: "0.99")
            try await stack.publish([cBody])
            let cLink = OrderEvents.orderLinkID(signalID: c, leg: 0)
            let cSteps = try await steps(stack, c)
            #expect(cSteps == ["create same_side_add"])
            #expect(try await stack.waitOrder(cLink, [.filled])?.status == .filled)
            #expect(try await stack.exchangeOrder(aLink)?.orderStatus == "New", "the resting buy is untouched")

            // Rows 3–4: opposite side → cancel the resting buy first, then create the sell.
            let (d, dBody) = OMStack.signal(type: "sell", amount: "200", confidence: "0.5")
            try await stack.publish([dBody])
            let dLink = OrderEvents.orderLinkID(signalID: d, leg: 0)
            let dSteps = try await steps(stack, d)
            #expect(dSteps == ["cancel opposite_signal", "create opposite_cancelled"])
            #expect(try await stack.waitOrder(aLink, [.cancelled])?.status == .cancelled)
            #expect(try await stack.waitOrder(dLink, [.new])?.status == .new)
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT relation FROM signal_order_relationships WHERE signal_id = $1 AND order_link_id = $2", [d, aLink]) == "cancelled"
            })
            #expect(try await stack.scalar("SELECT relation FROM signal_order_relationships WHERE signal_id = $1 AND order_link_id = $2", [b, aLink]) == "amended")

            // The audit of the first signal shows its order amended by b and cancelled by d.
            let audit = try await SignalAudit.report(signalID: a, log: stack.log)
            #expect(audit.found)
            #expect(audit.entries.contains { $0.type == "OrderAmendRequested" } && audit.entries.contains { $0.type == "OrderCancelRequested" })
            #expect(audit.text.contains("opposite_signal"), "\(audit.text)")
            #expect(audit.text.contains("cancelled"))

            // Row 5, second half: the amended total would exceed maxOrderQty (1.5 SOL) → a new order.
            let (s1, s1Body) = OMStack.signal(type: "buy", asset: "SOLUSDT", amount: "150", confidence: "0.5", price: "150")
            try await stack.publish([s1Body])
            let s1Link = OrderEvents.orderLinkID(signalID: s1, leg: 0)
            #expect(try await stack.waitOrder(s1Link, [.new])?.status == .new)
            #expect(try await settled(stack, s1Link))
            let (s2, s2Body) = OMStack.signal(type: "buy", asset: "SOLUSDT", amount: "150", confidence: "0.5", price: "150")
            try await stack.publish([s2Body])
            let s2Steps = try await steps(stack, s2)
            #expect(s2Steps == ["create same_side_add"])
            #expect(try await stack.waitOrder(OrderEvents.orderLinkID(signalID: s2, leg: 0), [.new])?.status == .new)

            // Row 2: an order whose outcome is not known yet → the next signal is refused. The
            // simulator sits on the request without executing it, so neither an answer nor an
            // order frame settles it until the client times out.
            try await stack.simulator.timeoutNext(path: "/v5/order/create")
            let (e1, e1Body) = OMStack.signal(type: "buy", asset: "ETHUSDT", amount: "300", confidence: "0.99", price: "3500")
            try await stack.publish([e1Body])
            let e1Link = OrderEvents.orderLinkID(signalID: e1, leg: 0)
            #expect(try await stack.waitOrder(e1Link, [.requested])?.status == .requested)
            let (e2, e2Body) = OMStack.signal(type: "buy", asset: "ETHUSDT", amount: "300", confidence: "0.99", price: "3500")
            try await stack.publish([e2Body])
            let denied = try await stack.refusal(e2)
            let e2Events = try await steps(stack, e2)
            #expect(denied == "order_in_flight", "\(e2Events)")
            // Then the request times out and the query settles it: never placed.
            #expect(try await stack.waitOrder(e1Link, [.notPlaced])?.status == .notPlaced)

            // The audit of the denied signal names the code and the figures.
            let deniedAudit = try await SignalAudit.report(signalID: e2, log: stack.log)
            #expect(deniedAudit.entries.contains { $0.type == "OrderDenied" })
            #expect(deniedAudit.text.contains("order_in_flight"), "\(deniedAudit.text)")
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT relation FROM signal_order_relationships WHERE signal_id = $1", [e2]) == "denied"
            })
        }
    }

    /// Publishes a signal and expects its refusal or denial code.
    func expect(_ code: String, _ signal: (String, [UInt8]), on stack: OMStack, sourceLocation: SourceLocation) async throws {
        try await stack.publish([signal.1])
        let got = try await stack.refusal(signal.0)
        #expect(got == code, sourceLocation: sourceLocation)
    }

    @Test("every other refusal and denial code through the stack: validation, allow-list, rate, sizes, open orders, units, REDUCE_ONLY, exposure, free balance")
    func denials() async throws {
        var c = Self.limitConfig()
        c.warmupPolicy = .reject
        c.risk.allowedSymbols = ["BTCUSDT", "ETHUSDT", "ETHUSDC"]
        c.risk.maxOrderNotional = 1000
        c.risk.maxPositionNotional = 250
        c.risk.maxOpenOrdersPerAsset = 1
        c.risk.maxSignalsPerMinute = 3
        try await OMStack.with(config: c, simulator: { sim in
            Self.still(&sim)
            sim.symbols.append("ETHUSDC")
        }) { stack in
            func expect(_ code: String, _ signal: (String, [UInt8]), sourceLocation: SourceLocation = #_sourceLocation) async throws {
                try await self.expect(code, signal, on: stack, sourceLocation: sourceLocation)
            }
            try await expect("warmup_rejected", OMStack.signal(warmup: true, strategy: "s1"))
            try await expect("signal_from_future", OMStack.signal(
                time: Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch + 60_000_000), strategy: "s2"))
            try await expect("symbol_not_allowed", OMStack.signal(asset: "SOLUSDT", price: "150", strategy: "s3"))
            try await expect("max_order_notional", OMStack.signal(amount: "1500", strategy: "s4"))
            try await expect("unsupported_quote_coin", OMStack.signal(asset: "ETHUSDC", amount: "100", price: "3500", strategy: "s5"))
            // Three refused signals of one strategy count: the fourth is one too many.
            for _ in 0..<3 { try await expect("unknown_asset", OMStack.signal(asset: "NOPEUSDT", strategy: "burst")) }
            try await expect("max_signals_per_minute", OMStack.signal(amount: "100", strategy: "burst"))

            // A long BTC position of ≈ 200 USDT; another 200 would pass the 250 limit.
            let (long, longBody) = OMStack.signal(amount: "200", confidence: "0.99", strategy: "s6")
            try await stack.publish([longBody])
            let longLink = OrderEvents.orderLinkID(signalID: long, leg: 0)
            #expect(try await stack.waitOrder(longLink, [.filled])?.status == .filled)
            #expect(try await settled(stack, longLink))
            try await expect("max_position_notional", OMStack.signal(amount: "200", confidence: "0.99", strategy: "s7"))

            // One resting ETH limit buy; a market buy would be a second open order.
            let (rest, restBody) = OMStack.signal(asset: "ETHUSDT", amount: "100", confidence: "0.5", price: "3500", strategy: "s8")
            try await stack.publish([restBody])
            let restLink = OrderEvents.orderLinkID(signalID: rest, leg: 0)
            #expect(try await stack.waitOrder(restLink, [.new])?.status == .new)
            #expect(try await settled(stack, restLink))
            try await expect("max_open_orders", OMStack.signal(asset: "ETHUSDT", amount: "100", confidence: "0.99", price: "3500", strategy: "s9"))

            // REDUCE_ONLY: a buy does not reduce the long; a resting sell covers it, so a second sell has nothing left.
            _ = try await stack.engine.setTradingState(.reduceOnly, reason: "test")
            try await expect("reduce_only", OMStack.signal(amount: "100", confidence: "0.99", strategy: "s10"))
            let (cover, coverBody) = OMStack.signal(type: "sell", amount: "1000", confidence: "0.5", strategy: "s11")
            try await stack.publish([coverBody])
            let coverLink = OrderEvents.orderLinkID(signalID: cover, leg: 0)
            #expect(try await stack.waitOrder(coverLink, [.new])?.status == .new)
            #expect(try await settled(stack, coverLink))
            try await expect("reduce_only_covered", OMStack.signal(type: "sell", amount: "100", confidence: "0.99", strategy: "s12"))
        }

        // The venue, the exposure and the free balance, with limits of their own.
        var v = OMStack.config()
        v.venue = .mainnet
        v.warmupPolicy = .tradeOnTestnet
        v.risk.maxGrossExposure = 100
        v.risk.minFreeBalance = 99_950
        try await OMStack.with(config: v, simulator: Self.still) { stack in
            func expect(_ code: String, _ signal: (String, [UInt8]), sourceLocation: SourceLocation = #_sourceLocation) async throws {
                try await self.expect(code, signal, on: stack, sourceLocation: sourceLocation)
            }
            try await expect("warmup_not_allowed", OMStack.signal(warmup: true, strategy: "v1"))
            try await expect("max_gross_exposure", OMStack.signal(amount: "150", strategy: "v2"))
            // 100 000 USDT free, 80 of margin (leverage 1): 99 920 left, below 99 950.
            try await expect("insufficient_free_balance", OMStack.signal(amount: "80", strategy: "v3"))
        }
    }

    /// Instrument filters of the shared fixtures (copied in Tests/OrderManagerCoreTests/Fixtures):
    /// linear BTCUSDT from http_instruments_info_linear_btcusdt_2023.json, spot ETHUSDT from
    /// http_instruments_info_spot_2023.json.
    static func fixtureInstruments(_ c: inout SimulatorConfiguration) {
        c.rate = .manual
        // 1 ETH held: the spot sells have something to sell, well inside the position limit.
        c.accounts = [SimulatorAccount(apiKey: OMStack.account.apiKey, secret: OMStack.account.secret,
                                       balances: ["USDT": Fixed(100_000), "ETH": Fixed(1)])]
        c.instruments = [
            SimInstrument(category: .linear, symbol: "BTCUSDT", baseCoin: "BTC", quoteCoin: "USDT", tickSize: Fixed("0.10")!,
                          qtyStep: Fixed("0.001")!, minOrderQty: Fixed("0.001")!, maxOrderQty: Fixed("100")!,
                          maxMarketOrderQty: Fixed("500")!, minNotional: Fixed("5")!, quotePrecision: Fixed("0.0000001")!,
                          initialPrice: Fixed("65000")!, priceScale: 2),
            SimInstrument(category: .spot, symbol: "ETHUSDT", baseCoin: "ETH", quoteCoin: "USDT", tickSize: Fixed("0.01")!,
                          qtyStep: Fixed("0.00001")!, minOrderQty: Fixed("0.00062")!, maxOrderQty: Fixed("2430.7243559")!,
                          maxMarketOrderQty: Fixed("2430.7243559")!, minNotional: Fixed("1")!, quotePrecision: Fixed("0.0000001")!,
                          initialPrice: Fixed("3500")!),
        ]
    }

    @Test("a resting order the exchange cancelled while its frames were lost: the sync queries it (no longer listed as open) and records it cancelled")
    func syncFindsVanishedOrder() async throws {
        try await OMStack.with(config: Self.limitConfig(), simulator: Self.still) { stack in
            let (a, aBody) = OMStack.signal(type: "buy", amount: "200", confidence: "0.5")
            try await stack.publish([aBody])
            let aLink = OrderEvents.orderLinkID(signalID: a, leg: 0)
            #expect(try await stack.waitOrder(aLink, [.new])?.status == .new)
            #expect(try await settled(stack, aLink))
            // Its frames are not taken any more; it is cancelled at the exchange (by hand, elsewhere).
            _ = try await stack.gateway.remove(id: "private:order", requestedBy: "test")
            _ = try await stack.rest.cancelOrder(RESTCancelOrder(category: .linear, symbol: "BTCUSDT", orderLinkId: aLink))
            try await Task.sleep(for: .milliseconds(500))
            _ = try await stack.engine.follow()
            #expect(await stack.engine.state.order(aLink)?.status == .new, "the cancel never reached the log")
            let summary = try await stack.engine.sync(trigger: "test", categories: [.linear])
            #expect(summary.differences >= 1)
            #expect(try await stack.waitOrder(aLink, [.cancelled], timeout: .seconds(10))?.status == .cancelled)
        }
    }

    @Test("quantity rounding and minimums: linear BTCUSDT and spot ETHUSDT with the fixtures' filters")
    func rounding() async throws {
        var config = OMStack.config()
        config.categories = ["ETHUSDT": .spot]
        // No spot quote is subscribed: the spot orders are sized on the signals' snapshot price.
        config.allowSnapshotReference = true
        try await OMStack.with(config: config, simulator: Self.fixtureInstruments) { stack in
            // Linear: 200 USDT at an ask near 65 000 → 0.003077 → 0.003 (qtyStep 0.001, rounded down).
            let (l1, l1Body) = OMStack.signal(type: "buy", amount: "200")
            try await stack.publish([l1Body])
            let l1Link = OrderEvents.orderLinkID(signalID: l1, leg: 0)
            #expect(try await stack.waitOrder(l1Link, [.filled])?.status == .filled)
            #expect(try await stack.exchangeOrder(l1Link)?.qty == Decimal(string: "0.003"))
            // 50 USDT → 0.00077 → 0 with step 0.001: refused, nothing sent.
            let (l2, l2Body) = OMStack.signal(type: "buy", amount: "50")
            try await stack.publish([l2Body])
            #expect(try await stack.refusal(l2) == "zero_quantity")

            // Spot market buy: a quote amount (marketUnit quoteCoin) rounded down to quotePrecision.
            let (s1, s1Body) = OMStack.signal(type: "buy", asset: "ETHUSDT", amount: "50.123456789", price: "3500")
            try await stack.publish([s1Body])
            let s1Link = OrderEvents.orderLinkID(signalID: s1, leg: 0)
            let s1Record = try await stack.waitOrder(s1Link, [.filled, .partiallyFilled, .cancelled])
            let s1Events = try await steps(stack, s1)
            #expect(s1Record?.executedQty ?? 0 > 0, "\(s1Events)")
            let intent = try #require(try await stack.log.readStream(OrderEvents.stream(orderLinkId: s1Link))
                .first { $0.type == OrderRequested.eventType })
            let requested = try CanonicalJSON.decoder.decode(OrderRequested.self, from: Data(intent.data))
            #expect(requested.qty == Decimal(string: "50.1234567"))
            #expect(requested.marketUnit == .quoteCoin)
            // Spot sell: base quantity, amount ÷ 3500 (the snapshot price: no spot quote is
            // subscribed) = 0.0285714 → 0.02857 (basePrecision 0.00001).
            let (s2, s2Body) = OMStack.signal(type: "sell", asset: "ETHUSDT", amount: "100", price: "3500")
            try await stack.publish([s2Body])
            let s2Link = OrderEvents.orderLinkID(signalID: s2, leg: 0)
            _ = try await stack.waitOrder(s2Link, [.filled, .partiallyFilled, .cancelled])
            #expect(try await stack.exchangeOrder(s2Link, symbol: "ETHUSDT", category: .spot)?.qty == Decimal(string: "0.02857"))
            // Minimums: a 0.5 USDT market buy is below minOrderAmt 1; a 1.5 USDT sell is
            // 0.00042 ETH, below minOrderQty 0.00062.
            let (s3, s3Body) = OMStack.signal(type: "buy", asset: "ETHUSDT", amount: "0.5", price: "3500")
            let (s4, s4Body) = OMStack.signal(type: "sell", asset: "ETHUSDT", amount: "1.5", price: "3500")
            try await stack.publish([s3Body, s4Body])
            #expect(try await stack.refusal(s3) == "below_min_order_amt")
            #expect(try await stack.refusal(s4) == "below_min_qty")
        }
    }

    @Test("the order API: 401 without the key, filters, pagination, 400 on bad input, one order, sync, trading state, audit")
    func api() async throws {
        try await OMStack.with { stack in
            let (buy, buyBody) = OMStack.signal(type: "buy", amount: "300")
            let (sell, sellBody) = OMStack.signal(type: "sell", amount: "300")
            try await stack.publish([buyBody])
            let buyLink = OrderEvents.orderLinkID(signalID: buy, leg: 0)
            _ = try await stack.waitOrder(buyLink, [.filled])
            try await stack.publish([sellBody])
            let sellLink = OrderEvents.orderLinkID(signalID: sell, leg: 0)
            _ = try await stack.waitOrder(sellLink, [.filled])
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT count(*) FROM orders WHERE status = 'filled'") == "2"
            })
            try await stack.withAPI { base in
                let orders = base + "/api/v1/orders"
                #expect(try await OMStack.http(.GET, orders, key: nil).0 == 401)
                #expect(try await OMStack.http(.GET, orders, key: "wrong-key").0 == 401)
                #expect(try await OMStack.http(.GET, base + "/health", key: nil).0 == 200)

                func links(_ query: String) async throws -> [String] {
                    let (status, body) = try await OMStack.http(.GET, orders + query)
                    #expect(status == 200, "\(query): \(body)")
                    return (body["orders"] as? [[String: Any]] ?? []).compactMap { $0["order_link_id"] as? String }
                }
                #expect(try await links("") == [sellLink, buyLink], "newest first")
                #expect(try await links("?status=filled").count == 2)
                #expect(try await links("?status=new").isEmpty)
                #expect(try await links("?asset=BTCUSDT").count == 2)
                #expect(try await links("?asset=ETHUSDT").isEmpty)
                #expect(try await links("?signal_id=\(buy)") == [buyLink])
                #expect(try await links("?strategy_id=strat-test").count == 2)
                #expect(try await links("?strategy_id=other").isEmpty)
                #expect(try await links("?from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z").count == 2)
                #expect(try await links("?to=2000-01-01T00:00:00Z").isEmpty)
                let (_, page) = try await OMStack.http(.GET, orders + "?limit=1")
                #expect((page["orders"] as? [Any])?.count == 1 && page["next_offset"] as? Int == 1)
                #expect(try await links("?limit=1&offset=1") == [buyLink])
                for bad in ["?limit=0", "?limit=x", "?offset=-1", "?status=bogus", "?from=yesterday"] {
                    let (status, body) = try await OMStack.http(.GET, orders + bad)
                    #expect(status == 400, "\(bad): \(body)")
                    #expect(body["error"] is String)
                }

                let (one, order) = try await OMStack.http(.GET, orders + "/" + buyLink)
                #expect(one == 200 && order["signal_id"] as? String == buy && order["status"] as? String == "filled")
                // Times are ISO 8601 in UTC, and an order's created_at is a `from` the API takes back.
                let created = try #require(order["created_at"] as? String)
                #expect(created.hasSuffix("Z") && created.contains("T") && (order["updated_at"] as? String)?.hasSuffix("Z") == true, "\(created)")
                #expect(try await links("?from=\(created)") == [sellLink, buyLink])
                #expect(order["position"] is Int && order["qty"] is String, "integers are numbers, decimals text")
                #expect(try await OMStack.http(.GET, orders + "/nope").0 == 404)

                #expect(try await OMStack.http(.POST, base + "/api/v1/sync").0 == 200)

                let (set, change) = try await OMStack.http(.POST, base + "/api/v1/trading-state", body: #"{"state": "REDUCE_ONLY", "reason": "test"}"#)
                #expect(set == 200 && change["state"] as? String == "REDUCE_ONLY", "\(change)")
                #expect(try await OMStack.http(.GET, base + "/api/v1/trading-state").1["state"] as? String == "REDUCE_ONLY")
                #expect(try await OMStack.http(.POST, base + "/api/v1/trading-state", body: #"{"state": "SIDEWAYS"}"#).0 == 400)
                let nul = try await OMStack.http(.POST, base + "/api/v1/trading-state", body: #"{"state": "HALTED", "reason": "a\u0000b"}"#)
                #expect(nul.0 == 400 && "\(nul.1)".contains("reason"))
                #expect(try await OMStack.http(.POST, base + "/api/v1/trading-state", key: nil, body: #"{"state": "HALTED"}"#).0 == 401)

                let (audit, report) = try await OMStack.http(.GET, base + "/api/v1/signals/\(buy)")
                #expect(audit == 200 && report["found"] as? Bool == true)
                #expect(try await OMStack.http(.GET, base + "/api/v1/signals/\(UUID().uuidString.lowercased())").0 == 404)
            }
        }
    }
}
}
