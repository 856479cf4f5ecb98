import Foundation
import Logging
import Testing
@testable import BybitSimulator

/// Frames per second out of the simulator to one socket at `--rate max`. Opt-in (slow, machine
/// dependent): `SIM_BENCH=1 swift test --filter ThroughputTests` (use `-c release` for real numbers).
@Suite("Throughput", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SIM_BENCH"] == "1"))
struct ThroughputTests {
    /// Generation and frame writing alone, without sockets.
    @Test func generatorFramesPerSecond() {
        let instruments = ["BTCUSDT", "ETHUSDT"].map { SimInstrument.defaults(symbol: $0, category: .linear) }
        var feed = GeneratedFeed(instruments: instruments, seed: 1, levels: 200, startMs: 1_700_000_000_000)
        var active: [MarketKey: [PublicTopic]] = [:]
        for key in feed.keys {
            let topics: [PublicTopic] = [.orderbook(depth: 50, symbol: key.symbol), .orderbook(depth: 1, symbol: key.symbol),
                                         .trade(symbol: key.symbol), .ticker(symbol: key.symbol)]
            for t in topics { _ = feed.snapshot(key, t, now: 1_700_000_000_000, firstSubscriber: true) }
            active[key] = topics
        }
        let start = ContinuousClock.now
        var frames = 0
        for n in 0..<20_000 { frames += feed.step(now: 1_700_000_000_000 + Int64(n / 10), active: active).frames.count }
        let d = ContinuousClock.now - start
        let seconds = Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
        print("generator: \(Int(Double(frames) / seconds)) frames/s (\(frames) frames)")
    }

    @Test func maxRateToOneSocket() async throws {
        var config = SimulatorConfiguration(port: 0, source: .generate(seed: 1), rate: .max)
        config.bookLevels = 200
        let sim = BybitSimulator(configuration: config, logger: Logger(label: "bench"))
        try await sim.withRunning { port in
            let ws = TestSocket("ws://127.0.0.1:\(port)/v5/public/linear")
            defer { ws.stop() }
            ws.send(#"{"op":"subscribe","args":["orderbook.50.BTCUSDT","orderbook.1.BTCUSDT","publicTrade.BTCUSDT","tickers.BTCUSDT","orderbook.50.ETHUSDT","orderbook.1.ETHUSDT","publicTrade.ETHUSDT","tickers.ETHUSDT"]}"#)
            _ = await ws.next()
            try await Task.sleep(for: .milliseconds(300))
            let before = await ws.inbox.messages.count
            let start = ContinuousClock.now
            try await Task.sleep(for: .seconds(3))
            let after = await ws.inbox.messages.count
            let seconds = Double((ContinuousClock.now - start).components.attoseconds) / 1e18 + Double((ContinuousClock.now - start).components.seconds)
            let rate = Double(after - before) / seconds
            print("simulator → one socket: \(Int(rate)) frames/s")
            #expect(rate > 1_000)
        }
    }
}
