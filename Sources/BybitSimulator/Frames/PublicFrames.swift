/// Public topic messages with Bybit's key names and order. Spot and linear differ: spot
/// (and linear level 1) put `ts` before `type`; spot trades have numeric ids and no `L`;
/// spot tickers are snapshot-only with a small field set (reference §1.7).
public enum PublicFrames {
    public static func orderbook(
        topic: String, category: SimCategory, depth: Int, snapshot: Bool, ts: Int64, cts: Int64,
        symbol: String, bids: [BookLevel], asks: [BookLevel], u: Int64, seq: Int64,
        priceStyle: NumberStyle, qtyStyle: NumberStyle
    ) -> [UInt8] {
        var j = JSONOut(capacity: 96 + (bids.count + asks.count) * 28)
        j.openObject()
        j.field("topic", topic)
        if category == .spot || depth == 1 {
            j.field("ts", int: ts)
            j.field("type", static: snapshot ? "snapshot" : "delta")
        } else {
            j.field("type", static: snapshot ? "snapshot" : "delta")
            j.field("ts", int: ts)
        }
        j.key("data")
        j.openObject()
        j.field("s", symbol)
        j.key("b"); levels(&j, bids, priceStyle, qtyStyle)
        j.key("a"); levels(&j, asks, priceStyle, qtyStyle)
        j.field("u", int: u)
        j.field("seq", int: seq)
        j.closeObject()
        j.field("cts", int: cts)
        j.closeObject()
        return j.bytes
    }

    static func levels(_ j: inout JSONOut, _ levels: [BookLevel], _ ps: NumberStyle, _ qs: NumberStyle) {
        j.openArray()
        for l in levels {
            j.openArray()
            j.number(l.price, ps)
            j.number(l.size, qs)
            j.closeArray()
        }
        j.closeArray()
    }

    public static func trades(
        topic: String, category: SimCategory, ts: Int64, symbol: String, prints: [TradePrint],
        priceStyle: NumberStyle, qtyStyle: NumberStyle
    ) -> [UInt8] {
        var j = JSONOut(capacity: 96 + prints.count * 160)
        j.openObject()
        j.field("topic", topic)
        if category == .spot {
            j.field("ts", int: ts)
            j.field("type", static: "snapshot")
        } else {
            j.field("type", static: "snapshot")
            j.field("ts", int: ts)
        }
        j.key("data")
        j.openArray()
        for p in prints {
            j.openObject()
            if category == .spot {
                j.field("i", p.id)
                j.field("T", int: p.time)
                j.field("p", p.price, priceStyle)
                j.field("v", p.size, qtyStyle)
                j.field("S", p.takerSide.rawValue)
                j.field("s", symbol)
                j.field("BT", bool: false)
                j.field("RPI", bool: false)
                j.field("seq", int: p.seq)
            } else {
                j.field("T", int: p.time)
                j.field("s", symbol)
                j.field("S", p.takerSide.rawValue)
                j.field("v", p.size, qtyStyle)
                j.field("p", p.price, priceStyle)
                j.field("L", p.tickDirection)
                j.field("i", p.id)
                j.field("BT", bool: false)
                j.field("RPI", bool: false)
                j.field("seq", int: p.seq)
            }
            j.closeObject()
        }
        j.closeArray()
        j.closeObject()
        return j.bytes
    }

    /// A ticker message; `fields` are (name, string value) in Bybit's order, `symbol` first.
    public static func ticker(
        topic: String, category: SimCategory, snapshot: Bool, ts: Int64, cs: Int64, fields: [(String, String)]
    ) -> [UInt8] {
        var j = JSONOut(capacity: 64 + fields.count * 40)
        j.openObject()
        j.field("topic", topic)
        if category == .spot {
            j.field("ts", int: ts)
            j.field("type", static: "snapshot")
            j.field("cs", int: cs)
            tickerData(&j, fields)
        } else {
            j.field("type", static: snapshot ? "snapshot" : "delta")
            tickerData(&j, fields)
            j.field("cs", int: cs)
            j.field("ts", int: ts)
        }
        j.closeObject()
        return j.bytes
    }

    static func tickerData(_ j: inout JSONOut, _ fields: [(String, String)]) {
        j.key("data")
        j.openObject()
        for (k, v) in fields { j.key(k); j.string(v) }
        j.closeObject()
    }

