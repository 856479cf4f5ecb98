import Bybit
import Foundation
import OrderManagerCore
import Testing

private func d(_ text: String) -> Decimal { SizingFixtures.dec(text) }

@Suite("OrderTypeSelector")
struct OrderTypeSelectorTests {
    let thresholds = OrderTypeThresholds()
    let book = BidAsk(bid: d("100.00"), ask: d("100.10"))
    let ticker = BidAsk(bid: d("99.90"), ask: d("100.20"))

    /// A call with calm defaults: low confidence, low volatility, wide spread.
    func select(_ side: RESTSide = .buy, confidence: String = "0.5", volatility: String? = "0.01", spread: String? = "10",
                book: BidAsk?? = .none, ticker: BidAsk?? = .none, tick: String = "0.01") -> OrderTypeDecision {
        OrderTypeSelector.select(side: side, confidence: d(confidence), volatility: volatility.map(d), spreadBps: spread.map(d),
                                 book: book ?? self.book, ticker: ticker ?? self.ticker, tickSize: d(tick), thresholds: thresholds)
    }

    @Test("default thresholds are exact decimals")
    func defaults() {
        #expect(thresholds == OrderTypeThresholds(marketConfidence: d("0.8"), marketVolatility: d("0.03"), tightSpreadBps: 2))
        #expect("\(thresholds.marketConfidence)" == "0.8" && "\(thresholds.marketVolatility)" == "0.03")
    }

    @Test("calm market → PostOnly limit at the near touch: buy at the bid, sell at the ask")
    func passiveLimit() {
        #expect(select(.buy) == OrderTypeDecision(orderType: .limit, timeInForce: .postOnly, price: d("100.00"), reason: "passive_limit"))
        #expect(select(.sell) == OrderTypeDecision(orderType: .limit, timeInForce: .postOnly, price: d("100.10"), reason: "passive_limit"))
    }

    @Test("the book is preferred over the ticker; the ticker fills a missing book side")
    func bookOverTicker() {
        #expect(select(.buy, book: .some(nil)).price == d("99.90"))
        #expect(select(.sell, book: .some(nil)).price == d("100.20"))
        #expect(select(.buy, book: BidAsk(bid: nil, ask: d("100.10"))).price == d("99.90"))
        #expect(select(.sell, book: BidAsk(bid: d("100.00"), ask: nil)).price == d("100.20"))
    }

    @Test("no near touch in book nor ticker → Market no_quote, before every other rule")
    func noQuote() {
        let market = OrderTypeDecision(orderType: .market, timeInForce: .ioc, price: nil, reason: "no_quote")
        #expect(select(.buy, book: .some(nil), ticker: .some(nil)) == market)
        #expect(select(.buy, book: BidAsk(bid: nil, ask: 100), ticker: BidAsk(bid: 0, ask: 100)) == market)
        #expect(select(.sell, book: BidAsk(bid: 100, ask: nil), ticker: .some(nil)) == market)
        #expect(select(.buy, confidence: "0.99", volatility: "0.5", spread: "0", book: .some(nil), ticker: .some(nil)) == market)
    }

    @Test("confidence ≥ marketConfidence → Market high_confidence, before volatility and spread")
    func highConfidence() {
        #expect(select(confidence: "0.8") == .market("high_confidence"))
        #expect(select(.sell, confidence: "0.9", volatility: "0.5", spread: "1") == .market("high_confidence"))
        #expect(select(confidence: "0.79").reason == "passive_limit")
        #expect(select(confidence: "0.8").timeInForce == .ioc && select(confidence: "0.8").price == nil)
    }

    @Test("volatility ≥ marketVolatility → Market high_volatility, before spread")
    func highVolatility() {
        #expect(select(volatility: "0.03") == .market("high_volatility"))
        #expect(select(volatility: "0.05", spread: "1") == .market("high_volatility"))
        #expect(select(volatility: "0.0299").reason == "passive_limit")
        #expect(select(volatility: nil).reason == "passive_limit")
    }

    @Test("spread ≤ tightSpreadBps → Market tight_spread")
    func tightSpread() {
        #expect(select(spread: "2") == .market("tight_spread"))
        #expect(select(spread: "0.5") == .market("tight_spread"))
        #expect(select(spread: "2.01").reason == "passive_limit")
        #expect(select(spread: nil).reason == "passive_limit")
    }

    @Test("custom thresholds apply")
    func custom() {
        let t = OrderTypeThresholds(marketConfidence: d("0.95"), marketVolatility: 1, tightSpreadBps: 20)
        let r = OrderTypeSelector.select(side: .buy, confidence: d("0.9"), volatility: d("0.5"), spreadBps: 10,
                                         book: book, ticker: nil, tickSize: d("0.01"), thresholds: t)
        #expect(r.reason == "tight_spread")
    }

    @Test("an off-tick touch is rounded away from crossing: buy down, sell up")
    func tickRounding() {
        let off = BidAsk(bid: d("100.07"), ask: d("100.13"))
        #expect(select(.buy, book: off, tick: "0.05").price == d("100.05"))
        #expect(select(.sell, book: off, tick: "0.05").price == d("100.15"))
    }
}
