import AMQP
import Bybit
import BybitClient
import BybitSimulator
import EventLog
import Foundation
import Gateway
@testable import OrderManager
import OrderManagerCore
import PostgresClient
import ServiceLifecycle
import Signals
import Testing
import TradelogCore
import TradelogTesting

@Suite("Order manager end to end (simulator, PostgreSQL, RabbitMQ)", .serialized, .timeLimit(.minutes(3)))
struct OrderManagerIntegrationTests {
    @Test("a buy and a sell: orders at the simulator, fills, events, rows in both tables, messages on both queues")
    func buyAndSell() async throws {
        try await OMStack.with { stack in
            let (buy, buyBody) = OMStack.signal(type: "buy", amount: "800")
            let (sell, sellBody) = OMStack.signal(type: "sell", amount: "600")
            try await stack.publish([buyBody])
            let buyLink = OrderEvents.orderLinkID(signalID: buy, leg: 0)
            let b = try await stack.waitOrder(buyLink, [OrderManagerCore.OrderStatus.filled])
            #expect(b?.status == .filled)
            try await stack.publish([sellBody])
            let sellLink = OrderEvents.orderLinkID(signalID: sell, leg: 0)
            let s = try await stack.waitOrder(sellLink, [OrderManagerCore.OrderStatus.filled])
            #expect(s?.status == .filled)
            #expect((b?.executedQty ?? 0) > 0 && (s?.executedQty ?? 0) > 0)
            #expect(b?.averagePrice != nil && b?.slippageBps != nil)
            // The answer may be folded after the order frames that filled the order.
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) {
                _ = try await stack.engine.follow()
                return await stack.engine.state.order(buyLink)?.latencyToAckMs != nil
            })
            #expect(try await stack.ordersAtExchange(buyLink) == 1)
            #expect(try await stack.ordersAtExchange(sellLink) == 1)

