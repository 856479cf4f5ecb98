import ArgumentParser
import Bybit
import BybitClient
import Foundation
import Gateway
import Logging
import Recording
import TradelogCore

struct Record: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Record Bybit WebSocket frames to an LZ4-compressed JSON-lines file (the replay-fixture format).",
        discussion: """
            Connects like the gateway (same streams, reconnects and resubscriptions) but writes \
            to a file instead of the log: every raw frame with its receive time and connection \
            id, the frames sent, and connect/disconnect markers. The format is documented in \
            replay-fixtures/README.md. No database is needed. Private topics need \
            BYBIT_API_KEY and BYBIT_API_SECRET.
            """)

    @Option(help: "The file to write (e.g. session.jsonl.lz4).")
    var out: String

    @Option(help: "Stop after this long: 90s, 5m, 1h (default: until SIGINT/SIGTERM).")
    var duration: String?

    @Option(help: "Symbols, comma-separated; each gets publicTrade, orderbook.50, tickers and kline.1 (and allLiquidation on linear).")
    var symbols: String = "BTCUSDT"

    @Option(help: "Public channels for the symbols: spot, linear or both (comma-separated).")
    var channels: String = "linear"

    @Option(help: "Extra subscriptions as channel:topic, comma-separated (e.g. private:order,spot:orderbook.1.ETHUSDT).")
    var topics: String = ""

    @Option(help: "Bybit environment: mainnet, testnet, demo or a URL such as a simulator's (default: $BYBIT_ENV, else mainnet).")
    var env: String?

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .info
            return h
        }
        let logger = Logger(label: "tradelog.record")
        let environmentText = env ?? ProcessInfo.processInfo.environment["BYBIT_ENV"] ?? "mainnet"
        // The parser's error names the field and never echoes credentials in a URL.
        let environment = try BybitEnvironment.parse(environmentText, field: env == nil ? "BYBIT_ENV" : "--env",
                                                     source: env == nil ? "environment" : "command line")
        let seconds = try duration.map { try Self.parseDuration($0) }
        var keys: [SubscriptionKey] = []
        for ch in channels.split(separator: ",").map(String.init) {
            guard let channel = BybitChannel(rawValue: ch), channel != .private else {
                throw ValidationError("--channels: \(ch) is not spot, linear or inverse")
            }
            for s in symbols.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces).uppercased() }) where !s.isEmpty {
                var list = ["publicTrade.\(s)", "orderbook.50.\(s)", "tickers.\(s)", "kline.1.\(s)"]
                if channel != .spot { list.append("allLiquidation.\(s)") }
                keys += list.map { SubscriptionKey(channel: channel, topic: $0) }
            }
        }
        keys += try parseSubscriptionList(topics, source: "--topics")
        let credentials = try GatewayConfiguration.credentials()
        let sink = try RecordingSink(path: out, info: [
            "source": "tradelog record", "environment": environment.description,
            "subscriptions": keys.map(\.id).joined(separator: ","),
        ])
        var ingests: [FrameIngest] = []
        var streams: [BybitStream] = []
        for channel in BybitChannel.allCases {
            let mine = keys.filter { $0.channel == channel }.map(\.topic)
            guard !mine.isEmpty else { continue }
            if channel == .private && credentials == nil {
                throw ValidationError("private topics need BYBIT_API_KEY and BYBIT_API_SECRET")
            }
            let ingest = FrameIngest(channel: channel, gatewayName: "record", connectionStream: "record",
                                     buffer: nil, recorder: sink, logger: logger)
            let stream = BybitStream(configuration: .init(channel: channel, url: environment.streamURL(channel)),
                                     credentials: channel == .private ? credentials : nil, delegate: ingest, logger: logger)
            await stream.subscribe(mine)
            ingests.append(ingest)
            streams.append(stream)
        }
        guard !streams.isEmpty else { throw ValidationError("nothing to record: give --symbols or --topics") }
        print("recording \(keys.count) topics from \(environment) to \(out)")

        let signals = AsyncStream<Void> { continuation in
            for sig in [SIGINT, SIGTERM] {
                signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig)
                source.setEventHandler { continuation.yield() }
                source.resume()
                Self.sources.append(source)
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for stream in streams { group.addTask { await stream.run() } }
            group.addTask {
                if let seconds {
                    try? await Task.sleep(for: .seconds(seconds))
                } else {
                    for await _ in signals { break }
                }
            }
            await group.next()
            group.cancelAll()
        }
        try sink.close()
        let frames = ingests.reduce(0) { $0 + $1.counters.frames }
        print("recorded \(sink.count) entries (\(frames) frames) to \(out)")
    }

    nonisolated(unsafe) static var sources: [any DispatchSourceSignal] = []

    /// `90`, `90s`, `5m`, `1h`.
    static func parseDuration(_ text: String) throws -> Double {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600]
        var number = text
        var scale = 1.0
        if let last = text.last, let u = units[last] {
            scale = u
            number = String(text.dropLast())
        }
        guard let n = Double(number), n > 0 else {
            throw ValidationError("--duration: \(text) is not a duration like 90s, 5m or 1h")
        }
        return n * scale
    }
}
