import Foundation
import Testing
@testable import Bybit

private func d(_ text: String) -> Decimal { RESTFixture.dec(text) }

@Suite("REST response models: captured fixtures")
struct RESTCapturedModelTests {
    @Test("server time (v3 shape = v5 shape)")
    func serverTime() throws {
        let r = try RESTFixture.decode(RESTServerTime.self, try RESTFixture.bytes("http_server_time.json"))
        #expect(r.result.timeSecond == 1_696_233_582)
        #expect(r.result.timeNano == 1_696_233_582_169_993_116)
        #expect(r.result.milliseconds == 1_696_233_582_169)
        #expect(r.time == 1_696_233_582_169)
    }

    @Test("an absurd server time in seconds saturates its milliseconds instead of trapping")
    func serverTimeSaturates() {
        #expect(RESTServerTime(timeSecond: 9_300_000_000_000_000, timeNano: nil).milliseconds == Int64.max)
        #expect(RESTServerTime(timeSecond: -9_300_000_000_000_000, timeNano: nil).milliseconds == Int64.min)
        #expect(RESTServerTime(timeSecond: 1_696_233_582, timeNano: nil).milliseconds == 1_696_233_582_000)
    }

    @Test("linear instruments with full envelope")
    func instrumentsLinear() throws {
        let page = try RESTFixture.decode(RESTPage<RESTInstrument>.self, try RESTFixture.bytes("http_instruments_info_linear_2023.json")).result
        #expect(page.category == "linear")
        #expect(page.nextPageCursor == nil)
        let i = try #require(page.list.first)
        #expect(i.symbol == "BTCUSDT" && i.contractType == "LinearPerpetual" && i.status == "Trading")
        #expect(i.settleCoin == "USDT")
        #expect(i.priceFilter.tickSize == d("0.10"))
        #expect(i.priceFilter.minPrice == d("0.1"))
        #expect(i.priceFilter.maxPrice == d("199999.80"))
        #expect(i.lotSizeFilter.qtyStep == d("0.001"))
        #expect(i.lotSizeFilter.minOrderQty == d("0.001"))
        #expect(i.lotSizeFilter.maxOrderQty == d("100"))
        #expect(i.lotSizeFilter.maxMktOrderQty == nil)  // not in 2023 capture
        #expect(i.lotSizeFilter.quantityStep == d("0.001"))
        #expect(i.fundingInterval == 480)
        #expect(i.priceScale == 2)
        #expect(i.launchTime == 1_584_230_400_000)
        #expect(i.deliveryTime == 0)
        #expect(i.leverageFilter?.maxLeverage == d("100"))
    }

    @Test("linear BTCUSDT instruments without retExtInfo, with maxMktOrderQty/minNotionalValue")
    func instrumentsLinearTrimmed() throws {
        let r = try RESTFixture.decode(RESTPage<RESTInstrument>.self, try RESTFixture.bytes("http_instruments_info_linear_btcusdt_2023.json"))
        let i = try #require(r.result.list.first)
        #expect(r.result.category == nil)
        #expect(i.lotSizeFilter.maxMktOrderQty == d("500"))
        #expect(i.lotSizeFilter.minNotionalValue == d("5"))
        #expect(i.lotSizeFilter.postOnlyMaxOrderQty == d("1000"))
        #expect(r.time == 1_694_668_718_723)
    }

    @Test("spot instruments (old spot fields)")
    func instrumentsSpot() throws {
        let list = try RESTFixture.decode(RESTPage<RESTInstrument>.self, try RESTFixture.bytes("http_instruments_info_spot_2023.json")).result.list
        #expect(list.map(\.symbol) == ["BTCUSDT", "ETHUSDT"])
        let btc = list[0]
        #expect(btc.contractType == nil)
        #expect(btc.lotSizeFilter.qtyStep == nil)
        #expect(btc.lotSizeFilter.basePrecision == d("0.000001"))
        #expect(btc.lotSizeFilter.quotePrecision == d("0.00000001"))
        #expect(btc.lotSizeFilter.minOrderAmt == d("1"))
        #expect(btc.lotSizeFilter.maxOrderAmt == d("2000000"))
        #expect(btc.lotSizeFilter.quantityStep == d("0.000001"))
        #expect(btc.priceFilter.tickSize == d("0.01"))
        #expect(btc.priceFilter.minPrice == nil)
        #expect(list[1].lotSizeFilter.maxOrderQty == d("2430.7243559"))
    }

