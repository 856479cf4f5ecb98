import EventLog
import Foundation
import PositionManagerCore
import PostgresClient
import TradelogCore

/// `positions`: one row per position, its latest `PositionUpdated`.
public struct PositionsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("positions", in: projectionsDirectory)
    }

    /// Every column follows the latest update.
    public static let spec = ProjectionSpec(
        name: "positions",
        columns: PositionColumns.shared(.replace) + [
            .init("closed_pnl", .numeric, .replace), .init("leverage", .numeric, .replace),
            .init("liquidation_price", .numeric, .replace), .init("exchange_size", .numeric, .replace),
            .init("exchange_entry_price", .numeric, .replace), .init("discrepancy", .boolean, .replace),
            .init("fills", .integer, .replace), .init("last_reason", .text, .replace), .init("version", .integer, .replace),
            .init("updated_at", .timestamptz, .replace), .init("updated_position", .bigint, .replace, logPosition: true),
        ],
        primaryKey: ["category", "symbol", "position_idx"], eventTypes: [PositionUpdated.eventType],
        rows: { e in
            let u = try CanonicalJSON.decoder.decode(PositionUpdated.self, from: Data(e.data))
            let p = u.position
            let d = ProjectionValue.decimal
            return [try PositionColumns.values(p) + [
                d(p.closedPnl), d(p.leverage), d(p.liquidationPrice), d(p.exchange?.signedSize), d(p.exchange?.entryPrice),
                ProjectionValue.bool(p.discrepancy), String(p.fills), u.reason, String(u.version), ProjectionValue.time(u.time),
                String(e.globalPosition),
            ]]
        })
}

/// `position_snapshots`: one row per position per `PositionSnapshotCreated`.
public struct PositionSnapshotsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("position_snapshots", in: projectionsDirectory)
    }

    /// Insert-only.
    public static let spec = ProjectionSpec(
        name: "position_snapshots",
        columns: PositionColumns.shared(.keep) + [
            .init("snapshot_id", .text, .key), .init("taken_at", .timestamptz, .keep), .init("trigger", .text, .keep),
            .init("global_position", .bigint, .keep, logPosition: true),
        ],
        primaryKey: ["snapshot_id", "category", "symbol", "position_idx"], eventTypes: [PositionSnapshotCreated.eventType],
        rows: { e in
            let s = try CanonicalJSON.decoder.decode(PositionSnapshotCreated.self, from: Data(e.data))
            return try s.positions.map { p in
                try PositionColumns.values(p) + [s.snapshotID, ProjectionValue.time(s.time), s.trigger, String(e.globalPosition)]
            }
        })
}

/// The columns both tables share, in this order.
enum PositionColumns {
    static func shared(_ merge: ProjectionMerge) -> [ProjectionColumn] {
        [.init("category", .text, .key), .init("symbol", .text, .key), .init("position_idx", .integer, .key),
         .init("side", .text, merge), .init("size", .numeric, merge), .init("signed_size", .numeric, merge),
         .init("average_entry_price", .numeric, merge), .init("mark_price", .numeric, merge),
         .init("unrealized_pnl", .numeric, merge), .init("realized_pnl", .numeric, merge), .init("fees", .numeric, merge),
         .init("funding", .numeric, merge), .init("total_pnl", .numeric, merge), .init("notional", .numeric, merge),
         .init("quote_coin", .text, merge), .init("strategies", .jsonb, merge)]
    }

    static func values(_ p: PositionView) throws -> [String?] {
        let strategies = String(decoding: try CanonicalJSON.encoder.encode(p.strategies), as: UTF8.self)
        let d = ProjectionValue.decimal
        return [p.category, p.symbol, String(p.positionIdx), p.side, d(p.size), d(p.signedSize), d(p.averageEntryPrice),
                d(p.markPrice), d(p.unrealizedPnl), d(p.realizedPnl), d(p.fees), d(p.funding), d(p.totalPnl),
                d(p.notional), p.quoteCoin, strategies]
    }
}
