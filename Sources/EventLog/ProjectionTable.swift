import Foundation
import PostgresClient
import TradelogCore

/// The SQL type of a projection column, which fixes the one text form its values take in
/// Swift (and in row digests).
public enum ProjectionColumnType: String, Sendable {
    /// Any text.
    case text
    /// `Decimal`'s description, e.g. `-0.5` (trailing zeros are not significant).
    case numeric
    /// A decimal integer.
    case bigint, integer
    /// `t` or `f`.
    case boolean
    /// Microseconds since the Unix epoch, as a decimal integer.
    case timestamptz
    /// JSON text (compared canonically).
    case jsonb
}

/// How a new row's value for a column meets the value already stored under the same key:
/// the one place `ON CONFLICT` semantics are written down, for both the SQL writer and
/// the in-memory fold.
public enum ProjectionMerge: Sendable {
    /// Part of the primary key.
    case key
    /// The newest value wins (`col = EXCLUDED.col`).
    case replace
    /// The first value stays (not updated on conflict).
    case keep
    /// The newest non-NULL value wins (`col = COALESCE(EXCLUDED.col, t.col)`).
    case coalesce
    /// Integer sum (`col = t.col + EXCLUDED.col`).
    case add
}

public struct ProjectionColumn: Sendable {
    public var name: String
    public var type: ProjectionColumnType
    public var merge: ProjectionMerge
    /// Holds a log position: left out of row digests, so that a session's digest does not
    /// depend on where in a log it lands.
    public var isLogPosition: Bool

    public init(_ name: String, _ type: ProjectionColumnType, _ merge: ProjectionMerge, logPosition: Bool = false) {
        self.name = name
        self.type = type
        self.merge = merge
        self.isLogPosition = logPosition
    }
}

/// One row: a value (in its column type's text form) or nil (NULL) per column.
public typealias ProjectionRow = [String?]

/// What a table projection is: its columns and key, the event types it folds, and the pure
/// function from one event to the rows it contributes. Both the PostgreSQL writer and the
/// in-memory fold are derived from it, so they cannot drift apart.
public struct ProjectionSpec: Sendable {
    /// The name users query (`orders`); versions live in tables `orders_v1`, `orders_v2`, ...
    public var name: String
    public var columns: [ProjectionColumn]
    /// Primary-key columns in key order (also the row order of digests).
    public var primaryKey: [String]
    /// The event types folded, or nil for every event.
    public let eventTypes: [String]?
    /// The rows one event contributes (pure: no clock, no I/O).
    public var rows: @Sendable (RecordedEvent) throws -> [ProjectionRow]
    /// Optionally, the rows of a whole batch already merged by key (in first-seen key order):
    /// for projections that every event touches, where merging row by row is the cost. It
    /// must equal merging `rows` of each event in order with the spec's rules.
    public var batchRows: (@Sendable ([RecordedEvent]) throws -> [ProjectionRow])?
    /// Indexes of the primary-key columns, in key order.
    public let keyIndexes: [Int]

    public init(name: String, columns: [ProjectionColumn], primaryKey: [String], eventTypes: [String]?,
                rows: @escaping @Sendable (RecordedEvent) throws -> [ProjectionRow],
                batchRows: (@Sendable ([RecordedEvent]) throws -> [ProjectionRow])? = nil) {
        self.name = name
        self.columns = columns
        self.primaryKey = primaryKey
        self.eventTypes = eventTypes
        self.rows = rows
        self.batchRows = batchRows
        precondition(primaryKey.allSatisfy { k in columns.contains { $0.name == k && $0.merge == .key } },
                     "primary key of \(name) must name .key columns")
        keyIndexes = primaryKey.map { k in columns.firstIndex { $0.name == k }! }
    }

    /// Whether this event can contribute rows.
    @inline(__always)
    public func folds(_ type: String) -> Bool {
        guard let eventTypes else { return true }
        return eventTypes.contains(type)
    }

    /// `new` merged onto `old` (same key), column by column.
    public func merge(_ old: ProjectionRow, _ new: ProjectionRow) -> ProjectionRow {
        var out = old
        for (i, c) in columns.enumerated() {
            switch c.merge {
            case .key, .keep: break
            case .replace: out[i] = new[i]
            case .coalesce: out[i] = new[i] ?? old[i]
            case .add: out[i] = String((Int64(old[i] ?? "0") ?? 0) + (Int64(new[i] ?? "0") ?? 0))
            }
        }
        return out
    }

    /// The key of a row.
    public func key(_ row: ProjectionRow) -> ProjectionRow { keyIndexes.map { row[$0] } }

