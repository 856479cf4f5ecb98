import Bybit
import Foundation
import OrderManagerCore
import PositionManagerCore
import Testing
import TradelogCore

@Suite("Position manager fold")
struct PositionManagerStateTests {
    let btc = PositionKey(category: "linear", symbol: "BTCUSDT")

    @Test("a Funding execution changes PnL, not size, and is never a fill")
    func funding() throws {
        var log = PMLog()
        log.execution("Buy", "2", at: "100", fee: "0.11")
        let before = try #require(log.state.view(btc))
        log.execution("Buy", "2", at: "101", fee: "0.25", execType: "Funding", ms: 1000)
        let v = try #require(log.state.view(btc))
        #expect(v.signedSize == before.signedSize && v.averageEntryPrice == before.averageEntryPrice && v.fills == 1)
        #expect(v.funding == num("0.25") && v.fees == num("0.11"))
        #expect(v.realizedPnl == before.realizedPnl - num("0.25"))
        #expect(log.last(PositionUpdated.self)?.reason == "funding")
        // Received funding (negative) raises PnL.
        log.execution("Buy", "2", at: "101", fee: "-0.05", execType: "Funding", ms: 2000)
        #expect(log.state.view(btc)!.funding == num("0.2"))
        // The same execution again (a sync's REST copy) is folded once.
        log.execution("Buy", "2", at: "101", fee: "-0.05", execType: "Funding", ms: 2500, execId: "exec-3")
        #expect(log.state.view(btc)!.funding == num("0.2"))
    }

    @Test("funding is shared by the strategies in proportion to their sizes")
    func fundingShares() throws {
        var log = PMLog()
        try log.order(link: "a", strategy: "alpha", signal: "s1")
        try log.order(link: "b", strategy: "beta", signal: "s2")
        log.execution("Buy", "3", at: "100", link: "a")
        log.execution("Buy", "1", at: "100", link: "b")
        log.execution("Buy", "4", at: "100", fee: "0.4", execType: "Funding", ms: 10)
        let v = try #require(log.state.view(btc))
        #expect(v.strategies.map(\.strategyID) == ["alpha", "beta"])
        #expect(v.strategies.map(\.funding) == [num("0.3"), num("0.1")])
    }

    @Test("fills are attributed to the strategy of the signal that caused the order; others are external")
    func attribution() throws {
        var log = PMLog()
        try log.order(link: "sig1-0", strategy: "momentum", signal: "sig1")
        let out = log.execution("Buy", "1", at: "100", fee: "0.05", link: "sig1-0")
        log.execution("Sell", "0.4", at: "110", fee: "0.02", link: "manual-1", ms: 10)
        log.ticker(mark: "120", ms: 2000)
        let v = try #require(log.state.view(btc))
        let m = try #require(v.strategies.first { $0.strategyID == "momentum" })
        let x = try #require(v.strategies.first { $0.strategyID == PositionManagerState.external })
        #expect(m.signedSize == 1 && m.unrealizedPnl == 20 && m.realizedPnl == num("-0.05"))
        #expect(x.signedSize == num("-0.4") && x.unrealizedPnl == -4 && x.realizedPnl == num("-0.02"))
        // The fill's PositionUpdated carries the signal as correlation and its trace.
        let fill = try #require(out.first { $0.event.type == PositionUpdated.eventType })
        #expect(fill.event.metadata.correlationID == "sig1" && fill.event.metadata.traceID == "trace-sig1")
        let p = log.state.portfolio
        #expect(p.strategies.map(\.strategyID) == ["external", "momentum"])
        #expect(p.strategies[1].totalPnl == 20 - num("0.05"))
    }

