import Foundation
import PostgresClient
import TradelogCore

/// Pieces of the log's write path that the benchmark's raw baseline reuses, so that the
/// baseline sends byte-for-byte the rows the log would.
public enum BenchmarkSupport {
    /// `COPY table (...) FROM STDIN (FORMAT binary)` with the log's columns.
    public static func copyStatement(table: String) -> String {
        EventRows.copyStatement(table: table)
    }

    /// The binary COPY payload of events at given positions and stream versions.
    public static func copyPayload(_ rows: [(position: Int64, stream: String, version: Int64, event: NewEvent)]) -> [UInt8] {
        EventRows.encode(rows.map {
            let category = StreamName.category(of: $0.stream)
            return PlannedRow(
                globalPosition: $0.position, streamVersion: $0.version, stream: $0.stream, category: category,
                isMarket: StreamName.isMarketData(category: category), event: $0.event)
        })
    }

    /// The columns a read selects, for a raw `COPY (SELECT ...) TO STDOUT` of the same data.
    public static let selectColumns = EventRows.selectColumns
}
