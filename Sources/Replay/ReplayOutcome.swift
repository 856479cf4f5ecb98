import Bybit
import EventLog
import Foundation
import PostgresClient
import Projections
import Recording
import TradelogCore

/// A replay that cannot run as asked (a log that is not fresh, a fixture without a manifest).
public struct ReplayError: Error, CustomStringConvertible, Sendable {
    public var problem: String
    public init(problem: String) { self.problem = problem }
    public var description: String { problem }
}

/// What a replay produced: events, digests, projection figures.
public struct ReplayOutcome: Sendable {
    public var result: ReplayResult
    /// One line per event (see ``EventLine``).
    public var lines: [String]
    public var projections: [String: ProjectionFigure]
    /// For a database replay: the digest of the log read back.
    public var logDigest: String?

    public static func memory(entries: [RecordEntry], settings: ReplaySettings, categories: [RESTCategory], pace: ReplayPace = .max,
                       progress: ((Int, Int, Int) -> Void)? = nil) async throws -> ReplayOutcome {
        try await memory(recording: ReplayRecording(entries: entries), settings: settings, categories: categories, pace: pace,
                         progress: progress)
    }

    public static func memory(recording: ReplayRecording, settings: ReplaySettings, categories: [RESTCategory],
                              pace: ReplayPace = .max, progress: ((Int, Int, Int) -> Void)? = nil) async throws -> ReplayOutcome {
        var store = MemoryReplayStore()
        let result = try await ReplayRunner.run(recording: recording, settings: settings, categories: categories, store: &store,
                                                pace: pace, progress: progress)
        var folds = try InMemoryProjections()
        try folds.apply(store.events)
        let figures = try folds.digests().mapValues { ProjectionFigure(rows: $0.count, digest: $0.hex) }
        let lines = try store.events.enumerated().map { try EventLine.line($0.element, ordinal: $0.offset + 1) }
        return ReplayOutcome(result: result, lines: lines, projections: figures, logDigest: nil)
    }

    public static func postgres(settings pg: PGSettings, entries: [RecordEntry], settings: ReplaySettings, categories: [RESTCategory],
                         pace: ReplayPace = .max, progress: ((Int, Int, Int) -> Void)? = nil) async throws -> ReplayOutcome {
        let conn = PGConnection(settings: pg)
        _ = try await Migrator(directory: ResourceDirectory.schema).migrate(on: conn)
        let log = EventLog(settings: pg)
        guard try await log.read(after: 0, limit: 1).isEmpty else {
            throw ReplayError(problem: "the log of \(pg.redactedURL) is not empty: a replay goes into a fresh log (create a new database)")
        }
        var store = LogReplayStore(log: log)
        let result = try await ReplayRunner.run(entries: entries, settings: settings, categories: categories, store: &store,
                                                pace: pace, progress: progress)
        // The projections fold the log as the services do, then their tables are digested.
        var figures: [String: ProjectionFigure] = [:]
        var options = RebuildOptions()
        options.progress = { _ in }
        for name in ProjectionCatalog.names {
            let r = try await ProjectionRebuilder(settings: pg).rebuild(name, options: options)
            figures[name] = ProjectionFigure(rows: r.verified.count, digest: r.verified.hex)
        }
        let back = try await ReplayRunner.logDigest(log)
        var lines: [String] = []
        var after: Int64 = 0
        while true {
            let events = try await log.read(after: after, limit: 5000)
            for e in events { lines.append(try EventLine.line(e, ordinal: lines.count + 1)) }
            guard let last = events.last else { break }
            after = last.globalPosition
        }
        return ReplayOutcome(result: result, lines: lines, projections: figures, logDigest: back.digest)
    }

    public func summary(name: String) -> String {
        let c = result.counters
        var out = """
            replay of \(name)
              entries \(c.entries): frames \(c.frames), signals \(c.signals), connects \(c.connects), disconnects \(c.disconnects), rest \(c.restEntries), book resyncs \(c.resyncs)\(c.undecodableFrames > 0 ? ", undecodable frames \(c.undecodableFrames)" : "")
              events \(result.events) (duplicates skipped \(c.duplicates)); requests \(c.requests): accepted \(c.accepted), rejected \(c.rejected); fills \(c.fills)
              digest \(result.digest)
            """
        if let logDigest { out += "\n  digest of the log read back \(logDigest)\(logDigest == result.digest ? " (equal)" : " (DIFFERENT)")" }
        for name in projections.keys.sorted() {
            let p = projections[name]!
            out += "\n  projection \(name): \(p.rows) rows, digest \(p.digest)"
        }
        return out
    }

    /// Differences from the manifest; empty when the replay verifies.
    public func verify(manifest: FixtureManifest, expectedEventsPath: String) throws -> [String] {
        var problems: [String] = []
        if result.digest != manifest.digest || result.events != manifest.events {
            problems.append("digest \(result.digest) (\(result.events) events), manifest \(manifest.digest) (\(manifest.events) events)")
            let expected = try RecordingReader(path: expectedEventsPath).rawLines.map { String(decoding: $0, as: UTF8.self) }
            if let d = EventLine.firstDifference(actual: lines, expected: expected) {
                problems.append("first differing event #\(d.index + 1): replay \(d.actual ?? "<none>") | manifest \(d.expected ?? "<none>")")
            }
        }
        if let logDigest, logDigest != result.digest { problems.append("the log read back has digest \(logDigest)") }
        for name in manifest.projections.keys.sorted() {
            let want = manifest.projections[name]!
            guard let got = projections[name] else {
                problems.append("projection \(name): missing")
                continue
            }
            if got != want { problems.append("projection \(name): \(got.rows) rows \(got.digest), manifest \(want.rows) rows \(want.digest)") }
        }
        return problems
    }
}

