import AsyncHTTPClient
import Bybit
import BybitClient
import EventLog
import Foundation
import OrderManager
import OrderManagerCore
import PositionManager
import PositionManagerCore
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting

@Suite("Order and position manager engines: a failed append of what the fold derived")
struct EngineFollowTests {
    /// Makes the first `times` inserts of an event of `type` fail. A sequence counts the
    /// attempts: its steps are not rolled back with the failed appends.
    static func failInserts(of type: String, times: Int = 1, settings: PGSettings) async throws {
        let conn = PGConnection(settings: settings)
        try await conn.execute("CREATE SEQUENCE test_fail")
        try await conn.execute("""
            CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.type = '\(type)' AND nextval('test_fail') <= \(times) THEN
                    RAISE EXCEPTION 'injected append failure';
                END IF;
                RETURN NEW;
            END $$
            """)
        try await conn.execute("CREATE TRIGGER test_fail BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_fail()")
        await conn.close()
    }

    /// Follows once, expecting the injected failure.
    static func failingFollow(_ follow: () async throws -> Void) async throws {
        let error = try await #require(throws: (any Error).self) { try await follow() }
        #expect("\(error)".contains("injected append failure"))
    }

    static func orderManager(_ settings: PGSettings) -> (OrderManagerEngine, EventLog) {
        let log = EventLog(settings: settings)
        // Never called: the engine is not live, so it sends nothing.
        let rest = BybitRESTClient(environment: .custom("http://127.0.0.1:9"), credentials: OMStack.credentials,
                                   httpClient: .shared, configuration: OMStack.restConfiguration, logger: OMStack.logger)
        return (OrderManagerEngine(config: OMStack.config(), log: log, rest: rest, logger: OMStack.logger), log)
    }

    /// An order requested in stream `order-{link}`: the order manager's fold derives its lifecycle event.
    static func requestOrder(_ link: String, log: EventLog) async throws -> String {
        let requested = OrderRequested(
            orderLinkId: link, signalID: "sig-follow", strategyID: "strat-1", leg: 0, category: .linear, symbol: "BTCUSDT",
            side: .buy, orderType: .limit, timeInForce: .postOnly, qty: Decimal(string: "0.01")!, price: 50_000,
            requestedAmount: 500, referencePrice: 50_000, reason: "no_resting_orders")
        let stream = OrderEvents.stream(orderLinkId: link)
        _ = try await log.append(to: stream, [try NewEvent(eventID: UUID(), payload: requested, metadata: EventMetadata(source: "test"))])
        return stream
    }

    @Test("order manager: the lifecycle event of a batch whose append failed is appended by the next follow, not lost")
    func orderManager() async throws {
        try await TestDatabase.with { settings in
            try await Self.failInserts(of: OrderLifecycleChanged.eventType, settings: settings)
            let (engine, log) = Self.orderManager(settings)
            let link = "ffffffffffffffffffffffffffffffff-0"
            let stream = try await Self.requestOrder(link, log: log)

            try await Self.failingFollow { try await engine.follow() }
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested"])
            try await engine.follow()
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            // Folded once: a further follow derives nothing new.
            try await engine.follow()
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            #expect(await engine.state.order(link) != nil)
        }
    }

    @Test("order manager: a new process folding the log again does not append again the lifecycle events the last one derived")
    func orderManagerRestartAppendsNothingTwice() async throws {
        try await TestDatabase.with { settings in
            let (first, log) = Self.orderManager(settings)
            _ = try await Self.requestOrder("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-0", log: log)
            _ = try await Self.requestOrder("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-0", log: log)
            try await first.follow()
            #expect(await first.counters.derivedAppended == 2)
            let head = try await log.head()
            let (second, _) = Self.orderManager(settings)
            try await second.follow()
            // The first order's lifecycle is skipped; the last cause's is offered again, a duplicate.
            #expect(await second.counters.derivedInLog == 1)
            #expect(await second.counters.derivedAppended == 0)
            #expect(try await log.head() == head)
            #expect(await second.state.order("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb-0") != nil)
        }
    }

