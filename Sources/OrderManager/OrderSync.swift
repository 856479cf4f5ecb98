import Bybit
import BybitClient
import EventLog
import Foundation
import OrderManagerCore
import TradelogCore

/// REST views turned into the private stream's event types, so sync differences fold like frames
/// (the position manager's sync uses them too).
public enum SyncEvents {
    public static let source = "order-manager:sync"

    static func orderUpdate(_ o: RESTOrder, category: RESTCategory, receiveTime: Timestamp) throws -> NewEvent {
        var f: [String: Any] = [
            "category": category.rawValue, "symbol": o.symbol, "orderId": o.orderId, "orderLinkId": o.orderLinkId,
            "side": o.side, "orderType": o.orderType, "orderStatus": o.orderStatus, "qty": "\(o.qty)",
            "createdTime": o.createdTime, "updatedTime": o.updatedTime,
        ]
        func put(_ k: String, _ d: Decimal?) { if let d { f[k] = "\(d)" } }
        put("price", o.price)
        put("avgPrice", o.avgPrice)
        put("leavesQty", o.leavesQty)
        put("cumExecQty", o.cumExecQty)
        put("cumExecValue", o.cumExecValue)
        put("cumExecFee", o.cumExecFee)
        if let t = o.timeInForce { f["timeInForce"] = t }
        if let r = o.rejectReason { f["rejectReason"] = r }
        if let c = o.cancelType { f["cancelType"] = c }
        if let m = o.marketUnit { f["marketUnit"] = m }
        return try event(ExchangeOrderUpdated.self, f, name: "sync/order/\(o.orderId)/\(o.orderStatus)/\(o.updatedTime)/\(o.cumExecQty ?? 0)",
                         exchangeMs: o.updatedTime, receiveTime: receiveTime)
    }

    /// A fill as `ExchangeExecution`; any other `execType` (Funding, ...) as `ExchangeNonTradeExecution`.
    public static func execution(_ x: RESTExecution, category: RESTCategory, receiveTime: Timestamp,
                                 source: String = SyncEvents.source) throws -> NewEvent {
        var f: [String: Any] = [
            "category": category.rawValue, "symbol": x.symbol, "execId": x.execId, "orderId": x.orderId,
            "orderLinkId": x.orderLinkId, "side": x.side, "execType": x.execType, "execPrice": "\(x.execPrice)",
            "execQty": "\(x.execQty)", "execTime": x.execTime, "isMaker": x.isMaker,
        ]
        func put(_ k: String, _ d: Decimal?) { if let d { f[k] = "\(d)" } }
        put("execValue", x.execValue)
        put("execFee", x.execFee)
        put("feeRate", x.feeRate)
        put("leavesQty", x.leavesQty)
        put("orderPrice", x.orderPrice)
        put("orderQty", x.orderQty)
        put("closedSize", x.closedSize)
        put("execPnl", x.execPnl)
        if let c = x.feeCurrency { f["feeCurrency"] = c }
        if let t = x.orderType { f["orderType"] = t }
        if let s = x.seq { f["seq"] = s }
        let name = "sync/execution/\(x.symbol)/\(x.execId)"
        if x.execType != "Trade" {
            return try event(ExchangeNonTradeExecution.self, f, name: name, exchangeMs: x.execTime, receiveTime: receiveTime, source: source)
        }
        return try event(ExchangeExecution.self, f, name: name, exchangeMs: x.execTime, receiveTime: receiveTime, source: source)
    }

    /// A position from `/v5/position/list` as `ExchangePositionUpdated` (the `position` frame's
    /// payload); its exchange time is the position's `updatedTime`, else the receive time.
    public static func position(_ p: RESTPosition, category: RESTCategory, name: String, receiveTime: Timestamp,
                                source: String = SyncEvents.source) throws -> NewEvent {
        var f: [String: Any] = ["category": category.rawValue, "symbol": p.symbol, "side": p.side, "size": "\(p.size)",
                                "positionIdx": p.positionIdx]
        func put(_ k: String, _ d: Decimal?) { if let d { f[k] = "\(d)" } }
        put("entryPrice", p.avgPrice)
        put("markPrice", p.markPrice)
        put("leverage", p.leverage)
        put("liqPrice", p.liqPrice)
        put("positionValue", p.positionValue)
        put("unrealisedPnl", p.unrealisedPnl)
        put("curRealisedPnl", p.curRealisedPnl)
        put("cumRealisedPnl", p.cumRealisedPnl)
        if let s = p.seq { f["seq"] = s }
        if let u = p.updatedTime { f["updatedTime"] = u }
        return try event(ExchangePositionUpdated.self, f, name: name,
                         exchangeMs: p.updatedTime ?? receiveTime.microsecondsSinceEpoch / 1000, receiveTime: receiveTime, source: source)
    }

