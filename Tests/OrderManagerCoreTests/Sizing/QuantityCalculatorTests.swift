import Bybit
import Foundation
import OrderManagerCore
import Testing

private func d(_ text: String) -> Decimal { SizingFixtures.dec(text) }

@Suite("QuantityCalculator: linear, rules from fixtures")
struct LinearSizingTests {
    @Test("fixture rules decode as expected")
    func rules() throws {
        let r = try SizingFixtures.linearBTC()
        #expect(r.quantityStep == d("0.001") && r.minOrderQty == d("0.001"))
        #expect(r.maxOrderQty == d("100") && r.maxMarketOrderQty == d("500") && r.minNotionalValue == d("5"))
        #expect(r.quotePrecision == nil && r.minOrderAmt == nil)
    }

    @Test("rounds down, never up (0.003846 → 0.003)", arguments: [RESTSide.buy, .sell])
    func roundsDown(side: RESTSide) throws {
        let sized = try #require(QuantityCalculator.size(
            amount: 100, side: side, orderType: .limit, price: 26_000, rules: try SizingFixtures.linearBTC()).sized)
        #expect(sized == SizedOrder(qty: d("0.003"), marketUnit: nil, notional: 78, price: 26_000))
    }

    @Test("an exact multiple stays exact")
    func exactMultiple() throws {
        let sized = try #require(QuantityCalculator.size(
            amount: 90, side: .buy, orderType: .market, price: 30_000, rules: try SizingFixtures.linearBTC()).sized)
        #expect(sized.qty == d("0.003") && sized.notional == 90 && sized.marketUnit == nil)
    }

    @Test("amount below one step → zero_quantity")
    func zeroQuantity() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: 20, side: .buy, orderType: .limit, price: 30_000, rules: try SizingFixtures.linearBTC()).refusal)
        #expect(refusal.code == "zero_quantity")
        #expect(refusal.figures["qty"] == "0" && refusal.figures["step"] == "0.001")
    }

    @Test("a price ≤ 0 → invalid_price")
    func invalidPrice() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: 100, side: .buy, orderType: .limit, price: 0, rules: try SizingFixtures.linearBTC()).refusal)
        #expect(refusal.code == "invalid_price")
    }

    @Test("qty below minOrderQty (min above the step)")
    func belowMinQty() throws {
        var rules = try SizingFixtures.linearBTC()
        rules.minOrderQty = d("0.005")
        let refusal = try #require(QuantityCalculator.size(
            amount: 120, side: .sell, orderType: .limit, price: 30_000, rules: rules).refusal)
        #expect(refusal.code == "below_min_qty")
        #expect(refusal.figures == ["amount": "120", "price": "30000", "qty": "0.004", "step": "0.001",
                                    "notional": "120", "min_qty": "0.005"])
    }

    @Test("notional below minNotionalValue")
    func belowMinNotional() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: d("4.5"), side: .buy, orderType: .limit, price: 4_000, rules: try SizingFixtures.linearBTC()).refusal)
        #expect(refusal.code == "below_min_notional")
        #expect(refusal.figures["qty"] == "0.001" && refusal.figures["notional"] == "4")
        #expect(refusal.figures["min_notional"] == "5")
        #expect(refusal.detail.contains("4") && refusal.detail.contains("5"))
        // Exactly the minimum passes.
        #expect(QuantityCalculator.size(amount: 5, side: .buy, orderType: .limit, price: 5_000,
                                        rules: try SizingFixtures.linearBTC()).sized?.notional == 5)
    }

    @Test("Limit max is maxOrderQty, Market max is maxMktOrderQty")
    func maxQty() throws {
        let rules = try SizingFixtures.linearBTC()
        let limit = try #require(QuantityCalculator.size(
            amount: 3_030_000, side: .buy, orderType: .limit, price: 30_000, rules: rules).refusal)
        #expect(limit.code == "above_max_qty" && limit.figures["max_qty"] == "100" && limit.figures["qty"] == "101")
        #expect(QuantityCalculator.size(amount: 3_030_000, side: .buy, orderType: .market, price: 30_000,
                                        rules: rules).sized?.qty == 101)
        #expect(QuantityCalculator.size(amount: 3_000_000, side: .buy, orderType: .limit, price: 30_000,
                                        rules: rules).sized?.qty == 100)
        let market = try #require(QuantityCalculator.size(
            amount: 15_030_000, side: .sell, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(market.code == "above_max_qty" && market.figures["max_qty"] == "500")
    }

    @Test("without maxMktOrderQty a market order uses maxOrderQty; no minNotionalValue → no check")
    func plainLinear() throws {
        let rules = try SizingFixtures.linearBTCPlain()
        #expect(rules.maxMarketOrderQty == nil && rules.minNotionalValue == nil)
        let refusal = try #require(QuantityCalculator.size(
            amount: 3_030_000, side: .buy, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(refusal.code == "above_max_qty" && refusal.figures["max_qty"] == "100")
        #expect(QuantityCalculator.size(amount: d("0.01"), side: .buy, orderType: .limit, price: 10,
                                        rules: rules).sized?.qty == d("0.001"))
    }
}

