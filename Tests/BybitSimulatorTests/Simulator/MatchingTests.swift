import Testing
@testable import BybitSimulator

@Suite("Matching engine")
struct MatchingTests {
    let engine = MatchingEngine()
    let prices = PriceBoard()

    func place(_ r: OrderRequest, _ account: inout Account, _ market: MarketContext = linearMarket()) throws -> (SimOrder, AccountUpdate) {
        try engine.place(r, account: &account, market: market, prices: prices, now: 1_000)
    }

    func limit(_ side: Side, _ qty: String, _ price: String, _ tif: TimeInForce = .gtc, link: String? = nil,
               category: SimCategory = .linear) -> OrderRequest {
        OrderRequest(category: category, symbol: "BTCUSDT", side: side, kind: .limit, qty: fx(qty), price: fx(price),
                     timeInForce: tif, orderLinkId: link)
    }

    func code(_ body: () throws -> Void) -> Int? {
        do { try body(); return nil } catch let e as ExchangeError { return e.code } catch { return -1 }
    }

    @Test func limitBuyWalksTheBookAndPaysTakerFees() throws {
        var a = testAccount()
        let (o, u) = try place(limit(.buy, "1", "65010"), &a)
        #expect(o.status == .filled)
        #expect(u.executions.map(\.execPrice) == [fx("65000"), fx("65010")])
        #expect(u.executions.map(\.execQty) == [fx("0.5"), fx("0.5")])
        #expect(u.executions.allSatisfy { !$0.isMaker && $0.feeRate == fx("0.00055") })
        // 32500 + 32505 = 65005 notional; fee 0.00055 of each fill.
        #expect(o.cumExecValue == fx("65005"))
        #expect(o.cumExecFee == fx("35.75275"))
        #expect(a.positions["BTCUSDT"]!.signedSize == fx("1"))
        #expect(a.positions["BTCUSDT"]!.avgPrice == fx("65005"))
        #expect(a.coins["USDT"]!.walletBalance == fx("100000") - fx("35.75275"))
        #expect(u.position != nil && u.walletChanged)
    }

    @Test func partialFillRestsTheRemainder() throws {
        var a = testAccount()
        let (o, u) = try place(limit(.buy, "2", "65010"), &a)
        #expect(o.status == .partiallyFilled)
        #expect(o.cumExecQty == fx("1.5"))
        #expect(o.leavesQty == fx("0.5"))
        #expect(u.executions.count == 2)
        #expect(a.orders[o.orderId]!.reserved == fx("3250.5"))  // 0.5 × 65010 / 10x
    }

    @Test func iocCancelsWhatDidNotFill() throws {
        var a = testAccount()
        let (o, _) = try place(limit(.buy, "2", "65000", .ioc), &a)
        #expect(o.status == .cancelled)
        #expect(o.cumExecQty == fx("0.5"))
        #expect(!o.isOpen)
        let (none, u) = try place(limit(.buy, "1", "64000", .ioc), &a)
        #expect(none.status == .cancelled && none.rejectReason == "EC_NoImmediateQtyToFill" && u.executions.isEmpty)
    }

    @Test func fokFillsAllOrNothing() throws {
        var a = testAccount()
        let (killed, u) = try place(limit(.buy, "2", "65010", .fok), &a)
        #expect(killed.status == .cancelled && killed.rejectReason == "EC_CancelForNoFullFill")
        #expect(u.executions.isEmpty && a.positions["BTCUSDT"] == nil)
        let (filled, _) = try place(limit(.buy, "1.5", "65010", .fok), &a)
        #expect(filled.status == .filled && filled.cumExecQty == fx("1.5"))
    }

    @Test func postOnlyThatWouldCrossIsCancelled() throws {
        var a = testAccount()
        let (crossing, u) = try place(limit(.buy, "0.1", "65000", .postOnly), &a)
        #expect(crossing.status == .cancelled)
        #expect(crossing.rejectReason == "EC_PostOnlyWillTakeLiquidity")
        #expect(u.executions.isEmpty)
        let (resting, _) = try place(limit(.buy, "0.1", "64995", .postOnly), &a)
        #expect(resting.status == .new && resting.isOpen)
    }

    @Test func marketSellTakesBidsWithProtectionPrice() throws {
        var a = testAccount()
        let r = OrderRequest(category: .linear, symbol: "BTCUSDT", side: .sell, kind: .market, qty: fx("1.5"))
        #expect(r.timeInForce == .ioc)
        let (o, u) = try place(r, &a)
        #expect(o.status == .filled)
        #expect(u.executions.map(\.execPrice) == [fx("64990"), fx("64980")])
        #expect(o.price == fx("61740.5"))  // 64990 − 5%, rounded up to the tick
        #expect(a.positions["BTCUSDT"]!.signedSize == fx("-1.5"))
    }

