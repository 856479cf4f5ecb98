/// Public market-data routes: time, instruments, tickers, order book, klines, funding.
extension Venue {
    func handlePublic(_ r: RestRequest, now: Int64) throws -> [UInt8] {
        guard r.method == "GET" else { throw ExchangeError(10017, "route not found") }
        let q = r.query
        switch r.path {
        case "/v5/market/time":
            return Self.envelope(now) { j in
                j.openObject()
                j.field("timeSecond", String(now / 1000))
                j.field("timeNano", String(now * 1_000_000))
                j.closeObject()
            }
        case "/v5/market/instruments-info":
            return try instrumentsInfo(q, now: now)
        case "/v5/market/tickers":
            let category = try Self.category(q["category"])
            let symbol = q["symbol"].flatMap { $0.isEmpty ? nil : $0 }
            if let symbol { _ = try market(category, symbol) }
            let keys = sortedKeys.filter { $0.category == category && (symbol == nil || $0.symbol == symbol) }
            return Self.envelope(now) { j in
                j.openObject()
                j.field("category", category.rawValue)
                j.key("list")
                j.openArray()
                for k in keys {
                    j.openObject()
                    for (name, value) in restTicker(k) { j.key(name); j.string(value) }
                    j.closeObject()
                }
                j.closeArray()
                j.closeObject()
            }
        case "/v5/market/orderbook":
            let category = try Self.category(q["category"])
            let ctx = try market(category, q["symbol"])
            let limit = try Self.limit(q["limit"], default: category == .spot ? 1 : 25, max: category == .spot ? 200 : 1000)
            let key = ctx.instrument.key
            let (u, seq) = bookVersion(key)
            let i = ctx.instrument
            return Self.envelope(now) { j in
                j.openObject()
                j.field("s", i.symbol)
                j.key("a"); PublicFrames.levels(&j, Array(ctx.book.asks.prefix(limit)), i.priceStyle, i.qtyStyle)
                j.key("b"); PublicFrames.levels(&j, Array(ctx.book.bids.prefix(limit)), i.priceStyle, i.qtyStyle)
                j.field("ts", int: now)
                j.field("u", int: u)
                j.field("seq", int: seq)
                j.field("cts", int: now)
                j.closeObject()
            }
        case "/v5/market/kline":
            let category = try Self.category(q["category"] ?? "linear")
            let ctx = try market(category, q["symbol"])
            guard let interval = q["interval"].flatMap(KlineInterval.init) else {
                throw ExchangeError.params("params error: interval invalid")
            }
            let limit = try Self.limit(q["limit"], default: 200, max: 1000)
            let candles = generated?.markets[ctx.instrument.key]?.candles.history(
                interval, startMs: q["start"].flatMap { Int64($0) }, endMs: q["end"].flatMap { Int64($0) }, limit: limit) ?? []
            let i = ctx.instrument
            return Self.envelope(now) { j in
                j.openObject()
                j.field("symbol", i.symbol)
                j.field("category", category.rawValue)
                j.key("list")
                j.openArray()
                for c in candles {
                    j.openArray()
                    j.intString(c.start)
                    j.number(c.open, i.priceStyle)
                    j.number(c.high, i.priceStyle)
                    j.number(c.low, i.priceStyle)
                    j.number(c.close, i.priceStyle)
                    j.number(c.volume, i.qtyStyle)
                    j.number(c.turnover.rounded(places: 4))
                    j.closeArray()
                }
                j.closeArray()
                j.closeObject()
            }
        case "/v5/market/funding/history":
            let category = try Self.category(q["category"], allowed: [.linear])
            let ctx = try market(category, q["symbol"])
            let start = q["startTime"].flatMap { Int64($0) }, end = q["endTime"].flatMap { Int64($0) }
            if start != nil, end == nil { throw ExchangeError.params("params error: endTime is required when startTime is given") }
            let limit = try Self.limit(q["limit"], default: 200, max: 200)
            let period: Int64 = 8 * 3_600_000
            var t = floorDiv(min(end ?? now, now), period) * period
            var rows: [(Int64, Fixed)] = []
            while rows.count < limit, start.map({ t >= $0 }) ?? true {
                // A deterministic rate around 0.01% per settlement.
                let h = stableHash("\(seed)/\(ctx.instrument.symbol)/\(t)")
                rows.append((t, Fixed(raw: 10_000 + (Int64(h % 21) - 10) * 100)))
                t -= period
            }
            return Self.envelope(now) { j in
                j.openObject()
                j.field("category", "linear")
                j.key("list")
                j.openArray()
                for (ts, rate) in rows {
                    j.openObject()
                    j.field("symbol", ctx.instrument.symbol)
                    j.field("fundingRate", rate)
                    j.field("fundingRateTimestamp", intString: ts)
                    j.closeObject()
                }
                j.closeArray()
                j.closeObject()
            }
        default:
            throw ExchangeError(10017, "route not found")
        }
    }

