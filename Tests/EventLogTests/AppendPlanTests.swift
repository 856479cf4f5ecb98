import Foundation
import Testing
import TradelogCore
@testable import EventLog

func ev(_ n: Int, type: String = "Tested") -> NewEvent {
    NewEvent(eventID: DeterministicID.derived(from: "plan-test", index: n), type: type, data: Array(#"{"n":\#(n)}"#.utf8))
}

@Suite("Append planning (pure)")
struct AppendPlanTests {
    let empty = AppendSnapshot(head: 10, existing: [:], versions: [:])

    @Test func assignsPositionsAndVersionsInInputOrder() throws {
        let snap = AppendSnapshot(head: 10, existing: [:], versions: ["a-1": 3])
        let plan = try AppendPlan(appends: [
            StreamAppend(stream: "a-1", expectedVersion: .exact(3), events: [ev(1), ev(2)]),
            StreamAppend(stream: "b-1", expectedVersion: .noStream, events: [ev(3)]),
        ], snapshot: snap)
        #expect(plan.outcomes == [
            .appended(globalPosition: 11, streamVersion: 4), .appended(globalPosition: 12, streamVersion: 5),
            .appended(globalPosition: 13, streamVersion: 1),
        ])
        #expect(plan.newHead == 13)
        #expect(plan.streamUpdates == [
            StreamUpdate(stream: "a-1", category: "a", version: 5, firstPosition: 11, lastPosition: 12),
            StreamUpdate(stream: "b-1", category: "b", version: 1, firstPosition: 13, lastPosition: 13),
        ])
    }

    @Test func wrongExpectedVersionNamesStreamAndVersions() {
        let snap = AppendSnapshot(head: 5, existing: [:], versions: ["a-1": 2])
        #expect(throws: EventLogError.wrongExpectedVersion(stream: "a-1", expected: .exact(1), actual: 2)) {
            try AppendPlan(appends: [StreamAppend(stream: "a-1", expectedVersion: .exact(1), events: [ev(1)])], snapshot: snap)
        }
        #expect(throws: EventLogError.wrongExpectedVersion(stream: "a-1", expected: .noStream, actual: 2)) {
            try AppendPlan(appends: [StreamAppend(stream: "a-1", expectedVersion: .noStream, events: [ev(1)])], snapshot: snap)
        }
        #expect(throws: EventLogError.wrongExpectedVersion(stream: "z-1", expected: .streamExists, actual: 0)) {
            try AppendPlan(appends: [StreamAppend(stream: "z-1", expectedVersion: .streamExists, events: [ev(1)])], snapshot: snap)
        }
    }

    @Test("duplicates, stored or within the batch, are reported and not stored")
    func duplicates() throws {
        let snap = AppendSnapshot(head: 7, existing: [ev(1).eventID: 4], versions: ["a-1": 7])
        let plan = try AppendPlan(appends: [
            StreamAppend(stream: "a-1", events: [ev(1), ev(2), ev(2)]),
        ], snapshot: snap)
        #expect(plan.outcomes == [
            .duplicate(globalPosition: 4), .appended(globalPosition: 8, streamVersion: 8), .duplicate(globalPosition: 8),
        ])
        #expect(plan.rows.count == 1)
    }

    @Test("a retried batch that is all duplicates is not a version conflict")
    func retryIsIdempotent() throws {
        let snap = AppendSnapshot(head: 2, existing: [ev(1).eventID: 1, ev(2).eventID: 2], versions: ["a-1": 2])
        let plan = try AppendPlan(appends: [StreamAppend(stream: "a-1", expectedVersion: .noStream, events: [ev(1), ev(2)])], snapshot: snap)
        #expect(plan.rows.isEmpty)
        #expect(plan.newHead == 2)
        #expect(plan.outcomes == [.duplicate(globalPosition: 1), .duplicate(globalPosition: 2)])
    }

    @Test func invalidAppendsAreRefusedBeforeTheDatabase() {
        #expect(throws: EventLogError.self) { try AppendPlan.validate([StreamAppend(stream: "", events: [ev(1)])]) }
        var e = ev(1)
        e.type = ""
        #expect(throws: EventLogError.self) { try AppendPlan.validate([StreamAppend(stream: "a-1", events: [e])]) }
        e = ev(1)
        e.data = []
        #expect(throws: EventLogError.self) { try AppendPlan.validate([StreamAppend(stream: "a-1", events: [e])]) }
        e.data = [0x7b, 0xff, 0x7d]  // "{", an invalid byte, "}"
        #expect(throws: EventLogError.self) { try AppendPlan.validate([StreamAppend(stream: "a-1", events: [e])]) }
    }

    @Test func marketStreamsAreMarked() throws {
        let plan = try AppendPlan(appends: [
            StreamAppend(stream: "market.trade-BTCUSDT", events: [ev(1)]),
            StreamAppend(stream: "signal-9", events: [ev(2)]),
        ], snapshot: empty)
        #expect(plan.rows.map(\.isMarket) == [true, false])
        #expect(plan.rows.map(\.category) == ["market.trade", "signal"])
    }
}

@Suite("category_stats fold (pure)")
struct CategoryStatsFoldTests {
    @Test func foldIsOrderedAndCounts() {
        func rec(_ p: Int64, _ s: String, _ v: Int64) -> RecordedEvent {
            RecordedEvent(globalPosition: p, eventID: UUID(), stream: s, streamVersion: v, type: "T\(p)", schemaVersion: 1,
                          data: Array("{}".utf8), metadata: .init(), recordedAt: .init(microsecondsSinceEpoch: 0))
        }
        let folded = CategoryStatsProjection.fold([rec(1, "b-1", 1), rec(2, "a-1", 1), rec(3, "b-1", 2), rec(4, "b-2", 1)])
        #expect(folded.map(\.0) == ["a", "b"])
        #expect(folded[1].1 == .init(events: 3, streams: 2, first: 1, last: 4, lastType: "T4"))
    }

    @Test("the batch rows equal merging the per-event rows, over several batches")
    func batchRowsEqualRowByRow() throws {
        var events: [RecordedEvent] = []
        var versions: [String: Int64] = [:]
        let streams = ["market.linear.ticker-BTCUSDT", "market.linear.ticker-ETHUSDT", "order-x1", "signal-s1", "order-x2", "plain"]
        for p in Int64(1)...500 {
            let s = streams[Int((p * 7 + p / 3) % Int64(streams.count))]
            versions[s, default: 0] += 1
            events.append(RecordedEvent(globalPosition: p, eventID: UUID(), stream: s, streamVersion: versions[s]!,
                                        type: "T\(p % 5)", schemaVersion: 1, data: Array("{}".utf8), metadata: .init(),
                                        recordedAt: .init(microsecondsSinceEpoch: 0)))
        }
        var perEvent = CategoryStatsProjection.spec
        perEvent.batchRows = nil
        var a = ProjectionRowSet(spec: CategoryStatsProjection.spec)
        var b = ProjectionRowSet(spec: perEvent)
        for chunk in stride(from: 0, to: events.count, by: 64) {
            let batch = Array(events[chunk..<min(chunk + 64, events.count)])
            try a.fold(batch)
            try b.fold(batch)
            #expect(try ProjectionWriter.rows(CategoryStatsProjection.spec, batch).count <= streams.count)
        }
        #expect(a.rows == b.rows)
        #expect(a.count == 4)
    }
}
