import AMQP
import ArgumentParser
import EventLog
import Foundation
import OrderManagerCore
import PositionManagerCore
import PostgresClient
import Recording
import Replay
import TradelogCore

struct SendSignals: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send-signals",
        abstract: "Publish a recorded session's signals to model-service.trading_signals, paced like the recording.",
        discussion: """
            For the demo and for live trials against the simulator playing the same session: each \
            signal is sent when its recorded time comes (at --speed), re-stamped with the current time \
            and given a signal_id of its own per run (a UUIDv5 of --run and the recorded id), so two \
            runs into one log are two sets of signals, not redeliveries. Malformed bodies go as recorded.
            """)

    @Argument(help: "A fixture folder, manifest.json or recording.")
    var fixture: String

    @Option(help: "realtime or Nx, the same as the simulator's --speed.")
    var speed = "1x"

    @Option(help: "Names this run (default: the current time).")
    var run: String?

    @Option(help: "The queue (default: model-service.trading_signals).")
    var queue = "model-service.trading_signals"

    func run() async throws {
        guard case .multiple(let n)? = ReplayPace.parse(speed) else { throw ValidationError("--speed: \(speed) is not realtime or Nx") }
        let entries = try Fixture.open(fixture).entries()
        let signals = entries.filter { $0.kind == .signal }
        guard let start = entries.first(where: { $0.kind == .frame })?.t else { throw ValidationError("the recording has no frames") }
        let runName = run ?? String(Timestamp.now().microsecondsSinceEpoch)
        let settings = try AMQPSettings.fromEnvironment()
        let conn = AMQPConnection(settings: settings, name: "send-signals")
        try await conn.open(confirms: true)
        defer { Task { await conn.close() } }
        let clock = ContinuousClock()
        let t0 = clock.now
        var sent = 0
        for s in signals {
            let due = Duration.microseconds(Int64(Double(max(0, s.t - start)) / n))
            let elapsed = clock.now - t0
            if due > elapsed { try await Task.sleep(for: due - elapsed) }
            // A body that was not UTF-8 is recorded in base64 and sent back byte for byte.
            let body = s.text.map { Array(Self.restamp($0, run: runName).utf8) } ?? s.body ?? []
            _ = try await conn.publish([AMQPMessage(queue: queue, body: body)])
            sent += 1
            FileHandle.standardError.write(Data("  signal \(sent)/\(signals.count) sent\n".utf8))
        }
        _ = try await conn.readConfirms(timeout: .seconds(5))
        print("sent \(sent) signals to \(queue) (run \(runName))")
    }

    /// The body with `timestamp` now and a run-specific `signal_id` (other bytes as recorded).
    static func restamp(_ text: String, run: String) -> String {
        guard var object = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] else { return text }
        if let id = object["signal_id"] as? String {
            object["signal_id"] = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "\(run)/\(id)").lowercasedString
        }
        if object["timestamp"] != nil {
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            object["timestamp"] = f.string(from: Date())
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]) else { return text }
        return String(decoding: data, as: UTF8.self)
    }
}

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "What the log holds: events, signals, orders, fills, PnL per strategy, the log's digest, and where to look next.")

    @OptionGroup var db: DatabaseOptions

    func run() async throws {
        db.bootstrapLogging()
        let settings = db.settings("tradelog:summary")
        let log = EventLog(settings: settings)
        var digest = LogDigest()
        var types: [String: Int] = [:]
        var pm = PositionManagerState()
        var after: Int64 = 0
        while true {
            let batch = try await log.read(after: after, limit: 5000)
            guard let last = batch.last else { break }
            for e in batch {
                try digest.add(e)
                types[e.type, default: 0] += 1
                _ = pm.apply(e)
            }
            after = last.globalPosition
        }
        var strategies: [String: (realized: Decimal, unrealized: Decimal, fees: Decimal, fills: Int)] = [:]
        for p in pm.positions {
            for s in p.strategies {
                var v = strategies[s.strategyID] ?? (0, 0, 0, 0)
                v.realized += s.realizedPnl
                v.unrealized += s.unrealizedPnl
                v.fees += s.fees
                v.fills += s.fills
                strategies[s.strategyID] = v
            }
        }
        let events = digest.count
        let hex = digest.hexDigest()
        func n(_ t: String) -> Int { types[t, default: 0] }
        print("""

            ── summary ─────────────────────────────────────────────
            events in the log      \(events) (market \(types.filter { $0.key.hasPrefix("OrderBook") || $0.key.hasPrefix("Trade") || $0.key.hasPrefix("Ticker") || $0.key.hasPrefix("Kline") }.values.reduce(0, +)))
            signals                \(n("SignalReceived")) received, \(n("SignalRejected")) rejected as malformed
            decisions              \(n("OrderDecided")) orders decided, \(n("OrderDenied")) denied, \(n("SignalRefused")) refused
            orders                 \(n("OrderRequested")) requested, \(n("OrderAccepted")) accepted, \(n("OrderRejected")) rejected
            fills                  \(n("OrderExecuted")) (\(n("ExchangeExecution")) exchange executions)
            log digest             \(hex)
            """)
        print("PnL per strategy (USDT; realized + unrealized, fees included in realized):")
        if strategies.isEmpty { print("  (no fills yet)") }
        for name in strategies.keys.sorted() {
            let v = strategies[name]!
            print("  \(name.padding(toLength: 12, withPad: " ", startingAt: 0)) realized \(Self.usdt(v.realized))  unrealized \(Self.usdt(v.unrealized))  fees \(Self.usdt(v.fees))  fills \(v.fills)")
        }
        print("""

            Where to look next:
              psql:        bash scripts/servers.sh psql -c "SELECT symbol, side, status, executed_qty, average_price, strategy_id FROM orders ORDER BY created_at"
                           tables: events, orders, signal_order_relationships, positions, position_snapshots, category_stats
              RabbitMQ UI: http://127.0.0.1:15672/ (guest/guest): queues ws-gateway.*, order-manager.*, position-manager.*
              the API:     TRADELOG_API_KEY=local tradelog run --only position-manager &   (its API on :8082, from the log)
                           curl -s -H "X-API-Key: local" http://127.0.0.1:8082/api/v1/portfolio
              one signal:  tradelog audit signal <signal_id>   (every decision, order and fill, and why)
              replay:      tradelog replay replay-fixtures/linear-btc-eth --verify
            """)
    }

    /// An amount in USDT for the summary: rounded to 8 decimals (the folds keep full precision).
    static func usdt(_ value: Decimal) -> String {
        var v = value
        var rounded = Decimal()
        NSDecimalRound(&rounded, &v, 8, .plain)
        return "\(rounded)"
    }
}
