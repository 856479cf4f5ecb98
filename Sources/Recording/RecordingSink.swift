import Foundation
import Synchronization
import TradelogCore

/// A recording shared by the gateway's streams (and its REST client): entries are written in
/// the order they arrive, flushed at most every `flushEvery` entries and on close.
public final class RecordingSink: Sendable {
    private final class Box: @unchecked Sendable {
        let writer: RecordingWriter
        init(_ w: RecordingWriter) { writer = w }
    }

    private let box: Mutex<Box?>
    public let path: String
    private let flushEvery: Int64

    public init(path: String, info: [String: String], flushEvery: Int64 = 10_000) throws {
        self.path = path
        self.flushEvery = flushEvery
        let writer = try RecordingWriter(path: path, header: .header(t: Timestamp.now().microsecondsSinceEpoch, info: info))
        box = Mutex(Box(writer))
    }

    /// Appends; a write error is reported once and stops the recording (never the gateway).
    public func append(_ entry: RecordEntry) {
        box.withLock { b in
            guard let w = b?.writer else { return }
            do {
                let seq = try w.append(entry)
                if seq % flushEvery == 0 { try w.flush() }
            } catch {
                FileHandle.standardError.write(Data("recording to \(path) stopped: \(error)\n".utf8))
                b = nil
            }
        }
    }

    public var count: Int64 { box.withLock { $0?.writer.count ?? 0 } }

    public func close() throws {
        try box.withLock { b in
            defer { b = nil }
            try b?.writer.close()
        }
    }
}
