/// A price-level book: sizes by price on each side, best level first.
///
/// Sorted arrays with binary search: Bybit books are at most 1,000 levels a side and
/// deltas touch a handful of levels near the top, where a memmove is cheaper than any tree.
/// Beside each side it keeps the prices as integers at one scale, so a search step is a
/// single integer compare (prices of one book rarely differ in their number of decimals,
/// but `1.953` vs `1.9531` would otherwise need a rescale per compare).
public struct OrderBook: Sendable, Hashable {
    public enum Side: Sendable, Hashable {
        case bid
        case ask
    }

    /// One price level.
    public struct Level: Sendable, Hashable, CustomStringConvertible {
        public var price: PriceKey
        public var size: PriceKey

        public init(price: PriceKey, size: PriceKey) {
            self.price = price
            self.size = size
        }

        public var description: String { "\(price)@\(size)" }
    }

    /// Bids, highest price first.
    public private(set) var bids: [Level] = []
    /// Asks, lowest price first.
    public private(set) var asks: [Level] = []
    /// `price × 10^-scale` of each level, parallel to `bids` / `asks` while `ranked`.
    private var bidRanks: [Int64] = []
    private var askRanks: [Int64] = []
    private var scale = OrderBook.initialScale
    /// False once a price did not fit the integer scale; searches then compare ``PriceKey``s.
    private var ranked = true

    /// Eight decimals covers nearly every Bybit price, so rescales are rare.
    private static let initialScale = -8

    public init() {}

