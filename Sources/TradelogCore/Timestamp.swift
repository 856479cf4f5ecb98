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
    /// Int64 must be taken without trapping: a time beyond what microseconds hold saturates,
    /// and the result is clamped to what PostgreSQL's `timestamptz` holds (from 4714 BC;
    /// `Int64.max` microseconds, in AD 294247, is still within it) so it can be stored.
    public init(millisecondsSinceEpoch ms: Int64) {
        let (us, overflow) = ms.multipliedReportingOverflow(by: 1000)
        if overflow {
            self.microsecondsSinceEpoch = ms < 0 ? Timestamp.earliestStorable.microsecondsSinceEpoch : Int64.max
        } else {
            self.microsecondsSinceEpoch = max(us, Timestamp.earliestStorable.microsecondsSinceEpoch)
        }
    }

    /// The earliest time PostgreSQL's `timestamptz` holds: 4714-11-24 00:00:00 BC, UTC.
    public static let earliestStorable = Timestamp(microsecondsSinceEpoch: -210_866_803_200_000_000)

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
