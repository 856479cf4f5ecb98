import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresClient
import TradelogCore

@main
struct Tradelog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tradelog",
        abstract: "An event-sourced trading backend for Bybit: one PostgreSQL event log, services as projections over it.",
        subcommands: [Migrate.self, Status.self, Run.self, Retention.self, Generate.self, Decode.self, Record.self, SimulateExchange.self, Bench.self, Audit.self, ReplayCommand.self, FixtureCommand.self, SendSignals.self, Summary.self, Rebuild.self, ProjectionsCommand.self])
}

/// Options every command that talks to PostgreSQL takes.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "libpq connection URI (default: $DATABASE_URL, else \(PGSettings.defaultURL)).")
    var url: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: $TRADELOG_LOG_LEVEL, else info).")
    var logLevel: String?

    func settings(_ app: String = "tradelog") -> PGSettings {
        if let url { return PGSettings(url: url, applicationName: app) }
        return PGSettings.fromEnvironment(applicationName: app)
    }

    func bootstrapLogging() {
        let raw = logLevel ?? ProcessInfo.processInfo.environment["TRADELOG_LOG_LEVEL"] ?? "info"
        let level = Logger.Level(rawValue: raw.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply the pending SQL files of schema/ (each in one transaction); a no-op when up to date.")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "The migrations folder (default: $TRADELOG_SCHEMA_DIR, else ./schema or a parent's).")
    var schemaDir: String?

    func run() async throws {
        db.bootstrapLogging()
        let dir = schemaDir.map { URL(fileURLWithPath: $0) } ?? ResourceDirectory.schema
        let conn = PGConnection(settings: db.settings("tradelog:migrate"))
        let applied = try await Migrator(directory: dir).migrate(on: conn)
        try await conn.withConnection { try RetentionPolicy.prepareMarketPartitions(on: $0) }
        if applied.isEmpty {
            print("schema is up to date (\(dir.path))")
        } else {
            for name in applied { print("applied \(name)") }
        }
    }
}

struct Retention: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Drop market data (market.* categories) older than the retention age; domain events are kept.")

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Days of market data to keep (default: $TRADELOG_MARKET_RETENTION_DAYS, else 7).")
    var marketDays: Int?

    func run() async throws {
        db.bootstrapLogging()
        var policy = try RetentionPolicy.fromEnvironment()
        if let marketDays {
            guard marketDays >= 1 else { throw ValidationError("--market-days must be at least 1") }
            policy.marketDays = marketDays
        }
        let conn = PGConnection(settings: db.settings("tradelog:retention"))
        let chosen = policy
        let dropped = try await conn.withConnection { conn in
            try RetentionPolicy.prepareMarketPartitions(on: conn)
            return try chosen.apply(on: conn)
        }
        if dropped.isEmpty {
            print("nothing older than \(policy.marketDays) days")
        } else {
            for name in dropped { print("dropped \(name)") }
        }
    }
}
