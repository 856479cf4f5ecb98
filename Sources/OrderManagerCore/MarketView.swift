import Bybit
import Foundation
import TradelogCore

/// Best bid and ask per instrument, folded from the gateway's book and ticker events.
public struct MarketView: Sendable {
    struct Book {
        var book = OrderBook()
        var synced = false
    }
    /// Keyed by `category/symbol/depth`.
    private var books: [String: Book] = [:]
    /// The book key last updated per `category/symbol`.
    private var lastBook: [String: String] = [:]
    private var tickers: [String: (bidAsk: BidAsk, last: Decimal?, mark: Decimal?)] = [:]

    public init() {}

    static func key(_ category: String, _ symbol: String) -> String { "\(category)/\(symbol)" }

    public mutating func apply(_ e: OrderBookUpdated) {
        func keys(_ levels: [BookLevel]) -> [(price: PriceKey, size: PriceKey)] {
            levels.compactMap { l in PriceKey(l.price).flatMap { p in PriceKey(l.size).map { (p, $0) } } }
        }
        apply(category: e.category, symbol: e.symbol, depth: e.depth, snapshot: e.isSnapshot, synced: e.synced,
              bids: keys(e.bids), asks: keys(e.asks))
    }

    /// The same fold from a stored book's exact keys (no `Decimal` round trip).
    public mutating func apply(_ e: StoredOrderBook) {
        apply(category: e.category, symbol: e.symbol, depth: e.depth, snapshot: e.isSnapshot, synced: e.synced,
              bids: e.bids, asks: e.asks)
    }

    private mutating func apply(category: String, symbol: String, depth: Int, snapshot: Bool, synced: Bool,
                                bids: [(price: PriceKey, size: PriceKey)], asks: [(price: PriceKey, size: PriceKey)]) {
        let k = Self.key(category, symbol)
        let bk = "\(k)/\(depth)"
        var b = books[bk] ?? Book()
        if snapshot { b.book.removeAll() }
        for l in bids { b.book.set(.bid, price: l.price, size: l.size) }
        for l in asks { b.book.set(.ask, price: l.price, size: l.size) }
        b.synced = synced
        books[bk] = b
        lastBook[k] = bk
    }

    public mutating func invalidate(_ e: OrderBookInvalidated) {
        let bk = "\(Self.key(e.category, e.symbol))/\(e.depth)"
        books[bk]?.synced = false
    }

    public mutating func apply(_ t: TickerUpdated) {
        apply(category: t.category, symbol: t.symbol, bid: t.bid1Price, ask: t.ask1Price, last: t.lastPrice, mark: t.markPrice)
    }

    /// The same fold from a stored ticker's prices (the other fields are not built).
    public mutating func apply(_ t: StoredTickerPrices) {
        apply(category: t.category, symbol: t.symbol, bid: t.bid1Price, ask: t.ask1Price, last: t.lastPrice, mark: t.markPrice)
    }

    private mutating func apply(category: String, symbol: String, bid: Decimal?, ask: Decimal?, last: Decimal?, mark: Decimal?) {
        let k = Self.key(category, symbol)
        var cur = tickers[k] ?? (BidAsk(bid: nil, ask: nil), nil, nil)
        if let b = bid, b > 0 { cur.bidAsk.bid = b }
        if let a = ask, a > 0 { cur.bidAsk.ask = a }
        if let l = last, l > 0 { cur.last = l }
        if let m = mark, m > 0 { cur.mark = m }
        tickers[k] = cur
    }

    /// The top of the most recently updated synced book, if any.
    public func book(_ category: RESTCategory, _ symbol: String) -> BidAsk? {
        guard let bk = lastBook[Self.key(category.rawValue, symbol)], let b = books[bk], b.synced, !b.book.isEmpty else { return nil }
        return BidAsk(bid: b.book.bestBid?.price.decimal, ask: b.book.bestAsk?.price.decimal)
    }

    public func ticker(_ category: RESTCategory, _ symbol: String) -> BidAsk? {
        tickers[Self.key(category.rawValue, symbol)]?.bidAsk
    }

    public func lastPrice(_ category: RESTCategory, _ symbol: String) -> Decimal? {
        tickers[Self.key(category.rawValue, symbol)]?.last
    }

    /// A price to value a position with: mark, else last, else the book's mid.
    public func valuationPrice(_ category: RESTCategory, _ symbol: String) -> Decimal? {
        let t = tickers[Self.key(category.rawValue, symbol)]
        if let m = t?.mark { return m }
        if let l = t?.last { return l }
        if let b = book(category, symbol), let bid = b.bid, let ask = b.ask { return (bid + ask) / 2 }
        return nil
    }
}

/// Wallet balances and positions, as the exchange reports them.
public struct AccountView: Sendable {
    public struct Position: Sendable, Hashable {
        /// Positive long, negative short.
        public var signedSize: Decimal
        public var markPrice: Decimal?
        public var positionValue: Decimal?
    }
    public private(set) var walletKnown = false
    /// Free balance per coin (wallet balance less an open loss, locked and margin in use).
    public private(set) var free: [String: Decimal] = [:]
    public private(set) var balance: [String: Decimal] = [:]
    /// The account-wide available balance (USD value over all coins): informative, not used by the checks.
    public private(set) var totalAvailable: Decimal?
    /// Linear positions by `symbol`.
    public private(set) var positions: [String: Position] = [:]

    public init() {}

    public mutating func apply(_ w: ExchangeWalletUpdated) {
        walletKnown = true
        if let t = w.totalAvailableBalance { totalAvailable = t }
        for c in w.coin {
            let bal = c.walletBalance ?? 0
            balance[c.coin] = bal
            let used = (c.locked ?? 0) + (c.totalOrderIM ?? 0) + (c.totalPositionIM ?? 0)
            // An open loss is not free to spend (Bybit's available balance counts it); an open
            // gain is not counted on (it may be gone when the order fills).
            let openLoss = min(c.unrealisedPnl ?? 0, 0)
            free[c.coin] = c.free ?? (bal + openLoss - used)
        }
    }

    public mutating func apply(_ p: ExchangePositionUpdated) {
        guard p.category == nil || p.category == "linear" else { return }
        let size = p.size ?? 0
        let signed = p.side == "Sell" ? -size : (p.side == "Buy" ? size : 0)
        positions[p.symbol] = Position(signedSize: signed, markPrice: p.markPrice, positionValue: p.positionValue)
    }

    /// Free balance of exactly this coin; nil before any wallet state. Once the wallet is known a
    /// coin it does not list has 0 free: never another coin's balance nor the account-wide
    /// ``totalAvailable`` (which is in USD over all collateral coins). See docs/order-policy.md §5.
    public func freeBalance(_ coin: String) -> Decimal? {
        guard walletKnown else { return nil }
        return free[coin] ?? 0
    }
}
