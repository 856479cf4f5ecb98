import Bybit
import Foundation
import TradelogCore

// Hand-written canonical encoders of the order manager's most frequent events: the same bytes
// as `CanonicalJSON.encoder` (keys in byte order, nil members left out, enums as their raw
// values, decimals as JSON numbers in their `description` text), without `JSONEncoder`.
// `OrderEncodingTests` compares the two with every optional member present and absent; a
// NaN decimal (no JSON text) makes them return nil and `JSONEncoder` writes the data.

extension OrderLifecycleChanged: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 640)
        w.beginObject()
        w.member("averagePrice", averagePrice)
        w.key("category"); w.string(category.rawValue)
        w.key("cause"); w.string(cause)
        w.key("executedQty"); w.number(executedQty)
        w.member("feeCurrency", feeCurrency)
        w.key("fees"); w.number(fees)
        w.member("latencyToAckMs", latencyToAckMs)
        w.member("latencyToFillMs", latencyToFillMs)
        w.member("orderId", orderId)
        w.key("orderLinkId"); w.string(orderLinkId)
        w.key("orderType"); w.string(orderType.rawValue)
        w.member("previousStatus", previousStatus?.rawValue)
        w.member("price", price)
        w.member("reason", reason)
        w.member("requestedAmount", requestedAmount)
        w.key("requestedQty"); w.number(requestedQty)
        w.key("side"); w.string(side.rawValue)
        w.member("signalID", signalID)
        w.member("slippageBps", slippageBps)
        w.key("status"); w.string(status.rawValue)
        w.member("strategyID", strategyID)
        w.key("symbol"); w.string(symbol)
        w.member("traceID", traceID)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension OrderExecuted: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 640)
        w.beginObject()
        w.member("averagePrice", averagePrice)
        w.key("category"); w.string(category.rawValue)
        w.key("execFee"); w.number(execFee)
        w.key("execId"); w.string(execId)
        w.key("execPrice"); w.number(execPrice)
        w.key("execQty"); w.number(execQty)
        w.member("execTime", execTime)
        w.key("executedQty"); w.number(executedQty)
        w.member("feeCurrency", feeCurrency)
        w.member("isMaker", isMaker)
        w.member("latencyToFillMs", latencyToFillMs)
        w.member("orderId", orderId)
        w.key("orderLinkId"); w.string(orderLinkId)
        w.key("side"); w.string(side.rawValue)
        w.member("signalID", signalID)
        w.member("slippageBps", slippageBps)
        w.member("strategyID", strategyID)
        w.key("symbol"); w.string(symbol)
        w.member("traceID", traceID)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension OrderDecided: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        // The risk figures in the UTF-8 byte order of their names, `JSONEncoder`'s `.sortedKeys` order.
        let figures = riskFigures.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("asset"); w.string(asset)
        w.key("basisPosition"); w.int(basisPosition)
        w.key("category"); w.string(category.rawValue)
        w.key("notional"); w.number(notional)
        w.key("orderType"); w.string(orderType.rawValue)
        w.key("orderTypeReason"); w.string(orderTypeReason)
        w.key("qty"); w.number(qty)
        w.key("referencePrice"); w.number(referencePrice)
        w.key("referenceSource"); w.string(referenceSource.rawValue)
        w.key("riskFigures"); w.beginObject()
        for name in figures {
            w.key(string: name)
            w.string(riskFigures[name]!)
        }
        w.endObject()
        w.key("side"); w.string(side.rawValue)
        w.key("signalID"); w.string(signalID)
        w.key("steps"); w.beginArray()
        for s in steps {
            w.beginObject()
            w.key("action"); w.string(s.action.rawValue)
            w.key("orderLinkId"); w.string(s.orderLinkId)
            w.key("reason"); w.string(s.reason)
            w.endObject()
        }
        w.endArray()
        w.key("strategyID"); w.string(strategyID)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension OrderRequested: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 640)
        w.beginObject()
        w.key("category"); w.string(category.rawValue)
        w.key("leg"); w.int(Int64(leg))
        w.member("marketUnit", marketUnit?.rawValue)
        w.key("orderLinkId"); w.string(orderLinkId)
        w.key("orderType"); w.string(orderType.rawValue)
        w.member("price", price)
        w.key("qty"); w.number(qty)
        w.key("reason"); w.string(reason)
        w.member("reduceOnly", reduceOnly)
        w.key("referencePrice"); w.number(referencePrice)
        w.key("requestedAmount"); w.number(requestedAmount)
        w.key("side"); w.string(side.rawValue)
        w.key("signalID"); w.string(signalID)
        w.member("signalReceivedAt", signalReceivedAt?.microsecondsSinceEpoch)
        w.member("snapshotPrice", snapshotPrice)
        w.key("strategyID"); w.string(strategyID)
        w.key("symbol"); w.string(symbol)
        w.key("timeInForce"); w.string(timeInForce.rawValue)
        w.member("traceID", traceID)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}
