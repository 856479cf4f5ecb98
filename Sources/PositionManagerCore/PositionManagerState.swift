import Bybit
import Foundation
import OrderManagerCore
import TradelogCore

/// An event the fold asks its runner to append; its id derives from the causing event.
public struct DerivedPositionEvent: Sendable {
    public var stream: String
    public var event: NewEvent
}

/// One position's state: our ledger, each strategy's ledger, and the exchange's figures beside.
struct PositionRecord: Sendable {
    var key: PositionKey
    var quoteCoin: String
    var baseCoin: String
    var ledger = PositionLedger()
    var strategies: [String: PositionLedger] = [:]
    var exchange: ExchangePositionFigures?
    var version = 0
    var lastEmitted: Timestamp?
    /// Since when (event time) ours and the exchange's differ; nil when they agree.
    var pendingSince: Timestamp?
    var openDiscrepancy = false
    /// The exchange position the last sync saw (and our size equals, adopted or matched): its
    /// cross sequence and update time (ms); for a position the sync found flat, no sequence and
    /// the exchange's time of the answer. A fill of ours folded later that is not newer is
    /// already in that size.
    var adoptedSeq: Int64?
    var adoptedThroughMs: Int64?

    /// Whether execution `x` (not folded before) is part of the size the last sync adopted:
    /// its cross sequence is not past the adopted position's (Bybit gives a fill and the
    /// position update it causes the same `seq`); without a sequence, its time is not past the
    /// position's update time.
    func adopted(_ x: ExecutionReport) -> Bool {
        if let s = x.seq, s >= 0, let a = adoptedSeq, a >= 0 { return s <= a }
        if let t = x.execTime, let a = adoptedThroughMs { return t <= a }
        return false
    }
}

/// The position manager's state, a pure fold of the log (DESIGN invariant 5): positions from
/// our executions, the exchange's position frames beside them, marks from tickers, the wallet,
/// and which strategy each of our orders belongs to. Time is the events' own (exchange time,
/// else receive time), never the wall clock; what it derives carries ids from the causing event.
public struct PositionManagerState: Sendable {
    public var config: PositionManagerConfig
    public let registry: EventRegistry
    /// The last log position folded.
    public var position: Int64 = 0
    /// Event time: the latest time of a folded event.
    public private(set) var clock: Timestamp?
    var records: [PositionKey: PositionRecord] = [:]
    /// Marks by market.
    var marks: [MarketName: Decimal] = [:]
    /// The ticker streams that matter (a position's market, or a quote coin's USDT price), with
    /// their market: one lookup per ticker in the log.
    var interest: [String: (category: String, symbol: String)] = [:]
    var instruments: [String: InstrumentRules] = [:]
    var strategyByLink: [String: (strategy: String, signal: String, trace: String?)] = [:]
    var positionIdxByOrder: [String: Int] = [:]
    var seenExecutions: Set<String> = []
    var wallet: ExchangeWalletUpdated?
    var portfolioVersion = 0
    var lastPortfolioAt: Timestamp?
    var portfolioDirty = false
    var markDirty: Set<PositionKey> = []
    var pending: Set<PositionKey> = []
    var lastSnapshotSlot: Int64?
    /// Executions of categories other than linear and spot, and other inputs the fold cannot use.
    public private(set) var skipped = 0
    /// Events of a type the fold reads whose payload does not decode: the fold cannot use them
    /// (the engine logs each new one). How many, and the last.
    public private(set) var undecodable = 0
    public private(set) var lastUndecodable: String?
    /// The executions folded into positions (fills and funding).
    public private(set) var executionsFolded = 0

    public static let external = "external"

    public init(config: PositionManagerConfig = .init()) {
        self.config = config
        var r = EventRegistry()
        PositionEvents.register(&r)
        OrderEvents.register(&r)
        r.register(TickerUpdated.self)
        r.register(ExchangeOrderUpdated.self)
        r.register(ExchangeExecution.self)
        r.register(ExchangeNonTradeExecution.self)
        r.register(ExchangePositionUpdated.self)
        r.register(ExchangeWalletUpdated.self)
        registry = r
    }

