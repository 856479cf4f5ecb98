import EventLog
import Foundation
import OrderManagerCore
import PostgresClient
import Signals
import TradelogCore

/// One step of a signal's causation tree, as the audit shows it.
public struct AuditEntry: Codable, Sendable, Hashable {
    public var position: Int64
    public var time: String
    /// Milliseconds since the signal was received.
    public var elapsedMs: Int64?
    public var stream: String
    public var type: String
    public var summary: String
    public var data: JSONValue

    enum CodingKeys: String, CodingKey {
        case position, time, stream, type, summary, data
        case elapsedMs = "elapsed_ms"
    }
}

/// Everything that came of one signal: receipt, validation, risk decision with its figures,
/// intents, exchange answers, fills and cancels, in log order.
public struct SignalAuditReport: Codable, Sendable, Hashable {
    public var signalID: String
    public var found: Bool
    public var entries: [AuditEntry]
    public var orders: [String]

    enum CodingKeys: String, CodingKey {
        case found, entries, orders
        case signalID = "signal_id"
    }

    /// The tree as text: one line per step, order events indented under their order.
    public var text: String {
        guard found else { return "signal \(signalID): not in the log\n" }
        var out = "signal \(signalID)\n"
        for e in entries {
            let indent = e.stream.hasPrefix("order-") || e.stream.hasPrefix("exchange.") ? "    " : "  "
            let at = e.elapsedMs.map { "+\($0)ms" } ?? ""
            out += "\(indent)#\(e.position) \(e.time) \(at) \(e.type): \(e.summary)\n"
        }
        return out
    }
}

/// Builds audits from the log (the signal's stream, then its orders' streams).
public enum SignalAudit {
    public static func report(signalID raw: String, log: EventLog) async throws -> SignalAuditReport {
        let signalID = raw.lowercased()
        let signalEvents = try await log.readStream(SignalEvents.stream(signalID: signalID))
        var links: [String] = []
        var events = signalEvents
        for e in signalEvents where e.type == OrderDecided.eventType {
            if let d = try? CanonicalJSON.decoder.decode(OrderDecided.self, from: Data(e.data)) {
                for s in d.steps where !links.contains(s.orderLinkId) { links.append(s.orderLinkId) }
            }
        }
        for link in links { events += try await log.readStream(OrderEvents.stream(orderLinkId: link)) }
        events.sort { $0.globalPosition < $1.globalPosition }
        let start = signalEvents.first { $0.type == SignalReceived.eventType }.flatMap { $0.metadata.receiveTime }
        let entries = events.map { e -> AuditEntry in
            let t = e.metadata.receiveTime ?? e.recordedAt
            return AuditEntry(position: e.globalPosition, time: t.description,
                              elapsedMs: start.map { (t.microsecondsSinceEpoch - $0.microsecondsSinceEpoch) / 1000 },
                              stream: e.stream, type: e.type, summary: summary(e),
                              data: (try? JSONValue.parse(Data(e.data))) ?? .null)
        }
        return SignalAuditReport(signalID: signalID, found: !signalEvents.isEmpty, entries: entries, orders: links)
    }

