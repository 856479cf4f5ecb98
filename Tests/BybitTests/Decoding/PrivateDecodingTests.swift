import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Private topics")
struct PrivateDecodingTests {
    @Test func orderUpdate() throws {
        var d = FrameDecoder(channel: .private)
        let e = try #require(d.decodeAll(try Fixtures.frames("ws_private_order_linear_market_close_testnet_2024.json"))[0].events.first)
        #expect(e.type == "ExchangeOrderUpdated" && e.stream == "exchange.order-6e77763c-5589-41de-b52b-36358a577c6d")
        #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: 1_705_740_966_797))  // updatedTime
        let o = try payload(ExchangeOrderUpdated.self, e)
        #expect(o.symbol == "BTCUSDT" && o.side == "Sell" && o.orderStatus == "Filled" && o.category == "linear")
        #expect(o.price == dec("39484.4") && o.qty == dec("0.001") && o.avgPrice == 41562 && o.cumExecValue == dec("41.562"))
        #expect(o.cumExecFee == dec("0.0228591") && o.leavesQty == 0 && o.lastPriceOnCreated == dec("41562.5"))
        #expect(o.createdTime == 1_705_740_966_794 && o.updatedTime == 1_705_740_966_797)
        #expect(o.reduceOnly == true && o.closeOnTrigger == true && o.createType == "CreateByClosing" && o.tpslMode == "UNKNOWN")
        #expect(o.orderLinkId == nil && o.triggerPrice == nil && o.stopOrderType == nil)  // "" is absent
        #expect(o.positionIdx == 0 && o.triggerDirection == 0 && o.smpGroup == 0 && o.smpType == "None")
        let json = try e.json
        #expect(json["orderLinkId"] == nil && json["createdTime"]?.kind == .number && json[string: "slLimitPrice"] == "0")
        try expectWellFormed(e)
    }

