import Foundation
import TradelogCore

/// Where and how to reach RabbitMQ, from an `amqp://` URL (`AMQP_URL`).
public struct AMQPSettings: Sendable, Hashable, CustomStringConvertible {
    public static let defaultURL = "amqp://guest:guest@127.0.0.1:5672/%2f"

    public var host: String
    public var port: Int
    public var virtualHost: String
    public var user: String
    public var password: String
    /// Seconds; rabbitmq-c sends and checks heartbeats inside its calls only, so every
    /// connection here makes a call at least every few seconds.
    public var heartbeat: Int
    public var connectTimeout: Duration

    public init(host: String = "127.0.0.1", port: Int = 5672, virtualHost: String = "/", user: String = "guest",
                password: String = "guest", heartbeat: Int = 30, connectTimeout: Duration = .seconds(5)) {
        self.host = host
        self.port = port
        self.virtualHost = virtualHost
        self.user = user
        self.password = password
        self.heartbeat = heartbeat
        self.connectTimeout = connectTimeout
    }

    /// Parses `amqp://user:password@host:port/vhost?heartbeat=30&connection_timeout=5000`.
    /// The vhost is percent-decoded (`%2f` is `/`); an empty path means `/`.
    public init(url text: String, source: String = "AMQP_URL") throws {
        func bad(_ problem: String) -> ConfigurationError {
            ConfigurationError(field: "AMQP_URL", source: source, problem: problem)
        }
        guard let components = URLComponents(string: text), let scheme = components.scheme else {
            throw bad("not a URL (expected amqp://user:password@host:port/vhost)")
        }
        guard scheme == "amqp" else {
            throw bad("scheme \(scheme) is not supported (only amqp://; TLS is not built in)")
        }
        self.init()
        if let h = components.host, !h.isEmpty { host = h }
        if let p = components.port {
            guard (1...65535).contains(p) else { throw bad("port \(p) is out of range") }
            port = p
        }
        if let u = components.user { user = u.removingPercentEncoding ?? u }
        if let p = components.password { password = p.removingPercentEncoding ?? p }
        let path = components.percentEncodedPath
        if path.count > 1 {
            let raw = String(path.dropFirst())
            guard !raw.contains("/") else { throw bad("the virtual host must be one path segment (use %2f for /)") }
            virtualHost = raw.removingPercentEncoding ?? raw
        }
        for item in components.queryItems ?? [] {
            switch item.name {
            case "heartbeat":
                guard let v = item.value.flatMap(Int.init), (0...3600).contains(v) else { throw bad("heartbeat must be 0…3600 seconds") }
                heartbeat = v
            case "connection_timeout":
                guard let v = item.value.flatMap(Int.init), v > 0 else { throw bad("connection_timeout must be milliseconds > 0") }
                connectTimeout = .milliseconds(v)
            default:
                throw bad("unknown option \(item.name) (known: heartbeat, connection_timeout)")
            }
        }
    }

    /// `AMQP_URL`, else the local default.
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws -> AMQPSettings {
        try AMQPSettings(url: environment["AMQP_URL"].flatMap { $0.isEmpty ? nil : $0 } ?? defaultURL)
    }

    /// The URL without the password.
    public var redactedURL: String {
        let vhost = virtualHost.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? virtualHost
        return "amqp://\(user):***@\(host):\(port)/\(vhost)"
    }

    public var description: String { redactedURL }

    public func with(virtualHost: String) -> AMQPSettings {
        var copy = self
        copy.virtualHost = virtualHost
        return copy
    }
}
