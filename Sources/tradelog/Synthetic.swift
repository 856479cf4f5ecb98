import EventLog
import Foundation
import TradelogCore

/// Event-shaped rows for load tests and benchmarks: a stream of about 20 characters, a type
/// of about 15, about 300 bytes of JSON data and about 100 bytes of metadata. Deterministic
/// in `(seed, index)` so two runs produce identical rows.
enum Synthetic {
    static func event(seed: String, index: Int) -> NewEvent {
        let id = DeterministicID.derived(from: seed, index: index, kind: "synthetic")
        let price = 60000 + (index % 5000)
        let data = """
            {"signal_id":"\(id.uuidString.lowercased())","asset":"BTCUSDT","side":"\(index % 2 == 0 ? "Buy" : "Sell")",\
            "order_type":"Limit","price":"\(price).5","qty":"0.0\(index % 90 + 10)","time_in_force":"PostOnly",\
            "strategy_id":"momentum-v\(index % 7)","reason":"synthetic load event number \(index) for tradelog",\
            "confidence":"0.\(index % 89 + 10)","exchange_ts":\(1_700_000_000_000 + index),"seq":\(index),\
            "note":"padding to about three hundred bytes"}
            """
        return NewEvent(
            eventID: id, type: "OrderRequested", data: Array(data.utf8),
            metadata: EventMetadata(
                correlationID: DeterministicID.derived(from: seed, index: index / 4, kind: "corr").uuidString.lowercased(),
                causationID: nil, traceID: "trace-\(index / 4)", source: "bench",
                exchangeTime: Timestamp(millisecondsSinceEpoch: 1_700_000_000_000 + Int64(index)),
                receiveTime: Timestamp(millisecondsSinceEpoch: 1_700_000_000_005 + Int64(index))))
    }

    /// About 20 characters: `order-bench-000000042`.
    static func stream(prefix: String, index: Int, streams: Int) -> String {
        let n = String(index % max(1, streams))
        return "\(prefix)-" + String(repeating: "0", count: max(0, 9 - n.count)) + n
    }
}