    @Test("klines: rows newest first", arguments: [
        ("http_kline_linear_2023.json", 5, Int64(1_687_589_640_000), "30709.9", "112245.7381"),
        ("http_kline_linear_testnet_2023.json", 3, Int64(1_694_649_600_000), "26210", "293656450.7204"),
        ("http_kline_spot_testnet_2023.json", 3, Int64(1_694_649_600_000), "19289.27", "7981068.41994112"),
    ])
    func klines(file: String, count: Int, firstStart: Int64, firstOpen: String, firstTurnover: String) throws {
        let k = try RESTFixture.decode(RESTKlines.self, try RESTFixture.bytes(file)).result
        #expect(k.list.count == count)
        #expect(k.symbol == "BTCUSDT")
        #expect(k.list[0].start == firstStart)
        #expect(k.list[0].open == d(firstOpen))
        #expect(k.list[0].turnover == d(firstTurnover))
        // Newest first: starts strictly decrease.
        #expect(zip(k.list, k.list.dropFirst()).allSatisfy { $0.start > $1.start })
    }

    @Test("kline row values")
    func klineRow() throws {
        let row = try RESTFixture.decode(RESTKlines.self, try RESTFixture.bytes("http_kline_linear_2023.json")).result.list[4]
        #expect(row.start == 1_687_589_400_000)
        #expect(row.open == d("30678.6") && row.high == d("30690.9") && row.low == d("30678.5") && row.close == d("30689.9"))
        #expect(row.volume == d("38.747"))
    }

    @Test("orderbook spot testnet (no seq/cts)")
    func orderbookSpot() throws {
        let r = try RESTFixture.decode(RESTOrderbook.self, try RESTFixture.bytes("http_orderbook_spot_testnet.json"))
        let b = r.result
        #expect(b.symbol == "BTCUSDT")
        #expect(b.asks.count == 5 && b.bids.count == 5)
        #expect(b.asks[0] == RESTBookLevel(price: d("29727.05"), size: d("0.000069")))
        #expect(b.bids[0] == RESTBookLevel(price: d("29714.9"), size: d("0.0008")))
        #expect(b.timestamp == 1_703_314_210_368)
        #expect(b.updateId == 1_458_765)
        #expect(b.sequence == nil && b.matchingEngineTimestamp == nil)
    }

    @Test("orderbook linear (alphabetised keys)")
    func orderbookLinear() throws {
        let b = try RESTFixture.decode(RESTOrderbook.self, try RESTFixture.bytes("http_orderbook_linear_2023.json")).result
        #expect(b.asks.count == 10 && b.bids.count == 10)
        #expect(b.asks.first?.price == d("30604.8"))
        #expect(b.bids.last == RESTBookLevel(price: d("30563"), size: d("0.001")))
        #expect(zip(b.bids, b.bids.dropFirst()).allSatisfy { $0.price > $1.price })
        #expect(zip(b.asks, b.asks.dropFirst()).allSatisfy { $0.price < $1.price })
        #expect(b.updateId == 5_223_166)
    }

    @Test("recent trades (spot testnet)")
    func recentTrades() throws {
        let list = try RESTFixture.decode(RESTList<RESTPublicTrade>.self, try RESTFixture.bytes("http_recent_trade_spot_testnet.json")).result
        #expect(list.category == "spot")
        #expect(list.list.count == 5)
        #expect(list.list[0].execId == "2100000000055371969")
        #expect(list.list[0].price == d("29741.75") && list.list[0].size == d("0.002148"))
        #expect(list.list[0].time == 1_703_318_475_711)
        #expect(list.list[0].isBlockTrade == false)
    }

