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
        try parse(environment: ProcessInfo.processInfo.environment)
    }

    public static func parse(environment: [String: String]) throws -> RetentionPolicy {
        guard let raw = environment["TRADELOG_MARKET_RETENTION_DAYS"], !raw.isEmpty else {
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
    ///
    /// Each is first detached `CONCURRENTLY`, so appends and reads are not blocked; this
    /// must therefore run outside a transaction block.
    ///
    /// Subscriptions whose checkpoint is still inside a partition about to go are named in a
    /// warning: they will never see those events (retention is the operator's decision; a
    /// forgotten checkpoint must not fill the disk).
    @discardableResult
    public func apply(on conn: isolated PGConnection, now: Date? = nil,
                      logger: Logger = Logger(label: "tradelog.retention")) throws -> [String] {
        let nowText = now.map { String(Int64($0.timeIntervalSince1970)) }
        let cutoff = "((COALESCE(to_timestamp($1::bigint), now())) AT TIME ZONE 'UTC')::date - $2::integer"
        let lagging = try conn.rows(
            """
            WITH doomed AS (
                SELECT max(e.global_position) AS last FROM events_market e
                WHERE e.recorded_at < (\(cutoff))::timestamp AT TIME ZONE 'UTC'
            )
            SELECT c.name, c.position, d.last FROM checkpoints c, doomed d
            WHERE d.last IS NOT NULL AND c.position < d.last ORDER BY c.name
            """, [nowText, String(marketDays)])
        for row in lagging {
            logger.warning("dropping market data a subscription has not read yet", metadata: [
                "subscription.name": "\(row[0] ?? "")", "subscription.position": "\(row[1] ?? "")",
                "retention.last_dropped_position": "\(row[2] ?? "")",
            ])
        }
        let doomed = try conn.rows("SELECT name, attached FROM tl_market_partitions_before(\(cutoff))", [nowText, String(marketDays)])
        var dropped: [String] = []
        for row in doomed {
            guard let name = row[0] else { continue }
            let table = PGConnection.quoteIdentifier(name)
            if row[1] == "t" {
                // CONCURRENTLY: appends and reads of other days go on meanwhile.
                do {
                    try conn.execute("ALTER TABLE events_market DETACH PARTITION \(table) CONCURRENTLY")
                } catch let error as PGError where error.sqlState == "55000" {
                    // an earlier detach was interrupted: complete it
                    try conn.execute("ALTER TABLE events_market DETACH PARTITION \(table) FINALIZE")
                }
            }
            try conn.execute("DROP TABLE IF EXISTS \(table)")
            dropped.append(name)
        }
        return dropped
    }

    /// The market partitions attached now, with the planner's row estimate, oldest first.
    public static func marketPartitions(on conn: isolated PGConnection) throws -> [(name: String, estimatedRows: Int64)] {
        try conn.rows("""
            SELECT c.relname, c.reltuples::bigint FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = 'events_market'::regclass ORDER BY c.relname
            """).map { ($0[0]!, max(0, Int64($0[1] ?? "0") ?? 0)) }
    }

    /// Creates the market partitions of today and the next two UTC days ahead of time, so that
    /// appends do not have to create one (which takes a strong lock on `events_market`) while
    /// they hold the log lock. Appends still create a missing one as a fallback.
    public static func prepareMarketPartitions(on conn: isolated PGConnection, days: Int = 3) throws {
        try conn.execute(
            "SELECT tl_ensure_market_partition((now() AT TIME ZONE 'UTC')::date + d) FROM generate_series(0, $1::integer - 1) AS d",
            [String(days)])
    }
}

/// Applies the retention policy at start and then every `interval`, and creates the coming
/// days' market partitions ahead of time.
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
                    let logger = self.logger
                    let dropped = try await connection.withConnection { conn in
                        try RetentionPolicy.prepareMarketPartitions(on: conn)
                        return try policy.apply(on: conn, logger: logger)
                    }
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