    static func summary(_ e: RecordedEvent) -> String {
        let data = Data(e.data)
        let dec = CanonicalJSON.decoder
        switch e.type {
        case SignalReceived.eventType:
            guard let p = try? dec.decode(SignalReceived.self, from: data) else { break }
            let s = p.signal
            return "\(s.signalType.rawValue) \(s.asset) \(s.amount) USDT, confidence \(s.confidence), strategy \(s.strategyID)"
                + (s.isWarmup ? ", warm-up" : "")
        case SignalRefused.eventType:
            guard let p = try? dec.decode(SignalRefused.self, from: data) else { break }
            return "refused \(p.reason): \(p.detail)"
        case OrderDenied.eventType:
            guard let p = try? dec.decode(OrderDenied.self, from: data) else { break }
            return "denied \(p.code): \(p.detail) " + figures(p.figures)
        case OrderDecided.eventType:
            guard let p = try? dec.decode(OrderDecided.self, from: data) else { break }
            let steps = p.steps.map { "\($0.action.rawValue) \($0.orderLinkId) (\($0.reason))" }.joined(separator: ", ")
            return "\(p.orderType.rawValue) (\(p.orderTypeReason)) \(p.qty) at ref \(p.referencePrice) (\(p.referenceSource.rawValue)), "
                + "notional \(p.notional); \(steps); risk " + figures(p.riskFigures)
        case OrderRequested.eventType:
            guard let p = try? dec.decode(OrderRequested.self, from: data) else { break }
            return "intent \(p.side.rawValue) \(p.qty) \(p.symbol) \(p.orderType.rawValue) \(p.timeInForce.rawValue)"
                + (p.price.map { " @ \($0)" } ?? "") + " (\(p.reason))"
        case OrderAmendRequested.eventType:
            guard let p = try? dec.decode(OrderAmendRequested.self, from: data) else { break }
            return "amend #\(p.amendIndex)" + (p.qty.map { " qty \($0)" } ?? "") + (p.price.map { " price \($0)" } ?? "") + " (\(p.reason))"
        case OrderCancelRequested.eventType:
            guard let p = try? dec.decode(OrderCancelRequested.self, from: data) else { break }
            return "cancel (\(p.reason))"
        case OrderAccepted.eventType:
            guard let p = try? dec.decode(OrderAccepted.self, from: data) else { break }
            return "\(p.action.rawValue) accepted, orderId \(p.orderId) via \(p.via)" + (p.exchangeStatus.map { ", status \($0)" } ?? "")
        case OrderRejected.eventType:
            guard let p = try? dec.decode(OrderRejected.self, from: data) else { break }
            return "\(p.action.rawValue) rejected \(p.retCode): \(p.retMsg)"
        case OrderOutcomeUnknown.eventType:
            guard let p = try? dec.decode(OrderOutcomeUnknown.self, from: data) else { break }
            return "\(p.action.rawValue) outcome unknown: \(p.reason)"
        case OrderNotPlaced.eventType:
            guard let p = try? dec.decode(OrderNotPlaced.self, from: data) else { break }
            return "not placed: \(p.reason)"
        case OrderLifecycleChanged.eventType:
            guard let p = try? dec.decode(OrderLifecycleChanged.self, from: data) else { break }
            return "\(p.previousStatus?.rawValue ?? "-") → \(p.status.rawValue), executed \(p.executedQty)"
                + (p.averagePrice.map { " avg \($0)" } ?? "") + (p.slippageBps.map { ", slippage \($0) bps" } ?? "")
                + (p.reason.map { " (\($0))" } ?? "")
        case OrderExecuted.eventType:
            guard let p = try? dec.decode(OrderExecuted.self, from: data) else { break }
            return "fill \(p.execQty) @ \(p.execPrice), fee \(p.execFee) \(p.feeCurrency ?? "")" + (p.latencyToFillMs.map { ", \($0) ms after the signal" } ?? "")
        default: break
        }
        return e.type
    }

    static func figures(_ f: [String: String]) -> String {
        f.keys.sorted().map { "\($0)=\(f[$0]!)" }.joined(separator: " ")
    }

    /// One row per signal decided since `since`: decision, orders, filled quantity, average price, slippage.
    public struct Row: Codable, Sendable, Hashable {
        public var signalID: String
        public var receivedAt: String
        public var strategyID: String?
        public var asset: String?
        public var decision: String
        public var reasons: String
        public var orders: Int
        public var filledQty: String
        public var averagePrice: String?
        public var slippageBps: String?

        enum CodingKeys: String, CodingKey {
            case decision, reasons, orders, asset
            case signalID = "signal_id", receivedAt = "received_at", strategyID = "strategy_id", filledQty = "filled_qty"
            case averagePrice = "average_price", slippageBps = "slippage_bps"
        }
    }

    public static func list(since: Timestamp, on conn: PGConnection) async throws -> [Row] {
        try await conn.withConnection { c in
            let r = try c.query(
                """
                SELECT r.signal_id, \(PositionsQuery.isoTime("min(r.created_at)")), min(r.strategy_id), min(r.asset),
                       string_agg(DISTINCT r.relation, ',' ORDER BY r.relation), string_agg(r.reason, '; ' ORDER BY r.position, r.step),
                       count(o.order_link_id), COALESCE(sum(o.executed_qty), 0)::text,
                       (sum(o.executed_qty * o.average_price) / NULLIF(sum(o.executed_qty), 0))::numeric(30,10)::text,
                       (sum(o.executed_qty * o.slippage_bps) / NULLIF(sum(o.executed_qty), 0))::numeric(20,4)::text
                FROM signal_order_relationships r
                LEFT JOIN orders o ON o.order_link_id = r.order_link_id AND r.relation = 'created'
                WHERE r.created_at >= $1::timestamptz
                GROUP BY r.signal_id ORDER BY min(r.position)
                """, [since.description])
            return (0..<r.rowCount).map { i in
                Row(signalID: r.string(i, 0) ?? "", receivedAt: r.string(i, 1) ?? "", strategyID: r.string(i, 2), asset: r.string(i, 3),
                    decision: r.string(i, 4) ?? "", reasons: r.string(i, 5) ?? "", orders: Int(r.int(i, 6) ?? 0),
                    filledQty: r.string(i, 7) ?? "0", averagePrice: r.string(i, 8), slippageBps: r.string(i, 9))
            }
        }
    }
}