    func bookVersion(_ key: MarketKey) -> (Int64, Int64) {
        if let m = generated?.markets[key] { return (m.bookVersion, m.crossSeq) }
        if let r = replay, let t = r.matchTopic[key] { return (r.books[t.slot].u, r.books[t.slot].seq) }
        return (1, 1)
    }

    func instrumentsInfo(_ q: [String: String], now: Int64) throws -> [UInt8] {
        let category = try Self.category(q["category"])
        let symbol = q["symbol"].flatMap { $0.isEmpty ? nil : $0 }
        let all = sortedKeys.filter { $0.category == category && (symbol == nil || $0.symbol == symbol) }.compactMap { instruments[$0] }
        // Spot has no pagination (reference §2.4).
        let (list, next) = category == .spot ? (all, "")
            : try Self.page(all, limit: try Self.limit(q["limit"], default: 500, max: 1000), cursor: q["cursor"])
        return Self.envelope(now) { j in
            j.openObject()
            j.field("category", category.rawValue)
            j.key("list")
            j.openArray()
            for i in list { category == .spot ? Self.spotInstrument(&j, i) : Self.linearInstrument(&j, i) }
            j.closeArray()
            if category == .linear { j.field("nextPageCursor", next) }
            j.closeObject()
        }
    }

    static func linearInstrument(_ j: inout JSONOut, _ i: SimInstrument) {
        let ps = NumberStyle.places(i.priceScale), qs = i.qtyStyle
        j.openObject()
        j.field("symbol", i.symbol)
        j.field("contractType", "LinearPerpetual")
        j.field("status", "Trading")
        j.field("baseCoin", i.baseCoin)
        j.field("quoteCoin", i.quoteCoin)
        j.field("launchTime", "1585526400000")
        j.field("deliveryTime", "0")
        j.field("deliveryFeeRate", "")
        j.field("priceScale", String(i.priceScale))
        j.key("leverageFilter")
        j.openObject()
        j.field("minLeverage", "1")
        j.field("maxLeverage", "100.00")
        j.field("leverageStep", "0.01")
        j.closeObject()
        j.key("priceFilter")
        j.openObject()
        j.field("minPrice", i.tickSize, ps)
        j.field("maxPrice", i.tickSize * 19_999_998, ps)
        j.field("tickSize", i.tickSize, ps)
        j.closeObject()
        j.key("lotSizeFilter")
        j.openObject()
        j.field("maxOrderQty", i.maxOrderQty, qs)
        j.field("minOrderQty", i.minOrderQty, qs)
        j.field("qtyStep", i.qtyStep, qs)
        j.field("postOnlyMaxOrderQty", i.maxOrderQty, qs)
        j.field("maxMktOrderQty", i.maxMarketOrderQty, qs)
        j.field("minNotionalValue", i.minNotional)
        j.closeObject()
        j.field("unifiedMarginTrade", bool: true)
        j.field("fundingInterval", int: 480)
        j.field("settleCoin", i.quoteCoin)
        j.field("copyTrading", "both")
        j.field("upperFundingRate", "0.00375")
        j.field("lowerFundingRate", "-0.00375")
        j.field("isPreListing", bool: false)
        j.key("preListingInfo"); j.null()
        j.key("riskParameters")
        j.openObject()
        j.field("priceLimitRatioX", "0.01")
        j.field("priceLimitRatioY", "0.02")
        j.closeObject()
        j.field("symbolType", "")
        j.closeObject()
    }