    @Test("the exchange's frame differing beyond the step is a discrepancy after the grace; our fill catching up resolves it")
    func discrepancyMatched() throws {
        var config = PMLog.testConfig
        config.discrepancyGraceMs = 2000
        var log = PMLog(config: config)
        try log.record(InstrumentsLoaded(category: .linear, instruments: [PMLog.btcRules]), at: 0)
        log.execution("Buy", "0.002", at: "50000", ms: 100)
        // The frame after two fills arrives before our second execution.
        log.exchangePosition("Buy", "0.003", entry: "50000", liq: "45000", ms: 200)
        #expect(log.all(PositionDiscrepancy.self).isEmpty)
        #expect(log.state.view(btc)!.liquidationPrice == 45000)
        // Within half a step is noise; beyond it and past the grace, a discrepancy.
        log.ticker(mark: "50010", ms: 1000)
        #expect(log.all(PositionDiscrepancy.self).isEmpty)
        log.ticker(mark: "50020", ms: 2300)
        let d = try #require(log.last(PositionDiscrepancy.self))
        #expect(d.field == "size" && d.ourSignedSize == num("0.002") && d.exchangeSignedSize == num("0.003"))
        #expect(d.quantityStep == num("0.001") && d.since == PMLog.at(200) && d.time == PMLog.at(2300))
        #expect(log.state.view(btc)!.discrepancy && log.state.openDiscrepancies == [btc])
        // Only once.
        log.ticker(mark: "50030", ms: 5000)
        #expect(log.all(PositionDiscrepancy.self).count == 1)
        log.execution("Buy", "0.001", at: "50000", ms: 5100)
        let r = try #require(log.last(PositionDiscrepancyResolved.self))
        #expect(r.resolution == "matched" && r.ourSignedSize == num("0.003"))
        #expect(!log.state.view(btc)!.discrepancy)
    }