@Suite("QuantityCalculator: spot, rules from fixtures")
struct SpotSizingTests {
    @Test("fixture rules decode as expected")
    func rules() throws {
        let btc = try SizingFixtures.spotBTC()
        #expect(btc.quantityStep == d("0.000001") && btc.quotePrecision == d("0.00000001"))
        #expect(btc.minOrderQty == d("0.000048") && btc.maxOrderQty == d("399.9992"))
        #expect(btc.minOrderAmt == 1 && btc.maxOrderAmt == 2_000_000 && btc.minNotionalValue == nil)
        #expect(try SizingFixtures.spotETH().quantityStep == d("0.00001"))
    }

    @Test("limit buy: base qty rounded down to basePrecision")
    func limitBuy() throws {
        let sized = try #require(QuantityCalculator.size(
            amount: 100, side: .buy, orderType: .limit, price: d("29727.05"), rules: try SizingFixtures.spotBTC()).sized)
        #expect(sized == SizedOrder(qty: d("0.003363"), marketUnit: nil, notional: d("99.97206915"), price: d("29727.05")))
    }

    @Test("ETHUSDT basePrecision 0.00001: 0.0611781… → 0.06117")
    func ethStep() throws {
        let sized = try #require(QuantityCalculator.size(
            amount: 100, side: .sell, orderType: .market, price: d("1634.57"), rules: try SizingFixtures.spotETH()).sized)
        #expect(sized.qty == d("0.06117") && sized.notional == d("99.9866469") && sized.marketUnit == nil)
    }

    @Test("a step that is not a power of ten (0.25): 3.33 → 3.25, 3.5 stays")
    func oddStep() throws {
        var rules = try SizingFixtures.spotETH()
        rules.quantityStep = d("0.25")
        rules.minOrderQty = d("0.25")
        #expect(QuantityCalculator.size(amount: 100, side: .buy, orderType: .limit, price: 30, rules: rules).sized?.qty == d("3.25"))
        #expect(QuantityCalculator.size(amount: 105, side: .buy, orderType: .limit, price: 30, rules: rules).sized?.qty == d("3.5"))
    }

    @Test("exact multiple of basePrecision stays exact")
    func exactMultiple() throws {
        let sized = try #require(QuantityCalculator.size(
            amount: d("3.9"), side: .sell, orderType: .limit, price: 30_000, rules: try SizingFixtures.spotBTC()).sized)
        #expect(sized.qty == d("0.00013") && sized.notional == d("3.9"))
    }

    @Test("market buy: quote qty rounded down to quotePrecision, marketUnit quoteCoin")
    func marketBuy() throws {
        let sized = try #require(QuantityCalculator.size(
            amount: d("100.123456789"), side: .buy, orderType: .market, price: 30_000, rules: try SizingFixtures.spotBTC()).sized)
        #expect(sized == SizedOrder(qty: d("100.12345678"), marketUnit: .quoteCoin, notional: d("100.12345678"), price: 30_000))
    }

    @Test("market buy without quotePrecision is not rounded")
    func marketBuyNoQuotePrecision() throws {
        var rules = try SizingFixtures.spotBTC()
        rules.quotePrecision = nil
        let sized = try #require(QuantityCalculator.size(
            amount: d("100.123456789"), side: .buy, orderType: .market, price: 30_000, rules: rules).sized)
        #expect(sized.qty == d("100.123456789") && sized.marketUnit == .quoteCoin)
    }

    @Test("market buy checks minOrderAmt and maxOrderAmt on the quote qty, not base qty limits")
    func marketBuyLimits() throws {
        let rules = try SizingFixtures.spotBTC()
        let low = try #require(QuantityCalculator.size(amount: d("0.5"), side: .buy, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(low.code == "below_min_order_amt" && low.figures["qty"] == "0.5" && low.figures["min_order_amt"] == "1")
        let high = try #require(QuantityCalculator.size(amount: 2_000_001, side: .buy, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(high.code == "above_max_order_amt" && high.figures["max_order_amt"] == "2000000")
        // 1 USDT is 0.0000333 BTC, below minOrderQty, but a quote-coin buy is not checked in base.
        #expect(QuantityCalculator.size(amount: 1, side: .buy, orderType: .market, price: 30_000, rules: rules).sized?.qty == 1)
        let zero = try #require(QuantityCalculator.size(amount: d("0.000000001"), side: .buy, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(zero.code == "zero_quantity")
    }

    @Test("market sell is in base coin with the base checks")
    func marketSell() throws {
        let rules = try SizingFixtures.spotBTC()
        let sized = try #require(QuantityCalculator.size(amount: 100, side: .sell, orderType: .market, price: 30_000, rules: rules).sized)
        #expect(sized.qty == d("0.003333") && sized.marketUnit == nil && sized.notional == d("99.99"))
    }

    @Test("below minOrderQty")
    func belowMinQty() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: d("1.2"), side: .buy, orderType: .limit, price: 30_000, rules: try SizingFixtures.spotBTC()).refusal)
        #expect(refusal.code == "below_min_qty" && refusal.figures["qty"] == "0.00004" && refusal.figures["min_qty"] == "0.000048")
    }

    @Test("base order below minOrderAmt")
    func belowMinOrderAmt() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: d("0.9"), side: .sell, orderType: .limit, price: 1_000, rules: try SizingFixtures.spotETH()).refusal)
        #expect(refusal.code == "below_min_order_amt")
        #expect(refusal.figures["qty"] == "0.0009" && refusal.figures["notional"] == "0.9" && refusal.figures["min_order_amt"] == "1")
    }

    @Test("above max qty, and above maxOrderAmt")
    func aboveMax() throws {
        let rules = try SizingFixtures.spotBTC()
        let qty = try #require(QuantityCalculator.size(amount: 12_000_000, side: .buy, orderType: .limit, price: 30_000, rules: rules).refusal)
        #expect(qty.code == "above_max_qty" && qty.figures["qty"] == "400" && qty.figures["max_qty"] == "399.9992")
        let amt = try #require(QuantityCalculator.size(amount: 3_000_000, side: .sell, orderType: .market, price: 30_000, rules: rules).refusal)
        #expect(amt.code == "above_max_order_amt" && amt.figures["notional"] == "3000000")
    }

    @Test("refusals round-trip through JSON")
    func codable() throws {
        let refusal = try #require(QuantityCalculator.size(
            amount: d("1.2"), side: .buy, orderType: .limit, price: 30_000, rules: try SizingFixtures.spotBTC()).refusal)
        let back = try JSONDecoder().decode(SizingRefusal.self, from: try JSONEncoder().encode(refusal))
        #expect(back == refusal)
    }
}
