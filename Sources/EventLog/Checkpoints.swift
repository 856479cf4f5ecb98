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

    /// Stores several checkpoints at one position in one statement (projections applied
    /// together in one transaction).
    public static func save(_ names: [String], position: Int64, on conn: isolated PGConnection) throws {
        if names.isEmpty { return }
        try conn.execute(
            """
            INSERT INTO checkpoints (name, position) SELECT n, $2 FROM unnest($1::text[]) AS n
            ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
            """, [PGArrayLiteral.text(names), String(position)])
    }

    /// Moves a checkpoint from `from` to `to`; false (and nothing written) when it is no
    /// longer at `from` because another process moved it.
    public static func advance(_ name: String, from: Int64, to: Int64, on conn: isolated PGConnection) throws -> Bool {
        let changed: Int
        if from == 0 {
            changed = try conn.execute(
                """
                INSERT INTO checkpoints AS c (name, position) VALUES ($1, $2)
                ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position, updated_at = now()
                WHERE c.position = 0
                """, [name, String(to)])
        } else {
            changed = try conn.execute(
                "UPDATE checkpoints SET position = $3, updated_at = now() WHERE name = $1 AND position = $2",
                [name, String(from), String(to)])
        }
        return changed == 1
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
