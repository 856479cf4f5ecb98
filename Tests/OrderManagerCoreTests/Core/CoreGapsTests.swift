import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }
private typealias F = CoreFixtures

/// Builders for the gap tests: multi-coin wallets, positions without a price, spot fills.
private enum GapFixtures {
    /// A unified wallet with the given coins: (coin, walletBalance, locked).
    static func wallet(_ coins: [(String, String, String)], totalAvailable: String? = nil) throws -> ExchangeWalletUpdated {
        let total = totalAvailable.map { ",\"totalAvailableBalance\":\"\($0)\"" } ?? ""
        let list = coins.map { "{\"coin\":\"\($0.0)\",\"walletBalance\":\"\($0.1)\",\"locked\":\"\($0.2)\"}" }.joined(separator: ",")
        return try F.decode(ExchangeWalletUpdated.self, "{\"accountType\":\"UNIFIED\"\(total),\"coin\":[\(list)]}")
    }

    /// A spot fill (the fixtures' execution is linear).
    static func spotExecution(link: String, execId: String, side: String = "Buy", qty: String, price: String) throws -> ExecutionReport {
        try F.decode(ExecutionReport.self, """
            {"category":"spot","symbol":"ETHUSDT","execId":"\(execId)","orderId":"oid-1","orderLinkId":"\(link)","side":"\(side)",\
            "execType":"Trade","execQty":"\(qty)","execPrice":"\(price)","feeCurrency":"ETH"}
            """)
    }

    /// Spot ETHUSDT (book 2 999 / 3 001) and linear BTCUSDT (book 49 990 / 50 010), with `wallet`.
    static func spotAndLinear(_ wallet: ExchangeWalletUpdated?, edit: (inout OrderManagerConfig) -> Void = { _ in }) throws -> TestLog {
        var log = TestLog(config: F.config { $0.categories = ["ETHUSDT": .spot]; edit(&$0) })
        try log.record(InstrumentsLoaded(category: .linear, instruments: [F.linearBTC]))
        try log.record(InstrumentsLoaded(category: .spot, instruments: [F.spotETH]))
        try log.record(F.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        try log.record(F.book(symbol: "ETHUSDT", category: "spot", bids: [("2999", "5")], asks: [("3001", "5")]))
        if let wallet { try log.record(wallet) }
        return log
    }

    /// A resting order of ours: the intent and its accept, on the order's stream.
    static func rest(_ log: inout TestLog, _ r: OrderRequested, at ms: Int64) throws {
        let stream = OrderEvents.stream(orderLinkId: r.orderLinkId)
        try log.record(r, at: ms, stream: stream)
        try log.record(F.accepted(r.orderLinkId, orderId: "oid-\(r.orderLinkId.prefix(4))"), at: ms + 1, stream: stream)
    }
}

private typealias G = GapFixtures

/// Gap 1: in REDUCE_ONLY our resting reduce orders plus the new quantity stay within the position.
@Suite("REDUCE_ONLY: resting reduce orders plus the new order never exceed the position")
struct ReduceOnlyCapTests {
    let resting = "11111111111111111111111111111111-0"

    /// Linear long 0.01 BTC in REDUCE_ONLY with a resting reduce sell limit of `restingQty` at 50 010
    /// (sent with `reduceOnly`, unless `reduceOnly` is false: placed before trading became REDUCE_ONLY).
    func longWithRestingSell(_ restingQty: String, rules: InstrumentRules = F.linearBTC, reduceOnly: Bool = true) throws -> TestLog {
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [rules]))
        try log.record(F.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        try log.record(F.wallet(balance: "100000"))
        try log.record(F.position(side: "Buy", size: "0.01"))
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try G.rest(&log, F.requested(resting, side: .sell, qty: restingQty, price: "50010", reduceOnly: reduceOnly ? true : nil), at: 10)
        return log
    }