    /// Whether every non-key column keeps its first value (`ON CONFLICT DO NOTHING`).
    var insertOnly: Bool { columns.allSatisfy { $0.merge == .key || $0.merge == .keep } }
}

/// Rows keyed by primary key, merged with the spec's rules, in first-seen order.
public struct ProjectionRowSet: Sendable {
    public let spec: ProjectionSpec
    private var index: [ProjectionRow: Int] = [:]
    public private(set) var rows: [ProjectionRow] = []

    public init(spec: ProjectionSpec) { self.spec = spec }

    public var count: Int { rows.count }

    public mutating func add(_ row: ProjectionRow) {
        let k = spec.key(row)
        if let i = index[k] {
            rows[i] = spec.merge(rows[i], row)
        } else {
            index[k] = rows.count
            rows.append(row)
        }
    }

    /// Folds events (those of other types are skipped).
    public mutating func fold<S: Sequence>(_ events: S) throws where S.Element == RecordedEvent {
        if let batchRows = spec.batchRows {
            for r in try batchRows(Array(events)) { add(r) }
            return
        }
        for r in try ProjectionWriter.rows(spec, Array(events)) { add(r) }
    }
}

/// Writes merged rows into a table with one `INSERT ... SELECT FROM unnest(...) ON CONFLICT`.
public enum ProjectionWriter {
    /// The statement for `spec` into `table`; parameters are one text array per column.
    public static func upsertSQL(_ spec: ProjectionSpec, table: String) -> String {
        let t = PGConnection.quoteIdentifier(table)
        let names = spec.columns.map { PGConnection.quoteIdentifier($0.name) }
        let params = spec.columns.indices.map { "$\($0 + 1)::text[]" }.joined(separator: ", ")
        let selects = spec.columns.enumerated().map { i, c in "u.c\(i)::\(c.type.rawValue)" }.joined(separator: ", ")
        let aliases = spec.columns.indices.map { "c\($0)" }.joined(separator: ", ")
        var sql = "INSERT INTO \(t) AS t (\(names.joined(separator: ", "))) SELECT \(selects) FROM unnest(\(params)) AS u(\(aliases)) "
        let keys = spec.primaryKey.map(PGConnection.quoteIdentifier).joined(separator: ", ")
        if spec.insertOnly {
            sql += "ON CONFLICT (\(keys)) DO NOTHING"
        } else {
            let sets = zip(spec.columns, names).compactMap { c, n -> String? in
                switch c.merge {
                case .key, .keep: nil
                case .replace: "\(n) = EXCLUDED.\(n)"
                case .coalesce: "\(n) = COALESCE(EXCLUDED.\(n), t.\(n))"
                case .add: "\(n) = t.\(n) + EXCLUDED.\(n)"
                }
            }
            sql += "ON CONFLICT (\(keys)) DO UPDATE SET \(sets.joined(separator: ", "))"
        }
        return sql
    }

    /// Merges `rows` by key (a statement may not touch a row twice) and writes them.
    public static func write(_ spec: ProjectionSpec, rows: [ProjectionRow], table: String, on conn: isolated PGConnection) throws {
        if rows.isEmpty { return }
        var set = ProjectionRowSet(spec: spec)
        for r in rows { set.add(r) }
        var params: [String?] = []
        for (i, c) in spec.columns.enumerated() {
            let values: [String?] = set.rows.map { row in
                guard let v = row[i] else { return nil }
                // Rows carry µs; PostgreSQL gets the exact ISO text.
                if c.type == .timestamptz, let us = Int64(v) { return Timestamp(microsecondsSinceEpoch: us).description }
                return v
            }
            params.append(PGArrayLiteral.optionalText(values))
        }
        try conn.execute(upsertSQL(spec, table: table), params)
    }

    /// The rows of a batch of events, in log order.
    public static func rows(_ spec: ProjectionSpec, _ events: [RecordedEvent]) throws -> [ProjectionRow] {
        if let batchRows = spec.batchRows { return try batchRows(events) }
        var out: [ProjectionRow] = []
        // By index: most events are skipped, and copying each out of the array costs more
        // than the test.
        for i in events.indices where spec.folds(events[i].type) { out += try spec.rows(events[i]) }
        return out
    }
}

/// Text forms shared by the specs.
public enum ProjectionValue {
    public static func decimal(_ v: Decimal?) -> String? { v.map { "\($0)" } }
    public static func int<I: BinaryInteger>(_ v: I?) -> String? { v.map { "\($0)" } }
    public static func bool(_ v: Bool) -> String { v ? "t" : "f" }
    public static func time(_ t: Timestamp) -> String { String(t.microsecondsSinceEpoch) }
}
