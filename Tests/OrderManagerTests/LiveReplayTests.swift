import EventLog
import Foundation
import OrderManagerCore
import Recording
import Replay
import Signals
import Testing
import TradelogCore
import TradelogTesting

/// A session run live against the simulator (gateway, intake, order and position managers, the
/// real PostgreSQL and RabbitMQ) and recorded as `tradelog run --record` does, then replayed:
/// the replay produces the same events. Heavy; runs in the replay step of `scripts/test.sh`.
@Suite("live/replay parity", .serialized,
       .enabled(if: ProcessInfo.processInfo.environment["TRADELOG_REPLAY_TESTS"] == "1", "TRADELOG_REPLAY_TESTS=1 runs it"))
struct LiveReplayTests {
    @Test("a live session against the simulator, recorded, replays to the same events")
    func liveSessionReplaysToTheSameEvents() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-parity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("session.jsonl.lz4").path
        let recording = try RecordingSink(path: path, info: ["source": "parity test"], flushEvery: 1)
        let live = LiveEvents()
        // A market that moves only when told: the book an order meets live is the recorded one.
        // The log is read once every service has stopped (their last markers are in it).
        try await OMStack.with(simulator: { $0.rate = .manual; $0.categories = [.linear] },
                               after: { settings in await live.set(try await Self.readAll(EventLog(settings: settings))) },
                               recording: recording) { stack in
            for (asset, type, amount) in [("BTCUSDT", "buy", "800"), ("ETHUSDT", "buy", "300"), ("BTCUSDT", "sell", "600"),
                                          ("SOLUSDT", "buy", "500"), ("ETHUSDT", "sell", "300")] {
                let (id, body) = OMStack.signal(type: type, asset: asset, amount: amount)
                try await stack.publish([body])
                let order = try await stack.waitOrder(OrderEvents.orderLinkID(signalID: id, leg: 0), [.filled, .rejected, .notPlaced])
                #expect(order?.status == .filled, "\(asset) \(type) \(amount)")
            }
            // A malformed body (cut short, ending in bytes that are not UTF-8: recorded in base64)
            // and an unknown asset: a rejection and a denial.
            try await stack.publish([Array(#"{"signal_id": 42, "asset": "#.utf8) + [0xFF, 0xFE]])
            let (unknown, unknownBody) = OMStack.signal(asset: "NOPEUSDT")
            try await stack.publish([unknownBody])
            #expect(try await stack.refusal(unknown) == "unknown_asset")
            // Everything folded: the position manager has seen the last fill.
            #expect(try await TestDatabase.eventually(timeout: .seconds(15)) {
                try await stack.scalar("SELECT count(*) FROM events WHERE type = 'SignalRejected'") == "1"
            })
            try await Task.sleep(for: .seconds(1))
        }
        try recording.close()

        let entries = try RecordingReader(path: path).entries()
        var settings = ReplaySettings(orderManager: OMStack.config(), positionManager: OMStack.positionConfig())
        settings.orderManager.venue = OMStack.config().venue
        var machine = try ReplayMachine(entries: entries, settings: settings, categories: [.linear, .spot])
        var replayed: [RecordedEvent] = []
        for e in entries { replayed += machine.feed(e) }

        // DESIGN invariant 4, over every event of the live session (all services): a source
        // and a receive time on each (the folds' time; without it they would fall back to the
        // commit time, which a replay cannot reproduce); correlation, causation and trace on
        // everything that came of a signal.
        let missing = Self.missingMetadata(await live.events)
        #expect(missing.isEmpty, "\(missing.joined(separator: "\n"))")

        let liveStreams = Self.byStream(await live.events)
        let replayStreams = Self.byStream(replayed)
        // The comparison covers the whole session: books, tickers, signals, decisions, orders, fills, positions.
        #expect(liveStreams.count >= 30)
        #expect(replayStreams.values.joined().filter { $0.hasPrefix("ExchangeExecution ") }.count == 5)
        #expect(replayStreams.values.joined().filter { $0.hasPrefix("SignalRejected ") }.count == 1)
        var report: [String] = []
        for stream in Set(liveStreams.keys).union(replayStreams.keys).sorted() {
            let a = liveStreams[stream] ?? [], b = replayStreams[stream] ?? []
            if a == b { continue }
            let i = a.indices.first { $0 >= b.count || a[$0] != b[$0] } ?? a.count
            report.append("\(stream): live \(a.count), replay \(b.count); first difference at \(i): "
                          + (i < a.count && i < b.count ? Self.difference(a[i], b[i])
                             : "live \(i < a.count ? String(a[i].prefix(300)) : "-") | replay \(i < b.count ? String(b[i].prefix(300)) : "-")"))
        }
        #expect(report.isEmpty, "\(report.count) streams differ:\n\(report.prefix(25).joined(separator: "\n"))")
    }

