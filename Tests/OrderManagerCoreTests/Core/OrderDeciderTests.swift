import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

private func num(_ text: String) -> Decimal { CoreFixtures.num(text) }
private typealias F = CoreFixtures

@Suite("OrderDecider: decisions, intents, ids and the open-order policy")
struct OrderDeciderTests {
    static let allowedLinkCharacters = Set("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_-")

    func requests(_ d: SignalDecision) -> [String] { d.requests.map { "\($0.action.rawValue) \($0.orderLinkId)" } }
    func steps(_ d: OrderDecided) -> [String] { d.steps.map { "\($0.action.rawValue) \($0.orderLinkId) \($0.reason)" } }

    @Test("a buy: OrderDecided then OrderRequested, a market order at the ask")
    func buy() throws {
        let log = try TestLog.market()
        let s = F.signal(1, snapshotPrice: "50000")
        let d = decideForTest(s, log)
        let link = OrderEvents.orderLinkID(signalID: s.signalID, leg: 0)
        #expect(d.refusal == nil && requests(d) == ["create \(link)"])
        #expect(d.events.map(\.event.type) == ["OrderDecided", "OrderRequested"])
        #expect(d.events.map(\.stream) == [SignalEvents.stream(signalID: s.signalID), "order-\(link)"])

        let decided = try #require(d.payloads(OrderDecided.self).first)
        #expect(decided.side == .buy && decided.category == .linear && decided.orderType == .market)
        #expect(decided.orderTypeReason == "high_confidence" && decided.referencePrice == num("50010") && decided.referenceSource == .book)
        #expect(decided.qty == num("0.019") && decided.notional == num("950.19") && decided.basisPosition == log.state.position)
        #expect(steps(decided) == ["create \(link) no_resting_orders"])

        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(req.orderLinkId == link && req.leg == 0 && req.signalID == s.signalID && req.strategyID == "strat-1")
        #expect(req.traceID == "trace-1" && req.symbol == "BTCUSDT" && req.side == .buy && req.orderType == .market)
        #expect(req.timeInForce == .ioc && req.qty == num("0.019") && req.price == nil && req.marketUnit == nil && req.reduceOnly == nil)
        #expect(req.requestedAmount == num("1000") && req.referencePrice == num("50010") && req.snapshotPrice == num("50000"))
        #expect(req.signalReceivedAt == F.at(1_000) && req.reason == "no_resting_orders")
        #expect(req.restRequest.price == nil && req.restRequest.orderLinkId == link)
    }

    @Test("a sell: a PostOnly limit at the ask when confidence is low")
    func sell() throws {
        let s = F.signal(2, .sell, confidence: "0.5")
        let d = decideForTest(s, try TestLog.market())
        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(d.events.map(\.event.type) == ["OrderDecided", "OrderRequested"])
        #expect(req.side == .sell && req.orderType == .limit && req.timeInForce == .postOnly && req.price == num("50010"))
        // Sized at the limit price; the reference (for a sell, the bid) is kept for the audit.
        #expect(req.qty == num("0.019") && req.referencePrice == num("49990"))
        #expect(try #require(d.payloads(OrderDecided.self).first).orderTypeReason == "passive_limit")
        #expect(req.restRequest.price == num("50010"))
    }