    public static func == (a: OrderBook, b: OrderBook) -> Bool { a.bids == b.bids && a.asks == b.asks }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(bids)
        hasher.combine(asks)
    }

    public var bestBid: Level? { bids.first }
    public var bestAsk: Level? { asks.first }
    public var bidCount: Int { bids.count }
    public var askCount: Int { asks.count }
    public var isEmpty: Bool { bids.isEmpty && asks.isEmpty }

    /// The best `n` bids (fewer when the book is thinner).
    public func topBids(_ n: Int) -> ArraySlice<Level> { bids.prefix(n) }
    /// The best `n` asks.
    public func topAsks(_ n: Int) -> ArraySlice<Level> { asks.prefix(n) }

    /// The size resting at `price`, if any.
    public func size(at price: PriceKey, side: Side) -> PriceKey? {
        let levels = side == .bid ? bids : asks
        let i = levels.withUnsafeBufferPointer {
            side == .bid ? Self.firstIndex(notAbove: price, $0) : Self.firstIndex(notBelow: price, $0)
        }
        return i < levels.count && levels[i].price == price ? levels[i].size : nil
    }

    /// Sets one level: a zero size deletes it, an unknown price inserts it, a known price
    /// replaces its size (Bybit's delta rules).
    public mutating func set(_ side: Side, price: PriceKey, size: PriceKey) {
        if ranked, let r = rank(price) {
            switch side {
            case .bid: Self.set(&bids, &bidRanks, rank: r, price: price, size: size, descending: true)
            case .ask: Self.set(&asks, &askRanks, rank: r, price: price, size: size, descending: false)
            }
        } else {
            switch side {
            case .bid: Self.set(&bids, price: price, size: size, descending: true)
            case .ask: Self.set(&asks, price: price, size: size, descending: false)
            }
        }
    }

    /// Removes every level.
    public mutating func removeAll() {
        bids.removeAll(keepingCapacity: true)
        asks.removeAll(keepingCapacity: true)
        bidRanks.removeAll(keepingCapacity: true)
        askRanks.removeAll(keepingCapacity: true)
        scale = Self.initialScale
        ranked = true
    }

    /// Keeps only the best `depth` levels a side.
    public mutating func trim(to depth: Int) {
        if bids.count > depth { bids.removeSubrange(depth...) }
        if asks.count > depth { asks.removeSubrange(depth...) }
        if bidRanks.count > depth { bidRanks.removeSubrange(depth...) }
        if askRanks.count > depth { askRanks.removeSubrange(depth...) }
    }

    mutating func reserve(bids b: Int, asks a: Int) {
        bids.reserveCapacity(b)
        asks.reserveCapacity(a)
        bidRanks.reserveCapacity(b)
        askRanks.reserveCapacity(a)
    }

    // MARK: Integer ranks

    /// `price` at the book's scale, rescaling the book first when `price` is finer; nil
    /// (and the book switches to ``PriceKey`` compares for good) when it does not fit.
    @inline(__always)
    private mutating func rank(_ price: PriceKey) -> Int64? {
        // The search relies on ranks ≥ 0; a negative price (never seen in a book) switches
        // the book to PriceKey compares.
        if price.mantissa < 0 { dropRanks() }
        if Int(price.exponent) < scale { rescale(to: Int(price.exponent)) }
        guard ranked else { return nil }
        guard let r = Self.scaled(price.mantissa, by: Int(price.exponent) - scale) else {
            dropRanks()
            return nil
        }
        return r
    }

    private mutating func rescale(to newScale: Int) {
        guard ranked else { return }
        let digits = scale - newScale
        for i in bidRanks.indices {
            guard let r = Self.scaled(bidRanks[i], by: digits) else { return dropRanks() }
            bidRanks[i] = r
        }
        for i in askRanks.indices {
            guard let r = Self.scaled(askRanks[i], by: digits) else { return dropRanks() }
            askRanks[i] = r
        }
        scale = newScale
    }

    private mutating func dropRanks() {
        ranked = false
        bidRanks = []
        askRanks = []
    }

    @inline(__always)
    private static func scaled(_ m: Int64, by digits: Int) -> Int64? {
        if m == 0 { return 0 }
        guard digits <= 18 else { return nil }
        let (r, overflow) = m.multipliedReportingOverflow(by: powerOfTen(digits))
        return overflow ? nil : r
    }

    /// First index whose rank is not better than `r`. Branch-free: which half a delta's
    /// price falls in is a coin toss, and mispredicted branches cost more than the compares
    /// (LLVM turns a select back into a branch, so the step is plain arithmetic).
    @inline(__always)
    private static func position(ofRank r: Int64, _ a: UnsafeBufferPointer<Int64>, descending: Bool) -> Int {
        var n = a.count
        guard n > 0 else { return 0 }
        var base = 0
        // Ranks are ≥ 0; bids are searched as ~rank (< 0) so one ascending search serves
        // both sides. Both operands of each difference have the same sign: no overflow, and
        // its sign bit says "better than r".
        let flip: Int64 = descending ? -1 : 0
        let key = r ^ flip
        while n > 1 {
            let half = n >> 1
            let better = Int(truncatingIfNeeded: ((a[base &+ half] ^ flip) &- key) >> 63)
            base &+= half & better
            n &-= half
        }
        return base &+ Int(truncatingIfNeeded: (((a[base] ^ flip) &- key) >> 63) & 1)
    }

    @inline(__always)
    private static func set(
        _ levels: inout [Level], _ ranks: inout [Int64], rank r: Int64, price: PriceKey, size: PriceKey,
        descending: Bool
    ) {
        let count = ranks.count
        // Snapshots arrive best-first, so most inserts during one land at the end.
        if count > 0 {
            let last = ranks[count - 1]
            if descending ? r < last : r > last {
                if !size.isZero {
                    levels.append(Level(price: price, size: size))
                    ranks.append(r)
                }
                return
            }
        }
        let i = ranks.withUnsafeBufferPointer { position(ofRank: r, $0, descending: descending) }
        if i < count && ranks[i] == r {
            if size.isZero {
                levels.remove(at: i)
                ranks.remove(at: i)
            } else {
                levels[i].size = size
            }
        } else if !size.isZero {
            levels.insert(Level(price: price, size: size), at: i)
            ranks.insert(r, at: i)
        }
    }

    /// A cheap order-sensitive digest of every level (FNV-1a over the normalized fields);
    /// equal books give equal checksums. For tests and consistency checks, not security.
    public var checksum: UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        @inline(__always) func mix(_ v: UInt64) {
            var x = v
            for _ in 0..<8 {
                h ^= x & 0xff
                h = h &* 0x0000_0100_0000_01b3
                x >>= 8
            }
        }
        for (tag, levels) in [(UInt64(1), bids), (UInt64(2), asks)] {
            mix(tag)
            for l in levels {
                mix(UInt64(bitPattern: l.price.mantissa))
                mix(UInt64(UInt16(bitPattern: l.price.exponent)))
                mix(UInt64(bitPattern: l.size.mantissa))
                mix(UInt64(UInt16(bitPattern: l.size.exponent)))
            }
        }
        return h
    }

    /// In bids (descending): the first level whose price is ≤ `price`.
    @inline(__always)
    static func firstIndex(notAbove price: PriceKey, _ levels: UnsafeBufferPointer<Level>) -> Int {
        var lo = 0
        var hi = levels.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if price < levels[mid].price { lo = mid &+ 1 } else { hi = mid }
        }
        return lo
    }

    /// In asks (ascending): the first level whose price is ≥ `price`.
    @inline(__always)
    static func firstIndex(notBelow price: PriceKey, _ levels: UnsafeBufferPointer<Level>) -> Int {
        var lo = 0
        var hi = levels.count
        while lo < hi {
            let mid = (lo &+ hi) >> 1
            if levels[mid].price < price { lo = mid &+ 1 } else { hi = mid }
        }
        return lo
    }

    /// The same without ranks, comparing ``PriceKey``s.
    static func set(_ levels: inout [Level], price: PriceKey, size: PriceKey, descending: Bool) {
        let count = levels.count
        // Snapshots arrive best-first, so most inserts during one land at the end.
        if count > 0 {
            let last = levels[count - 1].price
            if descending ? price < last : last < price {
                if !size.isZero { levels.append(Level(price: price, size: size)) }
                return
            }
        }
        let i = levels.withUnsafeBufferPointer {
            descending ? firstIndex(notAbove: price, $0) : firstIndex(notBelow: price, $0)
        }
        if i < count && levels[i].price == price {
            if size.isZero { levels.remove(at: i) } else { levels[i].size = size }
        } else if !size.isZero {
            levels.insert(Level(price: price, size: size), at: i)
        }
    }
}

