import PostgresClient

/// Checkpoints of subscriptions and projections: the last position each has fully handled.
public enum Checkpoints {
    public static func load(_ name: String, on conn: isolated PGConnection) throws -> Int64 {
        Int64(try conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [name]) ?? "0") ?? 0
    }

    /// Stores a checkpoint. Inside a transaction it commits (or rolls back) with that
    /// transaction's other writes, which is how projections keep rows and checkpoint together.
    public static func save(_ name: String, position: Int64, on conn: isolated PGConnection) throws {
        try conn.execute(
            """
            INSERT INTO checkpoints (name, position) VALUES ($1, $2)
            ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
            """, [name, String(position)])
    }

    /// Creates the checkpoint at 0 if missing, locks its row until the transaction ends and
    /// returns its position.
    public static func lockForUpdate(_ name: String, on conn: isolated PGConnection) throws -> Int64 {
        try conn.execute("INSERT INTO checkpoints (name, position) VALUES ($1, 0) ON CONFLICT (name) DO NOTHING", [name])
        return Int64(try conn.scalar("SELECT position FROM checkpoints WHERE name = $1 FOR UPDATE", [name]) ?? "0") ?? 0
    }

    public static func delete(_ name: String, on conn: isolated PGConnection) throws {
        try conn.execute("DELETE FROM checkpoints WHERE name = $1", [name])
    }
}
