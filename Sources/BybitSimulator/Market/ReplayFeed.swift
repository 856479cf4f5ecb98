import Recording

/// How fast a recording plays: at recorded pacing times a multiplier, or as fast as the
/// sockets take it.
public enum ReplaySpeed: Sendable, Hashable {
    case recorded(multiplier: Double)
    case asFastAsPossible
}

/// `--fixture FILE`: public frames of a recording replayed in recorded order. The frames are
/// forwarded byte for byte; the books, tickers and prints they carry are kept so that late
/// subscribers get a snapshot and orders match against the played book.
public struct ReplayFeed: Sendable {
    /// A class: the feed's frames never change once built, and playing one then takes one
    /// reference, not one per member.
    final class Frame: Sendable {
        let t: Int64
        let category: SimCategory
        let topic: String
        /// `topic` parsed (once per distinct topic, when the feed is built).
        let parsed: PublicTopic?
        /// The slot of `category/topic`: its book's or ticker's index in the feed's state.
        let slot: Int
        let bytes: [UInt8]
        let content: Content

        init(t: Int64, category: SimCategory, topic: String, parsed: PublicTopic?, slot: Int, bytes: [UInt8], content: Content) {
            self.t = t
            self.category = category
            self.topic = topic
            self.parsed = parsed
            self.slot = slot
            self.bytes = bytes
            self.content = content
        }
    }

    /// What playing a frame needs of it, read from the parsed frame once, when the feed is
    /// built (not looked up in the JSON tree on every play).
    /// The cases' data sits in objects, so that playing a frame takes one reference to it,
    /// not one per array it holds.
    enum Content: Sendable {
        /// An orderbook frame with `data`.
        case book(BookContent)
        case trades([TradePrint])
        /// A ticker frame with a `data` object.
        case ticker(TickerContent)
        /// Forwarded only: klines, liquidations, frames of an unknown topic or without data.
        case none

        init(_ node: JSONNode, topic: PublicTopic?, names: inout TickerFieldNames) {
            switch topic {
            case .orderbook?:
                guard let data = node["data"] else { self = .none; return }
                self = .book(BookContent(
                    snapshot: node["type"]?.stringValue == "snapshot", bids: ReplayFeed.levels(data["b"]),
                    asks: ReplayFeed.levels(data["a"]), u: data["u"]?.int64Value, seq: data["seq"]?.int64Value,
                    ts: node["ts"]?.int64Value, cts: node["cts"]?.int64Value))
            case .trade?:
                var prints: [TradePrint] = []
                for item in node["data"]?.arrayValue ?? [] {
                    guard let p = item["p"]?.stringValue.flatMap(Fixed.init), let v = item["v"]?.stringValue.flatMap(Fixed.init),
                          let s = item["S"]?.stringValue.flatMap(Side.init) else { continue }
                    prints.append(TradePrint(time: item["T"]?.int64Value ?? 0, price: p, size: v, takerSide: s,
                                             id: item["i"]?.stringValue ?? "", tickDirection: item["L"]?.stringValue ?? "",
                                             seq: item["seq"]?.int64Value ?? 0))
                }
                self = .trades(prints)
            case .ticker?:
                guard let data = node["data"]?.objectValue else { self = .none; return }
                self = .ticker(TickerContent(
                    delta: node["type"]?.stringValue == "delta", fields: data.map { (names.number($0.0), $0.1) },
                    cs: node["cs"]?.int64Value ?? 0, ts: node["ts"]?.int64Value ?? 0,
                    mark: data.first(where: { $0.0 == "markPrice" })?.1.stringValue.flatMap(Fixed.init),
                    last: data.first(where: { $0.0 == "lastPrice" })?.1.stringValue.flatMap(Fixed.init)))
            case .kline?, .liquidation?, nil:
                self = .none
            }
        }
    }

    /// An orderbook frame's data (a member absent stays nil: the book keeps its value).
    final class BookContent: Sendable {
        let snapshot: Bool
        let bids: [BookLevel]
        let asks: [BookLevel]
        let u: Int64?
        let seq: Int64?
        let ts: Int64?
        let cts: Int64?

        init(snapshot: Bool, bids: [BookLevel], asks: [BookLevel], u: Int64?, seq: Int64?, ts: Int64?, cts: Int64?) {
            self.snapshot = snapshot
            self.bids = bids
            self.asks = asks
            self.u = u
            self.seq = seq
            self.ts = ts
            self.cts = cts
        }
    }

