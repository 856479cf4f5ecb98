import Bybit
import Foundation
import Signals
import TradelogCore

/// An event the fold asks its runner to append: a derived lifecycle or fill event, or a new
/// intent (a re-price or a timeout cancel). Ids derive from the cause, so appending twice stores once.
public struct DerivedEvent: Sendable {
    public var stream: String
    public var event: NewEvent
    /// Set for intents the runner must send to the exchange once durable.
    public var intent: OrderAction?
    public var orderLinkId: String
}

/// The order manager's state, a pure fold of the log (DESIGN invariant 5): orders, trading
/// state, instruments, market tops, wallet and positions, signal rates, daily PnL.
public struct OrderManagerState: Sendable {
    public var config: OrderManagerConfig
    public let registry: EventRegistry
    /// The last log position folded in order.
    public var position: Int64 = 0
    /// Events of a type the fold reads whose payload does not decode: the fold cannot use them
    /// (the engine logs each new one). How many, and the last.
    public private(set) var undecodable = 0
    public private(set) var lastUndecodable: String?
    public private(set) var tradingState: TradingState = .active
    public private(set) var instruments: [String: InstrumentRules] = [:]
    public private(set) var instrumentCategoriesLoaded: Set<RESTCategory> = []
    public var market = MarketView()
    public var account = AccountView()
    /// Our orders not final yet, by `orderLinkId`: what ``openOrders(category:symbol:)`` looks at
    /// on every book and ticker event, and what a decision batch's scratch copy of the state
    /// changes. Kept apart from `closedOrders`, which grows with the deployment's age: neither
    /// those checks nor that copy touch it.
    private var liveOrders: [String: OrderRecord] = [:]
    /// Our final orders (filled, cancelled, rejected, not placed, expired), by `orderLinkId`.
    private var closedOrders: [String: OrderRecord] = [:]
    private var linkByOrderID: [String: String] = [:]
    private var lastExecTime: [String: Int64] = [:]
    /// Receive times (µs) of recent signals per strategy.
    private var signalTimes: [String: [Int64]] = [:]
    /// Realized PnL less fees of our fills, per UTC day number.
    public private(set) var dailyRealized: (day: Int64, pnl: Decimal) = (0, 0)
    /// Our orders that have executions not yet matched to an intent (fills racing the ack).
    public private(set) var externalOrderIDs: Set<String> = []
    /// Timeout cancels the log refused for their contents (``EventRefused``): not derived again
    /// (the log would refuse the same event again; a refused amend's successor has a new id).
    public private(set) var refusedIntents: Set<UUID> = []

    public init(config: OrderManagerConfig) {
        self.config = config
        var r = EventRegistry()
        OrderEvents.register(&r)
        SignalEvents.register(&r)
        r.register(OrderBookUpdated.self)
        r.register(OrderBookInvalidated.self)
        r.register(TickerUpdated.self)
        r.register(ExchangeOrderUpdated.self)
        r.register(ExchangeExecution.self)
        r.register(ExchangePositionUpdated.self)
        r.register(ExchangeWalletUpdated.self)
        r.register(EventRefused.self)
        registry = r
    }

    /// The event types the fold reads; the rest of the log is skipped without decoding.
    public static let foldedTypes: Set<String> = [
        OrderBookUpdated.eventType, OrderBookInvalidated.eventType, TickerUpdated.eventType,
        ExchangeOrderUpdated.eventType, ExchangeExecution.eventType, ExchangePositionUpdated.eventType,
        ExchangeWalletUpdated.eventType, "ExchangeWalletSnapshot", SignalReceived.eventType, OrderRequested.eventType,
        OrderAmendRequested.eventType, OrderCancelRequested.eventType, OrderAccepted.eventType,
        OrderRejected.eventType, OrderOutcomeUnknown.eventType, OrderNotPlaced.eventType, OrderExpired.eventType,
        TradingStateChanged.eventType, InstrumentsLoaded.eventType, EventRefused.eventType,
    ]

    public func instrument(_ category: RESTCategory, _ symbol: String) -> InstrumentRules? {
        instruments["\(category.rawValue)/\(symbol)"]
    }

    public func order(_ linkId: String) -> OrderRecord? { liveOrders[linkId] ?? closedOrders[linkId] }

