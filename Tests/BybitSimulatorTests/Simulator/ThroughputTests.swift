import Foundation
import Logging
import Testing
@testable import BybitSimulator

/// Frames per second out of the simulator to one socket at `--rate max`. Opt-in (slow, machine
/// dependent): `SIM_BENCH=1 swift test --filter ThroughputTests` (use `-c release` for real numbers).
@Suite("Throughput", .serialized, .enabled(if: ProcessInfo.processInfo.environment["SIM_BENCH"] == "1"))
struct ThroughputTests {
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
