import Bybit
import Foundation
@testable import OrderManager
import OrderManagerCore
import PositionManagerCore
import Testing
import TradelogCore

@Suite("Exchange input out of range")
struct ExchangeInputTests {
    static func recorded(_ e: NewEvent, at position: Int64, stream: String) -> RecordedEvent {
        RecordedEvent(globalPosition: position, eventID: e.eventID, stream: stream, streamVersion: 0, type: e.type,
                      schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata,
                      recordedAt: e.metadata.receiveTime ?? Timestamp(microsecondsSinceEpoch: 0))
    }

    @Test("a position whose updatedTime is 9300000000000000 ms folds without trapping, and so do the events after it")
    func absurdUpdatedTimeFolds() throws {
        let receive = Timestamp(millisecondsSinceEpoch: 1_709_251_200_000)
        let json = """
            {"symbol":"BTCUSDT","positionIdx":0,"side":"Buy","size":"0.01","avgPrice":"50000","markPrice":"50010",
             "leverage":"10","unrealisedPnl":"0.1","cumRealisedPnl":"0","seq":7,"updatedTime":"9300000000000000"}
            """
        let p = try JSONDecoder().decode(RESTPosition.self, from: Data(json.utf8))
        #expect(p.updatedTime == 9_300_000_000_000_000)
        let event = try SyncEvents.position(p, category: .linear, name: "sync/position/test", receiveTime: receive)
        // Out of range: the receive time stands for the exchange's (as the gateway's decoder does).
        #expect(event.metadata.exchangeTime == receive)

        var state = PositionManagerState(config: PositionManagerConfig())
        _ = state.apply(Self.recorded(event, at: 1, stream: "sync-test"))
        // The same payload with its time saturated in the metadata, then an ordinary one.
        var saturated = event
        saturated.metadata.exchangeTime = Timestamp(millisecondsSinceEpoch: 9_300_000_000_000_000)
        _ = state.apply(Self.recorded(saturated, at: 2, stream: "sync-test"))
        var later = try SyncEvents.position(p, category: .linear, name: "sync/position/test-2",
                                            receiveTime: Timestamp(millisecondsSinceEpoch: 1_709_251_260_000))
        later.metadata.exchangeTime = Timestamp(millisecondsSinceEpoch: 1_709_251_260_000)
        _ = state.apply(Self.recorded(later, at: 3, stream: "sync-test"))
        #expect(state.position == 3)
    }

    @Test("an outcome whose reason or retMsg holds U+0000 becomes an event whose text has none, cut to 2 KiB")
    func nulFreeOutcome() throws {
        let unknown = OrderOutcomeUnknown(orderLinkId: "l-1", action: .create, reason: "proxy said: a\u{0}b\u{0}", amendIndex: nil)
        let event = try #require(OrderManagerEngine.outcomeEvent(unknown, link: "l-1", kind: "unknown", record: nil,
                                                                 at: Timestamp(microsecondsSinceEpoch: 1)))
        #expect(!event.data.contains(0))
        #expect(!String(decoding: event.data, as: UTF8.self).contains("\\u0000"))
        let decoded = try CanonicalJSON.decoder.decode(OrderOutcomeUnknown.self, from: Data(event.data))
        #expect(decoded.reason == "proxy said: ab")

        let rejected = OrderRejected(orderLinkId: "l-1", action: .create, retCode: 10001,
                                     retMsg: "\u{0}" + String(repeating: "é", count: 5000), amendIndex: nil)
        let r = try #require(OrderManagerEngine.outcomeEvent(rejected, link: "l-1", kind: "rejected", record: nil,
                                                             at: Timestamp(microsecondsSinceEpoch: 1)))
        let msg = try CanonicalJSON.decoder.decode(OrderRejected.self, from: Data(r.data)).retMsg
        #expect(!msg.unicodeScalars.contains("\u{0}"))
        #expect(msg.utf8.count <= OrderManagerEngine.eventTextLimit && msg.hasPrefix("éé") && msg.hasSuffix("…"))

        #expect(OrderManagerEngine.eventText("plain") == "plain")
        #expect(OrderManagerEngine.eventText("\u{0}") == "")
    }
}
