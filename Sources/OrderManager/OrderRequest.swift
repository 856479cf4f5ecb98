import Bybit
import BybitClient
import EventLog
import Foundation
import OrderManagerCore
import TradelogCore

/// One request to the exchange, built from its intent event.
public enum OrderRequest: Sendable {
    case create(OrderRequested)
    case amend(OrderAmendRequested)
    case cancel(OrderCancelRequested)

    /// The request an intent event asks for; nil for other events.
    public init?(_ e: NewEvent) {
        switch e.type {
        case OrderRequested.eventType:
            guard let p = Self.payload(OrderRequested.self, e) else { return nil }
            self = .create(p)
        case OrderAmendRequested.eventType:
            guard let p = Self.payload(OrderAmendRequested.self, e) else { return nil }
            self = .amend(p)
        case OrderCancelRequested.eventType:
            guard let p = Self.payload(OrderCancelRequested.self, e) else { return nil }
            self = .cancel(p)
        default: return nil
        }
    }

    /// The payload the event was made from when it holds it (the decider's intents do), else its data read.
    static func payload<P: EventPayload>(_ type: P.Type, _ e: NewEvent) -> P? {
        if e.schemaVersion == P.schemaVersion, let held = e.payload as? P { return held }
        return try? TapeDecoder.decodeOrFallBack(P.self, from: e.data)
    }

    public var orderLinkId: String {
        switch self {
        case .create(let r): return r.orderLinkId
        case .amend(let r): return r.orderLinkId
        case .cancel(let r): return r.orderLinkId
        }
    }

    public var action: OrderAction {
        switch self {
        case .create: return .create
        case .amend: return .amend
        case .cancel: return .cancel
        }
    }

    /// The signal that caused the request, if any (re-prices and timeout cancels have none).
    public var signalID: String? {
        switch self {
        case .create(let r): return r.signalID
        case .amend(let r): return r.signalID
        case .cancel(let r): return r.signalID
        }
    }

    /// The amend's index, for an amend.
    public var amendIndex: Int? {
        if case .amend(let a) = self { return a.amendIndex }
        return nil
    }

    var category: RESTCategory {
        switch self {
        case .create(let r): return r.category
        case .amend(let r): return r.category
        case .cancel(let r): return r.category
        }
    }

    var symbol: String {
        switch self {
        case .create(let r): return r.symbol
        case .amend(let r): return r.symbol
        case .cancel(let r): return r.symbol
        }
    }

    /// The create request of a recorded order (a resend at start).
    static func create(from r: OrderRecord) -> OrderRequest {
        .create(OrderRequested(
            orderLinkId: r.orderLinkId, signalID: r.signalID ?? "", strategyID: r.strategyID ?? "", traceID: r.traceID, leg: 0,
            category: r.category, symbol: r.symbol, side: r.side, orderType: r.orderType,
            timeInForce: r.timeInForce ?? (r.orderType == .market ? .ioc : .gtc), qty: r.qty, price: r.price,
            marketUnit: r.marketUnit, reduceOnly: r.reduceOnly, requestedAmount: r.requestedAmount ?? 0,
            referencePrice: r.referencePrice ?? 0, snapshotPrice: r.snapshotPrice, signalReceivedAt: r.signalReceivedAt,
            reason: "resent at start"))
    }
}

extension OrderManagerEngine {
    /// Sends one request and appends its outcome: accepted, rejected (`retCode`), or unknown
    /// (timeout, 5xx), the last settled at once by querying the order by `orderLinkId`.
    /// A rate-limit answer (10006) is retried twice after a pause: the same `orderLinkId`
    /// cannot place a second order.
    func execute(_ request: OrderRequest) async {
        let link = request.orderLinkId
        var attempt = 0
        while true {
            attempt += 1
            do {
                let ack: RESTOrderAck
                switch request {
                case .create(let r): ack = try await rest.createOrder(r.restRequest)
                case .amend(let r):
                    ack = try await rest.amendOrder(RESTAmendOrder(category: r.category, symbol: r.symbol, orderLinkId: link,
                                                                   qty: r.qty, price: r.price))
                case .cancel(let r):
                    ack = try await rest.cancelOrder(RESTCancelOrder(category: r.category, symbol: r.symbol, orderLinkId: link))
                }
                await record(OrderAccepted(orderLinkId: link, orderId: ack.orderId, action: request.action, via: "rest", exchangeStatus: nil,
                                           amendIndex: request.amendIndex),
                             link: link, kind: "accepted")
                return
            } catch let e as BybitAPIError where e.isRateLimit && attempt <= 2 {
                logger.warning("rate limited by Bybit; retrying with the same orderLinkId",
                               metadata: ["order.link_id": "\(link)", "attempt": "\(attempt)"])
                try? await Task.sleep(for: .milliseconds(250 * attempt))
            } catch let e as BybitAPIError where e.isDuplicateOrderLinkID && request.action == .create {
                // Placed before (a resend after a crash): settle by query.
                await settle(request, reason: "duplicate orderLinkId: \(e.message)")
                return
            } catch let e as BybitAPIError {
                await record(OrderRejected(orderLinkId: link, action: request.action, retCode: e.code, retMsg: e.message,
                                           amendIndex: request.amendIndex),
                             link: link, kind: "rejected")
                return
            } catch let e as BybitTransportError where !e.mayHaveBeenSent && attempt <= 2 {
                logger.warning("order request not sent; retrying", metadata: ["order.link_id": "\(link)", "error": "\(e)"])
                try? await Task.sleep(for: .milliseconds(250 * attempt))
            } catch {
                await record(OrderOutcomeUnknown(orderLinkId: link, action: request.action, reason: "\(error)", amendIndex: request.amendIndex),
                             link: link, kind: "unknown")
                await settle(request, reason: "\(error)")
                return
            }
        }
    }

