import Bybit
import Foundation
@testable import OrderManagerCore
import Testing
import TradelogCore

/// The hand-written encoders of the order manager's events give exactly the bytes of
/// `CanonicalJSON.encoder`, with every optional member present and absent.
@Suite("Order manager event encoders")
struct OrderEncodingTests {
    static func dec(_ s: String) -> Decimal { Decimal(string: s)! }

    func expectSameBytes<P: CanonicalDataEncodable>(_ payload: P) throws {
        let fast = try #require(payload.canonicalData())
        let reference = Array(try CanonicalJSON.encoder.encode(payload))
        #expect(String(decoding: fast, as: UTF8.self) == String(decoding: reference, as: UTF8.self))
        #expect(try CanonicalJSON.data(payload) == reference)
    }

    @Test(arguments: [true, false])
    func lifecycleChanged(full: Bool) throws {
        try expectSameBytes(OrderLifecycleChanged(
            orderLinkId: "tl-\"q\"/é", orderId: full ? "1f2e" : nil, signalID: full ? "sig-1" : nil,
            strategyID: full ? "alpha" : nil, traceID: full ? "trace\n1" : nil, category: .linear, symbol: "BTCUSDT",
            side: .sell, orderType: .limit, status: .partiallyFilled, previousStatus: full ? .new : nil, cause: "ExchangeExecution",
            reason: full ? "unfilled_timeout" : nil, requestedAmount: full ? Self.dec("100.50") : nil, requestedQty: Self.dec("0.010"),
            price: full ? Self.dec("65000.1") : nil, executedQty: Self.dec("0.004"), averagePrice: full ? Decimal(1) / Decimal(3) : nil,
            fees: Self.dec("-0.0001"), feeCurrency: full ? "USDT" : nil, slippageBps: full ? Self.dec("-1.25") : nil,
            latencyToAckMs: full ? 12 : nil, latencyToFillMs: full ? 1_234 : nil))
    }

    @Test(arguments: [(true, true), (true, false), (false, false)])
    func executed(full: Bool, maker: Bool) throws {
        try expectSameBytes(OrderExecuted(
            orderLinkId: "tl-1", orderId: full ? "1f2e" : nil, execId: "e\\1", signalID: full ? "sig-1" : nil,
            strategyID: full ? "alpha" : nil, traceID: full ? "t" : nil, category: .spot, symbol: "ETHUSDT", side: .buy,
            execQty: Self.dec("0.5"), execPrice: Self.dec("3500.01"), execFee: Self.dec("0.00035"),
            feeCurrency: full ? "ETH" : nil, isMaker: full ? maker : nil, execTime: full ? 1_767_225_600_123 : nil,
            executedQty: Self.dec("1e1"), averagePrice: full ? Self.dec("3500.005") : nil,
            slippageBps: full ? 0 : nil, latencyToFillMs: full ? 5 : nil))
    }

    @Test(arguments: [true, false])
    func requested(full: Bool) throws {
        try expectSameBytes(OrderRequested(
            orderLinkId: "tl-\"1\"", signalID: "sig/1", strategyID: "alpha", traceID: full ? "t\u{1}" : nil, leg: full ? 2 : 0,
            category: .linear, symbol: "BTCUSDT", side: .buy, orderType: full ? .limit : .market, timeInForce: full ? .postOnly : .ioc,
            qty: Self.dec("0.001"), price: full ? Self.dec("65000.50") : nil, marketUnit: full ? .quoteCoin : nil,
            reduceOnly: full ? false : nil, requestedAmount: Self.dec("100"), referencePrice: Decimal(1) / Decimal(7),
            snapshotPrice: full ? Self.dec("-0.0") : nil, signalReceivedAt: full ? Timestamp(microsecondsSinceEpoch: 1_767_225_600_123_456) : nil,
            reason: "new position é"))
    }

    @Test(arguments: [0, 1, 3])
    func decided(steps: Int) throws {
        let all: [OrderDecided.Step] = [
            .init(action: .cancel, orderLinkId: "tl-a", reason: "opposite side"),
            .init(action: .amend, orderLinkId: "tl-b", reason: "same side \"resting\""),
            .init(action: .create, orderLinkId: "tl-c", reason: "new"),
        ]
        // The risk manager's figures, as it names them.
        let figures = ["order_notional": "100.5", "max_order_notional": "1000", "position_notional_after": "100.5",
                       "max_position_notional": "5000", "gross_exposure_after": "100.5", "max_gross_exposure": "10000",
                       "open_orders": "1", "max_open_orders": "5", "balance_coin": "USDT", "margin": "10.05",
                       "min_free_balance": "0", "price": "65000.5", "free_balance": "999.5"]
        try expectSameBytes(OrderDecided(
            signalID: "sig-1", strategyID: "alpha", asset: "BTC", category: .spot, side: .sell, orderType: .limit,
            orderTypeReason: "spread \u{7f} wide", referencePrice: Self.dec("65000.5"), referenceSource: .ticker,
            qty: Self.dec("0.0015"), notional: Decimal(2) / Decimal(3), steps: Array(all.prefix(steps)),
            riskFigures: steps == 0 ? [:] : figures, basisPosition: 123_456))
    }

    @Test("risk figures in JSONEncoder's order whatever their names: digits, underscores, capitals, non-ASCII")
    func decidedFigureOrder() throws {
        func decided(_ figures: [String: String]) -> OrderDecided {
            OrderDecided(signalID: "s", strategyID: "a", asset: "BTC", category: .spot, side: .buy, orderType: .market,
                         orderTypeReason: "r", referencePrice: 1, referenceSource: .ticker, qty: 1, notional: 1, steps: [],
                         riskFigures: figures, basisPosition: 0)
        }
        try expectSameBytes(decided(["a_b": "1", "ab": "2", "a-b": "3", "a.b": "4", "aB": "5"]))
        try expectSameBytes(decided(["x9": "1", "x10": "2", "Ab": "3", "aa": "4", "B": "5"]))
        try expectSameBytes(decided(["é": "1", "f": "2", "e\u{301}z": "3", "price": "4", "prices": "5"]))
    }

    @Test("a NaN decimal has no JSON text: the hand encoder declines")
    func nanDeclines() {
        let e = OrderExecuted(orderLinkId: "tl-1", execId: "e", category: .spot, symbol: "ETHUSDT", side: .buy,
                              execQty: .nan, execPrice: 1, execFee: 0, executedQty: 1)
        #expect(e.canonicalData() == nil)
    }
}
