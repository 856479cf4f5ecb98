import TradelogCore

/// Buy or Sell, as Bybit writes it.
public enum Side: String, Sendable, Hashable {
    case buy = "Buy"
    case sell = "Sell"

    public var opposite: Side { self == .buy ? .sell : .buy }
}

/// One public trade print (an element of a `publicTrade` message).
public struct TradePrint: Sendable, Hashable {
    public var time: Int64
    public var price: Fixed
    public var size: Fixed
    public var takerSide: Side
    public var id: String
    public var tickDirection: String
    public var seq: Int64

    public init(time: Int64, price: Fixed, size: Fixed, takerSide: Side, id: String, tickDirection: String, seq: Int64) {
        self.time = time
        self.price = price
        self.size = size
        self.takerSide = takerSide
        self.id = id
        self.tickDirection = tickDirection
        self.seq = seq
    }
}

/// One liquidation (an element of an `allLiquidation` message); `side` Buy = a long was liquidated.
public struct LiquidationPrint: Sendable, Hashable {
    public var time: Int64
    public var side: Side
    public var size: Fixed
    public var price: Fixed
}

/// What one generator step did.
public struct MarketStep: Sendable {
    public var trades: [TradePrint] = []
    public var liquidation: LiquidationPrint?
    public var closedCandles: [Candle] = []
}

/// A deterministic synthetic market for one instrument: a book of `levels` levels a side
/// around a random-walk mid, trades that consume the top, and the derived ticker, funding
/// and kline state. Same instrument, seed and step times give the same market.
public struct SyntheticMarket: Sendable {
    public let instrument: SimInstrument
    public let levels: Int
    var rng: SplitMix64
    public private(set) var book = OrderBook()
    public private(set) var lastPrice: Fixed
    public private(set) var tickDirection = "ZeroPlusTick"
    public private(set) var markPrice: Fixed
    public private(set) var indexPrice: Fixed
    public private(set) var prevPrice24h: Fixed
    public private(set) var prevPrice1h: Fixed
    public private(set) var high24h: Fixed
    public private(set) var low24h: Fixed
    public private(set) var volume24h: Fixed
    public private(set) var turnover24h: Fixed
    public private(set) var openInterest: Fixed
    public private(set) var fundingRate: Fixed
    /// Matching-engine sequence (`seq`, `cs`): grows with every change.
    public private(set) var crossSeq: Int64
    /// Book version for REST `/v5/market/orderbook` `u`.
    public private(set) var bookVersion: Int64 = 1
    public private(set) var candles: CandleSet
    public private(set) var time: Int64
    var tradeCounter: Int64 = 0
    /// Typical level size in lots (qty steps).
    let lotScale: Int64

    public init(instrument: SimInstrument, seed: UInt64, levels: Int = 200, startMs: Int64) {
        self.instrument = instrument
        self.levels = max(5, levels)
        rng = SplitMix64(seed: seed ^ stableHash(instrument.key.description))
        let tick = instrument.tickSize
        let mid = instrument.initialPrice.floored(to: tick)
        lastPrice = mid
        markPrice = mid
        indexPrice = mid
        prevPrice24h = mid
        prevPrice1h = mid
        high24h = mid
        low24h = mid
        time = startMs
        candles = CandleSet(now: startMs, price: mid)
        // About 20k quote units per level near the top.
        let lots = Fixed(20_000).divided(by: mid).divided(by: instrument.qtyStep).raw / Fixed.scale
        lotScale = max(1, lots)
        volume24h = instrument.qtyStep * (lotScale * 50_000)
        turnover24h = volume24h * mid
        openInterest = instrument.qtyStep * (lotScale * 20_000)
        fundingRate = Fixed("0.0001")!
        crossSeq = Int64(1_000_000_000) + Int64(rng.below(1_000_000))
        var bids: [BookLevel] = [], asks: [BookLevel] = []
        var bp = mid, ap = mid + tick
        for i in 0..<self.levels {
            bids.append(BookLevel(price: bp, size: randomSize(depthIndex: i)))
            asks.append(BookLevel(price: ap, size: randomSize(depthIndex: i)))
            bp = bp - tick * (rng.chance(20) ? 2 : 1)
            ap = ap + tick * (rng.chance(20) ? 2 : 1)
        }
        book.replace(bids: bids.filter { $0.price.raw > 0 }, asks: asks)
    }

    mutating func randomSize(depthIndex i: Int) -> Fixed {
        let spread = lotScale * Int64(1 + i / 10)
        let lots = 1 + Int64(rng.below(Int(min(spread * 2, Int64(Int32.max)))))
        return instrument.qtyStep * lots
    }

    var mid: Fixed {
        guard let b = book.bestBid?.price, let a = book.bestAsk?.price else { return lastPrice }
        return Fixed(raw: (b.raw + a.raw) / 2)
    }

    /// Advances the market to `now` (ms): one book change, sometimes a trade, rarely a liquidation.
    public mutating func step(now: Int64) -> MarketStep {
        var out = MarketStep()
        time = max(time, now)
        out.closedCandles = candles.roll(to: time, price: lastPrice)
        if rng.chance(60) { changeSize() } else { drift() }
        if rng.chance(35) { out.trades = trade() }
        replenish()
        crossSeq += 1 + Int64(rng.below(40))
        bookVersion += 1
        updateDerived()
        if instrument.category == .linear, rng.chance(1) {
            let side: Side = rng.chance(50) ? .buy : .sell
            let away = lastPrice.multiplied(by: Fixed(raw: 500_000)).floored(to: instrument.tickSize)  // 0.5%
            out.liquidation = LiquidationPrint(
                time: time, side: side, size: randomSize(depthIndex: 0),
                price: side == .buy ? lastPrice - away : lastPrice + away)
        }
        return out
    }

