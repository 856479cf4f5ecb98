import Bybit
import Foundation

/// Where a reference price came from, best first.
public enum PriceSource: String, Codable, Sendable, Hashable {
    case book
    case ticker
    case snapshot
}

/// The best bid and ask of one source (the local book, or the ticker's `bid1Price`/`ask1Price`).
public struct BidAsk: Codable, Hashable, Sendable {
    public var bid: Decimal?
    public var ask: Decimal?

    public init(bid: Decimal?, ask: Decimal?) {
        self.bid = bid
        self.ask = ask
    }

    /// The bid when it is a usable price (> 0).
    var validBid: Decimal? { bid.flatMap { $0 > 0 ? $0 : nil } }
    /// The ask when it is a usable price (> 0).
    var validAsk: Decimal? { ask.flatMap { $0 > 0 ? $0 : nil } }

    /// The far touch a taker pays: the ask for a buy, the bid for a sell.
    func farTouch(_ side: RESTSide) -> Decimal? { side == .buy ? validAsk : validBid }
    /// The near touch a maker joins: the bid for a buy, the ask for a sell.
    func nearTouch(_ side: RESTSide) -> Decimal? { side == .buy ? validBid : validAsk }
}

/// A price to size an order with, and its source.
public struct ReferencePrice: Codable, Hashable, Sendable {
    public var price: Decimal
    public var source: PriceSource

    public init(price: Decimal, source: PriceSource) {
        self.price = price
        self.source = source
    }
}

/// Reference prices and spreads from the book, the ticker and the signal's snapshot.
public enum ReferencePricer {
    /// buy → best ask, sell → best bid; from the book, else the ticker's bid1/ask1, else the
    /// ticker's last price, else the signal snapshot price. nil when none is > 0.
    public static func reference(side: RESTSide, book: BidAsk?, ticker: BidAsk?, tickerLast: Decimal?,
                                 snapshotPrice: Decimal?) -> ReferencePrice? {
        if let p = book?.farTouch(side) { return ReferencePrice(price: p, source: .book) }
        if let p = ticker?.farTouch(side) { return ReferencePrice(price: p, source: .ticker) }
        if let p = tickerLast, p > 0 { return ReferencePrice(price: p, source: .ticker) }
        if let p = snapshotPrice, p > 0 { return ReferencePrice(price: p, source: .snapshot) }
        return nil
    }

    /// (ask − bid) / mid × 10 000 from book, else ticker, else snapshotSpread / snapshotPrice × 10 000; nil if unknown.
    ///
    /// A source counts only with both sides > 0 and not crossed (ask ≥ bid): a half or crossed
    /// book says nothing reliable about the spread, so the next source is tried.
    public static func spreadBps(book: BidAsk?, ticker: BidAsk?, snapshotSpread: Decimal?,
                                 snapshotPrice: Decimal?) -> Decimal? {
        for quote in [book, ticker] {
            guard let bid = quote?.validBid, let ask = quote?.validAsk, ask >= bid else { continue }
            let mid = (bid + ask) / 2
            return (ask - bid) / mid * 10_000
        }
        if let spread = snapshotSpread, spread >= 0, let price = snapshotPrice, price > 0 {
            return spread / price * 10_000
        }
        return nil
    }
}
