import EventLog
import Foundation
@testable import PositionManager
import PositionManagerCore
import Testing
import TradelogCore

@Suite("positions rows read from the stored JSON")
struct StoredPositionRowTests {
    static let base = """
        {"reason":"mark","time":1767225600123456,"version":7,"position":{"category":"linear","symbol":"BTCUSDT","positionIdx":0,\
        "side":"Buy","size":0.5,"signedSize":0.5,"averageEntryPrice":87000.25,"markPrice":87010,"unrealizedPnl":4.875,\
        "realizedPnl":-1.2,"closedPnl":0,"fees":1.2,"funding":0,"totalPnl":3.675,"notional":43505,"quoteCoin":"USDT",\
        "discrepancy":false,"fills":2,"strategies":[{"strategyID":"alpha/\\"1\\"","signedSize":0.5,"averageEntryPrice":87000.25,\
        "realizedPnl":-1.2,"unrealizedPnl":4.875,"fees":1.2,"funding":0,"fills":2}]EXTRA}}
        """

    static func event(_ json: String) throws -> (RecordedEvent, PositionUpdated) {
        // Through Codable and back: the data is what the position manager writes.
        let u = try CanonicalJSON.decoder.decode(PositionUpdated.self, from: Data(json.utf8))
        let e = RecordedEvent(globalPosition: 42, eventID: UUID(), stream: "position-linear-BTCUSDT-0", streamVersion: 7,
                              type: PositionUpdated.eventType, schemaVersion: 1, data: Array(try CanonicalJSON.encoder.encode(u)),
                              metadata: EventMetadata(), recordedAt: Timestamp(microsecondsSinceEpoch: 1))
        return (e, u)
    }

    @Test("the fast row equals the Codable row", arguments: [
        "",
        #","leverage":10,"liquidationPrice":80000.5"#,
        #","exchange":{"side":"Buy","signedSize":0.5,"entryPrice":87000.25,"markPrice":87011,"seq":9}"#,
        #","exchange":{"side":"None","signedSize":0}"#,
    ])
    func sameRow(_ extra: String) throws {
        let (e, u) = try Self.event(Self.base.replacingOccurrences(of: "EXTRA", with: extra))
        let fast = try #require(StoredPositionRow.row(e))
        let p = u.position
        let d = ProjectionValue.decimal
        let strategies = String(decoding: try CanonicalJSON.encoder.encode(p.strategies), as: UTF8.self)
        let reference: [String?] = [
            p.category, p.symbol, String(p.positionIdx), p.side, d(p.size), d(p.signedSize), d(p.averageEntryPrice),
            d(p.markPrice), d(p.unrealizedPnl), d(p.realizedPnl), d(p.fees), d(p.funding), d(p.totalPnl), d(p.notional),
            p.quoteCoin, strategies, d(p.closedPnl), d(p.leverage), d(p.liquidationPrice), d(p.exchange?.signedSize),
            d(p.exchange?.entryPrice), ProjectionValue.bool(p.discrepancy), String(p.fills), u.reason, String(u.version),
            ProjectionValue.time(u.time), "42",
        ]
        #expect(fast == reference)
        #expect(try PositionsProjection.spec.rows(e) == [reference])
        #expect(PositionsProjection.spec.columns.count == reference.count)
    }

    @Test("a shape it does not expect goes to Codable: a repeated key, a missing member, a string where a number is")
    func fallsBack() throws {
        let (e, _) = try Self.event(Self.base.replacingOccurrences(of: "EXTRA", with: ""))
        let text = String(decoding: e.data, as: UTF8.self)
        for broken in [
            text.replacingOccurrences(of: #""fills":2,"#, with: #""fills":2,"fills":3,"#),
            text.replacingOccurrences(of: #""quoteCoin":"USDT","#, with: ""),
            text.replacingOccurrences(of: #""notional":43505"#, with: #""notional":"43505""#),
            text.replacingOccurrences(of: #""side":"Buy""#, with: #""side":"Buy","side":"Sell""#),
        ] {
            var bad = e
            bad.data = Array(broken.utf8)
            #expect(StoredPositionRow.row(bad) == nil, "\(broken)")
        }
        // An escaped key is left to Codable too, which reads it as the same member: the same row.
        var escaped = e
        escaped.data = Array(text.replacingOccurrences(of: #""fills":2,"#, with: #""\u0066ills":2,"#).utf8)
        #expect(StoredPositionRow.row(escaped) == nil)
        #expect(try PositionsProjection.spec.rows(escaped) == PositionsProjection.spec.rows(e))
    }
}