    /// The REST fields as the gateway's payload type (decoded, so it is checked the same way), with an id from `name`.
    public static func event<P: EventPayload>(_ type: P.Type, _ fields: [String: Any], name: String, exchangeMs: Int64,
                                              receiveTime: Timestamp, source: String = SyncEvents.source) throws -> NewEvent {
        let data = try JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys])
        let payload = try CanonicalJSON.decoder.decode(P.self, from: data)
        // A time out of range (the gateway's decoder drops those too) is the receive time.
        let exchangeTime = exchangeMs > 0 && exchangeMs < Int64.max / 1000 ? Timestamp(millisecondsSinceEpoch: exchangeMs) : receiveTime
        return try NewEvent(eventID: DeterministicID.derived(from: name, kind: "sync"), payload: payload,
                            metadata: EventMetadata(source: source, exchangeTime: exchangeTime, receiveTime: receiveTime))
    }
}

extension OrderManagerEngine {
    /// Loads the instruments of the categories the order manager trades, as events (the
    /// decisions read them from the log, so a replay decides the same).
    public func loadInstruments(categories: [RESTCategory]) async throws {
        for category in categories {
            let (stream, event) = try Self.instrumentsEvent(category: category, try await rest.instruments(category: category),
                                                            at: clock())
            _ = try await log.append(to: stream, [event])
        }
        try await follow()
    }

    /// `InstrumentsLoaded` of one category from the REST instruments (its id is the content's digest).
    public static func instrumentsEvent(category: RESTCategory, _ instruments: [RESTInstrument],
                                        at: Timestamp) throws -> (stream: String, event: NewEvent) {
        let rules = instruments.compactMap { InstrumentRules(category: category, $0) }.sorted { $0.symbol < $1.symbol }
        let payload = InstrumentsLoaded(category: category, instruments: rules)
        let data = try CanonicalJSON.encoder.encode(payload)
        let id = DeterministicID.derived(from: Digest.hex(Digest.sha256(Array(data))), kind: "instruments")
        let event = try NewEvent(eventID: id, payload: payload, metadata: EventMetadata(source: OrderEvents.source, receiveTime: at))
        return (OrderEvents.instrumentsStream(category), event)
    }

