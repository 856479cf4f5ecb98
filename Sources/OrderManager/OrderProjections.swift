import Bybit
import EventLog
import Foundation
import OrderManagerCore
import PostgresClient
import TradelogCore

/// `orders`: one row per order of ours, the latest `OrderLifecycleChanged` of each.
public struct OrdersProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("orders", in: projectionsDirectory)
    }

    /// Identity columns are kept from the first event of an order; `order_id` and `reason`
    /// keep their last non-NULL value; the rest follow the latest event.
    public static let spec = ProjectionSpec(
        name: "orders",
        columns: [
            .init("order_link_id", .text, .key), .init("order_id", .text, .coalesce), .init("signal_id", .text, .keep),
            .init("strategy_id", .text, .keep), .init("trace_id", .text, .keep), .init("category", .text, .keep),
            .init("symbol", .text, .keep), .init("side", .text, .keep), .init("order_type", .text, .keep),
            .init("status", .text, .replace), .init("requested_amount", .numeric, .keep), .init("qty", .numeric, .replace),
            .init("price", .numeric, .replace), .init("executed_qty", .numeric, .replace),
            .init("average_price", .numeric, .replace), .init("fees", .numeric, .replace),
            .init("fee_currency", .text, .replace), .init("slippage_bps", .numeric, .replace),
            .init("latency_to_ack_ms", .bigint, .replace), .init("latency_to_fill_ms", .bigint, .replace),
            .init("reason", .text, .coalesce), .init("created_at", .timestamptz, .keep),
            .init("updated_at", .timestamptz, .replace), .init("created_position", .bigint, .keep, logPosition: true),
            .init("updated_position", .bigint, .replace, logPosition: true),
        ],
        primaryKey: ["order_link_id"], eventTypes: [OrderLifecycleChanged.eventType],
        rows: { e in
            let o = try TapeDecoder.decodeOrFallBack(OrderLifecycleChanged.self, from: e.data)
            let at = ProjectionValue.time(e.metadata.receiveTime ?? e.recordedAt)
            let d = ProjectionValue.decimal
            let p = String(e.globalPosition)
            return [[o.orderLinkId, o.orderId, o.signalID, o.strategyID, o.traceID, o.category.rawValue, o.symbol,
                     o.side.rawValue, o.orderType.rawValue, o.status.rawValue, d(o.requestedAmount), d(o.requestedQty),
                     d(o.price), d(o.executedQty), d(o.averagePrice), d(o.fees), o.feeCurrency, d(o.slippageBps),
                     ProjectionValue.int(o.latencyToAckMs), ProjectionValue.int(o.latencyToFillMs), o.reason.map(\.storable),
                     at, at, p, p]]
        })
}

/// `signal_order_relationships`: each signal's steps (created / amended / cancelled) and denials, with reasons.
public struct SignalOrderRelationshipsProjection: TableProjection {
    public let directory: URL
    public var spec: ProjectionSpec { Self.spec }

    public init(projectionsDirectory: URL = ResourceDirectory.projections) throws {
        directory = projectionsDirectory
        _ = try ProjectionFiles.newest("signal_order_relationships", in: projectionsDirectory)
    }

    /// Insert-only: one row per step of a decision (or per denial), keyed by the event's position.
    public static let spec = ProjectionSpec(
        name: "signal_order_relationships",
        columns: [
            .init("signal_id", .text, .key), .init("step", .integer, .key), .init("order_link_id", .text, .keep),
            .init("relation", .text, .keep), .init("reason", .text, .keep), .init("strategy_id", .text, .keep),
            .init("asset", .text, .keep), .init("position", .bigint, .key), .init("created_at", .timestamptz, .keep),
        ],
        primaryKey: ["signal_id", "position", "step"],
        eventTypes: [OrderDecided.eventType, OrderDenied.eventType, SignalRefused.eventType],
        rows: { e in
            var rows: [(link: String?, relation: String, reason: String, signal: String, strategy: String, asset: String)] = []
            switch e.type {
            case OrderDecided.eventType:
                let d = try TapeDecoder.decodeOrFallBack(OrderDecided.self, from: e.data)
                for s in d.steps {
                    let relation = s.action == .create ? "created" : (s.action == .amend ? "amended" : "cancelled")
                    rows.append((s.orderLinkId, relation, s.reason, d.signalID, d.strategyID, d.asset))
                }
            case OrderDenied.eventType:
                let d = try TapeDecoder.decodeOrFallBack(OrderDenied.self, from: e.data)
                rows.append((nil, "denied", "\(d.code): \(d.detail)", d.signalID, d.strategyID, d.asset))
            case SignalRefused.eventType:
                let d = try TapeDecoder.decodeOrFallBack(SignalRefused.self, from: e.data)
                rows.append((nil, "denied", "\(d.reason): \(d.detail)", d.signalID, d.strategyID, d.asset))
            default: return []
            }
            let at = ProjectionValue.time(e.metadata.receiveTime ?? e.recordedAt)
            return rows.enumerated().map { i, r in
                [r.signal, String(i), r.link, r.relation, r.reason.storable, r.strategy, r.asset, String(e.globalPosition), at]
            }
        })
}
