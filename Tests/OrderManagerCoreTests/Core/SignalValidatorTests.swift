import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

private typealias F = CoreFixtures

@Suite("SignalValidator: every reason code")
struct SignalValidatorTests {
    func state(_ edit: (inout OrderManagerConfig) -> Void = { _ in }, instruments: [InstrumentRules] = [F.linearBTC]) throws
        -> OrderManagerState {
        var log = TestLog(config: F.config(edit))
        if !instruments.isEmpty { try log.record(InstrumentsLoaded(category: .linear, instruments: instruments)) }
        return log.state
    }

    func validate(_ s: TradingSignal, receivedAt: Timestamp = F.at(1_000), _ state: OrderManagerState) -> Refusal? {
        SignalValidator.validate(s, receivedAt: receivedAt, state: state)
    }

    @Test("a valid signal passes")
    func valid() throws {
        #expect(validate(F.signal(1), try state()) == nil)
    }

    @Test("warmup_recorded (policy record_only)")
    func warmupRecorded() throws {
        let r = validate(F.signal(1, warmup: true), try state { $0.warmupPolicy = .recordOnly })
        #expect(r?.code == "warmup_recorded")
    }

    @Test("warmup_rejected (policy reject)")
    func warmupRejected() throws {
        #expect(validate(F.signal(1, warmup: true), try state { $0.warmupPolicy = .reject })?.code == "warmup_rejected")
    }

    @Test("warmup_not_allowed on mainnet; traded on the simulator, testnet and demo")
    func warmupVenue() throws {
        let r = validate(F.signal(1, warmup: true), try state { $0.venue = .mainnet; $0.warmupPolicy = .tradeOnTestnet })
        #expect(r?.code == "warmup_not_allowed" && r?.figures == ["venue": "mainnet"])
        for venue in [TradingVenue.simulator, .testnet, .demo] {
            #expect(validate(F.signal(1, warmup: true), try state { $0.venue = venue }) == nil, "\(venue)")
        }
        // A normal signal trades on mainnet.
        #expect(validate(F.signal(1), try state { $0.venue = .mainnet }) == nil)
    }

    @Test("instruments_unknown before the category's instruments are loaded")
    func instrumentsUnknown() throws {
        let r = validate(F.signal(1), try state(instruments: []))
        #expect(r?.code == "instruments_unknown" && r?.figures == ["category": "linear"])
        // Spot loaded does not help a linear asset.
        var log = TestLog()
        try log.record(InstrumentsLoaded(category: .spot, instruments: [F.spotETH]))
        #expect(validate(F.signal(1), log.state)?.code == "instruments_unknown")
    }

    @Test("unknown_asset: not an instrument of its category")
    func unknownAsset() throws {
        let r = validate(F.signal(1, asset: "DOGEUSDT"), try state())
        #expect(r?.code == "unknown_asset" && r?.figures == ["category": "linear"])
        // ETHUSDT is spot-only here: configured as linear it is unknown, as spot it is valid.
        var log = TestLog(config: F.config { $0.categories = ["ETHUSDT": .spot] })
        try log.record(InstrumentsLoaded(category: .spot, instruments: [F.spotETH]))
        #expect(validate(F.signal(1, asset: "ETHUSDT"), log.state) == nil)
        #expect(validate(F.signal(1, asset: "ETHUSDT"), try state())?.code == "unknown_asset")
    }

    @Test("instrument_not_trading")
    func notTrading() throws {
        var rules = F.linearBTC
        rules.status = "PreLaunch"
        let r = validate(F.signal(1), try state(instruments: [rules]))
        #expect(r?.code == "instrument_not_trading" && r?.figures == ["status": "PreLaunch"])
    }

    @Test("stale_signal: age measured against the receive time, not the wall clock")
    func stale() throws {
        let s = try state()
        let old = validate(F.signal(1, time: F.at(0)), receivedAt: F.at(60_001), s)
        #expect(old?.code == "stale_signal" && old?.figures == ["age_ms": "60001", "max_age_ms": "60000"])
        #expect(validate(F.signal(1, time: F.at(0)), receivedAt: F.at(60_000), s) == nil, "exactly the limit is fine")
        // 2024 is long ago by the wall clock, but the signal was received 1 s after its timestamp.
        #expect(validate(F.signal(1, time: F.at(0)), receivedAt: F.at(1_000), s) == nil)
        let custom = try state { $0.maxSignalAgeMs = 5_000 }
        #expect(validate(F.signal(1, time: F.at(0)), receivedAt: F.at(5_001), custom)?.code == "stale_signal")
    }

    @Test("signal_from_future: timestamp ahead of the receipt by more than the skew")
    func fromFuture() throws {
        let s = try state()
        let r = validate(F.signal(1, time: F.at(10_000)), receivedAt: F.at(4_999), s)
        #expect(r?.code == "signal_from_future" && r?.figures == ["ahead_ms": "5001", "max_skew_ms": "5000"])
        #expect(validate(F.signal(1, time: F.at(10_000)), receivedAt: F.at(5_000), s) == nil)
    }

    @Test("a parsed seed-shaped signal validates like a built one")
    func parsed() throws {
        let json = """
            {"signal_id":"550e8400-e29b-41d4-a716-446655440000","signal_type":"buy","asset":"BTCUSDT","amount":500.0,
             "confidence":0.5,"timestamp":"2024-03-01T00:00:00Z","strategy_id":"strat-1","is_warmup":false}
            """
        let signal = try SignalParser.parse(Array(json.utf8)).get()
        #expect(validate(signal, receivedAt: F.at(2_000), try state()) == nil)
        #expect(validate(signal, receivedAt: F.at(61_000), try state())?.code == "stale_signal")
    }
}