    /// A ticker frame's data: each field by its number in the feed's ``TickerFieldNames``.
    final class TickerContent: Sendable {
        let delta: Bool
        let fields: [(Int, JSONNode)]
        let cs: Int64
        let ts: Int64
        let mark: Fixed?
        let last: Fixed?

        init(delta: Bool, fields: [(Int, JSONNode)], cs: Int64, ts: Int64, mark: Fixed?, last: Fixed?) {
            self.delta = delta
            self.fields = fields
            self.cs = cs
            self.ts = ts
            self.mark = mark
            self.last = last
        }
    }

    /// The names of the ticker fields a recording carries, numbered in first-seen order.
    struct TickerFieldNames: Sendable {
        private(set) var names: [String] = []
        private var numbers: [String: Int] = [:]

        mutating func number(_ name: String) -> Int {
            if let n = numbers[name] { return n }
            numbers[name] = names.count
            names.append(name)
            return names.count - 1
        }
    }

    /// A ticker's merged fields: a value per field number, and the numbers in first-seen order.
    struct MergedTicker: Sendable {
        var order: [Int] = []
        var values: [JSONNode?]
        var cs: Int64 = 0
        var ts: Int64 = 0

        init(fieldCount: Int) { values = Array(repeating: nil, count: fieldCount) }

        /// A delta's fields updated in place; a field not seen before goes last.
        mutating func merge(_ fields: [(Int, JSONNode)]) {
            for (n, v) in fields {
                if values[n] == nil { order.append(n) }
                values[n] = v
            }
        }

        /// The fields by name, in first-seen order.
        func fields(named names: TickerFieldNames) -> [(String, JSONNode)] {
            order.map { (names.names[$0], values[$0]!) }
        }

        mutating func reset() {
            for n in order { values[n] = nil }
            order.removeAll(keepingCapacity: true)
        }
    }

    struct TopicBook: Sendable {
        var book = OrderBook()
        var u: Int64 = 0
        var seq: Int64 = 0
        var ts: Int64 = 0
        var cts: Int64 = 0
        var seen = false
    }

    let frames: [Frame]
    var next = 0
    public let instruments: [SimInstrument]
    /// `category/topic` → its slot in `books` and `tickers`.
    let slots: [String: Int]
    let tickerFieldNames: TickerFieldNames
    /// By slot: the book of an orderbook topic, the merged fields of a ticker topic (nil before its first frame).
    var books: [TopicBook]
    var tickers: [MergedTicker?]
    /// Per market: the orderbook topic with the deepest levels (the book orders match against),
    /// with its depth.
    var matchTopic: [MarketKey: (slot: Int, depth: Int)] = [:]
    public private(set) var lastPrice: [MarketKey: Fixed] = [:]
    public private(set) var markPrice: [MarketKey: Fixed] = [:]

    /// Recorded time (µs) of the first frame.
    public let startTime: Int64
    public var finished: Bool { next >= frames.count }
    public var frameCount: Int { frames.count }

    /// Reads a recording; `configured` instruments win over ones inferred from the frames.
    public init(path: String, configured: [SimInstrument]) throws {
        try self.init(entries: RecordingReader(path: path).entries(), configured: configured)
    }