    @Test("a resting sell placed without reduceOnly is not amended while REDUCE_ONLY: a reduce-only order goes beside it")
    func plainRestingNotAmended() throws {
        let log = try longWithRestingSell("0.006", reduceOnly: false)
        let d = decideForTest(F.signal(1, .sell, amount: "5000", confidence: "0.5"), log)
        #expect(d.refusal == nil && d.requests.map(\.action) == [.create])
        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(req.reduceOnly == true && req.reason == "same_side_add" && req.qty == num("0.004"))
    }

    @Test("a same-side limit amend adds only what the resting order leaves of the position")
    func amendCapped() throws {
        let log = try longWithRestingSell("0.006")
        // Confidence 0.5: a PostOnly sell at the ask, which the policy folds into the resting sell.
        let d = decideForTest(F.signal(1, .sell, amount: "5000", confidence: "0.5"), log)
        #expect(d.refusal == nil && d.requests.map(\.action) == [.amend])
        let amend = try #require(d.payloads(OrderAmendRequested.self).first)
        // 0.006 resting + 0.004 new = the 0.01 position (not 0.006 + 0.01).
        #expect(amend.orderLinkId == resting && amend.qty == num("0.01") && amend.price == num("50010"))
        let figures = try #require(d.payloads(OrderDecided.self).first).riskFigures
        #expect(figures["resting_reduce_qty"] == "0.006" && figures["reduce_available_qty"] == "0.004" && figures["position"] == "0.01")
    }

    @Test("a market reduce order next to a resting reduce limit is the remainder only")
    func addCapped() throws {
        let log = try longWithRestingSell("0.006")
        let d = decideForTest(F.signal(1, .sell, amount: "5000", confidence: "0.9"), log)
        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(req.orderType == .market && req.reason == "same_side_add" && req.reduceOnly == true && req.qty == num("0.004"))
    }

    @Test("reduce_only_covered: resting reduce orders already cover the whole position")
    func covered() throws {
        let log = try longWithRestingSell("0.01")
        let s = F.signal(1, .sell, amount: "5000", confidence: "0.5")
        let d = decideForTest(s, log)
        #expect(d.refusal == "reduce_only_covered" && d.requests.isEmpty && d.events.count == 1)
        let denied = try #require(d.payloads(OrderDenied.self).first)
        #expect(denied.figures == ["position": "0.01", "resting_reduce_qty": "0.01", "reduce_available_qty": "0",
                                   "trading_state": "REDUCE_ONLY"])
        #expect(denied.detail.contains("already cover"))
    }

    @Test("a partly filled resting reduce order counts with what it leaves, against the position after its fill")
    func partlyFilled() throws {
        var log = try longWithRestingSell("0.008")
        let stream = OrderEvents.stream(orderLinkId: resting)
        try log.record(ExchangeExecution(execution: F.execution(link: resting, execId: "e1", orderId: "oid-1111", side: "Sell",
                                                                  qty: "0.003", price: "50010", leavesQty: "0.005")), at: 20, stream: stream)
        try log.record(F.position(side: "Buy", size: "0.007"), at: 21)
        let d = decideForTest(F.signal(1, .sell, amount: "5000", confidence: "0.5"), log)
        let amend = try #require(d.payloads(OrderAmendRequested.self).first)
        // Leaves 0.005 of a 0.007 position: 0.002 may be added; the amend's total qty (filled part included) is 0.01.
        #expect(amend.qty == num("0.01"))
    }

    @Test("opposite-side resting orders are not reduce orders: they are cancelled, the sell is the whole position")
    func oppositeNotCounted() throws {
        var log = try TestLog.market()
        try log.record(F.position(side: "Buy", size: "0.01"))
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try G.rest(&log, F.requested(resting, side: .buy, qty: "0.005", price: "49000"), at: 10)
        let d = decideForTest(F.signal(1, .sell, amount: "5000"), log)
        #expect(d.requests.map(\.action) == [.cancel, .create])
        #expect(try #require(d.payloads(OrderRequested.self).first).qty == num("0.01"))
    }

    @Test("a remainder below the minimum qty is a sizing denial that carries the reduce-only figures")
    func remainderTooSmall() throws {
        var rules = F.linearBTC
        rules.minOrderQty = num("0.005")
        let log = try longWithRestingSell("0.006", rules: rules)
        let d = decideForTest(F.signal(1, .sell, amount: "5000", confidence: "0.9"), log)
        let denied = try #require(d.payloads(OrderDenied.self).first)
        #expect(denied.code == "below_min_qty" && denied.figures["qty"] == "0.004" && denied.figures["min_qty"] == "0.005")
        #expect(denied.figures["reduce_available_qty"] == "0.004" && denied.figures["resting_reduce_qty"] == "0.006")
    }

    @Test("spot: resting sells count against the base balance")
    func spotSell() throws {
        var log = try G.spotAndLinear(G.wallet([("USDT", "100000", "0"), ("ETH", "1", "0.6")]))
        try log.record(TradingStateChanged(state: .reduceOnly, previous: .active, reason: "api"))
        try G.rest(&log, F.requested(resting, side: .sell, qty: "0.6", price: "3001", symbol: "ETHUSDT", category: .spot), at: 10)
        let d = decideForTest(F.signal(1, .sell, asset: "ETHUSDT", amount: "5000"), log)
        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(req.category == .spot && req.orderType == .market && req.qty == num("0.4") && req.reduceOnly == nil)
    }
}

