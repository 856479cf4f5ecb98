import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }
private typealias F = CoreFixtures

@Suite("OrderManagerState: the fold of the log")
struct OrderManagerStateTests {
    let link = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa-0"

    @Test("instruments loaded per category")
    func instruments() throws {
        var log = TestLog()
        #expect(log.state.instrumentCategoriesLoaded.isEmpty)
        try log.record(InstrumentsLoaded(category: .linear, instruments: [F.linearBTC]))
        try log.record(InstrumentsLoaded(category: .spot, instruments: [F.spotETH]))
        #expect(log.state.instrumentCategoriesLoaded == [.linear, .spot])
        #expect(log.state.instrument(.linear, "BTCUSDT") == F.linearBTC && log.state.instrument(.spot, "ETHUSDT") == F.spotETH)
        #expect(log.state.instrument(.spot, "BTCUSDT") == nil)
        #expect(log.state.position == 2)
    }

    @Test("the position advances over every event, the types the fold skips and undecodable ones too (counted)")
    func positionAdvancesOverSkippedEvents() throws {
        var log = TestLog()
        func raw(_ type: String, _ json: String, _ n: Int) -> NewEvent {
            NewEvent(eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "skip/\(n)"), type: type,
                     data: Array(json.utf8), metadata: EventMetadata(receiveTime: F.at(0)))
        }
        // The engine reads after this position: left behind, a batch of skipped events would be read again forever.
        log.apply(raw("MarketTrades", #"{"trades":[]}"#, 1), stream: "market.linear.trade-BTCUSDT")
        log.apply(raw("KlineUpdated", #"{}"#, 2), stream: "market.linear.kline-BTCUSDT.1")
        #expect(log.state.position == 2 && log.state.undecodable == 0)
        log.apply(raw(SignalReceived.eventType, #"{"unexpected":true}"#, 3), stream: "signals")
        #expect(log.state.position == 3 && log.state.undecodable == 1)
        #expect(log.state.lastUndecodable == "SignalReceived at log position 3")
    }

    @Test("book snapshot and delta → market.book; unsynced and invalidated books are not used")
    func book() throws {
        var log = TestLog()
        try log.record(F.book(bids: [("50000", "1"), ("49999", "2")], asks: [("50001", "1"), ("50002", "3")]))
        #expect(log.state.market.book(.linear, "BTCUSDT") == BidAsk(bid: num("50000"), ask: num("50001")))
        try log.record(F.book("delta", u: 2, bids: [("50000", "0")], asks: [("50000.5", "3")]))
        #expect(log.state.market.book(.linear, "BTCUSDT") == BidAsk(bid: num("49999"), ask: num("50000.5")))
        #expect(log.state.market.book(.spot, "BTCUSDT") == nil)

        try log.record(F.decode(OrderBookInvalidated.self, """
            {"symbol":"BTCUSDT","category":"linear","depth":50,"expectedU":3,"receivedU":5,"reason":"gap"}
            """))
        #expect(log.state.market.book(.linear, "BTCUSDT") == nil)
        try log.record(F.book(u: 6, bids: [("49000", "1")], asks: [("49001", "1")]))
        #expect(log.state.market.book(.linear, "BTCUSDT") == BidAsk(bid: num("49000"), ask: num("49001")))
        try log.record(F.book("delta", u: 7, bids: [("49000.5", "1")], asks: [], synced: false))
        #expect(log.state.market.book(.linear, "BTCUSDT") == nil)
    }

    @Test("ticker: bid/ask, last and mark; a missing field keeps the last value")
    func ticker() throws {
        var log = TestLog()
        try log.record(F.ticker(bid: "50000", ask: "50001", last: "50000.5", mark: "50000.2"))
        try log.record(F.ticker(bid: "50002", ask: nil))
        #expect(log.state.market.ticker(.linear, "BTCUSDT") == BidAsk(bid: num("50002"), ask: num("50001")))
        #expect(log.state.market.lastPrice(.linear, "BTCUSDT") == num("50000.5"))
        #expect(log.state.market.valuationPrice(.linear, "BTCUSDT") == num("50000.2"))
    }

    @Test("wallet → free balance (balance less locked and initial margins)")
    func wallet() throws {
        var log = TestLog()
        #expect(log.state.account.freeBalance("USDT") == nil && !log.state.account.walletKnown)
        try log.record(F.wallet(balance: "1000", locked: "10", orderIM: "40", positionIM: "100", totalAvailable: "900"))
        #expect(log.state.account.freeBalance("USDT") == num("850") && log.state.account.balance["USDT"] == num("1000"))
        #expect(log.state.account.walletKnown)
        try log.record(F.wallet(balance: "700"))
        #expect(log.state.account.freeBalance("USDT") == num("700"))
    }

    @Test("position → signed size (short negative, flat zero)")
    func position() throws {
        var log = TestLog()
        try log.record(F.position(side: "Sell", size: "0.5", mark: "50000"))
        #expect(log.state.account.positions["BTCUSDT"]?.signedSize == num("-0.5"))
        #expect(log.state.account.positions["BTCUSDT"]?.markPrice == num("50000"))
        try log.record(F.position(side: "Buy", size: "0.25"))
        #expect(log.state.account.positions["BTCUSDT"]?.signedSize == num("0.25"))
        try log.record(F.position(side: "", size: "0"))
        #expect(log.state.account.positions["BTCUSDT"]?.signedSize == 0)
    }

    @Test("signals per strategy in the 60 s window of receive time")
    func signalsPerMinute() throws {
        var log = TestLog()
        for (n, ms) in [(1, Int64(0)), (2, 30_000), (3, 59_000)] {
            try log.record(SignalReceived(signal: F.signal(n, time: F.at(ms)), bodySHA256: "x", queue: "q", redelivered: false), at: ms)
        }
        #expect(log.state.signalsInLastMinute(strategy: "strat-1", now: F.at(59_000).microsecondsSinceEpoch) == 3)
        #expect(log.state.signalsInLastMinute(strategy: "strat-1", now: F.at(60_000).microsecondsSinceEpoch) == 2, "t0 is 60 s old")
        try log.record(SignalReceived(signal: F.signal(4, time: F.at(61_000)), bodySHA256: "x", queue: "q", redelivered: false), at: 61_000)
        try log.record(SignalReceived(signal: F.signal(9, strategy: "other"), bodySHA256: "y", queue: "q", redelivered: false), at: 61_000)
        #expect(log.state.signalsInLastMinute(strategy: "strat-1", now: F.at(61_000).microsecondsSinceEpoch) == 3)
        #expect(log.state.signalsInLastMinute(strategy: "strat-1", now: F.at(200_000).microsecondsSinceEpoch) == 0)
        #expect(log.state.signalsInLastMinute(strategy: "other", now: F.at(61_000).microsecondsSinceEpoch) == 1)
    }

    @Test("daily realized loss from our fills (PnL less fees), reset on the next UTC day")
    func dailyLoss() throws {
        var log = TestLog()
        try log.record(F.requested(link), at: 1)
        try log.record(F.accepted(link), at: 2)
        try log.record(ExchangeExecution(execution: F.execution(link: link, execId: "e1", qty: "0.004", price: "50000", fee: "0.5",
                                                                  pnl: "-100", leavesQty: "0.006")), at: 3)
        try log.record(ExchangeExecution(execution: F.execution(link: link, execId: "e2", qty: "0.006", price: "50000", fee: "0.5",
                                                                  pnl: "20", leavesQty: "0")), at: 4)
        // Someone else's fill does not count.
        try log.record(ExchangeExecution(execution: F.execution(link: nil, execId: "x", orderId: "other", qty: "1", price: "1",
                                                                  pnl: "-1000")), at: 5)
        #expect(log.state.realizedLossToday(now: F.at(10).microsecondsSinceEpoch) == num("81"))
        #expect(log.state.realizedLossToday(now: F.at(86_400_000).microsecondsSinceEpoch) == 0)
    }

    /// The events of one order from intent to fill.
    func orderEvents(_ log: inout TestLog) throws -> [[DerivedEvent]] {
        [
            try log.record(F.requested(link), at: 1, stream: OrderEvents.stream(orderLinkId: link)),
            try log.record(F.accepted(link), at: 12, stream: OrderEvents.stream(orderLinkId: link)),
            try log.record(F.orderUpdate(link: link, status: "New", updatedTime: 100), at: 13),
            try log.record(ExchangeExecution(execution: F.execution(link: link, execId: "e1", qty: "0.01", price: "50010", fee: "0.2",
                                                                     leavesQty: "0", execTime: 200, isMaker: true)), at: 250),
            try log.record(F.orderUpdate(link: link, status: "Filled", cumExecQty: "0.01", updatedTime: 201), at: 251),
        ]
    }

    @Test("derived OrderLifecycleChanged / OrderExecuted: types, streams, figures")
    func derived() throws {
        var log = TestLog()
        let out = try orderEvents(&log)
        let stream = "order-\(link)"
        #expect(out.map { $0.map(\.event.type) } == [
            ["OrderLifecycleChanged"], ["OrderLifecycleChanged"], [], ["OrderExecuted", "OrderLifecycleChanged"], [],
        ])
        #expect(out.joined().allSatisfy { $0.stream == stream && $0.orderLinkId == link && $0.intent == nil })

        let requested = try #require(out[0][0].payload(OrderLifecycleChanged.self))
        #expect(requested.status == .requested && requested.previousStatus == nil && requested.cause == "OrderRequested")
        #expect(requested.signalID == "sig-1" && requested.requestedQty == num("0.01") && requested.requestedAmount == num("500"))
        let accepted = try #require(out[1][0].payload(OrderLifecycleChanged.self))
        #expect(accepted.status == .new && accepted.previousStatus == .requested && accepted.orderId == "oid-1")
        #expect(accepted.latencyToAckMs == 12 && accepted.reason == "create accepted")

        let exec = try #require(out[3][0].payload(OrderExecuted.self))
        #expect(exec.execId == "e1" && exec.execQty == num("0.01") && exec.execPrice == num("50010") && exec.execFee == num("0.2"))
        #expect(exec.isMaker == true && exec.execTime == 200 && exec.slippageBps == num("2") && exec.latencyToFillMs == 250)
        #expect(exec.traceID == "trace-1" && exec.strategyID == "strat-1" && exec.signalID == "sig-1")
        let filled = try #require(out[3][1].payload(OrderLifecycleChanged.self))
        #expect(filled.status == .filled && filled.previousStatus == .new && filled.cause == "ExchangeExecution")
        #expect(filled.executedQty == num("0.01") && filled.averagePrice == num("50010") && filled.fees == num("0.2"))

        // Metadata ties each derived event to its cause.
        #expect(out[3][0].event.metadata.causationID == log.events[3].eventID.lowercasedString)
        #expect(out[3][0].event.metadata.correlationID == "sig-1" && out[3][0].event.metadata.source == "order-manager")
        #expect(out[3][0].event.metadata.receiveTime == F.at(250))
        #expect(log.state.order(link)?.status == .filled)
    }

    @Test("derived ids are deterministic: the same events folded twice give the same ids")
    func deterministicIDs() throws {
        var log = TestLog()
        let first = try orderEvents(&log).joined().map(\.event.eventID)
        #expect(Set(first).count == first.count)
        var again = OrderManagerState(config: OrderManagerConfig())
        let second = log.events.flatMap { again.apply($0) }.map(\.event.eventID)
        #expect(first == second)
        // Folding an event twice derives nothing the second time (the fold is idempotent).
        var twice = OrderManagerState(config: OrderManagerConfig())
        let ids = log.events.flatMap { e in twice.apply(e) + twice.apply(e) }.map(\.event.eventID)
        #expect(ids == first)
    }

    @Test("pending and open orders, oldest first; an expired intent leaves both")
    func pendingAndOpen() throws {
        var log = TestLog()
        let (a, b, c) = ("a-0", "b-0", "c-0")
        try log.record(F.requested(a), at: 1)
        try log.record(F.requested(b, side: .sell), at: 2)
        try log.record(F.requested(c, symbol: "ETHUSDT"), at: 3)
        try log.record(F.accepted(a), at: 4)
        try log.record(OrderOutcomeUnknown(orderLinkId: b, action: .create, reason: "timeout"), at: 5)
        #expect(log.state.pendingOrders.map(\.orderLinkId) == [b, c])
        #expect(log.state.openOrders(category: .linear, symbol: "BTCUSDT").map(\.orderLinkId) == [a, b])
        let out = try log.record(OrderExpired(orderLinkId: c, ageMs: 90_000, maxAgeMs: 60_000), at: 6)
        #expect(out.first?.payload(OrderLifecycleChanged.self)?.status == .expired)
        #expect(log.state.pendingOrders.map(\.orderLinkId) == [b])
        #expect(log.state.openOrders(category: .linear, symbol: "ETHUSDT").isEmpty)
        #expect(log.state.allOrders.map(\.orderLinkId) == [a, b, c])
    }

    @Test("an execution found by orderId (no orderLinkId in the frame) is linked to our order")
    func linkByOrderID() throws {
        var log = TestLog()
        try log.record(F.requested(link), at: 1)
        try log.record(F.accepted(link, orderId: "oid-9"), at: 2)
        let out = try log.record(ExchangeExecution(execution: F.execution(link: nil, execId: "e1", orderId: "oid-9", qty: "0.01",
                                                                            price: "50000", leavesQty: "0")), at: 3)
        #expect(out.map(\.event.type) == ["OrderExecuted", "OrderLifecycleChanged"] && log.state.order(link)?.status == .filled)
    }

    /// A limit buy at 50 000, acked at 1 s and New: re-priced after 30 s (`maxReprices` rounds).
    func restingBuy(maxReprices: Int) throws -> TestLog {
        var log = TestLog(config: F.config { $0.repriceAfterMs = 30_000; $0.maxReprices = maxReprices })
        let stream = OrderEvents.stream(orderLinkId: link)
        try log.record(F.requested(link, side: .buy, price: "50000"), at: 0, stream: stream)
        try log.record(F.accepted(link), at: 1_000, stream: stream)
        try log.record(F.orderUpdate(link: link, status: "New", updatedTime: 1), at: 1_001)
        return log
    }

    @Test("re-pricing: unfilled for repriceAfterMs → amend at the touch; after maxReprices → cancel unfilled_timeout")
    func reprice() throws {
        var log = try restingBuy(maxReprices: 2)
        let stream = OrderEvents.stream(orderLinkId: link)

        // Not yet due (29.999 s since the ack).
        #expect(try log.record(F.book(bids: [("50005", "1")], asks: [("50006", "1")]), at: 30_999).isEmpty)
        // Due: amend 1 at the bid (from the book).
        let due = try log.record(F.book("delta", u: 2, bids: [("50007", "1")], asks: []), at: 31_000)
        #expect(due.count == 1 && due[0].intent == .amend && due[0].stream == stream && due[0].orderLinkId == link)
        let amend1 = try #require(due[0].payload(OrderAmendRequested.self))
        #expect(amend1.amendIndex == 1 && amend1.price == num("50007") && amend1.qty == nil && amend1.reason == "unfilled_timeout")
        #expect(amend1.signalID == "sig-1")
        #expect(due[0].event.eventID == DeterministicID.derived(from: link, index: 1, kind: "amend"))
        #expect(due[0].event.metadata.causationID == log.events.last?.eventID.lowercasedString)
        // The runner appends it; folding it back changes nothing (same amend index).
        log.apply(due[0].event, stream: due[0].stream)
        #expect(log.state.order(link)?.repriceCount == 1 && log.state.order(link)?.amendCount == 1)
        // While the amend is pending, nothing more is derived.
        #expect(try log.record(F.ticker(bid: "50010", ask: "50011"), at: 70_000).isEmpty)
        let accepted = try log.record(F.accepted(link, action: .amend), at: 70_010, stream: stream)
        #expect(accepted.map(\.event.type) == ["OrderLifecycleChanged"])

        // Second re-price 30 s after the amend was accepted, at the ticker's bid (no synced book).
        try log.record(F.book(bids: [("1", "1")], asks: [("2", "1")], synced: false), at: 80_000)
        let due2 = try log.record(F.ticker(bid: "50012", ask: "50013"), at: 100_010)
        let amend2 = try #require(due2.first?.payload(OrderAmendRequested.self))
        #expect(due2.count == 1 && amend2.amendIndex == 2 && amend2.price == num("50012"))
        log.apply(due2[0].event, stream: stream)
        try log.record(F.accepted(link, action: .amend), at: 100_020, stream: stream)

        // After maxReprices (2): cancel.
        #expect(try log.record(F.ticker(bid: "50020", ask: "50021"), at: 130_019).isEmpty)
        let end = try log.record(F.ticker(bid: "50020", ask: "50021"), at: 130_020)
        #expect(end.count == 1 && end[0].intent == .cancel)
        let cancel = try #require(end[0].payload(OrderCancelRequested.self))
        #expect(cancel.reason == "unfilled_timeout" && cancel.orderLinkId == link && cancel.symbol == "BTCUSDT")
        #expect(end[0].event.eventID == DeterministicID.derived(from: link, index: 0, kind: "timeout-cancel"))
        log.apply(end[0].event, stream: stream)
        #expect(log.state.order(link)?.pending == .cancel)
        #expect(try log.record(F.ticker(bid: "50030", ask: "50031"), at: 200_000).isEmpty, "no second cancel")
    }

    @Test("a re-price and a timeout cancel the log refused (EventRefused in their place): the order is not left pending; a refused timeout cancel is not derived again")
    func refusedIntents() throws {
        var log = try restingBuy(maxReprices: 1)
        let stream = OrderEvents.stream(orderLinkId: link)
        func refuse(_ d: DerivedEvent, at ms: Int64) throws {
            try log.record(EventRefused(eventID: d.event.eventID, stream: d.stream, type: d.event.type, sqlState: "22P02",
                                        reason: "invalid input syntax"), at: ms, stream: "ordermanager.refused-events")
        }
        // The amend is derived (pending), refused, and the refusal folded: nothing pending.
        let due = try log.record(F.ticker(bid: "50010", ask: "50011"), at: 31_000)
        #expect(due.count == 1 && due[0].intent == .amend && log.state.order(link)?.pending == .amend)
        try refuse(due[0], at: 31_001)
        #expect(log.state.order(link)?.pending == nil && log.state.order(link)?.amendPrice == nil)
        #expect(log.state.order(link)?.price == num("50000"))
        // Due again after maxReprices: the timeout cancel, refused too.
        #expect(try log.record(F.ticker(bid: "50012", ask: "50013"), at: 60_999).isEmpty)
        let end = try log.record(F.ticker(bid: "50012", ask: "50013"), at: 61_000)
        #expect(end.count == 1 && end[0].intent == .cancel && log.state.order(link)?.pending == .cancel)
        try refuse(end[0], at: 61_001)
        #expect(log.state.order(link)?.pending == nil && log.state.refusedIntents == [end[0].event.eventID])
        // A cancel by hand stored before the refusal of an earlier cancel is still awaited.
        var manual = log
        let cancelByHand = try NewEvent(eventID: UUID(), payload: OrderCancelRequested(
            orderLinkId: link, category: .linear, symbol: "BTCUSDT", signalID: nil, reason: "api"),
            metadata: EventMetadata(receiveTime: F.at(61_002)))
        manual.apply(cancelByHand, stream: stream)
        try manual.record(EventRefused(eventID: end[0].event.eventID, stream: stream, type: OrderCancelRequested.eventType,
                                       sqlState: "22P02", reason: "again"), at: 61_003, stream: "ordermanager.refused-events")
        #expect(manual.state.order(link)?.pending == .cancel && manual.state.order(link)?.pendingIntent == cancelByHand.eventID)
        // Not derived again (the log would refuse it again); the order rests as it is.
        #expect(try log.record(F.ticker(bid: "50020", ask: "50021"), at: 200_000).isEmpty)
        #expect(log.state.order(link)?.status == .new)
        // A fresh fold of the same log (a restart) ends the same.
        var again = OrderManagerState(config: log.state.config)
        for e in log.events { _ = again.apply(e) }
        #expect(again.order(link) == log.state.order(link) && again.refusedIntents == log.state.refusedIntents)
        // A refusal of another event type, or of another stream, changes nothing.
        try log.record(EventRefused(eventID: UUID(), stream: "positions-x", type: "PositionUpdated", sqlState: nil, reason: "x"),
                       at: 200_001, stream: "positionmanager.refused-events")
        #expect(log.state.refusedIntents.count == 1)
    }

    @Test("a late answer to an earlier amend derives no lifecycle event; the answer to the last one does")
    func lateAmendAnswer() throws {
        var log = TestLog()
        let stream = OrderEvents.stream(orderLinkId: link)
        try log.record(F.requested(link, side: .buy, price: "50000"), at: 0, stream: stream)
        try log.record(F.accepted(link), at: 1_000, stream: stream)
        for (i, price) in [(1, "50010"), (2, "50020")] {
            try log.record(OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: i, qty: nil,
                                               price: num(price), signalID: nil, reason: "same_side_amend"), at: 2_000, stream: stream)
        }
        #expect(try log.record(OrderAccepted(orderLinkId: link, orderId: "oid-1", action: .amend, via: "query", amendIndex: 1),
                               at: 3_000, stream: stream).isEmpty)
        #expect(log.state.order(link)?.pending == .amend)
        let last = try log.record(OrderAccepted(orderLinkId: link, orderId: "oid-1", action: .amend, via: "rest", amendIndex: 2),
                                  at: 3_001, stream: stream)
        #expect(last.map(\.event.type) == ["OrderLifecycleChanged"] && log.state.order(link)?.price == num("50020"))
    }

    @Test("re-pricing leaves market orders, other symbols and repriceAfterMs 0 alone")
    func noReprice() throws {
        var off = TestLog(config: F.config { $0.repriceAfterMs = 0 })
        try off.record(F.requested(link), at: 0)
        try off.record(F.accepted(link), at: 1)
        #expect(try off.record(F.ticker(bid: "50010", ask: "50011"), at: 1_000_000).isEmpty)

        var market = TestLog()
        try market.record(F.requested(link, type: .market, price: nil), at: 0)
        try market.record(F.accepted(link), at: 1)
        #expect(try market.record(F.ticker(bid: "50010", ask: "50011"), at: 1_000_000).isEmpty)
        #expect(try market.record(F.ticker(symbol: "ETHUSDT", bid: "3000", ask: "3001"), at: 1_000_000).isEmpty)
    }
}
