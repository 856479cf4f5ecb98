import BybitSimulator
import Foundation
import Recording
import Testing
import TradelogTesting

@Suite("tradelog record and decode against the simulator")
struct RecordCommandTests {
    /// Runs the tradelog binary with its output in a file (a pipe would fill up and block it).
    static func run(_ args: [String], timeout: Duration = .seconds(60)) async throws -> (status: Int32, output: String) {
        let outPath = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-out-\(getpid())-\(UInt32.random(in: 0...UInt32.max))").path
        _ = FileManager.default.createFile(atPath: outPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath) }
        let p = Process()
        p.executableURL = TestDatabase.tradelogExecutable
        p.arguments = args
        p.standardOutput = FileHandle(forWritingAtPath: outPath)
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = ContinuousClock.now + timeout
        while p.isRunning && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        if p.isRunning { p.terminate() }
        while p.isRunning { try await Task.sleep(for: .milliseconds(20)) }
        let data = FileManager.default.contents(atPath: outPath) ?? Data()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("record writes frames with receive time and connection id and connect markers; decode reads the recording back")
    func recordAndDecode() async throws {
        var config = SimulatorConfiguration()
        config.source = .generate(seed: 3)
        config.symbols = ["BTCUSDT"]
        config.rate = .perSecond(50)
        let simulator = BybitSimulator(configuration: config, logger: GatewayIntegrationTests.logger)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-record-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("session.jsonl.lz4").path
        try await simulator.withRunning { port in
            let result = try await Self.run(["record", "--out", file, "--duration", "5s", "--env", "http://127.0.0.1:\(port)",
                                             "--symbols", "BTCUSDT", "--channels", "linear,spot"])
            #expect(result.status == 0)
            #expect(result.output.contains("recorded"))
        }
        let entries = try RecordingReader(path: file).entries()
        #expect(entries.first?.kind == .header)
        #expect(Set(entries.filter { $0.kind == .connect }.compactMap(\.channel)) == ["linear", "spot"])
        let frames = entries.filter { $0.kind == .frame }
        #expect(frames.count > 20)
        #expect(frames.allSatisfy { $0.conn != nil && $0.t > 0 && $0.text != nil })
        for conn in Set(frames.compactMap(\.conn)) {
            let times = frames.filter { $0.conn == conn }.map(\.t)
            #expect(times == times.sorted(), "receive order on \(conn)")
        }
        #expect(entries.contains { $0.kind == .sent && ($0.text ?? "").contains("subscribe") })
        let decoded = try await Self.run(["decode", file])
        #expect(decoded.status == 0)
        let lines = decoded.output.split(separator: "\n")
        #expect(lines.contains { $0.contains(#""type":"OrderBookUpdated""#) && $0.contains("market.linear.orderbook-BTCUSDT") })
        #expect(lines.contains { $0.contains("market.spot.trade-BTCUSDT") })
    }
}