/// Gap 2: a re-price to the price the order already has is never sent.
@Suite("Re-pricing: no amend to the order's own price")
struct RepriceAtTouchTests {
    let link = "22222222222222222222222222222222-0"

    /// A PostOnly buy at 50 000, acked at 1 s; re-priced after 30 s, at most twice.
    func restingBuy() throws -> TestLog {
        var log = TestLog(config: F.config { $0.repriceAfterMs = 30_000; $0.maxReprices = 2 })
        let stream = OrderEvents.stream(orderLinkId: link)
        try log.record(F.requested(link, side: .buy, price: "50000"), at: 0, stream: stream)
        try log.record(F.accepted(link), at: 1_000, stream: stream)
        try log.record(F.orderUpdate(link: link, status: "New", qty: "0.01", price: "50000", updatedTime: 1), at: 1_001)
        return log
    }

    @Test("the touch equals the order's price: nothing is sent, the round counts, the timeout still cancels")
    func touchUnchanged() throws {
        var log = try restingBuy()
        #expect(try log.record(F.ticker(bid: "50000", ask: "50001"), at: 31_000).isEmpty, "no amend to the same price")
        #expect(log.state.order(link)?.repriceCount == 1 && log.state.order(link)?.amendCount == 0)
        #expect(log.state.order(link)?.pending == nil && log.state.order(link)?.lastRestingSince == F.at(31_000))
        // The timer restarted at 31 s: nothing before 61 s.
        #expect(try log.record(F.ticker(bid: "50000", ask: "50001"), at: 60_999).isEmpty)
        #expect(try log.record(F.ticker(bid: "50000", ask: "50001"), at: 61_000).isEmpty)
        #expect(log.state.order(link)?.repriceCount == 2)
        // maxReprices rounds used: the next timeout cancels.
        let end = try log.record(F.ticker(bid: "50000", ask: "50001"), at: 91_000)
        try #require(end.count == 1)
        #expect(end[0].intent == .cancel && end[0].payload(OrderCancelRequested.self)?.reason == "unfilled_timeout")
    }

    @Test("an unchanged round then a moved touch: the amend is the first one, the next timeout cancels")
    func touchMovesLater() throws {
        var log = try restingBuy()
        #expect(try log.record(F.ticker(bid: "50000", ask: "50001"), at: 31_000).isEmpty)
        let due = try log.record(F.ticker(bid: "50005", ask: "50006"), at: 61_000)
        try #require(due.count == 1)
        let amend = try #require(due[0].payload(OrderAmendRequested.self))
        #expect(amend.amendIndex == 1 && amend.price == num("50005"))
        log.apply(due[0].event, stream: due[0].stream)
        try log.record(F.accepted(link, action: .amend), at: 61_010, stream: OrderEvents.stream(orderLinkId: link))
        let end = try log.record(F.ticker(bid: "50009", ask: "50010"), at: 91_010)
        try #require(end.count == 1)
        #expect(end[0].intent == .cancel)
    }