    /// The event types the fold reads; the rest of the log is skipped without decoding.
    public static let foldedTypes: Set<String> = [
        TickerUpdated.eventType, ExchangeOrderUpdated.eventType, ExchangeExecution.eventType,
        ExchangeNonTradeExecution.eventType, ExchangePositionUpdated.eventType, ExchangeWalletUpdated.eventType,
        "ExchangeWalletSnapshot", OrderRequested.eventType, InstrumentsLoaded.eventType,
        PositionSnapshotRequested.eventType, PositionSyncCompleted.eventType,
    ]

    // MARK: reading

    public var keys: [PositionKey] { records.keys.sorted() }

    public func view(_ key: PositionKey) -> PositionView? { records[key].map(view) }

    public var positions: [PositionView] { keys.map { view(records[$0]!) } }

    /// Whether our fill with this execution id was folded.
    public func hasExecution(category: String, symbol: String, execId: String) -> Bool {
        seenExecutions.contains("\(category)/\(symbol)/\(execId)")
    }

    /// The exchange time of the latest execution folded in a category, for fetching executions since.
    public private(set) var lastExecutionMs: [String: Int64] = [:]

    public var openDiscrepancies: [PositionKey] { keys.filter { records[$0]!.openDiscrepancy } }

    // MARK: the fold

    /// Folds one event; returns what it derives.
    public mutating func apply(_ e: RecordedEvent) -> [DerivedPositionEvent] { apply(e, prices: nil) }

    /// The same, with a ticker's prices already read from `e` by the caller (a replay reads
    /// them once for both folds); nil reads them here.
    public mutating func apply(_ e: RecordedEvent, prices: StoredTickerPrices?) -> [DerivedPositionEvent] {
        var reading = PayloadReading()
        return apply(e, prices: prices, reading: &reading)
    }

    /// The same, reading the payload through `reading` (shared with the other folds of `e`).
    public mutating func apply(_ e: RecordedEvent, prices: StoredTickerPrices?,
                               reading: inout PayloadReading) -> [DerivedPositionEvent] {
        position = max(position, e.globalPosition)
        guard Self.foldedTypes.contains(e.type) else { return [] }
        var ticker: (category: String, symbol: String)?
        if e.type == TickerUpdated.eventType {
            // Most of the log's tickers concern no position: skip them before decoding.
            guard let t = interest[e.stream] else { return [] }
            ticker = t
        }
        let t = e.metadata.exchangeTime ?? e.metadata.receiveTime ?? e.recordedAt
        let now = max(clock ?? t, t)
        clock = now
        var out = Emitter(cause: e, now: now)
        snapshotIfDue(now: now, into: &out)

        // A ticker of a market with a position: only its prices are read.
        if ticker != nil, let p = prices ?? StoredTickerPrices(event: e) {
            mark(p.category, p.symbol, spot: ticker?.category == "spot", last: p.lastPrice, mark: p.markPrice)
            flush(now: now, into: &out)
            return out.events
        }
        let payload: (any EventPayload)?
        if e.type == "ExchangeWalletSnapshot" {
            payload = try? TapeDecoder.decodeOrFallBack(ExchangeWalletUpdated.self, from: e.data)
        } else {
            payload = reading.payload(of: e, registry: registry)
        }
        switch payload {
        case let p as TickerUpdated:
            mark(p.category, p.symbol, spot: ticker?.category == "spot", last: p.lastPrice, mark: p.markPrice)
        case let p as ExchangeExecution:
            fill(p.execution, kind: nil, into: &out)
        case let p as ExchangeNonTradeExecution:
            if p.execution.execType == "Funding" {
                funding(p.execution, into: &out)
            } else {
                fill(p.execution, kind: p.execution.execType ?? "NonTrade", into: &out)
            }
        case let p as ExchangePositionUpdated:
            exchangeFrame(p, into: &out)
        case let p as ExchangeWalletUpdated:
            wallet = p
            portfolioDirty = true
        case let p as ExchangeOrderUpdated:
            if let idx = p.positionIdx, idx != 0 { positionIdxByOrder[p.orderId] = idx }
        case let p as OrderRequested:
            strategyByLink[p.orderLinkId] = (p.strategyID, p.signalID, p.traceID)
        case let p as InstrumentsLoaded:
            for i in p.instruments { instruments["\(i.category.rawValue)/\(i.symbol)"] = i }
        case let p as PositionSnapshotRequested:
            emitSnapshot(id: "r-\(p.requestID)", trigger: "request", time: now, into: &out)
        case let p as PositionSyncCompleted:
            syncCompleted(p, into: &out)
        case nil:
            undecodable += 1
            lastUndecodable = "\(e.type) at log position \(e.globalPosition)"
        default:
            skipped += 1
        }
        flush(now: now, into: &out)
        return out.events
    }

