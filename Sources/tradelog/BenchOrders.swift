import AMQP
import ArgumentParser
import Bybit
import BybitClient
import BybitSimulator
import EventLog
import Foundation
import Gateway
import Logging
import OrderManager
import OrderManagerCore
import PostgresClient
import Relay
import ServiceLifecycle
import Signals
import Synchronization
import TradelogCore

struct BenchOrders: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "orders",
        abstract: "Tick-to-trade of the order manager against the simulator, and the signals/s it sustains.",
        discussion: """
            Runs the simulator, the gateway, the order manager and its signal intake in this \
            process, on a scratch database next to --database and queues prefixed `bench.<pid>.` \
            at AMQP_URL (both removed afterwards). Tick-to-trade is the time from the intake \
            reading a signal from RabbitMQ to the simulator's HTTP server reading the order \
            request, with the intent committed in between: an upper bound on "written to the \
            socket", measured one signal at a time. Signals/s: signals are published at rising \
            rates, round-robin over the symbols, and the highest rate whose every signal became \
            a durable intent without falling behind is the figure. The simulator's order rate \
            limit is raised so that Bybit's pacing (10/s for a default account) does not hide \
            what is measured. Ends with one `key: value` line per figure.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Signals timed one at a time for tick-to-trade.")
    var samples = 2000

    @Option(help: "Pause after each timed signal, in ms (the previous order settles meanwhile).")
    var gapMs = 20

    @Option(help: "Linear symbols the signals go round-robin over (the policy allows one unsettled order per symbol).")
    var symbols = 50

    @Option(help: "Offered rates for the throughput steps, signals/s, comma-separated, ascending.")
    var rates = "50,100,150,200,300,400,600,800"

    @Option(help: "Seconds of signals per throughput step.")
    var stepSeconds = 3

    func run() async throws {
        db.bootstrapLogging()
        #if DEBUG
        print("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let offered = rates.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
        guard samples >= 100, symbols >= 1, !offered.isEmpty, offered.allSatisfy({ $0 > 0 }), stepSeconds >= 1 else {
            throw ValidationError("need --samples ≥ 100, --symbols ≥ 1, --rates of positive integers and --step-seconds ≥ 1")
        }
        let amqp = try AMQPSettings.fromEnvironment()
        let scratch = "tradelog_benchorders_\(getpid())"
        let prefix = "bench.\(getpid())."
        try await withScratchDatabase(db.settings("tradelog:bench"), name: scratch) { settings in
            print("scratch database \(scratch), queues \(prefix)*, \(amqp.redactedURL)")
            let bench = OrderBench(settings: settings, amqp: amqp, prefix: prefix, symbols: symbols)
            do {
                try await bench.run(samples: samples, gapMs: gapMs, rates: offered, stepSeconds: stepSeconds)
            } catch {
                await deleteQueues(amqp, prefix)
                throw error
            }
            await deleteQueues(amqp, prefix)
        }
    }

    private func deleteQueues(_ amqp: AMQPSettings, _ prefix: String) async {
        let control = AMQPConnection(settings: amqp, name: "bench-control")
        if (try? await control.open(confirms: false)) != nil {
            for q in [OrderBench.queue(prefix), OrderBench.queue(prefix) + ".dlq"] { _ = try? await control.delete(queue: q) }
            await control.close()
        }
    }
}

/// Timestamps from the two observers, on one monotonic clock (ns).
final class TickProbe: Sendable {
    private struct Marks {
        var delivered: [String: UInt64] = [:]
        var requested: [String: UInt64] = [:]
    }

    private let marks = Mutex(Marks())

    static func now() -> UInt64 { DispatchTime.now().uptimeNanoseconds }

    /// The intake read these deliveries (message id = signal id).
    func delivered(_ ds: [AMQPDelivery]) {
        let t = Self.now()
        marks.withLock { m in for d in ds { if let id = d.messageID { m.delivered[id] = m.delivered[id] ?? t } } }
    }

    /// The simulator read an order request.
    func request(path: String, body: String) {
        let t = Self.now()
        guard path == "/v5/order/create", let link = Self.orderLinkId(in: body) else { return }
        marks.withLock { m in m.requested[link] = m.requested[link] ?? t }
    }

    func delivery(_ signalID: String) -> UInt64? { marks.withLock { $0.delivered[signalID] } }
    func request(_ link: String) -> UInt64? { marks.withLock { $0.requested[link] } }
    var requestCount: Int { marks.withLock { $0.requested.count } }

    static func orderLinkId(in body: String) -> String? {
        guard let r = body.range(of: #""orderLinkId":""#) else { return nil }
        let rest = body[r.upperBound...]
        guard let end = rest.firstIndex(of: "\"") else { return nil }
        return String(rest[..<end])
    }
}

/// Signals whose batch is durable (with its decisions), and when the last one became so.
final class DurableCount: Sendable {
    private let value = Mutex((count: 0, lastNs: UInt64(0)))

    func add(_ n: Int) {
        let t = TickProbe.now()
        value.withLock { $0 = ($0.count + n, t) }
    }

    var count: Int { value.withLock { $0.count } }
    var snapshot: (count: Int, lastNs: UInt64) { value.withLock { $0 } }
}

/// The order manager's sink, counting what it made durable.
struct CountingSink: SignalSink {
    let inner: OrderManagerSink
    let durable: DurableCount

    func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        let result = try await inner.append(appends)
        durable.add(appends.reduce(0) { $0 + $1.events.filter { $0.type == SignalReceived.eventType }.count })
        return result
    }

    func received(signalID: String) async throws -> SignalReceived? { try await inner.received(signalID: signalID) }

    func isReady() async -> Bool { await inner.isReady() }
}

/// The stack under test and the two measurements.
struct OrderBench {
    let settings: PGSettings
    let amqp: AMQPSettings
    let prefix: String
    let symbolCount: Int

    init(settings: PGSettings, amqp: AMQPSettings, prefix: String, symbols: Int) {
        self.settings = settings
        self.amqp = amqp
        self.prefix = prefix
        self.symbolCount = symbols
    }

    static func queue(_ prefix: String) -> String { prefix + "model-service.trading_signals" }

    /// Generic small-cap symbols of the simulator (price 1, step 1), plus BTCUSDT for the book.
    var symbols: [String] { (0..<symbolCount).map { String(format: "B%02dUSDT", $0) } }

    func run(samples: Int, gapMs: Int, rates: [Int], stepSeconds: Int) async throws {
        var logger = Logger(label: "bench.orders")
        logger.logLevel = .error
        let probe = TickProbe()
        let account = SimulatorAccount(apiKey: "bench-key", secret: "bench-secret",
                                       balances: ["USDT": Fixed(100_000_000)], leverage: 10)
        var sc = SimulatorConfiguration(symbols: symbols, rate: .perSecond(10), accounts: [account])
        sc.categories = [.linear]
        sc.source = .generate(seed: 5)
        sc.bookLevels = 50
        sc.orderRateLimit = 1_000_000
        sc.onRESTRequest = { probe.request(path: $0, body: $1) }
        let simulator = BybitSimulator(configuration: sc, logger: logger)
        let simTask = Task { try await simulator.run() }
        defer { simTask.cancel() }
        let port = try await simulator.boundPort()

        let env = BybitEnvironment.custom("http://127.0.0.1:\(port)")
        let credentials = BybitCredentials(apiKey: account.apiKey, secret: account.secret)
        var g = GatewayConfiguration(environment: env)
        g.subscriptions = try parseSubscriptionList("private:order,private:execution,private:wallet,private:position", source: "bench")
        g.apiPort = nil
        g.credentials = credentials
        let gateway = try GatewayService(configuration: g, log: EventLog(settings: settings), logger: logger)

        var config = OrderManagerConfig()
        config.venue = .simulator
        // The limits are not what is measured: none may refuse a benchmark signal.
        config.risk.maxSignalsPerMinute = 10_000_000
        config.risk.maxOpenOrdersPerAsset = 1_000_000
        config.risk.dailyLossLimit = 1_000_000_000
        config.risk.maxGrossExposure = 1_000_000_000
        // The bench subscribes no market data (it times the decision and the request, not the
        // books): its signals are sized on their snapshot price.
        config.allowSnapshotReference = true
        var restConfig = BybitRESTConfiguration()
        restConfig.rateLimits.ipLimit = 1_000_000
        let log = EventLog(settings: settings)
        let rest = BybitRESTClient(environment: env, credentials: credentials, httpClient: .shared, configuration: restConfig, logger: logger)
        let engine = OrderManagerEngine(config: config, log: log, rest: rest, logger: logger)
        var options = OrderManagerServiceOptions()
        options.categories = [.linear]
        let service = OrderManagerService(engine: engine, settings: settings, options: options, logger: logger)
        var intakeOptions = SignalIntakeOptions()
        intakeOptions.queue = Self.queue(prefix)
        intakeOptions.deadLetterQueue = intakeOptions.queue + ".dlq"
        intakeOptions.pollTimeout = .milliseconds(50)
        intakeOptions.onDeliveries = { probe.delivered($0) }
        let durable = DurableCount()
        let sink = CountingSink(inner: OrderManagerSink(engine: engine, log: log), durable: durable)
        let intake = SignalIntake(amqp: amqp, sink: sink, options: intakeOptions, logger: logger)
        let services: [any Service] = [gateway, service, intake]
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: logger))
        let running = Task { try await group.run() }

        let publisher = AMQPConnection(settings: amqp, name: "bench-publisher")
        do {
            try await waitReady(service: service, engine: engine)
            try await publisher.open(confirms: false)
            try await publisher.declare(queue: intakeOptions.queue, arguments: .documented)
            print("ready: simulator on port \(port), \(symbolCount) symbols")

            var n = 0
            func next() -> (String, [UInt8]) {
                defer { n += 1 }
                return signal(n)
            }
            // Warm-up: connections, caches and the JIT-free but cold paths.
            for _ in 0..<50 { _ = try await timed(next(), publisher: publisher, probe: probe, gapMs: gapMs) }
            var ticks: [Double] = []
            for i in 0..<samples {
                ticks.append(try await timed(next(), publisher: publisher, probe: probe, gapMs: gapMs))
                if (i + 1) % 500 == 0 { print("tick-to-trade: \(i + 1)/\(samples)") }
            }
            ticks.sort()
            func pct(_ p: Double) -> Double { ticks[min(ticks.count - 1, Int((Double(ticks.count) * p).rounded(.up)) - 1)] }
            print("tick-to-trade over \(ticks.count) signals: p50 \(fmt3(pct(0.5))) ms, p99 \(fmt3(pct(0.99))) ms, "
                  + "p999 \(fmt3(pct(0.999))) ms, max \(fmt3(ticks.last!)) ms")

            var best = 0.0
            for rate in rates {
                let step = try await throughput(rate: rate, seconds: stepSeconds, next: next, publisher: publisher,
                                                durable: durable, engine: engine)
                print("offered \(rate)/s: \(step.signals) signals, \(step.intents) intents, \(step.refused) refused, "
                      + "achieved \(fmt0(step.achieved))/s, behind by \(step.lagMs) ms at the end → \(step.sustained ? "sustained" : "not sustained")")
                if step.sustained { best = max(best, step.achieved) } else { break }
            }
            let refused = await engine.counters.refused
            if refused > 0 {
                let conn = PGConnection(settings: settings)
                let reasons = try? await conn.scalar(
                    "SELECT string_agg(k || ': ' || n, ', ' ORDER BY k) FROM (SELECT coalesce(data->>'code', data->>'reason') AS k, "
                        + "count(*) AS n FROM events WHERE type IN ('SignalRefused', 'OrderDenied') GROUP BY 1) x", [])
                await conn.close()
                print("refused signals: \(refused) (\(reasons ?? "reasons unknown")); a refused signal is not counted as sustained")
            }

            print("")
            print("tick_to_trade_p50_ms: \(fmt3(pct(0.5)))")
            print("tick_to_trade_p99_ms: \(fmt3(pct(0.99)))")
            print("tick_to_trade_p999_ms: \(fmt3(pct(0.999)))")
            print("signals_per_s: \(fmt0(best))")
        } catch {
            await publisher.close()
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
        await publisher.close()
        await engine.drainRequests()
        await group.triggerGracefulShutdown()
        _ = try? await running.value
    }

    func waitReady(service: OrderManagerService, engine: OrderManagerEngine) async throws {
        let deadline = ContinuousClock.now + .seconds(60)
        while ContinuousClock.now < deadline {
            if service.isReady {
                _ = try await engine.follow()
                if await engine.state.account.walletKnown { return }
            }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw ValidationError("the order manager was not ready (instruments, sync, wallet) within 60 s")
    }

    /// Signal `n`: round-robin over the symbols, each symbol alternating buy and sell.
    func signal(_ n: Int) -> (String, [UInt8]) {
        let symbol = symbols[n % symbols.count]
        let side = (n / symbols.count) % 2 == 0 ? "buy" : "sell"
        let id = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "bench-orders/\(getpid())/\(n)").lowercasedString
        let body = """
            {"signal_id":"\(id)","signal_type":"\(side)","asset":"\(symbol)","amount":20,"confidence":0.9,\
            "timestamp":"\(Timestamp.now().description)","strategy_id":"bench","model_version":"bench","is_warmup":false,\
            "market_data_snapshot":{"price":1,"spread":0.0001,"volume_24h":1000000,"volatility":0.01,\
            "orderbook_depth":null,"technical_indicators":null},"metadata":null,"trace_id":"bench-\(n)"}
            """
        return (id, Array(body.utf8))
    }

    /// Publishes one signal and waits for its order request at the simulator; returns ms.
    func timed(_ s: (String, [UInt8]), publisher: AMQPConnection, probe: TickProbe, gapMs: Int) async throws -> Double {
        let (id, body) = s
        var m = AMQPMessage(queue: Self.queue(prefix), body: body)
        m.messageID = id
        _ = try await publisher.publish([m], window: 1)
        let link = OrderEvents.orderLinkID(signalID: id, leg: 0)
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let end = probe.request(link), let start = probe.delivery(id) {
                if gapMs > 0 { try await Task.sleep(for: .milliseconds(gapMs)) }
                return Double(end &- start) / 1e6
            }
            try await Task.sleep(for: .microseconds(100))
        }
        throw ValidationError("signal \(id) reached no order request in 10 s (refused? see the log's SignalRefused/OrderDenied)")
    }

    struct Step {
        var signals: Int
        var intents: Int
        var refused: Int
        var achieved: Double
        var lagMs: Int64
        var sustained: Bool
    }

    /// Publishes `rate × seconds` signals at `rate`, then waits until all are durable.
    func throughput(rate: Int, seconds: Int, next: () -> (String, [UInt8]), publisher: AMQPConnection,
                    durable: DurableCount, engine: OrderManagerEngine) async throws -> Step {
        let total = rate * seconds
        let before = durable.count
        let refusedBefore = await engine.counters.refused
        let clock = ContinuousClock()
        let start = clock.now
        let startNs = TickProbe.now()
        // Bursts every 10 ms keep the offered rate without a sleep per message.
        var sent = 0
        var tick = 0
        while sent < total {
            tick += 1
            let due = min(total, rate * tick / 100)
            if due > sent {
                let batch = (sent..<due).map { _ -> AMQPMessage in
                    let (id, body) = next()
                    var m = AMQPMessage(queue: Self.queue(prefix), body: body)
                    m.messageID = id
                    return m
                }
                _ = try await publisher.publish(batch, window: batch.count)
                sent = due
            }
            try await Task.sleep(until: start.advanced(by: .milliseconds(10 * tick)), clock: clock)
        }
        let publishedNs = TickProbe.now()
        let deadline = clock.now + .seconds(max(10, seconds * 5))
        while durable.count - before < total && clock.now < deadline {
            try await Task.sleep(for: .milliseconds(1))
        }
        let (all, lastNs) = durable.snapshot
        let count = all - before
        let refused = await engine.counters.refused - refusedBefore
        let elapsed = Double(lastNs &- startNs) / 1e9
        let lagMs = lastNs > publishedNs ? Int64((lastNs - publishedNs) / 1_000_000) : 0
        // Kept up: everything durable, nothing refused, and at most 250 ms behind the last publish.
        let sustained = count == total && refused == 0 && lagMs <= 250
        // Let the orders settle before the next step (one unsettled order per symbol is allowed).
        try await Task.sleep(for: .milliseconds(500))
        await engine.drainRequests()
        return Step(signals: count, intents: count - refused, refused: refused,
                    achieved: elapsed > 0 ? Double(count) / elapsed : 0, lagMs: lagMs, sustained: sustained)
    }
}
