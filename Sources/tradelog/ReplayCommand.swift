import ArgumentParser
import Bybit
import BybitSimulator
import EventLog
import Foundation
import PostgresClient
import Projections
import Recording
import Replay
import TradelogCore

struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay a recorded session deterministically and print its digest (--verify checks it against the manifest).",
        discussion: """
            Runs the recording through the gateway's decoders, the signal intake's parser, the order \
            manager's decisions, the simulator's matching engine (against the recorded book) and the \
            position manager, on the recording's clock, into a fresh log: in memory, or in the \
            PostgreSQL database given with --database (whose log must be empty). Prints the digest of \
            the events and of each projection's rows. --config OTHER --diff replays twice (recorded \
            settings and OTHER) and reports the signals whose decisions differ, with the reasons.
            """)

    @Argument(help: "A fixture folder (replay-fixtures/NAME), its manifest.json, or a bare recording.")
    var fixture: String

    @Option(help: "max, realtime or Nx (e.g. 10x): pacing by the recording's clock.")
    var speed = "max"

    @Option(name: .customLong("database"), help: "Replay into this PostgreSQL database's log (must be empty) instead of memory.")
    var database: String?

    @Flag(help: "Fail unless the digests equal the manifest's; names the first differing event.")
    var verify = false

    @Option(help: "Settings file (KEY=VALUE, TRADELOG_OM_*/TRADELOG_PM_*) for a what-if run: its values override the recorded settings'.")
    var config: String?

    @Flag(help: "With --config: report the decisions that differ from the recorded settings' run.")
    var diff = false

    @Option(help: "Write the events' lines (for comparing two runs by hand) to this file.")
    var eventsOut: String?

    func run() async throws {
        guard let pace = ReplayPace.parse(speed) else { throw ValidationError("--speed: \(speed) is not max, realtime or Nx (N from 0.001 to 1000000)") }
        let fx = try Fixture.open(fixture)
        let entries = try fx.entries()
        let categories = Fixture.categories(of: entries)
        let recorded = try fx.settings()
        if diff {
            guard let config else { throw ValidationError("--diff needs --config OTHER") }
            // Two in-memory runs compared: the options of a single replay do not apply.
            let single = [(speed != "max", "--speed"), (database != nil, "--database"), (verify, "--verify"), (eventsOut != nil, "--events-out")]
            if let (_, option) = single.first(where: { $0.0 }) {
                throw ValidationError("\(option) does not apply to --diff (two in-memory runs at full speed, compared)")
            }
            // OTHER names what it changes; the recorded settings give the rest.
            let other = try ReplaySettings.load(path: config, over: recorded)
            var a = MemoryReplayStore()
            var b = MemoryReplayStore()
            let recording = try ReplayRecording(entries: entries)
            _ = try await ReplayRunner.run(recording: recording, settings: recorded, categories: categories, store: &a)
            _ = try await ReplayRunner.run(recording: recording, settings: other, categories: categories, store: &b)
            let changes = WhatIf.diff(recorded: a.events, other: b.events)
            print(WhatIf.report(changes, recordedName: "recorded", otherName: URL(fileURLWithPath: config).lastPathComponent))
            return
        }
        if verify, fx.manifest == nil || fx.expectedEventsPath == nil {
            throw ValidationError("--verify needs a fixture with a manifest (\(fixture) is a bare recording)")
        }
        let settings = try config.map { try ReplaySettings.load(path: $0, over: recorded) } ?? recorded
        let name = fx.manifest?.name ?? URL(fileURLWithPath: fx.recordingPath).lastPathComponent
        FileHandle.standardError.write(Data("replaying \(name): \(entries.count) entries at speed \(pace)\(database.map { _ in " into PostgreSQL" } ?? " in memory")\n".utf8))
        let progress: (Int, Int, Int) -> Void = { done, total, events in
            FileHandle.standardError.write(Data("  \(done)/\(total) entries, \(events) events\n".utf8))
        }
        let outcome: ReplayOutcome
        if let database {
            outcome = try await ReplayOutcome.postgres(settings: PGSettings(url: database, applicationName: "tradelog:replay"), entries: entries, settings: settings, categories: categories,
                                                       pace: pace, progress: progress)
        } else {
            outcome = try await ReplayOutcome.memory(entries: entries, settings: settings, categories: categories, pace: pace,
                                                     progress: progress)
        }
        print(outcome.summary(name: name))
        if let eventsOut {
            try (outcome.lines.joined(separator: "\n") + "\n").write(toFile: eventsOut, atomically: true, encoding: .utf8)
        }
        if verify {
            guard let manifest = fx.manifest, let expectedPath = fx.expectedEventsPath else {
                throw ValidationError("--verify needs a fixture with a manifest")
            }
            let problems = try outcome.verify(manifest: manifest, expectedEventsPath: expectedPath)
            if problems.isEmpty {
                print("verify: OK (digest, \(manifest.events) events and \(manifest.projections.count) projections equal the manifest)")
            } else {
                for p in problems { print("verify: \(p)") }
                throw ExitCode(1)
            }
        }
    }
}