    /// `market.{category}.ticker-{SYMBOL}`, the gateway's stream of a market's tickers.
    mutating func interested(_ category: String, _ symbol: String) {
        interest["market.\(category).ticker-\(symbol)"] = (category, symbol)
    }

    // MARK: inputs

    mutating func record(_ key: PositionKey) -> PositionRecord {
        if let r = records[key] { return r }
        let quote = instruments["\(key.category)/\(key.symbol)"]?.quoteCoin ?? Self.quoteCoin(of: key.symbol)
        let base = instruments["\(key.category)/\(key.symbol)"]?.baseCoin ?? String(key.symbol.dropLast(quote.count))
        let r = PositionRecord(key: key, quoteCoin: quote, baseCoin: base)
        records[key] = r
        interested(key.category, key.symbol)
        if quote != "USDT" {
            interested("linear", "\(quote)USDT")
            interested("spot", "\(quote)USDT")
        }
        return r
    }

    static func quoteCoin(of symbol: String) -> String {
        ["USDT", "USDC", "USDE", "BTC", "ETH", "EUR", "BRL"].first { symbol.hasSuffix($0) && symbol.count > $0.count }
            ?? (symbol.hasSuffix("PERP") ? "USDC" : "USDT")
    }

    /// A ticker's price as the mark: spot marks at the last price, derivatives at the mark price (else the last).
    mutating func mark(_ category: String, _ symbol: String, spot: Bool, last: Decimal?, mark: Decimal?) {
        if let m = spot ? last : (mark ?? last) { setMark(category: category, symbol: symbol, m) }
    }

    mutating func setMark(category: String, symbol: String, _ mark: Decimal) {
        let k = MarketName(category, symbol)
        guard marks[k] != mark else { return }
        marks[k] = mark
        for (key, r) in records where key.category == category && key.symbol == symbol && !r.ledger.isFlat {
            markDirty.insert(key)
            portfolioDirty = true
        }
    }

