import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }
private typealias F = CoreFixtures

/// Decides `signal` against the log's state, received 1 s after t0.
func decideForTest(_ signal: TradingSignal, _ log: TestLog, receivedAt: Timestamp = CoreFixtures.at(1_000)) -> SignalDecision {
    OrderDecider.decide(signal, receivedEventID: SignalEvents.receivedEventID(signalID: signal.signalID), receivedAt: receivedAt,
                        state: log.state)
}

/// Risk denials through ``OrderDecider/decide``. The standard market is a linear BTCUSDT book
/// 49 990 / 50 010; a buy of 1 000 USDT at confidence 0.9 is a market order of 0.019 at 50 010
/// (notional 950.19).
@Suite("RiskManager: every denial code with its figures")
struct RiskManagerTests {
    /// The single `OrderDenied` of a decision, checked to be alone and on the signal's stream.
    func denial(_ d: SignalDecision, _ signal: TradingSignal, sourceLocation: SourceLocation = #_sourceLocation) throws -> OrderDenied {
        #expect(d.requests.isEmpty && d.events.count == 1, sourceLocation: sourceLocation)
        #expect(d.events.first?.stream == SignalEvents.stream(signalID: signal.signalID), sourceLocation: sourceLocation)
        let denied = try #require(d.payloads(OrderDenied.self).first, sourceLocation: sourceLocation)
        #expect(d.refusal == denied.code && denied.signalID == signal.signalID && denied.asset == signal.asset,
                sourceLocation: sourceLocation)
        #expect(denied.strategyID == signal.strategyID, sourceLocation: sourceLocation)
        return denied
    }

    func allowed(_ d: SignalDecision, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(d.refusal == nil && !d.requests.isEmpty, "refused: \(d.refusal ?? "")", sourceLocation: sourceLocation)
    }

    @Test("the standard market allows a buy (baseline for the denials below)")
    func baseline() throws {
        let d = decideForTest(F.signal(1), try TestLog.market())
        allowed(d)
        let decided = try #require(d.payloads(OrderDecided.self).first)
        #expect(decided.qty == num("0.019") && decided.notional == num("950.19") && decided.orderType == .market)
        #expect(decided.riskFigures["order_notional"] == "950.19" && decided.riskFigures["free_balance"] == "100000")
    }

    @Test("trading_halted")
    func halted() throws {
        var log = try TestLog.market()
        try log.record(TradingStateChanged(state: .halted, previous: .active, reason: "api"))
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "trading_halted" && denied.figures == ["trading_state": "HALTED"] && denied.side == .buy)
        // Sells are halted too.
        #expect(decideForTest(F.signal(2, .sell), log).refusal == "trading_halted")
    }

    @Test("reduce_only: an order that does not shrink the position is denied")
    func reduceOnly() throws {
        var log = try TestLog.market()
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        let s = F.signal(1)
        let flat = try denial(decideForTest(s, log), s)
        #expect(flat.code == "reduce_only" && flat.figures == ["position": "0", "trading_state": "REDUCE_ONLY"])

        try log.record(F.position(side: "Buy", size: "0.01"))
        let more = try denial(decideForTest(s, log), s)
        #expect(more.code == "reduce_only" && more.figures["position"] == "0.01")
    }

    @Test("reduce_only: a reducing sell is allowed, capped at the position, with reduceOnly=true (linear)")
    func reduceOnlySell() throws {
        var log = try TestLog.market()
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try log.record(F.position(side: "Buy", size: "0.01"))
        let d = decideForTest(F.signal(1, .sell, amount: "5000"), log)
        allowed(d)
        let req = try #require(d.payloads(OrderRequested.self).first)
        // 5 000 USDT is more than the position (0.01 × 49 990 = 499.9): the sell is 0.01.
        #expect(req.side == .sell && req.reduceOnly == true && req.qty == num("0.01") && req.requestedAmount == num("5000"))
        #expect(req.restRequest.reduceOnly == true)
        // A short is reduced by a buy.
        var short = try TestLog.market()
        try short.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try short.record(F.position(side: "Sell", size: "0.05"))
        let buy = try #require(decideForTest(F.signal(2), short).payloads(OrderRequested.self).first)
        #expect(buy.side == .buy && buy.reduceOnly == true && buy.qty == num("0.019"))
    }

    @Test("reduce_only: a limit buy below the reference price is still no larger than the short")
    func reduceOnlyLimitCap() throws {
        var rules = F.linearBTC
        rules.quantityStep = num("0.00001")
        rules.minOrderQty = num("0.00001")
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [rules]))
        try log.record(F.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        try log.record(F.wallet(balance: "100000"))
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try log.record(F.position(side: "Sell", size: "0.05"))
        // Confidence 0.5: a PostOnly buy at the bid (49 990), below the ask the cap is valued at.
        let req = try #require(decideForTest(F.signal(1, amount: "5000", confidence: "0.5"), log).payloads(OrderRequested.self).first)
        #expect(req.orderType == .limit && req.price == num("49990") && req.reduceOnly == true)
        #expect(req.qty <= num("0.05"), "qty \(req.qty) is larger than the 0.05 short")
    }

    @Test("symbol_not_allowed")
    func allowList() throws {
        let log = try TestLog.market(config: F.config { $0.risk.allowedSymbols = ["ETHUSDT", "SOLUSDT"] })
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "symbol_not_allowed" && denied.figures == ["allowed": "ETHUSDT,SOLUSDT"])
        allowed(decideForTest(s, try TestLog.market(config: F.config { $0.risk.allowedSymbols = ["BTCUSDT"] })))
    }

    @Test("max_signals_per_minute (per strategy, this signal included)")
    func signalRate() throws {
        var log = try TestLog.market(config: F.config { $0.risk.maxSignalsPerMinute = 2 })
        try log.record(SignalReceived(signal: F.signal(10), bodySHA256: "a", queue: "q", redelivered: false), at: 0)
        allowed(decideForTest(F.signal(1), log))
        try log.record(SignalReceived(signal: F.signal(11), bodySHA256: "b", queue: "q", redelivered: false), at: 500)
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "max_signals_per_minute" && denied.figures == ["signals_last_minute": "3", "limit": "2"])
        allowed(decideForTest(F.signal(2, strategy: "strat-2"), log))
        // A minute later the window is empty again.
        allowed(decideForTest(F.signal(3, time: F.at(61_000)), log, receivedAt: F.at(61_000)))
    }

    @Test("daily_loss_limit from the realized PnL of our fills")
    func dailyLoss() throws {
        var log = try TestLog.market(config: F.config { $0.risk.dailyLossLimit = 100 })
        let link = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-0"
        try log.record(F.requested(link, side: .sell, type: .market, price: nil), at: 1)
        try log.record(F.accepted(link), at: 2)
        try log.record(ExchangeExecution(execution: F.execution(link: link, execId: "e1", side: "Sell", qty: "0.01", price: "49990",
                                                                  fee: "0.5", pnl: "-150", leavesQty: "0")), at: 3)
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "daily_loss_limit" && denied.figures == ["realized_loss_today": "150.5", "limit": "100"])
        // The next UTC day starts from zero.
        let tomorrow = F.at(86_400_000)
        allowed(decideForTest(F.signal(2, time: tomorrow), log, receivedAt: tomorrow))
    }

    @Test("daily_loss_limit: a fee paid in the base coin counts at the fill's price, not as quote coin")
    func dailyLossBaseCoinFee() throws {
        var log = try TestLog.market(config: F.config { $0.risk.dailyLossLimit = 100 })
        let link = "cccccccccccccccccccccccccccccccc-0"
        try log.record(F.requested(link, side: .buy, type: .market, price: nil), at: 1)
        try log.record(F.accepted(link), at: 2)
        // 0.00001 BTC of fee is 0.4999 USDT at 49 990, not 0.00001 USDT nor 1 USDT per BTC unit.
        try log.record(ExchangeExecution(execution: F.execution(link: link, execId: "e1", side: "Buy", qty: "0.01", price: "49990",
                                                                  fee: "0.00001", leavesQty: "0", feeCurrency: "BTC")), at: 3)
        #expect(log.state.realizedLossToday(now: F.at(1_000).microsecondsSinceEpoch) == num("0.4999"))
        // A fee of 0.002 BTC (99.98 USDT) and a 1 USDT loss pass the limit.
        let link2 = "dddddddddddddddddddddddddddddddd-0"
        try log.record(F.requested(link2, side: .sell, type: .market, price: nil), at: 4)
        try log.record(F.accepted(link2), at: 5)
        try log.record(ExchangeExecution(execution: F.execution(link: link2, execId: "e2", side: "Sell", qty: "0.01", price: "49990",
                                                                  fee: "0.002", pnl: "-1", leavesQty: "0", feeCurrency: "BTC")), at: 6)
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "daily_loss_limit" && denied.figures["realized_loss_today"] == "101.4799")
    }

    @Test("max_order_notional")
    func orderNotional() throws {
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, try TestLog.market(config: F.config { $0.risk.maxOrderNotional = 900 })), s)
        #expect(denied.code == "max_order_notional")
        #expect(denied.figures["order_notional"] == "950.19" && denied.figures["max_order_notional"] == "900")
    }

    @Test("max_open_orders per asset")
    func openOrders() throws {
        var log = try TestLog.market(config: F.config { $0.risk.maxOpenOrdersPerAsset = 1 })
        let link = "cccccccccccccccccccccccccccccccc-0"
        try log.record(F.requested(link, side: .buy, price: "49000"), at: 1)
        try log.record(F.accepted(link), at: 2)
        let s = F.signal(1)  // a market buy: the policy adds an order next to the resting limit
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "max_open_orders" && denied.figures["open_orders"] == "1" && denied.figures["max_open_orders"] == "1")
    }

    @Test("max_position_notional (after the order)")
    func positionNotional() throws {
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, try TestLog.market(config: F.config { $0.risk.maxPositionNotional = 500 })), s)
        #expect(denied.code == "max_position_notional")
        #expect(denied.figures["position_notional_after"] == "950.19" && denied.figures["max_position_notional"] == "500")
        // An order that shrinks a position beyond the limit is allowed.
        var log = try TestLog.market(config: F.config { $0.risk.maxPositionNotional = 500 })
        try log.record(F.position(side: "Buy", size: "0.1"))
        allowed(decideForTest(F.signal(2, .sell), log))
    }

    @Test("max_gross_exposure over all positions")
    func grossExposure() throws {
        var log = try TestLog.market(config: F.config { $0.risk.maxGrossExposure = 3_500 })
        try log.record(F.position(symbol: "ETHUSDT", side: "Sell", size: "1", mark: "3000"))
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "max_gross_exposure")
        #expect(denied.figures["gross_exposure_after"] == "3950.19" && denied.figures["max_gross_exposure"] == "3500")
        // Above the limit, an order that shrinks a position passes (as for max_position_notional);
        // one that grows it does not.
        try log.record(F.position(side: "Buy", size: "0.1"))
        allowed(decideForTest(F.signal(2, .sell), log))
        let grows = F.signal(3)
        #expect(try denial(decideForTest(grows, log), grows).code == "max_gross_exposure")
        // Our sells already resting count: with 0.2 resting on the 0.1 long, a further sell
        // would leave a larger short once all fill, so the limit applies to it.
        try Self.restingSell("dddddddddddddddddddddddddddddddd-0", qty: "0.2", &log)
        let stacked = F.signal(4, .sell)
        let deniedStacked = try denial(decideForTest(stacked, log), stacked)
        #expect(deniedStacked.code == "max_gross_exposure")
    }

    /// A limit sell of `qty` requested and accepted: resting at the exchange.
    static func restingSell(_ link: String, qty: String, _ log: inout TestLog) throws {
        try log.record(F.requested(link, side: .sell, qty: qty, price: "51000"), at: 3)
        try log.record(F.accepted(link), at: 4)
    }

    @Test("max_position_notional: our resting orders on the order's side count in whether it grows the position")
    func positionNotionalCountsRestingOrders() throws {
        var log = try TestLog.market(config: F.config { $0.risk.maxPositionNotional = 500 })
        try log.record(F.position(side: "Buy", size: "0.1"))
        // A sell of the long, up to twice its size, passes above the limit.
        allowed(decideForTest(F.signal(1, .sell), log))
        // With 0.2 already resting on the sell side, a further sell flips to a larger short.
        try Self.restingSell("eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-0", qty: "0.2", &log)
        let stacked = F.signal(2, .sell)
        let denied = try denial(decideForTest(stacked, log), stacked)
        #expect(denied.code == "max_position_notional")
    }

    @Test("max_position_notional: our resting orders on the order's side count in the position after it")
    func positionNotionalCountsGrowingRestingOrders() throws {
        var log = try TestLog.market(config: F.config { $0.risk.maxPositionNotional = 1_200 })
        // Alone, the buy is under the limit.
        allowed(decideForTest(F.signal(1), log))
        // With 0.01 already resting on the buy side, both filled would pass it.
        let link = "abababababababababababababababab-0"
        try log.record(F.requested(link, side: .buy, qty: "0.01", price: "49000"), at: 1)
        try log.record(F.accepted(link), at: 2)
        let s = F.signal(2)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "max_position_notional")
        #expect(denied.figures["resting_same_side_qty"] == "0.01")
        let f = { (key: String) in num(denied.figures[key] ?? "0") }
        #expect(f("position_notional_after") == num("0.01") * f("price") + f("order_notional"))
        #expect(denied.detail.contains("our resting buys (0.01)"))
    }

    @Test("wallet_unknown before any wallet event")
    func walletUnknown() throws {
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, try TestLog.market(balance: nil)), s)
        #expect(denied.code == "wallet_unknown" && denied.figures["free_balance"] == nil)
    }

    @Test("insufficient_free_balance: free less the order's margin below the minimum")
    func freeBalance() throws {
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, try TestLog.market(balance: "900")), s)
        #expect(denied.code == "insufficient_free_balance")
        #expect(denied.figures["free_balance"] == "900" && denied.figures["margin"] == "950.19" && denied.figures["min_free_balance"] == "0")
        // With leverage 10 the margin is 95.019: allowed, unless 850 must stay free.
        allowed(decideForTest(s, try TestLog.market(config: F.config { $0.risk.linearLeverage = 10 }, balance: "900")))
        let strict = F.config { $0.risk.linearLeverage = 10; $0.risk.minFreeBalance = 850 }
        let d2 = try denial(decideForTest(s, try TestLog.market(config: strict, balance: "900")), s)
        #expect(d2.code == "insufficient_free_balance" && d2.figures["margin"] == "95.019")
    }

    @Test("insufficient_free_balance: a linear order that closes the position needs margin only for what it opens past it")
    func closingNeedsNoMargin() throws {
        // 50 USDT free, a long of 0.019: selling it back needs no margin at the exchange.
        var log = try TestLog.market(balance: "50")
        try log.record(F.position(side: "Buy", size: "0.019"))
        let close = decideForTest(F.signal(1, .sell, amount: "900"), log)
        allowed(close)
        let decided = try #require(close.payloads(OrderDecided.self).first)
        #expect(decided.qty == num("0.018") && decided.riskFigures["margin"] == "0" && decided.riskFigures["margin_qty"] == "0")
        // An open loss larger than the wallet (free below 0, below any minimum): closing still passes.
        var underwater = try TestLog.market(config: F.config { $0.risk.minFreeBalance = 100 }, balance: nil)
        try underwater.record(F.wallet(balance: "900", unrealisedPnl: "-1000"))
        try underwater.record(F.position(side: "Buy", size: "0.019"))
        allowed(decideForTest(F.signal(3, .sell, amount: "900"), underwater))
        // 0.04: the 0.021 that opens a short needs its margin (0.021 × 49 990 = 1 049.79), which 50 does not cover.
        let s2 = F.signal(2, .sell, amount: "2000")
        let flip = try denial(decideForTest(s2, log), s2)
        #expect(flip.code == "insufficient_free_balance" && flip.figures["margin_qty"] == "0.021")
    }

    @Test("insufficient_free_balance: an open loss is not free (an open gain is not counted on)")
    func openLossIsNotFree() throws {
        let s = F.signal(1)
        var losing = try TestLog.market(balance: nil)
        try losing.record(F.wallet(balance: "2000", unrealisedPnl: "-1100"))
        let denied = try denial(decideForTest(s, losing), s)
        #expect(denied.code == "insufficient_free_balance" && denied.figures["free_balance"] == "900")
        var winning = try TestLog.market(balance: nil)
        try winning.record(F.wallet(balance: "900", unrealisedPnl: "5000"))
        #expect(try denial(decideForTest(s, winning), s).figures["free_balance"] == "900")
    }

    @Test("no_reference_price: no book, ticker or snapshot price; no_market_price: only the signal's snapshot, unless allowed")
    func noReference() throws {
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [F.linearBTC]))
        try log.record(F.wallet(balance: "100000"))
        let s = F.signal(1)
        #expect(try denial(decideForTest(s, log), s).code == "no_reference_price")
        // The signal's own snapshot price does not size an order unless allowed (the last resort then).
        let s2 = F.signal(2, snapshotPrice: "50000")
        let blind = try denial(decideForTest(s2, log), s2)
        #expect(blind.code == "no_market_price" && blind.figures == ["snapshot_price": "50000"])
        var allowing = TestLog(config: F.config { $0.allowSnapshotReference = true })
        try allowing.record(InstrumentsLoaded(category: .linear, instruments: [F.linearBTC]))
        try allowing.record(F.wallet(balance: "100000"))
        let d = decideForTest(s2, allowing)
        allowed(d)
        #expect(d.payloads(OrderDecided.self).first?.referenceSource == .snapshot)
    }

    @Test("a sizing code: below_min_qty")
    func sizing() throws {
        var rules = F.linearBTC
        rules.minOrderQty = num("0.002")
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [rules]))
        try log.record(F.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        try log.record(F.wallet(balance: "100000"))
        let s = F.signal(1, amount: "60")
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "below_min_qty" && denied.figures["qty"] == "0.001" && denied.figures["min_qty"] == "0.002")
    }

    @Test("order_in_flight: a resting order without an answer yet")
    func inFlight() throws {
        var log = try TestLog.market()
        try log.record(F.requested("dddddddddddddddddddddddddddddddd-0", side: .sell), at: 1)
        let s = F.signal(1)
        let denied = try denial(decideForTest(s, log), s)
        #expect(denied.code == "order_in_flight" && denied.figures == ["resting_orders": "1"])
    }
}
