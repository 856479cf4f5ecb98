import Foundation
import Gateway
import Hummingbird
import OrderManager
import PositionManagerCore
import PostgresClient
import Signals
import TradelogCore

/// Seed 004's position API (X-API-Key on every `/api/v1` route): `GET /api/v1/positions`,
/// `GET /api/v1/positions/{symbol}`, `GET /api/v1/portfolio`,
/// `GET /api/v1/positions/{symbol}/snapshots?from=&to=`, plus `POST /api/v1/positions/snapshots`
/// (a snapshot now), `POST /api/v1/positions/sync` and `GET /health`.
public enum PositionAPI {
    public static func router(engine: PositionManagerEngine, service: PositionManagerService?, queries: PGConnection,
                              apiKey: String?) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/health") { _, _ -> Response in
            let s = await engine.state
            let c = await engine.counters
            return try HTTPJSON.object(.ok, [
                "ready": .bool(service?.isReady ?? true), "position": .number(Decimal(s.position)),
                "positions": .number(Decimal(s.keys.count)), "open_discrepancies": .number(Decimal(s.openDiscrepancies.count)),
                "events_folded": .number(Decimal(c.eventsFolded)), "skipped": .number(Decimal(s.skipped)),
            ])
        }
        let api = router.group("api/v1").add(middleware: APIKeyMiddleware(apiKey: apiKey))
        api.get("positions") { request, _ -> Response in try await PositionsQuery.list(request, on: queries) }
        api.get("positions/:symbol") { _, context -> Response in
            let symbol = try context.parameters.require("symbol")
            let rows = try await HTTPJSON.rows(PositionsQuery.positionSQL + " WHERE symbol = $1 ORDER BY category, position_idx", [symbol],
                                               names: PositionsQuery.positionNames, json: ["strategies"], integers: PositionsQuery.integerNames, on: queries)
            guard !rows.isEmpty else { return try HTTPJSON.problem(.notFound, "no position in \(symbol)", field: "symbol") }
            return try HTTPJSON.object(.ok, ["symbol": .string(symbol), "positions": .array(rows)])
        }
        api.get("positions/:symbol/snapshots") { request, context -> Response in
            let symbol = try context.parameters.require("symbol")
            let q = request.uri.queryParameters
            var params: [String?] = [symbol]
            var clauses = ["symbol = $1"]
            for (name, op) in [("from", ">="), ("to", "<")] {
                guard let v = q.get(name) else { continue }
                guard let t = ISOTimestamp.parse(v) else {
                    return try HTTPJSON.problem(.badRequest, "\(name) must be an ISO 8601 time such as 2026-01-31T12:00:00Z", field: name)
                }
                params.append(ISOTimestamp.format(t))
                clauses.append("taken_at \(op) $\(params.count)::timestamptz")
            }
            guard let limit = Int(q.get("limit") ?? "1000"), (1...10_000).contains(limit) else {
                return try HTTPJSON.problem(.badRequest, "limit must be 1...10000", field: "limit")
            }
            let rows = try await HTTPJSON.rows(
                PositionsQuery.snapshotSQL + " WHERE " + clauses.joined(separator: " AND ") + " ORDER BY taken_at, category, position_idx LIMIT \(limit)",
                params, names: PositionsQuery.snapshotNames, json: ["strategies"], integers: PositionsQuery.integerNames, on: queries)
            return try HTTPJSON.object(.ok, ["symbol": .string(symbol), "snapshots": .array(rows)])
        }
        api.get("portfolio") { _, _ -> Response in
            let s = await engine.state
            struct Body: Encodable { var asOf: Timestamp?; var position: Int64; var portfolio: PortfolioView }
            return try HTTPJSON.encodable(.ok, Body(asOf: s.clock, position: s.position, portfolio: s.portfolio))
        }
        api.post("positions/snapshots") { _, _ -> Response in
            let id = try await engine.requestSnapshot(reason: "api")
            return try HTTPJSON.object(.created, ["snapshot_id": .string(id)])
        }
        api.post("positions/sync") { _, _ -> Response in
            do {
                return try HTTPJSON.encodable(.ok, try await engine.sync(trigger: "api"))
            } catch let e as PositionManagerError {
                return try HTTPJSON.problem(.serviceUnavailable, e.description, field: nil)
            }
        }
        return router
    }
}
