import Bybit
import Foundation
import TradelogCore

/// What to do with warm-up signals (`is_warmup: true`).
public enum WarmupPolicy: String, Codable, Sendable, Hashable, CaseIterable {
    /// Trade them only against testnet, demo or the simulator; refuse them on mainnet.
    case tradeOnTestnet = "trade_on_testnet"
    /// Record them and refuse to trade them.
    case recordOnly = "record_only"
    /// Refuse them as invalid.
    case reject
}

/// Which venue orders go to (warm-up signals may trade only on the non-mainnet ones).
public enum TradingVenue: String, Codable, Sendable, Hashable, CaseIterable {
    case mainnet, testnet, demo, simulator
    public var isMainnet: Bool { self == .mainnet }
}

/// Risk limits; the defaults are deliberately small.
public struct RiskLimits: Codable, Sendable, Hashable {
    /// Largest notional of one order, in the quote coin (USDT).
    public var maxOrderNotional: Decimal = 10_000
    /// Largest absolute position notional per asset after the order.
    public var maxPositionNotional: Decimal = 50_000
    /// Largest sum of absolute position notionals and open order notionals, all assets.
    public var maxGrossExposure: Decimal = 200_000
    /// Free balance of the quote coin that must remain after the order's margin.
    public var minFreeBalance: Decimal = 0
    /// Leverage assumed for a linear order's margin (notional ÷ leverage).
    public var linearLeverage: Decimal = 1
    /// Our open orders per asset.
    public var maxOpenOrdersPerAsset = 5
    /// Signals per strategy in any 60 s of receive time.
    public var maxSignalsPerMinute = 60
    /// Realized loss (PnL plus fees of our fills) per UTC day at which new orders stop.
    public var dailyLossLimit: Decimal = 1_000
    /// When not empty, only these symbols trade.
    public var allowedSymbols: [String] = []

    public init() {}
}

/// Everything the order manager's decisions depend on.
public struct OrderManagerConfig: Codable, Sendable, Hashable {
    public var venue: TradingVenue = .simulator
    /// Oldest a signal may be, measured from its `timestamp` to its receive time.
    public var maxSignalAgeMs: Int64 = 60_000
    /// How far a signal's timestamp may be ahead of its receive time (clock skew).
    public var maxSignalSkewMs: Int64 = 5_000
    public var warmupPolicy: WarmupPolicy = .tradeOnTestnet
    public var risk = RiskLimits()
    public var orderTypes = OrderTypeThresholds()
    /// Category per asset; assets not listed use ``defaultCategory``.
    public var categories: [String: RESTCategory] = [:]
    public var defaultCategory: RESTCategory = .linear
    /// A resting limit order unfilled this long (event time) is re-priced, up to ``maxReprices``, then cancelled.
    public var repriceAfterMs: Int64 = 30_000
    public var maxReprices = 2
    /// An intent found unsent at start older than this (wall clock) is expired instead of sent.
    public var maxIntentAgeMs: Int64 = 60_000
    /// Whether an order may be sized on the signal's own snapshot price when the exchange gave
    /// no price for the instrument (no book, no ticker): off, a model's price may be stale or an
    /// example, and a market order sized on it can be many times the amount.
    public var allowSnapshotReference = false

    public init() {}

    public func category(of asset: String) -> RESTCategory { categories[asset] ?? defaultCategory }
}

extension OrderManagerConfig {
    /// Reads `TRADELOG_OM_*` variables (see README); a bad value names the variable.
    public static func fromEnvironment(_ env: [String: String], source: String = "environment") throws -> OrderManagerConfig {
        try read(SettingsReader(env), source: source)
    }

    /// The `TRADELOG_OM_*` variables this configuration reads.
    public static let environmentKeys = ConfigurationKeys.known { _ = try read($0, source: "") }

    /// The longest interval a millisecond setting takes (ten years): beyond it, event-time
    /// arithmetic in microseconds would overflow.
    static let maxMilliseconds = 315_360_000_000

