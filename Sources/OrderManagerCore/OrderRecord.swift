import Bybit
import Foundation
import TradelogCore

/// One of our orders as the log tells it: the intent, the exchange's answers, its order
/// updates and executions. ``apply(_:)`` methods are the order state machine: tolerant of
/// repeated and out-of-order frames (a final status never reverts, cumulative figures
/// never go down, an execution is counted once by `execId`).
public struct OrderRecord: Codable, Hashable, Sendable {
    public var orderLinkId: String
    public var orderId: String?
    public var signalID: String?
    public var strategyID: String?
    public var traceID: String?
    public var category: RESTCategory
    public var symbol: String
    public var side: RESTSide
    public var orderType: RESTOrderType
    public var timeInForce: RESTTimeInForce?
    public var qty: Decimal
    public var price: Decimal?
    public var marketUnit: RESTMarketUnit?
    public var reduceOnly: Bool?
    public var requestedAmount: Decimal?
    public var referencePrice: Decimal?
    public var snapshotPrice: Decimal?
    public var signalReceivedAt: Timestamp?
    /// When the intent was logged (its receive or record time).
    public var requestedAt: Timestamp?
    public var status: OrderStatus
    /// The request whose answer is awaited, if any.
    public var pending: OrderAction?
    /// The id of the amend or cancel intent that set ``pending``, when one did.
    public var pendingIntent: UUID?
    /// The id of the `OrderRequested` the order was made from (the cause of the exchange's
    /// answers to the create).
    public var requestedEventID: UUID?
    public var cumExecQty: Decimal = 0
    public var cumExecValue: Decimal = 0
    public var cumFee: Decimal = 0
    public var feeCurrency: String?
    /// The exchange's own average price, when it gave one.
    public var exchangeAvgPrice: Decimal?
    /// The exchange's cumulative executed value (quote coin), when its order updates gave one.
    public var exchangeExecValue: Decimal?
    public var execIDs: [String] = []
    /// Sum over ``execIDs`` (the executions we saw), which may lag the order updates.
    public var execQty: Decimal = 0
    public var lastUpdatedTime: Int64?
    public var acceptedAt: Timestamp?
    public var firstFillAt: Timestamp?
    public var amendCount = 0
    public var repriceCount = 0
    /// Price and total qty of the amend awaiting its answer: the order's own once it is accepted,
    /// so the record knows the resting price even before the exchange's order update arrives.
    public var amendPrice: Decimal?
    public var amendQty: Decimal?
    /// When the amend awaiting its answer was logged (its receive or record time).
    public var amendRequestedAt: Timestamp?
    /// Since when the order has rested at its current price (ack or last amend), for re-pricing.
    public var lastRestingSince: Timestamp?
    public var reason: String?
    /// Creation order among our orders (the log position of the intent).
    public var sequence: Int64
    /// Placed by someone else (seen on the exchange, not in our intents).
    public var external = false

    public init(requested r: OrderRequested, at time: Timestamp?, sequence: Int64) {
        orderLinkId = r.orderLinkId
        signalID = r.signalID
        strategyID = r.strategyID
        traceID = r.traceID
        category = r.category
        symbol = r.symbol
        side = r.side
        orderType = r.orderType
        timeInForce = r.timeInForce
        qty = r.qty
        price = r.price
        marketUnit = r.marketUnit
        reduceOnly = r.reduceOnly
        requestedAmount = r.requestedAmount
        referencePrice = r.referencePrice
        snapshotPrice = r.snapshotPrice
        signalReceivedAt = r.signalReceivedAt
        requestedAt = time
        status = .requested
        pending = .create
        self.sequence = sequence
    }

    /// What an applied event changed.
    public struct Change: Hashable, Sendable {
        public var previous: OrderStatus
        public var statusChanged: Bool
        /// New executions (id, qty, price, fee, fee coin, maker, exchange time).
        public var fill: ExecutionReport?
    }

    /// Executed quantity: the larger of what the order updates and the executions say.
    public var executedQty: Decimal { max(cumExecQty, execQty) }

    /// Executed value in the quote coin: the largest of our executions' sum, the exchange's
    /// `cumExecValue` and its executed qty × average price (they lag each other).
    public var executedValue: Decimal {
        max(cumExecValue, exchangeExecValue ?? 0, cumExecQty * (exchangeAvgPrice ?? 0))
    }

    /// What is left to execute in the order's own unit: the quote coin for a spot market buy by
    /// quote amount (`marketUnit` quoteCoin, whose executed qty is in the base coin), else the base coin.
    public var remainingQty: Decimal {
        marketUnit == .quoteCoin ? max(0, qty - executedValue) : max(0, qty - executedQty)
    }

    /// What is left to execute valued in the quote coin (USDT): the quote amount left, or the
    /// base qty left × `price` (the caller's valuation price for the order).
    public func remainingNotional(price: Decimal) -> Decimal {
        marketUnit == .quoteCoin ? remainingQty : remainingQty * price
    }