    mutating func fill(_ x: ExecutionReport, kind: String?, into out: inout Emitter) {
        let category = x.category ?? "linear"
        guard category == "linear" || category == "spot", let qty = x.execQty, qty > 0, let price = x.execPrice, price > 0,
              let side = x.side, side == "Buy" || side == "Sell" else {
            skipped += 1
            return
        }
        guard seenExecutions.insert("\(category)/\(x.symbol)/\(x.execId)").inserted else { return }
        executionsFolded += 1
        noteExecutionTime(category, x.execTime)
        let idx = x.orderId.flatMap { positionIdxByOrder[$0] } ?? 0
        let key = PositionKey(category: category, symbol: x.symbol, positionIdx: idx)
        var r = record(key)
        var fee = x.execFee ?? 0
        for extra in x.extraFees ?? [] where extra.feeCoin == nil || extra.feeCoin == x.feeCurrency { fee += extra.fee ?? 0 }
        let buy = side == "Buy"
        // The coins the holding gains or loses. A spot buy pays its fee in the base coin: it
        // receives `qty − fee` (Bybit's wallet and the simulator's alike); a base-coin fee on a
        // sale leaves with the sold coins. The fee itself counts at the fill's price, so the
        // holding's cost is what its coins cost and PnL counts the fee once.
        var moved = qty
        if category == "spot", let coin = x.feeCurrency, coin == r.baseCoin {
            let held = buy ? ExactDecimal.difference(qty, fee) : ExactDecimal.sum(qty, fee)
            moved = max(held, 0)
            fee = ExactDecimal.product(fee, price)
        }
        let attribution = x.orderLinkId.flatMap { strategyByLink[$0] }
        let strategy = attribution?.strategy ?? (kind.map { "exchange:\($0)" } ?? Self.external)
        // A spot holding is never short: a sale of more than the log bought sells coins held
        // from outside it (a balance from before the log began, a deposit). They join the
        // holding as the external strategy's, at the sale's price (their cost is unknown), and
        // are then sold: the sale realizes nothing on them, and the strategies' shares still
        // sum to the holding.
        if category == "spot", !buy, moved > r.ledger.signedSize {
            let outside = ExactDecimal.difference(moved, max(r.ledger.signedSize, 0))
            r.ledger.hold(outside, at: price)
            r.strategies[Self.external, default: PositionLedger()].hold(outside, at: price)
        }
        if category == "linear", r.adopted(x) {
            // A fill the exchange's position already held when a sync adopted it (its WebSocket
            // copy came late, or it happened while the sync read the exchange): the size stays,
            // its fee and its closing PnL (Bybit's execPnl) count. The adoption booked it to the
            // external share: it moves to its strategy's, the external share giving it back at
            // its own entry (realizing nothing).
            r.ledger.countFill(fee: fee, closedPnl: x.execPnl ?? 0)
            var ext = r.strategies[Self.external, default: PositionLedger()]
            let returning = ext.signedSize != 0 && (ext.signedSize > 0) == buy
            ext.fill(buy: !buy, qty: moved, price: returning ? (ext.averageEntryPrice ?? price) : price, fee: 0)
            r.strategies[Self.external] = ext
        } else {
            r.ledger.fill(buy: buy, qty: moved, price: price, fee: fee)
        }
        r.strategies[strategy, default: PositionLedger()].fill(buy: buy, qty: moved, price: price, fee: fee)
        if let m = x.markPrice, m > 0 { marks[MarketName(category, x.symbol)] = m }
        records[key] = r
        reconcile(key, now: out.now, into: &out)
        emitPosition(key, reason: "fill", into: &out, correlation: attribution?.signal, trace: attribution?.trace)
        portfolioDirty = true
    }

    mutating func funding(_ x: ExecutionReport, into out: inout Emitter) {
        let category = x.category ?? "linear"
        guard category == "linear", let amount = x.execFee else {
            skipped += 1
            return
        }
        guard seenExecutions.insert("\(category)/\(x.symbol)/\(x.execId)").inserted else { return }
        executionsFolded += 1
        noteExecutionTime(category, x.execTime)
        // The open position of the symbol the payment is for (in hedge mode, the side's).
        let open = records.values.filter { $0.key.category == category && $0.key.symbol == x.symbol && !$0.ledger.isFlat }
            .map(\.key).sorted()
        let wanted = x.side == "Sell" ? 2 : 1
        let key = open.first { $0.positionIdx == wanted } ?? open.first ?? PositionKey(category: category, symbol: x.symbol)
        var r = record(key)
        r.ledger.payFunding(amount)
        // Shared by the strategies in proportion to their signed sizes (they sum to the position).
        let holders = r.strategies.keys.sorted().filter { r.strategies[$0]!.signedSize != 0 }
        if holders.isEmpty || r.ledger.signedSize == 0 {
            r.strategies[Self.external, default: PositionLedger()].payFunding(amount)
        } else {
            var left = amount
            for (i, s) in holders.enumerated() {
                let share = i == holders.count - 1 ? left : amount * r.strategies[s]!.signedSize / r.ledger.signedSize
                r.strategies[s]!.payFunding(share)
                left -= share
            }
        }
        records[key] = r
        emitPosition(key, reason: "funding", into: &out)
        portfolioDirty = true
    }

    mutating func noteExecutionTime(_ category: String, _ ms: Int64?) {
        guard let ms else { return }
        lastExecutionMs[category] = max(lastExecutionMs[category] ?? ms, ms)
    }

