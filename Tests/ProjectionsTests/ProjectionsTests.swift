import Synchronization
import EventLog
import Foundation
import PostgresClient
import Projections
import Testing
import TradelogCore
import TradelogTesting
@testable import tradelog

@Suite("In-memory folds and row digests (pure)")
struct FoldTests {
    @Test("the workload's payloads decode with the real types and give rows in every projection")
    func workloadFeedsEveryProjection() throws {
        let w = ProjectionWorkload()
        let events = (0..<400).map { i -> RecordedEvent in
            let (stream, e) = w.event(i)
            return RecordedEvent(globalPosition: Int64(i + 1), eventID: e.eventID, stream: stream, streamVersion: 1, type: e.type,
                                 schemaVersion: 1, data: e.data, metadata: e.metadata, recordedAt: .init(microsecondsSinceEpoch: 0))
        }
        var memory = try InMemoryProjections()
        try memory.apply(events)
        for name in ProjectionCatalog.names { #expect(((try memory.digest(name))?.count ?? 0) > 0, "\(name)") }
        // Orders keep their first identity and their last non-NULL order id and reason.
        let orders = try #require(try memory.rows("orders"))
        #expect(orders.allSatisfy { $0[1] != nil })
    }

    @Test("applied a few at a time (folded in batches) or all at once: the same rows, pending events included in reads")
    func batchedFoldsEqualOneFold() throws {
        let w = ProjectionWorkload()
        let events = (0..<(InMemoryProjections.batch + 700)).map { i -> RecordedEvent in
            let (stream, e) = w.event(i)
            return RecordedEvent(globalPosition: Int64(i + 1), eventID: e.eventID, stream: stream, streamVersion: 1, type: e.type,
                                 schemaVersion: 1, data: e.data, metadata: e.metadata, recordedAt: .init(microsecondsSinceEpoch: 0))
        }
        var whole = try InMemoryProjections()
        try whole.apply(events)
        try whole.fold()
        var piecewise = try InMemoryProjections()
        var i = 0
        while i < events.count {
            let n = 1 + i % 3
            try piecewise.apply(Array(events[i..<min(i + n, events.count)]))
            i += n
        }
        // Not folded yet: the last events are pending and the reads include them.
        #expect(try piecewise.digests() == whole.digests())
        for name in ProjectionCatalog.names { #expect(try piecewise.rows(name) == whole.rows(name), "\(name)") }
    }

    @Test("digest: canonical forms, key order, log positions left out")
    func canonicalForms() {
        #expect(RowDigests.normalizeDecimal("1.500") == "1.5")
        #expect(RowDigests.normalizeDecimal("-0.000") == "0")
        #expect(RowDigests.normalizeDecimal("100") == "100")
        #expect(RowDigests.canonical(nil, .text) == "\\N")
        #expect(RowDigests.canonical("a\tb\\", .text) == "a\\tb\\\\")
        #expect(RowDigests.canonical("true", .boolean) == "t")
        #expect(RowDigests.canonical(#"{"b": 1.50, "a": [1, 2]}"#, .jsonb) == #"{"a":[1,2],"b":1.5}"#)
        let spec = CategoryStatsProjection.spec
        let a = RowDigests.digest(spec, rows: [["b", "1", "1", "5", "5", "T"], ["a", "2", "1", "3", "4", "U"]])
        // Same rows elsewhere in a log, other order: same digest.
        let b = RowDigests.digest(spec, rows: [["a", "2", "1", "103", "104", "U"], ["b", "1", "1", "105", "105", "T"]])
        #expect(a == b)
        #expect(a.count == 2)
        let c = RowDigests.digest(spec, rows: [["a", "2", "1", "3", "4", "U"], ["b", "2", "1", "5", "5", "T"]])
        #expect(a != c)
    }
}

@Suite("Projection versions and rebuilds (real PostgreSQL)")
struct RebuildTests {
    @Test("every projection's in-memory fold equals its PostgreSQL rows (count and digest)")
    func foldEqualsPostgres() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            try await Support.append(log, ProjectionWorkload(), 0..<1200, batch: 97)
            let subs = try Support.startProjections(settings)
            #expect(try await Support.caughtUp(subs, log))
            await Support.stop(subs)
            let memory = try await Support.foldLog(settings)
            for name in ProjectionCatalog.names {
                let pg = try await Support.digest(settings, name)
                #expect(pg.count > 0, "\(name)")
                #expect(try pg == memory.digest(name), "\(name)")
                if try pg != memory.digest(name) {
                    let conn = PGConnection(settings: settings)
                    let spec = ProjectionCatalog.spec(name)!
                    let rows = try await conn.withConnection { try RowDigests.rows(spec, table: name, on: $0) }
                    let a = RowDigests.canonicalText(spec, rows: rows).split(separator: "\n")
                    let b = RowDigests.canonicalText(spec, rows: try memory.rows(name)!).split(separator: "\n")
                    if let i = zip(a, b).enumerated().first(where: { $0.1.0 != $0.1.1 })?.offset {
                        Issue.record("first difference in \(name): pg \(a[i]) vs memory \(b[i])")
                    }
                }
            }
        }
    }