    public static func kline(
        topic: String, ts: Int64, candles: [(Candle, confirm: Bool)], priceStyle: NumberStyle, qtyStyle: NumberStyle
    ) -> [UInt8] {
        var j = JSONOut(capacity: 128 + candles.count * 220)
        j.openObject()
        j.field("topic", topic)
        j.key("data")
        j.openArray()
        for (c, confirm) in candles {
            j.openObject()
            j.field("start", int: c.start)
            j.field("end", int: c.end)
            j.field("interval", c.interval.rawValue)
            j.field("open", c.open, priceStyle)
            j.field("close", c.close, priceStyle)
            j.field("high", c.high, priceStyle)
            j.field("low", c.low, priceStyle)
            j.field("volume", c.volume, qtyStyle)
            j.field("turnover", c.turnover.rounded(places: 4))
            j.field("confirm", bool: confirm)
            j.field("timestamp", int: ts)
            j.closeObject()
        }
        j.closeArray()
        j.field("ts", int: ts)
        j.field("type", static: "snapshot")
        j.closeObject()
        return j.bytes
    }

    public static func liquidation(
        topic: String, ts: Int64, symbol: String, prints: [LiquidationPrint], priceStyle: NumberStyle, qtyStyle: NumberStyle
    ) -> [UInt8] {
        var j = JSONOut(capacity: 160)
        j.openObject()
        j.field("topic", topic)
        j.field("type", static: "snapshot")
        j.field("ts", int: ts)
        j.key("data")
        j.openArray()
        for p in prints {
            j.openObject()
            j.field("T", int: p.time)
            j.field("s", symbol)
            j.field("S", p.side.rawValue)
            j.field("v", p.size, qtyStyle)
            j.field("p", p.price, priceStyle)
            j.closeObject()
        }
        j.closeArray()
        j.closeObject()
        return j.bytes
    }
}

/// Ticker field lists in Bybit's order, from a market's state.
public enum TickerFields {
    /// Linear WS ticker (2025+ snapshot field set).
    public static func linear(_ m: SyntheticMarket) -> [(String, String)] {
        let i = m.instrument
        let ps = i.priceStyle, qs = i.qtyStyle
        let bid = m.book.bestBid, ask = m.book.bestAsk
        return [
            ("symbol", i.symbol),
            ("tickDirection", m.tickDirection),
            ("price24hPcnt", m.price24hPcnt.description),
            ("lastPrice", ps.string(m.lastPrice)),
            ("prevPrice24h", ps.string(m.prevPrice24h)),
            ("highPrice24h", ps.string(m.high24h)),
            ("lowPrice24h", ps.string(m.low24h)),
            ("prevPrice1h", ps.string(m.prevPrice1h)),
            ("markPrice", ps.string(m.markPrice)),
            ("indexPrice", ps.string(m.indexPrice)),
            ("openInterest", qs.string(m.openInterest)),
            ("openInterestValue", (m.openInterest * m.markPrice).formatted(places: 2)),
            ("turnover24h", m.turnover24h.formatted(places: 4)),
            ("volume24h", m.volume24h.formatted(places: 4)),
            ("fundingIntervalHour", "8"),
            ("fundingCap", "0.005"),
            ("nextFundingTime", String(m.nextFundingTime)),
            ("fundingRate", m.fundingRate.description),
            ("bid1Price", bid.map { ps.string($0.price) } ?? ""),
            ("bid1Size", bid.map { qs.string($0.size) } ?? ""),
            ("ask1Price", ask.map { ps.string($0.price) } ?? ""),
            ("ask1Size", ask.map { qs.string($0.size) } ?? ""),
            ("preOpenPrice", ""),
            ("preQty", ""),
            ("curPreListingPhase", ""),
        ]
    }

    /// Spot WS ticker: no bid/ask, mark, index or funding (reference §1.7).
    public static func spot(_ m: SyntheticMarket) -> [(String, String)] {
        let i = m.instrument
        return [
            ("symbol", i.symbol),
            ("lastPrice", m.lastPrice.description),
            ("highPrice24h", m.high24h.description),
            ("lowPrice24h", m.low24h.description),
            ("prevPrice24h", m.prevPrice24h.description),
            ("volume24h", m.volume24h.description),
            ("turnover24h", m.turnover24h.description),
            ("price24hPcnt", m.price24hPcnt.description),
            ("usdIndexPrice", m.indexPrice.description),
        ]
    }

    /// Only the entries that differ from `previous` (same order), with `symbol` kept first.
    public static func delta(_ current: [(String, String)], previous: [(String, String)]) -> [(String, String)] {
        var out: [(String, String)] = []
        for (n, f) in current.enumerated() {
            if n == 0 || n >= previous.count || previous[n].1 != f.1 || previous[n].0 != f.0 { out.append(f) }
        }
        return out
    }
}