    /// Average fill price: from our executions when we have them, else the exchange's.
    public var averagePrice: Decimal? {
        if execQty > 0 { return cumExecValue / execQty }
        return exchangeAvgPrice.flatMap { $0 > 0 ? $0 : nil }
    }

    /// Slippage of the average price against the signal's snapshot price, in bps; positive is worse.
    public var slippageBps: Decimal? {
        guard let avg = averagePrice, let snap = snapshotPrice, snap > 0 else { return nil }
        let raw = (avg - snap) / snap * 10_000
        return OrderRecord.rounded(side == .buy ? raw : -raw, scale: 4)
    }

    public var latencyToAckMs: Int64? { Self.millis(from: signalReceivedAt, to: acceptedAt) }
    public var latencyToFillMs: Int64? { Self.millis(from: signalReceivedAt, to: firstFillAt) }

    static func millis(from a: Timestamp?, to b: Timestamp?) -> Int64? {
        guard let a, let b else { return nil }
        return (b.microsecondsSinceEpoch - a.microsecondsSinceEpoch) / 1000
    }

    static func rounded(_ d: Decimal, scale: Int) -> Decimal {
        var v = d
        var r = Decimal()
        NSDecimalRound(&r, &v, scale, .plain)
        return r
    }

    mutating func setStatus(_ s: OrderStatus) -> Change {
        let previous = status
        if previous == s { return Change(previous: previous, statusChanged: false) }
        // A final status never reverts, except that exchange truth may finish an order we
        // thought lost (a late fill of a not-placed order) or fill a cancelled one.
        if previous.isFinal {
            let allowed = (previous == .notPlaced || previous == .expired || previous == .rejected) && !s.isFinal
                || previous == .cancelled && s == .filled
                || (previous == .notPlaced || previous == .expired) && s.isFinal
            if !allowed { return Change(previous: previous, statusChanged: false) }
        }
        status = s
        return Change(previous: previous, statusChanged: true)
    }

    // MARK: our requests and their answers

    public mutating func applyAccepted(_ a: OrderAccepted, at time: Timestamp?) -> Change {
        // The answer to an earlier amend than the last one requested: the exchange's order
        // updates tell what it did; the later amend is still awaited.
        if answersEarlierAmend(a.action, a.amendIndex) { return Change(previous: status, statusChanged: false) }
        orderId = a.orderId
        if pending == a.action { pending = nil }
        if a.action == .create, acceptedAt == nil { acceptedAt = time }
        if a.action == .create, lastRestingSince == nil { lastRestingSince = time }
        switch a.action {
        case .create:
            if status == .requested || status == .unknown || status == .notPlaced {
                if let ex = a.exchangeStatus, let s = OrderStatus(bybit: ex) { return setStatus(s) }
                return setStatus(.new)
            }
            return Change(previous: status, statusChanged: false)
        case .amend, .cancel:
            if a.action == .amend {
                lastRestingSince = time
                if let p = amendPrice, p > 0, orderType == .limit { price = p }
                if let q = amendQty, q > 0, status != .filled { qty = q }
                amendPrice = nil
                amendQty = nil
            }
            // The exchange's order updates tell the result; an accepted cancel is final even if its frame is late.
            if a.action == .cancel, !status.isFinal { return setStatus(.cancelled) }
            return Change(previous: status, statusChanged: false)
        }
    }

    public mutating func applyRejected(_ r: OrderRejected) -> Change {
        if answersEarlierAmend(r.action, r.amendIndex) { return Change(previous: status, statusChanged: false) }
        if pending == r.action { pending = nil }
        if r.action == .amend {
            amendPrice = nil
            amendQty = nil
        }
        reason = "\(r.retCode): \(r.retMsg)"
        if r.action == .create, status == .requested || status == .unknown { return setStatus(.rejected) }
        return Change(previous: status, statusChanged: false)
    }

    /// The log refused our `action` intent (an ``EventRefused`` stands in its place): it was
    /// never sent, so nothing is pending.
    public mutating func applyRefused(_ action: OrderAction, id: UUID) {
        // Not a later intent of the same kind (a cancel by hand after a refused timeout cancel).
        guard pending == action, pendingIntent == nil || pendingIntent == id else { return }
        pending = nil
        if action == .amend {
            amendPrice = nil
            amendQty = nil
        }
    }

    /// The intent an answer of `action` (with `amendIndex` for an amend) answers: the create's
    /// `OrderRequested`, or the amend or cancel intent awaiting its answer; nil when unknown.
    public func intent(answering action: OrderAction, amendIndex: Int? = nil) -> UUID? {
        switch action {
        case .create: return requestedEventID
        case .amend: return pending == .amend && !answersEarlierAmend(action, amendIndex) ? pendingIntent : nil
        case .cancel: return pending == .cancel ? pendingIntent : nil
        }
    }

