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
