import AsyncHTTPClient
import Bybit
import BybitClient
import BybitSimulator
import EventLog
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresClient
import ServiceLifecycle
import Testing
import TradelogCore
import TradelogTesting
@testable import Gateway

/// The gateway against the simulator, into the real PostgreSQL.
@Suite("Gateway end to end", .serialized)
struct GatewayIntegrationTests {
    static let logger: Logger = {
        var l = Logger(label: "gateway-test")
        l.logLevel = .warning
        return l
    }()

    static let account = SimulatorAccount(apiKey: "sim-key-1", secret: "sim-secret-1")

    static func simulator(rate: GenerationRate = .perSecond(40), symbols: [String] = ["BTCUSDT"]) -> BybitSimulator {
        var c = SimulatorConfiguration()
        c.source = .generate(seed: 7)
        c.symbols = symbols
        c.rate = rate
        c.accounts = [account]
        return BybitSimulator(configuration: c, logger: logger)
    }

    static func configuration(port: Int, subscriptions: [String], credentials: BybitCredentials? = nil) throws -> GatewayConfiguration {
        var c = GatewayConfiguration(environment: .custom("http://127.0.0.1:\(port)"))
        c.subscriptions = try parseSubscriptionList(subscriptions.joined(separator: ","), source: "test")
        c.apiKey = "test-api-key"
        c.apiPort = 0
        c.credentials = credentials
        c.initialBackoffMs = 200
        c.maximumBackoffMs = 1_000
        return c
    }

