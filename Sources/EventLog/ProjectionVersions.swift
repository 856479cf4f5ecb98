import Foundation
import PostgresClient
import TradelogCore

/// Versions of table projections (DESIGN invariant 8, blue/green).
///
/// Version N of projection `orders` is the table `orders_vN`, made from a file
/// `projections/orders/vK.sql` whose `{{table}}` placeholders name that table. Users and
/// the rest of the code query the VIEW `orders`, which selects from the live version.
/// `projection_versions` records every version: `live` (one per name; its checkpoint is
/// the row `projection:NAME` of `checkpoints`, written with its rows by the running
/// projection), `building` (at most one; its checkpoint is kept in the registry row, in the
/// same transaction as its rows), `retired` (the previous live version, still there) and
/// `dropped` (its table was removed).
public enum ProjectionRegistry {
    /// Serializes set-up, migration and switches of all projections (transaction-level).
    static let lockKey = "tradelog.projections.registry"

    /// The checkpoint of the live version (the name the projection's subscription uses).
    public static func checkpointName(_ name: String) -> String { "projection:\(name)" }

    /// The table of one version.
    public static func table(_ name: String, version: Int) -> String { "\(name)_v\(version)" }

    /// Creates the registry if missing (idempotent; call under ``lock(on:)``).
    public static func ensure(on conn: isolated PGConnection) throws {
        try conn.executeScript(
            """
            CREATE TABLE IF NOT EXISTS projection_versions (
                name        text        NOT NULL,
                version     integer     NOT NULL CHECK (version >= 1),
                state       text        NOT NULL CHECK (state IN ('live', 'building', 'retired', 'dropped')),
                sql_file    text        NOT NULL,
                checkpoint  bigint      NOT NULL DEFAULT 0,
                created_at  timestamptz NOT NULL DEFAULT now(),
                switched_at timestamptz,
                PRIMARY KEY (name, version)
            );
            CREATE UNIQUE INDEX IF NOT EXISTS projection_versions_one_live ON projection_versions (name) WHERE state = 'live';
            CREATE UNIQUE INDEX IF NOT EXISTS projection_versions_one_building ON projection_versions (name) WHERE state = 'building';
            """)
    }

    /// Takes the registry lock until the transaction ends.
    public static func lock(on conn: isolated PGConnection) throws {
        try conn.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [lockKey])
    }

    /// Whether the registry table exists.
    public static func exists(on conn: isolated PGConnection) throws -> Bool {
        try conn.scalar("SELECT to_regclass('projection_versions') IS NOT NULL") == "t"
    }

    /// The live version of a projection, nil when it has none (yet).
    public static func liveVersion(_ name: String, on conn: isolated PGConnection) throws -> Int? {
        try conn.scalar("SELECT version FROM projection_versions WHERE name = $1 AND state = 'live'", [name]).flatMap { Int($0) }
    }

    /// One registered version.
    public struct Version: Sendable, Equatable {
        public var version: Int
        public var state: String
        public var sqlFile: String
        /// The registry's checkpoint (for the live version, see ``checkpointName(_:)``).
        public var checkpoint: Int64
    }

    /// All versions of a projection, oldest first.
    public static func versions(_ name: String, on conn: isolated PGConnection) throws -> [Version] {
        guard try exists(on: conn) else { return [] }
        return try conn.rows(
            "SELECT version, state, sql_file, checkpoint FROM projection_versions WHERE name = $1 ORDER BY version", [name]
        ).map { Version(version: Int($0[0]!)!, state: $0[1]!, sqlFile: $0[2]!, checkpoint: Int64($0[3]!)!) }
    }

    /// Makes sure the projection has a live version serving under its name: a database whose
    /// projection is still a plain table `NAME` has it renamed to `NAME_v1` (its indexes
    /// too) and registered; a fresh one gets the newest SQL file's version. Idempotent;
    /// runs in a transaction of its own (call it outside one).
    public static func prepareLive(_ name: String, directory: URL, on conn: isolated PGConnection) throws {
        try conn.withTransaction { tx in
            try lock(on: tx)
            try ensure(on: tx)
            if let live = try liveVersion(name, on: tx) {
                let file = try tx.scalar("SELECT sql_file FROM projection_versions WHERE name = $1 AND version = $2", [name, "\(live)"])!
                try createTable(name, version: live, sqlFile: file, directory: directory, on: tx)
                if try tx.scalar("SELECT to_regclass($1) IS NOT NULL", [name]) != "t" { try pointView(name, at: live, on: tx) }
                return
            }
            let version: Int
            let file: String
            if try tx.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [name]) == "r" {
                // A projection from before versions: keep its rows and checkpoint, as version 1.
                version = 1
                file = "v1.sql"
                let old = table(name, version: 1)
                try tx.execute("ALTER TABLE \(PGConnection.quoteIdentifier(name)) RENAME TO \(PGConnection.quoteIdentifier(old))")
                let indexes = try tx.rows("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1", [old])
                for case let index? in indexes.map({ $0[0] }) where index.hasPrefix(name + "_") {
                    let renamed = old + index.dropFirst(name.count)
                    try tx.execute("ALTER INDEX \(PGConnection.quoteIdentifier(index)) RENAME TO \(PGConnection.quoteIdentifier(renamed))")
                }
            } else {
                let newest = try ProjectionFiles.newest(name, in: directory)
                let used = try tx.scalar("SELECT max(version) FROM projection_versions WHERE name = $1", [name]).flatMap { Int($0) } ?? 0
                version = max(newest, used + 1)
                file = "v\(newest).sql"
            }
            try createTable(name, version: version, sqlFile: file, directory: directory, on: tx)
            try pointView(name, at: version, on: tx)
            try tx.execute(
                """
                INSERT INTO projection_versions (name, version, state, sql_file, switched_at) VALUES ($1, $2, 'live', $3, now())
                ON CONFLICT (name, version) DO UPDATE SET state = 'live', switched_at = now()
                """, [name, "\(version)", file])
        }
    }

    /// Creates a version's table from its SQL file (idempotent: the files use IF NOT EXISTS).
    public static func createTable(_ name: String, version: Int, sqlFile: String, directory: URL, on conn: isolated PGConnection) throws {
        let template = try ProjectionFiles.read(name, file: sqlFile, in: directory)
        try conn.executeScript(ProjectionFiles.render(template, table: table(name, version: version)))
    }

    /// Points the view users query at a version (drop and create: versions may differ in columns).
    public static func pointView(_ name: String, at version: Int, on conn: isolated PGConnection) throws {
        let view = PGConnection.quoteIdentifier(name)
        try conn.execute("DROP VIEW IF EXISTS \(view)")
        try conn.execute("CREATE VIEW \(view) AS SELECT * FROM \(PGConnection.quoteIdentifier(table(name, version: version)))")
    }

    /// Drops the view, every version's table, the registry rows and the checkpoint of a projection.
    public static func dropAll(_ name: String, on conn: isolated PGConnection) throws {
        try conn.execute("DROP VIEW IF EXISTS \(PGConnection.quoteIdentifier(name))")
        // A plain table from before versions.
        if try conn.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [name]) == "r" {
            try conn.execute("DROP TABLE \(PGConnection.quoteIdentifier(name))")
        }
        for v in try versions(name, on: conn) {
            try conn.execute("DROP TABLE IF EXISTS \(PGConnection.quoteIdentifier(table(name, version: v.version)))")
        }
        if try exists(on: conn) { try conn.execute("DELETE FROM projection_versions WHERE name = $1", [name]) }
    }
}

