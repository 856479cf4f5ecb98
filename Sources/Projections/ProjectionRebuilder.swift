import EventLog
import Foundation
import Logging
import PostgresClient
import TradelogCore

public struct RebuildOptions: Sendable {
    /// Events read (and rows written) per transaction while building.
    public var batchSize = 5000
    /// Drop the previous live version's table after the switch.
    public var dropOld = false
    /// Throw away an unfinished building version and start over (default: resume it).
    public var restart = false
    /// The switch waits until the building version is at most this many events behind the head.
    public var switchLag: Int64 = 5000
    /// Seconds between progress lines.
    public var progressEvery: Double = 2
    /// Where progress lines go (default: stderr).
    public var progress: @Sendable (String) -> Void = { line in
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
    /// Test hook: fail after this many building batches (simulates a crash mid-way).
    public var failAfterBatches: Int?

    public init() {}
}

public struct RebuildResult: Sendable {
    public var name: String
    /// The version that was live before (nil when there was none).
    public var previousVersion: Int?
    public var version: Int
    /// The log position the new version was switched at.
    public var checkpoint: Int64
    /// Count and digest checked before the switch (at ``verifiedAt``).
    public var verified: RowDigest
    public var verifiedAt: Int64
    /// Rows after the tail was applied in the switch.
    public var rows: Int
    public var resumedFrom: Int64
    public var seconds: Double
}

public enum RebuildError: Error, CustomStringConvertible {
    case alreadyRunning(String)
    case verificationFailed(String, table: RowDigest, memory: RowDigest, at: Int64)
    case checkpointMoved(String, version: Int)
    case injectedFailure(String, afterBatches: Int)
    case noLog(String)

    public var description: String {
        switch self {
        case .alreadyRunning(let n): "another process is rebuilding \(n)"
        case .verificationFailed(let n, let t, let m, let at):
            "rebuild of \(n) does not match the in-memory fold at position \(at): table \(t), fold \(m); the live version keeps serving "
                + "(run `tradelog rebuild \(n) --restart` to build it again from position 0)"
        case .checkpointMoved(let n, let v): "the building version v\(v) of \(n) was changed by another process"
        case .injectedFailure(let n, let b): "rebuild of \(n) failed on purpose after \(b) batches (test hook)"
        case .noLog(let url): "database \(url) has no event log yet: run `tradelog migrate`"
        }
    }
}

/// Blue/green rebuild of one projection (DESIGN invariant 8): builds version N+1 beside the
/// live one from position 0 while appends continue, checks it against an in-memory fold of
/// the same events, then in one transaction applies the tail, flips the live version and
/// points the view at it.
///
/// Locks: the builder never touches `log_head` (appenders never wait for it); it holds an
/// advisory lock per projection so that two rebuilds do not race; the switch locks the
/// live checkpoint row (waiting for, then pausing, the live projection writer) only for
/// the tail and the flip.
public struct ProjectionRebuilder: Sendable {
    public let settings: PGSettings
    public let directory: URL
    let logger: Logger

    public init(settings: PGSettings, directory: URL = ResourceDirectory.projections,
                logger: Logger = Logger(label: "tradelog.rebuild")) {
        self.settings = settings
        self.directory = directory
        self.logger = logger
    }

    /// Rebuilds `name`; interrupted (error, cancellation, kill) the live version keeps
    /// serving and a later call resumes the building version (or restarts it with
    /// ``RebuildOptions/restart``).
    public func rebuild(_ name: String, options: RebuildOptions = .init()) async throws -> RebuildResult {
        let projection = try ProjectionCatalog.projection(name, directory: directory)
        let spec = projection.spec
        let conn = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):rebuild:\(name)"))
        let lockKey = "tradelog.rebuild:" + name
        guard try await conn.scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", [lockKey]) == "t" else {
            throw RebuildError.alreadyRunning(name)
        }
        do {
            let result = try await run(projection, spec, conn, options)
            _ = try? await conn.scalar("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [lockKey])
            await conn.close()
            return result
        } catch {
            // Closing the session releases the advisory lock even when the unlock cannot run.
            await conn.close()
            throw error
        }
    }

