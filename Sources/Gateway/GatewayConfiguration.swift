import Bybit
import Foundation
import TradelogCore

/// Everything the gateway needs, from the environment (or set by code in tests).
public struct GatewayConfiguration: Sendable {
    /// Names the subscription stream (`gateway.subscriptions-NAME`) and the connection markers.
    public var name = "gateway"
    public var environment: BybitEnvironment
    /// Needed for the private stream only; never logged.
    public var credentials: BybitCredentials?
    /// Subscriptions from the configuration, added (as events) when missing at start.
    public var subscriptions: [SubscriptionKey] = []
    /// With credentials, the account's private topics the order and position managers need
    /// (``accountTopics``) are added at start when missing, as seed 000's order manager
    /// subscribes `order` itself: without them no fill, order update or wallet reaches the log.
    /// So one removed through the API comes back at the next start, unless this is off.
    public var subscribeAccountTopics = true
    /// The private topics added with credentials, with the service that needs each.
    public static let accountTopics: [(topic: String, channelType: String, requestedBy: String)] = [
        ("order", "order", "order-manager"), ("execution", "execution", "order-manager"),
        ("wallet", "balance", "order-manager"), ("position", "position", "position-manager"),
    ]
    /// `X-API-Key` for the HTTP API; nil refuses every API call.
    public var apiKey: String?
    public var apiHost = "127.0.0.1"
    /// nil: no HTTP API; 0: any free port (tests).
    public var apiPort: Int? = 8080
    /// Events held in memory while the log is unavailable before new ones are dropped.
    public var bufferCapacity = 500_000
    public var maxBatch = 4_000
    public var initialBackoffMs: Int64 = 5_000
    public var maximumBackoffMs: Int64 = 60_000
    public var pingIntervalMs: Int64 = 20_000
    public var deadAfterMs: Int64 = 35_000
    /// Also write every raw frame to this recording (the replay-fixture format).
    public var recordPath: String?

    public init(environment: BybitEnvironment) {
        self.environment = environment
    }

    public var subscriptionStream: String { "gateway.subscriptions-\(name)" }
    public var connectionStream: String { "gateway.connections-\(name)" }
    public var healthStream: String { "gateway.health-\(name)" }

    /// `BYBIT_ENV` (mainnet, testnet, demo or a URL; default testnet), `BYBIT_API_KEY` +
    /// `BYBIT_API_SECRET`, `TRADELOG_GATEWAY_SUBSCRIPTIONS` (`linear:orderbook.50.BTCUSDT,...`),
    /// `TRADELOG_API_KEY`, `TRADELOG_API_PORT` (default 8080; `off` disables the API),
    /// `TRADELOG_API_HOST` (default 127.0.0.1),
    /// `TRADELOG_GATEWAY_BUFFER` (events, default 500000), `TRADELOG_GATEWAY_NAME`,
    /// `TRADELOG_GATEWAY_ACCOUNT_TOPICS` (`on`, the default, or `off`: ``subscribeAccountTopics``).
    /// `BYBIT_API_KEY` + `BYBIT_API_SECRET`: both or neither.
    public static func credentials(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> BybitCredentials? {
        let key = env["BYBIT_API_KEY"] ?? ""
        let secret = env["BYBIT_API_SECRET"] ?? ""
        guard !key.isEmpty || !secret.isEmpty else { return nil }
        guard !key.isEmpty, !secret.isEmpty else {
            throw ConfigurationError(field: key.isEmpty ? "BYBIT_API_KEY" : "BYBIT_API_SECRET", source: "environment",
                                     problem: "is empty while the other one is set: give both or neither")
        }
        return BybitCredentials(apiKey: key, secret: secret)
    }

    public static func fromEnvironment(_ env: [String: String] = ProcessInfo.processInfo.environment) throws -> GatewayConfiguration {
        let source = "environment"
        let envName = env["BYBIT_ENV"].flatMap { $0.isEmpty ? nil : $0 } ?? "testnet"
        let environment = try BybitEnvironment.parse(envName, field: "BYBIT_ENV", source: source)
        var c = GatewayConfiguration(environment: environment)
        c.credentials = try credentials(env)
        if let list = env["TRADELOG_GATEWAY_SUBSCRIPTIONS"] {
            c.subscriptions = try parseSubscriptionList(list, source: "\(source) TRADELOG_GATEWAY_SUBSCRIPTIONS")
        }
        if let v = env["TRADELOG_GATEWAY_ACCOUNT_TOPICS"] {
            guard let on = ["on": true, "off": false, "true": true, "false": false, "1": true, "0": false][v.lowercased()] else {
                throw ConfigurationError(field: "TRADELOG_GATEWAY_ACCOUNT_TOPICS", source: source, problem: "\(v.debugDescription) is not on or off")
            }
            c.subscribeAccountTopics = on
        }
        if let apiKey = env["TRADELOG_API_KEY"], !apiKey.isEmpty { c.apiKey = apiKey }
        c.apiPort = try EnvironmentSetting.port(env, "TRADELOG_API_PORT", default: c.apiPort, source: source)
        if let host = env["TRADELOG_API_HOST"], !host.isEmpty { c.apiHost = host }
        if let b = env["TRADELOG_GATEWAY_BUFFER"] {
            guard let n = Int(b), n >= 1_000 else {
                throw ConfigurationError(field: "TRADELOG_GATEWAY_BUFFER", source: source, problem: "\(b.debugDescription) is not a number ≥ 1000")
            }
            c.bufferCapacity = n
        }
        if let name = env["TRADELOG_GATEWAY_NAME"], !name.isEmpty {
            guard name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" || $0 == "." }) else {
                throw ConfigurationError(field: "TRADELOG_GATEWAY_NAME", source: source, problem: "use letters, digits, _ and . only")
            }
            c.name = name
        }
        return c
    }
}
