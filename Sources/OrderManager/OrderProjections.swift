import EventLog
import Foundation
import OrderManagerCore
import PostgresClient
import TradelogCore

/// `orders`: one row per order of ours, the latest `OrderLifecycleChanged` of each.
public struct OrdersProjection: Projection {
    public let checkpointName = "projection:orders"
    let createSQL: String

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        createSQL = try ResourceDirectory.projectionSQL("orders", in: projectionsDirectory)
    }

    public func setUp(on conn: isolated PGConnection) throws { try conn.executeScript(createSQL) }
    public func tearDown(on conn: isolated PGConnection) throws { try conn.executeScript("DROP TABLE IF EXISTS orders") }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        for e in events where e.type == OrderLifecycleChanged.eventType {
            let o = try CanonicalJSON.decoder.decode(OrderLifecycleChanged.self, from: Data(e.data))
            let at = (e.metadata.receiveTime ?? e.recordedAt).description
            func d(_ v: Decimal?) -> String? { v.map { "\($0)" } }
            try conn.execute(
                """
                INSERT INTO orders AS o (order_link_id, order_id, signal_id, strategy_id, trace_id, category, symbol, side,
                    order_type, status, requested_amount, qty, price, executed_qty, average_price, fees, fee_currency,
                    slippage_bps, latency_to_ack_ms, latency_to_fill_ms, reason, created_at, updated_at, created_position,
                    updated_position)
                VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11::numeric,$12::numeric,$13::numeric,$14::numeric,$15::numeric,
                    $16::numeric,$17,$18::numeric,$19::bigint,$20::bigint,$21,$22::timestamptz,$22::timestamptz,$23::bigint,$23::bigint)
                ON CONFLICT (order_link_id) DO UPDATE SET
                    order_id = COALESCE(EXCLUDED.order_id, o.order_id), status = EXCLUDED.status, qty = EXCLUDED.qty,
                    price = EXCLUDED.price, executed_qty = EXCLUDED.executed_qty, average_price = EXCLUDED.average_price,
                    fees = EXCLUDED.fees, fee_currency = EXCLUDED.fee_currency, slippage_bps = EXCLUDED.slippage_bps,
                    latency_to_ack_ms = EXCLUDED.latency_to_ack_ms, latency_to_fill_ms = EXCLUDED.latency_to_fill_ms,
                    reason = COALESCE(EXCLUDED.reason, o.reason), updated_at = EXCLUDED.updated_at,
                    updated_position = EXCLUDED.updated_position
                """,
                [o.orderLinkId, o.orderId, o.signalID, o.strategyID, o.traceID, o.category.rawValue, o.symbol, o.side.rawValue,
                 o.orderType.rawValue, o.status.rawValue, d(o.requestedAmount), d(o.requestedQty), d(o.price), d(o.executedQty),
                 d(o.averagePrice), d(o.fees), o.feeCurrency, d(o.slippageBps), o.latencyToAckMs.map { "\($0)" },
                 o.latencyToFillMs.map { "\($0)" }, o.reason.map(\.storable), at, "\(e.globalPosition)"])
        }
    }
}

/// `signal_order_relationships`: each signal's steps (created / amended / cancelled) and denials, with reasons.
public struct SignalOrderRelationshipsProjection: Projection {
    public let checkpointName = "projection:signal_order_relationships"
    let createSQL: String

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        createSQL = try ResourceDirectory.projectionSQL("signal_order_relationships", in: projectionsDirectory)
    }

    public func setUp(on conn: isolated PGConnection) throws { try conn.executeScript(createSQL) }
    public func tearDown(on conn: isolated PGConnection) throws {
        try conn.executeScript("DROP TABLE IF EXISTS signal_order_relationships")
    }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        for e in events {
            var rows: [(link: String?, relation: String, reason: String, signal: String, strategy: String, asset: String)] = []
            switch e.type {
            case OrderDecided.eventType:
                let d = try CanonicalJSON.decoder.decode(OrderDecided.self, from: Data(e.data))
                for s in d.steps {
                    let relation = s.action == .create ? "created" : (s.action == .amend ? "amended" : "cancelled")
                    rows.append((s.orderLinkId, relation, s.reason, d.signalID, d.strategyID, d.asset))
                }
            case OrderDenied.eventType:
                let d = try CanonicalJSON.decoder.decode(OrderDenied.self, from: Data(e.data))
                rows.append((nil, "denied", "\(d.code): \(d.detail)", d.signalID, d.strategyID, d.asset))
            case SignalRefused.eventType:
                let d = try CanonicalJSON.decoder.decode(SignalRefused.self, from: Data(e.data))
                rows.append((nil, "denied", "\(d.reason): \(d.detail)", d.signalID, d.strategyID, d.asset))
            default: continue
            }
            let at = (e.metadata.receiveTime ?? e.recordedAt).description
            for (i, r) in rows.enumerated() {
                try conn.execute(
                    """
                    INSERT INTO signal_order_relationships (signal_id, step, order_link_id, relation, reason, strategy_id, asset,
                        position, created_at)
                    VALUES ($1, $2::int, $3, $4, $5, $6, $7, $8::bigint, $9::timestamptz) ON CONFLICT DO NOTHING
                    """,
                    [r.signal, "\(i)", r.link, r.relation, r.reason.storable, r.strategy, r.asset, "\(e.globalPosition)", at])
            }
        }
    }
}