    @Test("a sync adopts the exchange's figures; a position the sync does not list is flat at the exchange")
    func discrepancyResolvedBySync() throws {
        var log = PMLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [PMLog.btcRules]), at: 0)
        log.execution("Buy", "0.005", at: "50000", ms: 100)
        log.exchangePosition("Buy", "0.004", entry: "49900", ms: 200)
        #expect(log.last(PositionDiscrepancy.self)?.exchangeSignedSize == num("0.004"))
        log.execution("Sell", "1", at: "3000", symbol: "ETHUSDT", ms: 300)
        // The sync lists BTCUSDT (its REST frame came just before) and not ETHUSDT.
        log.exchangePosition("Buy", "0.004", entry: "49900", ms: 400)
        try log.record(PositionSyncCompleted(syncID: "s1", trigger: "discrepancy", categories: ["linear"],
                                             positions: ["linear.BTCUSDT.0"], executionsFetched: 0), at: 500)
        let resolved = log.all(PositionDiscrepancyResolved.self)
        #expect(resolved.map(\.symbol) == ["BTCUSDT", "ETHUSDT"])
        #expect(resolved.allSatisfy { $0.resolution == "adopted_exchange" && $0.syncID == "s1" })
        let b = try #require(log.state.view(btc))
        #expect(b.signedSize == num("0.004") && b.averageEntryPrice == num("49900") && !b.discrepancy)
        let e = try #require(log.state.view(PositionKey(category: "linear", symbol: "ETHUSDT")))
        #expect(e.signedSize == 0 && !e.discrepancy)
        // The difference is booked to the external share, so the shares still sum to the position.
        #expect(b.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == b.signedSize)
        #expect(log.state.openDiscrepancies.isEmpty)
        #expect(log.all(PositionUpdated.self).suffix(2).map(\.reason) == ["sync", "sync"])
    }

    @Test("a fill the adopted exchange position already held, folded after the sync, does not count twice")
    func lateFillAfterAdoption() throws {
        var log = PMLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [PMLog.btcRules]), at: 0)
        try log.order(link: "l-1", strategy: "momentum", signal: "s-1")
        log.execution("Buy", "0.002", at: "50000", link: "l-1", ms: 100, seq: 10)
        // The exchange holds a second fill (seq 12) whose WebSocket copy is late; a sync adopts it.
        log.exchangePosition("Buy", "0.003", entry: "50100", ms: 200, seq: 12)
        try log.record(PositionSyncCompleted(syncID: "s1", trigger: "discrepancy", categories: ["linear"],
                                             positions: ["linear.BTCUSDT.0"], executionsFetched: 0), at: 300)
        #expect(log.state.view(btc)!.signedSize == num("0.003"))
        // The late copy: the size stays; the fill moves from the external share to its strategy.
        log.execution("Buy", "0.001", at: "50300", fee: "0.03", link: "l-1", ms: 400, seq: 12)
        var v = try #require(log.state.view(btc))
        #expect(v.signedSize == num("0.003") && v.averageEntryPrice == 50100 && v.fees == num("0.03") && v.fills == 2)
        #expect(v.strategies.map(\.strategyID) == [PositionManagerState.external, "momentum"])
        #expect(v.strategies.map(\.signedSize) == [0, num("0.003")])
        // The external share gives it back at its own entry: it realizes nothing.
        #expect(v.strategies[0].realizedPnl == 0)
        #expect(log.all(PositionDiscrepancy.self).count == 1 && !v.discrepancy)
        // A newer fill counts; one without a sequence counts by its time against the position's update.
        log.execution("Buy", "0.001", at: "50000", link: "l-1", ms: 500, seq: 13)
        log.execution("Buy", "0.001", at: "50000", link: "l-1", ms: 150)
        v = try #require(log.state.view(btc))
        #expect(v.signedSize == num("0.004") && v.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == v.signedSize)
        log.execution("Buy", "0.001", at: "50000", link: "l-1", ms: 600)
        #expect(log.state.view(btc)!.signedSize == num("0.005"))
    }

    @Test("a late closing fill the adopted exchange position held: its realized PnL counts, the external share realizes nothing")
    func lateClosingFillAfterAdoption() throws {
        var log = PMLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [PMLog.btcRules]), at: 0)
        try log.order(link: "l-1", strategy: "alpha", signal: "s-1")
        log.execution("Buy", "2", at: "100", link: "l-1", ms: 100, seq: 1)
        // alpha's sell of 1 at 110 is missed; the sync adopts the exchange's 1 at 100.
        log.exchangePosition("Buy", "1", entry: "100", ms: 200, seq: 2)
        try log.record(PositionSyncCompleted(syncID: "s1", trigger: "discrepancy", categories: ["linear"],
                                             positions: ["linear.BTCUSDT.0"], executionsFetched: 0), at: 300)
        log.frame("""
            {"topic":"execution","id":"f-late","creationTime":\(PMLog.t0Ms + 400),"data":[{"category":"linear","symbol":"BTCUSDT",\
            "execId":"late","execType":"Trade","execPrice":"110","execQty":"1","execFee":"0","execPnl":"10","feeCurrency":"USDT",\
            "orderId":"o-late","orderLinkId":"l-1","side":"Sell","execTime":"\(PMLog.t0Ms + 150)","seq":2}]}
            """, at: 400)
        let v = try #require(log.state.view(btc))
        #expect(v.signedSize == 1 && v.closedPnl == 10)
        let shares = Dictionary(uniqueKeysWithValues: v.strategies.map { ($0.strategyID, $0) })
        #expect(shares[PositionManagerState.external]?.signedSize == 0 && shares[PositionManagerState.external]?.realizedPnl == 0)
        #expect(shares["alpha"]?.signedSize == 1 && shares["alpha"]?.realizedPnl == 10)
    }

    @Test("a sync that finds a position flat covers the fills before its answer; a sequence that starts over clears what a sync saw")
    func flatAdoptionAndSequenceReset() throws {
        var log = PMLog()
        try log.record(InstrumentsLoaded(category: .linear, instruments: [PMLog.btcRules]), at: 0)
        log.execution("Buy", "0.002", at: "50000", ms: 100, seq: 5)
        // The position closes while the sync reads the exchange: it is not listed; the answer came at 300.
        try log.record(PositionSyncCompleted(syncID: "s1", trigger: "discrepancy", categories: ["linear"],
                                             positions: [], executionsFetched: 0, positionsAsOfMs: PMLog.t0Ms + 300), at: 350)
        #expect(log.state.view(btc)!.signedSize == 0)
        // The closing fill's WebSocket copy (executed at 250) is already in that flat size.
        log.execution("Sell", "0.002", at: "50100", ms: 250, seq: 6)
        #expect(log.state.view(btc)!.signedSize == 0)
        // A fill after the answer counts.
        log.execution("Buy", "0.001", at: "50000", ms: 400, seq: 7)
        #expect(log.state.view(btc)!.signedSize == num("0.001"))
        // A sync that lists it with seq 7 (updated at 500).
        log.exchangePosition("Buy", "0.001", entry: "50000", ms: 500, seq: 7)
        try log.record(PositionSyncCompleted(syncID: "s2", trigger: "start", categories: ["linear"],
                                             positions: ["linear.BTCUSDT.0"], executionsFetched: 0), at: 600)
        // An older frame arriving late (seq 6, updated at 250) leaves the mark: the late copy of seq 7's fill is in the size.
        log.exchangePosition("Buy", "0", entry: "0", ms: 250, seq: 6)
        log.execution("Buy", "0.001", at: "50000", ms: 450, seq: 7)
        #expect(log.state.view(btc)!.signedSize == num("0.001"))
        // A new venue on the same log starts its sequence over (a newer frame with a lower seq).
        log.exchangePosition("Buy", "0.001", entry: "50000", ms: 700, seq: 1)
        log.execution("Buy", "0.001", at: "50000", ms: 800, seq: 2)
        #expect(log.state.view(btc)!.signedSize == num("0.002"))
    }

    @Test("spot: a base-coin fee as large as the fill moves nothing; coins held from outside cover a short external share")
    func spotEdges() throws {
        var log = PMLog()
        let key = PositionKey(category: "spot", symbol: "ETHUSDT")
        log.execution("Buy", "0.001", at: "3000", fee: "0.001", symbol: "ETHUSDT", category: "spot", feeCurrency: "ETH")
        var v = try #require(log.state.view(key))
        #expect(v.signedSize == 0 && v.fees == 3)
        // alpha buys 1; unattributed sales of 0.5, then of 1 (0.5 of them from outside the log).
        try log.order(link: "l-a", strategy: "alpha", signal: "s-a", symbol: "ETHUSDT")
        log.execution("Buy", "1", at: "3000", symbol: "ETHUSDT", category: "spot", link: "l-a", ms: 10)
        log.execution("Sell", "0.5", at: "3100", symbol: "ETHUSDT", category: "spot", ms: 20)
        log.execution("Sell", "1", at: "3200", symbol: "ETHUSDT", category: "spot", ms: 30)
        v = try #require(log.state.view(key))
        // Held 0.5 at 3000 and 0.5 from outside at 3200: 1 at 3100 sold at 3200.
        #expect(v.signedSize == 0 && v.closedPnl == 50 + 100)
        // The external share was short 0.5 at 3100: the outside coins cover it, then it sells 1.
        let ext = try #require(v.strategies.first { $0.strategyID == PositionManagerState.external })
        #expect(ext.signedSize == -1 && ext.averageEntryPrice == 3200)
        #expect(v.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == 0)
    }

    @Test("spot: a buy's base-coin fee leaves the holding and is valued at the fill price; marks come from the last price")
    func spot() throws {
        var log = PMLog()
        log.execution("Buy", "0.5", at: "3000", fee: "0.0005", symbol: "ETHUSDT", category: "spot", feeCurrency: "ETH")
        log.execution("Sell", "0.2", at: "3100", fee: "0.62", symbol: "ETHUSDT", category: "spot", ms: 10)
        log.ticker("ETHUSDT", mark: "3050", category: "spot", ms: 2000)
        let v = try #require(log.state.view(PositionKey(category: "spot", symbol: "ETHUSDT")))
        // The buy received 0.4995 ETH (as the wallet does), costing 3000 each; its fee is 1.5 USDT.
        #expect(v.signedSize == num("0.2995") && v.averageEntryPrice == 3000)
        #expect(v.fees == num("1.5") + num("0.62") && v.closedPnl == 20)
        #expect(v.unrealizedPnl == num("14.975") && v.exchange == nil)
        // Spot holdings are in the wallet already: their unrealized PnL stays out of the equity's.
        let p = log.state.portfolio
        #expect(p.spotUnrealizedPnl == num("14.975") && p.unrealizedPnl == 0)
        // 1500 USDT paid; 619.38 received for 0.2 ETH; 0.2995 ETH held, worth 913.475.
        #expect(p.totalPnl == num("619.38") + num("913.475") - 1500)
    }

    @Test("spot: a sale of coins held from before the log is not a short; it realizes nothing on them")
    func spotSaleOfOutsideCoins() throws {
        var log = PMLog()
        try log.order(link: "l-1", strategy: "trend", signal: "s-1", symbol: "ETHUSDT")
        try log.order(link: "l-2", strategy: "meanrev", signal: "s-2", symbol: "ETHUSDT")
        let key = PositionKey(category: "spot", symbol: "ETHUSDT")
        // 0.3 ETH sold; the log bought none (the wallet held them before it began).
        log.execution("Sell", "0.3", at: "3000", fee: "0.9", symbol: "ETHUSDT", category: "spot", link: "l-1", ms: 10)
        var v = try #require(log.state.view(key))
        #expect(v.signedSize == 0 && v.side == "None" && v.closedPnl == 0 && v.fees == num("0.9"))
        // The strategy sold the external holding: the shares still sum to the (flat) holding.
        #expect(v.strategies.map(\.strategyID) == [PositionManagerState.external, "trend"])
        #expect(v.strategies.map(\.signedSize) == [num("0.3"), num("-0.3")])
        // Another strategy buys 0.5 at 2900; the first sells 1: 0.5 from the holding (realizing
        // 0.5 × 200), 0.5 from outside at the sale's price (realizing nothing).
        log.execution("Buy", "0.5", at: "2900", fee: "0", symbol: "ETHUSDT", category: "spot", link: "l-2", feeCurrency: "ETH", ms: 20)
        log.execution("Sell", "1", at: "3100", fee: "0", symbol: "ETHUSDT", category: "spot", link: "l-1", ms: 30)
        log.ticker("ETHUSDT", mark: "3200", category: "spot", ms: 2000)
        v = try #require(log.state.view(key))
        #expect(v.signedSize == 0 && v.closedPnl == 100 && v.unrealizedPnl == 0)
        #expect(v.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == 0)
        // The shares net across strategies: their PnL sums to the position's (net of the 0.9 fee).
        #expect(v.strategies.reduce(Decimal(0)) { $0 + $1.unrealizedPnl + $1.realizedPnl } == num("99.1"))
        #expect(v.realizedPnl + v.unrealizedPnl == num("99.1"))
        #expect(log.all(PositionUpdated.self).allSatisfy { $0.position.signedSize >= 0 })
    }

    @Test("exposure: gross and net over open positions at their marks")
    func exposure() throws {
        var log = PMLog()
        log.execution("Buy", "0.01", at: "50000")
        log.execution("Sell", "2", at: "3000", symbol: "ETHUSDT", ms: 10)
        log.ticker(mark: "51000", ms: 1000)
        log.ticker("ETHUSDT", mark: "2900", ms: 1000)
        let p = log.state.portfolio
        #expect(p.grossExposure == 510 + 5800 && p.netExposure == 510 - 5800 && p.openPositions == 2)
    }

    @Test("portfolio updates are coalesced to one per interval of event time; marks too")
    func coalescing() throws {
        var log = PMLog()
        log.execution("Buy", "1", at: "100")
        for i in 1...20 { log.ticker(mark: "\(100 + i)", ms: Int64(i) * 100) }
        let portfolios = log.all(PortfolioUpdated.self)
        // t = 0 (the fill), then 1 000 and 2 000 ms.
        #expect(portfolios.map(\.time) == [PMLog.at(0), PMLog.at(1000), PMLog.at(2000)])
        #expect(portfolios.map(\.version) == [1, 2, 3])
        let marks = log.all(PositionUpdated.self).filter { $0.reason == "mark" }
        #expect(marks.map(\.time) == [PMLog.at(1000), PMLog.at(2000)])
        #expect(marks.last?.position.markPrice == 120)
        // A flat position's mark moves publish nothing.
        log.execution("Sell", "1", at: "120", ms: 2100)
        let count = log.derived.count
        for i in 1...5 { log.ticker(mark: "\(130 + i)", ms: 3000 + Int64(i) * 1000) }
        #expect(log.all(PositionUpdated.self).count == log.all(PositionUpdated.self).count)
        #expect(log.derived.count - count <= 1, "at most the pending portfolio update")
    }

    @Test("snapshots at each boundary of event time and on request")
    func snapshots() throws {
        var config = PMLog.testConfig
        config.snapshotIntervalMs = 60_000
        var log = PMLog(config: config)
        log.execution("Buy", "1", at: "100", ms: 1000)
        log.ticker(mark: "105", ms: 59_000)
        #expect(log.all(PositionSnapshotCreated.self).isEmpty)
        log.ticker(mark: "106", ms: 61_000)
        let s = try #require(log.last(PositionSnapshotCreated.self))
        #expect(s.trigger == "interval" && s.time == Timestamp(millisecondsSinceEpoch: (PMLog.t0Ms / 60_000 + 1) * 60_000))
        // As of the boundary: the mark before the event that crossed it.
        #expect(s.positions.map(\.markPrice) == [105] && s.portfolio.unrealizedPnl == 5)
        // A gap of several intervals gives one snapshot.
        log.ticker(mark: "107", ms: 400_000)
        #expect(log.all(PositionSnapshotCreated.self).count == 2)
        try log.record(PositionSnapshotRequested(requestID: "req-1", reason: "test"), at: 401_000)
        let r = try #require(log.last(PositionSnapshotCreated.self))
        #expect(r.snapshotID == "r-req-1" && r.trigger == "request" && r.positions.first?.markPrice == 107)
        let stream = try #require(log.derived.last { $0.event.type == PositionSnapshotCreated.eventType })
        #expect(stream.stream == "positionsnapshot-r-req-1")
    }

    @Test("the fold is deterministic: the same log gives the same derived events, ids included")
    func deterministic() throws {
        var log = PMLog()
        try log.order(link: "l1", strategy: "s", signal: "g")
        log.execution("Buy", "1", at: "100", link: "l1")
        log.exchangePosition("Buy", "2", entry: "100", ms: 10)
        log.ticker(mark: "101", ms: 1500)
        log.execution("Sell", "3", at: "102", ms: 1600)
        var again = PositionManagerState(config: PMLog.testConfig)
        let derived = log.events.flatMap { again.apply($0) }
        #expect(derived.map(\.event.eventID) == log.derived.map(\.event.eventID))
        #expect(derived.map(\.event.data) == log.derived.map(\.event.data))
        #expect(derived.map(\.stream) == log.derived.map(\.stream))
        // Derived events read back are not inputs: folding them changes nothing.
        var copy = again
        var position = log.position
        for d in derived {
            position += 1
            _ = copy.apply(RecordedEvent(globalPosition: position, eventID: d.event.eventID, stream: d.stream, streamVersion: 1,
                                         type: d.event.type, schemaVersion: 1, data: d.event.data, metadata: d.event.metadata,
                                         recordedAt: PMLog.at(999_999)))
        }
        #expect(copy.positions == again.positions && copy.portfolio == again.portfolio)
    }

    @Test("inverse and option executions are counted as skipped, never folded as linear")
    func skipped() {
        var log = PMLog()
        log.execution("Buy", "100", at: "50000", symbol: "BTCUSD", category: "inverse")
        #expect(log.state.keys.isEmpty && log.state.skipped == 1)
    }

    @Test("configuration from the environment names a bad field")
    func config() throws {
        let c = try PositionManagerConfig.fromEnvironment(["TRADELOG_PM_SNAPSHOT_INTERVAL_MS": "5000"])
        #expect(c.snapshotIntervalMs == 5000 && c.portfolioIntervalMs == 1000)
        #expect(throws: ConfigurationError.self) { try PositionManagerConfig.fromEnvironment(["TRADELOG_PM_MARK_INTERVAL_MS": "soon"]) }
        do {
            _ = try PositionManagerConfig.fromEnvironment(["TRADELOG_PM_DISCREPANCY_GRACE_MS": "-1"])
        } catch let e as ConfigurationError {
            #expect(e.field == "TRADELOG_PM_DISCREPANCY_GRACE_MS")
        }
    }
}
