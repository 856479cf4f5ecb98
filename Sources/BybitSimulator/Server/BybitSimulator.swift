import Bybit
import Foundation
import Hummingbird
import HummingbirdWebSocket
import Logging
import NIOCore
import ServiceLifecycle
import TradelogCore

/// A local Bybit v5: REST and WebSockets on 127.0.0.1, markets generated from a seed or
/// replayed from a recording, orders matched against that book, faults on demand.
///
/// Run it as a `Service` (in a `ServiceGroup`) and read the port with `boundPort()`.
public final class BybitSimulator: Service, Sendable {
    public let configuration: SimulatorConfiguration
    let logger: Logger
    let port = PortPromise()
    let engineBox = Locked<SimulatorEngine?>(nil)
    let held = HeldRequests()

    public init(configuration: SimulatorConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    /// The bound port, once listening (throws if `run()` failed before that).
    public func boundPort() async throws -> Int { try await port.value() }

    /// `http://127.0.0.1:PORT`, usable with `BybitEnvironment.custom(_:)`.
    public func baseURL() async throws -> String { "http://\(configuration.host):\(try await boundPort())" }

    public func run() async throws {
        let engine: SimulatorEngine
        do {
            engine = SimulatorEngine(venue: try makeVenue(), logger: logger, maxPending: configuration.maxPendingFrames)
        } catch {
            port.fail(error)
            throw error
        }
        engineBox.withLock { $0 = engine }
        let app = Application(
            responder: CallbackResponder<BasicRequestContext> { [self] request, _ in
                try await self.respond(request, engine: engine)
            },
            server: .http1WebSocketUpgrade(
                webSocketRouter: webSocketRouter(engine),
                configuration: .init(ws: .init(maxFrameSize: 1 << 22, autoPing: .disabled))),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port)),
            onServerRunning: { [port, logger, configuration] channel in
                let bound = channel.localAddress?.port ?? configuration.port
                logger.info("bybit simulator listening", metadata: ["url": "http://\(configuration.host):\(bound)"])
                port.set(bound)
            },
            logger: logger)
        do {
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask { try await app.run() }
                group.addTask {
                    await withGracefulShutdownHandler {
                        await cancelWhenGracefulShutdown { await self.drive(engine) }
                    } onGracefulShutdown: { [held = self.held] in
                        held.releaseAll()
                        Task { _ = await engine.dropSockets(nil) }
                    }
                }
            }
        } catch {
            port.fail(error)
            throw error
        }
        held.releaseAll()
        port.fail(CancellationError())
    }

    func makeVenue() throws -> Venue {
        let c = configuration
        var instruments = c.resolvedInstruments
        var generated: GeneratedFeed?
        var replay: ReplayFeed?
        var seed: UInt64 = 0
        let now = Timestamp.now().microsecondsSinceEpoch / 1000
        switch c.source {
        case .generate(let s):
            seed = s
            generated = GeneratedFeed(instruments: instruments, seed: s, levels: c.bookLevels, startMs: now)
        case .fixture(let path, _):
            let r = try ReplayFeed(path: path, configured: c.instruments)
            instruments = r.instruments
            replay = r
        }
        var accounts: [Account] = []
        var secrets: [String: String] = [:]
        for (n, a) in c.accounts.enumerated() {
            accounts.append(Account(apiKey: a.apiKey, uid: Int64(100_000_001 + n),
                                    coins: c.balances(for: a, instruments: instruments), leverage: a.leverage))
            secrets[a.apiKey] = a.secret
        }
        var venue = Venue(instruments: instruments, accounts: accounts, secrets: secrets, fees: c.fees,
                          generated: generated, replay: replay, seed: seed)
        venue.enforceRateLimits = c.enforceRateLimits
        return venue
    }

    static func nowMs() -> Int64 { Timestamp.now().microsecondsSinceEpoch / 1000 }

    /// The market clock: generator steps at the configured rate, or replay at recorded pacing.
    func drive(_ engine: SimulatorEngine) async {
        let clock = ContinuousClock()
        switch configuration.source {
        case .generate:
            switch configuration.rate {
            case .manual:
                try? await Task.sleep(for: .seconds(86_400 * 365))
            case .perSecond(let n):
                let interval = Duration.nanoseconds(Int64(1e9 / n))
                var next = clock.now
                while !Task.isCancelled {
                    _ = await engine.step(now: Self.nowMs())
                    next = next.advanced(by: interval)
                    if next < clock.now.advanced(by: .seconds(-1)) { next = clock.now }  // fell far behind: don't burst
                    try? await Task.sleep(until: next, clock: clock)
                }
            case .max:
                while !Task.isCancelled {
                    if await !engine.hasSubscribers {
                        try? await Task.sleep(for: .milliseconds(10))
                        _ = await engine.step(now: Self.nowMs())
                        continue
                    }
                    for _ in 0..<16 { _ = await engine.step(now: Self.nowMs()) }
                    while !Task.isCancelled, await engine.largestPending() > configuration.highWaterFrames {
                        try? await Task.sleep(for: .microseconds(500))
                    }
                }
            }
        case .fixture(_, let speed):
            let startWall = clock.now
            var startRecorded: Int64?
            while !Task.isCancelled {
                switch speed {
                case .asFastAsPossible:
                    let (_, finished) = await engine.replay(until: nil, count: 64, now: Self.nowMs())
                    if finished { try? await Task.sleep(for: .seconds(86_400 * 365)) }
                    while !Task.isCancelled, await engine.largestPending() > configuration.highWaterFrames {
                        try? await Task.sleep(for: .microseconds(500))
                    }
                case .recorded(let multiplier):
                    let base = await engine.replayStart()
                    startRecorded = startRecorded ?? base
                    let elapsed = clock.now - startWall
                    let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
                    let t = (startRecorded ?? 0) + Int64(micros * multiplier)
                    let (_, finished) = await engine.replay(until: t, count: 0, now: Self.nowMs())
                    if finished { try? await Task.sleep(for: .seconds(86_400 * 365)) }
                    try? await Task.sleep(for: .milliseconds(1))
                }
            }
        }
    }

    // MARK: WebSockets

    func webSocketRouter(_ engine: SimulatorEngine) -> Router<SimulatorSocketContext> {
        let router = Router(context: SimulatorSocketContext.self)
        for (path, channel) in [("/v5/public/spot", BybitChannel.spot), ("/v5/public/linear", .linear), ("/v5/private", .private)] {
            router.ws(RouterPath(path)) { inbound, outbound, context in
                try await Self.serve(channel: channel, inbound: inbound, outbound: outbound,
                                     nio: context.requestContext.channel, engine: engine)
            }
        }
        return router
    }

    static func serve(
        channel: BybitChannel, inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter,
        nio: any Channel, engine: SimulatorEngine
    ) async throws {
        let (id, outbox) = await engine.connect(channel: channel) { nio.close(promise: nil) }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while let batch = await outbox.next() {
                    do {
                        for frame in batch {
                            try await outbound.write(.custom(.init(fin: true, opcode: .text, data: frame)))
                        }
                    } catch {
                        outbox.close()
                        break
                    }
                    outbox.sent(batch.count)
                }
            }
            do {
                for try await message in inbound.messages(maxSize: 1 << 20) {
                    if case .text(let text) = message { await engine.receive(id, text: text, now: nowMs()) }
                }
            } catch {}
            outbox.close()
            await group.waitForAll()
        }
        await engine.disconnect(id)
    }

    // MARK: HTTP

    func respond(_ request: Request, engine: SimulatorEngine) async throws -> Response {
        let path = request.uri.path
        let body = try await request.body.collect(upTo: 1 << 20)
        if path.hasPrefix("/sim/") { return await control(path, query: RestRequest.parseQuery(request.uri.query ?? ""), engine: engine) }
        var headers: [String: String] = [:]
        for field in request.headers { headers[field.name.canonicalName] = field.value }
        let r = RestRequest(method: request.method.rawValue, path: path, rawQuery: request.uri.query ?? "",
                            body: String(buffer: body), headers: headers)
        switch await engine.rest(r, now: Self.nowMs()) {
        case .reply(let reply):
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            for (k, v) in reply.headers { if let name = HTTPFields.Element.Name(k) { fields[name] = v } }
            return Response(status: .init(code: reply.status), headers: fields,
                             body: .init(byteBuffer: ByteBuffer(bytes: reply.body)))
        case .hang:
            await held.hold()
            return Response(status: .gatewayTimeout)
        }
    }

    func control(_ path: String, query q: [String: String], engine: SimulatorEngine) async -> Response {
        func ok(_ extra: String = "") -> Response {
            var fields = HTTPFields()
            fields[.contentType] = "application/json"
            return Response(status: .ok, headers: fields, body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":true\(extra)}")))
        }
        func bad(_ text: String) -> Response {
            Response(status: .badRequest, body: .init(byteBuffer: ByteBuffer(string: "{\"ok\":false,\"error\":\"\(text)\"}")))
        }
        let channel = q["channel"].flatMap { BybitChannel(rawValue: $0) }
        if q["channel"] != nil, channel == nil { return bad("unknown channel") }
        switch path {
        case "/sim/drop-sockets":
            let n = await engine.dropSockets(channel)
            return ok(",\"dropped\":\(n)")
        case "/sim/skip-update-id":
            guard let topic = q["topic"], !topic.isEmpty else { return bad("topic is required") }
            await engine.skipUpdateId(topic: topic, channel: channel)
            return ok()
        case "/sim/fail-next":
            guard let p = q["path"], !p.isEmpty else { return bad("path is required") }
            await engine.failNext(path: p, retCode: q["retCode"].flatMap { Int($0) } ?? 10006)
            return ok()
        case "/sim/timeout-next":
            guard let p = q["path"], !p.isEmpty else { return bad("path is required") }
            await engine.timeoutNext(path: p)
            return ok()
        case "/sim/pause":
            await engine.setPaused(true)
            return ok()
        case "/sim/resume":
            await engine.setPaused(false)
            return ok()
        case "/sim/step":
            let n = q["count"].flatMap { Int($0) } ?? 1
            var frames = 0
            for _ in 0..<max(0, n) { frames += await engine.step(now: Self.nowMs()) }
            return ok(",\"frames\":\(frames)")
        case "/sim/status":
            let bytes = await engine.status()
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        default:
            return bad("unknown control path")
        }
    }

    // MARK: fault injection (Swift API)

    func engine() throws -> SimulatorEngine {
        guard let e = engineBox.withLock({ $0 }) else { throw SimulatorError.notRunning }
        return e
    }

    /// Closes all sockets, or those of one channel, without a close handshake; returns how many.
    @discardableResult
    public func dropSockets(channel: BybitChannel? = nil) async throws -> Int { try await engine().dropSockets(channel) }

    /// The next delta of `topic` (e.g. `orderbook.50.BTCUSDT`) jumps one `u`; `channel` nil = spot and linear.
    public func skipUpdateId(topic: String, channel: BybitChannel? = nil) async throws {
        try await engine().skipUpdateId(topic: topic, channel: channel)
    }

    /// The next request to `path` answers `retCode` (10006 comes with rate-limit headers).
    public func failNext(path: String, retCode: Int = 10006) async throws { try await engine().failNext(path: path, retCode: retCode) }

    /// The next request to `path` is never answered (until shutdown).
    public func timeoutNext(path: String) async throws { try await engine().timeoutNext(path: path) }

    /// Freezes (or unfreezes) market generation and replay.
    public func setPaused(_ paused: Bool) async throws { try await engine().setPaused(paused) }

    /// Steps generated markets by hand (any rate; use `.manual` for full control). Returns frames sent.
    @discardableResult
    public func advance(steps: Int = 1) async throws -> Int {
        let e = try engine()
        var frames = 0
        for _ in 0..<steps { frames += await e.step(now: Self.nowMs()) }
        return frames
    }
}

