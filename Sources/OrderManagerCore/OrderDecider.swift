import Bybit
import Foundation
import Signals
import TradelogCore

/// What the order manager does with one received signal: the events to append with its
/// `SignalReceived` (atomically), and the requests to send once they are durable.
public struct SignalDecision: Sendable {
    public var events: [(stream: String, event: NewEvent)] = []
    /// `orderLinkId`s and actions to send, in order (cancels before amends before creates).
    public var requests: [(action: OrderAction, orderLinkId: String)] = []
    /// The refusal or denial code, if the signal led to no request.
    public var refusal: String?
}

/// The pure decision for a signal (issue items 1–5): validation, risk, order type, size and
/// the open-order policy, against the state folded from the log.
public enum OrderDecider {
    public static func decide(_ s: TradingSignal, receivedEventID: UUID, receivedAt: Timestamp,
                              state: OrderManagerState) -> SignalDecision {
        var d = SignalDecision()
        let cause = receivedEventID.lowercasedString
        var index = 0
        func metadata() -> EventMetadata {
            EventMetadata(correlationID: s.signalID, causationID: cause, traceID: s.traceID, source: OrderEvents.source,
                          receiveTime: receivedAt)
        }
        func add<E: EventPayload>(_ stream: String, _ payload: E, kind: String) {
            let id = DeterministicID.derived(from: cause, index: index, kind: kind)
            index += 1
            d.events.append((stream, try! NewEvent(eventID: id, payload: payload, metadata: metadata())))
        }
        let signalStream = SignalEvents.stream(signalID: s.signalID)
        let side: RESTSide = s.signalType == .buy ? .buy : .sell

        if let r = SignalValidator.validate(s, receivedAt: receivedAt, state: state) {
            add(signalStream, SignalRefused(signalID: s.signalID, strategyID: s.strategyID, asset: s.asset, reason: r.code,
                                            detail: r.detail, figures: r.figures), kind: "refused")
            d.refusal = r.code
            return d
        }
        func deny(_ r: Refusal) -> SignalDecision {
            add(signalStream, OrderDenied(signalID: s.signalID, strategyID: s.strategyID, asset: s.asset, side: side,
                                          code: r.code, detail: r.detail, figures: r.figures), kind: "denied")
            d.refusal = r.code
            return d
        }
        if let r = RiskManager.preCheck(s, receivedAt: receivedAt, state: state) { return deny(r) }

        let category = state.config.category(of: s.asset)
        let rules = state.instrument(category, s.asset)!
        if let r = RiskManager.unitCheck(rules: rules) { return deny(r) }
        let book = state.market.book(category, s.asset)
        let ticker = state.market.ticker(category, s.asset)
        let snapshot = s.marketDataSnapshot
        guard let reference = ReferencePricer.reference(side: side, book: book, ticker: ticker,
                                                        tickerLast: state.market.lastPrice(category, s.asset),
                                                        snapshotPrice: snapshot?.price) else {
            return deny(Refusal("no_reference_price", "no book, ticker or snapshot price for \(s.asset)"))
        }
        if reference.source == .snapshot, !state.config.allowSnapshotReference {
            return deny(Refusal("no_market_price", "no book or ticker from the exchange for \(s.asset): the signal's snapshot price "
                                + "\(reference.price) does not size an order (TRADELOG_OM_SNAPSHOT_REFERENCE=true allows it)",
                                ["snapshot_price": "\(reference.price)"]))
        }
        let spread = ReferencePricer.spreadBps(book: book, ticker: ticker, snapshotSpread: snapshot?.spread, snapshotPrice: snapshot?.price)
        var type = OrderTypeSelector.select(side: side, confidence: s.confidence, volatility: snapshot?.volatility, spreadBps: spread,
                                            book: book, ticker: ticker, tickSize: rules.tickSize, thresholds: state.config.orderTypes)
        let price = type.orderType == .limit ? (type.price ?? reference.price) : reference.price
        var sizingAmount = s.amount
        var reduceOnly: Bool?
        var reduceFigures: [String: String] = [:]

        // REDUCE_ONLY: only orders that shrink the current position. Our resting orders on the same
        // side reduce it too (and a same-side amend adds to one of them), so all of them together
        // with the new quantity must stay within the position.
        if state.tradingState == .reduceOnly {
            let held: Decimal = category == .linear ? state.account.positions[s.asset]?.signedSize ?? 0
                : state.account.balance[rules.baseCoin] ?? 0
            let reduces = held > 0 && side == .sell || held < 0 && side == .buy && category == .linear
            guard reduces else {
                return deny(Refusal("reduce_only", "trading is REDUCE_ONLY and a \(side.rawValue) does not reduce the \(s.asset) position",
                                    ["position": "\(held)", "trading_state": TradingState.reduceOnly.rawValue]))
            }
            // (A reducing side is never a spot buy, so no quote-coin amount is converted here.)
            let covering = state.restingQty(category: category, symbol: s.asset, side: side, price: price)
            let available = max(0, abs(held) - covering)
            reduceFigures = ["position": "\(held)", "resting_reduce_qty": "\(covering)", "reduce_available_qty": "\(available)",
                             "trading_state": TradingState.reduceOnly.rawValue]
            guard available > 0 else {
                return deny(Refusal("reduce_only_covered", "trading is REDUCE_ONLY and our resting \(side.rawValue) orders on "
                                    + "\(s.asset) (\(covering)) already cover the position \(held)", reduceFigures))
            }
            // Valued at the price the size is computed with: a limit below the reference must not outgrow the position.
            sizingAmount = min(sizingAmount, available * price)
            if category == .linear { reduceOnly = true }
        }

        let sized: SizedOrder
        switch QuantityCalculator.size(amount: sizingAmount, side: side, orderType: type.orderType, price: price, rules: rules) {
        case .success(let o): sized = o
        case .failure(let f): return deny(Refusal(f.code, f.detail, f.figures.merging(reduceFigures) { mine, _ in mine }))
        }
        if type.orderType == .market { type.price = nil }

        let resting = state.openOrders(category: category, symbol: s.asset).map {
            RestingOrder(orderLinkId: $0.orderLinkId, side: $0.side, orderType: $0.orderType, qty: $0.qty,
                         leavesQty: $0.remainingQty, price: $0.price,
                         settled: $0.pending == nil && $0.status != .requested && $0.status != .unknown, sequence: $0.sequence,
                         reduceOnly: $0.reduceOnly == true)
        }
        let actions = OpenOrderPolicy.decide(side: side, orderType: type.orderType, qty: sized.qty, price: type.price,
                                             resting: resting, maxQty: rules.maxOrderQty, reduceOnly: reduceOnly == true)
        if case .refuse(let code, let detail) = actions.first {
            return deny(Refusal(code, detail, ["resting_orders": "\(resting.count)"]))
        }
        let cancelled = Set(actions.compactMap { if case .cancel(let l, _) = $0 { return l } else { return nil } })
        let creates = actions.contains { if case .create = $0 { return true } else { return false } }
        let baseQty = sized.marketUnit == .quoteCoin ? sized.qty / sized.price : sized.qty
        var (risk, figures) = RiskManager.check(side: side, notional: sized.notional, baseQty: baseQty, creates: creates,
                                                rules: rules, price: sized.price, state: state, cancelled: cancelled)
        if let risk { return deny(risk) }
        figures.merge(reduceFigures) { risk, _ in risk }

        var steps: [OrderDecided.Step] = []
        var later: [(String, any EventPayload, String)] = []
        for a in actions {
            switch a {
            case .cancel(let link, let reason):
                steps.append(.init(action: .cancel, orderLinkId: link, reason: reason))
                later.append((OrderEvents.stream(orderLinkId: link),
                              OrderCancelRequested(orderLinkId: link, category: category, symbol: s.asset, signalID: s.signalID, reason: reason),
                              "cancel"))
                d.requests.append((.cancel, link))
            case .amend(let link, let qty, let newPrice, let reason):
                steps.append(.init(action: .amend, orderLinkId: link, reason: reason))
                let amendIndex = (state.order(link)?.amendCount ?? 0) + 1
                later.append((OrderEvents.stream(orderLinkId: link),
                              OrderAmendRequested(orderLinkId: link, category: category, symbol: s.asset, amendIndex: amendIndex,
                                                  qty: qty, price: newPrice, signalID: s.signalID, reason: reason), "amend"))
                d.requests.append((.amend, link))
            case .create(let reason):
                let link = OrderEvents.orderLinkID(signalID: s.signalID, leg: 0)
                steps.append(.init(action: .create, orderLinkId: link, reason: reason))
                later.append((OrderEvents.stream(orderLinkId: link), OrderRequested(
                    orderLinkId: link, signalID: s.signalID, strategyID: s.strategyID, traceID: s.traceID, leg: 0,
                    category: category, symbol: s.asset, side: side, orderType: type.orderType, timeInForce: type.timeInForce,
                    qty: sized.qty, price: type.price, marketUnit: sized.marketUnit, reduceOnly: reduceOnly,
                    requestedAmount: s.amount, referencePrice: reference.price, snapshotPrice: snapshot?.price,
                    signalReceivedAt: receivedAt, reason: reason), "create"))
                d.requests.append((.create, link))
            case .refuse: break
            }
        }
        add(signalStream, OrderDecided(
            signalID: s.signalID, strategyID: s.strategyID, asset: s.asset, category: category, side: side,
            orderType: type.orderType, orderTypeReason: type.reason, referencePrice: reference.price,
            referenceSource: reference.source, qty: sized.qty, notional: sized.notional, steps: steps, riskFigures: figures,
            basisPosition: state.position), kind: "decided")
        for (stream, payload, kind) in later { addAny(stream, payload, kind: kind, into: &d, cause: cause, index: &index, metadata: metadata()) }
        return d
    }

    static func addAny(_ stream: String, _ payload: any EventPayload, kind: String, into d: inout SignalDecision, cause: String,
                       index: inout Int, metadata: EventMetadata) {
        let id = DeterministicID.derived(from: cause, index: index, kind: kind)
        index += 1
        d.events.append((stream, try! NewEvent(eventID: id, payload: payload, metadata: metadata)))
    }
}
