/// The whole simulated exchange without sockets: instruments, the market source (generated
/// or replayed), accounts and matching. The engine actor owns one and feeds it time.
public struct Venue: Sendable {
    public private(set) var instruments: [MarketKey: SimInstrument] = [:]
    public internal(set) var accounts: [String: Account] = [:]
    let auth: RestAuthenticator
    public var matching: MatchingEngine
    var limiter = RateLimiter()
    public var enforceRateLimits = false
    public internal(set) var generated: GeneratedFeed?
    public internal(set) var replay: ReplayFeed?
    let seed: UInt64

    public init(instruments: [SimInstrument], accounts: [Account], secrets: [String: String], fees: FeeSchedule,
                generated: GeneratedFeed?, replay: ReplayFeed?, seed: UInt64 = 0) {
        for i in instruments { self.instruments[i.key] = i }
        for a in accounts { self.accounts[a.apiKey] = a }
        auth = RestAuthenticator(secrets: secrets)
        matching = MatchingEngine(fees: fees)
        self.generated = generated
        self.replay = replay
        self.seed = seed
    }

    public var catalog: TopicCatalog {
        var s: [SimCategory: Set<String>] = [:]
        for k in instruments.keys { s[k.category, default: []].insert(k.symbol) }
        return TopicCatalog(symbols: s)
    }

    public var sortedKeys: [MarketKey] { instruments.keys.sorted() }

    // MARK: market views

    public func context(_ key: MarketKey) -> MarketContext? {
        guard let i = instruments[key] else { return nil }
        if let m = generated?.markets[key] {
            return MarketContext(instrument: i, book: m.book, lastPrice: m.lastPrice, markPrice: m.markPrice)
        }
        if let r = replay {
            let book = r.book(key)
            let mid = book.bestBid.flatMap { b in book.bestAsk.map { Fixed(raw: (b.price.raw + $0.price.raw) / 2) } }
            let last = r.lastPrice[key] ?? mid ?? i.initialPrice
            return MarketContext(instrument: i, book: book, lastPrice: last, markPrice: r.markPrice[key] ?? mid ?? last)
        }
        return MarketContext(instrument: i, book: OrderBook(), lastPrice: i.initialPrice, markPrice: i.initialPrice)
    }

    /// Linear marks and coin prices in USD (from `COINUSDT`, linear first).
    public var prices: PriceBoard {
        var p = PriceBoard()
        for key in sortedKeys {
            guard let c = context(key) else { continue }
            if key.category == .linear { p.marks[key.symbol] = c.markPrice }
            let i = c.instrument
            if i.quoteCoin == "USDT", p.usd[i.baseCoin] == nil || key.category == .linear {
                p.usd[i.baseCoin] = c.lastPrice
            }
        }
        return p
    }

    // MARK: time

    /// Lets resting orders react to what the feed just did.
    public mutating func match(_ output: FeedOutput, now: Int64) -> [AccountUpdate] {
        guard !output.changed.isEmpty, accounts.values.contains(where: { !$0.openOrderIDs.isEmpty }) else { return [] }
        var updates: [AccountUpdate] = []
        for key in output.changed {
            guard let ctx = context(key) else { continue }
            for apiKey in accounts.keys.sorted() {
                if let u = matching.onMarket(account: &accounts[apiKey]!, market: ctx, trades: output.trades[key] ?? [], now: now) {
                    updates.append(u)
                }
            }
        }
        return updates
    }

    /// Plays the replayed market up to recorded time `t` (µs) and lets resting orders react,
    /// at exchange time `now` (ms); empty without a replay feed.
    public mutating func playReplay(toRecordedTime t: Int64, now: Int64) -> [AccountUpdate] {
        guard replay != nil else { return [] }
        let output = replay!.advance(toRecordedTime: t, forwarding: false)
        return match(output, now: now)
    }

    // MARK: private frames

    /// The private message of one kind for `update`, under the topic name the client used.
    public func privateFrame(_ kind: PrivateTopic, update u: AccountUpdate, topicName: String, now: Int64) -> [UInt8]? {
        guard let account = accounts[u.apiKey], let i = instruments[MarketKey(u.category, u.symbol)] else { return nil }
        let id = "\(account.uid)_\(u.symbol)_\(now)"
        switch kind {
        case .order:
            guard !u.orders.isEmpty else { return nil }
            return PrivateFrames.envelope(topic: topicName, id: id, creationTime: now) { j in
                for o in u.orders { PrivateFrames.orderItem(&j, o, instrument: i) }
            }
        case .execution:
            guard !u.executions.isEmpty else { return nil }
            let execId = "\(account.uid)_\(u.symbol)_\(u.executions.last!.seq)"
            return PrivateFrames.envelope(topic: topicName, id: execId, creationTime: now) { j in
                for e in u.executions { PrivateFrames.executionItem(&j, e, instrument: i) }
            }
        case .position:
            guard let p = u.position else { return nil }
            let mark = context(MarketKey(.linear, u.symbol))?.markPrice ?? p.avgPrice
            return PrivateFrames.envelope(topic: topicName, id: id, creationTime: now) { j in
                PrivateFrames.positionItem(&j, p, instrument: i, mark: mark)
            }
        case .wallet:
            guard u.walletChanged else { return nil }
            let view = WalletView(account: account, prices: prices)
            return PrivateFrames.envelope(topic: topicName, id: "\(account.uid)_wallet_\(now)", creationTime: now, walletOrder: true) { j in
                PrivateFrames.walletItem(&j, view)
            }
        }
    }
}
