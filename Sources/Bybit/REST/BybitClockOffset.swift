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
        // An absurd server time (from an answer we do not control) must not trap: the offset
        // is bounded to a century either way (a simulator may play a recording's clock, months
        // behind; nothing real is further).
        let (difference, overflow) = serverTimeMs.subtractingReportingOverflow(midpoint)
        offsetMs = overflow ? (serverTimeMs < midpoint ? -Self.bound : Self.bound) : min(max(difference, -Self.bound), Self.bound)
        roundTripMs = roundTrip
    }

    /// A century in ms: the largest offset taken.
    static let bound: Int64 = 100 * 366 * 86_400_000

    /// The timestamp to send for local time `localMs`.
    public func serverTime(localMs: Int64) -> Int64 {
        let (t, overflow) = localMs.addingReportingOverflow(offsetMs)
        return overflow ? (offsetMs < 0 ? Int64.min : Int64.max) : t
    }
}