/// A book kept in sync from Bybit `orderbook.{depth}` frames, checking update-id continuity.
///
/// Rules (reference §1.7): a snapshot (or any message with `u == 1`, a service restart)
/// resets the book; each delta must carry `u` one above the last; a gap, a step back or a
/// delta before any snapshot invalidates the book until the next snapshot. Deltas that
/// arrive while invalid are still applied best-effort and reported as unsynced.
/// Depth 1 is snapshot-only today and its snapshots repeat the same `u`; old captures
/// have level-1 deltas, so level 1 never invalidates: a delta that continues the last `u`
/// is applied, any other replaces the book, and the book is trimmed to one level a side.
public struct OrderBookTracker: Sendable, Hashable {
    /// Why continuity broke.
    public enum Break: String, Sendable, Hashable {
        case gap
        case stepBack = "step_back"
        case deltaBeforeSnapshot = "delta_before_snapshot"
    }

    public let depth: Int
    public private(set) var book = OrderBook()
    /// The last `u` seen.
    public private(set) var updateID: Int64?
    /// False from a continuity break until the next snapshot.
    public private(set) var isSynced = false

    public init(depth: Int) { self.depth = depth }

    /// Starts over with `levels` (a snapshot).
    mutating func beginSnapshot(updateID u: Int64) {
        book.removeAll()
        updateID = u
        isSynced = true
    }

    /// Checks a delta's `u`; returns the break it reveals (nil when it continues, when the
    /// book is already unsynced, or at depth 1). Call before applying its levels.
    mutating func beginDelta(updateID u: Int64) -> (reason: Break, expected: Int64?)? {
        defer { updateID = u }
        if depth == 1 {
            if let last = updateID, u == last + 1 || u == last {
                return nil
            }
            book.removeAll()
            isSynced = true
            return nil
        }
        guard let last = updateID else {
            // Reported once: the defer records `u`, so later deltas see an unsynced book.
            isSynced = false
            return (.deltaBeforeSnapshot, nil)
        }
        guard isSynced else { return nil }
        if u == last + 1 { return nil }
        isSynced = false
        return (u <= last ? .stepBack : .gap, last + 1)
    }

    mutating func set(_ side: OrderBook.Side, price: PriceKey, size: PriceKey) {
        book.set(side, price: price, size: size)
    }

    mutating func finishMessage() {
        if depth == 1 { book.trim(to: 1) }
    }

    mutating func reserve(bids: Int, asks: Int) { book.reserve(bids: bids, asks: asks) }
}