    /// Finds out whether an order exists by its `orderLinkId` (open orders, then history).
    func query(_ category: RESTCategory, symbol: String, link: String) async throws -> RESTOrder? {
        if let o = try await rest.openOrders(category: category, symbol: symbol, orderLinkId: link).list.first { return o }
        return try await rest.orderHistory(category: category, symbol: symbol, orderLinkId: link).list.first
    }

    /// Settles an unknown outcome by querying; a failed query leaves it for the next sync.
    func settle(_ request: OrderRequest, reason: String) async {
        let link = request.orderLinkId
        do {
            if let o = try await query(request.category, symbol: request.symbol, link: link) {
                if request.action == .create {
                    await record(OrderAccepted(orderLinkId: link, orderId: o.orderId, action: .create, via: "query",
                                               exchangeStatus: o.orderStatus), link: link, kind: "settled")
                }
                await recordExchangeOrder(o, category: request.category)
                if case .amend(let a) = request {
                    await settleAmend(link: link, index: a.amendIndex, price: a.price, qty: a.qty, order: o, via: "query",
                                      notApplied: "not applied at the exchange after: \(reason)")
                }
            } else if request.action == .create {
                await record(OrderNotPlaced(orderLinkId: link, reason: "no order with this orderLinkId after: \(reason)"),
                             link: link, kind: "not-placed")
            }
        } catch {
            logger.warning("cannot settle an order yet; the next sync will", metadata: ["order.link_id": "\(link)", "error": "\(error)"])
        }
    }

    /// Appends an outcome event on the order's stream; a log failure is retried (the outcome is a fact).
    func record<E: EventPayload>(_ payload: E, link: String, kind: String) async {
        switch payload {
        case is OrderAccepted: counters.accepted += 1
        case is OrderRejected: counters.rejected += 1
        case is OrderOutcomeUnknown: counters.unknown += 1
        default: break
        }
        let rec = state.order(link)
        // Not folded yet (a create answered before its batch was folded): what was sent names it.
        let sent = rec == nil ? sentCreates[link] : nil
        guard let event = Self.outcomeEvent(payload, link: link, kind: kind, record: rec, at: clock(), sent: sent) else {
            logger.error("cannot build an order outcome event; the outcome is not logged",
                         metadata: ["order.link_id": "\(link)", "event.type": "\(E.eventType)", "outcome.kind": "\(kind)"])
            return
        }
        var delay = 100
        while !Task.isCancelled {
            do {
                _ = try await log.append(to: OrderEvents.stream(orderLinkId: link), [event])
                return
            } catch {
                logger.error("cannot log an order outcome; retrying", metadata: ["order.link_id": "\(link)", "error": "\(error)"])
                try? await Task.sleep(for: .milliseconds(delay))
                delay = min(delay * 2, 5000)
            }
        }
    }

    /// The event of one request's outcome, with an id from the order, the outcome's kind, the
    /// order's amend count and the time (so a replay on the same clock derives the same id),
    /// caused by the intent it answers.
    public static func outcomeEvent<E: EventPayload>(_ payload: E, link: String, kind: String, record rec: OrderRecord?,
                                                     at now: Timestamp) -> NewEvent? {
        outcomeEvent(payload, link: link, kind: kind, record: rec, at: now, sent: nil)
    }

