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
