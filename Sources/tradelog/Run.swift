import ArgumentParser
import EventLog
import Foundation
import Gateway
import Logging
import AMQP
import Recording
import Relay
import OrderManager
import PositionManager
import PostgresClient
import ServiceLifecycle

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run tradelog's services until SIGINT/SIGTERM.",
        discussion: """
            Services so far: the gateway (Bybit WebSockets into the log, with the subscription \
            API), the relay (the log to the documented RabbitMQ queues, at AMQP_URL), the signal \
            intake (model-service.trading_signals into the log, rejects to its .dlq), the order \
            manager (with BYBIT_API_KEY; API on TRADELOG_ORDER_API_PORT, default 8081), the position \
            manager (positions, portfolio and snapshots from the log; API on TRADELOG_POSITION_API_PORT, \
            default 8082; TRADELOG_PM_* intervals), the category_stats projection (shown by `status`) \
            and market-data retention (which also makes the coming days' market partitions). The gateway is configured by environment variables: \
            BYBIT_ENV (mainnet, testnet, demo or a URL such as a simulator's; default testnet), \
            BYBIT_API_KEY and BYBIT_API_SECRET (private topics), TRADELOG_GATEWAY_SUBSCRIPTIONS \
            (channel:topic,...), TRADELOG_API_KEY and TRADELOG_API_PORT (default 8080, or off), \
            TRADELOG_GATEWAY_BUFFER. Each log subscription holds an advisory-lock lease: a second \
            process running the same service stands by.
            """)

    /// `--only` names the seeds use for tradelog's services.
    static let seedNames = ["ws-gateway": "gateway"]

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Run only this service: gateway (or ws-gateway), relay, signals, order-manager, position-manager, projections or retention (default: all; with all, the order manager takes the signals when BYBIT_API_KEY is set).")
    var only: String?

    @Option(help: "Record the session to this file (LZ4 JSON lines): the gateway's frames and REST answers and the signals the order manager takes, ready for `tradelog replay`.")
    var record: String?

    func run() async throws {
        db.bootstrapLogging()
        let logger = Logger(label: "tradelog")
        let settings = db.settings("tradelog")
        let probe = PGConnection(settings: settings)
        // PostgreSQL not up yet (a machine starting): wait for it, logged; a database without the
        // log is a mistake to report at once.
        var delayMs = 500
        while true {
            do {
                guard try await probe.scalar("SELECT to_regclass('log_head') IS NOT NULL") == "t" else {
                    throw ValidationError("database \(settings.redactedURL) has no event log yet: run `tradelog migrate` first")
                }
                break
            } catch let error as PGError where error.isConnectionProblem {
                logger.warning("PostgreSQL unavailable; retrying", metadata: ["pg.url": "\(settings.redactedURL)", "error": "\(error)",
                                                                              "retry.in.ms": "\(delayMs)"])
                try await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 15_000)
            }
        }
        await probe.close()

        let known = ["gateway", "relay", "signals", "order-manager", "position-manager", "projections", "retention"]
        // The seeds' service names (docker-compose files and scripts written for them).
        let only = self.only.map { Self.seedNames[$0] ?? $0 }
        if let only, !known.contains(only) {
            throw ValidationError("--only \(only): unknown service (known: \(known.joined(separator: ", ")))")
        }
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = []
        let recording = try record.map { path in
            try RecordingSink(path: path, info: ["source": "tradelog run", "services": only ?? "all"])
        }
        // The gateway is registered last so that it stops first (a group stops its services in
        // reverse order): it stops taking frames and drains its queue into the log while the
        // shutdown budget is whole, not after the other services have used it.
        var gateway: GatewayService?
        if only == nil || only == "gateway" {
            let configuration = try GatewayConfiguration.fromEnvironment()
            gateway = try GatewayService(
                configuration: configuration, log: EventLog(settings: settings.with(applicationName: "tradelog:gateway")), logger: logger,
                recording: recording)
        }
        // The order manager consumes the signals itself (deciding in the same append); without
        // API credentials `run` keeps the plain intake, which only logs them.
        let orderManager = only == "order-manager"
            || only == nil && !(ProcessInfo.processInfo.environment["BYBIT_API_KEY"] ?? "").isEmpty
        if orderManager {
            let runtime = try OrderManagerRuntime(settings: settings, recording: recording, logger: logger)
            for s in runtime.services { services.append(.init(service: s)) }
        }
        if only == nil || only == "position-manager" {
            for s in try PositionManagerRuntime(settings: settings, logger: logger).services { services.append(.init(service: s)) }
        }
        if only == nil || only == "relay" || only == "signals" {
            let amqp = try AMQPSettings.fromEnvironment()
            if only != "signals" {
                services.append(.init(service: RelayService(amqp: amqp, settings: settings, logger: logger)))
            }
            if only != "relay" && !orderManager {
                if only == nil {
                    logger.warning("order manager off (BYBIT_API_KEY is not set): signals are recorded as SignalReceived, not traded")
                }
                let log = EventLog(settings: settings.with(applicationName: "tradelog:signals"))
                var options = SignalIntakeOptions()
                options.recording = recording
                services.append(.init(service: SignalIntake(amqp: amqp, sink: LogSignalSink(log: log), options: options, logger: logger)))
            }
        }
        if only == nil || only == "projections" {
            let projection = try CategoryStatsProjection()
            services.append(.init(service: Subscription(
                name: projection.checkpointName, settings: settings, consumer: .projection(projection), logger: logger)))
        }
        if only == nil || only == "retention" {
            services.append(.init(service: RetentionService(policy: try RetentionPolicy.fromEnvironment(), settings: settings, logger: logger)))
        }
        if let gateway { services.append(.init(service: gateway)) }
        logger.info("tradelog running", metadata: ["pg.url": "\(settings.redactedURL)", "services": "\(only ?? known.joined(separator: ","))"])
        var configuration = ServiceGroupConfiguration(
            services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        // A service that cannot finish (a peer that never answers) is cancelled after 45 s (the
        // gateway's drain into the log may take its 30 s first).
        configuration.maximumGracefulShutdownDuration = .seconds(45)
        let group = ServiceGroup(configuration: configuration)
        defer {
            if let recording {
                do {
                    try recording.close()
                    logger.info("session recorded", metadata: ["recording.path": "\(recording.path)", "recording.entries": "\(recording.count)"])
                } catch {
                    logger.error("recording not closed cleanly", metadata: ["recording.path": "\(recording.path)", "error": "\(error)"])
                }
            }
        }
        try await group.run()
    }
}