    @Test func restingOrdersFillAsMakerWhenTheMarketCrosses() throws {
        var a = testAccount()
        let (buy, _) = try place(limit(.buy, "0.1", "64995"), &a)
        let (sell, _) = try place(limit(.sell, "0.2", "65005"), &a)
        // The asks come down to our bid.
        let moved = linearMarket(asks: [("64995", "0.05"), ("65000", "1")])
        let u1 = try #require(engine.onMarket(account: &a, market: moved, trades: [], now: 2_000))
        #expect(u1.executions.count == 1)
        #expect(u1.executions[0].isMaker && u1.executions[0].execQty == fx("0.05") && u1.executions[0].execPrice == fx("64995"))
        #expect(u1.executions[0].feeRate == fx("0.0002"))
        #expect(a.orders[buy.orderId]!.status == .partiallyFilled)
        // A buy print through our ask fills it (size-limited by the print).
        let print = TradePrint(time: 3_000, price: fx("65010"), size: fx("0.1"), takerSide: .buy, id: "t", tickDirection: "PlusTick", seq: 1)
        let u2 = try #require(engine.onMarket(account: &a, market: linearMarket(), trades: [print], now: 3_000))
        #expect(u2.orders.map(\.orderId) == [sell.orderId])
        #expect(a.orders[sell.orderId]!.cumExecQty == fx("0.1"))
        #expect(a.orders[sell.orderId]!.status == .partiallyFilled)
        #expect(engine.onMarket(account: &a, market: linearMarket(), trades: [], now: 4_000) == nil)
        #expect(a.openOrderIDs == [buy.orderId, sell.orderId])
        // The asks come down through the rest of our bid: it fills and leaves the open set.
        let through = linearMarket(asks: [("64990", "1"), ("65000", "1")])
        let u3 = try #require(engine.onMarket(account: &a, market: through, trades: [], now: 5_000))
        #expect(u3.orders.map(\.orderId) == [buy.orderId] && a.orders[buy.orderId]!.status == .filled)
        #expect(a.openOrderIDs == [sell.orderId])
        #expect(a.openOrderIDs == Set(a.orders.values.filter(\.isOpen).map(\.orderId)))
    }

    @Test func realisedPnlOnClose() throws {
        var a = testAccount()
        _ = try place(limit(.buy, "1", "65010"), &a)  // avg 65005
        let (_, u) = try place(OrderRequest(category: .linear, symbol: "BTCUSDT", side: .sell, kind: .market, qty: fx("1"), reduceOnly: true), &a)
        #expect(u.executions.count == 1)
        #expect(u.executions[0].execPnl == fx("-15"))  // sold at 64990
        #expect(u.executions[0].closedSize == fx("1"))
        let p = a.positions["BTCUSDT"]!
        #expect(p.signedSize.isZero && p.side == "")
        // Bybit's cross sequence: the fill and the position update it caused share one seq.
        #expect(u.executions[0].seq == p.seq)
        let fees = fx("35.75275") + fx("64990") * fx("0.00055")
        #expect(p.cumRealisedPnl == fx("-15") - fees)
        #expect(a.coins["USDT"]!.walletBalance == fx("100000") - fx("15") - fees)
    }

    @Test func filtersAnswer10001() {
        var a = testAccount()
        #expect(code { _ = try place(limit(.buy, "0.1", "65000.05"), &a) } == 10001)  // tick 0.10
        #expect(code { _ = try place(limit(.buy, "0.0005", "65000"), &a) } == 10001)  // qtyStep 0.001
        #expect(code { _ = try place(limit(.buy, "0.001", "1000"), &a) } == 10001)  // 1 USDT < minNotionalValue 5
        #expect(code { _ = try place(limit(.buy, "0", "65000"), &a) } == 10001)
        do {
            _ = try place(limit(.buy, "0.0005", "65000"), &a)
        } catch let e as ExchangeError {
            #expect(e.message.contains("qtyStep"))
        } catch {}
        #expect(a.orders.isEmpty)
    }

    @Test func insufficientBalance() {
        var poor = testAccount(usdt: "100")
        #expect(code { _ = try place(limit(.buy, "1", "60000"), &poor) } == 110007)
        var spot = testAccount(usdt: "100", btc: "0.01")
        #expect(code { _ = try place(limit(.buy, "0.01", "60000", category: .spot), &spot, spotMarket()) } == 170131)
        #expect(code { _ = try place(limit(.sell, "0.02", "70000", category: .spot), &spot, spotMarket()) } == 170131)
    }

    @Test func orderLinkIdIsUniquePerAccount() throws {
        var a = testAccount()
        _ = try place(limit(.buy, "0.1", "60000", link: "abc-1"), &a)
        #expect(code { _ = try place(limit(.buy, "0.1", "60000", link: "abc-1"), &a) } == 110072)
        _ = try place(limit(.buy, "0.001", "60000", link: "abc-1", category: .spot), &a, spotMarket())
        #expect(code { _ = try place(limit(.buy, "0.001", "60000", link: "abc-1", category: .spot), &a, spotMarket()) } == 170141)
        #expect(code { _ = try place(limit(.buy, "0.1", "60000", link: "bad id!"), &a) } == 10001)
    }

