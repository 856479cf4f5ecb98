import Foundation
import Gateway
import Recording
import Replay
import Testing
import TradelogCore

@Suite("Replay machine")
struct ReplayMachineTests {
    static let answered = #"{"retCode":0,"retMsg":"OK","result":{"list":[]},"retExtInfo":{},"time":1767225601000}"#

    /// The wallet snapshots a replay of `entries` stores, by their receive time (µs).
    static func walletSnapshotTimes(_ entries: [RecordEntry]) throws -> [Int64] {
        var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
        var times: [Int64] = []
        for e in entries {
            for event in machine.feed(e) where event.type == "ExchangeWalletSnapshot" {
                times.append(event.metadata.receiveTime?.microsecondsSinceEpoch ?? -1)
            }
        }
        return times
    }

    @Test("a wallet load the gateway discarded (wallet frames came during it; its recording notes that) is not stored by the replay either")
    func discardedWalletLoad() throws {
        let t0: Int64 = 1_767_225_600_000_000
        var entries = [
            RecordEntry(t: t0, kind: .header, info: ["format": "tradelog-recording", "version": "1"]),
            RecordEntry(t: t0 + 1_000_000, kind: .rest, channel: "rest", text: Self.answered, method: "GET",
                        path: GatewayService.walletPath, query: "accountType=UNIFIED", status: 200),
            RecordEntry(t: t0 + 2_000_000, kind: .rest, channel: "rest", text: Self.answered, method: "GET",
                        path: GatewayService.walletPath, query: "accountType=UNIFIED", status: 200),
        ]
        for (i, e) in entries.enumerated() { entries[i].seq = Int64(i) }
        // Both loads stored.
        #expect(try Self.walletSnapshotTimes(entries) == [t0 + 1_000_000, t0 + 2_000_000])
        // The first one discarded live: the note beside its answer.
        var noted = entries
        noted.insert(RecordEntry(t: t0 + 1_000_000, kind: .note, channel: "rest", reason: RecordEntry.walletLoadDiscarded,
                                 path: GatewayService.walletPath), at: 2)
        for (i, e) in noted.enumerated() { noted[i].seq = Int64(i) }
        #expect(try Self.walletSnapshotTimes(noted) == [t0 + 2_000_000])
        // The second one dropped by the live gateway's full queue: left out too.
        noted.append(RecordEntry(t: t0 + 2_000_000, kind: .note, conn: "rest", channel: "rest", reason: RecordEntry.eventsDropped, count: 1))
        for (i, e) in noted.enumerated() { noted[i].seq = Int64(i) }
        #expect(try Self.walletSnapshotTimes(noted).isEmpty)
    }

    @Test("a note survives the recording's file format")
    func noteRoundTrip() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("note-\(UUID().uuidString).jsonl.lz4").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let header = RecordEntry(t: 1, kind: .header, info: ["format": "tradelog-recording", "version": "1"])
        let writer = try RecordingWriter(path: path, header: header)
        try writer.append(RecordEntry(t: 2, kind: .note, channel: "rest", reason: RecordEntry.walletLoadDiscarded, path: GatewayService.walletPath))
        try writer.close()
        let back = try RecordingReader(path: path).entries()
        #expect(back.last?.kind == .note && back.last?.reason == RecordEntry.walletLoadDiscarded && back.last?.t == 2)
    }
}

@Suite("Order manager fold: live orders apart from closed ones")
struct OpenOrderIndexTests {
    @Test("the open orders the fold looks at on every market event (the live orders only) are exactly the open orders of all it holds, after every entry of a generated session")
    func indexMatchesAllOrders() throws {
        var spec = FixtureBuilder.Spec(name: "index", category: .linear, symbols: ["BTCUSDT", "ETHUSDT"], startMs: 1_767_225_600_000,
                                       durationMs: 150_000, seed: 3)
        spec.signalEveryMs = 4_000
        let entries = try FixtureBuilder.entries(spec)
        // Limit orders (no signal is confident enough for a market order) that rest, are
        // re-priced and cancelled by the timeout, or fill.
        let settings = try ReplaySettings.parse("TRADELOG_OM_MARKET_CONFIDENCE=1\nTRADELOG_OM_MARKET_VOLATILITY=1000000\nTRADELOG_OM_TIGHT_SPREAD_BPS=0\nTRADELOG_OM_REPRICE_AFTER_MS=3000\n", source: "test")
        var machine = try ReplayMachine(entries: entries, settings: settings, categories: [.linear])
        var opened = Set<String>(), closed = 0
        for e in entries {
            _ = machine.feed(e)
            let all = machine.orders.allOrders
            let brute = all.filter { $0.status.isOpen && !$0.external }.map(\.orderLinkId)
            #expect(machine.orders.restingOrders.map(\.orderLinkId) == brute, "after entry \(e.seq)")
            for symbol in ["BTCUSDT", "ETHUSDT"] {
                #expect(machine.orders.openOrders(category: .linear, symbol: symbol).map(\.orderLinkId)
                        == all.filter { $0.status.isOpen && !$0.external && $0.symbol == symbol }.map(\.orderLinkId))
            }
            opened.formUnion(brute)
            closed = all.filter { $0.status.isFinal }.count
        }
        // The session exercised both: orders that rested, and orders that closed.
        #expect(!opened.isEmpty && closed > 0, "opened \(opened.count), closed \(closed), \(machine.orders.allOrders.map { "\($0.status)" }), \(machine.counters)")
    }
}