    public init(entries: [RecordEntry], configured: [SimInstrument]) throws {
        var frames: [Frame] = []
        // Several recorded connections may carry one topic: keep the first connection's copy.
        var owner: [String: String] = [:]
        var decimals: [MarketKey: (price: Int, qty: Int, mid: Fixed)] = [:]
        // A recording repeats a few topics many times: each gets a slot and is parsed once.
        var slots: [String: Int] = [:]
        var parsedBySlot: [PublicTopic?] = []
        var names = TickerFieldNames()
        for e in entries where e.kind == .frame || e.kind == .disconnect {
            if e.kind == .disconnect {
                // A closed socket hands its topics to whichever connection carries them next.
                let conn = e.conn ?? ""
                owner = owner.filter { $0.value != conn }
                continue
            }
            guard let ch = e.channel, let category = SimCategory(rawValue: ch), let text = e.text,
                  let node = JSONNode.parse(text), let topic = node["topic"]?.stringValue else { continue }
            let key = "\(ch)/\(topic)"
            let conn = e.conn ?? ""
            if let o = owner[key], o != conn { continue }
            owner[key] = conn
            let slot: Int
            if let known = slots[key] { slot = known } else {
                slot = parsedBySlot.count
                slots[key] = slot
                parsedBySlot.append(PublicTopic.parse(topic, category: category))
            }
            let parsedTopic = parsedBySlot[slot]
            frames.append(Frame(t: e.t, category: category, topic: topic, parsed: parsedTopic, slot: slot, bytes: Array(text.utf8),
                                content: Content(node, topic: parsedTopic, names: &names)))
            if let p = parsedTopic, case .orderbook = p {
                let mk = MarketKey(category, p.symbol)
                if decimals[mk] == nil, let inferred = Self.inferDecimals(node) { decimals[mk] = inferred }
            }
        }
        self.frames = frames
        self.slots = slots
        tickerFieldNames = names
        books = Array(repeating: TopicBook(), count: slots.count)
        tickers = Array(repeating: nil, count: slots.count)
        startTime = frames.first?.t ?? 0
        var symbols = Set<MarketKey>()
        for f in frames {
            if let p = f.parsed { symbols.insert(MarketKey(f.category, p.symbol)) }
        }
        let byKey = Dictionary(configured.map { ($0.key, $0) }, uniquingKeysWith: { a, _ in a })
        var list: [SimInstrument] = []
        for key in symbols.union(byKey.keys).sorted() {
            if let c = byKey[key] { list.append(c); continue }
            var i = SimInstrument.defaults(symbol: key.symbol, category: key.category)
            if let d = decimals[key] {
                i.tickSize = Fixed(raw: Fixed.pow10[Fixed.decimals - min(d.price, 8)])
                i.priceScale = d.price
                i.qtyStep = Fixed(raw: Fixed.pow10[Fixed.decimals - min(d.qty, 8)])
                i.minOrderQty = i.qtyStep
                i.initialPrice = d.mid
            }
            list.append(i)
        }
        instruments = list
    }

    /// Decimals used by a snapshot's prices and sizes, and its mid.
    static func inferDecimals(_ node: JSONNode) -> (price: Int, qty: Int, mid: Fixed)? {
        guard node["type"]?.stringValue == "snapshot", let data = node["data"] else { return nil }
        var pd = 0, qd = 0
        var best: [Fixed] = []
        for side in ["b", "a"] {
            for (n, level) in (data[side]?.arrayValue ?? []).enumerated() {
                guard let pair = level.arrayValue, pair.count == 2, let p = pair[0].stringValue, let q = pair[1].stringValue else { continue }
                pd = max(pd, p.split(separator: ".").dropFirst().first?.count ?? 0)
                qd = max(qd, q.split(separator: ".").dropFirst().first?.count ?? 0)
                if n == 0, let f = Fixed(p) { best.append(f) }
            }
        }
        guard best.count == 2 else { return nil }
        return (pd, qd, Fixed(raw: (best[0].raw + best[1].raw) / 2))
    }

    /// Plays every frame recorded at or before `t` (µs, recording clock); without
    /// `forwarding`, the output lists no frames (nobody subscribes: an in-process replay).
    public mutating func advance(toRecordedTime t: Int64, forwarding: Bool = true) -> FeedOutput {
        var out = FeedOutput()
        while next < frames.count, frames[next].t <= t { play(frames[next], forwarding: forwarding, into: &out); next += 1 }
        return out
    }

    /// Plays the next `count` frames regardless of time.
    public mutating func advance(count: Int) -> FeedOutput {
        var out = FeedOutput()
        var n = 0
        while next < frames.count, n < count { play(frames[next], into: &out); next += 1; n += 1 }
        return out
    }

    /// Recorded time of the next frame, nil at the end.
    public var nextTime: Int64? { next < frames.count ? frames[next].t : nil }

    mutating func play(_ f: Frame, forwarding: Bool = true, into out: inout FeedOutput) {
        if forwarding { out.frames.append(FeedFrame(category: f.category, topic: f.topic, bytes: f.bytes)) }
        guard let topic = f.parsed else { return }
        if case .none = f.content { return }
        let key = MarketKey(f.category, topic.symbol)
        let slot = f.slot
        // On the content alone (a tuple of topic and content would copy the content on every
        // frame); the topic's kind matches it by construction.
        switch f.content {
        case .book(let b):
            guard case .orderbook(let depth, _) = topic else { return }
            // In place: a copy out of the array would copy the book's levels on every delta.
            Self.update(&books[slot], snapshot: b.snapshot, bids: b.bids, asks: b.asks, u: b.u, seq: b.seq, ts: b.ts, cts: b.cts)
            let current = matchTopic[key]
            if let current, current.slot != slot, current.depth >= depth {
                return
            }
            if current?.slot != slot { matchTopic[key] = (slot, depth) }
            if !out.changed.contains(key) { out.changed.append(key) }
        case .trades(let prints):
            guard case .trade = topic, let last = prints.last else { return }
            lastPrice[key] = last.price
            out.trades[key, default: []].append(contentsOf: prints)
            if !out.changed.contains(key) { out.changed.append(key) }
        case .ticker(let t):
            guard case .ticker = topic else { return }
            if tickers[slot] == nil { tickers[slot] = MergedTicker(fieldCount: tickerFieldNames.names.count) }
            if !t.delta { tickers[slot]!.reset() }
            tickers[slot]!.merge(t.fields)
            tickers[slot]!.cs = t.cs
            tickers[slot]!.ts = t.ts
            if let mark = t.mark { markPrice[key] = mark }
            if lastPrice[key] == nil, let last = t.last { lastPrice[key] = last }
        case .none:
            break  // returned above
        }
    }

