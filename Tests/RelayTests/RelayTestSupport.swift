import AMQP
import Bybit
import EventLog
import Foundation
import OrderManagerCore
import PositionManagerCore
import Relay
import Signals
import Testing
import TradelogCore
import TradelogTesting

/// Events of every routed type: the gateway's decoded from the Bybit fixtures (the real
/// shapes), the order manager's as real payloads, the other later issues' as plain objects,
/// and a generated signal.
enum RelaySamples {
    static let fixtures = TestDatabase.repositoryRoot.appendingPathComponent("Tests/BybitTests/Fixtures")

    static func frame(_ name: String) throws -> [UInt8] {
        var bytes = Array(try Data(contentsOf: fixtures.appendingPathComponent(name)))
        while let last = bytes.last, last == 0x0a || last == 0x0d || last == 0x20 { bytes.removeLast() }
        return bytes
    }

    static func docsExample(_ name: String, _ index: Int) throws -> [UInt8] {
        let doc = try JSONDocument(parsing: Array(try Data(contentsOf: fixtures.appendingPathComponent("docs_examples/" + name))))
        return Array(doc.root.elements[index].rawBytes)
    }

    static func events() throws -> [StreamAppend] {
        let at = Timestamp(microsecondsSinceEpoch: 1_764_106_500_000_000)
        var decoded: [DecodedEvent] = []
        var spot = FrameDecoder(channel: .spot)
        decoded += spot.decode(try frame("ws_public_trade_spot.json"), receivedAt: at).events
        var linear = FrameDecoder(channel: .linear)
        for f in ["ws_ticker_linear_snapshot_2023.json", "ws_orderbook_snapshot_linear_ob500.json",
                  "ws_orderbook_delta_linear_ob500.json", "ws_kline_linear_2024.json", "ws_all_liquidation.json"] {
            decoded += linear.decode(try frame(f), receivedAt: at).events
        }
        var priv = FrameDecoder(channel: .private)
        for f in ["ws_private_order_linear_market_close_testnet_2024.json", "ws_private_wallet_testnet_2024.json"] {
            decoded += priv.decode(try frame(f), receivedAt: at).events
        }
        decoded += priv.decode(try docsExample("ws_private_position.json", 1), receivedAt: at).events
        var out = decoded.map { e in
            StreamAppend(stream: e.stream, events: [NewEvent(
                eventID: e.eventID, type: e.type, data: e.data,
                metadata: EventMetadata(source: "gateway:test", exchangeTime: e.exchangeTime, receiveTime: at))])
        }
        let later = ["FeaturesComputed", "DatasetReady", "OrderLifecycleChanged", "OrderExecuted", "PositionUpdated",
                     "PortfolioUpdated", "PositionSnapshotCreated"]
        for (i, type) in later.enumerated() {
            let eventID = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "relay-sample/\(type)")
            let metadata = EventMetadata(correlationID: "corr-\(i)", traceID: "trace-\(i)", source: "test")
            let event: NewEvent
            switch type {
            // The order manager's payloads are defined: real values, encoded as the log stores them.
            case OrderLifecycleChanged.eventType:
                event = try NewEvent(eventID: eventID, payload: orderLifecycleChanged(traceID: "trace-\(i)"), metadata: metadata)
            case OrderExecuted.eventType:
                event = try NewEvent(eventID: eventID, payload: orderExecuted(traceID: "trace-\(i)"), metadata: metadata)
            // The position manager's payloads: what its fold derives from a fill, a wallet and a snapshot request.
            case PositionUpdated.eventType, PortfolioUpdated.eventType, PositionSnapshotCreated.eventType:
                let data = try #require(positionSamples()[type])
                event = NewEvent(eventID: eventID, type: type, data: data,
                                 metadata: EventMetadata(correlationID: "corr-\(i)", traceID: "trace-\(i)", source: "position-manager"))
            default:
                event = NewEvent(eventID: eventID, type: type, data: Array(#"{"sample": true, "n": \#(i)}"#.utf8), metadata: metadata)
            }
            out.append(StreamAppend(stream: "sample-\(type)", events: [event]))
        }
        let signal = try SignalParser.parse(SignalSamples.valid(index: 0, seed: 7)).get()
        out.append(StreamAppend(stream: "model.signals-test", events: [try NewEvent(
            eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "relay-sample/signal"),
            payload: SignalGenerated(signal: signal),
            metadata: EventMetadata(correlationID: signal.signalID, traceID: signal.traceID, source: "model"))]))
        return out
    }

