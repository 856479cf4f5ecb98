import ArgumentParser
import Bybit
import EventLog
import Foundation
import PostgresClient
import Projections
import Recording
import Replay
import TradelogCore

struct BenchReplay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay throughput in memory and from PostgreSQL, and rebuilds under live appends.",
        discussion: """
            1. In memory, one core: the bundled linear session through the replay (decoders, books, \
            order and position folds, the venue) and the in-memory projections, repeated until \
            --events events (the recording is read, and the venue's feed of its frames parsed, once \
            before the clock starts). 2. The session's events (repeated with fresh ids until --pg-events) \
            appended to a scratch database, then read back raw (SELECT of the same rows) and \
            replayed into every projection (batches of 5000 from the log's forward reader, which \
            reads the next batch while one is applied; one transaction per batch with the checkpoints), \
            --pg-rounds times in turn: the median of the rounds' ratios (each round's rates are medians too). 3. A log of --rebuild-events events: every projection \
            rebuilt while one appender runs, against that appender alone.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(help: "The fixture replayed (default: replay-fixtures/linear-btc-eth).")
    var fixture: String?

    @Option(help: "Events replayed in memory (the fixture repeated).")
    var events = 500_000

    @Option(help: "Events in the log replayed from PostgreSQL.")
    var pgEvents = 200_000

    @Option(help: "Rounds of the PostgreSQL part (a raw read, then a replay, each round); the median round's ratio counts.")
    var pgRounds = 5

    @Option(help: "Events in the log the rebuild runs over.")
    var rebuildEvents = 1_000_000

    @Option(help: "The parts run, comma-separated: memory, pg, rebuild (a figure of a part not run is not printed).")
    var parts = "memory,pg,rebuild"

    func run() async throws {
        db.bootstrapLogging()
        let path = fixture ?? ResourceDirectory.locate("replay-fixtures", environmentKey: "TRADELOG_FIXTURES_DIR")
            .appendingPathComponent("linear-btc-eth").path
        let fx = try Fixture.open(path)
        let entries = try fx.entries()
        let settings = try fx.settings()
        let categories = Fixture.categories(of: entries)
        func note(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }
        let run = Set(parts.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
        for p in run where !["memory", "pg", "rebuild"].contains(p) {
            throw ValidationError("--parts: unknown part \(p.debugDescription) (memory, pg, rebuild)")
        }
        guard pgRounds >= 1 else { throw ValidationError("--pg-rounds: at least 1 (got \(pgRounds))") }
        var figures: [String] = []

        // 1. In memory (one replay at least: its events are the PostgreSQL part's sample).
        var produced = 0
        var rounds = 0
        var sample: [RecordedEvent] = []
        let clock = ContinuousClock()
        // Read once, like the fixture's entries: the venue's feed of the recorded frames.
        let recording = try ReplayRecording(entries: entries)
        let t0 = clock.now
        let target = run.contains("memory") ? events : 0
        while produced < target || rounds == 0 {
            var machine = try ReplayMachine(recording: recording, settings: settings, categories: categories)
            var folds = try InMemoryProjections()
            for e in entries {
                let out = machine.feed(e)
                if !out.isEmpty { try folds.apply(out) }
                produced += out.count
                if rounds == 0 { sample += out }
            }
            try folds.fold()
            rounds += 1
        }
        let memorySeconds = (clock.now - t0).seconds
        if run.contains("memory") {
            let memoryRate = Double(produced) / memorySeconds
            note("memory: \(rounds) replays, \(produced) events, \(entries.count * rounds) entries in \(String(format: "%.2f", memorySeconds)) s")
            // The frame decoders alone over the same frames, the same number of times: the
            // share of the replay's time that decoding takes, and a bound on the whole.
            let d0 = clock.now
            var decoded = 0
            for _ in 0..<rounds { decoded += Self.decodeOnly(entries) }
            let decodeSeconds = (clock.now - d0).seconds
            let decodedPerReplay = decoded / rounds
            note("memory: the decoders alone: \(decoded) events in \(String(format: "%.2f", decodeSeconds)) s, "
                 + "\(String(format: "%.0f", 100 * decodeSeconds / memorySeconds))% of the replay's time "
                 + "(\(decodedPerReplay) of the \(produced / rounds) events per replay come straight from a frame)")
            figures += ["memory_replay_events_per_s: \(Int(memoryRate))", "memory_replay_target_1M_met: \(memoryRate >= 1_000_000)",
                        "memory_decode_only_events_per_s: \(Int(Double(decoded) / decodeSeconds))",
                        "memory_decode_share_of_replay: \(String(format: "%.3f", decodeSeconds / memorySeconds))"]
        }

        // 2. From PostgreSQL, against a raw read of the same rows.
        let base = db.settings("tradelog:bench-replay")
        if run.contains("pg") {
            let scratch = "tradelog_bench_replay_\(ProcessInfo.processInfo.processIdentifier)"
            let (rows, rounds, stored) = try await withScratchDatabase(base, name: scratch) { settings in
                let conn = PGConnection(settings: settings)
                _ = try await Migrator(directory: ResourceDirectory.schema).migrate(on: conn)
                let log = EventLog(settings: settings)
                var stored = 0
                var round = 0
                while stored < pgEvents {
                    var appends: [StreamAppend] = []
                    for e in sample {
                        let id = round == 0 ? e.eventID : DeterministicID.uuid5(namespace: e.eventID, name: "bench-\(round)")
                        let stream = round == 0 ? e.stream : "\(e.stream)~\(round)"
                        let ev = NewEvent(eventID: id, type: e.type, schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata)
                        if let last = appends.last, last.stream == stream, last.events.count < 500 {
                            appends[appends.count - 1].events.append(ev)
                        } else {
                            appends.append(StreamAppend(stream: stream, events: [ev]))
                        }
                        if appends.count >= 200 {
                            stored += try await log.append(appends).appendedCount
                            appends = []
                        }
                    }
                    if !appends.isEmpty { stored += try await log.append(appends).appendedCount }
                    round += 1
                }
                note("pg: \(stored) events in the log")
                try await conn.execute("VACUUM ANALYZE events")
                // Raw read of the same rows, same batches.
                func rawRead() async throws -> (rows: Int, seconds: Double) {
                    var raw = 0
                    let r0 = clock.now
                    var after: Int64 = 0
                    while true {
                        let from = after
                        let (n, last): (Int, Int64?) = try await conn.withConnection { c in
                            let r = try c.query("SELECT \(BenchmarkSupport.selectColumns) FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 5000", ["\(from)"])
                            return (r.rowCount, r.rowCount == 0 ? nil : r.int(r.rowCount - 1, 0))
                        }
                        raw += n
                        guard let last else { break }
                        after = last
                    }
                    return (raw, (clock.now - r0).seconds)
                }
                // Replay into every projection, from empty tables and no checkpoints.
                let projections = try ProjectionCatalog.names.map { try ProjectionCatalog.projection($0) }
                func replay() async throws -> (events: Int, seconds: Double, detail: String) {
                    try await conn.withConnection { c in for p in projections { try p.reset(on: c) } }
                    var replayed = 0
                    let p0 = clock.now
                    var readSeconds = 0.0
                    var perProjection = [Double](repeating: 0, count: projections.count)
                    // The log's forward reader reads the next batch while this one is applied.
                    var batches = log.readForward(after: 0, batchSize: 5000).makeAsyncIterator()
                    while true {
                        let r0 = clock.now
                        let next = try await batches.next()
                        readSeconds += (clock.now - r0).seconds
                        guard let batch = next, let last = batch.last else { break }
                        let spent = try await conn.withTransaction { tx in
                            var spent: [Double] = []
                            for p in projections {
                                let a0 = clock.now
                                try p.apply(batch, on: tx)
                                spent.append((clock.now - a0).seconds)
                            }
                            try Checkpoints.save(projections.map(\.checkpointName), position: last.globalPosition, on: tx)
                            return spent
                        }
                        for i in spent.indices { perProjection[i] += spent[i] }
                        replayed += batch.count
                    }
                    let split = zip(projections, perProjection).map { "\($0.spec.name) \(String(format: "%.2f", $1))" }.joined(separator: ", ")
                    return (replayed, (clock.now - p0).seconds,
                            "waiting for reads \(String(format: "%.2f", readSeconds)) s; apply per projection (s): \(split)")
                }
                // Alternating rounds, each a raw read then a replay of the same rows: the ratio of
                // each round compares two runs seconds apart (one slow or fast moment of a shared
                // machine moves one round, not the figure), and the median round counts.
                var rows = 0
                var rounds: [(raw: Double, replay: Double)] = []
                for round in 1...pgRounds {
                    let r = try await rawRead()
                    let p = try await replay()
                    note("pg: round \(round): raw read \(r.rows) rows in \(String(format: "%.2f", r.seconds)) s; replay into \(projections.count) projections \(p.events) events in \(String(format: "%.2f", p.seconds)) s, ratio \(String(format: "%.3f", r.seconds / p.seconds)) (\(p.detail))")
                    guard r.rows == p.events else {
                        throw ValidationError("the raw read found \(r.rows) rows and the replay \(p.events) events")
                    }
                    rows = r.rows
                    rounds.append((r.seconds, p.seconds))
                }
                return (rows, rounds, stored)
            }
            func median(_ values: [Double]) -> Double {
                let sorted = values.sorted()
                return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
            }
            let ratios = rounds.map { $0.raw / $0.replay }
            figures += ["pg_log_events: \(stored)", "pg_replay_events_per_s: \(Int(Double(rows) / median(rounds.map(\.replay))))",
                        "raw_read_rows_per_s: \(Int(Double(rows) / median(rounds.map(\.raw))))",
                        "pg_replay_vs_raw_ratio: \(String(format: "%.3f", median(ratios)))",
                        "pg_replay_vs_raw_ratio_per_round: \(ratios.map { String(format: "%.3f", $0) }.joined(separator: ","))"]
        }

        // 3. Rebuild of every projection under live appends.
        if run.contains("rebuild") {
            let rebuild = try await benchRebuild(settings: base, events: rebuildEvents)
            for line in rebuild.details { note(line) }
            figures += ["rebuild_events: \(rebuildEvents)", "rebuild_seconds: \(String(format: "%.2f", rebuild.rebuildSeconds))",
                        "append_rate_during_rebuild_ratio: \(String(format: "%.3f", rebuild.appendRateRatio))"]
        }

        print("bench replay: fixture \(fx.manifest?.name ?? path), \(entries.count) entries, \(sample.count) events per replay")
        for f in figures { print(f) }
    }

    /// The public frames of `entries` through the gateway's decoders only, one per connection
    /// as the replay keeps them (a frame that names no channel takes its connect marker's); the
    /// events they give.
    static func decodeOnly(_ entries: [RecordEntry]) -> Int {
        var slots: [String: Int] = [:]
        var decoders: [FrameDecoder?] = []
        var events = 0
        for e in entries where e.kind == .connect || e.kind == .frame {
            guard let conn = e.conn else { continue }
            let named = e.channel.flatMap(BybitChannel.init(rawValue:))
            let slot: Int
            if let known = slots[conn] {
                slot = known
            } else {
                slot = decoders.count
                slots[conn] = slot
                decoders.append(nil)
            }
            if let named, e.kind == .connect || decoders[slot] == nil {
                decoders[slot] = named == .private ? nil : FrameDecoder(channel: named)
            }
            guard e.kind == .frame, decoders[slot] != nil, var frame = e.text else { continue }
            events += frame.withUTF8 { decoders[slot]!.decode(UnsafeRawBufferPointer($0), receivedAt: Timestamp(microsecondsSinceEpoch: e.t)) }
                .events.count
        }
        return events
    }
}
