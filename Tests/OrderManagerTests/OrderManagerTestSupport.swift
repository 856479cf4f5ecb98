import AMQP
import AsyncHTTPClient
import Bybit
import BybitClient
import BybitSimulator
import EventLog
import Foundation
import Gateway
import Hummingbird
import Logging
import NIOCore
import NIOFoundationCompat
import NIOHTTP1
import OrderManager
import OrderManagerCore
import PositionManager
import PositionManagerCore
import PostgresClient
import Recording
import Relay
import ServiceLifecycle
import Signals
import TradelogCore
import TradelogTesting

/// The order manager, the gateway, the intake and the relay against the simulator, the real
/// PostgreSQL and RabbitMQ, in one service group.
struct OMStack: Sendable {
    static let logger: Logger = {
        var l = Logger(label: "om-test")
        l.logLevel = .warning
        return l
    }()
    static let account = SimulatorAccount(apiKey: "om-key-1", secret: "om-secret-1")
    static let credentials = BybitCredentials(apiKey: "om-key-1", secret: "om-secret-1")

    let settings: PGSettings
    let amqp: AMQPSettings
    let simulator: BybitSimulator
    let port: Int
    let engine: OrderManagerEngine
    let service: OrderManagerService
    let log: EventLog
    let rest: BybitRESTClient
    let positions: PositionManagerEngine
    let positionService: PositionManagerService
    let gateway: GatewayService

    static func simulator(_ configure: (@Sendable (inout SimulatorConfiguration) -> Void)? = nil) -> BybitSimulator {
        var c = SimulatorConfiguration()
        c.source = .generate(seed: 11)
        c.symbols = ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
        c.rate = .perSecond(20)
        c.accounts = [account]
        configure?(&c)
        return BybitSimulator(configuration: c, logger: logger)
    }

    static func config() -> OrderManagerConfig {
        var c = OrderManagerConfig()
        c.venue = .simulator
        c.risk.maxSignalsPerMinute = 1000
        return c
    }

    static var restConfiguration: BybitRESTConfiguration {
        var r = BybitRESTConfiguration()
        r.requestTimeout = .seconds(2)
        return r
    }

    /// Runs the whole stack around `body` on fresh database, vhost and simulator.
    /// The position manager's intervals in these tests: snapshots every 2 s, a 2 s grace.
    static func positionConfig() -> PositionManagerConfig {
        var c = PositionManagerConfig()
        c.snapshotIntervalMs = 2000
        c.discrepancyGraceMs = 2000
        return c
    }

    static func with(config: OrderManagerConfig = config(), positions: PositionManagerConfig = positionConfig(),
                     simulator configure: (@Sendable (inout SimulatorConfiguration) -> Void)? = nil,
                     before: (@Sendable (PGSettings, AMQPSettings, BybitSimulator, Int) async throws -> Void)? = nil,
                     after: (@Sendable (PGSettings) async throws -> Void)? = nil,
                     recording: RecordingSink? = nil,
                     _ body: @Sendable (OMStack) async throws -> Void) async throws {
        try await TestDatabase.with { settings in
            try await TestBroker.with { amqp in
                let sim = simulator(configure)
                try await sim.withRunning { port in
                    if let before { try await before(settings, amqp, sim, port) }
                    try await run(settings: settings, amqp: amqp, simulator: sim, port: port, config: config, positions: positions,
                                  recording: recording, body)
                    trace("stack stopped; stopping the simulator")
                }
                if let after { try await after(settings) }
                trace("simulator stopped; removing the vhost")
            }
            trace("vhost removed; dropping the database")
        }
        trace("database dropped")
    }

