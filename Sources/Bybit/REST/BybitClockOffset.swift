/// The difference between Bybit's clock and ours. Requests carry `local + offset` so that
/// `server − recvWindow ≤ timestamp < server + 1000` holds even when the host clock drifts.
public struct BybitClockOffset: Sendable, Hashable {
    /// server − local, in ms.
    public private(set) var offsetMs: Int64
    /// Round trip of the measurement that set the offset (its uncertainty is half of it).
    public private(set) var roundTripMs: Int64?

    public init(offsetMs: Int64 = 0) {
        self.offsetMs = offsetMs
        self.roundTripMs = nil
    }

    /// Sets the offset from one server-time reading taken between `sentAtMs` and
    /// `receivedAtMs` (local clock): the server read its clock about mid-way.
    public mutating func record(serverTimeMs: Int64, sentAtMs: Int64, receivedAtMs: Int64) {
        let roundTrip = max(0, receivedAtMs - sentAtMs)
        let midpoint = sentAtMs + roundTrip / 2
        offsetMs = serverTimeMs - midpoint
        roundTripMs = roundTrip
    }

    /// The timestamp to send for local time `localMs`.
    public func serverTime(localMs: Int64) -> Int64 {
        localMs + offsetMs
    }
}
