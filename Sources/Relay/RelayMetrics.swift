import Synchronization

/// Per-queue counters of a relay: what it published, what the broker confirmed or nacked,
/// and how far the queue's checkpoint is behind the log head.
public struct QueueMetrics: Sendable, Hashable {
    public var queue: String
    public var published: Int64 = 0
    public var confirmed: Int64 = 0
    public var nacked: Int64 = 0
    public var checkpoint: Int64 = 0
    /// Log head − checkpoint, as of the last save.
    public var lag: Int64 = 0

    public init(queue: String) { self.queue = queue }
}

/// Thread-safe metrics shared between the relay loop and whoever reads them.
public final class RelayMetrics: Sendable {
    private let state = Mutex<[String: QueueMetrics]>([:])

    public init() {}

    /// Every queue's metrics, sorted by queue.
    public var snapshot: [QueueMetrics] { state.withLock { $0.values.sorted { $0.queue < $1.queue } } }

    public func update(_ queue: String, _ change: (inout QueueMetrics) -> Void) {
        state.withLock { all in
            var m = all[queue] ?? QueueMetrics(queue: queue)
            change(&m)
            all[queue] = m
        }
    }

    /// Sets counters (as loaded from the database at start).
    func load(_ rows: [QueueMetrics]) {
        state.withLock { all in for r in rows { all[r.queue] = r } }
    }
}
