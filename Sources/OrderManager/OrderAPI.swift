import Bybit
import Foundation
import Gateway
import Hummingbird
import NIOCore
import OrderManagerCore
import PostgresClient
import Signals
import TradelogCore

/// Seed 004's order manager API (X-API-Key on every `/api/v1` route):
/// `GET /api/v1/orders`, `GET /api/v1/orders/{id}`, `POST /api/v1/sync`,
/// `GET|POST /api/v1/trading-state`, `GET /api/v1/signals/{signal_id}`, and `GET /health`.
public enum OrderAPI {
    static let orderColumns = """
        order_link_id, order_id, signal_id, strategy_id, trace_id, category, symbol, side, order_type, status,
        requested_amount::text, qty::text, price::text, executed_qty::text, average_price::text, fees::text, fee_currency,
        slippage_bps::text, latency_to_ack_ms::text, latency_to_fill_ms::text, reason,
        \(PositionsQuery.isoTime("created_at")), \(PositionsQuery.isoTime("updated_at")), created_position::text
        """
    static let orderNames = ["order_link_id", "order_id", "signal_id", "strategy_id", "trace_id", "category", "symbol", "side",
                             "order_type", "status", "requested_amount", "qty", "price", "executed_qty", "average_price", "fees",
                             "fee_currency", "slippage_bps", "latency_to_ack_ms", "latency_to_fill_ms", "reason", "created_at",
                             "updated_at", "position"]

    struct Problem: Error { var status: HTTPResponse.Status; var message: String; var field: String? }

    public static func router(engine: OrderManagerEngine, service: OrderManagerService?, queries: PGConnection,
                              apiKey: String?, categories: [RESTCategory]) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let s = await engine.state
            return try json(.ok, ["ready": .bool(service?.isReady ?? true), "trading_state": .string(s.tradingState.rawValue),
                                  "position": .number(Decimal(s.position))])
        }
        let api = router.group("api/v1").add(middleware: APIKeyMiddleware(apiKey: apiKey))
        api.get("orders") { request, _ -> Response in
            let q = request.uri.queryParameters
            var clauses: [String] = []
            var params: [String?] = []
            func filter(_ name: String, _ column: String, cast: String = "") {
                if let v = q.get(name), !v.isEmpty {
                    params.append(v)
                    clauses.append("\(column) = $\(params.count)\(cast)")
                }
            }
            filter("status", "status")
            filter("asset", "symbol")
            filter("signal_id", "signal_id")
            filter("strategy_id", "strategy_id")
            // Strict ISO 8601 (PostgreSQL alone would also take words such as `yesterday`).
            for (name, op) in [("from", ">="), ("to", "<")] {
                guard let v = q.get(name) else { continue }
                guard let t = ISOTimestamp.parse(v) else {
                    return try problem(.badRequest, "\(name) must be an ISO 8601 time such as 2026-01-31T12:00:00Z", field: name)
                }
                params.append(ISOTimestamp.format(t))
                clauses.append("created_at \(op) $\(params.count)::timestamptz")
            }
            guard let limit = Int(q.get("limit") ?? "100"), (1...1000).contains(limit) else {
                return try problem(.badRequest, "limit must be 1...1000", field: "limit")
            }
            guard let offset = Int(q.get("offset") ?? "0"), offset >= 0 else {
                return try problem(.badRequest, "offset must be ≥ 0", field: "offset")
            }
            if let s = q.get("status"), OrderStatus(rawValue: s) == nil {
                return try problem(.badRequest, "unknown status \(s)", field: "status")
            }
            let whereSQL = clauses.isEmpty ? "" : "WHERE " + clauses.joined(separator: " AND ")
            let sql = "SELECT \(orderColumns) FROM orders \(whereSQL) ORDER BY created_position DESC LIMIT \(limit + 1) OFFSET \(offset)"
            do {
                var rows = try await rowsOf(sql, params, on: queries)
                let more = rows.count > limit
                rows = Array(rows.prefix(limit))
                return try json(.ok, ["orders": .array(rows), "limit": .number(Decimal(limit)), "offset": .number(Decimal(offset)),
                                      "next_offset": more ? .number(Decimal(offset + limit)) : .null])
            } catch let e as PGError where e.sqlState?.hasPrefix("22") == true {
                return try problem(.badRequest, "bad filter value: \(e.message)", field: nil)
            }
        }
        api.get("orders/:id") { _, context -> Response in
            let id = try context.parameters.require("id")
            let rows = try await rowsOf("SELECT \(orderColumns) FROM orders WHERE order_link_id = $1 OR order_id = $1 LIMIT 1", [id], on: queries)
            guard let row = rows.first else { return try problem(.notFound, "no order \(id)", field: "id") }
            return try jsonEncodable(.ok, row)
        }
        // Seed 004 lists the positions among the order manager's endpoints: the position manager's rows.
        api.get("positions") { request, _ -> Response in try await PositionsQuery.list(request, on: queries) }
        api.post("sync") { _, _ -> Response in
            let summary = try await engine.sync(trigger: "api", categories: categories)
            return try jsonEncodable(.ok, summary)
        }
        api.get("trading-state") { _, _ -> Response in
            try json(.ok, ["state": .string(await engine.state.tradingState.rawValue)])
        }
        api.post("trading-state") { request, context -> Response in
            struct Body: Decodable { var state: String; var reason: String? }
            guard let body = try? await request.decode(as: Body.self, context: context) else {
                return try problem(.badRequest, "body must be {\"state\": \"ACTIVE|REDUCE_ONLY|HALTED\", \"reason\": \"...\"}", field: "state")
            }
            guard let s = TradingState(rawValue: body.state.uppercased()) else {
                return try problem(.badRequest, "state must be ACTIVE, REDUCE_ONLY or HALTED", field: "state")
            }
            // The reason goes into the log: printable and bounded (the log refuses U+0000).
            if let r = body.reason, !EventText.isPrintable(r, maxBytes: 500) {
                return try problem(.badRequest, "reason must be one line of at most 500 bytes of printable text", field: "reason")
            }
            let change = try await engine.setTradingState(s, reason: body.reason ?? "api")
            return try jsonEncodable(.ok, change)
        }
        api.get("signals/:signal_id") { _, context -> Response in
            let id = try context.parameters.require("signal_id")
            let report = try await SignalAudit.report(signalID: id, log: engine.log)
            return try jsonEncodable(report.found ? .ok : .notFound, report)
        }
        return router
    }

    static func rowsOf(_ sql: String, _ params: [String?], on conn: PGConnection) async throws -> [JSONValue] {
        try await HTTPJSON.rows(sql, params, names: orderNames, integers: ["latency_to_ack_ms", "latency_to_fill_ms", "position"], on: conn)
    }

    static func json(_ status: HTTPResponse.Status, _ value: [String: JSONValue]) throws -> Response {
        try HTTPJSON.object(status, value)
    }

    static func jsonEncodable<T: Encodable>(_ status: HTTPResponse.Status, _ value: T) throws -> Response {
        try HTTPJSON.encodable(status, value)
    }

    static func problem(_ status: HTTPResponse.Status, _ message: String, field: String?) throws -> Response {
        try HTTPJSON.problem(status, message, field: field)
    }
}
