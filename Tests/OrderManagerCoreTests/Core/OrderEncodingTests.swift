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

    @Test("a NaN decimal has no JSON text: the hand encoder declines")
    func nanDeclines() {
        let e = OrderExecuted(orderLinkId: "tl-1", execId: "e", category: .spot, symbol: "ETHUSDT", side: .buy,
                              execQty: .nan, execPrice: 1, execFee: 0, executedQty: 1)
        #expect(e.canonicalData() == nil)
    }
}