    /// Changes the record of `link` in place, wherever it is (nil when there is none), and keeps
    /// it with the live orders while it is not final, with the closed ones once it is.
    @discardableResult
    mutating func update<R>(_ link: String, _ change: (inout OrderRecord) -> R) -> R? {
        if liveOrders[link] != nil {
            let out = change(&liveOrders[link]!)
            if liveOrders[link]!.status.isFinal { closedOrders[link] = liveOrders.removeValue(forKey: link) }
            return out
        }
        if closedOrders[link] != nil {
            let out = change(&closedOrders[link]!)
            if !closedOrders[link]!.status.isFinal { liveOrders[link] = closedOrders.removeValue(forKey: link) }
            return out
        }
        return nil
    }

    /// Our orders on an asset that may rest at the exchange, oldest first.
    public func openOrders(category: RESTCategory, symbol: String) -> [OrderRecord] {
        // Called on every book and ticker event: only the live orders are looked at (not every
        // order the log ever held), in the order of their requests.
        var out: [OrderRecord] = []
        for r in liveOrders.values where r.status.isOpen && r.category == category && r.symbol == symbol && !r.external {
            out.append(r)
        }
        return out.sorted { $0.sequence < $1.sequence }
    }

    /// What our open orders on `side` of an asset have left to fill, in base units, except
    /// those in `excluding`. A quote-coin market buy has USDT left: counted at its own price,
    /// else at `price`.
    public func restingQty(category: RESTCategory, symbol: String, side: RESTSide, price: Decimal,
                           excluding: Set<String> = []) -> Decimal {
        openOrders(category: category, symbol: symbol)
            .filter { $0.side == side && !excluding.contains($0.orderLinkId) }
            .reduce(Decimal(0)) { sum, o in
                guard o.marketUnit == .quoteCoin else { return sum + o.remainingQty }
                let px = o.price ?? o.referencePrice ?? price
                return sum + (px > 0 ? o.remainingQty / px : 0)
            }
    }

    /// Every order waiting for an answer from the exchange, oldest first.
    public var pendingOrders: [OrderRecord] {
        // (Requested and unknown are not final: live orders only.)
        liveOrders.values.filter { $0.pending != nil || $0.status == .requested || $0.status == .unknown }
            .sorted { $0.sequence < $1.sequence }
    }

    /// The exchange time (ms) of our latest fill in a category, for fetching executions since.
    public func lastExecutionTime(category: RESTCategory) -> Int64? {
        lastExecTime[category.rawValue]
    }

    /// Our orders that may rest at the exchange, all instruments, oldest first.
    public var restingOrders: [OrderRecord] {
        liveOrders.values.filter { $0.status.isOpen && !$0.external }.sorted { $0.sequence < $1.sequence }
    }

    public var allOrders: [OrderRecord] { (Array(liveOrders.values) + closedOrders.values).sorted { $0.sequence < $1.sequence } }

    /// Signals of a strategy received in the 60 s up to `now` (µs).
    public func signalsInLastMinute(strategy: String, now: Int64) -> Int {
        (signalTimes[strategy] ?? []).filter { $0 > now - 60_000_000 && $0 <= now }.count
    }

    /// Realized loss today (positive number) as of `now` (µs).
    public func realizedLossToday(now: Int64) -> Decimal {
        dailyRealized.day == Self.day(now) ? max(0, -dailyRealized.pnl) : 0
    }

    static func day(_ micros: Int64) -> Int64 { micros / 86_400_000_000 }

    static func time(of e: RecordedEvent) -> Timestamp { e.metadata.receiveTime ?? e.recordedAt }

    // MARK: fold

    /// Folds one event; returns what it derives (lifecycle and fill events, re-price intents).
    public mutating func apply(_ e: RecordedEvent) -> [DerivedEvent] { apply(e, prices: nil) }

    /// The same, with a ticker's prices already read from `e` by the caller (a replay reads
    /// them once for both folds); nil reads them here.
    public mutating func apply(_ e: RecordedEvent, prices: StoredTickerPrices?) -> [DerivedEvent] {
        var reading = PayloadReading()
        return apply(e, prices: prices, reading: &reading)
    }

