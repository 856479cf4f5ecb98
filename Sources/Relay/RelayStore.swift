import EventLog
import PostgresClient

/// The relay's rows: per-queue checkpoints and counters (`relay_queues`) and the overall
/// checkpoint (`checkpoints`), saved together.
enum RelayStore {
    static func leaseKey(_ relay: String) -> String { "tradelog.relay:" + relay }

    static func load(relay: String, on conn: isolated PGConnection) throws -> (overall: Int64, queues: [QueueMetrics]) {
        let overall = try Checkpoints.load(relay, on: conn)
        let r = try conn.query(
            "SELECT queue, position, published, confirmed, nacked FROM relay_queues WHERE relay = $1 ORDER BY queue", [relay])
        var rows: [QueueMetrics] = []
        for i in 0..<r.rowCount {
            var m = QueueMetrics(queue: r.string(i, 0)!)
            m.checkpoint = r.int(i, 1) ?? 0
            m.published = r.int(i, 2) ?? 0
            m.confirmed = r.int(i, 3) ?? 0
            m.nacked = r.int(i, 4) ?? 0
            rows.append(m)
        }
        return (overall, rows)
    }

    static func save(relay: String, overall: Int64, queues: [QueueMetrics], on conn: isolated PGConnection) throws {
        try conn.withTransaction { tx in
            // Only under the relay's lease: if the connection was reopened (and another
            // relay may hold the lease now), the session lock is gone and this fails.
            guard try tx.scalar("SELECT pg_try_advisory_xact_lock(hashtextextended($1, 0))", [leaseKey(relay)]) == "t" else {
                throw SubscriptionError.leaseLost(relay)
            }
            for q in queues {
                try tx.execute(
                    """
                    INSERT INTO relay_queues (relay, queue, position, published, confirmed, nacked)
                    VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (relay, queue) DO UPDATE SET position = EXCLUDED.position,
                        published = EXCLUDED.published, confirmed = EXCLUDED.confirmed,
                        nacked = EXCLUDED.nacked, updated_at = now()
                    """,
                    [relay, q.queue, String(q.checkpoint), String(q.published), String(q.confirmed), String(q.nacked)])
            }
            try Checkpoints.save(relay, position: overall, on: tx)
        }
    }
}
