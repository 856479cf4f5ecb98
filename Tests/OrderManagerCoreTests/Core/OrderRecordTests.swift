import Bybit
import Foundation
import OrderManagerCore
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }
private typealias F = CoreFixtures

@Suite("OrderRecord: the order state machine")
struct OrderRecordTests {
    let link = "0123456789abcdef0123456789abcdef-0"

    func record(_ r: OrderRequested? = nil) -> OrderRecord {
        OrderRecord(requested: r ?? F.requested(link), at: F.at(1), sequence: 7)
    }

    @Test("intent → accepted → New → PartiallyFilled → Filled")
    func happyPath() throws {
        var r = record()
        #expect(r.status == .requested && r.pending == .create && r.sequence == 7)

        let acc = r.applyAccepted(F.accepted(link), at: F.at(12))
        #expect(acc.statusChanged && acc.previous == .requested && r.status == .new)
        #expect(r.pending == nil && r.orderId == "oid-1" && r.acceptedAt == F.at(12) && r.lastRestingSince == F.at(12))

        let new = r.applyExchange(try F.orderUpdate(link: link, status: "New", qty: "0.01", price: "50000", updatedTime: 1000))
        #expect(!new.statusChanged && r.status == .new)

        let pf = r.applyExchange(try F.orderUpdate(link: link, status: "PartiallyFilled", cumExecQty: "0.004", avgPrice: "50010",
                                                   updatedTime: 1001))
        #expect(pf.statusChanged && pf.previous == .new && r.status == .partiallyFilled && r.cumExecQty == num("0.004"))

        let e1 = r.applyExecution(try F.execution(link: link, execId: "e1", qty: "0.004", price: "50010", fee: "0.1", leavesQty: "0.006"),
                                  at: F.at(250))
        #expect(!e1.statusChanged && e1.fill?.execId == "e1" && r.status == .partiallyFilled)
        let e2 = r.applyExecution(try F.execution(link: link, execId: "e2", qty: "0.006", price: "50020", fee: "0.15", leavesQty: "0"),
                                  at: F.at(300))
        #expect(e2.statusChanged && e2.previous == .partiallyFilled && r.status == .filled && e2.fill?.execId == "e2")

        let filled = r.applyExchange(try F.orderUpdate(link: link, status: "Filled", cumExecQty: "0.01", avgPrice: "50016",
                                                       updatedTime: 1002))
        #expect(!filled.statusChanged && r.status == .filled)
        #expect(r.executedQty == num("0.01") && r.execQty == num("0.01"))
        // (0.004 × 50010 + 0.006 × 50020) / 0.01 = 50016.
        #expect(r.averagePrice == num("50016"))
        #expect(r.cumFee == num("0.25") && r.feeCurrency == "USDT")
        #expect(r.firstFillAt == F.at(250))
    }

