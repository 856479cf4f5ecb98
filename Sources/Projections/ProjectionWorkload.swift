import Foundation
import TradelogCore

/// A deterministic stream of events that every projection folds, for tests and the rebuild
/// benchmark: `OrderLifecycleChanged` (several per order), `OrderDecided`, `OrderDenied`,
/// `SignalRefused`, `PositionUpdated`, `PositionSnapshotCreated`, and market trades as
/// filler (which only `category_stats` counts). Payloads are the real types' JSON.
public struct ProjectionWorkload: Sendable {
    /// Out of every 20 events, how many are market filler (the rest are domain events).
    public var marketPer20: Int
    /// A prefix for ids, so that several runs into one log do not collide.
    public var idPrefix: String

    public init(marketPer20: Int = 14, idPrefix: String = "w") {
        self.marketPer20 = max(0, min(19, marketPer20))
        self.idPrefix = idPrefix
    }

    static let symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]
    static let statuses = ["requested", "new", "partially_filled", "filled", "cancelled"]
    static let baseTime: Int64 = 1_700_000_000_000_000

    /// The `i`-th event (stream and event), a pure function of `i`.
    public func event(_ i: Int) -> (stream: String, event: NewEvent) {
        let slot = i % 20
        let p = idPrefix
        let t = Self.baseTime + Int64(i) * 1000
        let meta = EventMetadata(source: "workload", receiveTime: Timestamp(microsecondsSinceEpoch: t))
        let id = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "\(p)-\(i)")
        func new(_ type: String, _ json: String) -> NewEvent {
            NewEvent(eventID: id, type: type, data: Array(json.utf8), metadata: meta)
        }
        let symbol = Self.symbols[(i / 20) % Self.symbols.count]
        let price = "\(100 + (i / 20) % 97).\((i / 7) % 100)"
        if slot >= 20 - marketPer20 {
            return ("market.trade-\(symbol)", new("TradeReceived", #"{"p":"\#(price)","s":"\#(symbol)","v":"0.\#(i % 1000)"}"#))
        }
        let round = i / 20
        switch slot % 6 {
        case 0:
            // Each order gets several lifecycle events (one per 6 rounds), with changing status.
            let order = round / 6
            let step = round % 6
            let status = Self.statuses[min(step, Self.statuses.count - 1)]
            let orderID = step == 0 ? "null" : "\"ex-\(order)\""
            let reason = step == 2 ? "\"partial fill\"" : "null"
            let json = """
                {"averagePrice":\(step >= 2 ? price : "null"),"category":"linear","cause":"Test","executedQty":\(step >= 2 ? "0.\(step)" : "0"),\
                "feeCurrency":"USDT","fees":0.0\(step),"latencyToAckMs":\(step >= 1 ? "12" : "null"),"latencyToFillMs":null,\
                "orderId":\(orderID),"orderLinkId":"\(p)-ol-\(order)","orderType":"Limit","price":\(price),"reason":\(reason),\
                "requestedAmount":null,"requestedQty":1.50,"side":"\(order % 2 == 0 ? "Buy" : "Sell")","signalID":"\(p)-sig-\(order)",\
                "slippageBps":\(step >= 3 ? "-1.25" : "null"),"status":"\(status)","strategyID":"s\(order % 3)","symbol":"\(symbol)",\
                "traceID":"tr-\(order)"}
                """
            return ("order-\(p)-ol-\(order)", new("OrderLifecycleChanged", json))
        case 1:
            let steps = round % 3 == 0
                ? #"[{"action":"cancel","orderLinkId":"\#(p)-ol-\#(round - 1)","reason":"replaced"},{"action":"create","orderLinkId":"\#(p)-ol-\#(round)","reason":"new signal"}]"#
                : #"[{"action":"create","orderLinkId":"\#(p)-ol-\#(round)","reason":"new\tsignal \\ ok"}]"#
            let json = """
                {"asset":"\(symbol)","basisPosition":\(i),"category":"linear","notional":150.5,"orderType":"Limit",\
                "orderTypeReason":"limit by default","qty":1.5,"referencePrice":\(price),"referenceSource":"book",\
                "riskFigures":{"max":"1000"},"side":"Buy","signalID":"\(p)-sig-\(round)","steps":\(steps),"strategyID":"s\(round % 3)"}
                """
            return ("signal-\(p)-sig-\(round)", new("OrderDecided", json))
        case 2:
            let json = #"{"asset":"\#(symbol)","code":"max_order_notional","detail":"notional 1500 > 1000","figures":{},"side":"Sell","signalID":"\#(p)-den-\#(round)","strategyID":"s1"}"#
            return ("signal-\(p)-den-\(round)", new("OrderDenied", json))
        case 3:
            let json = #"{"asset":"\#(symbol)","detail":"signal is 90 s old","figures":{},"reason":"stale_signal","signalID":"\#(p)-ref-\#(round)","strategyID":"s2"}"#
            return ("signal-\(p)-ref-\(round)", new("SignalRefused", json))
        case 4:
            let json = #"{"position":\#(Self.position(symbol, price, round)),"reason":"fill","time":\#(t),"version":\#(round + 1)}"#
            return ("position-linear.\(symbol).0", new("PositionUpdated", json))
        default:
            let positions = [Self.position(symbol, price, round), Self.position(Self.symbols[(round + 1) % 4], price, round)]
            let json = """
                {"portfolio":{"coins":[],"fees":0,"funding":0,"grossExposure":0,"netExposure":0,"openPositions":2,"realizedPnl":0,\
                "spotUnrealizedPnl":0,"strategies":[],"totalPnl":0,"unconverted":[],"unrealizedPnl":0},\
                "positions":[\(positions.joined(separator: ","))],"snapshotID":"\(p)-snap-\(round)","time":\(t),"trigger":"interval"}
                """
            return ("position-snapshots", new("PositionSnapshotCreated", json))
        }
    }

    static func position(_ symbol: String, _ price: String, _ round: Int) -> String {
        let size = "0.\(round % 9 + 1)"
        let exchange = round % 4 == 0
            ? #"{"entryPrice":\#(price),"side":"Buy","signedSize":\#(size)}"#
            : "null"
        return """
            {"averageEntryPrice":\(price),"category":"linear","closedPnl":1.0,"discrepancy":\(round % 5 == 0),"exchange":\(exchange),\
            "fees":0.010,"fills":\(round % 7),"funding":0,"leverage":\(round % 2 == 0 ? "10" : "null"),"liquidationPrice":null,\
            "markPrice":\(price),"notional":12.5,"positionIdx":0,"quoteCoin":"USDT","realizedPnl":-0.5,"side":"Buy","signedSize":\(size),\
            "size":\(size),"strategies":[{"averageEntryPrice":\(price),"fees":0.01,"fills":1,"funding":0,"realizedPnl":0,\
            "signedSize":\(size),"strategyID":"s\(round % 3)","unrealizedPnl":0.25}],"symbol":"\(symbol)","totalPnl":0.5,"unrealizedPnl":0.25}
            """
    }

    /// Events `range` grouped for one append.
    public func batch(_ range: Range<Int>) -> [(stream: String, event: NewEvent)] {
        range.map { event($0) }
    }
}