    mutating func exchangeFrame(_ p: ExchangePositionUpdated, into out: inout Emitter) {
        let category = p.category ?? "linear"
        guard category == "linear" else {
            skipped += 1
            return
        }
        let key = PositionKey(category: category, symbol: p.symbol, positionIdx: p.positionIdx ?? 0)
        var r = record(key)
        let size = p.size ?? 0
        let signed = p.side == "Sell" ? -size : (p.side == "Buy" ? size : 0)
        let figures = ExchangePositionFigures(
            side: signed == 0 ? "None" : p.side!, signedSize: signed, entryPrice: signed == 0 ? nil : p.entryPrice,
            markPrice: p.markPrice, unrealisedPnl: p.unrealisedPnl, cumRealisedPnl: p.cumRealisedPnl,
            liqPrice: p.liqPrice, leverage: p.leverage, seq: p.seq,
            updatedTime: p.updatedTime.map { Timestamp(millisecondsSinceEpoch: $0) })
        let before = r.exchange
        r.exchange = figures
        // A sequence below the one a sync saw, in a frame newer than what it saw: the exchange's
        // sequence started over (a new account or venue on the same log), so that sync's mark
        // says nothing about new fills. (An older frame arriving late is not that.)
        if let s = p.seq, s >= 0, let a = r.adoptedSeq, s < a, let u = p.updatedTime, let through = r.adoptedThroughMs, u > through {
            r.adoptedSeq = nil
            r.adoptedThroughMs = nil
        }
        records[key] = r
        if let m = p.markPrice, m > 0 { setMark(category: category, symbol: p.symbol, m) }
        let wasOpen = r.openDiscrepancy
        reconcile(key, now: out.now, into: &out)
        // Mark, unrealized PnL, times and sequence change on every frame; only the rest is news.
        func essentials(_ f: ExchangePositionFigures?) -> [Decimal?] {
            [f?.signedSize, f?.entryPrice, f?.cumRealisedPnl, f?.liqPrice, f?.leverage]
        }
        if essentials(before) != essentials(figures) || before == nil || wasOpen != records[key]!.openDiscrepancy {
            emitPosition(key, reason: "exchange", into: &out)
        }
    }

    mutating func syncCompleted(_ p: PositionSyncCompleted, into out: inout Emitter) {
        let listed = Set(p.positions)
        for key in keys where p.categories.contains(key.category) && key.category == "linear" {
            var r = records[key]!
            if !listed.contains(key.description), r.exchange == nil || r.exchange!.signedSize != 0 {
                r.exchange = ExchangePositionFigures(side: "None", signedSize: 0, leverage: r.exchange?.leverage)
                records[key] = r
            }
            // What the sync saw: fills not past it are in its size (ours once adopted or matched).
            if listed.contains(key.description), let ex = r.exchange {
                r.adoptedSeq = ex.seq
                r.adoptedThroughMs = ex.updatedTime.map { $0.microsecondsSinceEpoch / 1000 }
            } else {
                r.adoptedSeq = nil
                r.adoptedThroughMs = p.positionsAsOfMs
            }
            records[key] = r
            guard let ex = r.exchange, let field = difference(r) else {
                reconcile(key, now: out.now, into: &out)
                continue
            }
            if !r.openDiscrepancy { out.add(PositionEvents.stream(key), discrepancy(r, field: field, since: r.pendingSince ?? out.now, now: out.now)) }
            let before = r.ledger
            let diff = ex.signedSize - before.signedSize
            if diff != 0 {
                let price = ex.entryPrice ?? marks[MarketName(key.category, key.symbol)] ?? before.averageEntryPrice ?? 0
                r.strategies[Self.external, default: PositionLedger()].fill(buy: diff > 0, qty: abs(diff), price: price, fee: 0)
            }
            r.ledger.adopt(signedSize: ex.signedSize, entryPrice: ex.entryPrice)
            r.openDiscrepancy = false
            r.pendingSince = nil
            records[key] = r
            pending.remove(key)
            out.add(PositionEvents.stream(key), PositionDiscrepancyResolved(
                category: key.category, symbol: key.symbol, positionIdx: key.positionIdx, resolution: "adopted_exchange",
                ourSignedSize: before.signedSize, ourEntryPrice: before.averageEntryPrice, exchangeSignedSize: ex.signedSize,
                exchangeEntryPrice: ex.entryPrice, syncID: p.syncID, time: out.now))
            emitPosition(key, reason: "sync", into: &out)
            portfolioDirty = true
        }
    }

