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

/// A `KEY=VALUE` map read by one configuration, remembering which keys it asked for: every
/// key a reader looks up is one it knows, so a map read by none of them names a misspelled or
/// foreign setting (``ConfigurationKeys``).
public final class SettingsReader {
    public let values: [String: String]
    public private(set) var asked: Set<String> = []

    public init(_ values: [String: String]) { self.values = values }

    public subscript(key: String) -> String? {
        asked.insert(key)
        return values[key]
    }

    /// Refuses the first key (in order) with `prefix` that was never asked for: a misspelled
    /// setting would silently leave its default in force.
    public func refuseUnknown(prefix: String, of service: String, source: String) throws {
        if let unknown = values.keys.filter({ $0.hasPrefix(prefix) && !asked.contains($0) }).sorted().first {
            throw ConfigurationError(field: unknown, source: source,
                                     problem: "is not a setting of the \(service) (misspelled?); README lists its settings")
        }
    }
}

/// The keys a configuration reads: its reading function run over an empty map (which asks for
/// every key it knows and finds none).
public enum ConfigurationKeys {
    public static func known(by read: (SettingsReader) throws -> Void) -> Set<String> {
        let r = SettingsReader([:])
        try? read(r)
        return r.asked
    }
}

/// Text from outside (an API body) that goes into an event.
public enum EventText {
    /// One line of printable text of at most `maxBytes` UTF-8 bytes: no control characters
    /// (U+0000, which the log refuses, tabs and line breaks included), no format characters
    /// (bidirectional overrides, zero-width ones) and no line or paragraph separators.
    public static func isPrintable(_ text: String, maxBytes: Int) -> Bool {
        text.utf8.count <= maxBytes && !text.unicodeScalars.contains {
            switch $0.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: return true
            default: return false
            }
        }
    }
}
