import Bybit
import BybitSimulator
import Foundation
import Recording
import TradelogCore

/// Records a replay fixture from the simulator on a virtual clock: the simulator's generated
/// market as a client receives it (subscribe acks, snapshots, deltas, pings, a socket the
/// exchange drops, a book gap and the resubscription), the REST answers the services load at
/// start, and inbound trading signals at a steady pace, merged in receive order.
public enum FixtureBuilder {
    public struct Spec: Sendable {
        public var name: String
        public var category: SimCategory
        public var symbols: [String]
        public var startMs: Int64
        public var durationMs: Int64
        public var seed: UInt64
        /// One signal every this many ms after the first 15 s.
        public var signalEveryMs: Int64 = 10_000
        public var strategies = ["trend-1", "meanrev-2"]
        /// Amounts in USDT, cycled (varied, so risk limits have something to deny).
        public var amounts: [Decimal] = [300, 800, 1500, 2500, 600, 1200]

        public init(name: String, category: SimCategory, symbols: [String], startMs: Int64, durationMs: Int64, seed: UInt64) {
            self.name = name
            self.category = category
            self.symbols = symbols
            self.startMs = startMs
            self.durationMs = durationMs
            self.seed = seed
        }
    }

    /// The entries of the session, header first, in receive order.
    public static func entries(_ spec: Spec) throws -> [RecordEntry] {
        var config = SimulatorConfiguration()
        config.source = .generate(seed: spec.seed)
        config.symbols = spec.symbols
        config.categories = [spec.category]
        var script = SessionScript(category: spec.category, symbols: spec.symbols, startMs: spec.startMs,
                                   durationMs: spec.durationMs, url: "ws://simulator/v5/public/\(spec.category.rawValue)")
        script.dropAfterMs = spec.durationMs * 2 / 5
        script.gapAfterMs = spec.durationMs * 7 / 10
        var entries = try SessionRecorder.record(script, configuration: config)

        // The instruments answer the order manager loads at start (as recorded over REST).
        var venue = try config.makeVenue(startMs: spec.startMs)
        let category = RESTCategory(rawValue: spec.category.rawValue) ?? .linear
        let instruments = BybitRESTRequest.instruments(category: category)
        let (reply, _) = venue.handle(RestRequest(method: "GET", path: instruments.path, rawQuery: instruments.queryString),
                                      now: spec.startMs)
        entries.insert(RecordEntry(t: spec.startMs * 1000 + 100, kind: .rest, channel: "rest",
                                   text: String(decoding: reply.body, as: UTF8.self), method: "GET", path: instruments.path,
                                   query: instruments.queryString, status: reply.status), at: 0)

        var signals: [RecordEntry] = []
        var t = spec.startMs + 15_000
        var n = 0
        while t < spec.startMs + spec.durationMs - 5_000 {
            signals.append(RecordEntry(t: t * 1000 + 777, kind: .signal, channel: "amqp",
                                       text: n == 7 ? malformedSignal(spec, n, t) : signal(spec, n, t)))
            n += 1
            t += spec.signalEveryMs
        }
        entries = merge(entries, signals)
        let header = RecordEntry.header(t: spec.startMs * 1000, info: [
            "source": "tradelog replay-fixtures (the simulator's generated market, recorded on a virtual clock)",
            "fixture": spec.name, "category": spec.category.rawValue, "symbols": spec.symbols.joined(separator: ","),
            "seed": String(spec.seed), "environment": "simulator",
        ])
        return [header] + entries
    }

    /// Two lists each in time order, merged (ties keep the first list's entry first).
    static func merge(_ a: [RecordEntry], _ b: [RecordEntry]) -> [RecordEntry] {
        var out: [RecordEntry] = []
        out.reserveCapacity(a.count + b.count)
        var i = 0, j = 0
        while i < a.count || j < b.count {
            if j >= b.count || (i < a.count && a[i].t <= b[j].t) {
                out.append(a[i]); i += 1
            } else {
                out.append(b[j]); j += 1
            }
        }
        return out
    }

    static func iso(_ ms: Int64) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(identifier: "UTC")
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    static func signalID(_ spec: Spec, _ n: Int) -> String {
        DeterministicID.derived(from: "fixture/\(spec.name)", index: n, kind: "signal").lowercasedString
    }

    /// A signal in the seed's shape: sides in a fixed pattern, amounts and strategies cycled.
    static func signal(_ spec: Spec, _ n: Int, _ ms: Int64) -> String {
        let sides = ["buy", "buy", "sell", "buy", "sell", "sell"]
        let asset = spec.symbols[(n / 2) % spec.symbols.count]
        let amount = spec.amounts[n % spec.amounts.count]
        return """
            {"signal_id":"\(signalID(spec, n))","signal_type":"\(sides[n % sides.count])","asset":"\(asset)",\
            "amount":\(amount),"confidence":0.\(70 + n % 25),"timestamp":"\(iso(ms - 150))",\
            "strategy_id":"\(spec.strategies[n % spec.strategies.count])","model_version":"fixture-1","is_warmup":false,\
            "market_data_snapshot":null,"metadata":{"reasoning":"fixture signal \(n)"},"trace_id":"trace-\(spec.name)-\(n)"}
            """
    }

    /// A signal without `amount`: the intake must turn it into a rejection with a reason.
    static func malformedSignal(_ spec: Spec, _ n: Int, _ ms: Int64) -> String {
        """
        {"signal_id":"\(signalID(spec, n))","signal_type":"buy","asset":"\(spec.symbols[0])","confidence":0.5,\
        "timestamp":"\(iso(ms - 150))","strategy_id":"\(spec.strategies[0])","is_warmup":false}
        """
    }
}