    /// Brings the log in line with the exchange (at start and on `POST /api/v1/sync`):
    /// settles every intent without an outcome (resending unsent young ones), records open
    /// orders' differences and orders placed elsewhere, and fetches executions.
    @discardableResult
    /// Executions are fetched from the last fill folded, or from when the gateway's reported
    /// drops began (``dropSyncFrom``, cleared once a sync covering it succeeds), whichever is earlier.
    public func sync(trigger: String, categories: [RESTCategory]) async throws -> OrderSyncCompleted {
        // One sync at a time: two would settle, and resend, the same intents.
        await lockSync()
        defer { unlockSync() }
        try await follow()
        let drops = pendingDrops.mark
        let executionsSinceMs = drops.fromMs
        var summary = OrderSyncCompleted(trigger: trigger, settledIntents: 0, resent: 0, openOrders: 0, external: 0,
                                         executionsFetched: 0, differences: 0)
        let now = clock()
        /// Sent at once: in flight from now on, so nothing else settles it meanwhile.
        func resend(_ request: OrderRequest) {
            summary.resent += 1
            dispatch([request])
        }
        // An order with a request in flight is left to its answer.
        for before in state.pendingOrders where requestsInFlight[before.orderLinkId] == nil {
            let found = try await query(before.category, symbol: before.symbol, link: before.orderLinkId)
            // The query awaited: an answer that came meanwhile is folded, and then the order is
            // no longer the one to settle.
            try await follow()
            guard let rec = state.order(before.orderLinkId), requestsInFlight[rec.orderLinkId] == nil,
                  rec.pending == before.pending, rec.pendingIntent == before.pendingIntent, rec.amendCount == before.amendCount,
                  rec.status == before.status else { continue }
            summary.settledIntents += 1
            if let o = found {
                if rec.status == .requested || rec.status == .unknown {
                    await record(OrderAccepted(orderLinkId: rec.orderLinkId, orderId: o.orderId, action: .create, via: "sync",
                                               exchangeStatus: o.orderStatus), link: rec.orderLinkId, kind: "sync")
                }
                await recordExchangeOrder(o, category: rec.category)
                summary.differences += 1
                if rec.pending == .cancel, let s = OrderStatus(bybit: o.orderStatus), !s.isFinal {
                    resend(.cancel(OrderCancelRequested(orderLinkId: rec.orderLinkId, category: rec.category,
                                                        symbol: rec.symbol, signalID: rec.signalID, reason: "resent by sync")))
                }
                // An amend with no answer: the order at the exchange tells whether it landed. One
                // that did not is resent while young (as a create is), else settled as not applied
                // (its price was the touch of then; the order is re-priced again when due).
                if rec.pending == .amend, let s = OrderStatus(bybit: o.orderStatus), !s.isFinal {
                    let age = (now.microsecondsSinceEpoch - (rec.amendRequestedAt ?? now).microsecondsSinceEpoch) / 1000
                    let resendable = rec.amendPrice != nil || rec.amendQty != nil
                    if resendable, !Self.amendLanded(price: rec.amendPrice, qty: rec.amendQty, o), age <= state.config.maxIntentAgeMs {
                        resend(.amend(OrderAmendRequested(
                            orderLinkId: rec.orderLinkId, category: rec.category, symbol: rec.symbol, amendIndex: rec.amendCount,
                            qty: rec.amendQty, price: rec.amendPrice, signalID: rec.signalID, reason: "resent by sync")))
                    } else {
                        await settleAmend(link: rec.orderLinkId, index: rec.amendCount, price: rec.amendPrice, qty: rec.amendQty,
                                          order: o, via: "sync", notApplied: "not applied at the exchange (settled by sync)")
                    }
                }
            } else if rec.status == .requested {
                let age = (now.microsecondsSinceEpoch - (rec.requestedAt ?? now).microsecondsSinceEpoch) / 1000
                if age <= state.config.maxIntentAgeMs {
                    resend(OrderRequest.create(from: rec))
                } else {
                    await record(OrderExpired(orderLinkId: rec.orderLinkId, ageMs: age, maxAgeMs: state.config.maxIntentAgeMs),
                                 link: rec.orderLinkId, kind: "expired")
                }
            } else if rec.status == .unknown {
                await record(OrderNotPlaced(orderLinkId: rec.orderLinkId, reason: "not found by sync"), link: rec.orderLinkId, kind: "sync")
            }
        }
        try await follow()
        for category in categories {
            let open = try await rest.allOpenOrders(category: category, settleCoin: category == .linear ? "USDT" : nil)
            summary.openOrders += open.count
            // Ours that the exchange no longer lists as open (their last update was lost, or came
            // while we were down): asked for one by one, their state recorded.
            let listed = Set(open.map(\.orderLinkId))
            for before in state.restingOrders where before.category == category && !listed.contains(before.orderLinkId)
                && before.pending == nil && requestsInFlight[before.orderLinkId] == nil {
                guard let o = try await query(category, symbol: before.symbol, link: before.orderLinkId) else { continue }
                // Folded again after the query: a frame or a request of meanwhile wins.
                try await follow()
                guard let rec = state.order(before.orderLinkId), rec.pending == nil, requestsInFlight[rec.orderLinkId] == nil,
                      OrderStatus(bybit: o.orderStatus) != rec.status || (o.cumExecQty ?? 0) != rec.executedQty else { continue }
                await recordExchangeOrder(o, category: category)
                summary.differences += 1
            }
            for o in open {
                if let rec = state.order(o.orderLinkId), !rec.external {
                    let differs = OrderStatus(bybit: o.orderStatus) != rec.status || (o.cumExecQty ?? 0) != rec.executedQty
                    if differs {
                        await recordExchangeOrder(o, category: category)
                        summary.differences += 1
                    }
                } else {
                    let ext = ExternalOrderObserved(
                        category: category, symbol: o.symbol, orderId: o.orderId, orderLinkId: o.orderLinkId.isEmpty ? nil : o.orderLinkId,
                        side: o.side, orderType: o.orderType, orderStatus: o.orderStatus, qty: o.qty, price: o.price,
                        cumExecQty: o.cumExecQty)
                    let id = DeterministicID.derived(from: "external/\(o.orderId)/\(o.orderStatus)/\(o.cumExecQty ?? 0)", kind: "external")
                    let event = try NewEvent(eventID: id, payload: ext, metadata: EventMetadata(source: SyncEvents.source, receiveTime: now))
                    let r = try await log.append(to: OrderEvents.externalStream(orderId: o.orderId), [event])
                    if r.appendedCount > 0 { summary.external += 1 }
                }
            }
            // Executions of ours since the last one seen.
            var since = state.lastExecutionTime(category: category).map { $0 - 1 }
            if let from = executionsSinceMs { since = min(since ?? from, from) }
            // Every page and 7-day window: fills missed while down may be more than one page.
            let fills = try await rest.allExecutions(category: category, startTime: since, nowMs: now.microsecondsSinceEpoch / 1000)
            summary.executionsFetched += fills.count
            var events: [StreamAppend] = []
            for x in fills where state.order(x.orderLinkId) != nil && !(state.order(x.orderLinkId)!.execIDs.contains(x.execId)) {
                events.append(StreamAppend(stream: "exchange.execution-\(x.orderId)",
                                           events: [try SyncEvents.execution(x, category: category, receiveTime: now)]))
            }
            if !events.isEmpty {
                let r = try await log.append(events)
                summary.differences += r.appendedCount
            }
        }
        // Covered, unless another report came during this sync (it reruns).
        pendingDrops.covered(drops)
        let id = DeterministicID.derived(from: "sync/\(trigger)/\(now.microsecondsSinceEpoch)", kind: "sync-completed")
        let event = try NewEvent(eventID: id, payload: summary, metadata: EventMetadata(source: OrderEvents.source, receiveTime: now))
        _ = try await log.append(to: "ordermanager.sync-\(now.microsecondsSinceEpoch / 1000)", [event])
        try await follow()
        return summary
    }
}