    /// Runs a gateway around `body` and stops it gracefully.
    static func withGateway<T: Sendable>(_ configuration: GatewayConfiguration, _ settings: PGSettings,
                                         _ body: @Sendable (GatewayService, EventLog) async throws -> T) async throws -> T {
        let log = EventLog(settings: settings)
        let gateway = try GatewayService(configuration: configuration, log: log, logger: logger)
        let group = ServiceGroup(configuration: .init(services: [gateway], logger: logger))
        let running = Task { try await group.run() }
        do {
            let value = try await body(gateway, log)
            await group.triggerGracefulShutdown()
            try await running.value
            return value
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }

    static func events(_ log: EventLog, stream: String) async throws -> [RecordedEvent] {
        try await log.readStream(stream, fromVersion: 1, limit: 100_000)
    }

    static func json(_ e: RecordedEvent) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(e.data)) as! [String: Any]
    }

    @Test("events dropped while the log is blocked (a full queue) are reported as GatewayDataDropped once it is back; the rest are stored in order")
    func dropsAreReportedAsAnEvent() async throws {
        try await TestDatabase.with { pg in
            let log = EventLog(settings: pg)
            let buffer = IngestBuffer(capacity: 100)
            let health = "gateway.health-droptest"
            let writer = LogWriter(log: log, buffer: buffer, maxBatch: 40, healthStream: health, logger: Self.logger)
            // The log blocked: another session holds the events table (appends wait, as on a stalled server).
            let blocker = PGConnection(settings: pg)
            try await blocker.execute("BEGIN")
            try await blocker.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            let running = Task { await writer.run() }
            func item(_ i: Int) -> IngestBuffer.Item {
                IngestBuffer.Item(stream: "test.feed-\(i % 3)", event: NewEvent(
                    eventID: DeterministicID.derived(from: "drop-test", index: i), type: "TestTick", data: Array("{\"i\":\(i)}".utf8),
                    metadata: EventMetadata(source: "test", receiveTime: Timestamp(microsecondsSinceEpoch: 1_000_000 + Int64(i)))))
            }
            var dropped = 0
            for i in 0..<300 { dropped += buffer.enqueue([item(i)]) }
            #expect(dropped == 200, "100 fit in the queue while the log is blocked")
            try await blocker.execute("ROLLBACK")
            await blocker.close()
            buffer.close()
            await running.value
            let stored = try await log.read(after: 0, limit: 10_000)
            let ticks = stored.filter { $0.type == "TestTick" }
            #expect(ticks.count == 100)
            #expect(ticks.map { $0.metadata.receiveTime?.microsecondsSinceEpoch ?? 0 } == (0..<100).map { 1_000_000 + Int64($0) },
                    "the first 100, in order")
            let reports = stored.filter { $0.type == GatewayDataDropped.eventType }
            #expect(reports.count == 1 && reports.first?.stream == health)
            let report = try reports.first.map { try CanonicalJSON.decoder.decode(GatewayDataDropped.self, from: Data($0.data)) }
            #expect(report?.events == 200 && report?.capacity == 100 && report?.categories == ["test.feed": 200])
            #expect(report?.firstReceive?.microsecondsSinceEpoch == 1_000_100 && report?.lastReceive?.microsecondsSinceEpoch == 1_000_299)
            #expect(writer.stats.appended == 100, "the report is not counted as appended data")
        }
    }

    @Test("garbage frames (not JSON, U+0000, bytes that are not UTF-8, unknown topics) are stored as events with their exact bytes, none refused")
    func garbageFramesAreStored() async throws {
        try await TestDatabase.with { pg in
            let log = EventLog(settings: pg)
            let buffer = IngestBuffer(capacity: 1_000)
            let writer = LogWriter(log: log, buffer: buffer, healthStream: "gateway.health-garbage", logger: Self.logger)
            let ingest = FrameIngest(channel: .linear, gatewayName: "garbage", connectionStream: "gateway.connections-garbage",
                                     buffer: buffer, recorder: nil, logger: Self.logger)
            let running = Task { await writer.run() }
            let frames: [[UInt8]] = [
                Array("not json".utf8), [0xff, 0xfe, 0x00], Array("{\"topic\":\"a\u{0}b\"}".utf8), [0x7b, 0x00, 0x7d],
                Array(#"{"topic":"insurance.USDT","type":"delta","ts":1,"data":[]}"#.utf8),
                Array(#"{"topic":"insurance.USDT","data":"\#u{0}"}"#.utf8), Array(repeating: 0xc3, count: 70_000),
                // An escaped U+0000 in a topic (valid JSON): the label is cleaned too.
                Array(#"{"topic":"a\u0000b","type":"delta","ts":1,"data":[]}"#.utf8), Array(repeating: 0x80, count: 70_000),
            ]
            let info = BybitStream.Info(connectionID: "linear-1", channel: .linear)
            for (i, f) in frames.enumerated() {
                _ = await ingest.streamFrame(info, bytes: f, at: Timestamp(microsecondsSinceEpoch: 2_000_000 + Int64(i)))
            }
            buffer.close()
            await running.value
            #expect(ingest.counters.unparsed == Int64(frames.count))
            #expect(writer.stats.rejected == 0, "the log refused none")
            let stored = try await log.read(after: 0, limit: 100).filter { $0.stream == "gateway.unparsed-linear" }
            #expect(stored.count == frames.count)
            for (e, f) in zip(stored, frames) {
                let o = try #require(try JSONSerialization.jsonObject(with: Data(e.data)) as? [String: Any])
                // The kept bytes: the whole frame, or its first 64 KiB (less up to 3 bytes, not to split a character).
                func keptExactly(_ bytes: [UInt8]?) -> Bool {
                    guard let bytes else { return false }
                    if f.count <= FrameDecoder.maxRawTextBytes { return bytes == f }
                    return bytes.count >= FrameDecoder.maxRawTextBytes - 3 && bytes == Array(f.prefix(bytes.count))
                }
                if let b64 = o["base64"] as? String {
                    #expect(keptExactly(Data(base64Encoded: b64).map(Array.init)), "the exact bytes of frame \(e.type)")
                } else {
                    #expect(keptExactly((o["text"] as? String).map { Array($0.utf8) }), "the exact text of frame \(e.type)")
                }
                #expect(o["byteCount"] as? Int == f.count)
            }
        }
    }

    @Test("frames from the simulator land in the log in receive order, with receive time and connection id, books continuous")
    func endToEnd() async throws {
        try await TestDatabase.with { settings in
            try await Self.simulator().withRunning { port in
                let config = try Self.configuration(port: port, subscriptions: [
                    "linear:orderbook.50.BTCUSDT", "linear:publicTrade.BTCUSDT", "linear:tickers.BTCUSDT",
                    "linear:kline.1.BTCUSDT", "spot:publicTrade.BTCUSDT", "spot:orderbook.50.BTCUSDT",
                ])
                try await Self.withGateway(config, settings) { gateway, log in
                    let book = "market.linear.orderbook-BTCUSDT"
                    #expect(try await TestDatabase.eventually {
                        let books = try await log.streamVersion(book)
                        let trades = try await log.streamVersion("market.linear.trade-BTCUSDT")
                        let spot = try await log.streamVersion("market.spot.trade-BTCUSDT")
                        let tickers = try await log.streamVersion("market.linear.ticker-BTCUSDT")
                        return books >= 30 && trades >= 3 && spot >= 3 && tickers >= 3
                    })
                    let bookEvents = try await Self.events(log, stream: book)
                    let first = try Self.json(bookEvents[0])
                    #expect(bookEvents[0].type == "OrderBookUpdated" && first["type"] as? String == "snapshot")
                    var lastU = -1
                    for e in bookEvents where e.type == "OrderBookUpdated" {
                        let d = try Self.json(e)
                        let u = (d["u"] as? NSNumber)?.intValue ?? Int(d["u"] as? String ?? "") ?? -1
                        if d["type"] as? String == "delta" { #expect(u == lastU + 1, "u must rise by 1") }
                        lastU = u
                        #expect(e.metadata.receiveTime != nil && e.metadata.exchangeTime != nil)
                        #expect(e.metadata.source?.hasPrefix("gateway/linear-") == true)
                    }
                    #expect(!bookEvents.contains { $0.type == "OrderBookInvalidated" })
                    let funding = try await Self.events(log, stream: "market.linear.funding-BTCUSDT")
                    #expect(funding.first?.type == "FundingRateUpdated")
                    // Receive order = log order on each connection, across all its streams. (Two
                    // connections stamp their frames independently, so between them the log
                    // follows arrival at the gateway's queue.)
                    let all = try await log.read(after: 0, limit: 100_000)
                    let sources = Set(all.compactMap(\.metadata.source).filter { $0.hasPrefix("gateway/") })
                    #expect(sources.count == 2)
                    for source in sources {
                        let times = all.filter { $0.metadata.source == source }.compactMap(\.metadata.receiveTime)
                        #expect(times == times.sorted(), "receive order on \(source)")
                    }
                    let markers = try await Self.events(log, stream: config.connectionStream)
                    #expect(Set(markers.filter { $0.type == "StreamConnected" }.map { try! Self.json($0)["channel"] as! String }) == ["spot", "linear"])
                    let health = await gateway.health()
                    #expect(health["linear.unparsed"] == "0")
                }
            }
        }
    }

    @Test("PostgreSQL unavailable when the gateway starts: it waits and retries, then starts once the database is there")
    func startsOnceTheDatabaseIsThere() async throws {
        let admin = PGConnection(settings: TestDatabase.baseSettings)
        let name = "tradelog_test_late_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").prefix(12).lowercased()
        let settings = TestDatabase.baseSettings.with(database: name)
        defer { Task { try? await admin.execute("DROP DATABASE IF EXISTS \(PGConnection.quoteIdentifier(name)) WITH (FORCE)"); await admin.close() } }
        try await Self.simulator().withRunning { port in
            let config = try Self.configuration(port: port, subscriptions: ["linear:publicTrade.BTCUSDT"])
            try await Self.withGateway(config, settings) { _, log in
                // The database does not exist yet: the gateway keeps trying instead of failing the process.
                try await Task.sleep(for: .milliseconds(1500))
                try await admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(name))")
                let conn = PGConnection(settings: settings)
                _ = try await Migrator(directory: TestDatabase.schemaDirectory).migrate(on: conn)
                await conn.close()
                #expect(try await TestDatabase.eventually(timeout: .seconds(30)) {
                    try await Self.events(log, stream: config.subscriptionStream).map(\.type) == ["SubscriptionAdded"]
                })
                #expect(try await TestDatabase.eventually(timeout: .seconds(30)) { try await log.streamVersion("market.linear.trade-BTCUSDT") > 0 })
            }
        }
    }

    @Test("subscriptions through the API need X-API-Key, validate, are stored as events and restored after a restart")
    func api() async throws {
        try await TestDatabase.with { settings in
            try await Self.simulator().withRunning { port in
                let config = try Self.configuration(port: port, subscriptions: ["linear:publicTrade.BTCUSDT"])
                let client = HTTPClient.shared
                try await Self.withGateway(config, settings) { gateway, log in
                    let api = "http://127.0.0.1:\(await gateway.boundAPIPort())/api/v1/subscriptions"
                    func call(_ method: HTTPMethod, _ url: String, _ body: String? = nil, key: String? = "test-api-key") async throws -> (Int, [String: Any]) {
                        var request = HTTPClientRequest(url: url)
                        request.method = method
                        if let key { request.headers.add(name: "X-API-Key", value: key) }
                        if let body {
                            request.headers.add(name: "Content-Type", value: "application/json")
                            request.body = .bytes(ByteBuffer(string: body))
                        }
                        let response = try await client.execute(request, timeout: .seconds(10))
                        let bytes = try await response.body.collect(upTo: 1 << 20)
                        let object = (try? JSONSerialization.jsonObject(with: Data(buffer: bytes))) as? [String: Any] ?? [:]
                        return (Int(response.status.code), object)
                    }
                    #expect(try await call(.GET, api, key: nil).0 == 401)
                    #expect(try await call(.GET, api, key: "wrong").0 == 401)
                    let bad = try await call(.POST, api, #"{"channel_type":"orderbook","symbol":"BTCUSDT","depth":7}"#)
                    #expect(bad.0 == 400 && bad.1["field"] as? String == "depth")
                    #expect(try await call(.POST, api, "not json").0 == 400)
                    let mistyped = try await call(.POST, api, #"{"channel_type":"orderbook","symbol":"BTCUSDT","depth":"50"}"#)
                    #expect(mistyped.0 == 400 && mistyped.1["field"] as? String == "depth", "\(mistyped.1)")
                    let created = try await call(.POST, api, #"{"channel_type":"orderbook","symbol":"BTCUSDT","category":"linear","requesting_service":"feature-service"}"#)
                    #expect(created.0 == 201 && created.1["id"] as? String == "linear:orderbook.1.BTCUSDT")
                    #expect(try await call(.POST, api, #"{"channel_type":"orderbook","symbol":"BTCUSDT"}"#).0 == 200)
                    #expect(try await TestDatabase.eventually {
                        let list = try await call(.GET, api).1["subscriptions"] as? [[String: Any]] ?? []
                        return list.count == 2 && list.allSatisfy { $0["status"] as? String == "active" }
                    })
                    #expect(try await TestDatabase.eventually { try await log.streamVersion("market.linear.orderbook-BTCUSDT") > 0 })
                    let trades = try await call(.DELETE, api + "/linear:publicTrade.BTCUSDT")
                    #expect(trades.0 == 200 && trades.1["status"] as? String == "removed")
                    #expect(try await call(.DELETE, api + "/linear:publicTrade.BTCUSDT").0 == 404)
                    let stored = try await Self.events(log, stream: config.subscriptionStream).map(\.type)
                    #expect(stored == ["SubscriptionAdded", "SubscriptionAdded", "SubscriptionRemoved"])
                }
                // A new gateway without config subscriptions restores the API's from the log.
                var restarted = config
                restarted.subscriptions = []
                try await Self.withGateway(restarted, settings) { gateway, _ in
                    let restored = try await TestDatabase.eventually {
                        let list = await gateway.list()
                        return list.map(\.id) == ["linear:orderbook.1.BTCUSDT"] && list[0].status == "active"
                    }
                    #expect(restored)
                }
            }
        }
    }

    @Test("a subscription change that lands while the gateway misses its answer (another writer here) is caught up: the change fails once, the landed topic is subscribed, the next change succeeds")
    func subscriptionCatchUp() async throws {
        try await TestDatabase.with { settings in
            try await Self.simulator().withRunning { port in
                let config = try Self.configuration(port: port, subscriptions: ["linear:publicTrade.BTCUSDT"])
                try await Self.withGateway(config, settings) { gateway, log in
                    #expect(try await TestDatabase.eventually { await gateway.list().count == 1 })
                    // The stream moves without the gateway knowing (as when an append's reply is lost).
                    let landed = SubscriptionAdded(channel: .linear, topic: "tickers.BTCUSDT", channelType: "ticker", symbol: "BTCUSDT",
                                                   requestedBy: "test", via: "api")
                    _ = try await log.append(to: config.subscriptionStream, [try NewEvent(eventID: UUID(), payload: landed)])
                    let request = SubscriptionRequest(channelType: "orderbook", symbol: "BTCUSDT", category: "linear")
                    await #expect(throws: (any Error).self) { _ = try await gateway.add(request) }
                    // Caught up: the landed topic is there and subscribed; the change goes through when asked again.
                    #expect(await gateway.list().map(\.id).contains("linear:tickers.BTCUSDT"))
                    #expect(try await TestDatabase.eventually { try await log.streamVersion("market.linear.ticker-BTCUSDT") > 0 })
                    let (view, created) = try await gateway.add(request)
                    #expect(created && view.id == "linear:orderbook.1.BTCUSDT")
                    #expect(try await Self.events(log, stream: config.subscriptionStream).count == 3)
                    // A landed change holding the very id the next one derives: the log answers
                    // "duplicate", which is no success; caught up, the next change goes through.
                    let stream = config.subscriptionStream
                    let sameID = DeterministicID.derived(from: "\(stream)/4", kind: "added")
                    let other = SubscriptionAdded(channel: .linear, topic: "tickers.ETHUSDT", channelType: "ticker", symbol: "ETHUSDT",
                                                  requestedBy: "test", via: "api")
                    _ = try await log.append(to: stream, [try NewEvent(eventID: sameID, payload: other)])
                    let eth = SubscriptionRequest(channelType: "trades", symbol: "ETHUSDT", category: "linear")
                    await #expect(throws: (any Error).self) { _ = try await gateway.add(eth) }
                    #expect(await gateway.list().map(\.id).contains("linear:tickers.ETHUSDT"))
                    #expect(try await gateway.add(eth).created)
                    #expect(try await Self.events(log, stream: stream).count == 5)
                }
            }
        }
    }

    @Test("a dropped socket is reconnected and resubscribed; a skipped u invalidates the book, which is resynced")
    func reconnectAndGap() async throws {
        try await TestDatabase.with { settings in
            let simulator = Self.simulator()
            try await simulator.withRunning { port in
                let config = try Self.configuration(port: port, subscriptions: ["linear:orderbook.50.BTCUSDT", "linear:publicTrade.BTCUSDT"])
                try await Self.withGateway(config, settings) { gateway, log in
                    let book = "market.linear.orderbook-BTCUSDT"
                    #expect(try await TestDatabase.eventually { try await log.streamVersion(book) >= 10 })
                    _ = try await simulator.dropSockets(channel: .linear)
                    #expect(try await TestDatabase.eventually {
                        let markers = try await Self.events(log, stream: config.connectionStream).map(\.type)
                        return markers.filter { $0 == "StreamConnected" }.count == 2 && markers.contains("StreamDisconnected")
                    })
                    // After the reconnect the book starts again from a snapshot and both topics are active again.
                    #expect(try await TestDatabase.eventually {
                        let snapshots = try await Self.events(log, stream: book).filter { (try? Self.json($0)["type"] as? String) == "snapshot" }
                        let active = await gateway.stream(.linear)?.activeTopics ?? []
                        return snapshots.count >= 2 && active.count == 2
                    })
                    let before = try await log.streamVersion(book)
                    try await simulator.skipUpdateId(topic: "orderbook.50.BTCUSDT", channel: .linear)
                    #expect(try await TestDatabase.eventually {
                        let events = try await Self.events(log, stream: book)
                        guard let gap = events.lastIndex(where: { $0.type == "OrderBookInvalidated" }) else { return false }
                        return events[(gap + 1)...].contains { (try? Self.json($0)["type"] as? String) == "snapshot" }
                    })
                    let invalidated = try await Self.events(log, stream: book).filter { $0.type == "OrderBookInvalidated" }
                    #expect(invalidated.count == 1)
                    #expect(invalidated.first.map { $0.streamVersion > before } == true)
                    #expect((await gateway.ingestCounters()[.linear]?.resyncs ?? 0) >= 1)
                }
            }
        }
    }

    @Test("a socket that goes silent is declared dead and replaced, without waiting for TCP")
    func deadSocket() async throws {
        try await TestDatabase.with { settings in
            let simulator = Self.simulator()
            try await simulator.withRunning { port in
                var config = try Self.configuration(port: port, subscriptions: ["linear:publicTrade.BTCUSDT"])
                config.pingIntervalMs = 60_000
                config.deadAfterMs = 1_500
                let connections = config.connectionStream
                try await Self.withGateway(config, settings) { gateway, log in
                    let warm = try await TestDatabase.eventually { try await log.streamVersion("market.linear.trade-BTCUSDT") >= 2 }
                    #expect(warm)
                    try await simulator.setPaused(true)
                    let replaced = try await TestDatabase.eventually(timeout: .seconds(20)) {
                        let markers = try await Self.events(log, stream: connections)
                        let reasons = markers.filter { $0.type == "StreamDisconnected" }.compactMap { try? Self.json($0)["reason"] as? String }
                        return markers.filter { $0.type == "StreamConnected" }.count >= 2 && reasons.contains { $0.contains("no frame") }
                    }
                    #expect(replaced)
                    try await simulator.setPaused(false)
                    let resumed = try await TestDatabase.eventually { (await gateway.stream(.linear)?.activeTopics.count ?? 0) == 1 }
                    #expect(resumed)
                }
            }
        }
    }

    @Test("the same frames delivered twice (a reconnect replaying them) are stored once")
    func duplicateFrames() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let buffer = IngestBuffer(capacity: 10_000)
            let ingest = FrameIngest(channel: .linear, gatewayName: "t", connectionStream: "gateway.connections-t",
                                     buffer: buffer, recorder: nil, logger: Self.logger)
            let frames = [
                #"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":1700000000000,"data":[{"T":1700000000000,"s":"BTCUSDT","S":"Buy","v":"0.001","p":"65000.5","L":"PlusTick","i":"t-1","BT":false,"seq":1}]}"#,
                #"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1700000000001,"data":{"s":"BTCUSDT","b":[["64999","1"]],"a":[["65001","2"]],"u":10,"seq":100},"cts":1700000000001}"#,
                #"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":1700000000002,"data":{"s":"BTCUSDT","b":[["64999","0"]],"a":[],"u":11,"seq":101},"cts":1700000000002}"#,
            ]
            let info1 = BybitStreamInfoFactory.make("linear-1")
            let info2 = BybitStreamInfoFactory.make("linear-2")
            for f in frames { _ = await ingest.streamFrame(info1, bytes: Array(f.utf8), at: .now()) }
            _ = await ingest.streamConnected(info2, url: "ws://x", at: .now())
            for f in frames { _ = await ingest.streamFrame(info2, bytes: Array(f.utf8), at: .now()) }
            let writer = LogWriter(log: log, buffer: buffer, healthStream: "gateway.health-t", logger: Self.logger)
            buffer.close()
            await writer.run()
            #expect(writer.stats.appended == 4)  // 3 market events + 1 connection marker
            #expect(writer.stats.duplicates == 3)
            let version = try await log.streamVersion("market.linear.orderbook-BTCUSDT")
            #expect(version == 2)
        }
    }

    @Test("an event the log refuses for its contents is recorded as refused in the health stream; the rest are stored in order")
    func refusedEvent() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let buffer = IngestBuffer(capacity: 100)
            func item(_ n: Int, _ json: String) -> IngestBuffer.Item {
                IngestBuffer.Item(stream: "market.linear.trade-BTCUSDT",
                                  event: NewEvent(eventID: DeterministicID.derived(from: "refused-test", index: n), type: "TradeExecuted",
                                                  data: Array(json.utf8)))
            }
            let bad = item(2, #"{"price":NaN}"#)
            _ = buffer.enqueue([item(1, #"{"n":1}"#), bad, item(3, #"{"n":3}"#)])
            let writer = LogWriter(log: log, buffer: buffer, healthStream: "gateway.health-t", logger: Self.logger)
            buffer.close()
            await writer.run()
            #expect(writer.stats.appended == 2 && writer.stats.rejected == 1)
            #expect(try await log.readStream("market.linear.trade-BTCUSDT").map(\.eventID)
                    == [DeterministicID.derived(from: "refused-test", index: 1), DeterministicID.derived(from: "refused-test", index: 3)])
            let health = try await log.readStream("gateway.health-t")
            #expect(health.map(\.type) == [EventRefused.eventType])
            let refused = try CanonicalJSON.decoder.decode(EventRefused.self, from: Data(try #require(health.first).data))
            #expect(refused.eventID == bad.event.eventID && refused.stream == bad.stream && refused.sqlState?.hasPrefix("22") == true)
        }
    }

    @Test("a private stream with a bad key surfaces the auth error (event, API status), and never logs the secret")
    func badKey() async throws {
        try await TestDatabase.with { settings in
            try await Self.simulator().withRunning { port in
                let creds = BybitCredentials(apiKey: Self.account.apiKey, secret: "not-the-secret")
                let config = try Self.configuration(port: port, subscriptions: ["private:order", "private:execution"], credentials: creds)
                try await Self.withGateway(config, settings) { gateway, log in
                    #expect(try await TestDatabase.eventually {
                        try await Self.events(log, stream: config.connectionStream).contains { $0.type == "StreamAuthFailed" }
                    })
                    // With credentials the account's four topics are there (two added by default).
                    let list = await gateway.list()
                    #expect(list.count == 4 && list.allSatisfy { $0.status == "failed" && ($0.message ?? "").contains("auth refused") })
                    let all = try await log.read(after: 0, limit: 10_000)
                    #expect(!all.contains { String(decoding: $0.data, as: UTF8.self).contains("not-the-secret") })
                }
            }
        }
    }

    @Test("a wallet load that fails is retried: the snapshot is stored after Bybit answers again")
    func walletLoadRetried() async throws {
        try await TestDatabase.with { settings in
            let sim = Self.simulator()
            try await sim.withRunning { port in
                // The first load fails with an answer the REST client does not retry itself (as when
                // its own retries of an outage are used up).
                try await sim.failNext(path: "/v5/account/wallet-balance", retCode: 10001)
                let creds = BybitCredentials(apiKey: Self.account.apiKey, secret: Self.account.secret)
                let config = try Self.configuration(port: port, subscriptions: ["private:wallet"], credentials: creds)
                try await Self.withGateway(config, settings) { _, log in
                    let loaded = try await TestDatabase.eventually(timeout: .seconds(20)) {
                        try await Self.events(log, stream: "exchange.wallet-UNIFIED").contains { $0.type == "ExchangeWalletSnapshot" }
                    }
                    #expect(loaded)
                }
            }
        }
    }

    @Test("a private stream with a good key authenticates, subscribes, loads the wallet over REST, and records order and execution frames")
    func goodKey() async throws {
        try await TestDatabase.with { settings in
            try await Self.simulator().withRunning { port in
                let creds = BybitCredentials(apiKey: Self.account.apiKey, secret: Self.account.secret)
                // No private topic configured: with credentials the account's four are added by
                // default (seed 000's order manager subscribes `order` itself).
                let config = try Self.configuration(port: port, subscriptions: [], credentials: creds)
                try await Self.withGateway(config, settings) { gateway, log in
                    let active = try await TestDatabase.eventually {
                        let list = await gateway.list()
                        return list.count == 4 && list.allSatisfy { $0.status == "active" }
                    }
                    #expect(active)
                    let list = await gateway.list()
                    #expect(list.map { "\($0.id) \($0.requestingService) \($0.via)" } == [
                        "private:order order-manager default", "private:execution order-manager default",
                        "private:wallet order-manager default", "private:position position-manager default",
                    ])
                    // No wallet snapshot on subscribe: the gateway loads it over REST.
                    let snapshot = try await TestDatabase.eventually {
                        try await Self.events(log, stream: "exchange.wallet-UNIFIED").contains { $0.type == "ExchangeWalletSnapshot" }
                    }
                    #expect(snapshot)
                    // An order placed over REST comes back as private frames, decoded into the log.
                    let rest = BybitRESTClient(environment: .custom("http://127.0.0.1:\(port)"), credentials: creds, httpClient: .shared)
                    let ack = try await rest.createOrder(RESTCreateOrder(
                        category: .linear, symbol: "BTCUSDT", side: .buy, orderType: .market, qty: Decimal(string: "0.01")!,
                        orderLinkId: "gw-test-1"))
                    let orderStream = "exchange.order-\(ack.orderId)"
                    let seen = try await TestDatabase.eventually {
                        let order = try await Self.events(log, stream: orderStream)
                        let fills = try await log.readCategory("exchange.execution", after: 0, limit: 1_000)
                        return order.contains { $0.type == "ExchangeOrderUpdated" } && fills.contains { $0.type == "ExchangeExecution" }
                    }
                    #expect(seen)
                    let order = try await Self.events(log, stream: orderStream)
                    #expect(order.contains { (try? Self.json($0)["orderLinkId"] as? String) == "gw-test-1" })
                }
            }
        }
    }
}

enum BybitStreamInfoFactory {
    static func make(_ id: String) -> BybitStream.Info { .init(connectionID: id, channel: .linear) }
}