    /// The same, reading the payload through `reading` (shared with the other folds of `e`).
    public mutating func apply(_ e: RecordedEvent, prices: StoredTickerPrices?, reading: inout PayloadReading) -> [DerivedEvent] {
        // Every event read is folded, the types the fold skips too: the engine reads after this
        // position, so a batch of skipped events (trades, klines, the position manager's) that
        // left it behind would be read again, forever.
        defer { position = max(position, e.globalPosition) }
        // The gateway's REST wallet snapshot has the wallet frame's field names.
        if e.type == "ExchangeWalletSnapshot" {
            if let w = try? TapeDecoder.decodeOrFallBack(ExchangeWalletUpdated.self, from: e.data) { account.apply(w) }
            position = max(position, e.globalPosition)
            return []
        }
        // The two most frequent events, read without building their payloads: a book's levels
        // go straight into the book as keys, a ticker gives only its prices.
        var moved: (category: String, symbol: String)?
        if e.type == OrderBookUpdated.eventType, e.schemaVersion == OrderBookUpdated.schemaVersion,
           let book = StoredOrderBook(storedData: e.data) {
            market.apply(book)
            moved = (book.category, book.symbol)
        } else if let ticker = prices ?? StoredTickerPrices(event: e) {
            market.apply(ticker)
            moved = (ticker.category, ticker.symbol)
        }
        if let moved {
            let out = repriceDue(category: moved.category, symbol: moved.symbol, now: Self.time(of: e), cause: e)
            position = max(position, e.globalPosition)
            return out
        }
        guard Self.foldedTypes.contains(e.type) else { return [] }
        guard let payload = reading.payload(of: e, registry: registry) else {
            undecodable += 1
            lastUndecodable = "\(e.type) at log position \(e.globalPosition)"
            return []
        }
        let t = Self.time(of: e)
        var out: [DerivedEvent] = []
        switch payload {
        case let p as OrderBookUpdated:
            market.apply(p)
            out = repriceDue(category: p.category, symbol: p.symbol, now: t, cause: e)
        case let p as OrderBookInvalidated: market.invalidate(p)
        case let p as TickerUpdated:
            market.apply(p)
            out = repriceDue(category: p.category, symbol: p.symbol, now: t, cause: e)
        case let p as ExchangeWalletUpdated: account.apply(p)
        case let p as ExchangePositionUpdated: account.apply(p)
        case let p as SignalReceived:
            let now = t.microsecondsSinceEpoch
            var times = (signalTimes[p.signal.strategyID] ?? []).filter { $0 > now - 60_000_000 }
            times.append(now)
            signalTimes[p.signal.strategyID] = times
        case let p as TradingStateChanged: tradingState = p.state
        case let p as InstrumentsLoaded:
            instrumentCategoriesLoaded.insert(p.category)
            for i in p.instruments { instruments["\(i.category.rawValue)/\(i.symbol)"] = i }
        case let p as OrderRequested:
            if order(p.orderLinkId) == nil {
                var rec = OrderRecord(requested: p, at: t, sequence: e.globalPosition)
                rec.reason = p.reason
                rec.requestedEventID = e.eventID
                if rec.status.isFinal { closedOrders[p.orderLinkId] = rec } else { liveOrders[p.orderLinkId] = rec }
                out.append(lifecycle(rec, previous: nil, cause: e, reason: p.reason))
            }
        case let p as OrderAmendRequested:
            update(p.orderLinkId) { $0.applyAmendRequested(p, id: e.eventID, at: t) }
        case let p as OrderCancelRequested:
            update(p.orderLinkId) { $0.applyCancelRequested(p, id: e.eventID) }
        case let p as OrderAccepted:
            // A late answer to an earlier amend changes nothing, and says nothing.
            if order(p.orderLinkId)?.answersEarlierAmend(p.action, p.amendIndex) == true { break }
            if let c = update(p.orderLinkId, { $0.applyAccepted(p, at: t) }) {
                linkByOrderID[p.orderId] = p.orderLinkId
                if c.statusChanged || p.action == .amend { out.append(lifecycleOf(p.orderLinkId, c, cause: e, reason: "\(p.action.rawValue) accepted")) }
            }
        case let p as OrderRejected:
            if let c = update(p.orderLinkId, { $0.applyRejected(p) }), c.statusChanged {
                out.append(lifecycleOf(p.orderLinkId, c, cause: e, reason: "\(p.retCode): \(p.retMsg)"))
            }
        case let p as OrderOutcomeUnknown:
            if let c = update(p.orderLinkId, { $0.applyUnknown(p) }), c.statusChanged { out.append(lifecycleOf(p.orderLinkId, c, cause: e, reason: p.reason)) }
        case let p as OrderNotPlaced:
            if let c = update(p.orderLinkId, { $0.applyNotPlaced(p) }), c.statusChanged { out.append(lifecycleOf(p.orderLinkId, c, cause: e, reason: p.reason)) }
        case let p as OrderExpired:
            if let c = update(p.orderLinkId, { $0.applyExpired(p) }), c.statusChanged { out.append(lifecycleOf(p.orderLinkId, c, cause: e, reason: "expired")) }
        case let p as EventRefused:
            // A re-price or timeout cancel the log refused (recorded in its place): the order
            // is no longer waiting for it, so it is re-priced or cancelled again when due.
            let action: OrderAction? = p.type == OrderAmendRequested.eventType ? .amend
                : p.type == OrderCancelRequested.eventType ? .cancel : nil
            guard let action, let link = OrderEvents.orderLinkId(ofStream: p.stream) else { break }
            if action == .cancel { refusedIntents.insert(p.eventID) }
            update(link) { $0.applyRefused(action, id: p.eventID) }
        case let p as ExchangeOrderUpdated:
            guard let link = linkID(orderId: p.orderId, orderLinkId: p.orderLinkId) else { break }
            linkByOrderID[p.orderId] = link
            if let c = update(link, { $0.applyExchange(p) }), c.statusChanged {
                out.append(lifecycleOf(link, c, cause: e, reason: order(link)?.reason))
            }
        case let p as ExchangeExecution:
            let x = p.execution
            guard let link = linkID(orderId: x.orderId ?? "", orderLinkId: x.orderLinkId) else { break }
            if let c = update(link, { $0.applyExecution(x, at: t) }), let fill = c.fill, let category = order(link)?.category {
                addRealized(x, category: category, at: t)
                if let et = x.execTime { lastExecTime[fill.category ?? category.rawValue] = max(lastExecTime[fill.category ?? category.rawValue] ?? 0, et) }
                out.append(executed(link, fill, cause: e))
                out.append(lifecycleOf(link, c, cause: e, reason: nil))
            }
        default: break
        }
        position = max(position, e.globalPosition)
        return out
    }

