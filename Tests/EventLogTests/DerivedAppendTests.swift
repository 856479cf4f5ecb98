import EventLog
import Foundation
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting

@Suite("Derived events: one the log refuses for its contents is recorded in its place (real PostgreSQL)")
struct DerivedAppendTests {
    static func refusals(_ log: EventLog) async throws -> [EventRefused] {
        try await log.readStream("test.refused-events").map {
            try CanonicalJSON.decoder.decode(EventRefused.self, from: Data($0.data))
        }
    }

    @Test("a NaN in one event's data: the others are stored in order, the refusal stands in its place, a retry stores nothing twice")
    func refusedData() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let bad = event("derived", 2, type: "Derived", json: #"{"price":NaN}"#)
            let batch = [("derived-a", event("derived", 1, type: "Derived")), ("derived-a", bad),
                         ("derived-b", event("derived", 3, type: "Derived"))]
            let first = try await log.appendDerived(batch, refusals: "test.refused-events", source: "test")
            #expect(first.outcomes.map { $0 == nil } == [false, true, false])
            #expect(first.appendedCount == 2)
            let refused = try #require(first.refused.first)
            #expect(refused.eventID == bad.eventID && refused.stream == "derived-a" && refused.type == "Derived")
            #expect(refused.sqlState?.hasPrefix("22") == true)
            #expect(try await Self.refusals(log) == [refused])
            #expect(try await log.readStream("derived-a").map(\.eventID) == [batch[0].1.eventID])
            #expect(try await log.readStream("derived-b").count == 1)
            let stored = try await log.readStream("test.refused-events")
            #expect(stored.first?.metadata.causationID == bad.eventID.lowercasedString)

            // Again (a retry): duplicates, and the refusal once.
            let again = try await log.appendDerived(batch, refusals: "test.refused-events", source: "test")
            #expect(again.appendedCount == 0 && again.outcomes.map { $0 == nil } == [false, true, false])
            #expect(try await Self.refusals(log).count == 1)
        }
    }

    @Test("an invalid stream name is refused like bad data; a batch the log takes goes in one append")
    func invalidStream() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let good = try await log.appendDerived([("derived-a", event("ok", 1)), ("derived-a", event("ok", 2))],
                                                   refusals: "test.refused-events", source: "test")
            #expect(good.appendedCount == 2 && good.refused.isEmpty)
            let r = try await log.appendDerived([("-no-category", event("bad", 1)), ("derived-a", event("ok", 3))],
                                                refusals: "test.refused-events", source: "test")
            #expect(r.outcomes.map { $0 == nil } == [true, false])
            #expect(r.refused.first?.sqlState == nil && r.refused.first?.reason.contains("empty category") == true)
        }
    }

    @Test("a failure that may pass next time (a trigger's exception) is thrown, and nothing is refused")
    func transientFailure() async throws {
        try await TestDatabase.with { settings in
            let conn = PGConnection(settings: settings)
            try await conn.execute("""
                CREATE FUNCTION test_fail() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'injected append failure'; END $$
                """)
            try await conn.execute("CREATE TRIGGER test_fail BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_fail()")
            await conn.close()
            let log = EventLog(settings: settings)
            let error = try await #require(throws: PGError.self) {
                _ = try await log.appendDerived([("derived-a", event("t", 1))], refusals: "test.refused-events", source: "test")
            }
            #expect(!error.refusesData && error.sqlState == "P0001")
            #expect(try await log.head() == 0)
        }
    }

    @Test("which server errors refuse the data")
    func classes() {
        func e(_ state: String?, _ code: PGError.Code = .server) -> Bool { PGError(code: code, sqlState: state, message: "m").refusesData }
        #expect(e("22P02") && e("23502") && e("54000"))
        #expect(!e(PGError.uniqueViolation) && !e("40001") && !e("53100") && !e("P0001") && !e("57014") && !e(nil))
        #expect(!e("08006", .connectionLost))
        #expect(!PGError(code: .server, sqlState: "23514", message: "no partition of relation \"events_market\" found for row").refusesData)
        #expect(PGError(code: .server, sqlState: "23514", message: "violates check constraint", constraint: "events_check").refusesData)
    }
}