/// Errors of the simulator's API.
public enum SimulatorError: Error, CustomStringConvertible, Sendable {
    case notRunning

    public var description: String {
        switch self {
        case .notRunning: return "the simulator is not running (call run() first and await boundPort())"
        }
    }
}

/// The request context of WebSocket upgrades: keeps the NIO channel so a socket can be dropped.
public struct SimulatorSocketContext: RequestContext, WebSocketRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let webSocket: WebSocketHandlerReference<SimulatorSocketContext>
    let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        webSocket = .init()
        channel = source.channel
    }
}

/// The bound port, set once by the server and awaited by callers.
final class PortPromise: @unchecked Sendable {
    private let lock = NSLock()
    private var result: Result<Int, any Error>?
    private var waiters: [CheckedContinuation<Int, any Error>] = []

    func set(_ port: Int) { complete(.success(port)) }

    func fail(_ error: any Error) { complete(.failure(error)) }

    private func complete(_ r: Result<Int, any Error>) {
        lock.lock()
        guard result == nil else { lock.unlock(); return }
        result = r
        let all = waiters
        waiters = []
        lock.unlock()
        for w in all { w.resume(with: r) }
    }

    func value() async throws -> Int {
        try await withCheckedThrowingContinuation { c in
            lock.lock()
            if let r = result { lock.unlock(); c.resume(with: r); return }
            waiters.append(c)
            lock.unlock()
        }
    }
}

extension BybitSimulator {
    /// Runs the simulator around `body` (handy in tests): starts it in a `ServiceGroup`,
    /// passes the bound port, then shuts it down gracefully and waits for it to stop.
    public func withRunning<T: Sendable>(_ body: @Sendable (Int) async throws -> T) async throws -> T {
        let group = ServiceGroup(configuration: .init(services: [self], logger: logger))
        let running = Task { try await group.run() }
        do {
            let result = try await body(try await boundPort())
            await group.triggerGracefulShutdown()
            try await running.value
            return result
        } catch {
            await group.triggerGracefulShutdown()
            _ = try? await running.value
            throw error
        }
    }
}
