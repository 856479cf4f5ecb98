import AsyncHTTPClient
import EventLog
import Foundation
import PostgresClient
import TradelogCore

struct IngestFigures {
    var framesPerSecond: Double
    var queueGrowth: Int
    var lost: Int
    var rssMB: Double
}

/// The end-to-end part of `bench gateway`: child processes for the simulator and the
/// gateway, a scratch database, figures read from the gateway's /health and /proc.
struct GatewayIngestBench {
    let db: DatabaseOptions
    let seconds: Int
    let symbols: Int
    /// Frames per second the simulator offers in the ingest phase (spread over its topics).
    let offered: Int

    func run() async throws -> IngestFigures {
        let base = db.settings("tradelog:bench")
        let scratch = "tradelog_benchgw_\(getpid())"
        let admin = PGConnection(settings: base)
        try await admin.execute("CREATE DATABASE \(PGConnection.quoteIdentifier(scratch))")
        defer { Task { try? await admin.execute("DROP DATABASE IF EXISTS \(PGConnection.quoteIdentifier(scratch)) WITH (FORCE)") } }
        let settings = base.with(database: scratch)
        let conn = PGConnection(settings: settings)
        _ = try await Migrator(directory: ResourceDirectory.schema).migrate(on: conn)
        try await conn.withConnection { try RetentionPolicy.prepareMarketPartitions(on: $0) }
        await conn.close()
        print("scratch database \(scratch)")

        let names = (0..<max(symbols, 50)).map { Self.symbol($0) }
        let ingestNames = Array(names.prefix(symbols))
        let ingestTopics = ingestNames.flatMap { ["linear:orderbook.50.\($0)", "linear:publicTrade.\($0)"] }
        // The simulator's rate is market steps per second per symbol: each step sends one book
        // delta per symbol and a trade frame only when a trade happens (about one step in
        // five), so book deltas alone make up the offered rate.
        let perSymbol = max(1, offered / ingestNames.count)
        let ingest = try await phase(
            settings: settings, simulatorSymbols: ingestNames, rate: "\(perSymbol)", topics: ingestTopics,
            title: "ingest (\(ingestNames.count) symbols × orderbook.50 + publicTrade, \(perSymbol * ingestNames.count) book frames/s offered, plus trades)")

        // RSS: 50 symbols × orderbook.50 at Bybit's pace for orderbook.50 (a push every 20 ms).
        let rssNames = Array(names.prefix(50))
        let rss = try await phase(
            settings: settings, simulatorSymbols: rssNames, rate: "50", topics: rssNames.map { "linear:orderbook.50.\($0)" },
            title: "rss (50 symbols × orderbook.50, 50 frames/s each)")
        return IngestFigures(framesPerSecond: ingest.rate, queueGrowth: ingest.queueGrowth, lost: ingest.lost, rssMB: rss.rssMB)
    }