    /// Changes the size of one level, usually near the top; sometimes removes it.
    mutating func changeSize() {
        let side: BookSide = rng.chance(50) ? .bid : .ask
        let count = book.levels(side).count
        guard count > 0 else { return }
        let i = min(rng.below(count), rng.below(count), rng.below(count))
        let price = book.levels(side)[i].price
        let size = rng.chance(10) && count > 1 ? Fixed.zero : randomSize(depthIndex: i)
        book.set(side, price: price, size: size)
    }

    /// Moves the top: fills the spread when it is wide, else cancels a best level. The bias
    /// pulls the mid back toward the initial price so long runs stay in a realistic range.
    mutating func drift() {
        let tick = instrument.tickSize
        guard let bid = book.bestBid, let ask = book.bestAsk else { return }
        let deviation = (mid - instrument.initialPrice).divided(by: instrument.initialPrice)
        // Deviation of 5% pushes the odds of an upward move from 50% to 25%.
        let upOdds = 50 - Int(max(-25, min(25, deviation.raw / 200_000)))
        let up = rng.below(100) < upOdds
        if ask.price - bid.price > tick {
            if up { book.set(.bid, price: bid.price + tick, size: randomSize(depthIndex: 0)) }
            else { book.set(.ask, price: ask.price - tick, size: randomSize(depthIndex: 0)) }
        } else if up {
            if book.asks.count > 1 { book.set(.ask, price: ask.price, size: .zero) }
        } else if book.bids.count > 1 {
            book.set(.bid, price: bid.price, size: .zero)
        }
    }

    /// A taker order that walks up to five levels of the opposite side.
    mutating func trade() -> [TradePrint] {
        let taker: Side = rng.chance(50) ? .buy : .sell
        let side: BookSide = taker == .buy ? .ask : .bid
        guard let top = book.levels(side).first else { return [] }
        let topLots = top.size.raw / instrument.qtyStep.raw
        var remaining = instrument.qtyStep * (1 + Int64(rng.below(Int(min(topLots * 3 / 2 + 1, Int64(Int32.max))))))
        var prints: [TradePrint] = []
        var walked = 0
        while remaining.raw > 0, walked < 5, book.levels(side).count > 1, let level = book.levels(side).first {
            let take = min(level.size, remaining)
            remaining -= take
            book.set(side, price: level.price, size: level.size - take)
            prints.append(makePrint(price: level.price, size: take, taker: taker))
            walked += 1
        }
        return prints
    }

    mutating func makePrint(price: Fixed, size: Fixed, taker: Side) -> TradePrint {
        tradeCounter += 1
        if price > lastPrice { tickDirection = "PlusTick" }
        else if price < lastPrice { tickDirection = "MinusTick" }
        else { tickDirection = tickDirection.hasPrefix("Plus") || tickDirection == "ZeroPlusTick" ? "ZeroPlusTick" : "ZeroMinusTick" }
        lastPrice = price
        if price > high24h { high24h = price }
        if price < low24h { low24h = price }
        volume24h += size
        turnover24h += price * size
        candles.add(price: price, size: size)
        let id: String
        if instrument.category == .spot {
            id = String(2_290_000_000_000_000_000 + tradeCounter)
        } else {
            id = rng.uuidString()
        }
        return TradePrint(time: time, price: price, size: size, takerSide: taker, id: id,
                          tickDirection: tickDirection, seq: crossSeq + tradeCounter)
    }

    /// Keeps `levels` levels a side by adding levels behind the last one.
    mutating func replenish() {
        let tick = instrument.tickSize
        for side in [BookSide.bid, .ask] {
            var n = book.levels(side).count
            if n == 0 {
                let p = side == .bid ? lastPrice - tick : lastPrice + tick
                book.set(side, price: p, size: randomSize(depthIndex: 0))
                n = 1
            }
            while n < levels {
                let last = book.levels(side)[n - 1].price
                let gap = tick * (rng.chance(20) ? 2 : 1)
                let p = side == .bid ? last - gap : last + gap
                if p.raw <= 0 { break }
                book.set(side, price: p, size: randomSize(depthIndex: n))
                n += 1
            }
        }
        book.truncate(to: levels)
    }

    mutating func updateDerived() {
        let tick = instrument.tickSize
        // Mark follows the mid with a little noise; index sits a few ticks off.
        markPrice = (mid + tick * Int64(rng.below(3) - 1)).rounded(places: instrument.priceScale)
        indexPrice = (mid + tick * Int64(rng.below(5) - 2)).rounded(places: instrument.priceScale)
        if rng.chance(5) {
            openInterest += instrument.qtyStep * (Int64(rng.below(Int(lotScale * 2 + 1))) - lotScale)
            if openInterest.raw < 0 { openInterest = .zero }
        }
        if rng.chance(2) {
            fundingRate += Fixed(raw: Int64(rng.below(3) - 1) * 100)  // ±0.000001
            let cap = Fixed("0.00375")!
            fundingRate = max(-cap, min(cap, fundingRate))
        }
    }

    /// `price24hPcnt` as Bybit writes it (6 decimals linear, 4 spot).
    public var price24hPcnt: Fixed {
        (lastPrice - prevPrice24h).divided(by: prevPrice24h).rounded(places: instrument.category == .linear ? 6 : 4)
    }

    /// Next funding time: the next 8-hour boundary (00, 08, 16 UTC).
    public var nextFundingTime: Int64 {
        let period: Int64 = 8 * 3_600_000
        return (floorDiv(time, period) + 1) * period
    }
}