    // MARK: discrepancies

    /// Which figure differs beyond the instrument's step: the size by half a quantity step or
    /// more, or (same size, both open) the entry price by more than a tick.
    func difference(_ r: PositionRecord) -> String? {
        guard let ex = r.exchange else { return nil }
        let rules = instruments["\(r.key.category)/\(r.key.symbol)"]
        let step = rules?.quantityStep ?? 0
        let d = abs(r.ledger.signedSize - ex.signedSize)
        if d > 0 && d * 2 >= step { return "size" }
        if !r.ledger.isFlat, let ours = r.ledger.averageEntryPrice, let theirs = ex.entryPrice, theirs > 0 {
            let tick = rules?.tickSize ?? theirs / 10_000
            if abs(ours - theirs) > tick { return "entry_price" }
        }
        return nil
    }

    mutating func reconcile(_ key: PositionKey, now: Timestamp, into out: inout Emitter) {
        guard var r = records[key] else { return }
        if difference(r) != nil {
            if r.pendingSince == nil { r.pendingSince = now }
            pending.insert(key)
        } else {
            r.pendingSince = nil
            pending.remove(key)
            if r.openDiscrepancy, let ex = r.exchange {
                r.openDiscrepancy = false
                out.add(PositionEvents.stream(key), PositionDiscrepancyResolved(
                    category: key.category, symbol: key.symbol, positionIdx: key.positionIdx, resolution: "matched",
                    ourSignedSize: r.ledger.signedSize, ourEntryPrice: r.ledger.averageEntryPrice,
                    exchangeSignedSize: ex.signedSize, exchangeEntryPrice: ex.entryPrice, syncID: nil, time: now))
            }
        }
        records[key] = r
    }

    func discrepancy(_ r: PositionRecord, field: String, since: Timestamp, now: Timestamp) -> PositionDiscrepancy {
        let rules = instruments["\(r.key.category)/\(r.key.symbol)"]
        return PositionDiscrepancy(
            category: r.key.category, symbol: r.key.symbol, positionIdx: r.key.positionIdx, field: field,
            ourSignedSize: r.ledger.signedSize, ourEntryPrice: r.ledger.averageEntryPrice,
            exchangeSignedSize: r.exchange?.signedSize ?? 0, exchangeEntryPrice: r.exchange?.entryPrice,
            quantityStep: rules?.quantityStep ?? 0, tickSize: rules?.tickSize ?? 0, since: since, time: now)
    }

    // MARK: output

    /// After each event: discrepancies past their grace, coalesced mark updates, the portfolio.
    mutating func flush(now: Timestamp, into out: inout Emitter) {
        for key in pending.sorted() {
            guard var r = records[key], !r.openDiscrepancy, let since = r.pendingSince, let field = difference(r),
                  (now.microsecondsSinceEpoch - since.microsecondsSinceEpoch) / 1000 >= config.discrepancyGraceMs else { continue }
            r.openDiscrepancy = true
            records[key] = r
            out.add(PositionEvents.stream(key), discrepancy(r, field: field, since: since, now: now))
            emitPosition(key, reason: "discrepancy", into: &out)
        }
        if config.markIntervalMs > 0 {
            for key in markDirty.sorted() {
                guard let r = records[key] else { continue }
                if r.ledger.isFlat {
                    markDirty.remove(key)
                } else if Self.elapsed(since: r.lastEmitted, now: now, atLeastMs: config.markIntervalMs) {
                    emitPosition(key, reason: "mark", into: &out)
                }
            }
        } else {
            markDirty.removeAll()
        }
        if portfolioDirty, Self.elapsed(since: lastPortfolioAt, now: now, atLeastMs: config.portfolioIntervalMs) {
            portfolioDirty = false
            lastPortfolioAt = now
            portfolioVersion += 1
            out.add(PositionEvents.portfolioStream, PortfolioUpdated(time: now, version: portfolioVersion, portfolio: portfolio))
        }
    }

    static func elapsed(since: Timestamp?, now: Timestamp, atLeastMs ms: Int64) -> Bool {
        guard let since else { return true }
        return now.microsecondsSinceEpoch - since.microsecondsSinceEpoch >= ms * 1000
    }

