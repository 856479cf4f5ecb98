import Bybit
import BybitSimulator
import EventLog
import Foundation
import Recording
import Replay
import Testing
import TradelogCore
import TradelogTesting

/// The bundled sessions in `replay-fixtures/` (part of the repository). Their replays take
/// minutes of CPU in a debug build, so they run on their own (`scripts/test.sh` sets
/// `TRADELOG_REPLAY_TESTS=1` after the main run) rather than beside timing-sensitive tests.
enum Bundled {
    static var enabled: Bool { ProcessInfo.processInfo.environment["TRADELOG_REPLAY_TESTS"] == "1" }
    static var root: URL { TestDatabase.repositoryRoot.appendingPathComponent("replay-fixtures") }
    static let names = ["linear-btc-eth", "spot-btc-eth"]

    static func open(_ name: String) throws -> Fixture { try Fixture.open(root.appendingPathComponent(name).path) }

    static func replay(_ fx: Fixture, settings: ReplaySettings? = nil) async throws -> ReplayOutcome {
        let entries = try fx.entries()
        return try await ReplayOutcome.memory(entries: entries, settings: settings ?? fx.settings(),
                                              categories: Fixture.categories(of: entries))
    }
}

@Suite("Replay of the bundled sessions", .enabled(if: Bundled.enabled), .serialized)
struct BundledFixtureTests {
    @Test("each bundled session has what the issue asks: ≥ 5 min, signals, orders, fills, a dropped socket, a book gap, ≤ 5 MB", arguments: Bundled.names)
    func shape(_ name: String) throws {
        let fx = try Bundled.open(name)
        let manifest = try #require(fx.manifest)
        let size = try FileManager.default.attributesOfItem(atPath: fx.recordingPath)[.size] as? Int ?? 0
        #expect(size <= 5 << 20)
        #expect(manifest.toMicros - manifest.fromMicros >= 300_000_000)
        #expect(manifest.counts["signals", default: 0] >= 10)
        #expect(manifest.counts["requests", default: 0] >= 5)
        #expect(manifest.counts["fills", default: 0] >= 5)
        #expect(manifest.counts["disconnects", default: 0] >= 2, "the drop and the end of the session")
        #expect(manifest.counts["resyncs", default: 0] >= 1, "a book gap seen by the decoder")
        let entries = try fx.entries()
        #expect(entries.first?.kind == .header)
        #expect(entries.contains { $0.kind == .rest })
        #expect(Set(manifest.projections.keys) == ["category_stats", "orders", "position_snapshots", "positions", "signal_order_relationships"])
    }

    @Test("a replay gives the manifest's digest, events and projection figures; twice gives the same bytes, from a fresh read or from one read recording",
          arguments: Bundled.names)
    func digestAndDeterminism(_ name: String) async throws {
        let fx = try Bundled.open(name)
        let manifest = try #require(fx.manifest)
        let first = try await Bundled.replay(fx)
        #expect(first.result.digest == manifest.digest)
        #expect(first.result.events == manifest.events)
        #expect(first.projections == manifest.projections)
        #expect(try first.verify(manifest: manifest, expectedEventsPath: #require(fx.expectedEventsPath)).isEmpty)
        let second = try await Bundled.replay(fx)
        #expect(second.result.digest == first.result.digest)
        #expect(second.lines == first.lines)
        // One recording read once, replayed twice: the venue's feed the first replay played
        // starts over for the second.
        let entries = try fx.entries()
        let recording = try ReplayRecording(entries: entries)
        for _ in 0..<2 {
            let again = try await ReplayOutcome.memory(recording: recording, settings: fx.settings(),
                                                       categories: Fixture.categories(of: entries))
            #expect(again.lines == first.lines)
            #expect(again.projections == manifest.projections)
        }
    }

