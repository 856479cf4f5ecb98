import EventLog
import Foundation
import Logging
import PostgresClient
import Synchronization
import Testing
import TradelogCore
import TradelogTesting

/// A projection that fails on the batch holding a chosen event, after writing its rows: every
/// time, or only the first `times`.
final class FailingProjection: Projection {
    let inner: CategoryStatsProjection
    let failAt: Int64
    let times: Int
    let failures = Mutex(0)
    struct Failure: Error {}

    init(inner: CategoryStatsProjection, failAt: Int64, times: Int = .max) {
        self.inner = inner
        self.failAt = failAt
        self.times = times
    }

    var checkpointName: String { inner.checkpointName }
    func setUp(on conn: isolated PGConnection) throws { try inner.setUp(on: conn) }
    func tearDown(on conn: isolated PGConnection) throws { try inner.tearDown(on: conn) }
    func apply(_ events: [RecordedEvent], on conn: isolated PGConnection) throws {
        try inner.apply(events, on: conn)
        if events.contains(where: { $0.globalPosition == failAt }), failures.withLock({ $0 += 1; return $0 }) <= times { throw Failure() }
    }
}

func statsRows(_ conn: PGConnection) async throws -> [[String?]] {
    try await conn.rows("SELECT * FROM category_stats ORDER BY category")
}

@Suite("Projections (real PostgreSQL)")
struct ProjectionTests {
    @Test("rows and checkpoint commit together; dropped and rebuilt from the log, the rows are equal")
    func disposableProjection() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            for i in 0..<250 {
                _ = try await log.append([
                    StreamAppend(stream: "order-\(i % 7)", events: [event("proj", i, type: "OrderRequested")]),
                    StreamAppend(stream: "market.trade-BTC\(i % 2)", events: [event("proj-m", i, type: "TradeReceived")]),
                ])
            }
            let projection = try CategoryStatsProjection(projectionsDirectory: TestDatabase.projectionsDirectory)
            let conn = PGConnection(settings: settings)

            // A projection failing at position 130 (batch 101...150) commits neither rows nor checkpoint of that batch.
            let failing = Subscription(
                name: projection.checkpointName, settings: settings,
                consumer: .projection(FailingProjection(inner: projection, failAt: 130)), options: fastOptions(batch: 50))
            let tf = Task { await failing.follow() }
            #expect(try await TestDatabase.eventually { failing.errorCount >= 2 })
            tf.cancel()
            await tf.value
            #expect(try await conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [projection.checkpointName]) == "100")
            #expect(try await conn.scalar("SELECT sum(events) FROM category_stats") == "100")

            // The real projection resumes from 100 and gets to the end.
            let sub = Subscription(name: projection.checkpointName, settings: settings, consumer: .projection(projection), options: fastOptions(batch: 50))
            let t = Task { await sub.follow() }
            #expect(try await TestDatabase.eventually { sub.position == 500 })
            t.cancel()
            await t.value
            let live = try await statsRows(conn)
            #expect(live == [
                ["market.trade", "250", "2", "2", "500", "TradeReceived"],
                ["order", "250", "7", "1", "499", "OrderRequested"],
            ])

            // Drop it, rebuild it from the log (other batch size): equal rows.
            try await conn.withConnection { try projection.reset(on: $0) }
            #expect(try await statsRows(conn).isEmpty)
            let rebuild = Subscription(name: projection.checkpointName, settings: settings, consumer: .projection(projection), options: fastOptions(batch: 33))
            let t2 = Task { await rebuild.follow() }
            #expect(try await TestDatabase.eventually { rebuild.position == 500 })
            t2.cancel()
            await t2.value
            #expect(try await statsRows(conn) == live)
        }
    }
}

