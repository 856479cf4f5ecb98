import EventLog
import Foundation
import PostgresClient
import Synchronization
import Testing
import TradelogCore
import TradelogTesting

/// Collects what a subscription hands over and checks the log's ordering invariant as it goes:
/// positions arrive exactly once, each one more than the last.
final class Tail: @unchecked Sendable {
    private let lock = NSLock()
    private var positions: [Int64] = []
    private var violations: [String] = []

    func handle(_ batch: [RecordedEvent]) {
        lock.lock()
        defer { lock.unlock() }
        for e in batch {
            let expected = (positions.last ?? 0) + 1
            if e.globalPosition != expected { violations.append("got \(e.globalPosition) after \(expected - 1)") }
            positions.append(e.globalPosition)
        }
    }

    var count: Int { lock.withLock { positions.count } }
    var all: [Int64] { lock.withLock { positions } }
    var problems: [String] { lock.withLock { violations } }
}

func event(_ seed: String, _ n: Int, type: String = "Tested", json: String? = nil, metadata: EventMetadata = .init()) -> NewEvent {
    NewEvent(eventID: DeterministicID.derived(from: seed, index: n), type: type,
             data: Array((json ?? #"{"n":\#(n)}"#).utf8), metadata: metadata)
}

func fastOptions(batch: Int = 500) -> SubscriptionOptions {
    var o = SubscriptionOptions()
    o.batchSize = batch
    o.pollInterval = .milliseconds(100)
    o.retryMin = .milliseconds(50)
    o.retryMax = .milliseconds(500)
    return o
}

/// `appenders` concurrent appenders, each on its own connections, each appending 5,000
/// events in batches of 1...9 to 5 streams of `category`.
func appendConcurrently(_ settings: PGSettings, appenders: Int, category: String) async throws {
    try await withThrowingTaskGroup(of: Void.self) { group in
        for a in 0..<appenders {
            group.addTask {
                let log = EventLog(settings: settings)
                var i = 0, b = 0
                while i < 5000 {
                    let n = min(b % 9 + 1, 5000 - i)
                    _ = try await log.append(to: "\(category)-\(a)-\(b % 5)", (i..<(i + n)).map { event("\(category)/\(a)", $0) })
                    i += n
                    b += 1
                }
            }
        }
        try await group.waitForAll()
    }
}

@Suite("Event log (real PostgreSQL)")
struct EventLogTests {
    @Test("an appended event reads back with its whole envelope", arguments: [0, EventLog.defaultSmallAppendLimit])
    func envelopeRoundTrip(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            let meta = EventMetadata(
                correlationID: "sig-1", causationID: "msg-9", traceID: "trace-abc", source: "test",
                exchangeTime: Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_000),
                receiveTime: Timestamp(microsecondsSinceEpoch: 1_700_000_000_456_789))
            let e = NewEvent(eventID: UUID(), type: "SignalReceived", schemaVersion: 3,
                             data: Array(#"{"asset":"BTCUSDT","amount":"100.50"}"#.utf8), metadata: meta)
            let r = try await log.append(to: "signal-1", expectedVersion: .noStream, [e])
            #expect(r.outcomes == [.appended(globalPosition: 1, streamVersion: 1)])
            #expect(r.head == 1)

            let back = try #require(try await log.read(after: 0, limit: 10).first)
            #expect(back.eventID == e.eventID && back.stream == "signal-1" && back.streamVersion == 1)
            #expect(back.globalPosition == 1 && back.type == "SignalReceived" && back.schemaVersion == 3)
            #expect(back.metadata == meta)
            #expect(back.category == "signal")
            #expect(try CanonicalJSON.canonicalize(back.data) == CanonicalJSON.canonicalize(e.data))
            #expect(back.recordedAt > Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000))
            #expect(try await log.head() == 1)
            #expect(try await log.streamVersion("signal-1") == 1)
            #expect(try await log.streamVersion("signal-2") == 0)
        }
    }

    @Test("storedEventIDs: which of the given ids the log holds, over domain and market partitions")
    func storedEventIDs() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let domain = event("stored", 1), market = event("stored", 2), absent = event("stored", 3)
            _ = try await log.append([StreamAppend(stream: "signal-a", events: [domain]),
                                      StreamAppend(stream: "market.linear.trade-BTCUSDT", events: [market])])
            #expect(try await log.storedEventIDs([domain.eventID, market.eventID, absent.eventID]) == [domain.eventID, market.eventID])
            #expect(try await log.storedEventIDs([]) == [])
        }
    }

    struct PriceNoted: EventPayload {
        static let eventType = "TestPriceNoted"
        static let schemaVersion: Int32 = 2
        var symbol: String
        var price: Decimal
        var source: String
    }

    @Test("several checkpoints saved at one position in one statement, new and existing")
    func checkpointsTogether() async throws {
        try await TestDatabase.with { settings in
            let conn = PGConnection(settings: settings)
            try await conn.withTransaction { tx in
                try Checkpoints.save("projection:a", position: 5, on: tx)
                try Checkpoints.save(["projection:a", "projection:b"], position: 9, on: tx)
                try Checkpoints.save([], position: 11, on: tx)
            }
            let a = try await conn.withConnection { try Checkpoints.load("projection:a", on: $0) }
            let b = try await conn.withConnection { try Checkpoints.load("projection:b", on: $0) }
            #expect(a == 9 && b == 9)
            await conn.close()
        }
    }

    @Test("typed events: appended from a payload, read back through the registry, old versions upcast")
    func typedEvents() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            var registry = EventRegistry()
            registry.register(PriceNoted.self)
            registry.registerUpcaster(type: "TestPriceNoted", from: 1) { v1 in
                var v2 = v1
                v2["source"] = .string("ticker")
                return v2
            }
            let current = PriceNoted(symbol: "BTCUSDT", price: Decimal(string: "64123.50")!, source: "book")
            _ = try await log.append(to: "market.price-BTCUSDT", [
                try NewEvent(eventID: DeterministicID.derived(from: "typed", index: 1), payload: current),
                NewEvent(eventID: DeterministicID.derived(from: "typed", index: 2), type: "TestPriceNoted",
                         schemaVersion: 1, data: Array(#"{"symbol":"BTCUSDT","price":64000}"#.utf8)),
            ])
            let stored = try await log.readStream("market.price-BTCUSDT")
            #expect(stored.map(\.schemaVersion) == [2, 1])
            let decoded = try stored.map { try registry.decode(PriceNoted.self, from: $0) }
            #expect(decoded[0].price == Decimal(string: "64123.5")! && decoded[0].source == "book")
            #expect(decoded[1].price == 64000 && decoded[1].source == "ticker")
        }
    }

    @Test("read one stream, one category, and forward in bounded batches", arguments: [0, EventLog.defaultSmallAppendLimit])
    func reads(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            for i in 0..<30 {
                _ = try await log.append([
                    StreamAppend(stream: "order-\(i % 3)", events: [event("reads", i)]),
                    StreamAppend(stream: "signal-\(i % 2)", events: [event("reads-s", i)]),
                ])
            }
            let stream = try await log.readStream("order-1")
            #expect(stream.map(\.streamVersion) == Array(1...10))
            #expect(try await log.readStream("order-1", fromVersion: 9).map(\.streamVersion) == [9, 10])
            let cat = try await log.readCategory("signal", after: 0, limit: 1000)
            #expect(cat.count == 30 && cat.allSatisfy { $0.category == "signal" })
            #expect(cat.map(\.globalPosition) == cat.map(\.globalPosition).sorted())

            var batches: [Int] = []
            var positions: [Int64] = []
            for try await b in log.readForward(after: 0, batchSize: 7) {
                batches.append(b.count)
                positions += b.map(\.globalPosition)
            }
            #expect(positions == Array(1...60))
            #expect(batches.allSatisfy { $0 <= 7 })
            var catCount = 0
            for try await b in log.readForward(after: 10, batchSize: 4, category: "order") { catCount += b.count }
            #expect(catCount == 25)
        }
    }

    @Test("a wrong expected version is a typed error and stores nothing", arguments: [0, EventLog.defaultSmallAppendLimit])
    func expectedVersionConflict(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            _ = try await log.append(to: "order-x", expectedVersion: .noStream, [event("c", 1), event("c", 2)])
            await #expect(throws: EventLogError.wrongExpectedVersion(stream: "order-x", expected: .exact(1), actual: 2)) {
                try await log.append(to: "order-x", expectedVersion: .exact(1), [event("c", 3)])
            }
            await #expect(throws: EventLogError.wrongExpectedVersion(stream: "order-x", expected: .noStream, actual: 2)) {
                try await log.append(to: "order-x", expectedVersion: .noStream, [event("c", 3)])
            }
            let ok = try await log.append(to: "order-x", expectedVersion: .exact(2), [event("c", 3)])
            #expect(ok.outcomes == [.appended(globalPosition: 3, streamVersion: 3)])
            #expect(try await log.head() == 3)
        }
    }

    @Test("the same event id twice is stored once, and the append says so", arguments: [0, EventLog.defaultSmallAppendLimit])
    func duplicateEventID(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            let e = event("dup", 1)
            let first = try await log.append(to: "signal-7", [e])
            let second = try await log.append(to: "signal-7", [e, event("dup", 2)])
            #expect(first.outcomes == [.appended(globalPosition: 1, streamVersion: 1)])
            #expect(second.outcomes == [.duplicate(globalPosition: 1), .appended(globalPosition: 2, streamVersion: 2)])
            // even from another stream the id stays unique
            let third = try await log.append(to: "signal-8", [e])
            #expect(third.outcomes == [.duplicate(globalPosition: 1)])
            let conn = PGConnection(settings: settings)
            #expect(try await conn.scalar("SELECT count(*) FROM events WHERE event_id = $1", [e.eventID.uuidString]) == "1")
            #expect(try await log.head() == 2)
            // market data (its own partition) too, and across the two classes
            let m = (1...3).map { event("dup-m", $0) }
            _ = try await log.append(to: "market.trade-BTCUSDT", [m[0], m[1]])
            let again = try await log.append(to: "market.trade-BTCUSDT", [m[1], m[2]])
            #expect(again.outcomes == [.duplicate(globalPosition: 4), .appended(globalPosition: 5, streamVersion: 3)])
            let crossed = try await log.append([
                StreamAppend(stream: "market.trade-ETHUSDT", events: [e]),
                StreamAppend(stream: "signal-9", events: [m[0]]),
            ])
            #expect(crossed.outcomes == [.duplicate(globalPosition: 1), .duplicate(globalPosition: 3)])
            #expect(try await log.append(to: "signal-10", [m[2]]).outcomes == [.duplicate(globalPosition: 5)])
            #expect(try await log.append(to: "market.trade-SOLUSDT", [e]).outcomes == [.duplicate(globalPosition: 1)])
            #expect(try await log.head() == 5)
        }
    }

    @Test("a batch that fails midway stores nothing", arguments: [0, EventLog.defaultSmallAppendLimit])
    func atomicBatches(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            _ = try await log.append(to: "order-a", [event("atomic", 0)])
            // conflict on the second stream: the first stream's events are not stored either
            await #expect(throws: EventLogError.self) {
                try await log.append([
                    StreamAppend(stream: "order-b", events: [event("atomic", 1)]),
                    StreamAppend(stream: "order-a", expectedVersion: .exact(5), events: [event("atomic", 2)]),
                ])
            }
            // the server refuses the third event (not JSON): the whole COPY and transaction roll back
            await #expect(throws: PGError.self) {
                try await log.append([
                    StreamAppend(stream: "order-b", events: [event("atomic", 3), event("atomic", 4)]),
                    StreamAppend(stream: "market.trade-BTCUSDT", events: [event("atomic", 5, json: "{not json")]),
                ])
            }
            #expect(try await log.head() == 1)
            #expect(try await log.streamVersion("order-b") == 0)
            #expect(try await log.read(after: 0, limit: 100).count == 1)
            // and the log carries on gap-free
            let r = try await log.append(to: "order-b", [event("atomic", 3)])
            #expect(r.outcomes == [.appended(globalPosition: 2, streamVersion: 1)])
        }
    }

    @Test("a stream named twice in one append: versions continue across its groups", arguments: [0, EventLog.defaultSmallAppendLimit])
    func sameStreamTwice(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
            let r = try await log.append([
                StreamAppend(stream: "order-t", expectedVersion: .noStream, events: [event("twice", 1), event("twice", 2)]),
                StreamAppend(stream: "signal-t", events: [event("twice", 3)]),
                StreamAppend(stream: "order-t", expectedVersion: .exact(2), events: [event("twice", 4), event("twice", 1)]),
            ])
            #expect(r.outcomes == [
                .appended(globalPosition: 1, streamVersion: 1), .appended(globalPosition: 2, streamVersion: 2),
                .appended(globalPosition: 3, streamVersion: 1), .appended(globalPosition: 4, streamVersion: 3),
                .duplicate(globalPosition: 1),
            ])
            #expect(try await log.streamVersion("order-t") == 3)
        }
    }

    @Test("appenders racing on one stream and on the same event ids get only typed outcomes",
          arguments: [0, EventLog.defaultSmallAppendLimit])
    func contention(smallAppendLimit: Int) async throws {
        try await TestDatabase.with { settings in
            // 6 appenders; each appends 150 events of its own and the same 150 shared ids,
            // one event at a time, all to one stream.
            let outcomes = try await withThrowingTaskGroup(of: [AppendOutcome].self) { group in
                for a in 0..<6 {
                    group.addTask {
                        let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
                        var out: [AppendOutcome] = []
                        for i in 0..<150 {
                            out += try await log.append(to: "order-shared", [event("own-\(a)", i)]).outcomes
                            out += try await log.append(to: "order-shared", [event("shared", i)]).outcomes
                        }
                        return out
                    }
                }
                var all: [AppendOutcome] = []
                for try await o in group { all += o }
                return all
            }
            let appended = outcomes.filter { if case .appended = $0 { true } else { false } }.count
            #expect(appended == 6 * 150 + 150)
            #expect(outcomes.count - appended == 5 * 150)
            let log = EventLog(settings: settings)
            let stream = try await log.readStream("order-shared", limit: 100_000)
            #expect(stream.map(\.streamVersion) == Array(1...Int64(appended)))
            #expect(Set(stream.map(\.eventID)).count == appended)
            #expect(try await log.streamVersion("order-shared") == Int64(appended))

            // racing expected versions: each round, every appender expects the version it read
            let conflicts = try await withThrowingTaskGroup(of: Int.self) { group in
                for a in 0..<6 {
                    group.addTask {
                        let log = EventLog(settings: settings, smallAppendLimit: smallAppendLimit)
                        var lost = 0
                        for i in 0..<30 {
                            let v = try await log.streamVersion("order-race")
                            do {
                                _ = try await log.append(to: "order-race", expectedVersion: .exact(v), [event("race-\(a)", i)])
                            } catch let e as EventLogError {
                                guard case .wrongExpectedVersion(stream: "order-race", expected: .exact(v), actual: _) = e else { throw e }
                                lost += 1
                            }
                        }
                        return lost
                    }
                }
                var total = 0
                for try await n in group { total += n }
                return total
            }
            let raced = try await log.readStream("order-race", limit: 10_000)
            #expect(raced.count == 6 * 30 - conflicts)
            #expect(raced.map(\.streamVersion) == Array(1...Int64(raced.count)))
        }
    }

    @Test("8 concurrent appenders × 5,000 events; a tailing subscriber sees 1...N once, in order")
    func concurrentAppendersInOneProcess() async throws {
        try await TestDatabase.with { settings in
            let tail = Tail()
            let sub = Subscription(name: "tail", settings: settings, consumer: .handler { tail.handle($0) }, options: fastOptions())
            let follower = Task { await sub.follow() }
            try await appendConcurrently(settings, appenders: 8, category: "conc.app")
            let log = EventLog(settings: settings)
            #expect(try await log.head() == 40_000)
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { tail.count >= 40_000 })
            follower.cancel()
            await follower.value
            #expect(tail.problems.isEmpty)
            #expect(tail.all == Array(1...40_000))
        }
    }

    @Test("a read of a few types says how far it looked: the head when fewer than the limit came, else its last event")
    func readThrough() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            var appends: [StreamAppend] = []
            for i in 0..<30 {
                appends.append(StreamAppend(stream: "through-\(i % 3)", events: [event("through", i, type: i % 10 == 0 ? "Wanted" : "Other")]))
            }
            _ = try await log.append(appends)
            // Wanted at 1, 11, 21; 30 events in all.
            let all = try await log.readThrough(after: 0, limit: 10, types: ["Wanted"])
            #expect(all.events.map(\.globalPosition) == [1, 11, 21] && all.through == 30)
            let first = try await log.readThrough(after: 0, limit: 2, types: ["Wanted"])
            #expect(first.events.map(\.globalPosition) == [1, 11] && first.through == 11)
            let none = try await log.readThrough(after: 21, limit: 10, types: ["Wanted"])
            #expect(none.events.isEmpty && none.through == 30)
            #expect(try await log.readThrough(after: 40, limit: 10, types: ["Wanted"]).through == 40, "never backwards")
        }
    }

    @Test("appenders on every append path at once (small, batch over the small limit, a stream twice in one append, market partitions): the tailing subscriber sees 1...N once, in order")
    func concurrentAppendersOnEveryPath() async throws {
        try await TestDatabase.with { settings in
            let tail = Tail()
            let sub = Subscription(name: "tail", settings: settings, consumer: .handler { tail.handle($0) }, options: fastOptions())
            let follower = Task { await sub.follow() }
            let perAppender = 5000
            try await withThrowingTaskGroup(of: Void.self) { group in
                for a in 0..<4 {
                    group.addTask {
                        let log = EventLog(settings: settings)
                        let seed = "paths/\(a)"
                        var i = 0, b = 0
                        while i < perAppender {
                            switch b % 3 {
                            case 0:  // small: tl_append_small
                                let n = min(b % 9 + 1, perAppender - i)
                                _ = try await log.append(to: "paths.small-\(a)-\(b % 5)", (i..<(i + n)).map { event(seed, $0) })
                                i += n
                            case 1:  // over the small limit, market data: the batch path into the market partitions
                                let n = min(EventLog.defaultSmallAppendLimit + 6, perAppender - i)
                                _ = try await log.append(to: "market.paths.trade-S\(a)\(b % 3)", (i..<(i + n)).map { event(seed, $0) })
                                i += n
                            default:  // one stream twice in one append, with a market stream: the batch path
                                let n = min(5, perAppender - i)
                                let events = (i..<(i + n)).map { event(seed, $0) }
                                var appends = [StreamAppend(stream: "paths.twice-\(a)", events: Array(events.prefix(2)))]
                                if n > 2 { appends.append(StreamAppend(stream: "market.paths.ticker-S\(a)", events: [events[2]])) }
                                if n > 3 { appends.append(StreamAppend(stream: "paths.twice-\(a)", events: Array(events.dropFirst(3)))) }
                                _ = try await log.append(appends)
                                i += n
                            }
                            b += 1
                        }
                    }
                }
                try await group.waitForAll()
            }
            let total = Int64(4 * perAppender)
            #expect(try await EventLog(settings: settings).head() == total)
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { tail.count >= Int(total) })
            follower.cancel()
            await follower.value
            #expect(tail.problems.isEmpty)
            #expect(tail.all == Array(1...total))
        }
    }

    @Test("appenders split over 2 processes; the tailing subscriber still sees 1...N once, in order")
    func concurrentAppendersInTwoProcesses() async throws {
        try await TestDatabase.with { settings in
            let tail = Tail()
            let sub = Subscription(name: "tail", settings: settings, consumer: .handler { tail.handle($0) }, options: fastOptions())
            let follower = Task { await sub.follow() }
            let child = Process()
            child.executableURL = TestDatabase.tradelogExecutable
            child.arguments = ["generate", "--database", settings.url, "--appenders", "4", "--events", "5000",
                               "--max-batch", "9", "--category", "proc.b", "--seed", "child", "--log-level", "warning"]
            try child.run()
            try await appendConcurrently(settings, appenders: 4, category: "proc.a")
            while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            #expect(child.terminationStatus == 0)
            #expect(try await EventLog(settings: settings).head() == 40_000)
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { tail.count >= 40_000 })
            follower.cancel()
            await follower.value
            #expect(tail.problems.isEmpty)
            #expect(tail.all == Array(1...40_000))
            let cats = try await PGConnection(settings: settings).rows(
                "SELECT category, sum(version) FROM streams GROUP BY category ORDER BY category")
            #expect(cats == [["proc.a", "20000"], ["proc.b", "20000"]])
        }
    }

    struct HandlerFailure: Error {}

    @Test("catching up with the next batch read ahead: a handler failing mid-way sees the failed batch again, then the rest in order")
    func readAheadSurvivesAFailedBatch() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            var appends: [StreamAppend] = []
            for i in 0..<1000 { appends.append(StreamAppend(stream: "signal-\(i % 4)", events: [event("ahead", i)])) }
            _ = try await log.append(appends)
            let seen = Tail()
            let failures = Mutex(0)
            let batches = Mutex([Int64]())
            let sub = Subscription(name: "ahead", settings: settings, consumer: .handler { batch in
                batches.withLock { $0.append(batch.first!.globalPosition) }
                // The fourth batch fails once, while the fifth is being read ahead.
                if batch.first!.globalPosition == 301, failures.withLock({ $0 += 1; return $0 }) == 1 {
                    throw HandlerFailure()
                }
                seen.handle(batch)
            }, options: fastOptions(batch: 100))
            let t = Task { await sub.follow() }
            #expect(try await TestDatabase.eventually { sub.position == 1000 })
            t.cancel()
            await t.value
            #expect(seen.all == Array(1...1000) && seen.problems.isEmpty)
            #expect(batches.withLock { $0 } == [1, 101, 201, 301, 301, 401, 501, 601, 701, 801, 901])
            #expect(sub.errorCount == 1)
            // Every batch after the first of each run came from the read ahead.
            #expect(sub.batchesReadAhead == 9)
        }
    }

    @Test("a subscriber stopped and restarted resumes at its checkpoint: no gap, no repeat")
    func resumeAtCheckpoint() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            for i in 0..<100 { _ = try await log.append(to: "signal-\(i % 4)", [event("resume", i)]) }
            let first = Tail()
            let sub1 = Subscription(name: "resumer", settings: settings, consumer: .handler { first.handle($0) }, options: fastOptions(batch: 30))
            let t1 = Task { await sub1.follow() }
            #expect(try await TestDatabase.eventually { sub1.position == 100 })
            t1.cancel()
            await t1.value
            #expect(first.all == Array(1...100))

            for i in 100..<150 { _ = try await log.append(to: "signal-\(i % 4)", [event("resume", i)]) }
            let second = Tail()
            let sub2 = Subscription(name: "resumer", settings: settings, consumer: .handler { second.handle($0) }, options: fastOptions(batch: 30))
            let t2 = Task { await sub2.follow() }
            #expect(try await TestDatabase.eventually { sub2.position == 150 })
            t2.cancel()
            await t2.value
            #expect(second.all == Array(101...150))
        }
    }

    @Test("events arrive with the listener's connection killed, and with no NOTIFY at all (polling alone)")
    func lostNotifyCoveredByPolling() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let tail = Tail()
            var options = fastOptions()
            options.pollInterval = .milliseconds(300)
            let sub = Subscription(name: "notify-loss", settings: settings, consumer: .handler { tail.handle($0) }, options: options)
            let t = Task { await sub.follow() }
            #expect(try await TestDatabase.eventually { sub.isCaughtUp })
            let admin = PGConnection(settings: settings)
            let killed = try await admin.scalar("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE application_name LIKE '%:listen:notify-loss'
                """)
            #expect(killed == "1")
            _ = try await log.append(to: "signal-1", [event("lost", 1)])
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { tail.count == 1 })

            // and with notifications off altogether, polling alone delivers
            options.useNotifications = false
            let polled = Tail()
            let sub2 = Subscription(name: "poll-only", settings: settings, consumer: .handler { polled.handle($0) }, options: options)
            let t2 = Task { await sub2.follow() }
            _ = try await log.append(to: "signal-1", [event("lost", 2)])
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { polled.count == 2 })
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { tail.count == 2 })
            t.cancel()
            t2.cancel()
            await t.value
            await t2.value
            #expect(tail.all == [1, 2])
        }
    }
}

@Suite("A lookup after a lost append")
struct LostAppendLookupTests {
    @Test("an append whose client connection broke while the server still ran it: the next lookup ends that session first, so its answer is final")
    func lookupAfterLostAppendIsFinal() async throws {
        try await TestDatabase.with { settings in
            try await TestDatabase.keepStatementsOfLostClients(settings)
            let admin = PGConnection(settings: settings)
            try await admin.execute("""
                CREATE FUNCTION test_slow() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.type = 'Slow' THEN PERFORM pg_sleep(4); END IF;
                    RETURN NEW;
                END $$
                """)
            try await admin.execute("CREATE TRIGGER test_slow BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_slow()")
            let log = EventLog(settings: settings.with(applicationName: "lost-append"))
            let slow = event("lost-append", 1, type: "Slow")
            _ = try await log.storedEventIDs([slow.eventID])
            let appending = Task { try await log.append(to: "signal-1", [slow]) }
            #expect(try await TestDatabase.severClient(applicationName: "lost-append:append", waitEvent: "PgSleep", settings: settings))
            await #expect { try await appending.value } throws: { ($0 as? PGError)?.isConnectionProblem == true }
            let found = try await log.storedEventIDs([slow.eventID])
            try await Task.sleep(for: .seconds(5))
            let later = try await admin.scalar("SELECT count(*) FROM events WHERE event_id = $1", [slow.eventID.lowercasedString])
            #expect(found.isEmpty && later == "0")
            // The log appends again on a new session.
            _ = try await log.append(to: "signal-1", [event("lost-append", 2)])
            #expect(try await log.storedEventIDs([slow.eventID, event("lost-append", 2).eventID]).count == 1)
        }
    }
}