    @Test("a replay into PostgreSQL gives the in-memory digest, read back from the log, and the same projection rows")
    func postgresEqualsMemory() async throws {
        let fx = try Bundled.open("linear-btc-eth")
        let entries = try fx.entries()
        let memory = try await Bundled.replay(fx)
        let pg = try await TestDatabase.with { settings in
            try await ReplayOutcome.postgres(settings: settings, entries: entries, settings: fx.settings(),
                                             categories: Fixture.categories(of: entries))
        }
        #expect(pg.result.digest == memory.result.digest)
        #expect(pg.logDigest == memory.result.digest)
        #expect(pg.lines == memory.lines)
        #expect(pg.projections == memory.projections)
    }

    @Test("a replay into a log that is not fresh is refused")
    func refusesUsedLog() async throws {
        let fx = try Bundled.open("spot-btc-eth")
        let entries = Array(try fx.entries().prefix(50))
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            _ = try await log.append(to: "test-1", [NewEvent(eventID: UUID(), type: "Something", data: Array("{}".utf8), metadata: EventMetadata())])
            await #expect(throws: ReplayError.self) {
                _ = try await ReplayOutcome.postgres(settings: settings, entries: entries, settings: ReplaySettings(), categories: [.spot])
            }
        }
    }

    @Test("--verify names the first differing event when the run differs")
    func verifyNamesFirstDifference() async throws {
        let fx = try Bundled.open("linear-btc-eth")
        let manifest = try #require(fx.manifest)
        // A different risk setting changes decisions: the replay no longer matches the manifest.
        let tight = try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL=1000\n", source: "test")
        let other = try await Bundled.replay(fx, settings: tight)
        let problems = try other.verify(manifest: manifest, expectedEventsPath: #require(fx.expectedEventsPath))
        #expect(problems.contains { $0.hasPrefix("digest ") })
        let first = try #require(problems.first { $0.hasPrefix("first differing event #") })
        #expect(first.contains("OrderDenied") || first.contains("OrderDecided"), "\(first)")
    }
}

@Suite("What-if replays", .enabled(if: Bundled.enabled))
struct WhatIfTests {
    @Test("a tighter order-notional limit reports exactly the signals that limit denies, with both sides' reasons")
    func tighterLimit() async throws {
        let fx = try Bundled.open("linear-btc-eth")
        let recorded = try await Bundled.replay(fx)
        // The what-if file names only the limit; the recorded settings (spot's category) stay.
        let tight = try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL=1000\n", source: "test", over: fx.settings())
        let entries = try fx.entries()
        var a = MemoryReplayStore()
        var b = MemoryReplayStore()
        _ = try await ReplayRunner.run(entries: entries, settings: fx.settings(), categories: Fixture.categories(of: entries), store: &a)
        _ = try await ReplayRunner.run(entries: entries, settings: tight, categories: Fixture.categories(of: entries), store: &b)
        #expect(recorded.result.events == a.events.count)
        let changes = WhatIf.diff(recorded: a.events, other: b.events)
        let denied = Set(WhatIf.outcomes(b.events).filter { $0.1.decision.contains("denied max_order_notional") }.map(\.0))
        #expect(!denied.isEmpty)
        #expect(Set(changes.map(\.signalID)) == denied)
        for c in changes {
            #expect(c.recorded?.decision.first?.hasPrefix("create") == true)
            #expect(c.other?.reasons.first?.contains("exceeds 1000") == true)
        }
        let report = WhatIf.report(changes, recordedName: "recorded", otherName: "tight")
        #expect(report.hasPrefix("\(changes.count) signal(s) decided differently"))
        #expect(report.contains("because order notional"))
        // The same settings twice: nothing changed.
        #expect(WhatIf.diff(recorded: a.events, other: a.events).isEmpty)
    }

