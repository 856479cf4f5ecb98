import EventLog
import PostgresClient

/// One line of `tradelog projections`.
public struct ProjectionStatusRow: Sendable, Equatable {
    public var name: String
    /// Registered versions, oldest first (empty for a projection not set up yet or still a plain table).
    public var versions: [ProjectionRegistry.Version]
    /// True when `name` is still a table from before versions (migrated on the next start).
    public var unversioned: Bool
    public var live: Int?
    /// The live version's checkpoint (nil when it never ran).
    public var checkpoint: Int64?
    public var head: Int64
    /// Events the live version is behind the head.
    public var lag: Int64?
}

/// What `tradelog projections` shows: versions, live version, checkpoint, head and lag.
public enum ProjectionStatus {
    public static func list(names: [String] = ProjectionCatalog.names, on conn: isolated PGConnection) throws -> [ProjectionStatusRow] {
        let head = try ProjectionSource.head(on: conn)
        return try names.map { name in
            let versions = try ProjectionRegistry.versions(name, on: conn)
            let checkpoint = try conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [ProjectionRegistry.checkpointName(name)])
                .flatMap { Int64($0) }
            let plain = try conn.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [name]) == "r"
            let live = versions.first { $0.state == "live" }?.version
            return ProjectionStatusRow(
                name: name, versions: versions, unversioned: plain, live: live, checkpoint: checkpoint, head: head,
                lag: (live != nil || plain) ? head - (checkpoint ?? 0) : nil)
        }
    }

    /// A plain-text table of the rows.
    public static func render(_ rows: [ProjectionStatusRow]) -> String {
        let header = ["projection", "versions", "live", "checkpoint", "head", "lag"]
        let lines = rows.map { r -> [String] in
            var versions = r.versions.map { v -> String in
                v.state == "building" ? "v\(v.version) building@\(v.checkpoint)" : "v\(v.version) \(v.state)"
            }.joined(separator: ", ")
            if r.unversioned { versions = "unversioned table" + (versions.isEmpty ? "" : ", " + versions) }
            if versions.isEmpty { versions = "-" }
            return [r.name, versions, r.live.map { "v\($0)" } ?? "-", r.checkpoint.map(String.init) ?? "-", String(r.head),
                    r.lag.map(String.init) ?? "-"]
        }
        let all = [header] + lines
        let widths = header.indices.map { i in all.map { $0[i].count }.max() ?? 0 }
        return all.map { line in
            line.enumerated().map { i, cell in
                i == line.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
