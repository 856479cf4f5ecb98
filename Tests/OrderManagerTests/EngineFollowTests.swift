import AsyncHTTPClient
import Bybit
import BybitClient
import EventLog
import Foundation
import OrderManager
import OrderManagerCore
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting

@Suite("Order manager engine: following the log")
struct EngineFollowTests {
    @Test("events derived by the fold whose append fails are derived and appended again by the next follow, not lost")
    func derivedEventsSurviveAFailedAppend() async throws {
        try await TestDatabase.with { settings in
            // The first lifecycle event inserted fails (a sequence: its step is not rolled back
            // with the failed append, so the second attempt passes).
            let conn = PGConnection(settings: settings)
            try await conn.execute("CREATE SEQUENCE test_fail_once")
            try await conn.execute("""
                CREATE FUNCTION test_fail_lifecycle() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.type = 'OrderLifecycleChanged' AND nextval('test_fail_once') = 1 THEN
                        RAISE EXCEPTION 'injected append failure';
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await conn.execute("""
                CREATE TRIGGER test_fail_lifecycle BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_fail_lifecycle()
                """)
            await conn.close()
            let log = EventLog(settings: settings)
            // Never called: the engine is not live, so it sends nothing.
            let rest = BybitRESTClient(environment: .custom("http://127.0.0.1:9"), credentials: OMStack.credentials,
                                       httpClient: .shared, configuration: OMStack.restConfiguration, logger: OMStack.logger)
            let engine = OrderManagerEngine(config: OMStack.config(), log: log, rest: rest, logger: OMStack.logger)
            let link = "ffffffffffffffffffffffffffffffff-0"
            let requested = OrderRequested(
                orderLinkId: link, signalID: "sig-follow", strategyID: "strat-1", leg: 0, category: .linear, symbol: "BTCUSDT",
                side: .buy, orderType: .limit, timeInForce: .postOnly, qty: Decimal(string: "0.01")!, price: 50_000,
                requestedAmount: 500, referencePrice: 50_000, reason: "no_resting_orders")
            let stream = OrderEvents.stream(orderLinkId: link)
            _ = try await log.append(to: stream, [try NewEvent(eventID: UUID(), payload: requested,
                                                               metadata: EventMetadata(source: "test"))])

            await #expect(throws: (any Error).self) { try await engine.follow() }
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested"])
            try await engine.follow()
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            // Folded once: a further follow derives nothing new.
            try await engine.follow()
            #expect(try await log.readStream(stream).map(\.type) == ["OrderRequested", "OrderLifecycleChanged"])
            #expect(await engine.state.order(link) != nil)
        }
    }
}