    @Test func executionTradeIsAFill() throws {
        var d = FrameDecoder(channel: .private)
        let e = try #require(d.decodeAll(try Fixtures.frames("ws_private_execution_linear_testnet_2024.json"))[0].events.first)
        #expect(e.type == "ExchangeExecution" && e.stream == "exchange.execution-e4385ca4-59cf-4ef8-aa34-61b7ad99ae84")
        #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: 1_705_761_437_503))
        let x = try payload(ExchangeExecution.self, e).execution
        #expect(x.execId == "2800474f-1e3d-571e-9cc8-46e3bcb82699" && x.execType == "Trade")
        #expect(x.execPrice == dec("41553.9") && x.execQty == dec("0.001") && x.execFee == dec("0.02285465"))
        #expect(x.feeRate == dec("0.00055") && x.isMaker == false && x.seq == 8_883_610_598 && x.orderLinkId == "SkeltonAgentlp9qlB-0001")
        #expect(x.indexPrice == nil && x.tradeIv == nil && x.markPrice == dec("41547.63") && x.execTime == 1_705_761_437_503)
        #expect(e.eventID == DeterministicID.uuid5(
            namespace: DeterministicID.namespace,
            name: "exchange.execution-e4385ca4-59cf-4ef8-aa34-61b7ad99ae84|ExchangeExecution|2800474f-1e3d-571e-9cc8-46e3bcb82699"))
        try expectWellFormed(e)
    }

    @Test func fundingExecutionIsNotAFill() throws {
        let frame = try Fixtures.frames("ws_private_execution_linear_testnet_2024.json")[0]
        let funding = String(decoding: frame, as: UTF8.self)
            .replacingOccurrences(of: "\"execType\":\"Trade\"", with: "\"execType\":\"Funding\"")
            .replacingOccurrences(of: "\"orderId\":\"e4385ca4-59cf-4ef8-aa34-61b7ad99ae84\"", with: "\"orderId\":\"\"")
        var d = FrameDecoder(channel: .private)
        let e = try #require(d.decode(funding).events.first)
        #expect(e.type == "ExchangeNonTradeExecution" && e.stream == "exchange.execution-BTCUSDT")
        #expect(try payload(ExchangeNonTradeExecution.self, e).execution.execType == "Funding")
        // Other non-trade types keep the order's stream.
        for type in ["AdlTrade", "BustTrade", "Settle"] {
            let text = String(decoding: frame, as: UTF8.self).replacingOccurrences(of: "\"Trade\"", with: "\"\(type)\"")
            let x = try #require(d.decode(text).events.first)
            #expect(x.type == "ExchangeNonTradeExecution" && x.stream == "exchange.execution-e4385ca4-59cf-4ef8-aa34-61b7ad99ae84")
        }
        // execution.fast has no execType: fills only.
        let fast = #"{"topic":"execution.fast","creationTime":1716800399338,"data":[{"category":"linear","symbol":"ICPUSDT","execId":"3510f361-0add-5c7b-a2e7-9679810944fc","execPrice":"12.015","execQty":"3000","orderId":"443d63fa-b4c3-4297-b7b1-23bca88b04dc","isMaker":false,"orderLinkId":"test-00001","side":"Sell","execTime":"1716800399334","seq":34771365464}]}"#
        let f = try #require(d.decode(fast).events.first)
        #expect(f.type == "ExchangeExecution" && f.stream == "exchange.execution-443d63fa-b4c3-4297-b7b1-23bca88b04dc")
        #expect(try payload(ExchangeExecution.self, f).execution.execQty == 3000)
    }

    @Test func walletUpdate() throws {
        var d = FrameDecoder(channel: .private)
        let e = try #require(d.decodeAll(try Fixtures.frames("ws_private_wallet_testnet_2024.json"))[0].events.first)
        #expect(e.type == "ExchangeWalletUpdated" && e.stream == "exchange.wallet-UNIFIED")
        #expect(e.exchangeTime == Timestamp(millisecondsSinceEpoch: 1_705_725_452_731))
        let w = try payload(ExchangeWalletUpdated.self, e)
        #expect(w.totalEquity == dec("9593.08110909") && w.totalPerpUPL == dec("-655.61744099") && w.accountLTV == 0)
        #expect(w.coin.map(\.coin) == ["USDC", "USDT"])
        let usdt = w.coin[1]
        #expect(usdt.walletBalance == dec("10253.85623978") && usdt.unrealisedPnl == dec("-655.94738253"))
        #expect(usdt.availableToBorrow == nil && usdt.collateralSwitch == true && usdt.cumRealisedPnl == dec("253.85623978"))
        #expect(e.eventID == DeterministicID.uuid5(
            namespace: DeterministicID.namespace, name: "exchange.wallet-UNIFIED|ExchangeWalletUpdated|100467532_wallet_1705725452732|UNIFIED"))
        try expectWellFormed(e)
    }

    @Test func docsPrivateExamples() throws {
        var d = FrameDecoder(channel: .private)
        // Each file starts with the client's subscribe request, which is not a server frame.
        for name in ["ws_private_order.json", "ws_private_execution.json", "ws_private_position.json", "ws_private_wallet.json"] {
            let examples = try Fixtures.docsExamples(name)
            #expect(examples.count == 2)
            let request = d.decode(examples[0], receivedAt: receivedAt)
            #expect(request.control == nil && request.events.map(\.type) == ["UnparsedFrame"])
            let out = d.decode(examples[1], receivedAt: receivedAt)
            #expect(out.events.count == 1, "\(name)")
            for e in out.events { try expectWellFormed(e) }
        }
        let order = d.decode(try Fixtures.docsExamples("ws_private_order.json")[1], receivedAt: receivedAt).events[0]
        let o = try payload(ExchangeOrderUpdated.self, order)
        #expect(o.symbol == "ETH-30DEC22-1400-C" && o.category == "option" && o.cumFeeDetail == ["MNT": "0.00242968"])
        #expect(o.leavesQty == nil && o.rpiMatchedQty == 0 && o.rpiTakerAccess == false && o.avgPrice == 75)
        #expect(order.stream == "exchange.order-5cf98598-39a7-459e-97bf-76ca765ee020")

        let exec = d.decode(try Fixtures.docsExamples("ws_private_execution.json")[1], receivedAt: receivedAt).events[0]
        let x = try payload(ExchangeExecution.self, exec).execution
        #expect(x.execPnl == dec("0.05") && x.feeCurrency == "USDT" && x.extraFees?.count == 1)
        #expect(x.extraFees?[0].fee == dec("0.006403779") && x.extraFees?[0].feeRate == dec("0.0000675") && x.extraFees?[0].feeType == "GST")

        let pos = d.decode(try Fixtures.docsExamples("ws_private_position.json")[1], receivedAt: receivedAt).events[0]
        #expect(pos.type == "ExchangePositionUpdated" && pos.stream == "exchange.position-linear.BTCUSDT.2")
        let p = try payload(ExchangePositionUpdated.self, pos)
        #expect(p.side == nil && p.isFlat && p.size == 0 && p.entryPrice == 0 && p.leverage == 10)
        #expect(p.breakEvenPrice == dec("93556.73034991") && p.cumRealisedPnl == dec("-25.06579337") && p.bustPrice == nil)
        #expect(p.seq == 8_327_597_863 && p.updatedTime == 1_697_682_317_038 && p.positionStatus == "Normal")
        #expect(pos.exchangeTime == Timestamp(millisecondsSinceEpoch: 1_697_682_317_038))

        let wallet = d.decode(try Fixtures.docsExamples("ws_private_wallet.json")[1], receivedAt: receivedAt).events[0]
        let w = try payload(ExchangeWalletUpdated.self, wallet)
        #expect(w.coin[0].coin == "BTC" && w.coin[0].spotBorrow == 0 && w.coin[0].totalOrderIM == nil)
        #expect(w.coin[0].cumRealisedPnl == dec("-0.00000973") && w.totalAvailableBalance == dec("9556.6056555"))
    }

    @Test func positionSideNoneMeansFlatAndOpenPositionKeepsSide() throws {
        var d = FrameDecoder(channel: .private)
        func position(_ side: String, _ size: String) -> String {
            #"{"id":"x","topic":"position.linear","creationTime":1697682317044,"data":[{"positionIdx":0,"symbol":"ETHUSDT","side":"\#(side)","size":"\#(size)","entryPrice":"1850.50","updatedTime":"1697682317038","seq":12}]}"#
        }
        let flat = try payload(ExchangePositionUpdated.self, d.decode(position("None", "0")).events[0])
        #expect(flat.side == nil && flat.isFlat && flat.category == nil)
        let e = d.decode(position("Buy", "0.10")).events[0]
        #expect(e.stream == "exchange.position-linear.ETHUSDT.0")  // category from the topic
        let long = try payload(ExchangePositionUpdated.self, e)
        #expect(long.side == "Buy" && long.size == dec("0.1") && long.entryPrice == dec("1850.5") && !long.isFlat)
    }

    @Test func badPrivateItemsAreRecordedRaw() throws {
        var d = FrameDecoder(channel: .private)
        let noOrderID = d.decode(#"{"topic":"order","creationTime":1,"data":[{"symbol":"X","side":"Buy"}]}"#)
        #expect(try payload(UnparsedFrame.self, noOrderID.events[0]).reason == "order item without orderId")
        let badDecimal = d.decode(#"{"topic":"order","creationTime":1,"data":[{"orderId":"a","symbol":"X","side":"Buy","price":"1,5"}]}"#)
        #expect(try payload(UnparsedFrame.self, badDecimal.events[0]).reason.hasPrefix("price is not a decimal"))
        let notArray = d.decode(#"{"topic":"wallet","creationTime":1,"data":{"accountType":"UNIFIED"}}"#)
        #expect(notArray.events.map(\.type) == ["UnparsedFrame"])
        // Two items, the second bad: nothing from the frame but the raw record.
        let mixed = d.decode(#"{"topic":"order","creationTime":1,"data":[{"orderId":"a","symbol":"X","side":"Buy"},{"symbol":"X"}]}"#)
        #expect(mixed.events.map(\.type) == ["UnparsedFrame"])
        #expect(d.unparsableFrames == 4)
    }
}