    static func update(_ state: inout TopicBook, snapshot: Bool, bids: [BookLevel], asks: [BookLevel],
                       u: Int64?, seq: Int64?, ts: Int64?, cts: Int64?) {
        if snapshot {
            state.book.replace(bids: bids, asks: asks)
        } else {
            for l in bids { state.book.set(.bid, price: l.price, size: l.size) }
            for l in asks { state.book.set(.ask, price: l.price, size: l.size) }
        }
        state.u = u ?? state.u
        state.seq = seq ?? state.seq
        state.ts = ts ?? state.ts
        state.cts = cts ?? state.ts
        state.seen = true
    }

    /// The merged fields of a ticker topic (`category/tickers.SYMBOL`), in first-seen order.
    func tickerFields(_ topicKey: String) -> [(String, JSONNode)]? {
        guard let slot = slots[topicKey], let t = tickers[slot] else { return nil }
        return t.fields(named: tickerFieldNames)
    }

    /// The book of an orderbook topic (`category/orderbook.N.SYMBOL`).
    func topicBook(_ topicKey: String) -> TopicBook? {
        slots[topicKey].map { books[$0] }
    }

    static func levels(_ node: JSONNode?) -> [BookLevel] {
        (node?.arrayValue ?? []).compactMap { l in
            guard let pair = l.arrayValue, pair.count >= 2, let p = pair[0].stringValue.flatMap(Fixed.init),
                  let q = pair[1].stringValue.flatMap(Fixed.init) else { return nil }
            return BookLevel(price: p, size: q)
        }
    }

    /// The book orders match against.
    public func book(_ key: MarketKey) -> OrderBook {
        matchTopic[key].map { books[$0.slot].book } ?? OrderBook()
    }

    public func instrument(_ key: MarketKey) -> SimInstrument? { instruments.first { $0.key == key } }

    /// Topics the recording carries, per category.
    public var topics: [SimCategory: Set<String>] {
        var out: [SimCategory: Set<String>] = [:]
        for f in frames { out[f.category, default: []].insert(f.topic) }
        return out
    }

    /// A snapshot for a subscriber that joins mid-stream (orderbook and linear tickers).
    public func snapshot(category: SimCategory, topic: String) -> [UInt8]? {
        let topicKey = "\(category.rawValue)/\(topic)"
        guard let parsed = PublicTopic.parse(topic, category: category) else { return nil }
        switch parsed {
        case .orderbook(let depth, let symbol):
            guard let s = topicBook(topicKey), s.seen, let i = instrument(MarketKey(category, symbol)) else { return nil }
            return PublicFrames.orderbook(
                topic: topic, category: category, depth: depth, snapshot: true, ts: s.ts, cts: s.cts, symbol: symbol,
                bids: Array(s.book.bids.prefix(depth)), asks: Array(s.book.asks.prefix(depth)), u: s.u, seq: s.seq,
                priceStyle: i.priceStyle, qtyStyle: i.qtyStyle)
        case .ticker:
            guard let slot = slots[topicKey], let meta = tickers[slot] else { return nil }
            let fields = meta.fields(named: tickerFieldNames)
            var j = JSONOut(capacity: 1024)
            j.openObject()
            j.field("topic", topic)
            if category == .spot {
                j.field("ts", int: meta.ts)
                j.field("type", static: "snapshot")
                j.field("cs", int: meta.cs)
                j.key("data")
                JSONNode.object(fields).write(to: &j)
            } else {
                j.field("type", static: "snapshot")
                j.key("data")
                JSONNode.object(fields).write(to: &j)
                j.field("cs", int: meta.cs)
                j.field("ts", int: meta.ts)
            }
            j.closeObject()
            return j.bytes
        default:
            return nil
        }
    }
}