    @Test("order create / cancel / cancel-all")
    func orderAcks() throws {
        let create = try RESTFixture.decode(RESTOrderAck.self, try RESTFixture.bytes("http_order_create_linear.json")).result
        #expect(create == RESTOrderAck(orderId: "b719e004-0846-4b58-8405-a307133c5146", orderLinkId: ""))
        let cancel = try RESTFixture.decode(RESTOrderAck.self, try RESTFixture.bytes("http_order_cancel_linear.json")).result
        #expect(cancel.orderId == "1c64212f-8b16-4d4b-90c1-7a4cb55f240a")
        let all = try RESTFixture.decode(RESTCancelAllResult.self, try RESTFixture.bytes("http_order_cancel_all_empty.json")).result
        #expect(all.list.isEmpty)
    }

    @Test("open orders, testnet: URL-encoded cursor, empty strings")
    func openOrdersTestnet() throws {
        let page = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.bytes("http_order_realtime_linear_testnet.json")).result
        #expect(page.list.count == 2)
        #expect(page.nextPageCursor == "36a2f9ec-700c-481e-bf05-5df9802bad86%3A1704539225091%2C550a465a-5a0d-4cac-b66e-733fa029166c%3A1704539202055")
        let o = page.list[0]
        #expect(o.orderId == "36a2f9ec-700c-481e-bf05-5df9802bad86")
        #expect(o.orderStatus == "New" && o.side == "Buy" && o.orderType == "Limit" && o.timeInForce == "GTC")
        #expect(o.price == d("40000") && o.qty == d("0.001"))
        #expect(o.avgPrice == nil)        // ""
        #expect(o.triggerPrice == nil)    // ""
        #expect(o.takeProfit == nil)
        #expect(o.leavesQty == d("0.001") && o.leavesValue == d("40"))
        #expect(o.cumExecQty == 0)
        #expect(o.createdTime == 1_704_539_225_091 && o.updatedTime == 1_704_539_225_094)
        #expect(o.createType == "CreateByUser")
        #expect(o.positionIdx == 0 && o.reduceOnly == false)
        #expect(o.marketUnit == "")
    }

    @Test("open orders, 2023 field set")
    func openOrders2023() throws {
        let page = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.bytes("http_order_realtime_linear_2023.json")).result
        let o = try #require(page.list.first)
        #expect(page.nextPageCursor == "page_args%3D58364642-a4d6-4c2d-be9b-ce66e2b460b3%26")
        #expect(o.price == d("30000") && o.avgPrice == 0 && o.triggerPrice == 0)
        #expect(o.cancelType == "UNKNOWN" && o.rejectReason == "EC_NoError")
        #expect(o.createType == nil)
    }

    @Test("open orders, empty")
    func openOrdersEmpty() throws {
        let page = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.bytes("http_order_realtime_empty.json")).result
        #expect(page.list.isEmpty && page.nextPageCursor == nil && page.category == "linear")
    }

    @Test("position list item (no envelope, old side \"None\")")
    func positionItem() throws {
        let p = try JSONDecoder().decode(RESTPosition.self, from: Data(try RESTFixture.bytes("http_position_list_item_2023.json")))
        #expect(p.symbol == "BTCUSDT" && p.positionIdx == 0)
        #expect(p.side == "None" && p.isFlat)
        #expect(p.size == 0 && p.avgPrice == 0)
        #expect(p.markPrice == d("26515.73"))
        #expect(p.liqPrice == nil)
        #expect(p.cumRealisedPnl == d("-19.59637027"))
        #expect(p.seq == 8_172_241_025)
        #expect(p.createdTime == 1_682_125_794_703 && p.updatedTime == 1_694_995_200_083)
        #expect(p.riskLimitValue == d("2000000") && p.riskId == 1)
    }

    @Test("wallet balance, unified testnet: deprecated \"\" fields, 18-decimal zero")
    func wallet() throws {
        let w = try RESTFixture.decode(RESTWalletBalance.self, try RESTFixture.bytes("http_wallet_balance_unified_testnet.json")).result
        let account = try #require(w.list.first)
        #expect(account.accountType == "UNIFIED")
        #expect(account.totalEquity == d("11671.04063119"))
        #expect(account.totalAvailableBalance == d("10755.6314572"))
        #expect(account.accountLTV == 0)
        #expect(account.coin.map(\.coin) == ["USDT", "BTC"])
        let usdt = account.coin[0]
        #expect(usdt.walletBalance == d("10196.98720872"))
        #expect(usdt.availableToBorrow == nil)
        #expect(usdt.availableToWithdraw == d("10196.98720872"))
        #expect(usdt.borrowAmount == 0)
        #expect(usdt.collateralSwitch == true)
        let btc = account.coin[1]
        #expect(btc.equity == nil && btc.walletBalance == nil && btc.usdValue == nil)
        #expect(btc.spotHedgingQty == 0)
    }

    @Test("negative balances decode")
    func negativeBalance() throws {
        let body = #"{"retCode":0,"retMsg":"OK","result":{"list":[{"accountType":"UNIFIED","totalEquity":"-12.5","coin":[{"coin":"USDT","walletBalance":"-3.25","borrowAmount":"3.25","equity":"-3.25"}]}]},"time":1}"#
        let w = try RESTFixture.decode(RESTWalletBalance.self, Array(body.utf8)).result
        #expect(w.list[0].totalEquity == d("-12.5"))
        #expect(w.list[0].coin[0].walletBalance == d("-3.25"))
    }

    @Test("models round-trip through their own Bybit-shaped JSON")
    func roundTrip() throws {
        let page = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.bytes("http_order_realtime_linear_testnet.json")).result
        let again = try JSONDecoder().decode(RESTPage<RESTOrder>.self, from: JSONEncoder().encode(page))
        #expect(again == page)
        let book = try RESTFixture.decode(RESTOrderbook.self, try RESTFixture.bytes("http_orderbook_spot_testnet.json")).result
        #expect(try JSONDecoder().decode(RESTOrderbook.self, from: JSONEncoder().encode(book)) == book)
        let klines = try RESTFixture.decode(RESTKlines.self, try RESTFixture.bytes("http_kline_spot_testnet_2023.json")).result
        #expect(try JSONDecoder().decode(RESTKlines.self, from: JSONEncoder().encode(klines)) == klines)
    }
}