    func linkID(orderId: String, orderLinkId: String?) -> String? {
        if let l = orderLinkId, !l.isEmpty, order(l) != nil { return l }
        if let l = linkByOrderID[orderId] { return l }
        return nil
    }

    mutating func addRealized(_ x: ExecutionReport, category: RESTCategory, at t: Timestamp) {
        let d = Self.day(t.microsecondsSinceEpoch)
        if dailyRealized.day != d { dailyRealized = (d, 0) }
        dailyRealized.pnl += (x.execPnl ?? 0) - Self.quoteFee(x, rules: instrument(category, x.symbol))
    }

    /// A fill's fee in the quote coin: a spot buy pays its fee in the base coin (valued at the
    /// fill's price); otherwise the fee is in the quote (settle) coin already.
    static func quoteFee(_ x: ExecutionReport, rules: InstrumentRules?) -> Decimal {
        let fee = x.execFee ?? 0
        guard let coin = x.feeCurrency, !coin.isEmpty, let rules, coin == rules.baseCoin, coin != rules.quoteCoin else { return fee }
        return fee * (x.execPrice ?? x.orderPrice ?? 0)
    }

    // MARK: re-pricing

    /// Resting limit orders of ours on this instrument, unfilled for ``OrderManagerConfig/repriceAfterMs``
    /// of event time since their ack or last amend: amended to the near touch, or cancelled after ``OrderManagerConfig/maxReprices``.
    /// A round whose touch equals the order's price sends nothing but counts (docs/order-policy.md §4).
    mutating func repriceDue(category: String, symbol: String, now: Timestamp, cause: RecordedEvent) -> [DerivedEvent] {
        guard let cat = RESTCategory(rawValue: category), config.repriceAfterMs > 0 else { return [] }
        var out: [DerivedEvent] = []
        for rec in openOrders(category: cat, symbol: symbol)
        where rec.orderType == .limit && rec.pending == nil && (rec.status == .new || rec.status == .partiallyFilled) {
            guard let since = rec.lastRestingSince,
                  now.microsecondsSinceEpoch - since.microsecondsSinceEpoch >= config.repriceAfterMs * 1000 else { continue }
            if rec.repriceCount < config.maxReprices {
                let top = market.book(cat, symbol) ?? market.ticker(cat, symbol)
                let touch = rec.side == .buy ? top?.bid : top?.ask
                guard let price = touch, price > 0 else { continue }
                if price == rec.price {
                    // Already at the touch: an amend to the same price changes nothing (the exchange
                    // refuses it as not modified) and costs a request. The order keeps its place; the
                    // round still counts toward maxReprices and restarts the timer, so an order that
                    // stays unfilled at the touch is still cancelled by the timeout (docs/order-policy.md §4).
                    update(rec.orderLinkId) { r in
                        r.repriceCount += 1
                        r.lastRestingSince = now
                    }
                    continue
                }
                let amend = OrderAmendRequested(
                    orderLinkId: rec.orderLinkId, category: cat, symbol: symbol, amendIndex: rec.amendCount + 1,
                    qty: nil, price: price, signalID: rec.signalID, reason: "unfilled_timeout")
                let id = DeterministicID.derived(from: rec.orderLinkId, index: rec.amendCount + 1, kind: "amend")
                guard let ev = try? NewEvent(eventID: id, payload: amend, metadata: meta(rec, cause: cause)) else { continue }
                update(rec.orderLinkId) { r in
                    r.applyAmendRequested(amend, id: id, at: now)
                    r.lastRestingSince = now
                }
                out.append(DerivedEvent(stream: OrderEvents.stream(orderLinkId: rec.orderLinkId), event: ev, intent: .amend,
                                        orderLinkId: rec.orderLinkId))
            } else {
                let cancel = OrderCancelRequested(orderLinkId: rec.orderLinkId, category: cat, symbol: symbol,
                                                  signalID: rec.signalID, reason: "unfilled_timeout")
                let id = DeterministicID.derived(from: rec.orderLinkId, index: 0, kind: "timeout-cancel")
                guard !refusedIntents.contains(id), let ev = try? NewEvent(eventID: id, payload: cancel, metadata: meta(rec, cause: cause)) else { continue }
                update(rec.orderLinkId) { $0.applyCancelRequested(cancel, id: id) }
                out.append(DerivedEvent(stream: OrderEvents.stream(orderLinkId: rec.orderLinkId), event: ev, intent: .cancel,
                                        orderLinkId: rec.orderLinkId))
            }
        }
        return out
    }

