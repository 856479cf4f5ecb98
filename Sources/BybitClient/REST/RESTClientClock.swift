import TradelogCore

/// The REST client's view of time: the wall clock and a sleep. Injected so tests can skew
/// the clock (to provoke 10002) or observe waits.
public struct RESTClientClock: Sendable {
    /// Local wall clock, µs since the epoch.
    public var nowMicros: @Sendable () -> Int64
    /// Sleeps `milliseconds`; throws when the task is cancelled.
    public var sleep: @Sendable (_ milliseconds: Int64) async throws -> Void

    public init(nowMicros: @escaping @Sendable () -> Int64,
                sleep: @escaping @Sendable (_ milliseconds: Int64) async throws -> Void) {
        self.nowMicros = nowMicros
        self.sleep = sleep
    }

    /// The host clock and `Task.sleep`.
    public static let system = RESTClientClock(
        nowMicros: { Timestamp.now().microsecondsSinceEpoch },
        sleep: { ms in try await Task.sleep(for: .milliseconds(ms)) })

    /// The host clock shifted by `milliseconds` (a badly set host clock, for tests).
    public static func skewed(by milliseconds: Int64) -> RESTClientClock {
        RESTClientClock(
            nowMicros: { Timestamp.now().microsecondsSinceEpoch + milliseconds * 1000 },
            sleep: { ms in try await Task.sleep(for: .milliseconds(ms)) })
    }

    var nowMs: Int64 { nowMicros() / 1000 }
}