@Suite("REST response models: docs examples")
struct RESTDocsModelTests {
    @Test("instruments-info: linear, pre-listing linear, option, spot")
    func instruments() throws {
        let examples = try RESTFixture.docExamples("http_instruments_info.json")
        #expect(examples.count == 4)
        let linear = try RESTFixture.decode(RESTPage<RESTInstrument>.self, examples[0]).result
        let btc = try #require(linear.list.first)
        #expect(btc.lotSizeFilter.maxOrderQty == d("1190") && btc.lotSizeFilter.maxMktOrderQty == d("500"))
        #expect(btc.lotSizeFilter.minNotionalValue == d("5"))
        #expect(btc.priceFilter.maxPrice == d("1999999.8"))
        #expect(btc.upperFundingRate == d("0.00375") && btc.lowerFundingRate == d("-0.00375"))
        #expect(linear.nextPageCursor == nil)

        let prelisting = try RESTFixture.decode(RESTPage<RESTInstrument>.self, examples[1]).result
        #expect(prelisting.list[0].status == "PreLaunch")
        #expect(prelisting.list[0].lotSizeFilter.qtyStep == 1)
        #expect(prelisting.nextPageCursor == "first%3DBIOUSDT%26last%3DBIOUSDT")

        let option = try RESTFixture.decode(RESTPage<RESTInstrument>.self, examples[2]).result
        #expect(option.list[0].symbol == "BTC-27MAR26-70000-P-USDT")
        #expect(option.list[0].deliveryTime == 1_774_598_400_000)
        #expect(option.list[0].priceFilter.tickSize == 5)

        let spot = try RESTFixture.decode(RESTPage<RESTInstrument>.self, examples[3]).result
        let s = spot.list[0].lotSizeFilter
        #expect(s.basePrecision == d("0.000001") && s.quotePrecision == d("0.0000001"))
        #expect(s.minOrderAmt == 5)
        #expect(s.maxLimitOrderQty == 83 && s.maxMarketOrderQty == d("41.5"))
        #expect(s.postOnlyMaxLimitOrderSize == 60000)
        #expect(spot.list[0].priceFilter.tickSize == d("0.1"))
    }