extension ProjectionTests {
    @Test("catching up with a batch read ahead, a projection failing mid-way commits every event exactly once")
    func readAheadExactlyOnce() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            var appends: [StreamAppend] = []
            for i in 0..<600 { appends.append(StreamAppend(stream: "order-\(i % 5)", events: [event("ahead-proj", i, type: "OrderRequested")])) }
            _ = try await log.append(appends)
            let inner = try CategoryStatsProjection(projectionsDirectory: TestDatabase.projectionsDirectory)
            let projection = FailingProjection(inner: inner, failAt: 250, times: 1)
            let sub = Subscription(name: projection.checkpointName, settings: settings, consumer: .projection(projection),
                                   options: fastOptions(batch: 100))
            let t = Task { await sub.follow() }
            #expect(try await TestDatabase.eventually { sub.position == 600 })
            t.cancel()
            await t.value
            let conn = PGConnection(settings: settings)
            #expect(sub.errorCount == 1 && sub.batchesReadAhead >= 4)
            #expect(try await conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [projection.checkpointName]) == "600")
            #expect(try await statsRows(conn) == [["order", "600", "5", "1", "600", "OrderRequested"]])
            await conn.close()
        }
    }
}

@Suite("Subscription lease (real PostgreSQL)")
struct LeaseTests {
    @Test("a `tradelog run` process holds the projection; this process stands by, then takes over when it stops")
    func oneActiveInstanceAcrossProcesses() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            for i in 0..<100 { _ = try await log.append(to: "order-\(i % 3)", [event("lease", i)]) }

            let child = Process()
            child.executableURL = TestDatabase.tradelogExecutable
            child.arguments = ["run", "--only", "projections", "--database", settings.url, "--log-level", "warning"]
            var env = ProcessInfo.processInfo.environment
            env["TRADELOG_PROJECTIONS_DIR"] = TestDatabase.projectionsDirectory.path
            child.environment = env
            try child.run()
            defer { if child.isRunning { child.terminate() } }
            let conn = PGConnection(settings: settings)
            let projection = try CategoryStatsProjection(projectionsDirectory: TestDatabase.projectionsDirectory)
            #expect(try await TestDatabase.eventually {
                try await conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [projection.checkpointName]) == "100"
            })

            let local = Subscription(name: projection.checkpointName, settings: settings, consumer: .projection(projection), options: fastOptions(batch: 10))
            let t = Task { await local.follow() }
            #expect(try await TestDatabase.eventually { local.hasStoodBy })
            for i in 100..<200 { _ = try await log.append(to: "order-\(i % 3)", [event("lease", i)]) }
            #expect(try await TestDatabase.eventually {
                try await conn.scalar("SELECT position FROM checkpoints WHERE name = $1", [projection.checkpointName]) == "200"
            })
            #expect(local.position == 0)  // the child did the work

            child.terminate()  // SIGTERM: graceful shutdown releases the lease
            while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            #expect(child.terminationStatus == 0)
            for i in 200..<300 { _ = try await log.append(to: "order-\(i % 3)", [event("lease", i)]) }
            #expect(try await TestDatabase.eventually { local.position == 300 })
            t.cancel()
            await t.value
            #expect(try await conn.rows("SELECT category, events, streams_touched FROM category_stats") == [["order", "300", "3"]])
        }
    }
}

@Suite("Market-data retention (real PostgreSQL)")
struct RetentionTests {
    @Test("old market data is dropped; domain events and recent market data stay")
    func dropsOldMarketDataOnly() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            for i in 0..<20 {
                _ = try await log.append([
                    StreamAppend(stream: "market.orderbook-BTCUSDT", events: [event("ret-m", i)]),
                    StreamAppend(stream: i % 2 == 0 ? "signal-\(i)" : "execution-\(i)", events: [event("ret-d", i)]),
                ])
            }
            let conn = PGConnection(settings: settings)
            // (normally one partition, today's; two if the appends ran across midnight)
            let parts = try await conn.withConnection { try RetentionPolicy.marketPartitions(on: $0).map(\.name) }
            #expect(try await conn.scalar("SELECT count(*) FROM events_market") == "20")
            #expect(try await conn.scalar("SELECT count(*) FROM events_domain") == "20")

            // Three days on, with a 7-day policy: nothing goes.
            let policy = RetentionPolicy(marketDays: 7)
            let now = Date()
            let early = try await conn.withConnection { try policy.apply(on: $0, now: now.addingTimeInterval(3 * 86400)) }
            #expect(early.isEmpty)
            #expect(try await conn.scalar("SELECT count(*) FROM events_market") == "20")

