import Foundation
import Logging
import PostgresClient
import ServiceLifecycle
import TradelogCore

/// Market-data retention: market categories (`market.*`) live in one partition per UTC day,
/// and whole days older than the retention age are dropped. Domain events are never touched.
public struct RetentionPolicy: Sendable, Equatable {
    /// Days of market data to keep (default 7).
    public var marketDays: Int

    public init(marketDays: Int = 7) {
        self.marketDays = marketDays
    }

    /// `TRADELOG_MARKET_RETENTION_DAYS`, else 7.
    public static func fromEnvironment() throws -> RetentionPolicy {
        guard let raw = ProcessInfo.processInfo.environment["TRADELOG_MARKET_RETENTION_DAYS"], !raw.isEmpty else {
            return RetentionPolicy()
        }
        guard let days = Int(raw), days >= 1 else {
            throw ConfigurationError(
                field: "TRADELOG_MARKET_RETENTION_DAYS", source: "environment",
                problem: "must be a whole number of days ≥ 1, got \(raw.debugDescription)")
        }
        return RetentionPolicy(marketDays: days)
    }

    /// Drops the market partitions whose day ends more than `marketDays` days before `now`
    /// (the database's clock when nil). Returns the dropped partitions' names.
    @discardableResult
    public func apply(on conn: isolated PGConnection, now: Date? = nil) throws -> [String] {
        let nowText = now.map { String(Int64($0.timeIntervalSince1970)) }
        let r = try conn.query(
            """
            SELECT tl_drop_market_partitions(
                ((COALESCE(to_timestamp($1::bigint), now())) AT TIME ZONE 'UTC')::date - $2::integer)
            """, [nowText, String(marketDays)])
        return (0..<r.rowCount).compactMap { r.string($0, 0) }
    }
}

/// Applies the retention policy at start and then every `interval`.
public struct RetentionService: Service {
    let policy: RetentionPolicy
    let connection: PGConnection
    let interval: Duration
    let logger: Logger

    public init(policy: RetentionPolicy, settings: PGSettings, interval: Duration = .seconds(3600),
                logger: Logger = Logger(label: "tradelog.retention")) {
        self.policy = policy
        self.connection = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):retention"), logger: logger)
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let policy = self.policy
                    let dropped = try await connection.withConnection { try policy.apply(on: $0) }
                    for name in dropped {
                        logger.info("dropped old market data", metadata: ["retention.partition": "\(name)", "retention.days": "\(policy.marketDays)"])
                    }
                } catch {
                    logger.warning("retention pass failed; will retry", metadata: ["error": "\(error)"])
                }
                try? await Task.sleep(for: interval)
            }
            await connection.close()
        }
    }
}