    @Test("a rebuild under live appends ends live, equal to a fresh fold; the view serves it; --drop-old drops v1")
    func rebuildUnderAppends() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let w = ProjectionWorkload()
            try await Support.append(log, w, 0..<3000)
            let subs = try Support.startProjections(settings)
            #expect(try await Support.caughtUp(subs, log))

            // A live appender runs during the rebuilds.
            let appender = Support.liveAppender(log, w, from: 3000, upTo: 20_000)
            var options = Support.quiet()
            options.dropOld = true
            let rebuilder = ProjectionRebuilder(settings: settings, directory: Support.directory)
            var results: [RebuildResult] = []
            for name in ["orders", "category_stats", "position_snapshots"] {
                results.append(try await rebuilder.rebuild(name, options: options))
            }
            appender.cancel()
            let appended = await appender.value
            #expect(appended > 3040)
            #expect(try await Support.caughtUp(subs, log))
            await Support.stop(subs)

            let memory = try await Support.foldLog(settings)
            let conn = PGConnection(settings: settings)
            for r in results {
                #expect(r.version == 2 && r.previousVersion == 1)
                // The live writer followed the switch: the view (v2) equals a fold of the whole log.
                #expect(try await Support.digest(settings, r.name) == (try memory.digest(r.name)), "\(r.name)")
                #expect(try await Support.digest(settings, r.name, table: "\(r.name)_v2") == (try memory.digest(r.name)))
                #expect(try await conn.scalar("SELECT to_regclass($1) IS NULL", ["\(r.name)_v1"]) == "t")
                let versions = try await conn.withConnection { try ProjectionRegistry.versions(r.name, on: $0) }
                #expect(versions.map(\.state) == ["dropped", "live"])
                #expect(try await conn.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass($1)", [r.name]) == "v")
            }
            // Untouched projections stay at v1.
            #expect(try await conn.withConnection { try ProjectionRegistry.liveVersion("positions", on: $0) } == 1)
            await conn.close()
        }
    }

    @Test("a schema change: v2.sql (a new nullable column, a new index) is built from the log under live appends and switched; the view shows the new column; signal_order_relationships too")
    func schemaChange() async throws {
        // The bundled files; the services run from them; then the user adds a v2 of orders there.
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-projections-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Support.directory, to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        let v1 = try String(contentsOf: dir.appendingPathComponent("orders/v1.sql"), encoding: .utf8)
        let v2 = v1.replacingOccurrences(of: "    updated_position   bigint NOT NULL\n);",
                                         with: "    updated_position   bigint NOT NULL,\n    desk               text\n);")
            + "CREATE INDEX IF NOT EXISTS {{table}}_strategy_idx ON {{table}} (strategy_id, created_position);\n"
        #expect(v2.contains("desk"))

        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let w = ProjectionWorkload()
            try await Support.append(log, w, 0..<2000)
            let names = ["orders", "signal_order_relationships"]
            let subs = try Support.startProjections(settings, names: names, directory: dir)
            #expect(try await Support.caughtUp(subs, log))
            // Live at v1; now the new file (a running service sets up from the same folder).
            try v2.write(to: dir.appendingPathComponent("orders/v2.sql"), atomically: true, encoding: .utf8)
            let appender = Support.liveAppender(log, w, from: 2000, upTo: 12_000)
            let rebuilder = ProjectionRebuilder(settings: settings, directory: dir)
            var results: [RebuildResult] = []
            for name in names { results.append(try await rebuilder.rebuild(name, options: Support.quiet())) }
            appender.cancel()
            #expect(await appender.value > 2040)
            #expect(try await Support.caughtUp(subs, log))
            await Support.stop(subs)

            let memory = try await Support.foldLog(settings, names: names)
            let conn = PGConnection(settings: settings)
            for r in results {
                #expect(r.version == 2 && r.previousVersion == 1)
                #expect(try await Support.digest(settings, r.name) == (try memory.digest(r.name)), "\(r.name)")
            }
            let versions = try await conn.withConnection { try ProjectionRegistry.versions("orders", on: $0) }
            #expect(versions.map(\.sqlFile) == ["v1.sql", "v2.sql"] && versions.map(\.state) == ["retired", "live"])
            #expect(try await conn.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'desk'") == "1",
                    "the view shows v2's column")
            #expect(try await conn.scalar("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders_v1' AND column_name = 'desk'") == "0")
            #expect(try await conn.scalar("SELECT to_regclass('orders_v2_strategy_idx') IS NOT NULL") == "t")
            #expect(try await conn.scalar("SELECT count(*) FROM orders WHERE desk IS NULL") == (try await conn.scalar("SELECT count(*) FROM orders")))
            // The same file again (no newer one) rebuilds the same schema as v3.
            let again = try await rebuilder.rebuild("orders", options: Support.quiet())
            #expect(again.version == 3)
            #expect(try await conn.withConnection { try ProjectionRegistry.versions("orders", on: $0) }.last?.sqlFile == "v2.sql")
            await conn.close()
        }
    }

    @Test("an interrupted rebuild leaves the live version serving and untouched; running it again resumes and switches")
    func interruptedRebuild() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            try await Support.append(log, ProjectionWorkload(), 0..<4000)
            let subs = try Support.startProjections(settings, names: ["positions"])
            #expect(try await Support.caughtUp(subs, log))
            await Support.stop(subs)
            let before = try await Support.digest(settings, "positions")

            var options = Support.quiet()
            options.batchSize = 100
            options.switchLag = 0
            options.failAfterBatches = 3
            let rebuilder = ProjectionRebuilder(settings: settings, directory: Support.directory)
            await #expect(throws: RebuildError.self) { _ = try await rebuilder.rebuild("positions", options: options) }

            let conn = PGConnection(settings: settings)
            let versions = try await conn.withConnection { try ProjectionRegistry.versions("positions", on: $0) }
            #expect(versions.map(\.state) == ["live", "building"])
            #expect(versions.last!.checkpoint > 0)
            #expect(try await Support.digest(settings, "positions") == before)
            #expect(try await conn.withConnection { try ProjectionRegistry.liveVersion("positions", on: $0) } == 1)

            // A cancelled run also leaves it so.
            options.failAfterBatches = nil
            options.batchSize = 20
            let small = options
            let cancelled = Task { try await rebuilder.rebuild("positions", options: small) }
            try await Task.sleep(for: .milliseconds(30))
            cancelled.cancel()
            _ = try? await cancelled.value
            #expect(try await Support.digest(settings, "positions") == before)

            // More appends, then the rebuild runs again: it resumes and switches.
            try await Support.append(log, ProjectionWorkload(), 4000..<4400)
            options.batchSize = 200
            let result = try await rebuilder.rebuild("positions", options: options)
            #expect(result.version == 2)
            #expect(result.resumedFrom > 0)
            let memory = try await Support.foldLog(settings)
            #expect(try await Support.digest(settings, "positions") == (try memory.digest("positions")))
            #expect(try await conn.withConnection { try ProjectionRegistry.versions("positions", on: $0) }.map(\.state) == ["retired", "live"])
            // Without --drop-old the previous version's table stays.
            #expect(try await conn.scalar("SELECT to_regclass('positions_v1') IS NOT NULL") == "t")
            await conn.close()
        }
    }

    @Test("a building version resumed from an older file says a newer one exists; --restart builds from the newest")
    func restartTakesNewestFile() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-projections-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Support.directory, to: dir)
        defer { try? FileManager.default.removeItem(at: dir) }
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            try await Support.append(log, ProjectionWorkload(), 0..<4000)
            let rebuilder = ProjectionRebuilder(settings: settings, directory: dir)
            var options = Support.quiet()
            options.batchSize = 100
            options.switchLag = 0
            options.failAfterBatches = 2
            await #expect(throws: RebuildError.self) { _ = try await rebuilder.rebuild("positions", options: options) }
            // The user adds v2.sql while v2 (from v1.sql) is half built.
            let v1 = try String(contentsOf: dir.appendingPathComponent("positions/v1.sql"), encoding: .utf8)
            try (v1 + "CREATE INDEX IF NOT EXISTS {{table}}_symbol_idx ON {{table}} (symbol);\n")
                .write(to: dir.appendingPathComponent("positions/v2.sql"), atomically: true, encoding: .utf8)
            let lines = Mutex<[String]>([])
            options.progress = { line in lines.withLock { $0.append(line) } }
            options.failAfterBatches = 1
            await #expect(throws: RebuildError.self) { _ = try await rebuilder.rebuild("positions", options: options) }
            #expect(lines.withLock { $0 }.contains { $0.contains("built from v1.sql; v2.sql is newer") && $0.contains("--restart") })
            options.failAfterBatches = nil
            options.restart = true
            let result = try await rebuilder.rebuild("positions", options: options)
            #expect(result.version == 2 && result.resumedFrom == 0)
            let conn = PGConnection(settings: settings)
            let versions = try await conn.withConnection { try ProjectionRegistry.versions("positions", on: $0) }
            #expect(versions.last?.sqlFile == "v2.sql" && versions.last?.state == "live")
            #expect(try await conn.scalar("SELECT to_regclass('positions_v2_symbol_idx') IS NOT NULL") == "t")
            await conn.close()
        }
    }

    @Test("a rebuild in a database without a log creates nothing and says to migrate")
    func rebuildWithoutLog() async throws {
        try await TestDatabase.with(migrate: false) { settings in
            do {
                _ = try await ProjectionRebuilder(settings: settings, directory: Support.directory).rebuild("orders", options: Support.quiet())
                Issue.record("rebuilt without a log")
            } catch let e as RebuildError {
                #expect("\(e)".contains("tradelog migrate"))
            }
            let conn = PGConnection(settings: settings)
            #expect(try await conn.scalar("SELECT to_regclass('projection_versions') IS NULL") == "t")
            await conn.close()
        }
    }

    @Test("a plain projection table from before versions migrates to v1 (rows, checkpoint, indexes kept; idempotent)")
    func migratesPlainTables() async throws {
        try await TestDatabase.with { settings in
            let conn = PGConnection(settings: settings)
            let template = try ProjectionFiles.read("orders", file: "v1.sql", in: Support.directory)
            try await conn.executeScript(ProjectionFiles.render(template, table: "orders"))
            try await conn.execute("""
                INSERT INTO orders (order_link_id, category, symbol, side, order_type, status, qty, created_at, updated_at,
                    created_position, updated_position) VALUES ('ol-1', 'linear', 'BTCUSDT', 'Buy', 'Limit', 'new', 1, now(), now(), 7, 7)
                """)
            try await conn.execute("INSERT INTO checkpoints (name, position) VALUES ('projection:orders', 7)")
            let p = try ProjectionCatalog.projection("orders", directory: Support.directory)
            try await conn.withConnection { try p.setUp(on: $0) }
            try await conn.withConnection { try p.setUp(on: $0) }
            #expect(try await conn.scalar("SELECT relkind::text FROM pg_class WHERE oid = to_regclass('orders')") == "v")
            #expect(try await conn.scalar("SELECT order_link_id FROM orders") == "ol-1")
            #expect(try await conn.scalar("SELECT count(*) FROM pg_indexes WHERE tablename = 'orders_v1'") == "4")
            #expect(try await conn.scalar("SELECT to_regclass('orders_v1_signal_idx') IS NOT NULL") == "t")
            let status = try await conn.withConnection { try ProjectionStatus.list(names: ["orders"], on: $0) }
            #expect(status.first?.live == 1)
            #expect(status.first?.checkpoint == 7)
            await conn.close()
        }
    }

    @Test("`tradelog projections` lists versions, checkpoint, head and lag")
    func listing() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            try await Support.append(log, ProjectionWorkload(), 0..<500)
            let subs = try Support.startProjections(settings)
            #expect(try await Support.caughtUp(subs, log))
            await Support.stop(subs)
            _ = try await ProjectionRebuilder(settings: settings, directory: Support.directory).rebuild("orders", options: Support.quiet())
            try await Support.append(log, ProjectionWorkload(idPrefix: "x"), 0..<20)
            let conn = PGConnection(settings: settings)
            let rows = try await conn.withConnection { try ProjectionStatus.list(on: $0) }
            await conn.close()
            let orders = try #require(rows.first { $0.name == "orders" })
            #expect(orders.versions.map { "v\($0.version) \($0.state)" } == ["v1 retired", "v2 live"])
            #expect(orders.live == 2)
            #expect(orders.checkpoint == 500)
            #expect(orders.head == 520)
            #expect(orders.lag == 20)

            // The command itself.
            let child = Process()
            child.executableURL = TestDatabase.tradelogExecutable
            child.arguments = ["projections", "--database", settings.url, "--log-level", "warning"]
            let out = Pipe()
            child.standardOutput = out
            try child.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            child.waitUntilExit()
            let text = String(decoding: data, as: UTF8.self)
            #expect(child.terminationStatus == 0)
            #expect(text.contains("v1 retired, v2 live"))
            #expect(text.contains("projection") && text.contains("lag"))
            #expect(text.split(separator: "\n").contains { $0.hasPrefix("orders ") && $0.hasSuffix(" 20") })
        }
    }
}

@Suite("Rebuild benchmark (real PostgreSQL)")
struct BenchRebuildTests {
    /// `TRADELOG_BENCH_REBUILD_EVENTS` runs it at another size (and prints the figures).
    @Test("benchRebuild runs on a small log and reports its figures")
    func smallBench() async throws {
        let events = ProcessInfo.processInfo.environment["TRADELOG_BENCH_REBUILD_EVENTS"].flatMap { Int($0) } ?? 4000
        let r = try await benchRebuild(settings: TestDatabase.baseSettings, events: events)
        if events != 4000 {
            for line in r.details { print(line) }
            print("rebuild_seconds: \(r.rebuildSeconds)\nappend_rate_during_rebuild_ratio: \(r.appendRateRatio)")
        }
        #expect(r.rebuildSeconds > 0)
        #expect(r.appendRateRatio > 0)
        #expect(r.details.contains { $0.hasPrefix("rebuild orders: v2") })
    }
}
