import Foundation
import OrderManagerCore
import PositionManagerCore
import Replay
import Testing
import TradelogCore

@Suite("Replay settings")
struct ReplaySettingsTests {
    func problem(_ body: () throws -> Void) -> String? {
        do {
            try body()
            return nil
        } catch {
            return "\(error)"
        }
    }

    @Test("a what-if file overrides the recorded settings and keeps the rest")
    func overRecorded() throws {
        let recorded = try ReplaySettings.parse("TRADELOG_OM_DEFAULT_CATEGORY=spot\nTRADELOG_OM_MAX_ORDER_NOTIONAL=5000\n", source: "settings.env")
        let other = try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL=1000\nTRADELOG_PM_MARK_INTERVAL_MS=0\n",
                                             source: "tight.env", over: recorded)
        #expect(other.orderManager.defaultCategory == .spot)
        #expect(other.orderManager.risk.maxOrderNotional == 1000)
        #expect(other.positionManager.markIntervalMs == 0)
        #expect(other.values["TRADELOG_OM_DEFAULT_CATEGORY"] == "spot")
        // Over the defaults (a fixture without settings), the file alone.
        let alone = try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL=1000\n", source: "tight.env", over: ReplaySettings())
        #expect(alone.orderManager.defaultCategory == .linear && alone.orderManager.risk.maxOrderNotional == 1000)
    }

    @Test("a misspelled setting is refused with its file and line, not ignored")
    func unknownKey() throws {
        let text = try #require(problem { _ = try ReplaySettings.parse("# tighter\nTRADELOG_OM_MAX_ORDER_NOTIONL=1000\n", source: "tight.env") })
        #expect(text.contains("tight.env:2") && text.contains("TRADELOG_OM_MAX_ORDER_NOTIONL"), "\(text)")
        #expect(OrderManagerConfig.environmentKeys.contains("TRADELOG_OM_MAX_ORDER_NOTIONAL"))
        #expect(OrderManagerConfig.environmentKeys.contains("TRADELOG_OM_VENUE"))
        #expect(PositionManagerConfig.environmentKeys == ["TRADELOG_PM_SNAPSHOT_INTERVAL_MS", "TRADELOG_PM_PORTFOLIO_INTERVAL_MS",
                                                          "TRADELOG_PM_MARK_INTERVAL_MS", "TRADELOG_PM_DISCREPANCY_GRACE_MS"])
    }

    @Test("the services' environments refuse unknown and out-of-range settings, naming them")
    func environments() throws {
        var text = try #require(problem { _ = try OrderManagerConfig.fromEnvironment(["TRADELOG_OM_DAILY_LOS_LIMIT": "5"]) })
        #expect(text.contains("TRADELOG_OM_DAILY_LOS_LIMIT") && text.contains("environment"))
        text = try #require(problem { _ = try PositionManagerConfig.fromEnvironment(["TRADELOG_PM_GRACE_MS": "5"]) })
        #expect(text.contains("TRADELOG_PM_GRACE_MS"))
        // Intervals whose microseconds would overflow the event-time arithmetic.
        text = try #require(problem { _ = try OrderManagerConfig.fromEnvironment(["TRADELOG_OM_REPRICE_AFTER_MS": "9300000000000000"]) })
        #expect(text.contains("TRADELOG_OM_REPRICE_AFTER_MS"))
        text = try #require(problem { _ = try PositionManagerConfig.fromEnvironment(["TRADELOG_PM_MARK_INTERVAL_MS": "9300000000000000"]) })
        #expect(text.contains("TRADELOG_PM_MARK_INTERVAL_MS"))
        // Other services' settings are not the order manager's business.
        let c = try OrderManagerConfig.fromEnvironment(["TRADELOG_OM_MAX_SIGNAL_SKEW_MS": "250", "TRADELOG_PM_MARK_INTERVAL_MS": "1", "AMQP_URL": "x"])
        #expect(c.maxSignalSkewMs == 250)
    }

    @Test("--speed: max, realtime, or Nx with N from 0.001 to 1000000")
    func pace() {
        #expect(ReplayPace.parse("max") == .max)
        #expect(ReplayPace.parse("realtime") == .multiple(1))
        #expect(ReplayPace.parse("2.5x") == .multiple(2.5) && ReplayPace.parse("10X") == .multiple(10))
        #expect(ReplayPace.parse("0.001x") == .multiple(0.001))
        for bad in ["1e-12x", "0x", "-2x", "2000000x", "nanx", "infx", "fast"] { #expect(ReplayPace.parse(bad) == nil, "\(bad)") }
    }
}