    @Test("orderLinkId: leg 0 of the signal id, ≤ 36 chars of [0-9A-Za-z_-], the same on every call")
    func linkID() throws {
        let log = try TestLog.market()
        for n in 1...20 {
            let s = F.signal(n)
            let link = OrderEvents.orderLinkID(signalID: s.signalID, leg: 0)
            #expect(link.count <= 36 && link.allSatisfy { Self.allowedLinkCharacters.contains($0) }, "\(link)")
            #expect(link == OrderEvents.orderLinkID(signalID: s.signalID.uppercased(), leg: 0))
            let a = decideForTest(s, log)
            let b = decideForTest(s, log)
            #expect(a.requests.map(\.orderLinkId) == [link] && b.requests.map(\.orderLinkId) == [link])
        }
        #expect(OrderEvents.orderLinkID(signalID: F.signal(1).signalID, leg: 0)
                != OrderEvents.orderLinkID(signalID: F.signal(1).signalID, leg: 1))
        // An id that is not a UUID still gives a valid link id.
        let odd = OrderEvents.orderLinkID(signalID: "not a uuid at all, with spaces & symbols!", leg: 3)
        #expect(odd.count <= 36 && odd.allSatisfy { Self.allowedLinkCharacters.contains($0) } && odd.hasSuffix("-3"))
    }

    @Test("event ids are deterministic: derived from the SignalReceived id, equal on every call")
    func deterministicIDs() throws {
        let log = try TestLog.market()
        let s = F.signal(3)
        let a = decideForTest(s, log).events.map(\.event.eventID)
        let b = decideForTest(s, log).events.map(\.event.eventID)
        let cause = SignalEvents.receivedEventID(signalID: s.signalID).lowercasedString
        #expect(a == b)
        #expect(a == [DeterministicID.derived(from: cause, index: 0, kind: "decided"),
                      DeterministicID.derived(from: cause, index: 1, kind: "create")])
        // The same for refusals and denials.
        let refused = F.signal(4, warmup: true)
        let r1 = decideForTest(refused, try TestLog.market(config: F.config { $0.warmupPolicy = .reject }))
        #expect(r1.events.map(\.event.eventID)
                == [DeterministicID.derived(from: SignalEvents.receivedEventID(signalID: refused.signalID).lowercasedString,
                                            index: 0, kind: "refused")])
    }

    @Test("a validation refusal is a SignalRefused on the signal's stream")
    func refused() throws {
        let s = F.signal(5, warmup: true)
        let d = decideForTest(s, try TestLog.market(config: F.config { $0.warmupPolicy = .recordOnly }))
        #expect(d.refusal == "warmup_recorded" && d.requests.isEmpty && d.events.map(\.stream) == ["signal-\(s.signalID)"])
        let r = try #require(d.payloads(SignalRefused.self).first)
        #expect(r.reason == "warmup_recorded" && r.signalID == s.signalID && r.strategyID == "strat-1" && r.asset == "BTCUSDT")
    }

    @Test("metadata: correlation = signal id, causation = SignalReceived id, trace id, source, receive time")
    func metadata() throws {
        let s = F.signal(6)
        let d = decideForTest(s, try TestLog.market(), receivedAt: F.at(1_234))
        let cause = SignalEvents.receivedEventID(signalID: s.signalID).lowercasedString
        #expect(d.events.count == 2)
        for (_, e) in d.events {
            #expect(e.metadata.correlationID == s.signalID && e.metadata.causationID == cause && e.metadata.traceID == "trace-1")
            #expect(e.metadata.source == "order-manager" && e.metadata.receiveTime == F.at(1_234))
        }
        let untraced = decideForTest(F.signal(7, trace: nil), try TestLog.market())
        #expect(untraced.events.allSatisfy { $0.event.metadata.traceID == nil })
    }

    @Test("an opposite signal cancels our resting order, then creates")
    func oppositeCancels() throws {
        var log = try TestLog.market()
        let old = "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee-0"
        try log.record(F.requested(old, side: .sell, price: "50010"), at: 1, stream: "order-\(old)")
        try log.record(F.accepted(old), at: 2, stream: "order-\(old)")
        let s = F.signal(8)
        let d = decideForTest(s, log)
        let link = OrderEvents.orderLinkID(signalID: s.signalID, leg: 0)
        #expect(d.refusal == nil && requests(d) == ["cancel \(old)", "create \(link)"])
        #expect(d.events.map(\.event.type) == ["OrderDecided", "OrderCancelRequested", "OrderRequested"])
        #expect(d.events.map(\.stream) == ["signal-\(s.signalID)", "order-\(old)", "order-\(link)"])
        let decided = try #require(d.payloads(OrderDecided.self).first)
        #expect(steps(decided) == ["cancel \(old) opposite_signal", "create \(link) opposite_cancelled"])
        let cancel = try #require(d.payloads(OrderCancelRequested.self).first)
        #expect(cancel.orderLinkId == old && cancel.signalID == s.signalID && cancel.reason == "opposite_signal")
        #expect(cancel.symbol == "BTCUSDT" && cancel.category == .linear)
        #expect(try #require(d.payloads(OrderRequested.self).first).reason == "opposite_cancelled")
        let cause = SignalEvents.receivedEventID(signalID: s.signalID).lowercasedString
        #expect(d.events.map(\.event.eventID) == [DeterministicID.derived(from: cause, index: 0, kind: "decided"),
                                                   DeterministicID.derived(from: cause, index: 1, kind: "cancel"),
                                                   DeterministicID.derived(from: cause, index: 2, kind: "create")])
    }

    @Test("a same-side limit signal amends our resting limit: total qty, new price")
    func sameSideAmends() throws {
        var log = try TestLog.market()
        let old = "ffffffffffffffffffffffffffffffff-0"
        try log.record(F.requested(old, side: .buy, qty: "0.01", price: "49980"), at: 1, stream: "order-\(old)")
        try log.record(F.accepted(old), at: 2, stream: "order-\(old)")
        try log.record(F.orderUpdate(link: old, status: "New", qty: "0.01", price: "49980", updatedTime: 3), at: 3)
        let s = F.signal(9, confidence: "0.5")
        let d = decideForTest(s, log)
        #expect(d.refusal == nil && requests(d) == ["amend \(old)"])
        #expect(d.events.map(\.event.type) == ["OrderDecided", "OrderAmendRequested"])
        #expect(d.events.map(\.stream) == ["signal-\(s.signalID)", "order-\(old)"])
        let amend = try #require(d.payloads(OrderAmendRequested.self).first)
        // 1 000 / 49 990 → 0.02 added to the resting 0.01, at the bid.
        #expect(amend.orderLinkId == old && amend.amendIndex == 1 && amend.qty == num("0.03") && amend.price == num("49990"))
        #expect(amend.signalID == s.signalID && amend.reason == "same_side_amend")
        #expect(steps(try #require(d.payloads(OrderDecided.self).first)) == ["amend \(old) same_side_amend"])

        // Once that amend is in the log, the next one is index 2.
        var after = log
        after.apply(d.events[1].event, stream: d.events[1].stream)
        try after.record(F.accepted(old, action: .amend), at: 1_500, stream: "order-\(old)")
        let next = decideForTest(F.signal(10, confidence: "0.5"), after, receivedAt: F.at(2_000))
        #expect(next.payloads(OrderAmendRequested.self).first?.amendIndex == 2)
    }

    @Test("spot: a market buy spends the quote amount (marketUnit quoteCoin)")
    func spotMarketBuy() throws {
        var log = TestLog(config: F.config { $0.categories = ["ETHUSDT": .spot] })
        try log.record(InstrumentsLoaded(category: .spot, instruments: [F.spotETH]))
        try log.record(F.book(symbol: "ETHUSDT", category: "spot", bids: [("2999", "5")], asks: [("3001", "5")]))
        try log.record(F.wallet(balance: "100000"))
        let d = decideForTest(F.signal(11, asset: "ETHUSDT", amount: "500"), log)
        let req = try #require(d.payloads(OrderRequested.self).first)
        #expect(req.category == .spot && req.orderType == .market && req.marketUnit == .quoteCoin && req.qty == num("500"))
        #expect(req.restRequest.marketUnit == .quoteCoin)
    }
}