    // MARK: derived events

    func meta(_ rec: OrderRecord, cause: RecordedEvent) -> EventMetadata {
        EventMetadata(correlationID: rec.signalID, causationID: cause.eventID.lowercasedString, traceID: rec.traceID,
                      source: OrderEvents.source, receiveTime: Self.time(of: cause))
    }

    func lifecycleOf(_ link: String, _ c: OrderRecord.Change, cause: RecordedEvent, reason: String?) -> DerivedEvent {
        lifecycle(order(link)!, previous: c.previous, cause: cause, reason: reason)
    }

    func lifecycle(_ r: OrderRecord, previous: OrderStatus?, cause: RecordedEvent, reason: String?) -> DerivedEvent {
        let p = OrderLifecycleChanged(
            orderLinkId: r.orderLinkId, orderId: r.orderId, signalID: r.signalID, strategyID: r.strategyID, traceID: r.traceID,
            category: r.category, symbol: r.symbol, side: r.side, orderType: r.orderType, status: r.status,
            previousStatus: previous, cause: cause.type, reason: reason, requestedAmount: r.requestedAmount,
            requestedQty: r.qty, price: r.price, executedQty: r.executedQty, averagePrice: r.averagePrice, fees: r.cumFee,
            feeCurrency: r.feeCurrency, slippageBps: r.slippageBps, latencyToAckMs: r.latencyToAckMs,
            latencyToFillMs: r.latencyToFillMs)
        let id = DeterministicID.derived(from: cause.eventID.lowercasedString, index: 0, kind: "lifecycle:\(r.orderLinkId)")
        let ev = try! NewEvent(eventID: id, payload: p, metadata: meta(r, cause: cause))
        return DerivedEvent(stream: OrderEvents.stream(orderLinkId: r.orderLinkId), event: ev, intent: nil, orderLinkId: r.orderLinkId)
    }

    func executed(_ link: String, _ x: ExecutionReport, cause: RecordedEvent) -> DerivedEvent {
        let r = order(link)!
        let p = OrderExecuted(
            orderLinkId: link, orderId: r.orderId, execId: x.execId, signalID: r.signalID, strategyID: r.strategyID,
            traceID: r.traceID, category: r.category, symbol: r.symbol, side: r.side, execQty: x.execQty ?? 0,
            execPrice: x.execPrice ?? 0, execFee: x.execFee ?? 0, feeCurrency: x.feeCurrency, isMaker: x.isMaker,
            execTime: x.execTime, executedQty: r.executedQty, averagePrice: r.averagePrice, slippageBps: r.slippageBps,
            latencyToFillMs: r.latencyToFillMs)
        let id = DeterministicID.derived(from: cause.eventID.lowercasedString, index: 0, kind: "executed:\(link)")
        let ev = try! NewEvent(eventID: id, payload: p, metadata: meta(r, cause: cause))
        return DerivedEvent(stream: OrderEvents.stream(orderLinkId: link), event: ev, intent: nil, orderLinkId: link)
    }
}