    @Test("the intent an answer answers: the create's, the pending amend's (not an earlier amend's), the pending cancel's")
    func intentAnswered() throws {
        var r = record()
        let created = UUID()
        r.requestedEventID = created
        #expect(r.intent(answering: .create) == created)
        _ = r.applyAccepted(F.accepted(link), at: F.at(12))
        let amend1 = UUID(), amend2 = UUID(), cancel = UUID()
        r.applyAmendRequested(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1, qty: nil,
                                                  price: num("50100"), signalID: nil, reason: "test"), id: amend1)
        r.applyAmendRequested(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 2, qty: nil,
                                                  price: num("50200"), signalID: nil, reason: "test"), id: amend2)
        #expect(r.intent(answering: .amend, amendIndex: 2) == amend2)
        #expect(r.intent(answering: .amend, amendIndex: nil) == amend2, "an answer without an index answers the last")
        #expect(r.intent(answering: .amend, amendIndex: 1) == nil, "not the earlier amend's")
        #expect(r.intent(answering: .cancel) == nil, "no cancel pending")
        r.applyCancelRequested(OrderCancelRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", signalID: nil, reason: "test"),
                               id: cancel)
        #expect(r.intent(answering: .cancel) == cancel)
        #expect(r.intent(answering: .create) == created)
    }

    @Test("an execution repeated in a later frame is counted once (by execId)")
    func repeatedExecution() throws {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        let x = try F.execution(link: link, execId: "e1", qty: "0.004", price: "50000", fee: "0.1", leavesQty: "0.006")
        let first = r.applyExecution(x, at: F.at(20))
        let again = r.applyExecution(x, at: F.at(30))
        #expect(first.fill != nil && again.fill == nil && !again.statusChanged)
        #expect(r.execIDs == ["e1"] && r.execQty == num("0.004") && r.cumFee == num("0.1") && r.status == .partiallyFilled)
        #expect(r.firstFillAt == F.at(20))
    }

    @Test("a Filled update before the executions: filled once, executions add no quantity twice")
    func filledBeforeExecutions() throws {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        let f = r.applyExchange(try F.orderUpdate(link: link, status: "Filled", cumExecQty: "0.01", avgPrice: "50005",
                                                  cumExecFee: "0.3", updatedTime: 2000))
        #expect(f.statusChanged && r.status == .filled && r.executedQty == num("0.01"))
        #expect(r.averagePrice == num("50005") && r.cumFee == num("0.3"))

        let e1 = r.applyExecution(try F.execution(link: link, execId: "e1", qty: "0.004", price: "50000", fee: "0.1",
                                                  leavesQty: "0.006"), at: F.at(20))
        #expect(!e1.statusChanged && e1.fill != nil && r.status == .filled, "a late partial execution does not step back")
        let e2 = r.applyExecution(try F.execution(link: link, execId: "e2", qty: "0.006", price: "50010", fee: "0.2",
                                                  leavesQty: "0"), at: F.at(21))
        #expect(!e2.statusChanged && r.status == .filled)
        #expect(r.executedQty == num("0.01"), "the executions explain the update's quantity, they do not add to it")
        #expect(r.averagePrice == num("50006") && r.cumFee == num("0.3"))
    }

    @Test("an old New after PartiallyFilled does not step back")
    func oldNewAfterPartial() throws {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        _ = r.applyExchange(try F.orderUpdate(link: link, status: "PartiallyFilled", cumExecQty: "0.004", updatedTime: 2000))
        let stale = r.applyExchange(try F.orderUpdate(link: link, status: "New", cumExecQty: "0", updatedTime: 1500))
        #expect(!stale.statusChanged && r.status == .partiallyFilled && r.cumExecQty == num("0.004"))
        // Even with a later updatedTime, New never follows PartiallyFilled.
        let later = r.applyExchange(try F.orderUpdate(link: link, status: "New", updatedTime: 2500))
        #expect(!later.statusChanged && r.status == .partiallyFilled)
    }

    @Test("Cancelled, then a repeated New: a final status never reverts")
    func cancelledThenNew() throws {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        _ = r.applyExchange(try F.orderUpdate(link: link, status: "New", updatedTime: 1000))
        let c = r.applyExchange(try F.orderUpdate(link: link, status: "Cancelled", updatedTime: 3000, cancelType: "CancelByUser"))
        #expect(c.statusChanged && r.status == .cancelled && r.reason == "CancelByUser" && r.pending == nil)
        for (status, time) in [("New", Int64(1000)), ("New", 3000), ("New", 4000), ("PartiallyFilled", 5000), ("Rejected", 6000)] {
            let again = r.applyExchange(try F.orderUpdate(link: link, status: status, updatedTime: time))
            #expect(!again.statusChanged && r.status == .cancelled, "\(status) at \(time)")
        }
        // An accepted create repeated (a resend answered late) changes nothing either.
        #expect(!r.applyAccepted(F.accepted(link), at: F.at(50)).statusChanged && r.status == .cancelled)
    }

    @Test("rejected by REST: status rejected with retCode and message")
    func rejectedByREST() {
        var r = record()
        let c = r.applyRejected(OrderRejected(orderLinkId: link, action: .create, retCode: 110007, retMsg: "ab not enough for new order"))
        #expect(c.statusChanged && c.previous == .requested && r.status == .rejected)
        #expect(r.pending == nil && r.reason == "110007: ab not enough for new order" && r.status.isFinal && !r.status.isOpen)
        // A rejected amend of a live order leaves its status alone.
        var live = record()
        _ = live.applyAccepted(F.accepted(link), at: F.at(10))
        live.applyAmendRequested(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1, qty: nil,
                                                     price: num("50001"), signalID: nil, reason: "same_side_amend"))
        let amendRejected = live.applyRejected(OrderRejected(orderLinkId: link, action: .amend, retCode: 10001, retMsg: "too late"))
        #expect(!amendRejected.statusChanged && live.status == .new && live.pending == nil)
    }

    @Test("outcome unknown, then accepted via a query with the status found")
    func unknownThenQuery() {
        var r = record()
        let u = r.applyUnknown(OrderOutcomeUnknown(orderLinkId: link, action: .create, reason: "timeout"))
        #expect(u.statusChanged && r.status == .unknown && r.pending == .create && r.reason == "timeout" && r.status.isOpen)
        let q = r.applyAccepted(F.accepted(link, via: "query", exchangeStatus: "PartiallyFilled"), at: F.at(900))
        #expect(q.statusChanged && q.previous == .unknown && r.status == .partiallyFilled && r.pending == nil)
        #expect(r.orderId == "oid-1")
    }

    @Test("outcome unknown, then not placed")
    func unknownThenNotPlaced() {
        var r = record()
        _ = r.applyUnknown(OrderOutcomeUnknown(orderLinkId: link, action: .create, reason: "http 502"))
        let n = r.applyNotPlaced(OrderNotPlaced(orderLinkId: link, reason: "no order with this orderLinkId"))
        #expect(n.statusChanged && n.previous == .unknown && r.status == .notPlaced && r.pending == nil && r.status.isFinal)
        // A not-placed answer for an order already live is ignored.
        var live = record()
        _ = live.applyAccepted(F.accepted(link), at: F.at(10))
        #expect(!live.applyNotPlaced(OrderNotPlaced(orderLinkId: link, reason: "x")).statusChanged && live.status == .new)
    }

    @Test("a late fill of a not-placed order: exchange truth wins")
    func lateFillOfNotPlaced() throws {
        var r = record()
        _ = r.applyUnknown(OrderOutcomeUnknown(orderLinkId: link, action: .create, reason: "timeout"))
        _ = r.applyNotPlaced(OrderNotPlaced(orderLinkId: link, reason: "not found"))
        let e = r.applyExecution(try F.execution(link: link, execId: "late", qty: "0.01", price: "50000", leavesQty: "0"), at: F.at(5000))
        #expect(e.statusChanged && e.previous == .notPlaced && r.status == .filled && r.orderId == "oid-1")

        // The same through an order update: New revives it, then it fills.
        var r2 = record()
        _ = r2.applyUnknown(OrderOutcomeUnknown(orderLinkId: link, action: .create, reason: "timeout"))
        _ = r2.applyNotPlaced(OrderNotPlaced(orderLinkId: link, reason: "not found"))
        #expect(r2.applyExchange(try F.orderUpdate(link: link, status: "New", updatedTime: 10)).statusChanged && r2.status == .new)
        #expect(r2.applyExchange(try F.orderUpdate(link: link, status: "Filled", cumExecQty: "0.01", updatedTime: 11)).statusChanged)
        #expect(r2.status == .filled)
    }

    @Test("slippage in bps against the snapshot: positive is worse, buy and sell")
    func slippage() throws {
        var buy = record(F.requested(link, side: .buy, snapshot: "50000"))
        _ = buy.applyAccepted(F.accepted(link), at: F.at(12))
        _ = buy.applyExecution(try F.execution(link: link, execId: "b1", qty: "0.01", price: "50025", leavesQty: "0"), at: F.at(40))
        #expect(buy.slippageBps == num("5"), "bought 25 above 50 000: 5 bps worse")

        var better = record(F.requested(link, side: .buy, snapshot: "50000"))
        _ = better.applyExecution(try F.execution(link: link, execId: "b2", qty: "0.01", price: "49990", leavesQty: "0"), at: F.at(40))
        #expect(better.slippageBps == num("-2"))

        var sell = record(F.requested(link, side: .sell, price: "3000", snapshot: "3000"))
        _ = sell.applyExecution(try F.execution(link: link, execId: "s1", side: "Sell", qty: "0.01", price: "2997", leavesQty: "0"),
                                at: F.at(40))
        #expect(sell.slippageBps == num("10"), "sold 3 below 3 000: 10 bps worse")

        var rounded = record(F.requested(link, side: .sell, price: "3", snapshot: "3"))
        _ = rounded.applyExecution(try F.execution(link: link, execId: "s2", side: "Sell", qty: "0.01", price: "3.001", leavesQty: "0"),
                                   at: F.at(40))
        #expect(rounded.slippageBps == num("-3.3333"), "rounded to 4 places")

        let none = record(F.requested(link, snapshot: nil))
        #expect(none.slippageBps == nil && none.averagePrice == nil)
    }

    @Test("latencies from the signal's receipt to the ack and to the first fill")
    func latencies() throws {
        var r = record(F.requested(link, receivedAt: F.at(0)))
        #expect(r.latencyToAckMs == nil && r.latencyToFillMs == nil)
        _ = r.applyAccepted(F.accepted(link), at: F.at(12))
        _ = r.applyExecution(try F.execution(link: link, execId: "e1", qty: "0.004", price: "50000", leavesQty: "0.006"), at: F.at(250))
        _ = r.applyExecution(try F.execution(link: link, execId: "e2", qty: "0.006", price: "50000", leavesQty: "0"), at: F.at(400))
        #expect(r.latencyToAckMs == 12 && r.latencyToFillMs == 250)
        // A second accept (an amend) does not move the ack time.
        _ = r.applyAccepted(F.accepted(link, action: .amend), at: F.at(600))
        #expect(r.latencyToAckMs == 12)
    }

    @Test("spot quote-coin market buy: filled by leavesQty 0, not by comparing base with quote")
    func spotQuoteMarketBuy() throws {
        var r = record(F.requested(link, type: .market, qty: "100", price: nil, marketUnit: .quoteCoin, symbol: "ETHUSDT",
                                   category: .spot, snapshot: "3000"))
        _ = r.applyAccepted(F.accepted(link), at: F.at(5))
        let part = r.applyExecution(try F.execution(link: link, execId: "q1", symbol: "ETHUSDT", qty: "0.02", price: "3000",
                                                    leavesQty: "40"), at: F.at(6))
        #expect(part.statusChanged && r.status == .partiallyFilled)
        let last = r.applyExecution(try F.execution(link: link, execId: "q2", symbol: "ETHUSDT", qty: "0.0133", price: "3003",
                                                    leavesQty: "0"), at: F.at(7))
        #expect(last.statusChanged && r.status == .filled && r.executedQty == num("0.0333"))
    }

    @Test("amend idempotence: the same amendIndex twice counts once")
    func amendIdempotent() {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        let a = OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1, qty: nil,
                                    price: num("50010"), signalID: nil, reason: "unfilled_timeout")
        r.applyAmendRequested(a)
        r.applyAmendRequested(a)
        #expect(r.amendCount == 1 && r.repriceCount == 1 && r.pending == .amend)
        _ = r.applyAccepted(F.accepted(link, action: .amend), at: F.at(40))
        #expect(r.pending == nil && r.lastRestingSince == F.at(40) && r.status == .new)
        r.applyAmendRequested(a)
        #expect(r.amendCount == 1 && r.repriceCount == 1 && r.pending == nil, "an old amend folded again is a no-op")
        var b = a
        b.amendIndex = 2
        b.reason = "same_side_amend"
        r.applyAmendRequested(b)
        #expect(r.amendCount == 2 && r.repriceCount == 1 && r.pending == .amend)
    }

    @Test("an answer names its amend: a late answer to an earlier amend leaves the later one awaited; an answer without an index applies as before")
    func amendAnswersMatched() {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        func amend(_ index: Int, _ price: String) -> OrderAmendRequested {
            OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: index, qty: nil,
                                price: num(price), signalID: nil, reason: "unfilled_timeout")
        }
        r.applyAmendRequested(amend(1, "50010"))
        // The first amend's answer was lost; a second is requested.
        r.pending = nil
        r.applyAmendRequested(amend(2, "50020"))
        _ = r.applyAccepted(OrderAccepted(orderLinkId: link, orderId: "oid-1", action: .amend, via: "query", amendIndex: 1), at: F.at(20))
        _ = r.applyRejected(OrderRejected(orderLinkId: link, action: .amend, retCode: -1, retMsg: "late", amendIndex: 1))
        #expect(r.pending == .amend && r.amendPrice == num("50020") && r.price == num("50000"))
        _ = r.applyAccepted(OrderAccepted(orderLinkId: link, orderId: "oid-1", action: .amend, via: "rest", amendIndex: 2), at: F.at(30))
        #expect(r.pending == nil && r.price == num("50020") && r.lastRestingSince == F.at(30))
        // The first amend's timeout comes in late: nothing is awaited again.
        _ = r.applyUnknown(OrderOutcomeUnknown(orderLinkId: link, action: .amend, reason: "timeout", amendIndex: 1))
        #expect(r.pending == nil)
        // An older event without the index.
        r.applyAmendRequested(amend(3, "50030"))
        _ = r.applyRejected(OrderRejected(orderLinkId: link, action: .amend, retCode: 10001, retMsg: "old event"))
        #expect(r.pending == nil && r.amendPrice == nil && r.price == num("50020"))
    }

    @Test("an accepted cancel is final even before its order frame")
    func acceptedCancel() throws {
        var r = record()
        _ = r.applyAccepted(F.accepted(link), at: F.at(10))
        r.applyCancelRequested(OrderCancelRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", signalID: nil, reason: "manual"))
        #expect(r.pending == .cancel)
        let c = r.applyAccepted(F.accepted(link, action: .cancel), at: F.at(20))
        #expect(c.statusChanged && r.status == .cancelled && r.pending == nil)
        // A fill that raced the cancel still finishes it as filled.
        let f = r.applyExchange(try F.orderUpdate(link: link, status: "Filled", cumExecQty: "0.01", updatedTime: 30))
        #expect(f.statusChanged && r.status == .filled)
    }

    @Test("the order frame and a fill before the REST ack: the ack changes nothing but the ack time")
    func frameBeforeAck() throws {
        var r = record()
        let n = r.applyExchange(try F.orderUpdate(link: link, orderId: "oid-7", status: "New", updatedTime: 100))
        #expect(n.statusChanged && r.status == .new && r.pending == nil && r.orderId == "oid-7" && r.acceptedAt == nil)
        _ = r.applyExecution(try F.execution(link: link, execId: "e1", orderId: "oid-7", qty: "0.01", price: "50000", leavesQty: "0"),
                             at: F.at(30))
        #expect(r.status == .filled)
        let ack = r.applyAccepted(F.accepted(link, orderId: "oid-7"), at: F.at(40))
        #expect(!ack.statusChanged && r.status == .filled && r.latencyToAckMs == 40 && r.latencyToFillMs == 30)
    }

    @Test("Bybit statuses map to ours")
    func statusMapping() {
        #expect(OrderStatus(bybit: "New") == .new && OrderStatus(bybit: "Untriggered") == .new)
        #expect(OrderStatus(bybit: "PartiallyFilled") == .partiallyFilled && OrderStatus(bybit: "Filled") == .filled)
        #expect(OrderStatus(bybit: "PartiallyFilledCanceled") == .cancelled && OrderStatus(bybit: "Rejected") == .rejected)
        #expect(OrderStatus(bybit: "Whatever") == nil)
    }
}