            let signalTypes = try await stack.eventTypes(stream: SignalEvents.stream(signalID: buy))
            #expect(signalTypes == ["SignalReceived", "OrderDecided"])
            let orderTypes = try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: buyLink))
            for t in ["OrderRequested", "OrderAccepted", "OrderExecuted", "OrderLifecycleChanged"] { #expect(orderTypes.contains(t), "\(t)") }
            // The intent is durable before the answer.
            #expect(orderTypes.firstIndex(of: "OrderRequested")! < orderTypes.firstIndex(of: "OrderAccepted")!)
            // The answer's cause is the intent it answers (DESIGN invariant 4).
            let orderEvents = try await stack.log.readStream(OrderEvents.stream(orderLinkId: buyLink), limit: 100)
            let requested = orderEvents.first { $0.type == "OrderRequested" }
            let accepted = orderEvents.first { $0.type == "OrderAccepted" }
            #expect(accepted?.metadata.causationID == requested?.eventID.lowercasedString && requested != nil)
            #expect(accepted?.metadata.correlationID == buy)

            let filled = try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT count(*) FROM orders WHERE status = 'filled' AND order_link_id IN ($1, $2)", [buyLink, sellLink]) == "2"
            }
            #expect(filled)
            #expect(try await stack.scalar("SELECT relation FROM signal_order_relationships WHERE signal_id = $1", [buy]) == "created")
            #expect(try await stack.scalar("SELECT signal_id FROM orders WHERE order_link_id = $1", [sellLink]) == sell)

            let events = try await stack.drain("order-manager.order_events", minimum: 6)
            let links = Set(events.compactMap { ($0["payload"] as? [String: Any])?["orderLinkId"] as? String })
            #expect(links.isSuperset(of: [buyLink, sellLink]))
            let statuses = events.compactMap { ($0["payload"] as? [String: Any])?["status"] as? String }
            #expect(statuses.contains("filled") && statuses.contains("requested"))
            let fills = try await stack.drain("order-manager.order_executed", minimum: 2)
            let fillLinks = Set(fills.compactMap { ($0["payload"] as? [String: Any])?["orderLinkId"] as? String })
            #expect(fillLinks.isSuperset(of: [buyLink, sellLink]))

            let report = try await SignalAudit.report(signalID: buy, log: stack.log)
            #expect(report.found && report.entries.contains { $0.type == "OrderExecuted" })
            #expect(report.text.contains("OrderDecided") && report.text.contains("fill "))
        }
    }

    @Test("refusals and denials become events with their reason codes (warm-up policy, stale, unknown asset, halted)")
    func refusals() async throws {
        var config = OMStack.config()
        config.warmupPolicy = .recordOnly
        try await OMStack.with(config: config) { stack in
            let (warm, warmBody) = OMStack.signal(warmup: true)
            let (stale, staleBody) = OMStack.signal(time: Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 120_000_000))
            let (unknown, unknownBody) = OMStack.signal(asset: "NOPEUSDT")
            try await stack.publish([warmBody, staleBody, unknownBody])
            #expect(try await stack.refusal(warm) == "warmup_recorded")
            #expect(try await stack.refusal(stale) == "stale_signal")
            #expect(try await stack.refusal(unknown) == "unknown_asset")
            _ = try await stack.engine.setTradingState(.halted, reason: "test")
            let (halted, haltedBody) = OMStack.signal()
            try await stack.publish([haltedBody])
            #expect(try await stack.refusal(halted) == "trading_halted")
            let denied = try await TestDatabase.eventually(timeout: .seconds(10)) {
                try await stack.scalar("SELECT count(*) FROM signal_order_relationships WHERE relation = 'denied'") == "4"
            }
            #expect(denied)
        }
    }

    @Test("exchange errors: 10006 retried, 110007 and 10001 rejected, a timeout and a 502 settled by query; never a duplicate")
    func exchangeErrors() async throws {
        try await OMStack.with { stack in
            let path = "/v5/order/create"
            func run(_ inject: () async throws -> Void) async throws -> (String, OrderRecord?) {
                try await inject()
                let (id, body) = OMStack.signal(amount: "300")
                try await stack.publish([body])
                let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
                let rec = try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled, .rejected, .notPlaced, .cancelled])
                return (link, rec)
            }
            let (l1, r1) = try await run { try await stack.simulator.failNext(path: path, retCode: 10006) }
            #expect(r1?.status == .filled)
            #expect(try await stack.ordersAtExchange(l1) == 1)

            let (l2, r2) = try await run { try await stack.simulator.failNext(path: path, retCode: 110007) }
            #expect(r2?.status == .rejected)
            #expect(try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: l2)).contains("OrderRejected"))
            #expect(try await stack.ordersAtExchange(l2) == 0)

            let (l3, r3) = try await run { try await stack.simulator.failNext(path: path, retCode: 10001) }
            #expect(r3?.status == .rejected && r3?.reason?.hasPrefix("10001") == true)
            #expect(try await stack.ordersAtExchange(l3) == 0)

            let (l4, r4) = try await run { try await stack.simulator.timeoutNext(path: path) }
            #expect(r4?.status == .notPlaced)
            let t4 = try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: l4))
            #expect(t4.contains("OrderOutcomeUnknown") && t4.contains("OrderNotPlaced"))
            #expect(try await stack.ordersAtExchange(l4) == 0)

            let (l5, r5) = try await run { try await stack.simulator.httpStatusNext(path: path, status: 502) }
            #expect(r5?.status == .notPlaced)
            #expect(try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: l5)).contains("OrderOutcomeUnknown"))
            #expect(try await stack.ordersAtExchange(l5) == 0)
        }
    }

    @Test("a redelivered signal (its SignalReceived already in the log) is not decided again on the state of now")
    func redeliveredSignal() async throws {
        try await OMStack.with { stack in
            let (id, body) = OMStack.signal(amount: "400")
            try await stack.publish([body])
            let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
            #expect(try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled])?.status == .filled)
            let stream = SignalEvents.stream(signalID: id)
            let before = try await stack.eventTypes(stream: stream)
            // The intake's retry of the same delivery (its ack was lost): the engine has folded
            // the first time, and trading is halted since, so a second decision would differ.
            _ = try await stack.engine.setTradingState(.halted, reason: "test")
            let signal = try SignalParser.parse(body).get()
            let (received, event) = try SignalEvents.received(signal: signal, body: body, queue: "model-service.trading_signals",
                                                              redelivered: true, receiveTime: .now(), messageID: nil)
            let again = try await stack.engine.handle([StreamAppend(stream: received, events: [event])])
            guard case .duplicate = again.outcomes.first else {
                Issue.record("the SignalReceived was stored twice: \(again.outcomes)")
                return
            }
            #expect(try await stack.eventTypes(stream: stream) == before)
            await stack.engine.drainRequests()
            #expect(try await stack.ordersAtExchange(link) == 1)
            #expect(try await stack.simulator.createRequests(orderLinkId: link) == 1)
        }
    }

    @Test("only a live order manager takes signals: not live, the intake leaves them in the queue and handle refuses; a lost lease is noticed and the start-up runs again")
    func onlyLiveOrderManagerTakesSignals() async throws {
        try await OMStack.with { stack in
            // Not live (as a standby, or one settling its start-up): nothing is decided.
            await stack.engine.goStandby()
            let (id, body) = OMStack.signal(amount: "400")
            let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
            let batch = try await Self.decidedBatch(body, stack: stack)
            await #expect(throws: OrderManagerNotLive.self) { _ = try await stack.engine.handle([batch[0]]) }
            try await stack.publish([body])
            try await Task.sleep(for: .seconds(2))
            #expect(try await stack.eventTypes(stream: SignalEvents.stream(signalID: id)).isEmpty, "the signal waits in the queue")
            // Live again: the intake resumes and the signal is decided and filled.
            await stack.engine.goLive()
            #expect(try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled])?.status == .filled)

            // The lease's connection is lost (the lock with it): the loop notices, stands by, takes
            // the lease again and runs its start-up sync again before it is live.
            let starts = "SELECT count(*) FROM events WHERE type = 'OrderSyncCompleted' AND data->>'trigger' = 'start'"
            #expect(try await stack.scalar(starts) == "1")
            let ended = try await stack.scalar("""
                SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                WHERE datname = current_database() AND application_name LIKE '%:lease:order-manager'
                """)
            #expect(ended == "1")
            #expect(try await TestDatabase.eventually(timeout: .seconds(20)) {
                try await stack.scalar(starts) == "2"
            }, "a second start-up sync after the lost lease")
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { await stack.engine.isLive })
            let (id2, body2) = OMStack.signal(amount: "300")
            try await stack.publish([body2])
            #expect(try await stack.waitOrder(OrderEvents.orderLinkID(signalID: id2, leg: 0), [OrderManagerCore.OrderStatus.filled])?.status == .filled)
        }
    }

    @Test("the gateway's report of dropped order or fill frames starts a sync in the order and position managers; dropped market data does not")
    func syncAfterDroppedPrivateFrames() async throws {
        try await OMStack.with { stack in
            func report(_ categories: [String: Int], at: Int64) throws -> NewEvent {
                let when = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 1_000_000 + at)
                return try NewEvent(eventID: DeterministicID.derived(from: "drop-test/\(at)"), payload: GatewayDataDropped(
                    events: categories.values.reduce(0, +), firstReceive: when, lastReceive: when, categories: categories, capacity: 10),
                    metadata: EventMetadata(source: "gateway", receiveTime: when))
            }
            let omSyncs = "SELECT count(*) FROM events WHERE type = 'OrderSyncCompleted' AND data->>'trigger' = 'gateway-drop'"
            let pmSyncs = "SELECT count(*) FROM events WHERE type = 'PositionSyncCompleted' AND data->>'trigger' = 'gateway-drop'"
            _ = try await stack.log.append(to: "gateway.health-test", [try report(["market.linear.orderbook": 5], at: 1)])
            _ = try await stack.engine.follow()
            _ = try await stack.positions.follow()
            try await Task.sleep(for: .milliseconds(500))
            #expect(try await stack.scalar(omSyncs) == "0", "market data only: no sync")
            #expect(try await stack.scalar(pmSyncs) == "0", "market data only: no sync")
            _ = try await stack.log.append(to: "gateway.health-test", [try report(["exchange.execution": 2, "market.linear.trade": 9], at: 2)])
            // (A sync that fails under load is retried after a few seconds: a generous bound.)
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) {
                _ = try await stack.engine.follow()
                _ = try await stack.positions.follow()
                let om = try await stack.scalar(omSyncs)
                let pm = try await stack.scalar(pmSyncs)
                return om != "0" && pm != "0"
            })
        }
    }

    @Test("a drop report folded while the managers are not live (recovering from the same outage) is synced once they are")
    func dropReportWhileNotLive() async throws {
        try await OMStack.with { stack in
            await stack.engine.goStandby()
            await stack.positions.goStandby()
            let now = Timestamp.now()
            let report = try NewEvent(eventID: DeterministicID.derived(from: "drop-not-live"), payload: GatewayDataDropped(
                events: 1, firstReceive: now, lastReceive: now, categories: ["exchange.execution": 1], capacity: 10),
                metadata: EventMetadata(source: "gateway", receiveTime: now))
            _ = try await stack.log.append(to: "gateway.health-test", [report])
            _ = try await stack.engine.follow()
            _ = try await stack.positions.follow()
            let omSyncs = "SELECT count(*) FROM events WHERE type = 'OrderSyncCompleted' AND data->>'trigger' = 'gateway-drop'"
            let pmSyncs = "SELECT count(*) FROM events WHERE type = 'PositionSyncCompleted' AND data->>'trigger' = 'gateway-drop'"
            try await Task.sleep(for: .milliseconds(700))
            #expect(try await stack.scalar(omSyncs) == "0", "not live: nothing synced yet")
            #expect(await stack.engine.dropSyncFrom != nil, "the drops are remembered")
            await stack.engine.goLive()
            await stack.positions.goLive()
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) {
                let om = try await stack.scalar(omSyncs)
                let pm = try await stack.scalar(pmSyncs)
                return om != "0" && pm != "0"
            })
            #expect(try await TestDatabase.eventually(timeout: .seconds(10)) { await stack.engine.dropSyncFrom == nil }, "covered")
        }
    }

    @Test("a fill whose frame was dropped is fetched by the sync the drop report starts, even after a later fill was logged")
    func dropSyncRecoversMissedFill() async throws {
        try await OMStack.with { stack in
            let (a, aBody) = OMStack.signal(amount: "400")
            try await stack.publish([aBody])
            let aLink = OrderEvents.orderLinkID(signalID: a, leg: 0)
            let aRecord = try #require(try await stack.waitOrder(aLink, [.filled]))
            // The gateway stops taking executions and order updates (as if their frames were dropped).
            _ = try await stack.gateway.remove(id: "private:execution", requestedBy: "test")
            _ = try await stack.gateway.remove(id: "private:order", requestedBy: "test")
            let dropsBegan = Timestamp.now()
            let (b, bBody) = OMStack.signal(amount: "300")
            try await stack.publish([bBody])
            let bLink = OrderEvents.orderLinkID(signalID: b, leg: 0)
            let accepted = try await TestDatabase.eventually {
                try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: bLink)).contains("OrderAccepted")
            }
            #expect(accepted)
            let bOrder = try #require(try await stack.exchangeOrder(bLink))
            #expect(bOrder.orderStatus == "Filled")
            // A later fill in the log (its time past B's), so "since the last fill" alone would miss B.
            let late = Timestamp.now().microsecondsSinceEpoch / 1000 + 60_000
            let lateFill = """
                {"category":"linear","symbol":"BTCUSDT","execId":"late-1","execType":"Trade","execPrice":"50000","execQty":"0.001",\
                "execFee":"0","orderId":"\(aRecord.orderId ?? "")","orderLinkId":"\(aLink)","side":"Buy","execTime":\(late)}
                """
            _ = try await stack.log.append(to: "exchange.execution-\(aRecord.orderId ?? "")", [NewEvent(
                eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "late-1"), type: ExchangeExecution.eventType,
                data: Array(lateFill.utf8), metadata: EventMetadata(source: "test", receiveTime: .now()))])
            _ = try await stack.engine.follow()
            #expect(await stack.engine.state.order(bLink)?.status == .new, "B's fill never reached the log")
            // The gateway's report of the drops.
            let report = try NewEvent(eventID: DeterministicID.derived(from: "drop-test-b"), payload: GatewayDataDropped(
                events: 2, firstReceive: dropsBegan, lastReceive: .now(), categories: ["exchange.execution": 1, "exchange.order": 1],
                capacity: 10), metadata: EventMetadata(source: "gateway", receiveTime: .now()))
            _ = try await stack.log.append(to: "gateway.health-test", [report])
            #expect(try await stack.waitOrder(bLink, [.filled], timeout: .seconds(30))?.status == .filled)
            let fetched = try await TestDatabase.eventually(timeout: .seconds(20)) {
                try await stack.log.readStream("exchange.execution-\(bOrder.orderId)", limit: 10).contains { $0.type == ExchangeExecution.eventType }
            }
            #expect(fetched, "B's fill fetched from the exchange")
        }
    }

    /// The signal batch of `body` decided on the engine's state, as `handle` would append it.
    static func decidedBatch(_ body: [UInt8], stack: OMStack, receivedAt: Timestamp = .now()) async throws -> [StreamAppend] {
        let signal = try SignalParser.parse(body).get()
        let (stream, received) = try SignalEvents.received(signal: signal, body: body, queue: "model-service.trading_signals",
                                                           redelivered: false, receiveTime: receivedAt, messageID: nil)
        let decision = OrderDecider.decide(signal, receivedEventID: received.eventID, receivedAt: receivedAt, state: await stack.engine.state)
        return [StreamAppend(stream: stream, events: [received])] + decision.events.map { StreamAppend(stream: $0.stream, events: [$0.event]) }
    }

    @Test("an append whose reply was lost after it committed: the retry decides nothing again and the stored intent is sent once")
    func lostReplyAfterCommit() async throws {
        try await OMStack.with { stack in
            let (id, body) = OMStack.signal(amount: "400")
            let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
            let batch = try await Self.decidedBatch(body, stack: stack)
            // The commit landed; the engine saw a broken connection instead of the reply.
            _ = try await stack.log.append(batch)
            await stack.engine.noteOutcomeUnknown(batch)
            #expect(try await stack.ordersAtExchange(link) == 0)
            let before = try await stack.eventTypes(stream: SignalEvents.stream(signalID: id))
            // The intake's retry of the same signal.
            _ = try await stack.engine.handle([batch[0]])
            #expect(try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled])?.status == .filled)
            await stack.engine.drainRequests()
            #expect(try await stack.ordersAtExchange(link) == 1)
            #expect(try await stack.simulator.createRequests(orderLinkId: link) == 1)
            #expect(try await stack.eventTypes(stream: SignalEvents.stream(signalID: id)) == before)
        }
    }

    @Test("an append whose reply was lost after it committed, found late: its create, older than maxIntentAgeMs, expires unsent and the asset takes the next signal")
    func lostReplyOldIntentExpires() async throws {
        try await OMStack.with { stack in
            let then = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 120_000_000)
            let (id, body) = OMStack.signal(amount: "400", time: then)
            let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
            let batch = try await Self.decidedBatch(body, stack: stack, receivedAt: then)
            #expect(batch.contains { $0.events.contains { $0.type == OrderRequested.eventType } })
            _ = try await stack.log.append(batch)
            await stack.engine.noteOutcomeUnknown(batch)
            // The next signal on the same asset, through the intake.
            let (next, nextBody) = OMStack.signal(amount: "400")
            try await stack.publish([nextBody])
            let nextLink = OrderEvents.orderLinkID(signalID: next, leg: 0)
            #expect(try await stack.waitOrder(nextLink, [OrderManagerCore.OrderStatus.filled])?.status == .filled)
            #expect(await stack.engine.state.order(link)?.status == .expired)
            await stack.engine.drainRequests()
            #expect(try await stack.ordersAtExchange(link) == 0)
        }
    }

    @Test("a signal batch whose connection dies in its append (nothing committed): the intake's retry decides, stores and sends once")
    func lostConnectionInAppend() async throws {
        let (id, body) = OMStack.signal(amount: "400")
        let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
        try await OMStack.with(before: { settings, _, _, _ in
            // The first insert of an OrderRequested kills its own backend: the append fails as a
            // connection problem, its outcome unknown to the engine.
            let conn = PGConnection(settings: settings)
            try await conn.execute("CREATE SEQUENCE test_kill")
            try await conn.execute("""
                CREATE FUNCTION test_kill() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF NEW.type = 'OrderRequested' AND nextval('test_kill') = 1 THEN
                        PERFORM pg_terminate_backend(pg_backend_pid());
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await conn.execute("CREATE TRIGGER test_kill BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION test_kill()")
            await conn.close()
        }) { stack in
            try await stack.publish([body])
            #expect(try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled], timeout: .seconds(40))?.status == .filled)
            await stack.engine.drainRequests()
            #expect(try await stack.ordersAtExchange(link) == 1)
            #expect(try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: link)).filter { $0 == "OrderRequested" }.count == 1)
            #expect(try await stack.eventTypes(stream: SignalEvents.stream(signalID: id)).filter { $0 == "SignalReceived" }.count == 1)
        }
    }

    @Test("crash after the intent, before the call: after restart exactly one order at the simulator")
    func crashBeforeCall() async throws {
        let (id, _) = OMStack.signal(amount: "400")
        let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
        try await OMStack.with(before: { settings, amqp, sim, port in
            // The first life: decide and append durably, then "die" before sending anything.
            try await OMStack.run(settings: settings, amqp: amqp, simulator: sim, port: port, config: OMStack.config()) { stack in
                let signal = try #require(try? SignalParser.parse(OMStack.signal(id: UUID(uuidString: id)!, amount: "400").1).get())
                let (stream, received) = try SignalEvents.received(signal: signal, body: [], queue: "model-service.trading_signals",
                                                                   redelivered: false, receiveTime: .now(), messageID: nil)
                let decision = OrderDecider.decide(signal, receivedEventID: received.eventID, receivedAt: .now(), state: await stack.engine.state)
                var appends = [StreamAppend(stream: stream, events: [received])]
                appends += decision.events.map { StreamAppend(stream: $0.stream, events: [$0.event]) }
                _ = try await stack.log.append(appends)
                #expect(try await stack.ordersAtExchange(link) == 0)
            }
        }) { stack in
            let rec = try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled])
            #expect(rec?.status == .filled)
            #expect(try await stack.ordersAtExchange(link) == 1)
            #expect(try await stack.simulator.createRequests(orderLinkId: link) == 1, "sent once, after the restart")
        }
    }

    /// `n` limit buys resting far below the market: intents stored unsent, which the sync sends
    /// (young creates), then new at the exchange.
    static func restingBuys(_ n: Int, stack: OMStack) async throws -> [String] {
        let links = (0..<n).map { _ in OrderEvents.orderLinkID(signalID: UUID().uuidString.lowercased(), leg: 0) }
        for link in links {
            let requested = OrderRequested(
                orderLinkId: link, signalID: "sig-amend", strategyID: "strat-1", leg: 0, category: .linear, symbol: "BTCUSDT",
                side: .buy, orderType: .limit, timeInForce: .postOnly, qty: Decimal(string: "0.01")!, price: 30_000,
                requestedAmount: 300, referencePrice: 30_000, reason: "no_resting_orders")
            _ = try await stack.log.append(to: OrderEvents.stream(orderLinkId: link), [
                try NewEvent(eventID: UUID(), payload: requested, metadata: EventMetadata(source: "test", receiveTime: .now()))])
        }
        try await stack.engine.sync(trigger: "test", categories: [.linear])
        for link in links { #expect(try await stack.waitOrder(link, [.new])?.status == .new) }
        await stack.engine.drainRequests()
        return links
    }

    @Test("amends stored but never answered (a crash between): the sync accepts one the exchange's order shows, resends a young one, settles an old one as not applied; none stays pending")
    func syncSettlesPendingAmends() async throws {
        var config = OMStack.config()
        config.repriceAfterMs = 0
        try await OMStack.with(config: config) { stack in
            let links = try await Self.restingBuys(3, stack: stack)
            // The first amend reached the exchange before the crash; the others never left, the
            // second logged just now, the third long ago.
            _ = try await stack.rest.amendOrder(RESTAmendOrder(category: .linear, symbol: "BTCUSDT", orderLinkId: links[0],
                                                               qty: nil, price: 30_001))
            let old = Timestamp(microsecondsSinceEpoch: Timestamp.now().microsecondsSinceEpoch - 600_000_000)
            for (link, (price, at)) in zip(links, [(Decimal(30_001), Timestamp.now()), (Decimal(30_002), Timestamp.now()), (Decimal(30_003), old)]) {
                let amend = OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1, qty: nil,
                                                price: price, signalID: "sig-amend", reason: "unfilled_timeout")
                _ = try await stack.log.append(to: OrderEvents.stream(orderLinkId: link), [
                    try NewEvent(eventID: UUID(), payload: amend, metadata: EventMetadata(source: "test", receiveTime: at))])
            }
            try await stack.engine.follow()
            for link in links { #expect(await stack.engine.state.order(link)?.pending == .amend) }

            let summary = try await stack.engine.sync(trigger: "test", categories: [.linear])
            #expect(summary.resent == 1)
            await stack.engine.drainRequests()
            try await stack.engine.follow()
            let landed = await stack.engine.state.order(links[0])
            #expect(landed?.pending == nil && landed?.price == 30_001 && landed?.status == .new)
            let resent = await stack.engine.state.order(links[1])
            #expect(resent?.pending == nil && resent?.price == 30_002 && resent?.status == .new)
            let lost = await stack.engine.state.order(links[2])
            #expect(lost?.pending == nil && lost?.price == 30_000 && lost?.status == .new && lost?.amendPrice == nil)
            let outcomes = try await stack.log.readStream(OrderEvents.stream(orderLinkId: links[2])).filter { $0.type == OrderRejected.eventType }
            let rejected = try CanonicalJSON.decoder.decode(OrderRejected.self, from: Data(try #require(outcomes.last).data))
            #expect(rejected.action == .amend && rejected.retMsg.contains("settled by sync"))
            // At the exchange: the resent amend's price.
            let open = try await stack.rest.openOrders(category: .linear, symbol: "BTCUSDT", orderLinkId: links[1]).list
            #expect(open.first?.price == 30_002)
            // A second sync finds nothing pending to settle.
            #expect(try await stack.engine.sync(trigger: "test", categories: [.linear]).settledIntents == 0)
        }
    }

    @Test("an amend in flight is left to its answer by a sync; an amend whose answer is lost is settled by query as not applied")
    func amendInFlightAndLost() async throws {
        var config = OMStack.config()
        config.repriceAfterMs = 0
        try await OMStack.with(config: config) { stack in
            let link = try await Self.restingBuys(1, stack: stack)[0]

            // The amend is stored and sent; the exchange never answers (the client times out in 2 s).
            let amend = OrderAmendRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", amendIndex: 1, qty: nil,
                                            price: 30_001, signalID: "sig-amend", reason: "unfilled_timeout")
            _ = try await stack.log.append(to: OrderEvents.stream(orderLinkId: link), [
                try NewEvent(eventID: UUID(), payload: amend, metadata: EventMetadata(source: "test", receiveTime: .now()))])
            try await stack.engine.follow()
            try await stack.simulator.timeoutNext(path: "/v5/order/amend")
            await stack.engine.dispatch([.amend(amend)])
            // A sync meanwhile leaves it alone.
            #expect(try await stack.engine.sync(trigger: "test", categories: [.linear]).settledIntents == 0)
            #expect(await stack.engine.state.order(link)?.pending == .amend)
            // The timeout: unknown, then settled by query as not applied (the exchange never ran it).
            await stack.engine.drainRequests()
            try await stack.engine.follow()
            let rec = await stack.engine.state.order(link)
            #expect(rec?.pending == nil && rec?.price == 30_000 && rec?.status == .new)
            let types = try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: link))
            #expect(types.suffix(2) == ["OrderOutcomeUnknown", "OrderRejected"])
            #expect(await stack.engine.requestsInFlight.isEmpty)
        }
    }

    /// A real process killed with SIGKILL after its request reached the exchange and before the
    /// answer (the simulator executes the order and withholds the reply): the restarted order
    /// manager settles the intent by querying, and exactly one order exists.
    @Test
    func crashAfterCallBeforeAck() async throws {
        let (id, body) = OMStack.signal(amount: "400")
        let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
        try await OMStack.with(before: { settings, amqp, sim, port in
            let conn = PGConnection(settings: settings)
            defer { Task { await conn.close() } }
            func count(_ type: String) async throws -> Int {
                Int(try await conn.scalar("SELECT count(*) FROM events WHERE type LIKE $1", [type]) ?? "0")!
            }
            // The exchange's state comes from a gateway in this process; the order manager is the child.
            let gateway = try OMStack.gateway(settings: settings, port: port)
            let group = ServiceGroup(configuration: .init(services: [.init(service: gateway)], logger: OMStack.logger))
            let running = Task { try await group.run() }
            defer { running.cancel() }
            #expect(try await TestDatabase.eventually(timeout: .seconds(30)) { try await count("ExchangeWallet%") > 0 })

            let child = Process()
            child.executableURL = TestDatabase.tradelogExecutable
            child.arguments = ["run", "--only", "order-manager", "--database", settings.url, "--log-level", "warning"]
            var env = ProcessInfo.processInfo.environment
            env["AMQP_URL"] = "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)"
            env["BYBIT_ENV"] = "http://127.0.0.1:\(port)"
            env["BYBIT_API_KEY"] = OMStack.credentials.apiKey
            env["BYBIT_API_SECRET"] = OMStack.credentials.secret
            env["TRADELOG_ORDER_API_PORT"] = "off"
            child.environment = env
            try child.run()
            defer { if child.isRunning { kill(child.processIdentifier, SIGKILL) } }
            // Started: instruments loaded and the start-up sync done.
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { try await count("OrderSyncCompleted") > 0 })

            try await sim.holdNextAnswer(path: "/v5/order/create")
            try await OMStack.publish([body], amqp: amqp)
            let rest = BybitRESTClient(environment: .custom("http://127.0.0.1:\(port)"), credentials: OMStack.credentials,
                                       httpClient: .shared, configuration: OMStack.restConfiguration, logger: OMStack.logger)
            #expect(try await TestDatabase.eventually(timeout: .seconds(30)) {
                try await OMStack.ordersAtExchange(link, rest: rest) == 1
            }, "the order reached the exchange")
            kill(child.processIdentifier, SIGKILL)
            while child.isRunning { try await Task.sleep(for: .milliseconds(20)) }
            // Died between the call and the answer: the intent is durable, no outcome is.
            let stream = try await EventLog(settings: settings).readStream(OrderEvents.stream(orderLinkId: link)).map(\.type)
            #expect(stream.contains("OrderRequested"))
            #expect(!stream.contains("OrderAccepted") && !stream.contains("OrderRejected") && !stream.contains("OrderOutcomeUnknown"))
            await group.triggerGracefulShutdown()
            _ = try? await running.value
        }) { stack in
            let rec = try await stack.waitOrder(link, [OrderManagerCore.OrderStatus.filled])
            #expect(rec?.status == .filled)
            #expect(try await stack.ordersAtExchange(link) == 1)
            // Not sent again after the restart (a resend would be refused as a duplicate
            // orderLinkId, and settled by the query all the same: only the count shows it).
            #expect(try await stack.simulator.createRequests(orderLinkId: link) == 1)
            let types = try await stack.eventTypes(stream: OrderEvents.stream(orderLinkId: link))
            #expect(types.filter { $0 == "OrderRequested" }.count == 1, "\(types)")
            // Settled by what the exchange reports (its order frames, or the query at start), never
            // as rejected or not placed.
            #expect(!types.contains("OrderRejected") && !types.contains("OrderNotPlaced"), "\(types)")
        }
    }
}

@Suite("Order requests in flight")
struct RequestSequenceTests {
    static func create(_ signal: String) -> OrderManager.OrderRequest {
        .create(OrderRequested(orderLinkId: "\(signal)-0", signalID: signal, strategyID: "s", leg: 0, category: .linear,
                               symbol: "BTCUSDT", side: .sell, orderType: .limit, timeInForce: .gtc, qty: 1, price: 100,
                               requestedAmount: 100, referencePrice: 100, reason: "test"))
    }

    static func cancel(_ link: String, signal: String?) -> OrderManager.OrderRequest {
        .cancel(OrderCancelRequested(orderLinkId: link, category: .linear, symbol: "BTCUSDT", signalID: signal, reason: "test"))
    }

    @Test("an answer before its intent is folded names the create that was sent: cause, signal and trace")
    func answerBeforeFold() throws {
        let intent = UUID()
        let sent = SentIntent(eventID: intent, signalID: "sig-9", traceID: "trace-9")
        let accepted = OrderAccepted(orderLinkId: "l-9", orderId: "o-9", action: .create, via: "rest", exchangeStatus: nil)
        let event = try #require(OrderManagerEngine.outcomeEvent(accepted, link: "l-9", kind: "accepted", record: nil,
                                                                 at: Timestamp(microsecondsSinceEpoch: 1), sent: sent))
        #expect(event.metadata.causationID == intent.lowercasedString && event.metadata.correlationID == "sig-9"
                && event.metadata.traceID == "trace-9")
        // Without either, nothing is made up.
        let bare = try #require(OrderManagerEngine.outcomeEvent(accepted, link: "l-9", kind: "accepted", record: nil,
                                                                at: Timestamp(microsecondsSinceEpoch: 1)))
        #expect(bare.metadata.causationID == nil && bare.metadata.correlationID == nil)
    }

    @Test("one signal's requests go one after another in the decision's order (its cancel before its create); other signals' and re-prices beside them")
    func sequences() {
        let batch = [Self.cancel("old-1", signal: "a"), Self.cancel("old-2", signal: "a"), Self.create("b"), Self.create("a"),
                     Self.cancel("resting-9", signal: nil), Self.create("c")]
        let groups = OrderManagerEngine.sequences(batch).map { $0.map { "\($0.action.rawValue) \($0.orderLinkId)" } }
        #expect(groups == [["cancel old-1", "cancel old-2", "create a-0"], ["create b-0"], ["cancel resting-9"], ["create c-0"]])
    }
}

@Suite("Executions recovered by the sync")
struct SyncExecutionTests {
    @Test("a REST execution's realized PnL and closed size reach the ExchangeExecution the sync logs (the daily loss counts them)")
    func execPnlKept() throws {
        let json = """
            {"symbol":"BTCUSDT","orderId":"o-1","orderLinkId":"l-1","side":"Sell","orderType":"Market","execId":"x-1",
             "execPrice":"50000","execQty":"0.01","execValue":"500","execFee":"0.3","feeRate":"0.0006","feeCurrency":"USDT",
             "execType":"Trade","execTime":"1700000000000","isMaker":false,"closedSize":"0.01","execPnl":"-12.5","seq":1}
            """
        let x = try JSONDecoder().decode(RESTExecution.self, from: Data(json.utf8))
        #expect(x.execPnl == Decimal(string: "-12.5") && x.closedSize == Decimal(string: "0.01"))
        let event = try SyncEvents.execution(x, category: .linear, receiveTime: Timestamp(microsecondsSinceEpoch: 1))
        let report = try CanonicalJSON.decoder.decode(ExchangeExecution.self, from: Data(event.data)).execution
        #expect(report.execPnl == Decimal(string: "-12.5") && report.execFee == Decimal(string: "0.3"))
    }
}
