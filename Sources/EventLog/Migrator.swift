import Foundation
import Logging
import PostgresClient
import TradelogCore

/// One numbered SQL file of `schema/`, e.g. `0001_event_log.sql`.
public struct MigrationFile: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var fileName: String
    public var sql: String
    /// SHA-256 of the file's bytes, hex.
    public var checksum: String
}

public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public var description: String
}

/// Applies the numbered SQL files of a directory, each in its own transaction, and
/// refuses to run when a file that was already applied has changed.
///
/// - Important: a migration file must not manage transactions itself (`BEGIN`, `COMMIT`) and
///   cannot use statements that refuse to run in one (`CREATE INDEX CONCURRENTLY`).
public struct Migrator: Sendable {
    public var directory: URL
    private let logger: Logger

    /// Serializes concurrent `migrate` runs (any value; it only has to be the same everywhere).
    static let advisoryLockKey: Int64 = 0x7472_6164_656c_6f67

    public init(directory: URL, logger: Logger = Logger(label: "tradelog.migrate")) {
        self.directory = directory
        self.logger = logger
    }

    /// Reads and orders the migration files; names must look like `NNNN_description.sql`.
    public func files() throws -> [MigrationFile] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError(description: "cannot read the schema directory \(directory.path): \(error.localizedDescription)")
        }
        var out: [MigrationFile] = []
        for fileName in names.sorted() where fileName.hasSuffix(".sql") {
            let stem = fileName.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]) else {
                throw MigrationError(description: "\(directory.appendingPathComponent(fileName).path): migration file names must be NNNN_name.sql")
            }
            let bytes = try [UInt8](Data(contentsOf: directory.appendingPathComponent(fileName)))
            out.append(MigrationFile(
                version: version, name: String(stem[stem.index(after: underscore)...]), fileName: fileName,
                sql: String(decoding: bytes, as: UTF8.self), checksum: Digest.hex(Digest.sha256(bytes))))
        }
        var seen = Set<Int>()
        for f in out where !seen.insert(f.version).inserted {
            throw MigrationError(description: "two migration files have version \(f.version) (one is \(f.fileName))")
        }
        return out.sorted { $0.version < $1.version }
    }

    /// Applies pending files; returns the names applied (empty when up to date).
    @discardableResult
    public func migrate(on connection: PGConnection) async throws -> [String] {
        let files = try files()
        let logger = self.logger
        let lockKey = String(Self.advisoryLockKey)
        // Lock, work and unlock in one block on the connection's thread: the session-level
        // lock then lives exactly as long as the session that does the work.
        return try await connection.withConnection { conn -> [String] in
            try conn.execute("SELECT pg_advisory_lock($1)", [lockKey])
            defer { _ = try? conn.execute("SELECT pg_advisory_unlock($1)", [lockKey]) }
            try conn.executeScript("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version    integer PRIMARY KEY,
                    name       text NOT NULL,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """)
            var known: [Int: (name: String, checksum: String)] = [:]
            for row in try conn.rows("SELECT version, name, checksum FROM schema_migrations ORDER BY version") {
                known[Int(row[0]!)!] = (row[1]!, row[2]!)
            }
            // Refuse before applying anything if history was rewritten.
            for f in files {
                if let k = known[f.version], k.checksum != f.checksum {
                    throw MigrationError(description:
                        "schema/\(f.fileName) was changed after it was applied (checksum \(k.checksum.prefix(12))… recorded, \(f.checksum.prefix(12))… now); add a new migration instead of editing an applied one")
                }
            }
            let fileVersions = Set(files.map(\.version))
            for (v, k) in known.sorted(by: { $0.key < $1.key }) where !fileVersions.contains(v) {
                throw MigrationError(description: "migration \(v) (\(k.name)) is recorded as applied but no file for it is in \(self.directory.path)")
            }
            var done: [String] = []
            for f in files where known[f.version] == nil {
                try conn.withTransaction { tx in
                    do {
                        try tx.executeScript(f.sql)
                    } catch let e as PGError {
                        throw MigrationError(description: "schema/\(f.fileName) failed: \(e)")
                    }
                    try tx.execute(
                        "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                        [String(f.version), f.name, f.checksum])
                }
                logger.info("applied migration", metadata: ["migration.file": "\(f.fileName)"])
                done.append(f.fileName)
            }
            return done
        }
    }
}