/// The versioned SQL files of `projections/NAME/`.
public enum ProjectionFiles {
    /// The file versions present (`v1.sql`, `v2.sql`, ...), ascending.
    public static func versions(_ name: String, in dir: URL) -> [Int] {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent(name).path)) ?? []
        return files.compactMap { f -> Int? in
            guard f.hasPrefix("v"), f.hasSuffix(".sql"), let n = Int(f.dropFirst().dropLast(4)), n >= 1 else { return nil }
            return n
        }.sorted()
    }

    /// The newest file version; a projection without any names itself.
    public static func newest(_ name: String, in dir: URL) throws -> Int {
        guard let n = versions(name, in: dir).last else {
            throw ConfigurationError(field: "\(name)/v1.sql", source: dir.path,
                                     problem: "no SQL file for the projection (set TRADELOG_PROJECTIONS_DIR)")
        }
        return n
    }

    public static func read(_ name: String, file: String, in dir: URL) throws -> String {
        let url = dir.appendingPathComponent(name).appendingPathComponent(file)
        do {
            return try String(contentsOf: url, encoding: .utf8)
        } catch {
            throw ConfigurationError(field: "\(name)/\(file)", source: dir.path,
                                     problem: "cannot read the projection's SQL: \(error.localizedDescription) (set TRADELOG_PROJECTIONS_DIR)")
        }
    }

    /// The SQL with each `{{table}}` replaced by the version's table name.
    public static func render(_ template: String, table: String) -> String {
        template.replacingOccurrences(of: "{{table}}", with: table)
    }
}

/// A projection kept in a versioned table, described by a ``ProjectionSpec``: set-up,
/// tear-down and apply come for free, and apply always writes the live version (looked up
/// in the transaction that also holds the checkpoint row, so a switch is followed at once).
public protocol TableProjection: Projection {
    var spec: ProjectionSpec { get }
    /// The `projections/` folder.
    var directory: URL { get }
}

extension TableProjection {
    public var checkpointName: String { ProjectionRegistry.checkpointName(spec.name) }

    public func setUp(on conn: isolated PGConnection) throws {
        try ProjectionRegistry.prepareLive(spec.name, directory: directory, on: conn)
    }

    public func tearDown(on conn: isolated PGConnection) throws {
        try ProjectionRegistry.dropAll(spec.name, on: conn)
    }

    public func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        let rows = try ProjectionWriter.rows(spec, events)
        if rows.isEmpty { return }
        guard let live = try ProjectionRegistry.liveVersion(spec.name, on: conn) else {
            throw ConfigurationError(field: spec.name, source: "projection_versions", problem: "the projection has no live version (set up first)")
        }
        try ProjectionWriter.write(spec, rows: rows, table: ProjectionRegistry.table(spec.name, version: live), on: conn)
    }
}

/// Reads of the log for projection builders.
public enum ProjectionSource {
    /// Up to `limit` events in `(position, upTo]` (of the given types, or all), in log
    /// order, on the caller's connection.
    public static func read(after position: Int64, upTo: Int64, limit: Int, types: [String]?,
                            on conn: isolated PGConnection) throws -> [RecordedEvent] {
        guard let types else {
            return EventRows.decodeAll(try conn.query(
                "SELECT \(EventRows.selectColumns) FROM events WHERE global_position > $1 AND global_position <= $2 ORDER BY global_position LIMIT $3",
                [String(position), String(upTo), String(limit)], binary: true))
        }
        return EventRows.decodeAll(try conn.query(
            """
            SELECT \(EventRows.selectColumns) FROM events WHERE global_position > $1 AND global_position <= $2
                AND type = ANY($3::text[]) ORDER BY global_position LIMIT $4
            """,
            [String(position), String(upTo), PGArrayLiteral.text(types), String(limit)], binary: true))
    }

    /// The log's head.
    public static func head(on conn: isolated PGConnection) throws -> Int64 { try EventLog.head(on: conn) }
}