    @Test("after an accepted re-price (no order update yet) the order's price is the amended one: no second amend to it")
    func amendedPriceKnown() throws {
        var log = try restingBuy()
        let due = try log.record(F.ticker(bid: "50007", ask: "50008"), at: 31_000)
        try #require(due.count == 1)
        #expect(due[0].payload(OrderAmendRequested.self)?.price == num("50007"))
        log.apply(due[0].event, stream: due[0].stream)
        try log.record(F.accepted(link, action: .amend), at: 31_010, stream: OrderEvents.stream(orderLinkId: link))
        #expect(log.state.order(link)?.price == num("50007"))
        #expect(try log.record(F.ticker(bid: "50007", ask: "50008"), at: 61_010).isEmpty, "no amend to 50 007 again")
        #expect(log.state.order(link)?.repriceCount == 2 && log.state.order(link)?.amendCount == 1)
    }

    @Test("OrderRecord: an accepted amend sets price and qty; a rejected one leaves them")
    func recordAmendOutcome() throws {
        var r = OrderRecord(requested: F.requested(link, qty: "0.01", price: "50000"), at: F.at(0), sequence: 1)
        _ = r.applyAccepted(F.accepted(link), at: F.at(1))
        r.applyAmendRequested(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1,
                                                  qty: num("0.02"), price: num("50100"), reason: "same_side_amend"))
        #expect(r.price == num("50000") && r.qty == num("0.01"), "unchanged until the exchange accepts")
        _ = r.applyAccepted(F.accepted(link, action: .amend), at: F.at(2))
        #expect(r.price == num("50100") && r.qty == num("0.02") && r.lastRestingSince == F.at(2))
        r.applyAmendRequested(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 2,
                                                  price: num("50200"), reason: "unfilled_timeout"))
        _ = r.applyRejected(OrderRejected(orderLinkId: link, action: .amend, retCode: 10001, retMsg: "params error"))
        #expect(r.price == num("50100") && r.qty == num("0.02") && r.pending == nil)
        // A later accept (of nothing pending) changes nothing.
        _ = r.applyAccepted(F.accepted(link, action: .amend), at: F.at(3))
        #expect(r.price == num("50100"))
    }
}

/// Gap 3: every exposure figure is USDT.
@Suite("Exposure: one unit (USDT notional)")
struct ExposureUnitsTests {
    let spotBuy = "33333333333333333333333333333333-0"

    /// A spot market buy of 500 USDT (quote-coin qty), acked.
    func withQuoteBuy(_ edit: (inout OrderManagerConfig) -> Void = { _ in }) throws -> TestLog {
        var log = try G.spotAndLinear(F.wallet(balance: "100000"), edit: edit)
        try G.rest(&log, F.requested(spotBuy, side: .buy, type: .market, qty: "500", price: nil, marketUnit: .quoteCoin,
                                     symbol: "ETHUSDT", category: .spot, snapshot: "3000"), at: 10)
        return log
    }

    @Test("a partly filled quote-coin market buy counts the USDT it has left, not 500 − base qty")
    func quoteBuyByExecutions() throws {
        var log = try withQuoteBuy()
        try log.record(ExchangeExecution(execution: G.spotExecution(link: spotBuy, execId: "e1", qty: "0.1", price: "3000")), at: 20,
                       stream: OrderEvents.stream(orderLinkId: spotBuy))
        let rec = try #require(log.state.order(spotBuy))
        #expect(rec.status == .partiallyFilled && rec.remainingQty == num("200") && rec.remainingNotional(price: 3001) == num("200"))
        let x = RiskManager.exposure(rules: F.linearBTC, price: num("50010"), state: log.state, excluding: [])
        #expect(x.gross == num("200") && x.position == 0 && x.openOrders == 0)
    }

