import Foundation
import PostgresClient
import TradelogCore

/// A read model kept in PostgreSQL tables, folded from the log.
///
/// A projection is disposable (DESIGN invariant 8): ``reset(on:)`` drops its tables and its
/// checkpoint, and replaying the log rebuilds them. Each batch is applied in one transaction
/// together with the projection's checkpoint, so rows and checkpoint never disagree.
///
/// - Important: ``apply(_:on:)`` must be a deterministic function of the events (no wall
///   clock, no randomness), so that a rebuild gives the same rows.
public protocol Projection: Sendable {
    /// The checkpoint name, e.g. `projection:category_stats`.
    var checkpointName: String { get }
    /// Creates the projection's tables if missing (idempotent). Called outside a transaction.
    func setUp(on conn: isolated PGConnection) throws
    /// Drops the projection's tables (its checkpoint is removed by the caller).
    func tearDown(on conn: isolated PGConnection) throws
    /// Applies a batch of events inside the caller's transaction.
    func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws
}

extension Projection {
    /// Drops the tables and the checkpoint and creates empty tables: the next run rebuilds from position 0.
    public func reset(on conn: isolated PGConnection) throws {
        try conn.withTransaction { tx in
            try self.tearDown(on: tx)
            try Checkpoints.delete(self.checkpointName, on: tx)
        }
        try setUp(on: conn)
    }
}

/// Finds the `projections/` folder: `TRADELOG_PROJECTIONS_DIR`, else `projections` in the
/// working directory or one of its parents.
public enum ResourceDirectory {
    public static func locate(_ name: String, environmentKey: String) -> URL {
        if let env = ProcessInfo.processInfo.environment[environmentKey], !env.isEmpty {
            return URL(fileURLWithPath: env)
        }
        var dir = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        for _ in 0..<6 {
            let candidate = dir.appendingPathComponent(name)
            var isDir: ObjCBool = false
            if FileManager.default.fileExists(atPath: candidate.path, isDirectory: &isDir), isDir.boolValue {
                return candidate
            }
            dir.deleteLastPathComponent()
        }
        return URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent(name)
    }

    /// The SQL of a projection's first version, `projections/<name>/v1.sql`; a missing file names itself.
    public static func projectionSQL(_ name: String, in dir: URL = projections) throws -> String {
        let file = dir.appendingPathComponent("\(name)/v1.sql")
        do {
            return try String(contentsOf: file, encoding: .utf8)
        } catch {
            throw ConfigurationError(
                field: "\(name)/v1.sql", source: dir.path,
                problem: "cannot read the projection's SQL: \(error.localizedDescription) (set TRADELOG_PROJECTIONS_DIR)")
        }
    }

    public static var schema: URL { locate("schema", environmentKey: "TRADELOG_SCHEMA_DIR") }
    public static var projections: URL { locate("projections", environmentKey: "TRADELOG_PROJECTIONS_DIR") }
}