    static func outcomeEvent<E: EventPayload>(_ payload: E, link: String, kind: String, record rec: OrderRecord?,
                                              at now: Timestamp, sent: SentIntent?) -> NewEvent? {
        let payload = eventSafe(payload)
        let version = rec?.amendCount ?? 0
        let id = DeterministicID.derived(from: "\(link)/\(kind)/\(E.eventType)/\(version)/\(now.microsecondsSinceEpoch)", kind: "outcome")
        // Caused by the intent it answers (the create's for a not-placed or expired order).
        let answered: (OrderAction, Int?) = switch payload {
        case let a as OrderAccepted: (a.action, a.amendIndex)
        case let r as OrderRejected: (r.action, r.amendIndex)
        case let u as OrderOutcomeUnknown: (u.action, u.amendIndex)
        default: (.create, nil)
        }
        let cause = rec?.intent(answering: answered.0, amendIndex: answered.1) ?? sent?.eventID
        let meta = EventMetadata(correlationID: rec?.signalID ?? sent?.signalID, causationID: cause?.lowercasedString,
                                 traceID: rec?.traceID ?? sent?.traceID, source: OrderEvents.source, receiveTime: now)
        return try? NewEvent(eventID: id, payload: payload, metadata: meta)
    }

    /// The outcome with its exchange-supplied text (`retMsg`, a reason quoting an error or a
    /// proxy's body, the exchange's status) made fit for the log: ``eventText(_:)``.
    static func eventSafe<E: EventPayload>(_ payload: E) -> E {
        switch payload {
        case var r as OrderRejected:
            r.retMsg = eventText(r.retMsg)
            return r as? E ?? payload
        case var u as OrderOutcomeUnknown:
            u.reason = eventText(u.reason)
            return u as? E ?? payload
        case var n as OrderNotPlaced:
            n.reason = eventText(n.reason)
            return n as? E ?? payload
        case var a as OrderAccepted:
            a.exchangeStatus = a.exchangeStatus.map(eventText)
            return a as? E ?? payload
        default:
            return payload
        }
    }

    /// Longest text, in UTF-8 bytes, kept from an exchange's message in an event.
    public static let eventTextLimit = 2048

    /// Text from outside (Bybit's `retMsg`, a proxy's body) as an event may hold it: without
    /// U+0000, which PostgreSQL's jsonb refuses (SQLSTATE 22P05, so the append would be
    /// retried forever), and cut to ``eventTextLimit`` bytes on a character boundary.
    public static func eventText(_ text: String) -> String {
        var out = text
        if text.unicodeScalars.contains("\u{0}") {
            var scalars = String.UnicodeScalarView()
            scalars.append(contentsOf: text.unicodeScalars.lazy.filter { $0 != "\u{0}" })
            out = String(scalars)
        }
        if out.utf8.count > eventTextLimit {
            let marker = "…"
            var kept = ""
            var bytes = 0
            for c in out {
                let n = c.utf8.count
                if bytes + n > eventTextLimit - marker.utf8.count { break }
                kept.append(c)
                bytes += n
            }
            out = kept + marker
        }
        return out
    }

    /// Whether the exchange's order shows an amend to `price` and `qty` (the total; nil: not
    /// changed) applied.
    static func amendLanded(price: Decimal?, qty: Decimal?, _ o: RESTOrder) -> Bool {
        guard price != nil || qty != nil else { return false }
        if let price, o.price != price { return false }
        if let qty, o.qty != qty { return false }
        return true
    }

    /// Settles an amend whose answer is unknown from the exchange's order `o`: accepted if the
    /// order shows it, else `OrderRejected` (`notApplied`), so the order no longer waits for it.
    /// An order already closed at the exchange needs neither (its update closes the record).
    func settleAmend(link: String, index: Int, price: Decimal?, qty: Decimal?, order o: RESTOrder, via: String,
                     notApplied: String) async {
        guard let s = OrderStatus(bybit: o.orderStatus), !s.isFinal else { return }
        if Self.amendLanded(price: price, qty: qty, o) {
            await record(OrderAccepted(orderLinkId: link, orderId: o.orderId, action: .amend, via: via, exchangeStatus: o.orderStatus,
                                       amendIndex: index), link: link, kind: "settled-amend")
        } else {
            await record(OrderRejected(orderLinkId: link, action: .amend, retCode: -1, retMsg: notApplied, amendIndex: index),
                         link: link, kind: "settled-amend")
        }
    }

    /// A REST view of an order as an `ExchangeOrderUpdated` event (sync and settlement), so
    /// the fold treats it like the private stream's frames.
    func recordExchangeOrder(_ o: RESTOrder, category: RESTCategory) async {
        let event: NewEvent
        do {
            event = try SyncEvents.orderUpdate(o, category: category, receiveTime: clock())
            _ = try await log.append(to: "exchange.order-\(o.orderId)", [event])
        } catch {
            // Not lost for good: the next sync queries the order again and records it.
            logger.warning("cannot log the exchange's view of an order; the next sync will",
                           metadata: ["order.id": "\(o.orderId)", "order.link_id": "\(o.orderLinkId)", "error": "\(error)"])
        }
    }
}
