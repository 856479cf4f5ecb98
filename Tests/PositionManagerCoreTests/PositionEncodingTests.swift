import Foundation
import Testing
import TradelogCore
@testable import PositionManagerCore

/// The hand-written encoders of the position manager's events give exactly the bytes of
/// `CanonicalJSON.encoder`, for every optional member present or absent.
@Suite("Position manager event encoders")
struct PositionEncodingTests {
    static func dec(_ s: String) -> Decimal { Decimal(string: s)! }

    static func share(_ id: String, full: Bool) -> StrategyShare {
        StrategyShare(strategyID: id, signedSize: dec("-0.010"), averageEntryPrice: full ? dec("65000.5") : nil,
                      realizedPnl: dec("12.345"), unrealizedPnl: dec("-3.2"), fees: dec("0.0390"), funding: 0, fills: 3)
    }

    static func figures(full: Bool) -> ExchangePositionFigures {
        ExchangePositionFigures(side: "Sell", signedSize: dec("-0.01"), entryPrice: full ? dec("65000") : nil,
                                markPrice: full ? dec("64990.1") : nil, unrealisedPnl: full ? dec("0.099") : nil,
                                cumRealisedPnl: full ? dec("-1.5") : nil, liqPrice: full ? dec("99999.9") : nil,
                                leverage: full ? 10 : nil, seq: full ? 123_456_789 : nil,
                                updatedTime: full ? Timestamp(microsecondsSinceEpoch: 1_767_225_600_123_000) : nil)
    }

    static func position(full: Bool, exchange: Bool) -> PositionView {
        PositionView(category: "linear", symbol: "BTCUSDT", positionIdx: 0, side: "Sell", size: dec("0.010"),
                     signedSize: dec("-0.010"), averageEntryPrice: full ? dec("65000.50") : nil,
                     markPrice: full ? dec("64990.1") : nil, unrealizedPnl: dec("0.104"), realizedPnl: dec("-1.2345678901234567890123"),
                     closedPnl: dec("2"), fees: dec("0.039"), funding: dec("-0.0001"), totalPnl: Decimal(1) / Decimal(3),
                     notional: dec("649.901"), quoteCoin: "USDT", leverage: full ? 10 : nil,
                     liquidationPrice: full ? dec("1e5") : nil, exchange: exchange ? figures(full: full) : nil,
                     discrepancy: full, fills: 7, strategies: full ? [share("alpha", full: true), share("b\"eta/é", full: false)] : [])
    }

    static func portfolio(full: Bool) -> PortfolioView {
        PortfolioView(accountType: full ? "UNIFIED" : nil, walletBalance: full ? dec("10000.25") : nil,
                      equity: full ? dec("10000.354") : nil, exchangeEquity: full ? dec("10000.3") : nil,
                      unrealizedPnl: dec("0.104"), spotUnrealizedPnl: 0, realizedPnl: dec("-1.5"), fees: dec("0.039"),
                      funding: 0, totalPnl: dec("-1.435"), grossExposure: dec("649.901"), netExposure: dec("-649.901"),
                      openPositions: full ? 1 : 0, unconverted: full ? ["linear.ETHBTC.0"] : [],
                      coins: full ? [CoinView(coin: "USDT", walletBalance: dec("10000.25"), equity: dec("10000.354"))] : [],
                      strategies: full ? [StrategyPnL(strategyID: "alpha", realizedPnl: 1, unrealizedPnl: dec("0.1"), fees: 0,
                                                      funding: dec("-0.01"), totalPnl: dec("1.09"), fills: 2)] : [])
    }

    func expectSameBytes<P: CanonicalDataEncodable>(_ payload: P) throws {
        let fast = try #require(payload.canonicalData())
        let reference = Array(try CanonicalJSON.encoder.encode(payload))
        #expect(String(decoding: fast, as: UTF8.self) == String(decoding: reference, as: UTF8.self))
        #expect(try CanonicalJSON.data(payload) == reference)
    }

    @Test(arguments: [(true, true), (true, false), (false, true), (false, false)])
    func positionUpdated(full: Bool, exchange: Bool) throws {
        try expectSameBytes(PositionUpdated(reason: "fill", time: Timestamp(microsecondsSinceEpoch: 1_767_225_600_000_001),
                                            version: 4, position: Self.position(full: full, exchange: exchange)))
    }

    @Test(arguments: [true, false])
    func portfolioUpdated(full: Bool) throws {
        try expectSameBytes(PortfolioUpdated(time: Timestamp(microsecondsSinceEpoch: 5), version: 2, portfolio: Self.portfolio(full: full)))
    }

    @Test(arguments: [true, false])
    func snapshot(full: Bool) throws {
        let positions = full ? [Self.position(full: true, exchange: true), Self.position(full: false, exchange: false)] : []
        try expectSameBytes(PositionSnapshotCreated(snapshotID: "t1000", trigger: "interval", time: Timestamp(microsecondsSinceEpoch: 1000),
                                                    positions: positions, portfolio: Self.portfolio(full: full)))
    }

    /// NaN has no JSON text: the hand-written encoder declines and the data is what
    /// `JSONEncoder` makes of it, as before it existed.
    @Test func aNaNFigureFallsBackToTheEncoder() throws {
        var view = Self.position(full: true, exchange: true)
        view.totalPnl = .nan
        let payload = PositionUpdated(reason: "mark", time: Timestamp(microsecondsSinceEpoch: 1), version: 1, position: view)
        #expect(payload.canonicalData() == nil)
        #expect(try CanonicalJSON.data(payload) == Array(try CanonicalJSON.encoder.encode(payload)))
    }
}
