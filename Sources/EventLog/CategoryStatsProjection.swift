import Foundation
import PostgresClient
import TradelogCore

/// Events per stream category (`category_stats`), shown by `tradelog status`.
///
/// `streams_touched` counts first events of streams (stream version 1) in the category.
public struct CategoryStatsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    /// Uses the `projections/` folder given (its `category_stats/vN.sql`).
    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("category_stats", in: projectionsDirectory)
    }

    /// One row per event, summed per category.
    public static let spec = ProjectionSpec(
        name: "category_stats",
        columns: [
            .init("category", .text, .key),
            .init("events", .bigint, .add),
            .init("streams_touched", .bigint, .add),
            .init("first_position", .bigint, .keep, logPosition: true),
            .init("last_position", .bigint, .replace, logPosition: true),
            .init("last_type", .text, .replace),
        ],
        primaryKey: ["category"], eventTypes: nil,
        rows: { e in
            let p = String(e.globalPosition)
            return [[e.category, "1", e.streamVersion == 1 ? "1" : "0", p, p, e.type]]
        },
        batchRows: { events in batchRows(events) })

    /// One row per category of a batch, merged as `rows` would be (sums, the first and the
    /// last position, the last type), with counters instead of text per event.
    static func batchRows(_ events: [RecordedEvent]) -> [ProjectionRow] {
        // A batch holds few categories: found by prefix in a short list, counted in place
        // (no category string made or hashed per event).
        var categories: [String] = []
        var deltas: [Delta] = []
        var hint = 0
        for k in events.indices {
            let stream = events[k].stream
            let i: Int
            if hint < categories.count, StreamName.stream(stream, hasCategory: categories[hint]) {
                i = hint
            } else if let found = categories.firstIndex(where: { StreamName.stream(stream, hasCategory: $0) }) {
                i = found
            } else {
                i = categories.count
                categories.append(StreamName.category(of: stream))
                deltas.append(Delta(first: events[k].globalPosition))
            }
            hint = i
            deltas[i].add(position: events[k].globalPosition, version: events[k].streamVersion, type: events[k].type)
        }
        return zip(categories, deltas).map { c, d in
            [c, String(d.events), String(d.streams), String(d.first), String(d.last), d.lastType]
        }
    }

    struct Delta: Equatable {
        var events: Int64 = 0
        var streams: Int64 = 0
        var first: Int64 = 0
        var last: Int64 = 0
        var lastType = ""

        mutating func add(position: Int64, version: Int64, type: String) {
            events += 1
            if version == 1 { streams += 1 }
            last = position
            lastType = type
        }
    }

    /// The pure fold of one batch, keyed and ordered by category (the spec's merge).
    static func fold(_ events: [RecordedEvent]) -> [(String, Delta)] {
        var set = ProjectionRowSet(spec: spec)
        try? set.fold(events)
        func n(_ v: String?) -> Int64 { Int64(v ?? "0") ?? 0 }
        var out: [(String, Delta)] = []
        for r in set.rows {
            let d = Delta(events: n(r[1]), streams: n(r[2]), first: n(r[3]), last: n(r[4]), lastType: r[5] ?? "")
            out.append((r[0] ?? "", d))
        }
        return out.sorted { $0.0 < $1.0 }
    }
}