    static func symbol(_ i: Int) -> String {
        let base = ["BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "AVAX", "LINK", "DOT", "LTC"]
        return i < base.count ? "\(base[i])USDT" : "SYM\(i)USDT"
    }

    struct PhaseResult {
        var rate: Double
        var queueGrowth: Int
        var lost: Int
        var rssMB: Double
    }

    private func phase(settings: PGSettings, simulatorSymbols: [String], rate: String, topics: [String], title: String) async throws -> PhaseResult {
        print(title)
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let simPort = try freePort()
        let apiPort = try freePort()
        let simulator = try spawn(exe, ["simulate-exchange", "--port", "\(simPort)", "--generate", "42",
                                        "--symbols", simulatorSymbols.joined(separator: ","), "--rate", rate], env: [:], quiet: true)
        defer { stop(simulator) }
        try await waitForPort(simPort)
        var env = ProcessInfo.processInfo.environment
        env["BYBIT_ENV"] = "http://127.0.0.1:\(simPort)"
        env["TRADELOG_GATEWAY_SUBSCRIPTIONS"] = topics.joined(separator: ",")
        env["TRADELOG_API_KEY"] = "bench"
        env["TRADELOG_API_PORT"] = "\(apiPort)"
        env["TRADELOG_LOG_LEVEL"] = "warning"
        env["DATABASE_URL"] = settings.url  // not on the command line, where ps would show it
        let gateway = try spawn(exe, ["run", "--only", "gateway"], env: env)
        defer { stop(gateway) }
        try await waitForPort(apiPort)

        let client = HTTPClient.shared
        try await Task.sleep(for: .seconds(5))
        let h0 = try await health(client, port: apiPort)
        let t0 = ContinuousClock.now
        var peakRSS = 0.0
        for _ in 0..<seconds {
            try await Task.sleep(for: .seconds(1))
            peakRSS = max(peakRSS, rssMB(pid: gateway.processIdentifier))
        }
        let h1 = try await health(client, port: apiPort)
        let elapsed = ContinuousClock.now - t0
        let s = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let frames = (Int(h1["linear.frames"] ?? "0") ?? 0) - (Int(h0["linear.frames"] ?? "0") ?? 0)
        let appended = (Int(h1["appended"] ?? "0") ?? 0) - (Int(h0["appended"] ?? "0") ?? 0)
        let growth = (Int(h1["queued"] ?? "0") ?? 0) - (Int(h0["queued"] ?? "0") ?? 0)
        let lost = Int(h1["dropped"] ?? "0") ?? 0
        // The figure is what reached the log: frames received but still queued or dropped
        // do not count.
        let rate = Double(appended) / s
        print("  frames received \(frames) in \(fmt(s)) s = \(fmt0(Double(frames) / s))/s; events appended \(appended) = \(fmt0(rate))/s")
        print("  queue \(h0["queued"] ?? "?") → \(h1["queued"] ?? "?") events, dropped \(lost), reconnects \(h1["linear.connects"] ?? "?"), peak RSS \(fmt(peakRSS)) MB")
        return PhaseResult(rate: rate, queueGrowth: growth, lost: lost, rssMB: peakRSS)
    }

    private func health(_ client: HTTPClient, port: Int) async throws -> [String: String] {
        let response = try await client.execute(HTTPClientRequest(url: "http://127.0.0.1:\(port)/health"), timeout: .seconds(10))
        let body = try await response.body.collect(upTo: 1 << 20)
        return try JSONDecoder().decode([String: String].self, from: Data(buffer: body))
    }

    private func rssMB(pid: Int32) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            let kb = line.split(separator: " ").compactMap { Double($0) }.first ?? 0
            return kb / 1024
        }
        return 0
    }

    private func spawn(_ exe: String, _ args: [String], env: [String: String], quiet: Bool = false) throws -> Process {
        let p = Process()
        if quiet { p.standardError = FileHandle.nullDevice }
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        if !env.isEmpty { p.environment = env }
        p.standardOutput = FileHandle.nullDevice
        try p.run()
        return p
    }

    private func stop(_ p: Process) {
        guard p.isRunning else { return }
        p.terminate()
        for _ in 0..<100 where p.isRunning { usleep(50_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
    }

    private func waitForPort(_ port: Int) async throws {
        for _ in 0..<300 {
            if portOpen(port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw BenchError("nothing listens on 127.0.0.1:\(port) after 30 s")
    }
}

struct BenchError: Error, CustomStringConvertible {
    var description: String
    init(_ d: String) { description = d }
}

func freePort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = 0
    var len = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { sa in
            bind(fd, sa, len) == 0 && getsockname(fd, sa, &len) == 0
        }
    }
    guard ok else { throw BenchError("cannot find a free port") }
    return Int(UInt16(bigEndian: addr.sin_port))
}

func portOpen(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    addr.sin_port = UInt16(port).bigEndian
    return withUnsafePointer(to: &addr) { p in
        p.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
    }
}