    @Test func amendAndCancelUnknownOrders() throws {
        var a = testAccount()
        let m = linearMarket()
        #expect(code { _ = try engine.amend(category: .linear, symbol: "BTCUSDT", orderId: "nope", orderLinkId: nil, qty: fx("1"), price: nil, account: &a, market: m, prices: prices, now: 1) } == 110001)
        #expect(code { _ = try engine.cancel(category: .linear, symbol: "BTCUSDT", orderId: nil, orderLinkId: "nope", account: &a, now: 1) } == 110001)
        #expect(code { _ = try engine.cancel(category: .spot, symbol: "BTCUSDT", orderId: "1", orderLinkId: nil, account: &a, now: 1) } == 170213)
        let (o, _) = try place(limit(.buy, "0.1", "60000", link: "x"), &a)
        let (amended, u) = try engine.amend(category: .linear, symbol: "BTCUSDT", orderId: nil, orderLinkId: "x", qty: fx("0.2"),
                                            price: fx("60100"), account: &a, market: m, prices: prices, now: 2)
        #expect(amended.orderId == o.orderId && amended.qty == fx("0.2") && amended.price == fx("60100") && u.orders.count == 1)
        let (cancelled, _) = try engine.cancel(category: .linear, symbol: "BTCUSDT", orderId: o.orderId, orderLinkId: nil, account: &a, now: 3)
        #expect(cancelled.status == .cancelled && cancelled.cancelType == "CancelByUser" && cancelled.reserved.isZero)
        #expect(code { _ = try engine.cancel(category: .linear, symbol: "BTCUSDT", orderId: o.orderId, orderLinkId: nil, account: &a, now: 4) } == 110001)
    }

    @Test func spotMarketBuyTakesQuoteQuantity() throws {
        var a = testAccount(usdt: "100000", btc: "0")
        let r = OrderRequest(category: .spot, symbol: "BTCUSDT", side: .buy, kind: .market, qty: fx("1000"))
        let (o, u) = try place(r, &a, spotMarket())
        #expect(o.quoteQty && o.marketUnit == "quoteCoin")
        #expect(o.status == .filled)
        let bought = u.executions.reduce(Fixed.zero) { $0 + $1.execQty }
        #expect(bought == fx("0.015384"))  // floor(1000 / 65000) to basePrecision 0.000001
        #expect(u.executions.allSatisfy { $0.feeCurrency == "BTC" })
        #expect(a.coins["BTC"]!.walletBalance == bought - bought * fx("0.001"))
        #expect(a.coins["USDT"]!.walletBalance == fx("100000") - fx("999.96"))
        #expect(a.coins["USDT"]!.locked.isZero)
        // Spot link ids default to orderId + 1 (reference §2.5).
        #expect(Int64(o.orderLinkId)! == Int64(o.orderId)! + 1)
    }

    @Test func spotLimitLocksAndUnlocksCoins() throws {
        var a = testAccount()
        let (o, _) = try place(limit(.buy, "0.01", "60000", category: .spot), &a, spotMarket())
        #expect(a.coins["USDT"]!.locked == fx("600"))
        _ = try engine.cancel(category: .spot, symbol: "BTCUSDT", orderId: o.orderId, orderLinkId: nil, account: &a, now: 2)
        #expect(a.coins["USDT"]!.locked.isZero)
    }
}

@Suite("Matching engine: amend")
struct AmendTests {
    @Test func amendingPostOnlyAcrossTheBookCancelsAndReleases() throws {
        let engine = MatchingEngine()
        var a = testAccount()
        let spot = spotMarket()
        let (o, _) = try engine.place(OrderRequest(category: .spot, symbol: "BTCUSDT", side: .buy, kind: .limit, qty: fx("0.01"),
                                                   price: fx("60000"), timeInForce: .postOnly), account: &a, market: spot, prices: PriceBoard(), now: 1)
        #expect(a.coins["USDT"]!.locked == fx("600"))
        let (amended, _) = try engine.amend(category: .spot, symbol: "BTCUSDT", orderId: o.orderId, orderLinkId: nil, qty: nil,
                                            price: fx("65000"), account: &a, market: spot, prices: PriceBoard(), now: 2)
        #expect(amended.status == .cancelled && amended.rejectReason == "EC_PostOnlyWillTakeLiquidity")
        #expect(a.coins["USDT"]!.locked.isZero)
    }

    @Test func amendingAcrossTheBookTakes() throws {
        let engine = MatchingEngine()
        var a = testAccount()
        let m = linearMarket()
        let (o, _) = try engine.place(OrderRequest(category: .linear, symbol: "BTCUSDT", side: .buy, kind: .limit, qty: fx("0.2"), price: fx("64000")),
                                      account: &a, market: m, prices: PriceBoard(), now: 1)
        let (amended, u) = try engine.amend(category: .linear, symbol: "BTCUSDT", orderId: o.orderId, orderLinkId: nil, qty: nil,
                                            price: fx("65000"), account: &a, market: m, prices: PriceBoard(), now: 2)
        #expect(amended.status == .filled && u.executions.count == 1 && !u.executions[0].isMaker)
        #expect(a.orders[o.orderId]!.reserved.isZero)
    }
}