    @Test("the same from the exchange's order update (cumExecValue) before any execution")
    func quoteBuyByOrderUpdate() throws {
        var log = try withQuoteBuy()
        try log.record(try F.decode(ExchangeOrderUpdated.self, """
            {"category":"spot","symbol":"ETHUSDT","orderId":"oid-3333","orderLinkId":"\(spotBuy)","side":"Buy",\
            "orderStatus":"PartiallyFilled","qty":"500","cumExecQty":"0.1","cumExecValue":"300","avgPrice":"3000","updatedTime":5}
            """), at: 20)
        #expect(log.state.order(spotBuy)?.remainingQty == num("200"))
        #expect(RiskManager.exposure(rules: F.linearBTC, price: num("50010"), state: log.state, excluding: []).gross == num("200"))
    }

    @Test("max_gross_exposure adds USDT to USDT: 950.19 + 200 is within 1 200")
    func grossThroughDecider() throws {
        var log = try withQuoteBuy { $0.risk.maxGrossExposure = 1_200 }
        try log.record(ExchangeExecution(execution: G.spotExecution(link: spotBuy, execId: "e1", qty: "0.1", price: "3000")), at: 20,
                       stream: OrderEvents.stream(orderLinkId: spotBuy))
        let d = decideForTest(F.signal(1), log)
        #expect(d.refusal == nil, "denied: \(d.refusal ?? "")")
        #expect(d.payloads(OrderDecided.self).first?.riskFigures["gross_exposure_after"] == "1150.19")
    }

    @Test("a linear position with no price known is valued at the exchange's position value (USDT), not 0")
    func positionWithoutPrice() throws {
        var log = try TestLog.market()
        try log.record(try F.decode(ExchangePositionUpdated.self, """
            {"category":"linear","symbol":"ETHUSDT","side":"Sell","size":"1","positionValue":"3000","positionIdx":0}
            """))
        #expect(RiskManager.exposure(rules: F.linearBTC, price: num("50010"), state: log.state, excluding: []).gross == num("3000"))
    }

    @Test("a linear position on the symbol of a spot decision is valued at its own mark, the spot holding at the spot price")
    func sameSymbolOtherCategory() throws {
        var log = try G.spotAndLinear(G.wallet([("USDT", "100000", "0"), ("ETH", "2", "0")]))
        try log.record(F.position(symbol: "ETHUSDT", side: "Sell", size: "1", mark: "2900"))
        let x = RiskManager.exposure(rules: F.spotETH, price: num("3001"), state: log.state, excluding: [])
        // 1 × 2 900 (linear, mark) + 2 × 3 001 (spot ETH held).
        #expect(x.gross == num("8902") && x.position == 2 && x.positionNotional == num("6002"))
    }

    @Test("unsupported_quote_coin: an instrument not quoted in USDT is denied (its notionals are not USDT)")
    func nonUSDTQuote() throws {
        let ethBTC = InstrumentRules(category: .spot, symbol: "ETHBTC", baseCoin: "ETH", quoteCoin: "BTC", tickSize: num("0.00001"),
                                     quantityStep: num("0.0001"), quotePrecision: num("0.0000001"), minOrderQty: num("0.0001"),
                                     minOrderAmt: num("0.00001"))
        var log = TestLog(config: F.config { $0.categories = ["ETHBTC": .spot] })
        try log.record(InstrumentsLoaded(category: .spot, instruments: [ethBTC]))
        try log.record(F.book(symbol: "ETHBTC", category: "spot", bids: [("0.05", "5")], asks: [("0.05001", "5")]))
        try log.record(G.wallet([("USDT", "100000", "0"), ("BTC", "10", "0")]))
        let s = F.signal(1, asset: "ETHBTC")
        let d = decideForTest(s, log)
        #expect(d.refusal == "unsupported_quote_coin" && d.requests.isEmpty)
        #expect(d.payloads(OrderDenied.self).first?.figures == ["quote_coin": "BTC", "valuation_coin": "USDT"])
    }
}

