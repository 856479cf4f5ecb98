import Bybit
import Foundation
import OrderManagerCore
import PositionManagerCore
import Testing
import TradelogCore

/// Bybit's own private frames (Fixtures/MANIFEST.md) folded to the figures Bybit reported.
@Suite("Position manager: Bybit's private frames")
struct PositionFixtureTests {
    @Test("a testnet fill: size, entry, the reported fee, and unrealized PnL at the fill's mark")
    func testnetFill() throws {
        var log = PMLog()
        log.frame(try PMLog.fixture("ws_private_execution_linear_testnet_2024.json"), at: 0)
        let v = try #require(log.state.view(PositionKey(category: "linear", symbol: "BTCUSDT")))
        #expect(v.side == "Buy" && v.size == num("0.001") && v.averageEntryPrice == num("41553.9"))
        #expect(v.fees == num("0.02285465"))
        // Bybit's realized PnL after an opening fill is minus its fee.
        #expect(v.realizedPnl == num("-0.02285465"))
        #expect(v.markPrice == num("41547.63"))
        #expect(v.unrealizedPnl == num("-0.00627"))
        let u = try #require(log.last(PositionUpdated.self))
        #expect(u.reason == "fill" && u.position == v && u.version == 1)
        #expect(u.time == Timestamp(millisecondsSinceEpoch: 1_705_761_437_503))
    }

    @Test("a closing fill realizes Bybit's execPnl; its GST joins the fee")
    func closingFill() throws {
        var log = PMLog()
        // The docs' example closes a 0.5 BTC long with execPnl 0.05 at 95 900.1: the long was opened at 95 900.0.
        log.execution("Buy", "0.5", at: "95900.0", ms: -1000)
        let frames = try JSONSerialization.jsonObject(with: Data(try PMLog.fixture("docs_ws_private_execution.json").utf8)) as! [Any]
        let close = String(decoding: try JSONSerialization.data(withJSONObject: frames[1]), as: UTF8.self)
        log.frame(close, at: 0)
        let v = try #require(log.state.view(PositionKey(category: "linear", symbol: "BTCUSDT")))
        #expect(v.side == "None" && v.size == 0 && v.averageEntryPrice == nil)
        #expect(v.closedPnl == num("0.05"))
        #expect(v.fees == num("26.3725275") + num("0.006403779"))
        #expect(v.realizedPnl == num("0.05") - v.fees)
    }

    @Test("a flat hedge-mode position frame: the exchange's figures beside ours, no discrepancy")
    func flatPositionFrame() throws {
        var log = PMLog()
        let frames = try JSONSerialization.jsonObject(with: Data(try PMLog.fixture("docs_ws_private_position.json").utf8)) as! [Any]
        log.frame(String(decoding: try JSONSerialization.data(withJSONObject: frames[1]), as: UTF8.self), at: 0)
        let v = try #require(log.state.view(PositionKey(category: "linear", symbol: "BTCUSDT", positionIdx: 2)))
        #expect(v.exchange?.signedSize == 0 && v.exchange?.cumRealisedPnl == num("-25.06579337"))
        #expect(v.leverage == 10 && v.liquidationPrice == nil)
        #expect(!v.discrepancy && log.all(PositionDiscrepancy.self).isEmpty)
    }

    @Test("the testnet wallet: balance, the exchange's equity, and equity per coin with our unrealized PnL")
    func wallet() throws {
        var log = PMLog()
        log.frame(try PMLog.fixture("ws_private_wallet_testnet_2024.json"), at: 0)
        let p = try #require(log.last(PortfolioUpdated.self)).portfolio
        #expect(p.accountType == "UNIFIED")
        #expect(p.walletBalance == num("10248.69855009") && p.exchangeEquity == num("9593.08110909"))
        #expect(p.equity == p.walletBalance)
        #expect(p.coins.map(\.coin) == ["USDC", "USDT"])
        #expect(p.coins[1].walletBalance == num("10253.85623978"))
        // A linear USDT position marked by us adds its unrealized PnL to the USDT equity.
        log.execution("Buy", "0.001", at: "41553.9", ms: 2000)
        log.ticker(mark: "41600", ms: 4000)
        let q = try #require(log.last(PortfolioUpdated.self)).portfolio
        #expect(q.unrealizedPnl == num("0.0461"))
        #expect(q.coins[1].equity == num("10253.85623978") + num("0.0461"))
        #expect(q.equity == num("10248.69855009") + num("0.0461"))
    }

    @Test("the testnet reduce-only close's order frame names no position change by itself")
    func orderFrameAlone() throws {
        var log = PMLog()
        log.frame(try PMLog.fixture("ws_private_order_linear_market_close_testnet_2024.json"), at: 0)
        #expect(log.state.keys.isEmpty && log.derived.isEmpty)
    }
}
