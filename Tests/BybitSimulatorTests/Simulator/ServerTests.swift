import AsyncHTTPClient
import Bybit
import Foundation
import HummingbirdWSClient
import Logging
import Recording
import NIOCore
import Testing
@testable import BybitSimulator

/// A test WebSocket: collects text messages, sends what the test queues.
final class TestSocket: Sendable {
    let inbox = Inbox()
    let outgoing: AsyncStream<String>.Continuation
    let task: Task<Void, Never>

    actor Inbox {
        var messages: [String] = []
        var read = 0
        var closed = false
        func add(_ m: String) { messages.append(m) }
        func close() { closed = true }
        func take() -> String? {
            guard read < messages.count else { return nil }
            read += 1
            return messages[read - 1]
        }
        var isClosed: Bool { closed }
    }

    init(_ url: String) {
        let (stream, cont) = AsyncStream<String>.makeStream()
        outgoing = cont
        let inbox = self.inbox
        task = Task {
            _ = try? await WebSocketClient.connect(url: url, configuration: .init(maxFrameSize: 1 << 22), logger: Logger(label: "test-ws")) { inbound, outbound, _ in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { for await text in stream { try await outbound.write(.text(text)) } }
                    for try await message in inbound.messages(maxSize: 1 << 22) {
                        if case .text(let t) = message { await inbox.add(t) }
                    }
                    group.cancelAll()
                }
            }
            await inbox.close()
        }
    }

    func send(_ text: String) { outgoing.yield(text) }

    /// The next message, or nil after `seconds`.
    func next(within seconds: Double = 5) async -> String? {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if let m = await inbox.take() { return m }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return nil
    }

    func nextObject(within seconds: Double = 5) async -> [String: Any] {
        await next(within: seconds).map { object($0) } ?? [:]
    }

    /// True once the connection ended (within `seconds`).
    func closed(within seconds: Double = 5) async -> Bool {
        let deadline = ContinuousClock.now + .milliseconds(Int(seconds * 1000))
        while ContinuousClock.now < deadline {
            if await inbox.isClosed { return true }
            try? await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    func stop() {
        outgoing.finish()
        task.cancel()
    }
}

@Suite("Simulator server", .serialized)
struct ServerTests {
    static let key = "sim-key", secret = "sim-secret"

    func simulator(rate: GenerationRate = .manual) -> BybitSimulator {
        var config = SimulatorConfiguration(port: 0, source: .generate(seed: 7), rate: rate,
                                            accounts: [SimulatorAccount(apiKey: Self.key, secret: Self.secret)])
        config.bookLevels = 60
        return BybitSimulator(configuration: config, logger: Logger(label: "sim-test"))
    }

    func http(_ method: String, _ port: Int, _ path: String, query: String = "", body: String = "", signed: Bool = false,
              timeout: TimeAmount = .seconds(10)) async throws -> (Int, [String: String], [String: Any]) {
        var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)\(path)" + (query.isEmpty ? "" : "?\(query)"))
        request.method = .RAW(value: method)
        if method == "POST" {
            request.body = .bytes(ByteBuffer(string: body))
            request.headers.add(name: "Content-Type", value: "application/json")
        }
        if signed {
            let ts = Int64(Date().timeIntervalSince1970 * 1000)
            let sig = BybitSigner(secret: Self.secret).restSignature(timestamp: ts, apiKey: Self.key, recvWindow: 5000,
                                                                    payload: method == "GET" ? query : body)
            request.headers.add(name: "X-BAPI-API-KEY", value: Self.key)
            request.headers.add(name: "X-BAPI-TIMESTAMP", value: String(ts))
            request.headers.add(name: "X-BAPI-RECV-WINDOW", value: "5000")
            request.headers.add(name: "X-BAPI-SIGN", value: sig)
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        let bytes = try await response.body.collect(upTo: 1 << 22)
        var headers: [String: String] = [:]
        for h in response.headers { headers[h.name.lowercased()] = h.value }
        return (Int(response.status.code), headers, object(String(buffer: bytes)))
    }

    @Test func publicStreamSnapshotThenConsecutiveDeltas() async throws {
        let sim = simulator()
        try await sim.withRunning { port in
            let ws = TestSocket("ws://127.0.0.1:\(port)/v5/public/linear")
            defer { ws.stop() }
            ws.send(#"{"req_id":"s1","op":"subscribe","args":["orderbook.50.BTCUSDT","publicTrade.BTCUSDT"]}"#)
            let ack = await ws.nextObject()
            #expect(ack["success"] as? Bool == true && ack["req_id"] as? String == "s1" && ack["op"] as? String == "subscribe")
            let snapshot = await ws.nextObject()
            #expect(snapshot["topic"] as? String == "orderbook.50.BTCUSDT" && snapshot["type"] as? String == "snapshot")
            var u = (snapshot["data"] as? [String: Any])?["u"] as? Int64 ?? -1
            try await sim.advance(steps: 30)
            var deltas = 0, trades = 0
            // Until the stream goes quiet (3 s: a loaded machine may pause it for a second).
            while let text = await ws.next(within: 3) {
                let o = object(text)
                if o["topic"] as? String == "publicTrade.BTCUSDT" { trades += 1; continue }
                #expect(o["type"] as? String == "delta")
                let next = (o["data"] as? [String: Any])?["u"] as? Int64 ?? -1
                #expect(next == u + 1)
                u = next
                deltas += 1
            }
            #expect(deltas > 20 && trades > 0)
            // The next answer that is not a market frame (a late one may still come first).
            func control() async -> [String: Any] {
                var o = await ws.nextObject()
                while o["topic"] != nil {
                    if o["topic"] as? String == "orderbook.50.BTCUSDT", let next = (o["data"] as? [String: Any])?["u"] as? Int64 { u = next }
                    o = await ws.nextObject()
                }
                return o
            }
            ws.send(#"{"op":"ping"}"#)
            let pong = await control()
            #expect(pong["ret_msg"] as? String == "pong" && pong["op"] as? String == "ping" && pong["req_id"] as? String == "")
            ws.send(#"{"op":"subscribe","args":["orderbook.50.NOPEUSDT"]}"#)
            let refused = await control()
            #expect(refused["ret_msg"] as? String == "error:handler not found,topic:orderbook.50.NOPEUSDT")

            // A skipped update id shows up as a gap of exactly one.
            _ = try await http("POST", port, "/sim/skip-update-id", query: "topic=orderbook.50.BTCUSDT&channel=linear")
            try await sim.advance(steps: 3)
            var gaps: [Int64] = []
            while let text = await ws.next(within: 3) {
                let o = object(text)
                guard o["topic"] as? String == "orderbook.50.BTCUSDT", let next = (o["data"] as? [String: Any])?["u"] as? Int64 else { continue }
                gaps.append(next - u)
                u = next
            }
            #expect(gaps.first == 2 && gaps.dropFirst().allSatisfy { $0 == 1 })
        }
    }

    @Test func generatedRateStreamsOnItsOwn() async throws {
        let sim = simulator(rate: .perSecond(50))
        try await sim.withRunning { port in
            let ws = TestSocket("ws://127.0.0.1:\(port)/v5/public/spot")
            defer { ws.stop() }
            ws.send(#"{"op":"subscribe","args":["orderbook.1.BTCUSDT","tickers.ETHUSDT"]}"#)
            let ack = await ws.nextObject()
            #expect(ack["ret_msg"] as? String == "subscribe" && ack["req_id"] == nil)
            var topics = Set<String>()
            for _ in 0..<20 { if let t = await ws.nextObject()["topic"] as? String { topics.insert(t) } }
            #expect(topics == ["orderbook.1.BTCUSDT", "tickers.ETHUSDT"])
        }
    }

    @Test func privateAuthAndOrderMessages() async throws {
        let sim = simulator()
        try await sim.withRunning { port in
            let ws = TestSocket("ws://127.0.0.1:\(port)/v5/private")
            defer { ws.stop() }
            ws.send(#"{"op":"subscribe","args":["order"]}"#)
            #expect(await ws.nextObject()["ret_msg"] as? String == "Request not authorized")
            let expires = Int64(Date().timeIntervalSince1970 * 1000) + 10_000
            ws.send(#"{"op":"auth","args":["\#(Self.key)",\#(expires),"deadbeef"]}"#)
            let bad = await ws.nextObject()
            #expect(bad["success"] as? Bool == false && bad["op"] as? String == "auth")
            let sig = BybitSigner(secret: Self.secret).webSocketAuthSignature(expires: expires)
            ws.send(#"{"req_id":"a1","op":"auth","args":["\#(Self.key)",\#(expires),"\#(sig)"]}"#)
            let good = await ws.nextObject()
            #expect(good["success"] as? Bool == true && good["req_id"] as? String == "a1")
            ws.send(#"{"op":"subscribe","args":["order","execution","position","wallet"]}"#)
            #expect(await ws.nextObject()["success"] as? Bool == true)

            let body = #"{"category":"linear","symbol":"BTCUSDT","side":"Buy","orderType":"Market","qty":"0.01","orderLinkId":"t-1"}"#
            let (status, headers, created) = try await http("POST", port, "/v5/order/create", body: body, signed: true)
            #expect(status == 200 && created["retCode"] as? Int == 0)
            #expect(headers["x-bapi-limit"] == "10" && headers["x-bapi-limit-status"] != nil && headers["x-bapi-limit-reset-timestamp"] != nil)
            var topics: [String] = []
            for _ in 0..<4 { topics.append(await ws.nextObject()["topic"] as? String ?? "none") }
            #expect(topics == ["order", "execution", "position", "wallet"])

            let (_, _, positions) = try await http("GET", port, "/v5/position/list", query: "category=linear&symbol=BTCUSDT", signed: true)
            let p = ((positions["result"] as? [String: Any])?["list"] as? [[String: Any]])?.first
            #expect(p?["size"] as? String == "0.010" && p?["side"] as? String == "Buy")
            let (_, _, unsigned) = try await http("GET", port, "/v5/position/list", query: "category=linear&symbol=BTCUSDT")
            #expect(unsigned["retCode"] as? Int == 10003)
        }
    }

    /// Replay at recorded pace: a subscriber joining mid-stream gets a snapshot, then the recorded deltas.
    @Test func fixtureReplay() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sim-server-\(getpid()).lz4").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let lines = try Fixtures.lines("seq_linear_orderbook500_XRPUSDT_2024-12-01.jsonl")
        let writer = try RecordingWriter(path: path, header: .header(t: 0))
        for (n, line) in lines.enumerated() {
            try writer.append(RecordEntry(t: 5_000_000 + Int64(n) * 30_000, kind: .frame, conn: "linear-1", channel: "linear", text: line))
        }
        try writer.close()
        let config = SimulatorConfiguration(port: 0, source: .fixture(path: path, speed: .recorded(multiplier: 1)))
        let sim = BybitSimulator(configuration: config, logger: Logger(label: "sim-replay"))
        try await sim.withRunning { port in
            let ws = TestSocket("ws://127.0.0.1:\(port)/v5/public/linear")
            defer { ws.stop() }
            ws.send(#"{"op":"subscribe","args":["orderbook.500.XRPUSDT","orderbook.50.BTCUSDT"]}"#)
            let ack = await ws.nextObject()
            #expect(ack["success"] as? Bool == false)  // BTCUSDT is not in the recording
            #expect(ack["ret_msg"] as? String == "error:handler not found,topic:orderbook.50.BTCUSDT")
            let snapshot = await ws.nextObject()
            #expect(snapshot["type"] as? String == "snapshot")
            var u = (snapshot["data"] as? [String: Any])?["u"] as? Int64 ?? -1
            var deltas = 0
            // Paced at the recording's 30 ms: a busy machine (tests run side by side) can
            // stall the sender for seconds, so the quiet that gives up is generous; the
            // recording's last update ends the wait.
            while u != 20_254_918, let text = await ws.next(within: 6) {
                let o = object(text)
                let next = (o["data"] as? [String: Any])?["u"] as? Int64 ?? -1
                #expect(next == u + 1)
                u = next
                deltas += 1
            }
            #expect(deltas > 10)
            #expect(u == 20_254_918)  // the recording's last update id
        }
    }

    @Test func faultsAndDrops() async throws {
        let sim = simulator()
        try await sim.withRunning { port in
            let (_, _, ok) = try await http("GET", port, "/v5/market/time")
            #expect(ok["retCode"] as? Int == 0)
            _ = try await http("POST", port, "/sim/fail-next", query: "path=/v5/market/time&retCode=10006")
            let (status, headers, limited) = try await http("GET", port, "/v5/market/time")
            #expect(status == 200 && limited["retCode"] as? Int == 10006 && headers["x-bapi-limit-status"] == "0")
            #expect(try await http("GET", port, "/v5/market/time").2["retCode"] as? Int == 0)

            try await sim.timeoutNext(path: "/v5/market/tickers")
            await #expect(throws: (any Error).self) {
                _ = try await http("GET", port, "/v5/market/tickers", query: "category=linear", timeout: .milliseconds(300))
            }

            let linear = TestSocket("ws://127.0.0.1:\(port)/v5/public/linear")
            let spot = TestSocket("ws://127.0.0.1:\(port)/v5/public/spot")
            defer { linear.stop(); spot.stop() }
            linear.send(#"{"op":"ping"}"#)
            spot.send(#"{"op":"ping"}"#)
            let linearPong = await linear.next(), spotPong = await spot.next()
            #expect(linearPong != nil && spotPong != nil)
            let (_, _, dropped) = try await http("POST", port, "/sim/drop-sockets", query: "channel=linear")
            #expect(dropped["dropped"] as? Int == 1)
            #expect(await linear.closed())
            #expect(!(await spot.closed(within: 0.3)))
            #expect(try await sim.dropSockets() == 1)
            #expect(await spot.closed())

            // Paused markets produce nothing until resumed.
            let watcher = TestSocket("ws://127.0.0.1:\(port)/v5/public/linear")
            defer { watcher.stop() }
            watcher.send(#"{"op":"subscribe","args":["orderbook.50.ETHUSDT"]}"#)
            _ = await watcher.next()
            _ = await watcher.next()
            _ = try await http("POST", port, "/sim/pause")
            #expect(try await sim.advance(steps: 5) == 0)
            _ = try await http("POST", port, "/sim/resume")
            #expect(try await sim.advance(steps: 5) > 0)
        }
    }
}
