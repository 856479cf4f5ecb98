import EventLog
import TradelogCore

/// The projections folded in memory, with no I/O: the same rows the PostgreSQL tables hold
/// (the specs' row functions and merge rules are shared with the SQL writer).
public struct InMemoryProjections: Sendable {
    public private(set) var sets: [ProjectionRowSet]

    /// All catalog projections, or the named ones.
    public init(names: [String] = ProjectionCatalog.names) throws {
        sets = try names.map { n in
            guard let spec = ProjectionCatalog.spec(n) else { throw UnknownProjection(name: n) }
            return ProjectionRowSet(spec: spec)
        }
    }

    /// Folds a batch of events (in log order) into every projection.
    public mutating func apply(_ events: [RecordedEvent]) throws {
        for i in sets.indices { try sets[i].fold(events) }
    }

    /// The rows of one projection, sorted by primary key.
    public func rows(_ name: String) -> [ProjectionRow]? {
        sets.first { $0.spec.name == name }.map { RowDigests.sorted($0.spec, $0.rows) }
    }

    /// Count and digest of one projection.
    public func digest(_ name: String) -> RowDigest? {
        sets.first { $0.spec.name == name }.map { RowDigests.digest($0.spec, rows: $0.rows) }
    }

    /// Count and digest per projection name.
    public func digests() -> [String: RowDigest] {
        Dictionary(uniqueKeysWithValues: sets.map { ($0.spec.name, RowDigests.digest($0.spec, rows: $0.rows)) })
    }

    /// One projection's rows after folding `events` (a pure function).
    public static func fold(_ spec: ProjectionSpec, _ events: [RecordedEvent]) throws -> [ProjectionRow] {
        var set = ProjectionRowSet(spec: spec)
        try set.fold(events)
        return RowDigests.sorted(spec, set.rows)
    }
}
