import AMQP
import Bybit
import BybitClient
import EventLog
import Foundation
import Gateway
import Hummingbird
import Logging
import OrderManagerCore
import PostgresClient
import Recording
import Relay
import ServiceLifecycle
import TradelogCore

/// Everything `tradelog run --only order-manager` starts, from the environment.
public struct OrderManagerRuntime {
    public let engine: OrderManagerEngine
    public let service: OrderManagerService
    public let services: [any Service]
    public let apiPort: Int?

    /// - `BYBIT_ENV`, `BYBIT_API_KEY`, `BYBIT_API_SECRET` (required: orders are private),
    ///   `TRADELOG_API_KEY`, `TRADELOG_ORDER_API_PORT` (default 8081, `off` disables),
    ///   `TRADELOG_OM_*` (see ``OrderManagerConfig/fromEnvironment(_:source:)``), `AMQP_URL`.
    public init(settings: PGSettings, env: [String: String] = ProcessInfo.processInfo.environment,
                withIntake: Bool = true, recording: RecordingSink? = nil, logger: Logger) throws {
        let gateway = try GatewayConfiguration.fromEnvironment(env)
        guard let credentials = gateway.credentials else {
            throw ConfigurationError(field: "BYBIT_API_KEY", source: "environment",
                                     problem: "the order manager places orders and needs BYBIT_API_KEY and BYBIT_API_SECRET")
        }
        var config = try OrderManagerConfig.fromEnvironment(env)
        if env["TRADELOG_OM_VENUE"] == nil {
            switch gateway.environment {
            case .mainnet: config.venue = .mainnet
            case .testnet: config.venue = .testnet
            case .demo: config.venue = .demo
            default: config.venue = .simulator
            }
        }
        apiPort = try EnvironmentSetting.port(env, "TRADELOG_ORDER_API_PORT", default: 8081, source: "environment")
        var logger = logger
        logger[metadataKey: "service"] = "order-manager"
        let log = EventLog(settings: settings.with(applicationName: "tradelog:order-manager"), logger: logger)
        let rest = BybitRESTClient(environment: gateway.environment, credentials: credentials, httpClient: .shared, logger: logger)
        let engine = OrderManagerEngine(config: config, log: log, rest: rest, logger: logger)
        let service = OrderManagerService(engine: engine, settings: settings, logger: logger)
        self.engine = engine
        self.service = service
        var services: [any Service] = [service]
        if withIntake {
            let amqp = try AMQPSettings.fromEnvironment(env)
            var options = SignalIntakeOptions()
            options.recording = recording
            services.append(SignalIntake(amqp: amqp, sink: OrderManagerSink(engine: engine, log: log), options: options, logger: logger))
        }
        for p in [try OrdersProjection() as any Projection, try SignalOrderRelationshipsProjection()] {
            services.append(Subscription(name: p.checkpointName, settings: settings, consumer: .projection(p), logger: logger))
        }
        if let port = apiPort {
            let queries = PGConnection(settings: settings.with(applicationName: "tradelog:order-api"), logger: logger)
            let app = Application(
                router: OrderAPI.router(engine: engine, service: service, queries: queries, apiKey: gateway.apiKey,
                                        categories: OrderManagerServiceOptions().categories),
                configuration: .init(address: .hostname(gateway.apiHost, port: port), serverName: "tradelog-orders"),
                logger: logger)
            services.append(app)
        }
        self.services = services
    }
}