    mutating func emitPosition(_ key: PositionKey, reason: String, into out: inout Emitter,
                               correlation: String? = nil, trace: String? = nil) {
        guard var r = records[key] else { return }
        r.version += 1
        r.lastEmitted = out.now
        records[key] = r
        markDirty.remove(key)
        out.add(PositionEvents.stream(key), PositionUpdated(reason: reason, time: out.now, version: r.version, position: view(r)),
                correlation: correlation, trace: trace)
    }

    mutating func snapshotIfDue(now: Timestamp, into out: inout Emitter) {
        guard config.snapshotIntervalMs > 0 else { return }
        let ms = now.microsecondsSinceEpoch / 1000
        let slot = ms / config.snapshotIntervalMs
        defer { lastSnapshotSlot = slot }
        guard let last = lastSnapshotSlot, slot > last, !records.isEmpty || wallet != nil else { return }
        let at = slot * config.snapshotIntervalMs
        emitSnapshot(id: "t\(at)", trigger: "interval", time: Timestamp(millisecondsSinceEpoch: at), into: &out)
    }

    func emitSnapshot(id: String, trigger: String, time: Timestamp, into out: inout Emitter) {
        out.add(PositionEvents.snapshotStream(id), PositionSnapshotCreated(
            snapshotID: id, trigger: trigger, time: time, positions: positions, portfolio: portfolio))
    }

    // MARK: views

    func view(_ r: PositionRecord) -> PositionView {
        let mark = marks[MarketName(r.key.category, r.key.symbol)]
        let l = r.ledger
        let unrealized = mark.map { l.unrealizedPnl(mark: $0) } ?? 0
        let price = mark ?? l.averageEntryPrice ?? 0
        return PositionView(
            category: r.key.category, symbol: r.key.symbol, positionIdx: r.key.positionIdx,
            side: l.signedSize > 0 ? "Buy" : (l.signedSize < 0 ? "Sell" : "None"), size: l.size, signedSize: l.signedSize,
            averageEntryPrice: l.averageEntryPrice, markPrice: mark, unrealizedPnl: unrealized, realizedPnl: l.realizedPnl,
            closedPnl: l.closedPnl, fees: l.fees, funding: l.funding, totalPnl: ExactDecimal.sum(l.realizedPnl, unrealized),
            notional: ExactDecimal.product(l.size, price), quoteCoin: r.quoteCoin, leverage: r.exchange?.leverage,
            liquidationPrice: r.exchange.flatMap { $0.signedSize == 0 ? nil : $0.liqPrice }, exchange: r.exchange,
            discrepancy: r.openDiscrepancy, fills: l.fills,
            strategies: r.strategies.keys.sorted().map { s in
                let x = r.strategies[s]!
                return StrategyShare(strategyID: s, signedSize: x.signedSize, averageEntryPrice: x.averageEntryPrice,
                                     realizedPnl: x.realizedPnl, unrealizedPnl: mark.map { x.unrealizedPnl(mark: $0) } ?? 0,
                                     fees: x.fees, funding: x.funding, fills: x.fills)
            })
    }

    /// USDT per unit of `coin`, from the marks; nil when unknown.
    func usdtRate(_ coin: String) -> Decimal? {
        coin == "USDT" ? 1 : (marks[MarketName("linear", "\(coin)USDT")] ?? marks[MarketName("spot", "\(coin)USDT")])
    }

