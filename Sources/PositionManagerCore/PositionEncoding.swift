import Bybit
import Foundation
import TradelogCore

// Hand-written canonical encoders of the position manager's events: the same bytes as
// `CanonicalJSON.encoder` (keys in byte order, nil members left out, decimals as JSON numbers
// in their `description` text, times as integer microseconds), without `JSONEncoder`, which
// was a sixth of an in-memory replay. `PositionEncodingTests` compares the two on every
// shape; a NaN decimal (no JSON text) makes them return nil and `JSONEncoder` writes the data.

extension PositionUpdated: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("position"); position.write(to: &w)
        w.key("reason"); w.string(reason)
        w.key("time"); w.int(time.microsecondsSinceEpoch)
        w.key("version"); w.int(version)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension PortfolioUpdated: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 1024)
        w.beginObject()
        w.key("portfolio"); portfolio.write(to: &w)
        w.key("time"); w.int(time.microsecondsSinceEpoch)
        w.key("version"); w.int(version)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension PositionSnapshotCreated: CanonicalDataEncodable {
    public func canonicalData() -> [UInt8]? {
        var w = JSONWriter(capacity: 4096)
        w.beginObject()
        w.key("portfolio"); portfolio.write(to: &w)
        w.key("positions")
        w.beginArray()
        for p in positions { p.write(to: &w) }
        w.endArray()
        w.key("snapshotID"); w.string(snapshotID)
        w.key("time"); w.int(time.microsecondsSinceEpoch)
        w.key("trigger"); w.string(trigger)
        w.endObject()
        return w.invalidNumber ? nil : w.take()
    }
}

extension PositionView {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.member("averageEntryPrice", averageEntryPrice)
        w.key("category"); w.string(category)
        w.key("closedPnl"); w.number(closedPnl)
        w.key("discrepancy"); w.bool(discrepancy)
        if let exchange { w.key("exchange"); exchange.write(to: &w) }
        w.key("fees"); w.number(fees)
        w.key("fills"); w.int(fills)
        w.key("funding"); w.number(funding)
        w.member("leverage", leverage)
        w.member("liquidationPrice", liquidationPrice)
        w.member("markPrice", markPrice)
        w.key("notional"); w.number(notional)
        w.key("positionIdx"); w.int(positionIdx)
        w.key("quoteCoin"); w.string(quoteCoin)
        w.key("realizedPnl"); w.number(realizedPnl)
        w.key("side"); w.string(side)
        w.key("signedSize"); w.number(signedSize)
        w.key("size"); w.number(size)
        w.key("strategies")
        w.beginArray()
        for s in strategies { s.write(to: &w) }
        w.endArray()
        w.key("symbol"); w.string(symbol)
        w.key("totalPnl"); w.number(totalPnl)
        w.key("unrealizedPnl"); w.number(unrealizedPnl)
        w.endObject()
    }
}

extension ExchangePositionFigures {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.member("cumRealisedPnl", cumRealisedPnl)
        w.member("entryPrice", entryPrice)
        w.member("leverage", leverage)
        w.member("liqPrice", liqPrice)
        w.member("markPrice", markPrice)
        if let seq { w.key("seq"); w.int(seq) }
        w.key("side"); w.string(side)
        w.key("signedSize"); w.number(signedSize)
        w.member("unrealisedPnl", unrealisedPnl)
        if let updatedTime { w.key("updatedTime"); w.int(updatedTime.microsecondsSinceEpoch) }
        w.endObject()
    }
}

extension StrategyShare {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.member("averageEntryPrice", averageEntryPrice)
        w.key("fees"); w.number(fees)
        w.key("fills"); w.int(fills)
        w.key("funding"); w.number(funding)
        w.key("realizedPnl"); w.number(realizedPnl)
        w.key("signedSize"); w.number(signedSize)
        w.key("strategyID"); w.string(strategyID)
        w.key("unrealizedPnl"); w.number(unrealizedPnl)
        w.endObject()
    }
}

extension StrategyPnL {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("fees"); w.number(fees)
        w.key("fills"); w.int(fills)
        w.key("funding"); w.number(funding)
        w.key("realizedPnl"); w.number(realizedPnl)
        w.key("strategyID"); w.string(strategyID)
        w.key("totalPnl"); w.number(totalPnl)
        w.key("unrealizedPnl"); w.number(unrealizedPnl)
        w.endObject()
    }
}

extension CoinView {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        w.key("coin"); w.string(coin)
        w.key("equity"); w.number(equity)
        w.key("walletBalance"); w.number(walletBalance)
        w.endObject()
    }
}

extension PortfolioView {
    func write(to w: inout JSONWriter) {
        w.beginObject()
        if let accountType { w.key("accountType"); w.string(accountType) }
        w.key("coins")
        w.beginArray()
        for c in coins { c.write(to: &w) }
        w.endArray()
        w.member("equity", equity)
        w.member("exchangeEquity", exchangeEquity)
        w.key("fees"); w.number(fees)
        w.key("funding"); w.number(funding)
        w.key("grossExposure"); w.number(grossExposure)
        w.key("netExposure"); w.number(netExposure)
        w.key("openPositions"); w.int(openPositions)
        w.key("realizedPnl"); w.number(realizedPnl)
        w.key("spotUnrealizedPnl"); w.number(spotUnrealizedPnl)
        w.key("strategies")
        w.beginArray()
        for s in strategies { s.write(to: &w) }
        w.endArray()
        w.key("totalPnl"); w.number(totalPnl)
        w.key("unconverted")
        w.beginArray()
        for u in unconverted { w.string(u) }
        w.endArray()
        w.key("unrealizedPnl"); w.number(unrealizedPnl)
        w.member("walletBalance", walletBalance)
        w.endObject()
    }
}
