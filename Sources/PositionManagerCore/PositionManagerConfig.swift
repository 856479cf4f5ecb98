import Foundation
import TradelogCore

/// The position manager's intervals, all in event time (milliseconds).
public struct PositionManagerConfig: Sendable, Hashable {
    /// A snapshot at every multiple of this interval (0: only on request).
    public var snapshotIntervalMs: Int64 = 60_000
    /// At most one `PortfolioUpdated` per interval.
    public var portfolioIntervalMs: Int64 = 1_000
    /// A position whose mark moved gets a `PositionUpdated` at most once per interval (0: mark moves alone publish nothing).
    public var markIntervalMs: Int64 = 1_000
    /// How long our fold and the exchange may differ before it is a `PositionDiscrepancy`
    /// (frames and executions of one fill arrive in either order).
    public var discrepancyGraceMs: Int64 = 5_000

    public init() {}

    /// `TRADELOG_PM_SNAPSHOT_INTERVAL_MS`, `TRADELOG_PM_PORTFOLIO_INTERVAL_MS`,
    /// `TRADELOG_PM_MARK_INTERVAL_MS`, `TRADELOG_PM_DISCREPANCY_GRACE_MS`: whole milliseconds ≥ 0.
    public static func fromEnvironment(_ env: [String: String], source: String = "environment") throws -> PositionManagerConfig {
        try read(SettingsReader(env), source: source)
    }

    /// The `TRADELOG_PM_*` variables this configuration reads.
    public static let environmentKeys = ConfigurationKeys.known { _ = try read($0, source: "") }

    static func read(_ env: SettingsReader, source: String) throws -> PositionManagerConfig {
        var c = PositionManagerConfig()
        func ms(_ field: String, _ target: inout Int64) throws {
            guard let text = env[field] else { return }
            // At most ten years: event-time arithmetic is in microseconds.
            guard let v = Int64(text.trimmingCharacters(in: .whitespaces)), v >= 0, v <= 315_360_000_000 else {
                throw ConfigurationError(field: field, source: source,
                                         problem: "\(text.debugDescription) is not a whole number of milliseconds from 0 to 315360000000 (ten years)")
            }
            target = v
        }
        try ms("TRADELOG_PM_SNAPSHOT_INTERVAL_MS", &c.snapshotIntervalMs)
        try ms("TRADELOG_PM_PORTFOLIO_INTERVAL_MS", &c.portfolioIntervalMs)
        try ms("TRADELOG_PM_MARK_INTERVAL_MS", &c.markIntervalMs)
        try ms("TRADELOG_PM_DISCREPANCY_GRACE_MS", &c.discrepancyGraceMs)
        try env.refuseUnknown(prefix: "TRADELOG_PM_", of: "position manager", source: source)
        return c
    }
}