    /// `type: what is missing` for each kind of event that lacks metadata it must have.
    static func missingMetadata(_ events: [RecordedEvent]) -> [String] {
        var problems: Set<String> = []
        for e in events {
            let m = e.metadata
            if (m.source ?? "").isEmpty { problems.insert("\(e.type) in \(e.category): no source") }
            if m.receiveTime == nil { problems.insert("\(e.type) in \(e.category): no receive time") }
            // What came of a signal: its stream and the order streams it decided.
            if e.category == "signal" || e.category == "order" {
                if m.correlationID == nil { problems.insert("\(e.type) in \(e.category): no correlation id") }
                // A received signal is the root: its cause is the RabbitMQ message's id, when it has one.
                if m.causationID == nil, e.type != "SignalReceived" { problems.insert("\(e.type) in \(e.category): no causation id") }
                if m.traceID == nil { problems.insert("\(e.type) in \(e.category): no trace id") }
            }
        }
        return problems.sorted()
    }

    actor LiveEvents {
        var events: [RecordedEvent] = []
        func set(_ e: [RecordedEvent]) { events = e }
    }

    static func readAll(_ log: EventLog) async throws -> [RecordedEvent] {
        var all: [RecordedEvent] = []
        while true {
            let batch = try await log.read(after: all.last?.globalPosition ?? 0, limit: 5000)
            if batch.isEmpty { return all }
            all += batch
        }
    }

    /// Each stream's events as `type canonical-data` lines, in stream order.
    ///
    /// What a replay does not reproduce, by design, is left out or masked; everything else is
    /// compared byte for byte:
    /// - streams of live-only work: the gateway's subscription commands (its configuration),
    ///   the start-up reconciliations with the exchange (`*.sync-*`);
    /// - the venue's clock (`execTime`, `createdTime`, `updatedTime`): live, the simulator stamps
    ///   a fill when the request reaches it; a replay, at the signal's recorded time;
    /// - `basisPosition` (a global position: the live log holds the live-only events too),
    ///   `latencyToAckMs` and `latencyToFillMs` (live round trips), and the event time of the
    ///   position manager's figures (the venue's clock, or a live-only sync that triggered them);
    /// - an order's lifecycle steps and the order of its REST answer and private frames: which
    ///   comes first is a race live; the same events and the same last state must come of it;
    /// - the order in which two sockets' markers interleave (each socket's are compared).
    static func byStream(_ events: [RecordedEvent]) -> [String: [String]] {
        var out: [String: [String]] = [:]
        var lastLifecycle: [String: String] = [:]
        for e in events {
            if ["gateway.subscriptions-", "ordermanager.sync-", "positionmanager.sync-"].contains(where: { e.stream.hasPrefix($0) }) { continue }
            guard var object = try? JSONSerialization.jsonObject(with: Data(e.data)) as? [String: Any] else {
                out[e.stream, default: []].append("\(e.type) <not an object>")
                continue
            }
            // Each socket's markers on their own: two sockets connect concurrently.
            let stream = e.stream.hasPrefix("gateway.connections-") ? "gateway.connections/\(object["connection"] ?? "")" : e.stream
            if !stream.hasPrefix("market.") { object = mask(object) as! [String: Any] }
            if stream.hasPrefix("position-") || stream.hasPrefix("portfolio-") { object["time"] = "-" }
            if e.type == "OrderLifecycleChanged" {
                for key in ["cause", "previousStatus", "reason"] { object[key] = nil }
                lastLifecycle[stream] = "\(e.type) \(text(object))"
                continue
            }
            out[stream, default: []].append("\(e.type) \(text(object))")
        }
        for (stream, line) in lastLifecycle { out[stream, default: []].append(line) }
        // The REST answer and the private frames of one order race live: their order is not compared.
        for stream in out.keys where stream.hasPrefix("order-") { out[stream]!.sort() }
        return out
    }

    static let maskedKeys: Set<String> = ["execTime", "createdTime", "updatedTime", "basisPosition"]
    /// Present or not depending on which of the REST answer and the private frame came first.
    static let droppedKeys: Set<String> = ["latencyToAckMs", "latencyToFillMs"]

    static func mask(_ value: Any) -> Any {
        if let o = value as? [String: Any] {
            var m: [String: Any] = [:]
            for (k, v) in o where !droppedKeys.contains(k) { m[k] = maskedKeys.contains(k) ? "-" : mask(v) }
            return m
        }
        if let a = value as? [Any] { return a.map(mask) }
        return value
    }

    static func text(_ object: Any) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// The keys whose values differ between two lines (for the failure message).
    static func difference(_ a: String, _ b: String) -> String {
        func flat(_ line: String) -> [String: String] {
            guard let brace = line.firstIndex(of: "{"),
                  let o = try? JSONSerialization.jsonObject(with: Data(line[brace...].utf8)) else { return ["": line] }
            var out: [String: String] = [:]
            func walk(_ v: Any, _ path: String) {
                if let d = v as? [String: Any] { for (k, x) in d { walk(x, path + "." + k) } } else if let l = v as? [Any] {
                    for (i, x) in l.enumerated() { walk(x, path + "[\(i)]") }
                } else { out[path] = "\(v)" }
            }
            walk(o, String(line[..<brace]))
            return out
        }
        let x = flat(a), y = flat(b)
        return Set(x.keys).union(y.keys).sorted().filter { x[$0] != y[$0] }.prefix(8)
            .map { "\($0): \(x[$0] ?? "-") | \(y[$0] ?? "-")" }.joined(separator: "; ")
    }
}
