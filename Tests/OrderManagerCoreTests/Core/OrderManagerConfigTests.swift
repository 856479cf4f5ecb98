import Bybit
import Foundation
import OrderManagerCore
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }

@Suite("OrderManagerConfig.fromEnvironment")
struct OrderManagerConfigTests {
    @Test("no variables: the defaults")
    func defaults() throws {
        let c = try OrderManagerConfig.fromEnvironment([:])
        #expect(c == OrderManagerConfig())
        #expect(c.venue == .simulator && c.warmupPolicy == .tradeOnTestnet && c.maxSignalAgeMs == 60_000)
        #expect(c.defaultCategory == .linear && c.category(of: "BTCUSDT") == .linear && c.risk.allowedSymbols.isEmpty)
    }

    @Test("good values are read")
    func goodValues() throws {
        let c = try OrderManagerConfig.fromEnvironment([
            "TRADELOG_OM_VENUE": "mainnet",
            "TRADELOG_OM_WARMUP": "reject",
            "TRADELOG_OM_MAX_SIGNAL_AGE_MS": "30000",
            "TRADELOG_OM_MAX_ORDER_NOTIONAL": "2500.5",
            "TRADELOG_OM_MAX_POSITION_NOTIONAL": "7000",
            "TRADELOG_OM_MAX_GROSS_EXPOSURE": "90000",
            "TRADELOG_OM_MIN_FREE_BALANCE": "100",
            "TRADELOG_OM_LINEAR_LEVERAGE": "5",
            "TRADELOG_OM_MAX_OPEN_ORDERS_PER_ASSET": "3",
            "TRADELOG_OM_MAX_SIGNALS_PER_MINUTE": "10",
            "TRADELOG_OM_DAILY_LOSS_LIMIT": "250",
            "TRADELOG_OM_MARKET_CONFIDENCE": "0.95",
            "TRADELOG_OM_MARKET_VOLATILITY": "0.05",
            "TRADELOG_OM_TIGHT_SPREAD_BPS": "1.5",
            "TRADELOG_OM_REPRICE_AFTER_MS": "15000",
            "TRADELOG_OM_MAX_REPRICES": "4",
            "TRADELOG_OM_MAX_INTENT_AGE_MS": "120000",
            "TRADELOG_OM_ALLOWED_SYMBOLS": " ethusdt, BTCUSDT ,,",
            "TRADELOG_OM_DEFAULT_CATEGORY": "spot",
            "TRADELOG_OM_CATEGORIES": "btcusdt=linear, SOLUSDT=spot",
        ])
        #expect(c.venue == .mainnet && c.warmupPolicy == .reject && c.maxSignalAgeMs == 30_000)
        #expect(c.risk.maxOrderNotional == num("2500.5") && c.risk.maxPositionNotional == 7_000 && c.risk.maxGrossExposure == 90_000)
        #expect(c.risk.minFreeBalance == 100 && c.risk.linearLeverage == 5 && c.risk.maxOpenOrdersPerAsset == 3)
        #expect(c.risk.maxSignalsPerMinute == 10 && c.risk.dailyLossLimit == 250)
        #expect(c.orderTypes.marketConfidence == num("0.95") && c.orderTypes.marketVolatility == num("0.05"))
        #expect(c.orderTypes.tightSpreadBps == num("1.5"))
        #expect(c.repriceAfterMs == 15_000 && c.maxReprices == 4 && c.maxIntentAgeMs == 120_000)
        #expect(c.risk.allowedSymbols == ["BTCUSDT", "ETHUSDT"])
        #expect(c.defaultCategory == .spot && c.category(of: "BTCUSDT") == .linear && c.category(of: "SOLUSDT") == .spot)
        #expect(c.category(of: "XRPUSDT") == .spot)
    }

    @Test("a leverage below 1 counts as 1")
    func leverageFloor() throws {
        #expect(try OrderManagerConfig.fromEnvironment(["TRADELOG_OM_LINEAR_LEVERAGE": "0.5"]).risk.linearLeverage == 1)
    }

    @Test("a bad value names its variable", arguments: [
        ("TRADELOG_OM_VENUE", "production"),
        ("TRADELOG_OM_WARMUP", "sometimes"),
        ("TRADELOG_OM_MAX_SIGNAL_AGE_MS", "60s"),
        ("TRADELOG_OM_MAX_SIGNAL_AGE_MS", "-1"),
        ("TRADELOG_OM_MAX_ORDER_NOTIONAL", "lots"),
        ("TRADELOG_OM_MAX_ORDER_NOTIONAL", "-5"),
        ("TRADELOG_OM_MAX_ORDER_NOTIONAL", "12abc"),
        ("TRADELOG_OM_MAX_ORDER_NOTIONAL", ""),
        ("TRADELOG_OM_DAILY_LOSS_LIMIT", "1,000"),
        ("TRADELOG_OM_TIGHT_SPREAD_BPS", "2 bps"),
        ("TRADELOG_OM_MAX_OPEN_ORDERS_PER_ASSET", "2.5"),
        ("TRADELOG_OM_DEFAULT_CATEGORY", "inverse"),
        ("TRADELOG_OM_CATEGORIES", "BTCUSDT"),
        ("TRADELOG_OM_CATEGORIES", "BTCUSDT=option"),
    ])
    func badValue(_ key: String, _ value: String) {
        do {
            _ = try OrderManagerConfig.fromEnvironment([key: value], source: "test env")
            Issue.record("\(key)=\(value) was accepted")
        } catch let e as ConfigurationError {
            #expect(e.field == key && e.source == "test env")
            #expect(e.description.contains(key))
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }
}
