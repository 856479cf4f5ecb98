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
