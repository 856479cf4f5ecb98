import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresClient
import TradelogCore

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks that print their figures (build with -c release).",
        subcommands: [BenchLog.self, BenchGateway.self, BenchRelay.self, BenchOrders.self, BenchReplay.self])
}

struct BenchLog: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "Durable append and read throughput of the event log against raw COPY, and append latency.",
        discussion: """
            Runs in a scratch database created next to the one --database names (the role needs \
            CREATEDB) and drops it afterwards. Ends with one `key: value` line per figure.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Events to append and read.")
    var events = 1_000_000

    @Option(help: "Events per append (and per raw COPY).")
    var batchSize = 1000

    @Option(help: "Single-event appends timed for the latency figures.")
    var latencySamples = 2000

    @Option(help: "Streams the events are spread over.")
    var streams = 100

    @Flag(help: "Keep the scratch database instead of dropping it.")
    var keepDatabase = false

    @Option(help: "The migrations folder (default: ./schema or a parent's).")
    var schemaDir: String?

    func run() async throws {
        db.bootstrapLogging()
        guard events >= batchSize, batchSize >= 1, latencySamples >= 10 else {
            throw ValidationError("need --events ≥ --batch-size ≥ 1 and --latency-samples ≥ 10")
        }
        #if DEBUG
        print("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let base = db.settings("tradelog:bench")
        let scratchName = "tradelog_bench_\(getpid())"
        let admin = PGConnection(settings: base)
        try await admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(scratchName))")
        let settings = base.with(database: scratchName)
        print("scratch database \(scratchName)")
        do {
            try await measure(settings)
        } catch {
            try? await dropScratch(admin, scratchName)
            throw error
        }
        try await dropScratch(admin, scratchName)
    }

    private func dropScratch(_ admin: PGConnection, _ name: String) async throws {
        if keepDatabase {
            print("kept scratch database \(name)")
            return
        }
        // An autovacuum worker busy in the database (after a million inserts it will be)
        // cannot be ended by WITH (FORCE) without superuser rights: wait for it to finish.
        let deadline = ContinuousClock.now + .seconds(180)
        while true {
            do {
                try await admin.execute("DROP DATABASE IF EXISTS \(PGConnection.quoteIdentifier(name)) WITH (FORCE)")
                return
            } catch let error as PGError where error.sqlState == "42501" && ContinuousClock.now < deadline {
                try await Task.sleep(for: .seconds(1))
            } catch {
                print("warning: could not drop the scratch database \(name): \(error)")
                print("         drop it later: DROP DATABASE \(name) WITH (FORCE);")
                return
            }
        }
    }

    private func batch(_ b: Int) -> [(stream: String, event: NewEvent)] {
        (b * batchSize..<(b + 1) * batchSize).map {
            (Synthetic.stream(prefix: "bench.order", index: $0, streams: streams), Synthetic.event(seed: "bench", index: $0))
        }
    }

    private func measure(_ settings: PGSettings) async throws {
        let conn = PGConnection(settings: settings)
        try await Migrator(directory: schemaDir.map { URL(fileURLWithPath: $0) } ?? ResourceDirectory.schema).migrate(on: conn)
        let batches = events / batchSize
        let total = batches * batchSize

        // 1. Durable appends through the log API against a raw COPY of byte-identical rows
        //    into a scratch table with the same indexes. The two alternate batch by batch, so
        //    that both meet the same machine (checkpoints, other load) and the ratio is fair.
        try await conn.executeScript("""
            CREATE TABLE bench_copy_scratch (LIKE events INCLUDING DEFAULTS);
            SELECT tl_index_events_leaf('bench_copy_scratch');
            """)
        let log = EventLog(settings: settings)
        var versions: [String: Int64] = [:]
        var appendTime = Duration.zero
        var copyTime = Duration.zero
        for b in 0..<batches {
            let input = batch(b)

            var t0 = ContinuousClock.now
            _ = try await log.append(StreamAppend.grouping(input))
            appendTime += ContinuousClock.now - t0

            t0 = ContinuousClock.now
            var rows: [(position: Int64, stream: String, version: Int64, event: NewEvent)] = []
            rows.reserveCapacity(batchSize)
            for (i, (s, e)) in input.enumerated() {
                let v = (versions[s] ?? 0) + 1
                versions[s] = v
                rows.append((Int64(b * batchSize + i + 1), s, v, e))
            }
            try await conn.copyIn(BenchmarkSupport.copyStatement(table: "bench_copy_scratch"), payload: BenchmarkSupport.copyPayload(rows))
            copyTime += ContinuousClock.now - t0
            progress("append and raw copy", b + 1, batches)
        }
        let appendRate = Double(total) / appendTime.seconds
        let copyRate = Double(total) / copyTime.seconds
        print("append: \(total) events in \(fmt(appendTime.seconds)) s = \(fmt0(appendRate)) events/s (batches of \(batchSize), \(streams) streams, fsync on)")
        print("raw COPY: \(total) rows in \(fmt(copyTime.seconds)) s = \(fmt0(copyRate)) rows/s (same rows, same indexes, alternating with the appends)")
        try await conn.execute("DROP TABLE bench_copy_scratch")

        // 2. Single-event append latency on the now large log, with the bare round trip for
        //    reference. A checkpoint first, so that the bulk phase's write-back does not land
        //    in the middle of it.
        do {
            try await conn.execute("CHECKPOINT")
        } catch {
            print("note: no CHECKPOINT before the latency samples (\(error)); grant pg_checkpoint to the role")
        }
        var pings: [Double] = []
        for _ in 0..<latencySamples {
            let t0 = ContinuousClock.now
            _ = try await conn.scalar("SELECT 1")
            pings.append((ContinuousClock.now - t0).seconds * 1000)
        }
        pings.sort()
        print("round trip (SELECT 1 through the client): p50 \(fmt3(pings[pings.count / 2])) ms, p99 \(fmt3(pings[pings.count * 99 / 100])) ms")

        var samples: [Double] = []
        samples.reserveCapacity(latencySamples)
        for i in 0..<latencySamples {
            let e = Synthetic.event(seed: "bench-latency", index: i)
            let t0 = ContinuousClock.now
            _ = try await log.append(to: "bench.latency-\(i % 10)", [e])
            samples.append((ContinuousClock.now - t0).seconds * 1000)
        }
        samples.sort()
        let p50 = samples[samples.count / 2]
        let p99 = samples[min(samples.count - 1, Int(Double(samples.count) * 0.99))]
        let maxLatency = samples.last!
        print("append latency (single event, \(latencySamples) samples): p50 \(fmt3(p50)) ms, p99 \(fmt3(p99)) ms, max \(fmt3(maxLatency)) ms")

        // 4. Reading the whole log in order: raw COPY TO STDOUT, then the subscription path.
        let head = try await log.head()
        _ = try await conn.scalar("SELECT count(*) FROM events")  // warm the cache for both
        var clock = ContinuousClock.now
        var bytes = 0
        let rawRows = try await conn.copyOut(
            "COPY (SELECT \(BenchmarkSupport.selectColumns) FROM events ORDER BY global_position) TO STDOUT"
        ) { bytes += $0.count }
        let rawSeconds = (ContinuousClock.now - clock).seconds
        let rawRate = Double(rawRows) / rawSeconds
        print("raw read: \(rawRows) rows (\(bytes / 1_048_576) MiB) in \(fmt(rawSeconds)) s = \(fmt0(rawRate)) rows/s")

        let counter = Counter()
        let subscription = Subscription(
            name: "bench-read", settings: settings,
            consumer: .handler { batch in counter.add(batch) },
            options: { var o = SubscriptionOptions(); o.batchSize = 5000; return o }())
        clock = ContinuousClock.now
        let task = Task { await subscription.follow() }
        while subscription.position < head {
            try await Task.sleep(for: .milliseconds(2))
        }
        let readSeconds = (ContinuousClock.now - clock).seconds
        task.cancel()
        await task.value
        let (seen, inOrder) = counter.result
        guard seen == Int(head), inOrder else {
            throw ValidationError("subscription read \(seen) of \(head) events (in order: \(inOrder))")
        }
        let readRate = Double(seen) / readSeconds
        print("subscription read: \(seen) events in \(fmt(readSeconds)) s = \(fmt0(readRate)) events/s (decoded envelopes, checkpoint per batch)")

        print("")
        print("append_events_per_s: \(fmt0(appendRate))")
        print("copy_rows_per_s: \(fmt0(copyRate))")
        print("append_vs_copy_ratio: \(fmt3(appendRate / copyRate))")
        print("append_latency_p50_ms: \(fmt3(p50))")
        print("append_latency_p99_ms: \(fmt3(p99))")
        print("read_events_per_s: \(fmt0(readRate))")
        print("raw_read_rows_per_s: \(fmt0(rawRate))")
        print("read_vs_raw_ratio: \(fmt3(readRate / rawRate))")
    }

    private func progress(_ what: String, _ done: Int, _ of: Int) {
        if done == of || done % max(1, of / 10) == 0 {
            FileHandle.standardError.write(Data("  \(what): \(done)/\(of) batches\n".utf8))
        }
    }
}

/// Counts what the subscription hands over and checks positions rise by one.
final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var seen = 0
    private var last: Int64 = 0
    private var inOrder = true

    func add(_ batch: [RecordedEvent]) {
        lock.lock()
        defer { lock.unlock() }
        for e in batch {
            if e.globalPosition != last + 1 { inOrder = false }
            last = e.globalPosition
            seen += 1
        }
    }

    var result: (Int, Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (seen, inOrder)
    }
}

/// A migrated scratch database next to `base` for `body`, dropped afterwards (also when `body` throws).
func withScratchDatabase<T>(_ base: PGSettings, name: String, _ body: (PGSettings) async throws -> T) async throws -> T {
    let admin = PGConnection(settings: base)
    try await admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(name))")
    func drop() async {
        _ = try? await admin.execute("DROP DATABASE IF EXISTS \(PGConnection.quoteIdentifier(name)) WITH (FORCE)")
        await admin.close()
    }
    do {
        let settings = base.with(database: name)
        let conn = PGConnection(settings: settings)
        _ = try await Migrator(directory: ResourceDirectory.schema).migrate(on: conn)
        await conn.close()
        let result = try await body(settings)
        await drop()
        return result
    } catch {
        await drop()
        throw error
    }
}

func fmt(_ v: Double) -> String { String(format: "%.2f", v) }
func fmt0(_ v: Double) -> String { String(format: "%.0f", v) }
func fmt3(_ v: Double) -> String { String(format: "%.3f", v) }
