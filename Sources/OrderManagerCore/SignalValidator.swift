import Bybit
import Foundation
import Signals
import TradelogCore

/// A refusal or denial before any order: a reason code, a sentence, and the figures behind it.
public struct Refusal: Hashable, Sendable {
    public var code: String
    public var detail: String
    public var figures: [String: String]

    public init(_ code: String, _ detail: String, _ figures: [String: String] = [:]) {
        self.code = code
        self.detail = detail
        self.figures = figures
    }
}

/// Validation of a well-formed signal beyond its shape (issue item 1).
public enum SignalValidator {
    /// Nil when the signal may go on to risk; else the refusal reason.
    public static func validate(_ s: TradingSignal, receivedAt: Timestamp, state: OrderManagerState) -> Refusal? {
        let c = state.config
        if s.isWarmup {
            switch c.warmupPolicy {
            case .recordOnly:
                return Refusal("warmup_recorded", "warm-up signals are recorded, not traded (policy record_only)")
            case .reject:
                return Refusal("warmup_rejected", "warm-up signals are rejected (policy reject)")
            case .tradeOnTestnet where c.venue.isMainnet:
                return Refusal("warmup_not_allowed", "warm-up signals trade only on testnet, demo or the simulator; the venue is mainnet",
                               ["venue": c.venue.rawValue])
            case .tradeOnTestnet: break
            }
        }
        let category = c.category(of: s.asset)
        guard state.instrumentCategoriesLoaded.contains(category) else {
            return Refusal("instruments_unknown", "the \(category.rawValue) instruments have not been loaded yet",
                           ["category": category.rawValue])
        }
        guard let rules = state.instrument(category, s.asset) else {
            return Refusal("unknown_asset", "\(s.asset) is not a \(category.rawValue) instrument", ["category": category.rawValue])
        }
        guard rules.isTradable else {
            return Refusal("instrument_not_trading", "\(s.asset) is in status \(rules.status)", ["status": rules.status])
        }
        let ageMs = (receivedAt.microsecondsSinceEpoch - s.time.microsecondsSinceEpoch) / 1000
        if ageMs > c.maxSignalAgeMs {
            return Refusal("stale_signal", "the signal is \(ageMs) ms old when received (max \(c.maxSignalAgeMs) ms)",
                           ["age_ms": "\(ageMs)", "max_age_ms": "\(c.maxSignalAgeMs)"])
        }
        if -ageMs > c.maxSignalSkewMs {
            return Refusal("signal_from_future", "the signal's timestamp is \(-ageMs) ms after its receipt (max skew \(c.maxSignalSkewMs) ms)",
                           ["ahead_ms": "\(-ageMs)", "max_skew_ms": "\(c.maxSignalSkewMs)"])
        }
        return nil
    }
}