    private func run(_ projection: any TableProjection, _ spec: ProjectionSpec, _ conn: PGConnection,
                     _ options: RebuildOptions) async throws -> RebuildResult {
        let started = ContinuousClock.now
        let name = spec.name
        let dir = directory
        // Nothing is created in a database that has no log (setUp would make the registry first).
        guard try await conn.scalar("SELECT to_regclass('log_head') IS NOT NULL") == "t" else {
            throw RebuildError.noLog(settings.redactedURL)
        }
        try await conn.withConnection { try projection.setUp(on: $0) }

        // The building version: resumed, restarted or new.
        let restart = options.restart
        let say = options.progress
        let (version, resumeAt, previous) = try await conn.withTransaction { tx -> (Int, Int64, Int?) in
            try ProjectionRegistry.lock(on: tx)
            let versions = try ProjectionRegistry.versions(name, on: tx)
            let live = versions.first { $0.state == "live" }?.version
            let file = "v\(try ProjectionFiles.newest(name, in: dir)).sql"
            if let b = versions.first(where: { $0.state == "building" }) {
                if !restart {
                    if b.sqlFile != file {
                        say("rebuild \(name): resuming v\(b.version) built from \(b.sqlFile); \(file) is newer: "
                            + "run with --restart to build from it")
                    }
                    return (b.version, b.checkpoint, live)
                }
                // Started over from the newest file (one added since the interrupted build included).
                try tx.execute("UPDATE projection_versions SET checkpoint = 0, sql_file = $3 WHERE name = $1 AND version = $2",
                               [name, "\(b.version)", file])
                try tx.execute("DROP TABLE IF EXISTS \(PGConnection.quoteIdentifier(ProjectionRegistry.table(name, version: b.version)))")
                try ProjectionRegistry.createTable(name, version: b.version, sqlFile: file, directory: dir, on: tx)
                return (b.version, 0, live)
            }
            let v = (versions.map(\.version).max() ?? 0) + 1
            try tx.execute("DROP TABLE IF EXISTS \(PGConnection.quoteIdentifier(ProjectionRegistry.table(name, version: v)))")
            try ProjectionRegistry.createTable(name, version: v, sqlFile: file, directory: dir, on: tx)
            try tx.execute("INSERT INTO projection_versions (name, version, state, sql_file) VALUES ($1, $2, 'building', $3)",
                           [name, "\(v)", file])
            return (v, 0, live)
        }
        let table = ProjectionRegistry.table(name, version: version)
        say("rebuild \(name): building v\(version) (\(table)) beside \(previous.map { "v\($0)" } ?? "nothing")"
            + (resumeAt > 0 ? ", resuming at position \(resumeAt)" : ", from position 0"))

        // The in-memory fold that checks the table: first the part already built.
        var memory = ProjectionRowSet(spec: spec)
        var position: Int64 = 0
        let batch = options.batchSize
        while position < resumeAt {
            let from = position
            let (rows, next) = try await conn.withConnection { c in
                try Self.readRows(spec, after: from, upTo: resumeAt, limit: batch, on: c)
            }
            for r in rows { memory.add(r) }
            position = next
        }

        // Build from the log while appends continue, until close enough to the head.
        var lastSay = ContinuousClock.now
        var batches = 0
        // Each round catches up to the head read at its start; a few rounds leave only a
        // short tail for the switch (which applies whatever is left anyway).
        for _ in 0..<50 {
            try Task.checkCancellation()
            let head = try await conn.withConnection { try ProjectionSource.head(on: $0) }
            if head - position <= options.switchLag { break }
            while position < head {
                try Task.checkCancellation()
                let from = position
                let (rows, next) = try await conn.withConnection { c in
                    try Self.readRows(spec, after: from, upTo: head, limit: batch, on: c)
                }
                try await conn.withTransaction { tx in
                    try ProjectionWriter.write(spec, rows: rows, table: table, on: tx)
                    try Self.advanceBuilding(name, version: version, from: from, to: next, on: tx)
                }
                for r in rows { memory.add(r) }
                position = next
                batches += 1
                if let limit = options.failAfterBatches, batches >= limit {
                    throw RebuildError.injectedFailure(name, afterBatches: batches)
                }
                if (ContinuousClock.now - lastSay).seconds >= options.progressEvery {
                    lastSay = ContinuousClock.now
                    say("rebuild \(name): v\(version) at \(position) of \(head) (\(memory.count) rows)")
                }
            }
        }

        // Check: the table equals the in-memory fold of the same events.
        let expected = RowDigests.digest(spec, rows: memory.rows)
        let actual = try await conn.withConnection { try RowDigests.digest(spec, table: table, on: $0) }
        guard actual == expected else {
            throw RebuildError.verificationFailed(name, table: actual, memory: expected, at: position)
        }
        let verifiedAt = position
        say("rebuild \(name): v\(version) verified at \(position): \(actual)")

        // Switch: tail, flip and view in one transaction.
        let checkpointName = ProjectionRegistry.checkpointName(name)
        let built = memory
        let builtAt = position
        let (switchedAt, folded) = try await conn.withTransaction { tx -> (Int64, ProjectionRowSet) in
            try ProjectionRegistry.lock(on: tx)
            let old = try Checkpoints.lockForUpdate(checkpointName, on: tx)
            let head = try ProjectionSource.head(on: tx)
            var set = built
            var at = builtAt
            while at < head {
                let (rows, next) = try Self.readRows(spec, after: at, upTo: head, limit: batch, on: tx)
                try ProjectionWriter.write(spec, rows: rows, table: table, on: tx)
                for r in rows { set.add(r) }
                at = next
            }
            try Self.advanceBuilding(name, version: version, from: builtAt, to: at, on: tx)
            let count = Int(try tx.scalar("SELECT count(*) FROM \(PGConnection.quoteIdentifier(table))") ?? "0") ?? 0
            guard count == set.count else {
                throw RebuildError.verificationFailed(
                    name, table: RowDigest(count: count, hex: "-"), memory: RowDigest(count: set.count, hex: "-"), at: at)
            }
            try tx.execute(
                "UPDATE projection_versions SET state = 'retired', checkpoint = $2, switched_at = now() WHERE name = $1 AND state = 'live'",
                [name, "\(old)"])
            try tx.execute(
                "UPDATE projection_versions SET state = 'live', checkpoint = $3, switched_at = now() WHERE name = $1 AND version = $2",
                [name, "\(version)", "\(at)"])
            try Checkpoints.save(checkpointName, position: at, on: tx)
            try ProjectionRegistry.pointView(name, at: version, on: tx)
            return (at, set)
        }
        say("rebuild \(name): v\(version) is live at position \(switchedAt) (\(folded.count) rows)")

        if options.dropOld, let previous {
            try await conn.withTransaction { tx in
                try ProjectionRegistry.lock(on: tx)
                try tx.execute("DROP TABLE IF EXISTS \(PGConnection.quoteIdentifier(ProjectionRegistry.table(name, version: previous)))")
                try tx.execute("UPDATE projection_versions SET state = 'dropped' WHERE name = $1 AND version = $2", [name, "\(previous)"])
            }
            say("rebuild \(name): dropped v\(previous)")
        }
        return RebuildResult(
            name: name, previousVersion: previous, version: version, checkpoint: switchedAt, verified: expected,
            verifiedAt: verifiedAt, rows: folded.count, resumedFrom: resumeAt, seconds: (ContinuousClock.now - started).seconds)
    }

    /// The rows of the next events in `(after, upTo]` and the position read up to.
    static func readRows(_ spec: ProjectionSpec, after: Int64, upTo: Int64, limit: Int,
                         on conn: isolated PGConnection) throws -> ([ProjectionRow], Int64) {
        let events = try ProjectionSource.read(after: after, upTo: upTo, limit: limit, types: spec.eventTypes, on: conn)
        let next = events.count == limit ? events.last!.globalPosition : upTo
        return (try ProjectionWriter.rows(spec, events), next)
    }

    /// Moves the building version's checkpoint (in the transaction of its rows).
    static func advanceBuilding(_ name: String, version: Int, from: Int64, to: Int64, on conn: isolated PGConnection) throws {
        let changed = try conn.execute(
            "UPDATE projection_versions SET checkpoint = $4 WHERE name = $1 AND version = $2 AND state = 'building' AND checkpoint = $3",
            [name, "\(version)", "\(from)", "\(to)"])
        guard changed == 1 else { throw RebuildError.checkpointMoved(name, version: version) }
    }
}

extension Duration {
    var seconds: Double {
        let c = components
        return Double(c.seconds) + Double(c.attoseconds) / 1e18
    }
}