            // Eight days on: today's market partition is dropped, every domain event stays.
            let late = try await conn.withConnection { try policy.apply(on: $0, now: now.addingTimeInterval(8 * 86400)) }
            #expect(late == parts)
            #expect(try await conn.scalar("SELECT count(*) FROM events_market") == "0")
            #expect(try await conn.scalar("SELECT count(*) FROM events_domain") == "20")
            let left = try await log.read(after: 0, limit: 100)
            #expect(left.count == 20 && left.allSatisfy { !$0.category.hasPrefix("market.") })

            // The log carries on: new market data gets a fresh partition, versions keep counting.
            let r = try await log.append(to: "market.orderbook-BTCUSDT", [event("ret-m", 99)])
            #expect(r.outcomes == [.appended(globalPosition: 41, streamVersion: 21)])
        }
    }

    @Test("partitions for the coming days are made ahead; a subscription behind the dropped data is warned about")
    func preparesAheadAndWarns() async throws {
        try await TestDatabase.with { settings in
            let conn = PGConnection(settings: settings)
            try await conn.withConnection { try RetentionPolicy.prepareMarketPartitions(on: $0) }
            try await conn.withConnection { try RetentionPolicy.prepareMarketPartitions(on: $0) }  // idempotent
            let parts = try await conn.withConnection { try RetentionPolicy.marketPartitions(on: $0).map(\.name) }
            let expected = try await conn.rows("""
                SELECT 'events_market_' || to_char((now() AT TIME ZONE 'UTC')::date + d, 'YYYYMMDD')
                FROM generate_series(0, 2) d ORDER BY 1
                """).map { $0[0]! }
            #expect(parts == expected)

            let log = EventLog(settings: settings)
            _ = try await log.append(to: "market.trade-BTCUSDT", (0..<5).map { event("warn", $0) })
            try await conn.execute("INSERT INTO checkpoints (name, position) VALUES ('slow-reader', 2)")
            let captured = CapturedLogs()
            let logger = Logger(label: "test") { _ in CapturingHandler(box: captured) }
            let dropped = try await conn.withConnection {
                try RetentionPolicy(marketDays: 1).apply(on: $0, now: Date().addingTimeInterval(3 * 86400), logger: logger)
            }
            #expect(dropped == Array(expected.prefix(2)))
            #expect(captured.lines.contains { $0.contains("slow-reader") })
        }
    }

    @Test("dropping a day does not block appends: the partition is detached concurrently")
    func retentionDoesNotBlockAppends() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let conn = PGConnection(settings: settings)
            // an old day with data, and a leftover partition detached by an interrupted run
            try await conn.execute("SELECT tl_ensure_market_partition(DATE '2020-01-01')")
            try await conn.execute("SELECT tl_ensure_market_partition(DATE '2020-01-02')")
            try await conn.execute("ALTER TABLE events_market DETACH PARTITION events_market_20200102")
            _ = try await log.append(to: "market.trade-BTCUSDT", [event("busy", 0)])

            // a reader holds a transaction open over the market data
            let reader = PGConnection(settings: settings)
            try await reader.execute("BEGIN")
            _ = try await reader.scalar("SELECT count(*) FROM events_market")

            let retention = Task {
                let c = PGConnection(settings: settings)
                return try await c.withConnection { try RetentionPolicy(marketDays: 7).apply(on: $0) }
            }
            try await Task.sleep(for: .milliseconds(300))
            // appends to today's partition go through while the detach waits for the reader
            let started = ContinuousClock.now
            for i in 1...20 { _ = try await log.append(to: "market.trade-BTCUSDT", [event("busy", i)]) }
            #expect(ContinuousClock.now - started < .seconds(5))
            try await reader.execute("COMMIT")
            let dropped = try await retention.value
            #expect(dropped == ["events_market_20200101", "events_market_20200102"])
            #expect(try await conn.scalar("SELECT count(*) FROM events_market") == "21")
        }
    }

    @Test func retentionSettingIsValidated() throws {
        #expect(RetentionPolicy().marketDays == 7)
        #expect(try RetentionPolicy.parse(environment: [:]).marketDays == 7)
        #expect(try RetentionPolicy.parse(environment: ["TRADELOG_MARKET_RETENTION_DAYS": "30"]).marketDays == 30)
        #expect { try RetentionPolicy.parse(environment: ["TRADELOG_MARKET_RETENTION_DAYS": "0"]) } throws: {
            "\($0)".contains("TRADELOG_MARKET_RETENTION_DAYS")
        }
        #expect(throws: ConfigurationError.self) { try RetentionPolicy.parse(environment: ["TRADELOG_MARKET_RETENTION_DAYS": "a week"]) }
    }
}

