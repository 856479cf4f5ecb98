import Foundation
import PostgresClient
import TradelogCore

/// Events per stream category (`category_stats`), shown by `tradelog status`.
///
/// `streams_touched` counts first events of streams (stream version 1) in the category.
public struct CategoryStatsProjection: Projection {
    public let checkpointName = "projection:category_stats"
    /// The SQL that creates the table (`projections/category_stats/v1.sql`).
    public let createSQL: String

    public init(createSQL: String) {
        self.createSQL = createSQL
    }

    /// Loads the table definition from the `projections/` folder.
    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        self.init(createSQL: try ResourceDirectory.projectionSQL("category_stats", in: projectionsDirectory))
    }

    public func setUp(on conn: isolated PGConnection) throws {
        try conn.executeScript(createSQL)
    }

    public func tearDown(on conn: isolated PGConnection) throws {
        try conn.executeScript("DROP TABLE IF EXISTS category_stats")
    }

    struct Delta: Equatable {
        var events: Int64 = 0
        var streams: Int64 = 0
        var first: Int64 = 0
        var last: Int64 = 0
        var lastType = ""
    }

    /// The pure fold of one batch, keyed and ordered by category.
    static func fold(_ events: [RecordedEvent]) -> [(String, Delta)] {
        var deltas: [String: Delta] = [:]
        for e in events {
            let cat = e.category
            var d = deltas[cat] ?? Delta(first: e.globalPosition)
            d.events += 1
            if e.streamVersion == 1 { d.streams += 1 }
            d.last = e.globalPosition
            d.lastType = e.type
            deltas[cat] = d
        }
        return deltas.sorted { $0.key < $1.key }
    }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        let folded = Self.fold(events)
        if folded.isEmpty { return }
        try conn.execute(
            """
            INSERT INTO category_stats AS c (category, events, streams_touched, first_position, last_position, last_type)
            SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[])
            ON CONFLICT (category) DO UPDATE SET
                events = c.events + EXCLUDED.events,
                streams_touched = c.streams_touched + EXCLUDED.streams_touched,
                last_position = EXCLUDED.last_position,
                last_type = EXCLUDED.last_type
            """,
            [PGArrayLiteral.text(folded.map(\.0)), PGArrayLiteral.int64(folded.map(\.1.events)),
             PGArrayLiteral.int64(folded.map(\.1.streams)), PGArrayLiteral.int64(folded.map(\.1.first)),
             PGArrayLiteral.int64(folded.map(\.1.last)), PGArrayLiteral.text(folded.map(\.1.lastType))])
    }
}