    /// The data of the first event of each type the position manager derives from a linear
    /// fill with an average entry of many digits, a wallet frame and a snapshot request.
    static func positionSamples() throws -> [String: [UInt8]] {
        var state = PositionManagerState()
        var out: [String: [UInt8]] = [:]
        let inputs: [(String, String, String)] = [
            (ExchangeExecution.self.eventType, "exchange.execution-o1", #"{"category":"linear","symbol":"BTCUSDT","execId":"x1","execType":"Trade","execPrice":"66517.5","execQty":"0.002","execFee":"0.0731","feeCurrency":"USDT","orderId":"o1","side":"Buy","execTime":1764106500321,"markPrice":"66520"}"#),
            (ExchangeExecution.self.eventType, "exchange.execution-o2", #"{"category":"linear","symbol":"BTCUSDT","execId":"x2","execType":"Trade","execPrice":"66517.7","execQty":"0.001","execFee":"0.0366","feeCurrency":"USDT","orderId":"o2","side":"Buy","execTime":1764106501321}"#),
            (ExchangeWalletUpdated.eventType, "exchange.wallet-UNIFIED", #"{"accountType":"UNIFIED","totalWalletBalance":"10000","totalEquity":"10000.01","coin":[{"coin":"USDT","walletBalance":"10000","equity":"10000.01"}]}"#),
            (PositionSnapshotRequested.eventType, "positionmanager.control-snapshots", #"{"requestID":"relay-sample","reason":"test"}"#),
        ]
        for (i, (type, stream, json)) in inputs.enumerated() {
            let at = Timestamp(millisecondsSinceEpoch: 1_764_106_500_321 + Int64(i) * 1000)
            let e = RecordedEvent(globalPosition: Int64(i + 1), eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "pm-sample/\(i)"),
                                  stream: stream, streamVersion: 1, type: type, schemaVersion: 1, data: Array(json.utf8),
                                  metadata: EventMetadata(exchangeTime: at), recordedAt: at)
            for d in state.apply(e) where out[d.event.type] == nil { out[d.event.type] = d.event.data }
        }
        return out
    }

    static let orderSignalID = "0b9d2c4e-5f61-4a7b-8c9d-0e1f2a3b4c5d"
    static let orderID = "c6f055d9-7f21-4f2a-9c11-8d3f0c6a7e21"
    /// An average over fills of different prices: a Decimal quotient with many digits, which
    /// must reach the consumer as a JSON number unchanged.
    static let averagePrice = Decimal(string: "66517.566666666666666666666666666666667")!

    /// A filled linear market buy after its second fill (`price` and `reason` absent, as the fold writes them).
    static func orderLifecycleChanged(traceID: String) -> OrderLifecycleChanged {
        OrderLifecycleChanged(
            orderLinkId: OrderEvents.orderLinkID(signalID: orderSignalID, leg: 0), orderId: orderID, signalID: orderSignalID,
            strategyID: "strat-001", traceID: traceID, category: .linear, symbol: "BTCUSDT", side: .buy, orderType: .market,
            status: .filled, previousStatus: .partiallyFilled, cause: "ExchangeExecution",
            requestedAmount: Decimal(string: "200")!, requestedQty: Decimal(string: "0.003")!,
            executedQty: Decimal(string: "0.003")!, averagePrice: averagePrice, fees: Decimal(string: "0.1097538")!,
            feeCurrency: "USDT", slippageBps: Decimal(string: "2.6316")!, latencyToAckMs: 42, latencyToFillMs: 57)
    }

    /// The second fill of that order.
    static func orderExecuted(traceID: String) -> OrderExecuted {
        OrderExecuted(
            orderLinkId: OrderEvents.orderLinkID(signalID: orderSignalID, leg: 0), orderId: orderID,
            execId: "e0c1f7a2-9b3d-5e4f-8a6b-7c8d9e0f1a2b", signalID: orderSignalID, strategyID: "strat-001", traceID: traceID,
            category: .linear, symbol: "BTCUSDT", side: .buy, execQty: Decimal(string: "0.002")!,
            execPrice: Decimal(string: "66520.1")!, execFee: Decimal(string: "0.0731721")!, feeCurrency: "USDT", isMaker: false,
            execTime: 1_764_106_500_321, executedQty: Decimal(string: "0.003")!, averagePrice: averagePrice,
            slippageBps: Decimal(string: "2.6316")!, latencyToFillMs: 57)
    }

    /// `n` small events spread over a few routed types (for the failure tests).
    static func load(_ n: Int, from start: Int = 0) -> [StreamAppend] {
        let types = [("MarketTrades", "market.linear.trade-BTCUSDT"), ("TickerUpdated", "market.linear.ticker-BTCUSDT"),
                     ("OrderBookUpdated", "market.linear.orderbook-BTCUSDT"), ("ExchangeOrderUpdated", "exchange.order-x"),
                     ("SystemNote", "notes-1")]
        var out: [StreamAppend] = []
        for i in start..<(start + n) {
            let (type, stream) = types[i % types.count]
            out.append(StreamAppend(stream: stream, events: [NewEvent(
                eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "relay-load/\(i)"),
                type: type, data: Array(#"{"i": \#(i), "type": "delta"}"#.utf8))]))
        }
        return out
    }
}

/// Drains queues with our own client (the Python validator is the independent one).
enum QueueReader {
    struct Message {
        var messageID: String
        var globalPosition: Int64
    }

    static func drain(_ queue: String, _ settings: AMQPSettings, atLeast: Int = 0) async throws -> [Message] {
        try await drainDeliveries(queue, settings, atLeast: atLeast).map { d in
            let body = try JSONSerialization.jsonObject(with: Data(d.body)) as? [String: Any]
            return Message(messageID: d.messageID ?? "", globalPosition: (body?["global_position"] as? NSNumber)?.int64Value ?? -1)
        }
    }

    /// Every body (and string headers) left in a queue, consumed and acked.
    static func drainBodies(_ queue: String, _ settings: AMQPSettings) async throws -> [(body: [UInt8], headers: [String: String])] {
        try await drainDeliveries(queue, settings).map { ($0.body, $0.headers) }
    }

    /// Every delivery left in a queue (declared first if missing), consumed and acked: until
    /// 500 ms pass without one, or, with `atLeast`, until that many came or 20 s pass without
    /// one (a broker slowed by a loaded machine pauses longer than 500 ms).
    static func drainDeliveries(_ queue: String, _ settings: AMQPSettings, atLeast: Int = 0) async throws -> [AMQPDelivery] {
        let c = AMQPConnection(settings: settings, name: "test-reader")
        try await c.open(confirms: false)
        try await c.declare(queue: queue, arguments: queue.hasSuffix(".dlq") ? QueueArguments(durable: true) : .documented)
        try await c.consume(queue: queue, prefetch: 1000)
        var out: [AMQPDelivery] = []
        var quiet = ContinuousClock.now
        while true {
            let batch = try await c.nextDeliveries(max: 1000, timeout: .milliseconds(500))
            if batch.isEmpty {
                if out.count >= atLeast || ContinuousClock.now - quiet > .seconds(20) { break }
                continue
            }
            quiet = ContinuousClock.now
            out += batch
            try await c.ack(batch.last!.deliveryTag, multiple: true)
        }
        await c.close()
        return out
    }

    /// Checks "every event delivered, order kept per queue, duplicates only with the same
    /// message_id" and returns the number of duplicates.
    static func checkDelivery(_ messages: [Message], expected: [Int64: String]) -> (missing: [Int64], outOfOrder: Int, badDuplicates: Int, duplicates: Int) {
        var seen: [Int64: String] = [:]
        var last: Int64 = 0
        var outOfOrder = 0, badDuplicates = 0, duplicates = 0
        for m in messages {
            if let id = seen[m.globalPosition] {
                duplicates += 1
                if id != m.messageID { badDuplicates += 1 }
                continue
            }
            if m.globalPosition < last { outOfOrder += 1 }
            last = m.globalPosition
            seen[m.globalPosition] = m.messageID
            if expected[m.globalPosition] != m.messageID { badDuplicates += 1 }
        }
        let missing = expected.keys.filter { seen[$0] == nil }.sorted()
        return (missing, outOfOrder, badDuplicates, duplicates)
    }

    /// Drains each queue and checks it against the log's events routed to it: every event
    /// delivered, log order kept, duplicates only with the same message_id. Returns how many
    /// events each queue should have had.
    static func expectEveryEventDelivered(_ queues: [String], log: EventLog, _ settings: AMQPSettings) async throws -> [String: Int] {
        let events = try await log.read(after: 0, limit: 1_000_000)
        var counts: [String: Int] = [:]
        for queue in queues {
            let types = RelayRoutes.standard.eventTypes(for: queue)
            let expected = Dictionary(uniqueKeysWithValues: events.filter { types.contains($0.type) }
                .map { ($0.globalPosition, $0.eventID.lowercasedString) })
            let check = checkDelivery(try await drain(queue, settings, atLeast: expected.count), expected: expected)
            #expect(check.missing.isEmpty, "\(queue): \(check.missing.count) missing")
            #expect(check.outOfOrder == 0 && check.badDuplicates == 0, "\(queue)")
            counts[queue] = expected.count
        }
        return counts
    }
}

/// The independent validator: Python, pika and jsonschema (venv made by scripts/pyenv.sh).
enum PythonValidator {
    static func python() async throws -> String {
        if let p = ProcessInfo.processInfo.environment["TRADELOG_PYTHON"], !p.isEmpty { return p }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-pyenv-\(UUID().uuidString)").path
        let rc = try await runShell("bash '\(TestDatabase.repositoryRoot.path)/scripts/pyenv.sh' > '\(out)'")
        guard rc == 0 else { throw TestBrokerError(message: "scripts/pyenv.sh failed (\(rc))") }
        return try String(contentsOfFile: out, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs validate_queues.py; returns its exit status and its JSON report.
    static func validate(_ settings: AMQPSettings, queues: [String]) async throws -> (Int32, [String: Any]) {
        let python = try await python()
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-validate-\(UUID().uuidString).json").path
        let url = "amqp://\(settings.user):\(settings.password)@\(settings.host):\(settings.port)/\(settings.virtualHost)"
        let root = TestDatabase.repositoryRoot.path
        let rc = try await runShell(
            "'\(python)' '\(root)/Tests/RelayTests/validate_queues.py' --amqp-url '\(url)' --schemas '\(root)/schema/messages' "
                + "--out '\(out)' --idle-seconds 1 " + queues.map { "'\($0)'" }.joined(separator: " ") + " 1>&2")
        let data = (try? Data(contentsOf: URL(fileURLWithPath: out))) ?? Data()
        try? FileManager.default.removeItem(atPath: out)
        let report = (try? JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
        return (rc, report)
    }
}