    public var portfolio: PortfolioView {
        var p = PortfolioView(
            accountType: wallet?.accountType, unrealizedPnl: 0, spotUnrealizedPnl: 0, realizedPnl: 0, fees: 0, funding: 0,
            totalPnl: 0, grossExposure: 0, netExposure: 0, openPositions: 0, unconverted: [], coins: [], strategies: [])
        var strategies: [String: StrategyPnL] = [:]
        var unrealizedByCoin: [String: Decimal] = [:]
        for key in keys {
            let r = records[key]!
            let v = view(r)
            if key.category != "spot" { add(&unrealizedByCoin[r.quoteCoin, default: 0], v.unrealizedPnl) }
            guard let rate = usdtRate(r.quoteCoin) else {
                p.unconverted.append(key.description)
                continue
            }
            // USDT figures as they are: `x * 1` is `x`, bit for bit, and skipping it saves a
            // Foundation multiplication (which allocates) per figure.
            let usdt = r.quoteCoin == "USDT"
            func converted(_ x: Decimal) -> Decimal { usdt ? x : ExactDecimal.product(x, rate) }
            if key.category == "spot" { add(&p.spotUnrealizedPnl, converted(v.unrealizedPnl)) } else { add(&p.unrealizedPnl, converted(v.unrealizedPnl)) }
            add(&p.realizedPnl, converted(v.realizedPnl))
            add(&p.fees, converted(v.fees))
            add(&p.funding, converted(v.funding))
            if !r.ledger.isFlat {
                p.openPositions += 1
                add(&p.grossExposure, converted(v.notional))
                add(&p.netExposure, converted(v.signedSize < 0 ? -v.notional : v.notional))
            }
            for s in v.strategies {
                var a = strategies[s.strategyID] ?? StrategyPnL(strategyID: s.strategyID, realizedPnl: 0, unrealizedPnl: 0, fees: 0,
                                                                 funding: 0, totalPnl: 0, fills: 0)
                add(&a.realizedPnl, converted(s.realizedPnl))
                add(&a.unrealizedPnl, converted(s.unrealizedPnl))
                add(&a.fees, converted(s.fees))
                add(&a.funding, converted(s.funding))
                a.totalPnl = ExactDecimal.sum(a.realizedPnl, a.unrealizedPnl)
                a.fills += s.fills
                strategies[s.strategyID] = a
            }
        }
        p.totalPnl = ExactDecimal.sum(ExactDecimal.sum(p.realizedPnl, p.unrealizedPnl), p.spotUnrealizedPnl)
        p.strategies = strategies.keys.sorted().map { strategies[$0]! }
        if let w = wallet {
            let balance = w.totalWalletBalance ?? w.coin.reduce(Decimal(0)) { ExactDecimal.sum($0, $1.usdValue ?? 0) }
            p.walletBalance = balance
            p.equity = ExactDecimal.sum(balance, p.unrealizedPnl)
            p.exchangeEquity = w.totalEquity
            p.coins = w.coin.sorted { $0.coin < $1.coin }.map { c in
                CoinView(coin: c.coin, walletBalance: c.walletBalance ?? 0,
                         equity: ExactDecimal.sum(c.walletBalance ?? 0, unrealizedByCoin[c.coin] ?? 0))
            }
        }
        return p
    }

    /// `x += y`, through ``ExactDecimal`` (the same bits as Foundation's `+`).
    private func add(_ x: inout Decimal, _ y: Decimal) {
        x = ExactDecimal.sum(x, y)
    }
}

/// A market: a category and a symbol (the key of the marks, hashed without building a
/// `category/symbol` String on every ticker).
struct MarketName: Hashable, Sendable {
    var category: String
    var symbol: String

    init(_ category: String, _ symbol: String) {
        self.category = category
        self.symbol = symbol
    }
}

/// Collects the derived events of one input event, each with an id from the cause and its index.
struct Emitter {
    let cause: RecordedEvent
    let now: Timestamp
    var events: [DerivedPositionEvent] = []

    init(cause: RecordedEvent, now: Timestamp) {
        self.cause = cause
        self.now = now
    }

    mutating func add<P: EventPayload>(_ stream: String, _ payload: P, correlation: String? = nil, trace: String? = nil) {
        let id = DeterministicID.derived(from: cause.eventID.lowercasedString, index: events.count, kind: "position-manager")
        let metadata = EventMetadata(correlationID: correlation ?? cause.metadata.correlationID, causationID: cause.eventID.lowercasedString,
                                     traceID: trace ?? cause.metadata.traceID, source: PositionEvents.source, receiveTime: now)
        // The payloads are plain values (no NaN can arise: every division is by a non-zero size).
        guard let event = try? NewEvent(eventID: id, payload: payload, metadata: metadata) else { return }
        events.append(DerivedPositionEvent(stream: stream, event: event))
    }
}
