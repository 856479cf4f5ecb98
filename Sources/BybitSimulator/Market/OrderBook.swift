/// One price level.
public struct BookLevel: Hashable, Sendable {
    public var price: Fixed
    public var size: Fixed

    public init(price: Fixed, size: Fixed) {
        self.price = price
        self.size = size
    }
}

public enum BookSide: Sendable, Hashable {
    case bid, ask
}

/// A price-level book: bids best (highest) first, asks best (lowest) first. Sorted arrays
/// are the fastest layout for a few hundred levels where changes cluster at the top.
public struct OrderBook: Sendable, Hashable {
    public private(set) var bids: [BookLevel] = []
    public private(set) var asks: [BookLevel] = []

    public init() {}

    public init(bids: [BookLevel], asks: [BookLevel]) {
        replace(bids: bids, asks: asks)
    }

    public var bestBid: BookLevel? { bids.first }
    public var bestAsk: BookLevel? { asks.first }

    public func levels(_ side: BookSide) -> [BookLevel] { side == .bid ? bids : asks }

    /// Replaces everything (a snapshot); input order does not matter, zero sizes are dropped.
    public mutating func replace(bids: [BookLevel], asks: [BookLevel]) {
        self.bids = bids.filter { $0.size.raw > 0 }.sorted { $0.price > $1.price }
        self.asks = asks.filter { $0.size.raw > 0 }.sorted { $0.price < $1.price }
    }

    /// Sets a level; size zero deletes it (Bybit delta semantics).
    public mutating func set(_ side: BookSide, price: Fixed, size: Fixed) {
        switch side {
        case .bid: Self.set(&bids, price: price, size: size, descending: true)
        case .ask: Self.set(&asks, price: price, size: size, descending: false)
        }
    }

    /// Index of the first level at or beyond `price` in book order.
    static func index(_ levels: [BookLevel], price: Fixed, descending: Bool) -> Int {
        var lo = 0, hi = levels.count
        while lo < hi {
            let mid = (lo + hi) / 2
            let before = descending ? levels[mid].price > price : levels[mid].price < price
            if before { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }

    static func set(_ levels: inout [BookLevel], price: Fixed, size: Fixed, descending: Bool) {
        let i = index(levels, price: price, descending: descending)
        let found = i < levels.count && levels[i].price == price
        if size.raw <= 0 {
            if found { levels.remove(at: i) }
        } else if found {
            levels[i].size = size
        } else {
            levels.insert(BookLevel(price: price, size: size), at: i)
        }
    }

    /// Drops levels past `count` on both sides.
    public mutating func truncate(to count: Int) {
        if bids.count > count { bids.removeLast(bids.count - count) }
        if asks.count > count { asks.removeLast(asks.count - count) }
    }

    /// Mutable access for the generator.
    mutating func withSide<R>(_ side: BookSide, _ body: (inout [BookLevel]) -> R) -> R {
        side == .bid ? body(&bids) : body(&asks)
    }
}

/// The levels a depth-N stream last published, and the diff to the current book: changed or
/// new levels with their size, vanished ones with size zero, bids descending, asks ascending.
public struct DepthView: Sendable {
    public let depth: Int
    public private(set) var bids: [BookLevel] = []
    public private(set) var asks: [BookLevel] = []

    public init(depth: Int) { self.depth = depth }

    /// Publishes the current top `depth` and returns the changes since the last call.
    public mutating func advance(to book: OrderBook) -> (bids: [BookLevel], asks: [BookLevel]) {
        let newBids = Array(book.bids.prefix(depth))
        let newAsks = Array(book.asks.prefix(depth))
        let db = Self.diff(old: bids, new: newBids, descending: true)
        let da = Self.diff(old: asks, new: newAsks, descending: false)
        bids = newBids
        asks = newAsks
        return (db, da)
    }

    /// Forgets the history and takes the current top as published (a snapshot).
    public mutating func reset(to book: OrderBook) {
        bids = Array(book.bids.prefix(depth))
        asks = Array(book.asks.prefix(depth))
    }

    static func diff(old: [BookLevel], new: [BookLevel], descending: Bool) -> [BookLevel] {
        var out: [BookLevel] = []
        var i = 0, j = 0
        while i < old.count || j < new.count {
            if j == new.count || (i < old.count && (descending ? old[i].price > new[j].price : old[i].price < new[j].price)) {
                out.append(BookLevel(price: old[i].price, size: .zero))
                i += 1
            } else if i == old.count || old[i].price != new[j].price {
                out.append(new[j])
                j += 1
            } else {
                if old[i].size != new[j].size { out.append(new[j]) }
                i += 1; j += 1
            }
        }
        return out
    }
}
