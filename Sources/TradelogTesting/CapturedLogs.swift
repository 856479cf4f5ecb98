import Foundation
import Logging

/// Log lines kept for a test to look for (message and metadata).
public final class CapturedLogs: @unchecked Sendable {
    private let lock = NSLock()
    private var stored: [String] = []

    public init() {}

    public func add(_ line: String) { lock.withLock { stored.append(line) } }
    public var lines: [String] { lock.withLock { stored } }
    public func contains(_ text: String) -> Bool { lines.contains { $0.contains(text) } }

    /// A logger whose every line lands here.
    public func logger(_ label: String = "test") -> Logger {
        Logger(label: label) { _ in CapturingHandler(box: self) }
    }
}

/// Keeps every log line (level, message and metadata) in a ``CapturedLogs``.
public struct CapturingHandler: LogHandler {
    public let box: CapturedLogs
    public var logLevel: Logger.Level = .trace
    public var metadata: Logger.Metadata = [:]

    public init(box: CapturedLogs) { self.box = box }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        let all = metadata.merging(event.metadata ?? [:]) { $1 }
        box.add("\(event.level) \(event.message) \(all.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " "))")
    }
}
