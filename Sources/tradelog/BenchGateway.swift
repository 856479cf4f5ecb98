import ArgumentParser
import Bybit
import BybitSimulator
import EventLog
import Foundation
import Logging
import PostgresClient
import TradelogCore

struct BenchGateway: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Decode throughput, simulator → WebSocket → gateway → log ingest rate, and gateway RSS.",
        discussion: """
            1. Decode: trade frames (1–3 trades) and orderbook.50 delta frames (10–20 levels) \
            through the gateway's decoder on one core. 2. Ingest: a simulator child process \
            (`simulate-exchange --generate`) streams as fast as it can to a gateway child \
            process (`run --only gateway`) writing into a scratch database; the rate is taken \
            over a steady window after a warm-up, with the gateway's queue checked for growth. \
            3. RSS of a gateway carrying 50 symbols × orderbook.50. Ends with one `key: value` \
            line per figure.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Frames per decode measurement.")
    var frames = 500_000

    @Option(help: "Seconds of the ingest measurement window (after a 5 s warm-up).")
    var seconds = 20

    @Option(help: "Symbols streamed in the ingest phase (each: orderbook.50 + publicTrade on linear).")
    var ingestSymbols = 4

    @Option(help: "Frames per second the simulator offers in the ingest phase.")
    var offered = 50_000

    @Flag(help: "Only the decode figures (no database, no child processes).")
    var decodeOnly = false

    func run() async throws {
        db.bootstrapLogging()
        #if DEBUG
        print("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let trade = GatewayBenchFrames.trades(count: frames)
        let book = GatewayBenchFrames.bookDeltas(count: frames)
        let tradeRate = Self.decodeRate(trade, channel: .linear)
        print("decode publicTrade: \(frames) frames, \(fmt0(tradeRate)) frames/s")
        let bookRate = Self.decodeRate(book, channel: .linear)
        print("decode orderbook.50 delta: \(frames) frames, \(fmt0(bookRate)) frames/s")
        var ingest: IngestFigures?
        if !decodeOnly {
            ingest = try await GatewayIngestBench(db: db, seconds: seconds, symbols: ingestSymbols, offered: offered).run()
        }
        print("")
        print("decode_trade_frames_per_s: \(fmt0(tradeRate))")
        print("decode_book_frames_per_s: \(fmt0(bookRate))")
        if let ingest {
            print("ingest_frames_per_s: \(fmt0(ingest.framesPerSecond))")
            print("ingest_queue_growth_events: \(ingest.queueGrowth)")
            print("ingest_lost_events: \(ingest.lost)")
            print("gateway_rss_mb: \(fmt(ingest.rssMB))")
        }
    }

    /// Best of three passes over the frames, one core, a fresh decoder per pass.
    static func decodeRate(_ frames: [[UInt8]], channel: BybitChannel) -> Double {
        var best = 0.0
        var sink = 0
        for _ in 0..<3 {
            var decoder = FrameDecoder(channel: channel)
            let clock = ContinuousClock()
            let start = clock.now
            for f in frames {
                sink &+= decoder.decode(f, receivedAt: Timestamp(microsecondsSinceEpoch: 1)).events.count
            }
            let elapsed = clock.now - start
            let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            best = max(best, Double(frames.count) / s)
        }
        if sink == 42 { print("") }
        return best
    }
}

/// Synthetic frames with Bybit's real shapes (keys, numbers as strings).
enum GatewayBenchFrames {
    static func trades(count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: 7)
        var out: [[UInt8]] = []
        out.reserveCapacity(count)
        var id = 1_000_000
        var seq = 50_000_000
        for i in 0..<count {
            let n = 1 + Int(rng.next() % 3)
            var items: [String] = []
            for _ in 0..<n {
                id += 1
                seq += 1
                let price = 65_000 + Double(rng.next() % 2000) / 10
                let size = Double(1 + rng.next() % 500) / 1000
                items.append(#"{"T":\#(1_700_000_000_000 + i),"s":"BTCUSDT","S":"\#(rng.next() % 2 == 0 ? "Buy" : "Sell")","v":"\#(String(format: "%.3f", size))","p":"\#(String(format: "%.1f", price))","L":"PlusTick","i":"a1b2c3d4-\#(id)","BT":false,"seq":\#(seq)}"#)
            }
            out.append(Array(#"{"topic":"publicTrade.BTCUSDT","type":"snapshot","ts":\#(1_700_000_000_000 + i),"data":[\#(items.joined(separator: ","))]}"#.utf8))
        }
        return out
    }

    static func bookDeltas(count: Int) -> [[UInt8]] {
        var rng = SplitMix64(seed: 11)
        var out: [[UInt8]] = []
        out.reserveCapacity(count + 1)
        func levels(_ n: Int, base: Double, dir: Double) -> String {
            (0..<n).map { k in
                let p = base + dir * Double(k) * 0.1
                let s = rng.next() % 5 == 0 ? "0" : String(format: "%.3f", Double(rng.next() % 9000) / 1000)
                return #"["\#(String(format: "%.1f", p))","\#(s)"]"#
            }.joined(separator: ",")
        }
        out.append(Array(#"{"topic":"orderbook.50.BTCUSDT","type":"snapshot","ts":1700000000000,"data":{"s":"BTCUSDT","b":[\#(levels(50, base: 64999.9, dir: -1))],"a":[\#(levels(50, base: 65000.0, dir: 1))],"u":1000,"seq":9000},"cts":1700000000000}"#.utf8))
        for i in 1..<count {
            let nb = 5 + Int(rng.next() % 6)
            let na = 5 + Int(rng.next() % 6)
            out.append(Array(#"{"topic":"orderbook.50.BTCUSDT","type":"delta","ts":\#(1_700_000_000_000 + i),"data":{"s":"BTCUSDT","b":[\#(levels(nb, base: 64999.9 - Double(rng.next() % 20) * 0.1, dir: -1))],"a":[\#(levels(na, base: 65000.0 + Double(rng.next() % 20) * 0.1, dir: 1))],"u":\#(1000 + i),"seq":\#(9000 + i * 3)},"cts":\#(1_700_000_000_000 + i)}"#.utf8))
        }
        return out
    }
}
