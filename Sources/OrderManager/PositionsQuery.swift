import Foundation
import Hummingbird
import PostgresClient
import TradelogCore

/// `GET /api/v1/positions[?category=&open=true]` over the `positions` projection (the position
/// manager keeps it). Served by the position manager's API and, as seed 004 lists it among the
/// order manager's endpoints, by the order manager's API too: the same rows on both.
public enum PositionsQuery {
    static let shared = ["category", "symbol", "position_idx", "side", "size", "signed_size", "average_entry_price", "mark_price",
                         "unrealized_pnl", "realized_pnl", "fees", "funding", "total_pnl", "notional", "quote_coin", "strategies"]
    public static let positionNames = shared + ["closed_pnl", "leverage", "liquidation_price", "exchange_size", "exchange_entry_price",
                                                "discrepancy", "fills", "last_reason", "version", "updated_at", "position"]
    public static let snapshotNames = ["snapshot_id", "taken_at", "trigger"] + shared + ["position"]
    /// The integer columns (JSON numbers in the answers).
    public static let integerNames: Set<String> = ["position_idx", "fills", "version", "position"]
    /// A `timestamptz` column as ISO 8601 in UTC with microseconds (`2026-01-31T12:00:00.123456Z`),
    /// whatever the session's time zone and date style: what the APIs' `from`/`to` take back.
    public static func isoTime(_ column: String) -> String {
        "to_char(\(column) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
    }

    static let sharedSQL = """
        category, symbol, position_idx::text, side, size::text, signed_size::text, average_entry_price::text, mark_price::text,
        unrealized_pnl::text, realized_pnl::text, fees::text, funding::text, total_pnl::text, notional::text, quote_coin,
        strategies::text
        """
    public static let positionSQL = """
        SELECT \(sharedSQL), closed_pnl::text, leverage::text, liquidation_price::text, exchange_size::text,
            exchange_entry_price::text, discrepancy::text, fills::text, last_reason, version::text,
            \(isoTime("updated_at")), updated_position::text
        FROM positions
        """
    public static let snapshotSQL = """
        SELECT snapshot_id, \(isoTime("taken_at")), trigger, \(sharedSQL),
            global_position::text
        FROM position_snapshots
        """

    /// The list, filtered by the request's `category` and `open` (`true` or `false`; 400 otherwise).
    public static func list(_ request: Request, on queries: PGConnection) async throws -> Response {
        let q = request.uri.queryParameters
        var clauses: [String] = []
        var params: [String?] = []
        if let c = q.get("category"), !c.isEmpty {
            params.append(c)
            clauses.append("category = $\(params.count)")
        }
        if let open = q.get("open") {
            guard open == "true" || open == "false" else { return try HTTPJSON.problem(.badRequest, "open must be true or false", field: "open") }
            if open == "true" { clauses.append("signed_size <> 0") }
        }
        let whereSQL = clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND ")
        let rows = try await HTTPJSON.rows(positionSQL + whereSQL + " ORDER BY category, symbol, position_idx", params,
                                           names: positionNames, json: ["strategies"], integers: integerNames, on: queries)
        return try HTTPJSON.object(.ok, ["positions": .array(rows)])
    }
}