    static func run(settings: PGSettings, amqp: AMQPSettings, simulator: BybitSimulator, port: Int, config: OrderManagerConfig,
                    positions: PositionManagerConfig = positionConfig(), recording: RecordingSink? = nil,
                    _ body: @Sendable (OMStack) async throws -> Void) async throws {
        let env = BybitEnvironment.custom("http://127.0.0.1:\(port)")
        let gateway = try Self.gateway(settings: settings, port: port, recording: recording)
        let log = EventLog(settings: settings)
        let rest = BybitRESTClient(environment: env, credentials: credentials, httpClient: .shared,
                                   configuration: restConfiguration, logger: logger)
        let engine = OrderManagerEngine(config: config, log: log, rest: rest, logger: logger)
        var options = OrderManagerServiceOptions()
        options.idleWait = .milliseconds(200)
        let service = OrderManagerService(engine: engine, settings: settings, options: options, logger: logger)
        var intakeOptions = SignalIntakeOptions()
        intakeOptions.pollTimeout = .milliseconds(100)
        intakeOptions.recording = recording
        let intake = SignalIntake(amqp: amqp, sink: OrderManagerSink(engine: engine, log: log), options: intakeOptions, logger: logger)
        let pm = PositionManagerEngine(config: positions, log: log, rest: rest, autoSyncEvery: .milliseconds(500), logger: logger)
        var pmOptions = PositionManagerServiceOptions()
        pmOptions.idleWait = .milliseconds(200)
        let pmService = PositionManagerService(engine: pm, settings: settings, options: pmOptions, logger: logger)
        var services: [any Service] = [gateway, service, intake, RelayService(amqp: amqp, settings: settings, logger: logger), pmService]
        for p in [try OrdersProjection() as any Projection, try SignalOrderRelationshipsProjection(), try PositionsProjection(),
                  try PositionSnapshotsProjection()] {
            var o = SubscriptionOptions()
            o.pollInterval = .milliseconds(200)
            services.append(Subscription(name: p.checkpointName, settings: settings, consumer: .projection(p), options: o, logger: logger))
        }
        // Which service starts and stops is logged at debug: a shutdown that hangs names its culprit.
        var groupLogger = Logger(label: "om-test.group")
        groupLogger.logLevel = ProcessInfo.processInfo.environment["TRADELOG_TEST_GROUP_DEBUG"] == "1" ? .debug : .warning
        let group = ServiceGroup(configuration: .init(services: services.map { .init(service: $0) }, logger: groupLogger))
        let running = Task { try await group.run() }
        let stack = OMStack(settings: settings, amqp: amqp, simulator: simulator, port: port, engine: engine, service: service,
                            log: log, rest: rest, positions: pm, positionService: pmService, gateway: gateway)
        do {
            try await stack.waitReady()
            try await body(stack)
            await group.triggerGracefulShutdown()
            try await running.value
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    /// Teardown steps on stderr with TRADELOG_TEST_GROUP_DEBUG=1 (to find a step that hangs).
    static func trace(_ text: String) {
        guard ProcessInfo.processInfo.environment["TRADELOG_TEST_GROUP_DEBUG"] == "1" else { return }
        FileHandle.standardError.write(Data("om-test teardown: \(text)\n".utf8))
    }

    /// The gateway with the private topics and a few public ones, against the simulator.
    /// A recorded session also subscribes every symbol's ticker (the replay's venue takes its mark prices from them).
    static func gateway(settings: PGSettings, port: Int, recording: RecordingSink? = nil) throws -> GatewayService {
        var g = GatewayConfiguration(environment: .custom("http://127.0.0.1:\(port)"))
        g.subscriptions = try parseSubscriptionList(
            "private:order,private:execution,private:wallet,private:position,linear:orderbook.50.BTCUSDT,linear:tickers.BTCUSDT,linear:orderbook.50.ETHUSDT,linear:orderbook.50.SOLUSDT"
                + (recording == nil ? "" : ",linear:tickers.ETHUSDT,linear:tickers.SOLUSDT"),
            source: "test")
        g.apiPort = nil
        g.credentials = credentials
        g.initialBackoffMs = 200
        g.maximumBackoffMs = 1000
        return try GatewayService(configuration: g, log: EventLog(settings: settings), logger: logger, recording: recording)
    }

    /// Ready: synced, with a wallet and a BTCUSDT book folded.
    func waitReady() async throws {
        let ok = try await TestDatabase.eventually(timeout: .seconds(30)) {
            guard service.isReady, positionService.isReady else { return false }
            _ = try await engine.follow()
            let s = await engine.state
            return s.account.walletKnown && s.market.book(.linear, "BTCUSDT") != nil
        }
        if !ok { throw TestBrokerError(message: "the order manager did not get ready (sync, wallet, book) in 30 s") }
    }

    /// The order API on a free port around `body` (API key ``apiKey``); `body` gets its base URL.
    func withAPI(_ body: @Sendable (String) async throws -> Void) async throws {
        let queries = PGConnection(settings: settings)
        try await serve(OrderAPI.router(engine: engine, service: service, queries: queries, apiKey: Self.apiKey, categories: [.linear, .spot]),
                        queries: queries, body)
    }

    /// The position API on a free port around `body` (API key ``apiKey``).
    func withPositionAPI(_ body: @Sendable (String) async throws -> Void) async throws {
        let queries = PGConnection(settings: settings)
        try await serve(PositionAPI.router(engine: positions, service: positionService, queries: queries, apiKey: Self.apiKey),
                        queries: queries, body)
    }

    func serve(_ router: Router<BasicRequestContext>, queries: PGConnection, _ body: @Sendable (String) async throws -> Void) async throws {
        let bound = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: 0)),
            onServerRunning: { channel in
                bound.continuation.yield(channel.localAddress?.port ?? 0)
                bound.continuation.finish()
            },
            logger: Self.logger)
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], logger: Self.logger))
        let running = Task { try await group.run() }
        var ports = bound.stream.makeAsyncIterator()
        let port = await ports.next() ?? 0
        do {
            try await body("http://127.0.0.1:\(port)")
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            await queries.close()
            throw error
        }
        await group.triggerGracefulShutdown()
        _ = try? await running.value
        await queries.close()
    }

    static let apiKey = "om-api-key-test"

    /// One HTTP call; returns the status and the JSON body.
    static func http(_ method: HTTPMethod, _ url: String, key: String? = apiKey, body: String? = nil) async throws -> (Int, [String: Any]) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let key { request.headers.add(name: "X-API-Key", value: key) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
        let bytes = try await response.body.collect(upTo: 1 << 22)
        let json = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
        return (Int(response.status.code), json)
    }

    /// The payload of the last event of `type` in a stream, as JSON.
    func payload(stream: String, type: String) async throws -> [String: Any]? {
        guard let e = try await log.readStream(stream).last(where: { $0.type == type }) else { return nil }
        return try JSONSerialization.jsonObject(with: Data(e.data)) as? [String: Any]
    }

    /// A seed-002 signal body.
    static func signal(id: UUID = UUID(), type: String = "buy", asset: String = "BTCUSDT", amount: String = "500",
                       confidence: String = "0.9", time: Timestamp = .now(), warmup: Bool = false, price: String = "50000",
                       strategy: String = "strat-test") -> (String, [UInt8]) {
        let sid = id.uuidString.lowercased()
        let body = """
            {"signal_id":"\(sid)","signal_type":"\(type)","asset":"\(asset)","amount":\(amount),"confidence":\(confidence),\
            "timestamp":"\(time.description)","strategy_id":"\(strategy)","model_version":"m1","is_warmup":\(warmup),\
            "market_data_snapshot":{"price":\(price),"spread":1.5,"volume_24h":1000000,"volatility":0.01,\
            "orderbook_depth":null,"technical_indicators":null},"metadata":null,"trace_id":"trace-\(sid.prefix(8))"}
            """
        return (sid, Array(body.utf8))
    }

    /// Publishes bodies to `model-service.trading_signals` with confirms.
    func publish(_ bodies: [[UInt8]]) async throws { try await Self.publish(bodies, amqp: amqp) }

    static func publish(_ bodies: [[UInt8]], amqp: AMQPSettings) async throws {
        let conn = AMQPConnection(settings: amqp, name: "test-publisher", logger: Self.logger)
        try await conn.open(confirms: true)
        try await conn.declare(queue: "model-service.trading_signals", arguments: QueueArguments.documented)
        let messages = bodies.map { AMQPMessage(queue: "model-service.trading_signals", body: $0) }
        var report = try await conn.publish(messages, window: messages.count)
        var settled = report.resolutions.count
        while settled < messages.count {
            report = try await conn.readConfirms(timeout: .seconds(5))
            if report.resolutions.isEmpty { break }
            settled += report.resolutions.count
        }
        await conn.close()
    }

    /// Waits until an order reaches one of `statuses`.
    func waitOrder(_ link: String, _ statuses: Set<OrderManagerCore.OrderStatus>, timeout: Duration = .seconds(20)) async throws -> OrderRecord? {
        _ = try await TestDatabase.eventually(timeout: timeout) {
            _ = try await engine.follow()
            return await engine.state.order(link).map { statuses.contains($0.status) } ?? false
        }
        return await engine.state.order(link)
    }

    /// Orders with this link id at the simulator (open and history).
    func ordersAtExchange(_ link: String, category: RESTCategory = .linear) async throws -> Int {
        try await Self.ordersAtExchange(link, category: category, rest: rest)
    }

    static func ordersAtExchange(_ link: String, category: RESTCategory = .linear, rest: BybitRESTClient) async throws -> Int {
        let open = try await rest.openOrders(category: category, symbol: "BTCUSDT", orderLinkId: link).list.count
        let history = try await rest.orderHistory(category: category, symbol: "BTCUSDT", orderLinkId: link).list.count
        return max(open, history)
    }

    /// The refusal or denial code a signal got (`reason` of `SignalRefused`, `code` of
    /// `OrderDenied`), once it is decided; nil if it was not refused.
    func refusal(_ signalID: String) async throws -> String? {
        let stream = SignalEvents.stream(signalID: signalID)
        _ = try await TestDatabase.eventually(timeout: .seconds(10)) { try await eventTypes(stream: stream).count >= 2 }
        guard let last = try await log.readStream(stream).last(where: { $0.type != SignalReceived.eventType }),
              let j = try JSONSerialization.jsonObject(with: Data(last.data)) as? [String: Any] else { return nil }
        return (j["code"] ?? j["reason"]) as? String
    }

    /// The exchange's view of our order with this link id (open first, then history).
    func exchangeOrder(_ link: String, symbol: String = "BTCUSDT", category: RESTCategory = .linear) async throws -> RESTOrder? {
        if let o = try await rest.openOrders(category: category, symbol: symbol, orderLinkId: link).list.first { return o }
        return try await rest.orderHistory(category: category, symbol: symbol, orderLinkId: link).list.first
    }

    func eventTypes(stream: String) async throws -> [String] {
        try await log.readStream(stream).map(\.type)
    }

    /// Bodies on a queue (drained), once it has at least `minimum` messages or `timeout`.
    func drain(_ queue: String, minimum: Int, timeout: Duration = .seconds(15)) async throws -> [[String: Any]] {
        var bodies: [[String: Any]] = []
        let deadline = ContinuousClock.now + timeout
        while bodies.count < minimum && ContinuousClock.now < deadline {
            let conn = AMQPConnection(settings: amqp, name: "test-drain", logger: Self.logger)
            do {
                try await conn.open(confirms: false)
                try await conn.consume(queue: queue, prefetch: 500)
                while true {
                    let ds = try await conn.nextDeliveries(max: 500, timeout: .milliseconds(500))
                    if ds.isEmpty { break }
                    for d in ds { bodies.append((try? JSONSerialization.jsonObject(with: Data(d.body))) as? [String: Any] ?? [:]) }
                    try await conn.ack(ds.last!.deliveryTag, multiple: true)
                }
            } catch {}
            await conn.close()
            if bodies.count < minimum { try await Task.sleep(for: .milliseconds(300)) }
        }
        return bodies
    }

    func scalar(_ sql: String, _ params: [String?] = []) async throws -> String? {
        let conn = PGConnection(settings: settings)
        defer { Task { await conn.close() } }
        return try await conn.scalar(sql, params)
    }
}
