import ArgumentParser
import EventLog
import Foundation
import PostgresClient

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the log's head, its streams by category, subscriptions and their lag, the relay's queues, and market partitions.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        db.bootstrapLogging()
        let settings = db.settings("tradelog:status")
        let conn = PGConnection(settings: settings)
        let report = try await conn.withConnection { conn -> String in
            guard try conn.scalar("SELECT to_regclass('log_head') IS NOT NULL") == "t" else {
                return "database \(settings.redactedURL) has no event log yet: run `tradelog migrate`"
            }
            var out: [String] = []
            let head = Int64(try conn.scalar("SELECT position FROM log_head WHERE id = 1") ?? "0") ?? 0
            let migration = try conn.rows("SELECT version, name FROM schema_migrations ORDER BY version DESC LIMIT 1").first
            out.append("database   \(settings.redactedURL)")
            out.append("schema     \(migration.map { "\($0[0]!)_\($0[1]!)" } ?? "none")")
            out.append("head       \(head)")

            let cats = try conn.rows("""
                SELECT category, count(*), sum(version), max(last_position), max(updated_at)::text
                FROM streams GROUP BY category ORDER BY category
                """)
            let streams = cats.reduce(0) { $0 + (Int($1[1]!) ?? 0) }
            out.append("streams    \(streams) in \(cats.count) categories")
            if !cats.isEmpty {
                out.append(table(["category", "streams", "events appended", "last position", "last append"],
                                 cats.map { $0.map { $0 ?? "" } }))
            }

            let subs = try conn.rows("SELECT name, position, updated_at::text FROM checkpoints ORDER BY name")
            out.append("subscriptions \(subs.count)")
            if !subs.isEmpty {
                out.append(table(["name", "checkpoint", "lag", "updated"], subs.map {
                    [$0[0]!, $0[1]!, String(head - (Int64($0[1]!) ?? 0)), $0[2] ?? ""]
                }))
            }

            if try conn.scalar("SELECT to_regclass('relay_queues') IS NOT NULL") == "t" {
                let queues = try conn.rows("""
                    SELECT relay, queue, position::text, published::text, confirmed::text, nacked::text, updated_at::text
                    FROM relay_queues ORDER BY relay, queue
                    """)
                out.append("relay queues \(queues.count) (published, confirmed, nacked are totals; lag = head − checkpoint)")
                if !queues.isEmpty {
                    out.append(table(["relay", "queue", "checkpoint", "lag", "published", "confirmed", "nacked", "updated"], queues.map {
                        [$0[0]!, $0[1]!, $0[2]!, String(head - (Int64($0[2]!) ?? 0)), $0[3]!, $0[4]!, $0[5]!, $0[6] ?? ""]
                    }))
                }
            }

            if try conn.scalar("SELECT to_regclass('category_stats') IS NOT NULL") == "t" {
                let stats = try conn.rows("""
                    SELECT category, events::text, streams_touched::text, last_position::text, last_type
                    FROM category_stats ORDER BY category
                    """)
                out.append("category_stats projection (kept by `tradelog run`)")
                if !stats.isEmpty {
                    out.append(table(["category", "events", "streams", "last position", "last type"], stats.map { $0.map { $0 ?? "" } }))
                }
            }

            let parts = try RetentionPolicy.marketPartitions(on: conn)
            out.append("market partitions \(parts.count) (kept \(((try? RetentionPolicy.fromEnvironment()) ?? RetentionPolicy()).marketDays) days)")
            for p in parts { out.append("  \(p.name)  ~\(p.estimatedRows) rows") }
            return out.joined(separator: "\n")
        }
        print(report)
    }
}

/// A plain text table with left-aligned columns.
func table(_ header: [String], _ rows: [[String]]) -> String {
    var widths = header.map(\.count)
    for r in rows { for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) } }
    func line(_ cells: [String]) -> String {
        "  " + cells.enumerated().map { i, c in c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }.joined(separator: "  ")
    }
    return ([line(header)] + rows.map(line)).joined(separator: "\n")
}