    @Test("tickers: inverse (funding), option, spot (bid1/ask1)")
    func tickers() throws {
        let examples = try RESTFixture.docExamples("http_tickers.json")
        #expect(examples.count == 3)
        let inverse = try RESTFixture.decode(RESTList<RESTTicker>.self, examples[0]).result.list[0]
        #expect(inverse.symbol == "BTCUSD")
        #expect(inverse.fundingRate == d("0.0001"))
        #expect(inverse.nextFundingTime == 1_760_371_200_000)
        #expect(inverse.fundingIntervalHour == 8 && inverse.fundingCap == d("0.005"))
        #expect(inverse.bid1Price == d("103401") && inverse.ask1Size == 9854)
        #expect(inverse.deliveryTime == 0)
        let option = try RESTFixture.decode(RESTList<RESTTicker>.self, examples[1]).result
        #expect(option.category == "option" && option.list[0].markPrice == d("0.00000009"))
        let spot = try RESTFixture.decode(RESTList<RESTTicker>.self, examples[2]).result.list[0]
        #expect(spot.bid1Price == d("20517.96") && spot.bid1Size == 2)
        #expect(spot.ask1Price == d("20527.77") && spot.ask1Size == d("1.862172"))
        #expect(spot.usdIndexPrice == d("20784.12009279"))
        #expect(spot.fundingRate == nil && spot.markPrice == nil)
    }

    @Test("orderbook with seq and cts")
    func orderbook() throws {
        let b = try RESTFixture.decode(RESTOrderbook.self, try RESTFixture.docExamples("http_orderbook.json")[0]).result
        #expect(b.sequence == 1_432_604_333 && b.matchingEngineTimestamp == 1_716_863_718_905)
        #expect(b.updateId == 230_704 && b.timestamp == 1_716_863_719_031)
        #expect(b.asks == [RESTBookLevel(price: d("65557.7"), size: d("16.606555"))])
    }

    @Test("kline (inverse)")
    func kline() throws {
        let k = try RESTFixture.decode(RESTKlines.self, try RESTFixture.docExamples("http_kline.json")[0]).result
        #expect(k.category == "inverse" && k.list.count == 3)
        #expect(k.list[2].start == 1_670_601_600_000 && k.list[2].turnover == d("0.37288112"))
    }

    @Test("funding history")
    func funding() throws {
        let list = try RESTFixture.decode(RESTList<RESTFundingRate>.self, try RESTFixture.docExamples("http_funding_history.json")[0]).result
        #expect(list.list == [try JSONDecoder().decode(RESTFundingRate.self, from: Data(#"{"symbol":"ETHPERP","fundingRate":"0.0001","fundingRateTimestamp":"1672041600000"}"#.utf8))])
        #expect(list.list[0].fundingRate == d("0.0001") && list.list[0].fundingRateTimestamp == 1_672_041_600_000)
    }

    @Test("recent trade with extra fields")
    func recentTrade() throws {
        let t = try RESTFixture.decode(RESTList<RESTPublicTrade>.self, try RESTFixture.docExamples("http_recent_trade.json")[0]).result.list[0]
        #expect(t.execId == "2100000000007764263" && t.price == d("16618.49") && t.time == 1_672_052_955_758)
    }