    static func spotInstrument(_ j: inout JSONOut, _ i: SimInstrument) {
        j.openObject()
        j.field("symbol", i.symbol)
        j.field("baseCoin", i.baseCoin)
        j.field("quoteCoin", i.quoteCoin)
        j.field("innovation", "0")
        j.field("status", "Trading")
        j.field("marginTrading", "utaOnly")
        j.field("stTag", "0")
        j.key("lotSizeFilter")
        j.openObject()
        j.field("basePrecision", i.qtyStep)
        j.field("quotePrecision", i.quotePrecision)
        j.field("minOrderQty", i.minOrderQty)
        j.field("maxOrderQty", i.maxOrderQty)
        j.field("minOrderAmt", i.minNotional)
        j.field("maxOrderAmt", "8000000")
        j.field("maxLimitOrderQty", i.maxOrderQty)
        j.field("maxMarketOrderQty", i.maxMarketOrderQty)
        j.field("postOnlyMaxLimitOrderSize", "60000")
        j.closeObject()
        j.key("priceFilter")
        j.openObject()
        j.field("tickSize", i.tickSize)
        j.closeObject()
        j.key("riskParameters")
        j.openObject()
        j.field("priceLimitRatioX", "0.005")
        j.field("priceLimitRatioY", "0.01")
        j.closeObject()
        j.field("symbolType", "")
        j.closeObject()
    }

    /// The REST ticker of one market (spot REST does carry bid/ask, unlike the WS ticker).
    func restTicker(_ key: MarketKey) -> [(String, String)] {
        guard let ctx = context(key) else { return [] }
        let i = ctx.instrument
        var ws: [String: String] = [:]
        if let m = generated?.markets[key] {
            for (k, v) in key.category == .linear ? TickerFields.linear(m) : TickerFields.spot(m) { ws[k] = v }
        } else if let fields = replay?.tickerFields("\(key.category.rawValue)/tickers.\(key.symbol)") {
            for (k, v) in fields { ws[k] = v.stringValue ?? "" }
        }
        let ps = i.priceStyle, qs = i.qtyStyle
        func v(_ name: String, _ fallback: @autoclosure () -> String) -> String { ws[name] ?? fallback() }
        let bid = ctx.book.bestBid, ask = ctx.book.bestAsk
        let bidP = bid.map { ps.string($0.price) } ?? "", bidS = bid.map { qs.string($0.size) } ?? ""
        let askP = ask.map { ps.string($0.price) } ?? "", askS = ask.map { qs.string($0.size) } ?? ""
        let last = ps.string(ctx.lastPrice)
        if key.category == .spot {
            return [
                ("symbol", i.symbol), ("bid1Price", bidP), ("bid1Size", bidS), ("ask1Price", askP), ("ask1Size", askS),
                ("lastPrice", v("lastPrice", last)), ("prevPrice24h", v("prevPrice24h", last)),
                ("price24hPcnt", v("price24hPcnt", "0")), ("highPrice24h", v("highPrice24h", last)),
                ("lowPrice24h", v("lowPrice24h", last)), ("turnover24h", v("turnover24h", "0")),
                ("volume24h", v("volume24h", "0")), ("usdIndexPrice", v("usdIndexPrice", last)),
            ]
        }
        return [
            ("symbol", i.symbol), ("lastPrice", v("lastPrice", last)), ("indexPrice", v("indexPrice", last)),
            ("markPrice", v("markPrice", ps.string(ctx.markPrice))), ("prevPrice24h", v("prevPrice24h", last)),
            ("price24hPcnt", v("price24hPcnt", "0")), ("highPrice24h", v("highPrice24h", last)),
            ("lowPrice24h", v("lowPrice24h", last)), ("prevPrice1h", v("prevPrice1h", last)),
            ("openInterest", v("openInterest", "0")), ("openInterestValue", v("openInterestValue", "0")),
            ("turnover24h", v("turnover24h", "0")), ("volume24h", v("volume24h", "0")),
            ("fundingRate", v("fundingRate", "0.0001")), ("nextFundingTime", v("nextFundingTime", "")),
            ("predictedDeliveryPrice", ""), ("basisRate", ""), ("deliveryFeeRate", ""), ("deliveryTime", "0"),
            ("ask1Size", askS), ("bid1Price", bidP), ("ask1Price", askP), ("bid1Size", bidS), ("basis", ""),
            ("preOpenPrice", ""), ("preQty", ""), ("curPreListingPhase", ""),
            ("fundingIntervalHour", v("fundingIntervalHour", "8")), ("basisRateYear", ""), ("fundingCap", v("fundingCap", "0.005")),
        ]
    }
}