    /// Whether an outcome of `action` names an amend other than the last one requested (an
    /// outcome without an index, from older events, answers the last one).
    public func answersEarlierAmend(_ action: OrderAction, _ index: Int?) -> Bool {
        guard action == .amend, let index else { return false }
        return index != amendCount
    }

    public mutating func applyUnknown(_ u: OrderOutcomeUnknown) -> Change {
        if answersEarlierAmend(u.action, u.amendIndex) { return Change(previous: status, statusChanged: false) }
        pending = u.action
        reason = u.reason
        if u.action == .create, status == .requested { return setStatus(.unknown) }
        return Change(previous: status, statusChanged: false)
    }

    public mutating func applyNotPlaced(_ n: OrderNotPlaced) -> Change {
        pending = nil
        reason = n.reason
        if status == .requested || status == .unknown { return setStatus(.notPlaced) }
        return Change(previous: status, statusChanged: false)
    }

    public mutating func applyExpired(_ e: OrderExpired) -> Change {
        pending = nil
        reason = "intent \(e.ageMs) ms old when it could be sent (max \(e.maxAgeMs) ms)"
        if status == .requested { return setStatus(.expired) }
        return Change(previous: status, statusChanged: false)
    }

    /// Idempotent: an amend index already seen changes nothing.
    /// - Parameters:
    ///   - id: the intent's event id; `at`: when it was logged.
    public mutating func applyAmendRequested(_ a: OrderAmendRequested, id: UUID? = nil, at: Timestamp? = nil) {
        guard a.amendIndex > amendCount else { return }
        amendCount = a.amendIndex
        pending = .amend
        pendingIntent = id
        amendPrice = a.price
        amendQty = a.qty
        amendRequestedAt = at
        if a.reason == "unfilled_timeout" { repriceCount += 1 }
    }

    public mutating func applyCancelRequested(_ c: OrderCancelRequested, id: UUID? = nil) {
        guard !status.isFinal else { return }
        pending = .cancel
        pendingIntent = id
    }

    // MARK: the exchange's frames

    /// An `order` update. Older updates (by `updatedTime`) than the last applied leave the status alone.
    public mutating func applyExchange(_ u: ExchangeOrderUpdated) -> Change {
        if orderId == nil { orderId = u.orderId }
        if let q = u.cumExecQty, q > cumExecQty { cumExecQty = q }
        if let v = u.cumExecValue, v > (exchangeExecValue ?? 0) { exchangeExecValue = v }
        if let avg = u.avgPrice, avg > 0, u.cumExecQty.map({ $0 >= cumExecQty }) ?? true { exchangeAvgPrice = avg }
        if let fee = u.cumExecFee, execIDs.isEmpty, fee > cumFee { cumFee = fee }
        if let q = u.qty, q > 0, status != .filled { qty = q }
        if let p = u.price, p > 0, orderType == .limit { price = p }
        if acceptedAt == nil, status == .requested || status == .unknown { pending = pending == .create ? nil : pending }
        let stale = lastUpdatedTime.map { (u.updatedTime ?? Int64.max) < $0 } ?? false
        if let t = u.updatedTime, !stale { lastUpdatedTime = t }
        guard let raw = u.orderStatus, let s = OrderStatus(bybit: raw) else { return Change(previous: status, statusChanged: false) }
        if s == .rejected, let r = u.rejectReason, !r.isEmpty, r != "EC_NoError" { reason = r }
        if s == .cancelled, let c = u.cancelType, !c.isEmpty, c != "UNKNOWN" { reason = c }
        if stale && !s.isFinal { return Change(previous: status, statusChanged: false) }
        // Never step back from partially filled to new.
        if s == .new, status == .partiallyFilled { return Change(previous: status, statusChanged: false) }
        if s.isFinal || s == .partiallyFilled { pending = nil }
        return setStatus(s)
    }

    /// A fill. Counted once per `execId`; sets partially filled or filled from the quantities.
    public mutating func applyExecution(_ e: ExecutionReport, at time: Timestamp?) -> Change {
        guard !execIDs.contains(e.execId), let q = e.execQty, q > 0, let p = e.execPrice else {
            return Change(previous: status, statusChanged: false)
        }
        if orderId == nil { orderId = e.orderId }
        execIDs.append(e.execId)
        execQty += q
        cumExecValue += q * p
        if execIDs.count == 1 { cumFee = 0 }
        cumFee += e.execFee ?? 0
        if feeCurrency == nil { feeCurrency = e.feeCurrency }
        if firstFillAt == nil { firstFillAt = time }
        let filled = executedQty >= qty && marketUnit != .quoteCoin
            || (e.leavesQty.map { $0 == 0 } ?? false)
        var change = status == .filled ? Change(previous: status, statusChanged: false)
            : setStatus(filled ? .filled : (status == .cancelled ? .cancelled : .partiallyFilled))
        change.fill = e
        return change
    }
}
