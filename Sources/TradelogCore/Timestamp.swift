import Foundation

/// A point in time as whole microseconds since the Unix epoch, UTC.
///
/// The log stores every time with microsecond precision; keeping them as integers keeps
/// folds deterministic (no floating point, no time zones) and round-trips exactly
/// through PostgreSQL's `timestamptz`.
public struct Timestamp: Hashable, Comparable, Sendable, Codable, CustomStringConvertible {
    public var microsecondsSinceEpoch: Int64

    public init(microsecondsSinceEpoch: Int64) {
        self.microsecondsSinceEpoch = microsecondsSinceEpoch
    }

    /// Milliseconds, often straight from the exchange (`updatedTime`, `execTime`, ...), so any
    /// Int64 must be taken without trapping: the time is clamped to years 1 through 9999, which
    /// every store and text form takes (PostgreSQL's `timestamptz` and its interval arithmetic,
    /// ISO 8601 text).
    public init(millisecondsSinceEpoch ms: Int64) {
        let clamped = min(max(ms, Timestamp.earliest.microsecondsSinceEpoch / 1000), Timestamp.latest.microsecondsSinceEpoch / 1000)
        self.microsecondsSinceEpoch = clamped * 1000
    }

    /// 0001-01-01T00:00:00Z, the earliest time a millisecond count is taken as.
    public static let earliest = Timestamp(microsecondsSinceEpoch: -62_135_596_800_000_000)
    /// 9999-12-31T23:59:59.999Z, the latest.
    public static let latest = Timestamp(microsecondsSinceEpoch: 253_402_300_799_999_000)

    /// The wall clock. Only I/O edges (receive time, benchmarks) may call this;
    /// processors and projections take their time from events.
    public static func now() -> Timestamp {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Timestamp(microsecondsSinceEpoch: Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000)
    }

    public var date: Date { Date(timeIntervalSince1970: Double(microsecondsSinceEpoch) / 1_000_000) }

    public static func < (lhs: Timestamp, rhs: Timestamp) -> Bool {
        lhs.microsecondsSinceEpoch < rhs.microsecondsSinceEpoch
    }

    /// ISO 8601 in UTC with microseconds, e.g. `2024-01-02T03:04:05.123456Z`.
    public var description: String {
        let us = microsecondsSinceEpoch
        // Floor division that cannot overflow, even at Int64.min.
        let rem = us % 1_000_000
        let secs = us / 1_000_000 - (rem < 0 ? 1 : 0)
        let frac = rem < 0 ? rem + 1_000_000 : rem
        var t = time_t(secs)
        var parts = tm()
        gmtime_r(&t, &parts)
        func pad(_ v: Int32, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        let fracText = String(frac)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1, 2))-\(pad(parts.tm_mday, 2))T"
            + "\(pad(parts.tm_hour, 2)):\(pad(parts.tm_min, 2)):\(pad(parts.tm_sec, 2))."
            + String(repeating: "0", count: 6 - fracText.count) + fracText + "Z"
    }

    public init(from decoder: Decoder) throws {
        microsecondsSinceEpoch = try decoder.singleValueContainer().decode(Int64.self)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(microsecondsSinceEpoch)
    }
}
