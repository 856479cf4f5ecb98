import BybitSimulator
import EventLog
import Recording
import Replay
import Foundation
import Testing
import TradelogCore
import TradelogTesting
@testable import Gateway

/// PostgreSQL restarted under a running gateway (run alone, like the event log's disruptive tests).
@Suite("Gateway across a PostgreSQL restart (disruptive)",
       .enabled(if: ProcessInfo.processInfo.environment["TRADELOG_DISRUPTIVE_TESTS"] == "1"),
       .serialized)
struct GatewayDisruptiveTests {
    @Test("the gateway keeps its socket while PostgreSQL restarts, buffers, and loses nothing")
    func survivesRestart() async throws {
        try await TestDatabase.with { settings in
            try await GatewayIntegrationTests.simulator(rate: .perSecond(50)).withRunning { port in
                let config = try GatewayIntegrationTests.configuration(port: port, subscriptions: ["linear:orderbook.50.BTCUSDT"])
                try await GatewayIntegrationTests.withGateway(config, settings) { gateway, log in
                    let book = "market.linear.orderbook-BTCUSDT"
                    let warm = try await TestDatabase.eventually { try await log.streamVersion(book) >= 20 }
                    #expect(warm)
                    let command = ProcessInfo.processInfo.environment["TRADELOG_PG_RESTART_COMMAND"]
                        ?? "bash '\(TestDatabase.repositoryRoot.path)/scripts/servers.sh' restart-postgres"
                    #expect(try await runShell(command) == 0)
                    let after = try await TestDatabase.eventually(timeout: .seconds(60)) {
                        (try? await log.streamVersion(book)) ?? 0 >= 200
                    }
                    #expect(after)
                    let events = try await log.readStream(book, fromVersion: 1, limit: 100_000)
                    #expect(!events.contains { $0.type == "OrderBookInvalidated" })
                    var lastU = -1
                    var gaps = 0
                    for e in events {
                        let d = try JSONSerialization.jsonObject(with: Data(e.data)) as! [String: Any]
                        let u = (d["u"] as? NSNumber)?.intValue ?? -1
                        if d["type"] as? String == "delta", u != lastU + 1 { gaps += 1 }
                        lastU = u
                    }
                    #expect(gaps == 0, "every delta from before, during and after the restart is in the log")
                    #expect(await gateway.writerStats.failures >= 1)
                    #expect(await gateway.bufferStats.droppedTotal == 0)
                    #expect(await gateway.ingestCounters()[.linear]?.connects == 1, "the socket stayed up")
                }
            }
        }
    }

    @Test("PostgreSQL down long enough to fill the gateway's bounded buffer: the socket stays, the drop is recorded as GatewayDataDropped once the log is back, and the book starts again from a fresh snapshot")
    func outageFillsTheBuffer() async throws {
        try await TestDatabase.with { settings in
            try await GatewayIntegrationTests.simulator(rate: .perSecond(50)).withRunning { port in
                var small = try GatewayIntegrationTests.configuration(port: port, subscriptions: ["linear:orderbook.50.BTCUSDT"])
                small.bufferCapacity = 100  // two seconds of this feed
                // Recorded, to check that a replay drops what the live gateway dropped.
                let recording = FileManager.default.temporaryDirectory.appendingPathComponent("outage-\(UUID().uuidString).jsonl.lz4").path
                defer { try? FileManager.default.removeItem(atPath: recording) }
                small.recordPath = recording
                let config = small
                try await GatewayIntegrationTests.withGateway(config, settings) { gateway, log in
                    let book = "market.linear.orderbook-BTCUSDT"
                    #expect(try await TestDatabase.eventually { try await log.streamVersion(book) >= 20 })
                    let scripts = "bash '\(TestDatabase.repositoryRoot.path)/scripts/servers.sh'"
                    let stop = ProcessInfo.processInfo.environment["TRADELOG_PG_STOP_COMMAND"] ?? "\(scripts) stop-postgres"
                    let start = ProcessInfo.processInfo.environment["TRADELOG_PG_START_COMMAND"] ?? "\(scripts) start-postgres"
                    #expect(try await runShell(stop) == 0)
                    // The buffer is full within seconds; it stays full while the log is gone.
                    let full = try await TestDatabase.eventually(timeout: .seconds(30)) { await gateway.bufferStats.droppedTotal > 0 }
                    try await Task.sleep(for: .seconds(2))
                    #expect(try await runShell(start) == 0)
                    #expect(full, "events were dropped while the log was down")
                    // (A start command that returns before PostgreSQL takes connections: reads fail, and are tried again.)
                    let reported = try await TestDatabase.eventually(timeout: .seconds(60)) {
                        ((try? await log.readStream(config.healthStream, limit: 1000)) ?? []).contains { $0.type == GatewayDataDropped.eventType }
                    }
                    #expect(reported, "the drop is an event once the log is back")
                    let drops = try await log.readStream(config.healthStream, limit: 1000).filter { $0.type == GatewayDataDropped.eventType }
                    let counted = try drops.map { try CanonicalJSON.decoder.decode(GatewayDataDropped.self, from: Data($0.data)) }
                    #expect(counted.reduce(0) { $0 + $1.events } > 0 && counted.allSatisfy { $0.capacity == 100 })
                    // After the gap the book is whole again: a fresh snapshot received after the last drop.
                    let lastDrop = counted.compactMap(\.lastReceive).max()
                    let snapshotAfter = try await TestDatabase.eventually(timeout: .seconds(60)) {
                        guard let lastDrop, let events = try? await log.readStream(book, fromVersion: 1, limit: 100_000) else { return false }
                        return events.contains { e in
                            (e.metadata.receiveTime ?? .earliest) > lastDrop
                                && (try? JSONSerialization.jsonObject(with: Data(e.data)) as? [String: Any])?["type"] as? String == "snapshot"
                        }
                    }
                    #expect(snapshotAfter)
                    #expect(await gateway.ingestCounters()[.linear]?.connects == 1, "the socket stayed up")
                }
                // The replay of the recording: the same book events as the live log (the dropped
                // ones left out, the book forgotten and resynced at the same frames), and the same report.
                let log = EventLog(settings: settings)
                let entries = try RecordingReader(path: recording).entries()
                var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
                var replayed: [RecordedEvent] = []
                for e in entries { replayed += machine.feed(e) }
                #expect(machine.counters.droppedLive > 0)
                func lines(_ events: [RecordedEvent]) -> [String] {
                    // The log gives jsonb's text back: compared in canonical form.
                    events.map { "\($0.type) \(String(decoding: (try? CanonicalJSON.canonicalize($0.data)) ?? $0.data, as: UTF8.self))" }
                }
                let book = "market.linear.orderbook-BTCUSDT"
                let live = lines(try await log.readStream(book, fromVersion: 1, limit: 100_000))
                let again = lines(replayed.filter { $0.stream == book })
                let first = live.indices.first { $0 >= again.count || live[$0] != again[$0] }
                #expect(live == again, "live \(live.count), replay \(again.count), first difference at \(first.map(String.init) ?? "-")")
                // Each report the recording noted is one the live log holds (a report whose append
                // reply was lost is stored again, merged, and only that one is noted).
                let liveReports = lines(try await log.readStream(config.healthStream, limit: 1000).filter { $0.type == GatewayDataDropped.eventType })
                let replayedReports = lines(replayed.filter { $0.type == GatewayDataDropped.eventType })
                #expect(!replayedReports.isEmpty && replayedReports.allSatisfy(liveReports.contains), "live \(liveReports), replay \(replayedReports)")
            }
        }
    }
}
