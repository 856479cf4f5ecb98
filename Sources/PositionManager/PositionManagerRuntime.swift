import BybitClient
import EventLog
import Foundation
import Gateway
import Hummingbird
import Logging
import PositionManagerCore
import PostgresClient
import ServiceLifecycle
import TradelogCore

/// Everything `tradelog run --only position-manager` starts, from the environment.
public struct PositionManagerRuntime {
    public let engine: PositionManagerEngine
    public let service: PositionManagerService
    public let services: [any Service]
    public let apiPort: Int?

    /// - `TRADELOG_PM_*` (see ``PositionManagerConfig/fromEnvironment(_:source:)``);
    /// - `BYBIT_ENV`, `BYBIT_API_KEY`, `BYBIT_API_SECRET`: optional, for the sync (without them the fold runs alone);
    /// - `TRADELOG_API_KEY`, `TRADELOG_POSITION_API_PORT` (default 8082, `off` disables).
    public init(settings: PGSettings, env: [String: String] = ProcessInfo.processInfo.environment, logger: Logger) throws {
        let gateway = try GatewayConfiguration.fromEnvironment(env)
        let config = try PositionManagerConfig.fromEnvironment(env)
        apiPort = try EnvironmentSetting.port(env, "TRADELOG_POSITION_API_PORT", default: 8082, source: "environment")
        var logger = logger
        logger[metadataKey: "service"] = "position-manager"
        let log = EventLog(settings: settings.with(applicationName: "tradelog:position-manager"), logger: logger)
        let rest = gateway.credentials.map {
            BybitRESTClient(environment: gateway.environment, credentials: $0, httpClient: .shared, logger: logger)
        }
        if rest == nil { logger.notice("no BYBIT_API_KEY: positions are folded from the log; sync is off") }
        let engine = PositionManagerEngine(config: config, log: log, rest: rest, logger: logger)
        let service = PositionManagerService(engine: engine, settings: settings, logger: logger)
        self.engine = engine
        self.service = service
        var services: [any Service] = [service]
        for p in [try PositionsProjection() as any Projection, try PositionSnapshotsProjection()] {
            services.append(Subscription(name: p.checkpointName, settings: settings, consumer: .projection(p), logger: logger))
        }
        if let port = apiPort {
            let queries = PGConnection(settings: settings.with(applicationName: "tradelog:position-api"), logger: logger)
            services.append(Application(
                router: PositionAPI.router(engine: engine, service: service, queries: queries, apiKey: gateway.apiKey),
                configuration: .init(address: .hostname(gateway.apiHost, port: port), serverName: "tradelog-positions"),
                logger: logger))
        }
        self.services = services
    }
}