struct FixtureCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fixture",
        abstract: "Record a replay fixture from the simulator on a virtual clock and write its manifest.",
        discussion: """
            Writes FOLDER/session.jsonl.lz4 (the simulator's market as a client receives it, with a \
            dropped socket, a book gap, REST answers and signals), FOLDER/settings.env, \
            FOLDER/expected-events.txt.lz4 and FOLDER/manifest.json (digests from an in-memory replay). \
            Same options, same bytes.
            """)

    @Option(help: "The fixture's folder (created).")
    var out: String

    @Option(help: "spot or linear.")
    var category = "linear"

    @Option(help: "Symbols, comma-separated.")
    var symbols = "BTCUSDT,ETHUSDT"

    @Option(help: "Length of the session in minutes.")
    var minutes = 6.0

    @Option(help: "Seed of the generated market.")
    var seed: UInt64 = 7

    @Option(help: "Start of the session, ms since the epoch.")
    var startMs: Int64 = 1_767_225_600_000

    @Option(help: "A settings line KEY=VALUE for settings.env (repeatable).")
    var set: [String] = []

    @Option(help: "A one-line description for the manifest.")
    var describe = ""

    func run() async throws {
        guard let cat = SimCategory(rawValue: category) else { throw ValidationError("--category: \(category) is not spot or linear") }
        let name = URL(fileURLWithPath: out).lastPathComponent
        var spec = FixtureBuilder.Spec(name: name, category: cat,
                                       symbols: symbols.split(separator: ",").map { String($0).uppercased() },
                                       startMs: startMs, durationMs: Int64(minutes * 60_000), seed: seed)
        spec.signalEveryMs = 10_000
        let entries = try FixtureBuilder.entries(spec)
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        let dir = URL(fileURLWithPath: out)
        let writer = try RecordingWriter(path: dir.appendingPathComponent("session.jsonl.lz4").path, header: entries[0])
        for e in entries.dropFirst() { try writer.append(e) }
        try writer.close()
        let settingsText = "# Settings this session was recorded with (TRADELOG_OM_*, TRADELOG_PM_*).\n"
            + set.map { $0 + "\n" }.joined()
        try settingsText.write(to: dir.appendingPathComponent("settings.env"), atomically: true, encoding: .utf8)
        let settings = try ReplaySettings.parse(settingsText, source: dir.appendingPathComponent("settings.env").path)
        // Read back what was written: the manifest describes the file, not the memory.
        let written = try RecordingReader(path: dir.appendingPathComponent("session.jsonl.lz4").path).entries()
        let outcome = try await ReplayOutcome.memory(entries: written, settings: settings, categories: Fixture.categories(of: written))
        try RecordingWriter.writeLines(outcome.lines, to: dir.appendingPathComponent("expected-events.txt.lz4").path)
        let c = outcome.result.counters
        let manifest = FixtureManifest(
            name: name, description: describe.isEmpty ? "\(minutes) minutes of \(category) \(symbols) from the simulator (seed \(seed))" : describe,
            recording: "session.jsonl.lz4", settings: "settings.env", expectedEvents: "expected-events.txt.lz4",
            category: category, symbols: spec.symbols,
            from: ISOTimestampText.format(written.first?.t ?? 0), to: ISOTimestampText.format(written.last?.t ?? 0),
            fromMicros: written.first?.t ?? 0, toMicros: written.last?.t ?? 0,
            counts: ["entries": c.entries, "frames": c.frames, "signals": c.signals, "connects": c.connects,
                     "disconnects": c.disconnects, "rest": c.restEntries, "resyncs": c.resyncs, "requests": c.requests,
                     "accepted": c.accepted, "rejected": c.rejected, "fills": c.fills, "events": outcome.result.events],
            digest: outcome.result.digest, events: outcome.result.events, projections: outcome.projections)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try encoder.encode(manifest).write(to: dir.appendingPathComponent("manifest.json"))
        print(outcome.summary(name: name))
        print("wrote \(out)")
    }
}

/// ISO 8601 text of a µs timestamp (UTC, microseconds).
enum ISOTimestampText {
    static func format(_ micros: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: Double(micros) / 1_000_000))
    }
}
