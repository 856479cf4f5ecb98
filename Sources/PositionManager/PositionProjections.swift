import EventLog
import Foundation
import PositionManagerCore
import PostgresClient
import TradelogCore

/// `positions`: one row per position, its latest `PositionUpdated`.
public struct PositionsProjection: Projection {
    public let checkpointName = "projection:positions"
    let createSQL: String

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        createSQL = try ResourceDirectory.projectionSQL("positions", in: projectionsDirectory)
    }

    public func setUp(on conn: isolated PGConnection) throws { try conn.executeScript(createSQL) }
    public func tearDown(on conn: isolated PGConnection) throws { try conn.executeScript("DROP TABLE IF EXISTS positions") }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        for e in events where e.type == PositionUpdated.eventType {
            let u = try CanonicalJSON.decoder.decode(PositionUpdated.self, from: Data(e.data))
            let p = u.position
            try conn.execute(
                """
                INSERT INTO positions AS o (category, symbol, position_idx, side, size, signed_size, average_entry_price, mark_price,
                    unrealized_pnl, realized_pnl, fees, funding, total_pnl, notional, quote_coin, strategies, closed_pnl, leverage,
                    liquidation_price, exchange_size, exchange_entry_price, discrepancy, fills, last_reason, version, updated_at,
                    updated_position)
                VALUES ($1,$2,$3::int,$4,$5::numeric,$6::numeric,$7::numeric,$8::numeric,$9::numeric,$10::numeric,$11::numeric,
                    $12::numeric,$13::numeric,$14::numeric,$15,$16::jsonb,$17::numeric,$18::numeric,$19::numeric,$20::numeric,
                    $21::numeric,$22::boolean,$23::int,$24,$25::int,$26::timestamptz,$27::bigint)
                ON CONFLICT (category, symbol, position_idx) DO UPDATE SET
                    side = EXCLUDED.side, size = EXCLUDED.size, signed_size = EXCLUDED.signed_size,
                    average_entry_price = EXCLUDED.average_entry_price, mark_price = EXCLUDED.mark_price,
                    unrealized_pnl = EXCLUDED.unrealized_pnl, realized_pnl = EXCLUDED.realized_pnl, fees = EXCLUDED.fees,
                    funding = EXCLUDED.funding, total_pnl = EXCLUDED.total_pnl, notional = EXCLUDED.notional,
                    quote_coin = EXCLUDED.quote_coin, strategies = EXCLUDED.strategies, closed_pnl = EXCLUDED.closed_pnl,
                    leverage = EXCLUDED.leverage, liquidation_price = EXCLUDED.liquidation_price,
                    exchange_size = EXCLUDED.exchange_size, exchange_entry_price = EXCLUDED.exchange_entry_price,
                    discrepancy = EXCLUDED.discrepancy, fills = EXCLUDED.fills, last_reason = EXCLUDED.last_reason,
                    version = EXCLUDED.version, updated_at = EXCLUDED.updated_at, updated_position = EXCLUDED.updated_position
                """,
                try PositionColumns.values(p) + [
                    dec(p.closedPnl), dec(p.leverage), dec(p.liquidationPrice), dec(p.exchange?.signedSize),
                    dec(p.exchange?.entryPrice), p.discrepancy ? "true" : "false", "\(p.fills)", u.reason, "\(u.version)",
                    u.time.description, "\(e.globalPosition)",
                ])
        }
    }
}

/// `position_snapshots`: one row per position per `PositionSnapshotCreated`.
public struct PositionSnapshotsProjection: Projection {
    public let checkpointName = "projection:position_snapshots"
    let createSQL: String

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        createSQL = try ResourceDirectory.projectionSQL("position_snapshots", in: projectionsDirectory)
    }

    public func setUp(on conn: isolated PGConnection) throws { try conn.executeScript(createSQL) }
    public func tearDown(on conn: isolated PGConnection) throws { try conn.executeScript("DROP TABLE IF EXISTS position_snapshots") }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        for e in events where e.type == PositionSnapshotCreated.eventType {
            let s = try CanonicalJSON.decoder.decode(PositionSnapshotCreated.self, from: Data(e.data))
            for p in s.positions {
                try conn.execute(
                    """
                    INSERT INTO position_snapshots (category, symbol, position_idx, side, size, signed_size, average_entry_price,
                        mark_price, unrealized_pnl, realized_pnl, fees, funding, total_pnl, notional, quote_coin, strategies,
                        snapshot_id, taken_at, trigger, global_position)
                    VALUES ($1,$2,$3::int,$4,$5::numeric,$6::numeric,$7::numeric,$8::numeric,$9::numeric,$10::numeric,$11::numeric,
                        $12::numeric,$13::numeric,$14::numeric,$15,$16::jsonb,$17,$18::timestamptz,$19,$20::bigint)
                    ON CONFLICT DO NOTHING
                    """,
                    try PositionColumns.values(p) + [s.snapshotID, s.time.description, s.trigger, "\(e.globalPosition)"])
            }
        }
    }
}

func dec(_ v: Decimal?) -> String? { v.map { "\($0)" } }

/// The columns both tables share, in the order of their INSERTs ($1...$16).
enum PositionColumns {
    static func values(_ p: PositionView) throws -> [String?] {
        let strategies = String(decoding: try CanonicalJSON.encoder.encode(p.strategies), as: UTF8.self)
        return [p.category, p.symbol, "\(p.positionIdx)", p.side, dec(p.size), dec(p.signedSize), dec(p.averageEntryPrice),
                dec(p.markPrice), dec(p.unrealizedPnl), dec(p.realizedPnl), dec(p.fees), dec(p.funding), dec(p.totalPnl),
                dec(p.notional), p.quoteCoin, strategies]
    }
}