/// Gap 4: the free-balance check reads the order's own balance coin, and only it.
@Suite("Free balance: the order's settlement / quote coin, or the base coin of a spot sell")
struct FreeBalanceCoinTests {
    @Test("AccountView: nil before a wallet; a coin the wallet does not list is 0, never the account total")
    func accountView() throws {
        var a = AccountView()
        #expect(a.freeBalance("USDT") == nil)
        a.apply(try G.wallet([("USDC", "5000", "0"), ("ETH", "2", "0.5")], totalAvailable: "9000"))
        #expect(a.freeBalance("USDT") == 0 && a.freeBalance("USDC") == num("5000") && a.freeBalance("ETH") == num("1.5"))
        #expect(a.totalAvailable == num("9000"))
    }

    @Test("linear USDT perp with no USDT in the wallet: insufficient_free_balance (free 0), not the USDC / account total")
    func linearNeedsUSDT() throws {
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [F.linearBTC]))
        try log.record(F.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        try log.record(G.wallet([("USDC", "100000", "0")], totalAvailable: "100000"))
        let d = decideForTest(F.signal(1), log)
        let denied = try #require(d.payloads(OrderDenied.self).first)
        #expect(denied.code == "insufficient_free_balance")
        #expect(denied.figures["balance_coin"] == "USDT" && denied.figures["free_balance"] == "0" && denied.figures["margin"] == "950.19")
    }

    @Test("spot sell: the base coin must cover the qty (figures in ETH)")
    func spotSellNeedsBase() throws {
        let log = try G.spotAndLinear(G.wallet([("USDT", "100000", "0"), ("ETH", "0.05", "0")]))
        let d = decideForTest(F.signal(1, .sell, asset: "ETHUSDT"), log)
        let denied = try #require(d.payloads(OrderDenied.self).first)
        // 1 000 / 2 999 → 0.3334 ETH to sell, 0.05 free.
        #expect(denied.code == "insufficient_free_balance")
        #expect(denied.figures["balance_coin"] == "ETH" && denied.figures["free_balance"] == "0.05" && denied.figures["margin"] == "0.3334")
        #expect(denied.figures["min_free_balance"] == "0")
    }

    @Test("spot sell: the USDT minimum free balance does not apply (a sell spends ETH and adds USDT)")
    func spotSellIgnoresUSDTMinimum() throws {
        let log = try G.spotAndLinear(G.wallet([("USDT", "100", "0"), ("ETH", "1", "0")])) { $0.risk.minFreeBalance = 1_000 }
        let d = decideForTest(F.signal(1, .sell, asset: "ETHUSDT"), log)
        #expect(d.refusal == nil, "denied: \(d.refusal ?? "")")
        let figures = try #require(d.payloads(OrderDecided.self).first).riskFigures
        #expect(figures["balance_coin"] == "ETH" && figures["free_balance"] == "1" && figures["margin"] == "0.3334")
    }

    @Test("spot buy: USDT pays, held ETH does not; the USDT minimum applies")
    func spotBuyNeedsQuote() throws {
        let log = try G.spotAndLinear(G.wallet([("USDT", "600", "0"), ("ETH", "10", "0")])) { $0.risk.minFreeBalance = 200 }
        let d = decideForTest(F.signal(1, asset: "ETHUSDT", amount: "500"), log)
        let denied = try #require(d.payloads(OrderDenied.self).first)
        #expect(denied.code == "insufficient_free_balance" && denied.figures["balance_coin"] == "USDT")
        #expect(denied.figures["free_balance"] == "600" && denied.figures["margin"] == "500" && denied.figures["min_free_balance"] == "200")
    }
}
