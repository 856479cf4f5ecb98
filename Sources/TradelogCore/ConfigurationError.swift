/// A setting that cannot be used: names the setting and where it came from.
public struct ConfigurationError: Error, CustomStringConvertible, Sendable {
    /// The setting, e.g. `TRADELOG_MARKET_RETENTION_DAYS` or `risk.max_order_notional`.
    public var field: String
    /// Where it was read: an environment variable, a file path, a command-line option.
    public var source: String
    public var problem: String

    public init(field: String, source: String, problem: String) {
        self.field = field
        self.source = source
        self.problem = problem
    }

    public var description: String { "\(source): \(field): \(problem)" }
}

/// Settings several services read from their environment alike.
public enum EnvironmentSetting {
    /// A listening port: a number in 0...65535, or `off` for none; absent gives `defaultPort`.
    /// Anything else is a ``ConfigurationError`` naming `field`.
    public static func port(_ env: [String: String], _ field: String, default defaultPort: Int?, source: String) throws -> Int? {
        guard let text = env[field] else { return defaultPort }
        if text == "off" { return nil }
        guard let p = Int(text), (0...65535).contains(p) else {
            throw ConfigurationError(field: field, source: source, problem: "\(text.debugDescription) is not a port number or off")
        }
        return p
    }
}