    static func read(_ env: SettingsReader, source: String) throws -> OrderManagerConfig {
        var c = OrderManagerConfig()
        func decimal(_ key: String, _ apply: (Decimal) -> Void) throws {
            guard let text = env[key] else { return }
            // Decimal(string:) reads a leading number and ignores the rest ("12abc" → 12, "1,000" → 1): only plain decimals pass.
            let digit: (Character) -> Bool = { ("0"..."9").contains($0) }
            let plain = text.contains(where: digit) && text.filter { $0 == "." }.count <= 1
                && text.allSatisfy { digit($0) || $0 == "." }
            guard plain, let d = Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")), d >= 0 else {
                throw ConfigurationError(field: key, source: source, problem: "\(text.debugDescription) is not a non-negative number")
            }
            apply(d)
        }
        func integer(_ key: String, max: Int = .max, _ apply: (Int) -> Void) throws {
            guard let text = env[key] else { return }
            guard let i = Int(text), i >= 0 else {
                throw ConfigurationError(field: key, source: source, problem: "\(text.debugDescription) is not a non-negative integer")
            }
            guard i <= max else {
                throw ConfigurationError(field: key, source: source, problem: "\(text) is more than \(max)")
            }
            apply(i)
        }
        if let v = env["TRADELOG_OM_VENUE"] {
            guard let venue = TradingVenue(rawValue: v) else {
                throw ConfigurationError(field: "TRADELOG_OM_VENUE", source: source,
                                         problem: "\(v.debugDescription) is not one of mainnet, testnet, demo, simulator")
            }
            c.venue = venue
        }
        if let v = env["TRADELOG_OM_SNAPSHOT_REFERENCE"] {
            guard let b = ["true": true, "false": false, "1": true, "0": false][v.lowercased()] else {
                throw ConfigurationError(field: "TRADELOG_OM_SNAPSHOT_REFERENCE", source: source, problem: "\(v.debugDescription) is not true or false")
            }
            c.allowSnapshotReference = b
        }
        if let v = env["TRADELOG_OM_WARMUP"] {
            guard let p = WarmupPolicy(rawValue: v) else {
                throw ConfigurationError(field: "TRADELOG_OM_WARMUP", source: source,
                                         problem: "\(v.debugDescription) is not one of trade_on_testnet, record_only, reject")
            }
            c.warmupPolicy = p
        }
        try integer("TRADELOG_OM_MAX_SIGNAL_AGE_MS", max: maxMilliseconds) { c.maxSignalAgeMs = Int64($0) }
        try decimal("TRADELOG_OM_MAX_ORDER_NOTIONAL") { c.risk.maxOrderNotional = $0 }
        try decimal("TRADELOG_OM_MAX_POSITION_NOTIONAL") { c.risk.maxPositionNotional = $0 }
        try decimal("TRADELOG_OM_MAX_GROSS_EXPOSURE") { c.risk.maxGrossExposure = $0 }
        try decimal("TRADELOG_OM_MIN_FREE_BALANCE") { c.risk.minFreeBalance = $0 }
        try decimal("TRADELOG_OM_LINEAR_LEVERAGE") { c.risk.linearLeverage = max($0, 1) }
        try integer("TRADELOG_OM_MAX_OPEN_ORDERS_PER_ASSET") { c.risk.maxOpenOrdersPerAsset = $0 }
        try integer("TRADELOG_OM_MAX_SIGNALS_PER_MINUTE") { c.risk.maxSignalsPerMinute = $0 }
        try decimal("TRADELOG_OM_DAILY_LOSS_LIMIT") { c.risk.dailyLossLimit = $0 }
        try decimal("TRADELOG_OM_MARKET_CONFIDENCE") { c.orderTypes.marketConfidence = $0 }
        try decimal("TRADELOG_OM_MARKET_VOLATILITY") { c.orderTypes.marketVolatility = $0 }
        try decimal("TRADELOG_OM_TIGHT_SPREAD_BPS") { c.orderTypes.tightSpreadBps = $0 }
        try integer("TRADELOG_OM_REPRICE_AFTER_MS", max: maxMilliseconds) { c.repriceAfterMs = Int64($0) }
        try integer("TRADELOG_OM_MAX_REPRICES") { c.maxReprices = $0 }
        try integer("TRADELOG_OM_MAX_INTENT_AGE_MS", max: maxMilliseconds) { c.maxIntentAgeMs = Int64($0) }
        if let list = env["TRADELOG_OM_ALLOWED_SYMBOLS"] {
            c.risk.allowedSymbols = list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
                .filter { !$0.isEmpty }.sorted()
        }
        if let v = env["TRADELOG_OM_DEFAULT_CATEGORY"] {
            guard let cat = RESTCategory(rawValue: v), cat == .spot || cat == .linear else {
                throw ConfigurationError(field: "TRADELOG_OM_DEFAULT_CATEGORY", source: source, problem: "\(v.debugDescription) is not spot or linear")
            }
            c.defaultCategory = cat
        }
        // ASSET=category pairs: "BTCUSDT=spot,ETHUSDT=linear".
        if let list = env["TRADELOG_OM_CATEGORIES"] {
            for pair in list.split(separator: ",") {
                let parts = pair.split(separator: "=").map { $0.trimmingCharacters(in: .whitespaces) }
                guard parts.count == 2, let cat = RESTCategory(rawValue: parts[1]), cat == .spot || cat == .linear, !parts[0].isEmpty else {
                    throw ConfigurationError(field: "TRADELOG_OM_CATEGORIES", source: source,
                                             problem: "\(String(pair).debugDescription) is not ASSET=spot or ASSET=linear")
                }
                c.categories[parts[0].uppercased()] = cat
            }
        }
        try integer("TRADELOG_OM_MAX_SIGNAL_SKEW_MS", max: maxMilliseconds) { c.maxSignalSkewMs = Int64($0) }
        try env.refuseUnknown(prefix: "TRADELOG_OM_", of: "order manager", source: source)
        return c
    }
}