    @Test("spot: the what-if keeps the recorded settings it does not name; every signal the limit denies is reported, and the first change is one")
    func tighterLimitSpot() async throws {
        let fx = try Bundled.open("spot-btc-eth")
        let entries = try fx.entries()
        let tight = try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL=1000\n", source: "test", over: fx.settings())
        #expect(tight.orderManager.defaultCategory == .spot)
        var a = MemoryReplayStore()
        var b = MemoryReplayStore()
        _ = try await ReplayRunner.run(entries: entries, settings: fx.settings(), categories: Fixture.categories(of: entries), store: &a)
        _ = try await ReplayRunner.run(entries: entries, settings: tight, categories: Fixture.categories(of: entries), store: &b)
        let changes = WhatIf.diff(recorded: a.events, other: b.events)
        let denied = WhatIf.outcomes(b.events).filter { $0.1.decision.contains("denied max_order_notional") }.map(\.0)
        #expect(!denied.isEmpty)
        #expect(Set(denied).isSubset(of: Set(changes.map(\.signalID))))
        // Holdings differ once a sale is denied, so later signals may be decided differently too
        // (a position limit); what starts the changes is the tighter limit.
        #expect(changes.first.map { denied.contains($0.signalID) } == true)
        #expect(changes.allSatisfy { $0.other?.decision.contains("refused instruments_unknown") != true })
    }
}

@Suite("Recording fixtures from the simulator", .enabled(if: Bundled.enabled))
struct FixtureBuilderTests {
    static func spec() -> FixtureBuilder.Spec {
        var s = FixtureBuilder.Spec(name: "unit", category: .linear, symbols: ["BTCUSDT"], startMs: 1_767_225_600_000,
                                    durationMs: 60_000, seed: 3)
        s.signalEveryMs = 5_000
        return s
    }

    @Test("the same spec gives the same entries; the session has the drop, the gap, REST, signals and pings")
    func deterministicAndComplete() throws {
        let a = try FixtureBuilder.entries(Self.spec())
        let b = try FixtureBuilder.entries(Self.spec())
        #expect(a == b)
        #expect(a.first?.kind == .header)
        #expect(a.filter { $0.kind == .connect }.count == 2)
        #expect(a.filter { $0.kind == .disconnect }.count == 2)
        #expect(a.contains { $0.kind == .rest && $0.path == "/v5/market/instruments-info" })
        #expect(a.filter { $0.kind == .signal }.count >= 8)
        #expect(a.contains { $0.kind == .sent && ($0.text ?? "").contains("\"op\":\"ping\"") })
        #expect(a.contains { $0.kind == .sent && ($0.text ?? "").contains("\"op\":\"unsubscribe\"") }, "resubscribed after the gap")
        #expect(zip(a, a.dropFirst()).allSatisfy { $0.t <= $1.t }, "receive order")
    }

    @Test("the replay of a fresh recording sees the gap, skips nothing twice and turns the malformed signal into a rejection")
    func replayOfFreshRecording() async throws {
        let entries = try FixtureBuilder.entries(Self.spec())
        let outcome = try await ReplayOutcome.memory(entries: entries, settings: ReplaySettings(), categories: [.linear])
        #expect(outcome.result.counters.resyncs >= 1)
        #expect(outcome.result.types["SignalRejected", default: 0] == 1)
        #expect(outcome.result.types["OrderRequested", default: 0] >= 1)
        #expect(outcome.result.types["ExchangeExecution", default: 0] >= 1)
        #expect(outcome.result.types["StreamDisconnected", default: 0] == 2)
    }

    @Test("a settings file names the file and line of a malformed line, and the field of a bad value")
    func settingsErrors() throws {
        #expect(throws: ConfigurationError.self) { try ReplaySettings.parse("TRADELOG_OM_MAX_ORDER_NOTIONAL\n", source: "x.env") }
        do {
            _ = try ReplaySettings.parse("# c\nTRADELOG_OM_MAX_ORDER_NOTIONAL=abc\n", source: "x.env")
            Issue.record("accepted a bad value")
        } catch let e as ConfigurationError {
            #expect("\(e)".contains("TRADELOG_OM_MAX_ORDER_NOTIONAL"))
            #expect("\(e)".contains("x.env"))
        }
        do {
            _ = try ReplaySettings.parse("DATABASE_URL=postgres://x\n", source: "x.env")
            Issue.record("accepted a foreign key")
        } catch let e as ConfigurationError {
            #expect("\(e)".contains("x.env:1"))
        }
    }
}
