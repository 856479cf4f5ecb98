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

    /// How long a graceful shutdown may wait for open client connections before the server is
    /// cancelled (an idle keep-alive connection would otherwise hold it indefinitely).
    public static let shutdownGrace: Duration = .seconds(3)

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
        try configuration.makeVenue(startMs: Timestamp.now().microsecondsSinceEpoch / 1000)
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
                // Steps owed are computed from the elapsed time and taken in bursts, so high
                // rates (thousands of steps per second) are met without a sleep per step.
                let start = clock.now
                var done: Int64 = 0
                while !Task.isCancelled {
                    let elapsed = clock.now - start
                    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
                    let due = Int64(seconds * n) + 1
                    // More than a second behind: drop the backlog rather than burst for long.
                    if due - done > Int64(max(n, 1)) { done = due - Int64(max(n, 1)) }
                    var burst = 0
                    while done < due && burst < 256 && !Task.isCancelled {
                        _ = await engine.step(now: Self.nowMs())
                        done += 1
                        burst += 1
                    }
                    while !Task.isCancelled, await engine.largestPending() > configuration.highWaterFrames {
                        try? await Task.sleep(for: .microseconds(500))
                    }
                    if done >= due {
                        let next = start.advanced(by: .nanoseconds(Int64(Double(done) / n * 1e9)))
                        try? await Task.sleep(until: next, clock: clock)
                    }
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
}
