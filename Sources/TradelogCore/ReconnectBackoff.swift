/// Exponential reconnect backoff (the Bybit streams use 5 s, 10 s, 20 s, 40 s, then 60 s, seed 001;
/// RabbitMQ connections start lower), reset once a connection has been up and working.
public struct ReconnectBackoff: Sendable {
    public var initialMs: Int64
    public var maximumMs: Int64
    public private(set) var attempt = 0

    public init(initialMs: Int64 = 5_000, maximumMs: Int64 = 60_000) {
        self.initialMs = initialMs
        self.maximumMs = maximumMs
    }

    /// The delay before the next attempt.
    public mutating func next() -> Int64 {
        defer { attempt += 1 }
        let shift = min(attempt, 20)
        return min(initialMs << Int64(shift), maximumMs)
    }

    public mutating func reset() { attempt = 0 }
}
