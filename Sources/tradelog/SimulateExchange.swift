import ArgumentParser
import BybitSimulator
import Foundation
import Logging
import ServiceLifecycle
import TradelogCore

struct SimulateExchange: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "simulate-exchange",
        abstract: "Run a local Bybit v5 (REST + WebSockets) for tests, demos and benchmarks.",
        discussion: """
            Serves ws://HOST:PORT/v5/public/spot, /v5/public/linear and /v5/private, and the v5 REST \
            paths (market data, orders, executions, positions, wallet). Orders match against the \
            generated or replayed book. Point tradelog at it with `BYBIT_ENV=http://HOST:PORT`. \
            Faults for tests: POST /sim/drop-sockets[?channel=linear], /sim/skip-update-id?topic=T, \
            /sim/fail-next?path=P&retCode=10006, /sim/timeout-next?path=P, /sim/pause, /sim/resume, \
            /sim/step?count=N; GET /sim/status. Runs until SIGINT/SIGTERM.
            """)

    @Option(help: "TCP port on 127.0.0.1; 0 picks a free one (printed at start).")
    var port = 9100

    @Option(help: "Bind address. Keep loopback: the /sim control endpoints are unauthenticated.")
    var host = "127.0.0.1"

    @Option(help: "Replay the public frames of this recording instead of generating a market.")
    var fixture: String?

    @Option(help: "Generate a deterministic synthetic market from this seed (the default source, seed 1).")
    var generate: UInt64?

    @Option(help: "Comma-separated symbols served on spot and linear (generate mode).")
    var symbols = "BTCUSDT,ETHUSDT"

    @Option(help: "Generated frames per second per topic, `max` (as fast as the sockets drain) or `manual` (/sim/step).")
    var rate = "10"

    @Option(help: "Fixture pacing: a multiplier of the recorded pace (1 = as recorded) or `max`.")
    var speed = "1"

    @Option(help: "Book levels per side of generated markets.")
    var levels = 200

    @Option(help: "API key accepted by REST and the private stream (default: $TRADELOG_SIM_API_KEY).")
    var apiKey: String?

    @Option(help: "Its secret (default: $TRADELOG_SIM_API_SECRET). Never logged.")
    var apiSecret: String?

    @Option(help: "Linear maker,taker fee rates.")
    var linearFees = "0.0002,0.00055"

    @Option(help: "Spot maker,taker fee rates.")
    var spotFees = "0.001,0.001"

    @Flag(help: "Answer 10006 when a key exceeds the documented per-second limit of a path.")
    var enforceRateLimits = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (default: $TRADELOG_LOG_LEVEL, else info).")
    var logLevel: String?

    func run() async throws {
        let raw = logLevel ?? ProcessInfo.processInfo.environment["TRADELOG_LOG_LEVEL"] ?? "info"
        let level = Logger.Level(rawValue: raw.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "tradelog.simulator")
        let config = try makeConfiguration()
        let simulator = BybitSimulator(configuration: config, logger: logger)
        var groupConfiguration = ServiceGroupConfiguration(
            services: [simulator], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        groupConfiguration.maximumGracefulShutdownDuration = BybitSimulator.shutdownGrace
        let group = ServiceGroup(configuration: groupConfiguration)
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await group.run() }
            tasks.addTask {
                let url = try await simulator.baseURL()
                let ws = url.replacingOccurrences(of: "http://", with: "ws://")
                // Unbuffered, so scripts waiting for this line see it at once.
                let line = "bybit simulator listening on \(url) (\(ws)/v5/public/spot, \(ws)/v5/public/linear, \(ws)/v5/private)\n"
                FileHandle.standardOutput.write(Data(line.utf8))
            }
            try await tasks.waitForAll()
        }
    }

    func makeConfiguration() throws -> SimulatorConfiguration {
        guard (0...65535).contains(port) else { throw ValidationError("--port must be within 0...65535") }
        guard fixture == nil || generate == nil else { throw ValidationError("use either --fixture or --generate, not both") }
        guard let rate = GenerationRate(rate) else { throw ValidationError("--rate must be a positive number, max or manual") }
        guard levels >= 5 else { throw ValidationError("--levels must be at least 5") }
        var config = SimulatorConfiguration(port: port, rate: rate)
        config.host = host
        config.bookLevels = levels
        config.enforceRateLimits = enforceRateLimits
        // Ids unique to this run: sessions logged into one database never share an exchange id.
        config.idEpoch = Timestamp.now().microsecondsSinceEpoch / 1000
        config.symbols = symbols.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }.filter { !$0.isEmpty }
        guard !config.symbols.isEmpty else { throw ValidationError("--symbols is empty") }
        if let fixture {
            let pace: ReplaySpeed
            if speed.lowercased() == "max" { pace = .asFastAsPossible }
            else if let m = Double(speed), m > 0 { pace = .recorded(multiplier: m) }
            else { throw ValidationError("--speed must be a positive number or max") }
            config.source = .fixture(path: fixture, speed: pace)
        } else {
            config.source = .generate(seed: generate ?? 1)
        }
        let env = ProcessInfo.processInfo.environment
        let key = apiKey ?? env["TRADELOG_SIM_API_KEY"], secret = apiSecret ?? env["TRADELOG_SIM_API_SECRET"]
        switch (key, secret) {
        case let (k?, s?) where !k.isEmpty && !s.isEmpty:
            config.accounts = [SimulatorAccount(apiKey: k, secret: s)]
        case (nil, nil):
            break
        default:
            throw ValidationError("give both --api-key and --api-secret (or TRADELOG_SIM_API_KEY and TRADELOG_SIM_API_SECRET)")
        }
        let (lm, lt) = try fees(linearFees, "--linear-fees")
        let (sm, st) = try fees(spotFees, "--spot-fees")
        config.fees = FeeSchedule(linearMaker: lm, linearTaker: lt, spotMaker: sm, spotTaker: st)
        return config
    }

    func fees(_ text: String, _ name: String) throws -> (Fixed, Fixed) {
        let parts = text.split(separator: ",").compactMap { Fixed(String($0).trimmingCharacters(in: .whitespaces)) }
        guard parts.count == 2 else { throw ValidationError("\(name) takes maker,taker (e.g. 0.0002,0.00055)") }
        return (parts[0], parts[1])
    }
}