@Suite("Migrations (real PostgreSQL)")
struct MigrationTests {
    func copySchema() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-schema-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        for f in try FileManager.default.contentsOfDirectory(atPath: TestDatabase.schemaDirectory.path) {
            try FileManager.default.copyItem(at: TestDatabase.schemaDirectory.appendingPathComponent(f), to: dir.appendingPathComponent(f))
        }
        return dir
    }

    @Test("fresh database migrates; a second run is a no-op; a tampered applied file is refused by name")
    func migrations() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let dir = try copySchema()
            defer { try? FileManager.default.removeItem(at: dir) }
            let conn = PGConnection(settings: settings)
            let migrator = Migrator(directory: dir)
            let applied = try await migrator.migrate(on: conn)
            #expect(applied.contains("0001_event_log.sql"))
            #expect(try await conn.scalar("SELECT position FROM log_head") == "0")
            // Market leaves carry no category index (0002); the domain leaf keeps it.
            _ = try await conn.scalar("SELECT tl_ensure_market_partition(current_date)")
            #expect(try await conn.scalar("""
                SELECT count(*) FROM pg_indexes WHERE tablename LIKE 'events_market_%' AND indexname LIKE '%_category_idx'
                """) == "0")
            #expect(try await conn.scalar("SELECT count(*) FROM pg_indexes WHERE indexname = 'events_domain_category_idx'") == "1")
            #expect(try await migrator.migrate(on: conn).isEmpty)

            // a new file is applied on its own
            try Data("CREATE TABLE extra_t (x int);".utf8).write(to: dir.appendingPathComponent("9000_extra.sql"))
            #expect(try await migrator.migrate(on: conn) == ["9000_extra.sql"])

            // tamper with an applied file: refused, naming it, and nothing else runs
            let first = dir.appendingPathComponent("0001_event_log.sql")
            try (String(contentsOf: first, encoding: .utf8) + "\n-- edited\n").write(to: first, atomically: true, encoding: .utf8)
            try Data("CREATE TABLE never_t (x int);".utf8).write(to: dir.appendingPathComponent("9001_never.sql"))
            await #expect {
                try await migrator.migrate(on: conn)
            } throws: { e in
                "\(e)".contains("0001_event_log.sql") && "\(e)".contains("changed")
            }
            #expect(try await conn.scalar("SELECT to_regclass('never_t') IS NULL") == "t")
        }
    }

    @Test("a failing migration rolls back and names its file")
    func failingMigration() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            let dir = try copySchema()
            defer { try? FileManager.default.removeItem(at: dir) }
            try Data("CREATE TABLE half_t (x int); SELECT nope FROM nowhere;".utf8).write(to: dir.appendingPathComponent("9000_broken.sql"))
            let conn = PGConnection(settings: settings)
            await #expect { try await Migrator(directory: dir).migrate(on: conn) } throws: { "\($0)".contains("9000_broken.sql") }
            #expect(try await conn.scalar("SELECT to_regclass('half_t') IS NULL") == "t")
            let shipped = try FileManager.default.contentsOfDirectory(atPath: TestDatabase.schemaDirectory.path).filter { $0.hasSuffix(".sql") }
            #expect(try await conn.scalar("SELECT count(*) FROM schema_migrations") == "\(shipped.count)")
        }
    }
}