    @Test("order manager: follow() gets past a full read batch of events its fold skips (it read that batch again forever)")
    func followPastSkippedBatch() async throws {
        try await TestDatabase.with { settings in
            let (engine, log) = Self.orderManager(settings)
            // More than a read batch (1000) of market trades in a row, then an order.
            let trades = (0..<1_200).map { i in
                NewEvent(eventID: UUID(), type: "MarketTrades", data: Array(#"{"n":\#(i)}"#.utf8), metadata: EventMetadata(source: "test"))
            }
            _ = try await log.append(to: "market.linear.trade-BTCUSDT", trades)
            let link = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-0"
            _ = try await Self.requestOrder(link, log: log)
            let followed = Task { try await engine.follow() }
            let watchdog = Task {
                try await Task.sleep(for: .seconds(30))
                followed.cancel()
            }
            let read = try await followed.value
            watchdog.cancel()
            // The trades are skipped in the database (the fold reads none of them); the position passes them.
            #expect(read == 1)
            #expect(await engine.state.order(link) != nil)
            #expect(await engine.state.position >= 1_201)
        }
    }

    @Test("order manager: while appends fail, the state keeps folding and what it derives waits, then goes in fold order")
    func orderManagerKeepsFolding() async throws {
        try await TestDatabase.with { settings in
            try await Self.failInserts(of: OrderLifecycleChanged.eventType, times: 2, settings: settings)
            let (engine, log) = Self.orderManager(settings)
            let first = try await Self.requestOrder("ffffffffffffffffffffffffffffffff-1", log: log)
            try await Self.failingFollow { try await engine.follow() }
            // Decisions see every order requested, whether or not its lifecycle is stored yet.
            #expect(await engine.state.order("ffffffffffffffffffffffffffffffff-1") != nil)
            let second = try await Self.requestOrder("ffffffffffffffffffffffffffffffff-2", log: log)
            try await Self.failingFollow { try await engine.follow() }
            #expect(await engine.state.order("ffffffffffffffffffffffffffffffff-2") != nil)
            #expect(try await log.readStream(first).map(\.type) == ["OrderRequested"])
            try await engine.follow()
            #expect(try await log.readStream(first).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            #expect(try await log.readStream(second).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            // In fold order: the first order's lifecycle before the second's.
            let lifecycles = try await log.readStream(first).last!.globalPosition < log.readStream(second).last!.globalPosition
            #expect(lifecycles)
        }
    }

    @Test("position manager: after a follow, its position is the head even when the log's last events are none of its types (the next read does not scan them again)")
    func positionManagerPositionReachesHead() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let engine = PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger)
            let link = "dddddddddddddddddddddddddddddddd-0"
            _ = try await Self.requestOrder(link, log: log)
            let books = (0..<50).map { i in
                NewEvent(eventID: UUID(), type: "OrderBookUpdated", data: Array(#"{"n":\#(i)}"#.utf8), metadata: EventMetadata(source: "test"))
            }
            _ = try await log.append(to: "market.linear.orderbook-BTCUSDT", books)
            try await engine.follow()
            #expect(await engine.state.position == 51)
        }
    }

    @Test("position manager: a new process folding the log again does not append again what the last one derived (only what comes after)")
    func positionManagerRestartAppendsNothingTwice() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let first = PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger)
            for i in 0..<3 { _ = try await first.requestSnapshot(reason: "before \(i)") }
            #expect(await first.counters.derivedAppended == 3)
            let head = try await log.head()
            // The next process: the same history folds to the same snapshots, which are in the log.
            let second = PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger)
            try await second.follow()
            // The last cause's events are offered again (a one-by-one append may have stored
            // only some of them): duplicates, nothing appended.
            #expect(await second.counters.derivedInLog == 2)
            #expect(await second.counters.derivedAppended == 0)
            #expect(try await log.head() == head, "nothing appended")
            // What it derives from new causes goes in.
            _ = try await second.requestSnapshot(reason: "after")
            #expect(await second.counters.derivedAppended == 1)
            #expect(try await log.head() == head + 2)
        }
    }

    @Test("position manager: the snapshot of a batch whose append failed is appended by the next follow, once")
    func positionManager() async throws {
        try await TestDatabase.with { settings in
            try await Self.failInserts(of: PositionSnapshotCreated.eventType, settings: settings)
            let log = EventLog(settings: settings)
            let engine = PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger)
            let conn = PGConnection(settings: settings)
            func snapshots() async throws -> Int64? {
                try await conn.withConnection { c in
                    try c.query("SELECT count(*) FROM events WHERE type = $1", [PositionSnapshotCreated.eventType]).int(0, 0)
                }
            }
            // The request is stored; the snapshot it derives is not.
            try await Self.failingFollow { _ = try await engine.requestSnapshot(reason: "test") }
            #expect(try await snapshots() == 0)
            try await engine.follow()
            #expect(try await snapshots() == 1)
            try await engine.follow()
            #expect(try await snapshots() == 1)
            await conn.close()
        }
    }

    /// Makes every insert of an event of `type` into a stream `LIKE stream` fail as bad data
    /// would (a data exception): the same append is refused every time.
    static func refuseInserts(of type: String, in stream: String, settings: PGSettings) async throws {
        let conn = PGConnection(settings: settings)
        try await conn.execute("""
            CREATE FUNCTION test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.type = '\(type)' AND NEW.stream LIKE '\(stream)' THEN
                    RAISE EXCEPTION 'injected refusal' USING ERRCODE = 'data_exception';
                END IF;
                RETURN NEW;
            END $$
            """)
        try await conn.execute("CREATE TRIGGER test_refuse BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_refuse()")
        await conn.close()
    }

    @Test("order manager: a derived event the log always refuses is recorded as refused and holds nothing back")
    func orderManagerRefusedEvent() async throws {
        try await TestDatabase.with { settings in
            let (engine, log) = Self.orderManager(settings)
            let first = try await Self.requestOrder("ffffffffffffffffffffffffffffffff-3", log: log)
            try await Self.refuseInserts(of: OrderLifecycleChanged.eventType, in: first, settings: settings)
            let second = try await Self.requestOrder("ffffffffffffffffffffffffffffffff-4", log: log)
            try await engine.follow()
            #expect(try await log.readStream(first).map(\.type) == ["OrderRequested"])
            #expect(try await log.readStream(second).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            let refusals = try await log.readStream(OrderManagerEngine.refusalStream)
            #expect(refusals.map(\.type) == [EventRefused.eventType])
            let refused = try CanonicalJSON.decoder.decode(EventRefused.self, from: Data(try #require(refusals.first).data))
            #expect(refused.stream == first && refused.type == OrderLifecycleChanged.eventType && refused.sqlState == "22000")
            #expect(refused.reason == "injected refusal")
            #expect(await engine.counters.derivedRefused == 1)
            // Nothing is left pending: the next follow stores nothing.
            let head = try await log.head()
            try await engine.follow()
            #expect(try await log.head() == head)
        }
    }

    @Test("position manager: a snapshot the log always refuses is recorded as refused")
    func positionManagerRefusedEvent() async throws {
        try await TestDatabase.with { settings in
            try await Self.refuseInserts(of: PositionSnapshotCreated.eventType, in: PositionEvents.snapshotStream("%"), settings: settings)
            let log = EventLog(settings: settings)
            let engine = PositionManagerEngine(config: OMStack.positionConfig(), log: log, rest: nil, logger: OMStack.logger)
            _ = try await engine.requestSnapshot(reason: "test")
            let refusals = try await log.readStream(PositionManagerEngine.refusalStream)
            #expect(refusals.count == 1)
            #expect(await engine.counters.derivedRefused == 1)
        }
    }
}