    @Test("order create / amend / cancel / cancel-all")
    func acks() throws {
        let create = try RESTFixture.decode(RESTOrderAck.self, try RESTFixture.docExamples("http_order_create.json")[0]).result
        #expect(create == RESTOrderAck(orderId: "1321003749386327552", orderLinkId: "spot-test-postonly"))
        let amend = try RESTFixture.decode(RESTOrderAck.self, try RESTFixture.docExamples("http_order_amend.json")[0]).result
        #expect(amend == RESTOrderAck(orderId: "c6f055d9-7f21-4079-913d-e6523a9cfffa", orderLinkId: "linear-004"))
        let cancel = try RESTFixture.decode(RESTOrderAck.self, try RESTFixture.docExamples("http_order_cancel.json")[0]).result
        #expect(cancel.orderLinkId == "linear-004")
        let all = try RESTFixture.decode(RESTCancelAllResult.self, try RESTFixture.docExamples("http_order_cancel_all.json")[0]).result
        #expect(all.success == "1")
        #expect(all.list.map(\.orderLinkId) == ["1616024329462743809", "1616024287544869633"])
    }

    @Test("order realtime and history")
    func orders() throws {
        let realtime = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.docExamples("http_order_realtime.json")[0]).result
        let o = realtime.list[0]
        #expect(o.orderLinkId == "test-000005" && o.positionIdx == 1)
        #expect(o.takeProfit == d("2500") && o.stopLoss == d("1500"))
        #expect(o.feeDetail == ["MNT": d("0.00242968")])
        #expect(realtime.nextPageCursor == "page_args%3Dfd4300ae-7847-404e-b947-b46980a4d140%26symbol%3D6%26")
        let history = try RESTFixture.decode(RESTPage<RESTOrder>.self, try RESTFixture.docExamples("http_order_history.json")[0]).result
        let h = history.list[0]
        #expect(h.orderStatus == "Cancelled" && h.timeInForce == "PostOnly")
        #expect(h.rejectReason == "EC_PostOnlyWillTakeLiquidity")
        #expect(h.createdTime == 1_684_476_068_369)
        #expect(history.nextPageCursor == "page_token%3D39380%26")
    }

    @Test("execution list")
    func executions() throws {
        let page = try RESTFixture.decode(RESTPage<RESTExecution>.self, try RESTFixture.docExamples("http_execution_list.json")[0]).result
        let e = page.list[0]
        #expect(e.symbol == "ETHPERP" && e.execId == "e0cbe81d-0f18-5866-9415-cf319b5dab3b")
        #expect(e.execPrice == d("1190.15") && e.execQty == d("0.1") && e.execValue == d("119.015"))
        #expect(e.execFee == d("0.071409") && e.feeRate == d("0.0006"))
        #expect(e.execTime == 1_672_282_722_429 && e.execType == "Trade" && !e.isMaker)
        #expect(e.closedSize == nil && e.indexPrice == nil)
        #expect(e.seq == 4_688_002_127)
        #expect(page.nextPageCursor == "132766%3A2%2C132766%3A2")
    }

    @Test("position list (avgPrice)")
    func positions() throws {
        let page = try RESTFixture.decode(RESTPage<RESTPosition>.self, try RESTFixture.docExamples("http_position_list.json")[0]).result
        let p = page.list[0]
        #expect(page.category == "inverse" && page.nextPageCursor == nil)
        #expect(p.side == "Sell" && p.size == 300 && !p.isFlat)
        #expect(p.avgPrice == d("27464.50441675"))
        #expect(p.breakEvenPrice == d("93556.73034991"))
        #expect(p.liqPrice == nil && p.bustPrice == d("999999"))
        #expect(p.unrealisedPnl == d("-0.00029413"))
        #expect(p.isReduceOnly == false && p.autoAddMargin == 1)
    }

    @Test("wallet balance")
    func wallet() throws {
        let w = try RESTFixture.decode(RESTWalletBalance.self, try RESTFixture.docExamples("http_wallet_balance.json")[0]).result
        let c = w.list[0].coin[0]
        #expect(c.coin == "BTC" && c.availableToBorrow == 3 && c.spotBorrow == 0)
        #expect(c.spotHedgingQty == d("0.01592413"))
        #expect(w.list[0].totalEquity == d("3.31216591"))
    }
}
