import EventLog
import TradelogCore

/// The projections folded in memory, with no I/O: the same rows the PostgreSQL tables hold
/// (the specs' row functions and merge rules are shared with the SQL writer).
public struct InMemoryProjections: Sendable {
    private var sets: [ProjectionRowSet]
    /// Applied, not yet folded: a replay applies a few events at a time, and folding them in
    /// batches lets a spec merge a batch before it meets the rows (as the log's readers do).
    /// Folding in batches gives the rows folding one by one gives (the merges are the same).
    private var pending: [RecordedEvent] = []
    public static let batch = 4096

    /// All catalog projections, or the named ones.
    public init(names: [String] = ProjectionCatalog.names) throws {
        sets = try names.map { n in
            guard let spec = ProjectionCatalog.spec(n) else { throw UnknownProjection(name: n) }
            return ProjectionRowSet(spec: spec)
        }
    }

    /// Folds a batch of events (in log order) into every projection: now, or with the next
    /// batch (a fold error surfaces from whichever call folds).
    public mutating func apply(_ events: [RecordedEvent]) throws {
        pending += events
        if pending.count >= Self.batch { try fold() }
    }

    /// Folds what was applied and not yet folded.
    public mutating func fold() throws {
        guard !pending.isEmpty else { return }
        for i in sets.indices { try sets[i].fold(pending) }
        pending.removeAll(keepingCapacity: true)
    }

    /// The sets with everything applied folded in (a fold error surfaces here).
    private func folded() throws -> [ProjectionRowSet] {
        guard !pending.isEmpty else { return sets }
        var copy = self
        try copy.fold()
        return copy.sets
    }

    /// The rows of one projection, sorted by primary key.
    public func rows(_ name: String) throws -> [ProjectionRow]? {
        try folded().first { $0.spec.name == name }.map { RowDigests.sorted($0.spec, $0.rows) }
    }

    /// Count and digest of one projection.
    public func digest(_ name: String) throws -> RowDigest? {
        try folded().first { $0.spec.name == name }.map { RowDigests.digest($0.spec, rows: $0.rows) }
    }

    /// Count and digest per projection name.
    public func digests() throws -> [String: RowDigest] {
        Dictionary(uniqueKeysWithValues: try folded().map { ($0.spec.name, RowDigests.digest($0.spec, rows: $0.rows)) })
    }

    /// One projection's rows after folding `events` (a pure function).
    public static func fold(_ spec: ProjectionSpec, _ events: [RecordedEvent]) throws -> [ProjectionRow] {
        var set = ProjectionRowSet(spec: spec)
        try set.fold(events)
        return RowDigests.sorted(spec, set.rows)
    }
}
