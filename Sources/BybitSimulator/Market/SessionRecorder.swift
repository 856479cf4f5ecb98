import Bybit
import Foundation
import Recording

/// What a recorded session of one public channel looks like: which market, how long, and the
/// faults to play (a dropped socket, a book gap).
public struct SessionScript: Sendable {
    public var category: SimCategory
    public var symbols: [String]
    /// Start of the session, ms since the epoch (the virtual clock's origin).
    public var startMs: Int64
    public var durationMs: Int64
    /// One market step every this many ms.
    public var stepMs: Int64 = 100
    /// The socket is closed by the exchange this long after the start, and reopened a second later.
    public var dropAfterMs: Int64?
    /// This long after the start, one `orderbook.50` delta of the first symbol skips an update id.
    public var gapAfterMs: Int64?
    /// The URL written in the connect markers.
    public var url: String

    public init(category: SimCategory, symbols: [String], startMs: Int64, durationMs: Int64, url: String) {
        self.category = category
        self.symbols = symbols
        self.startMs = startMs
        self.durationMs = durationMs
        self.url = url
    }

    /// The topics a client subscribes per symbol (those the gateway's defaults use).
    func topics(_ symbol: String) -> [String] {
        var list = ["orderbook.50.\(symbol)", "publicTrade.\(symbol)", "tickers.\(symbol)", "kline.1.\(symbol)"]
        if category == .linear { list.append("allLiquidation.\(symbol)") }
        return list
    }
}

/// Records, on a virtual clock, what a client of the simulator receives on one public channel:
/// the subscribe requests it sends, the acks, snapshots and deltas of the generated market,
/// pings and pongs, a socket the exchange drops (and the client's reconnect) and a book gap
/// (and the client's resubscription). The frames are the simulator's own bytes; nothing
/// reaches a socket, so a five-minute session takes well under a second.
public enum SessionRecorder {
    public static func record(_ script: SessionScript, configuration: SimulatorConfiguration) throws -> [RecordEntry] {
        var venue = try configuration.makeVenue(startMs: script.startMs)
        guard venue.generated != nil else {
            throw ExchangeError(10001, "a recorded session needs a generated market (source .generate)")
        }
        let catalog = venue.catalog
        let channel: ControlFrames.Channel = script.category == .spot ? .spot : .linear
        var entries: [RecordEntry] = []
        var serial = 0
        var session = SocketSession(channel: channel, connId: "")
        var conn = ""
        var active: [MarketKey: [PublicTopic]] = [:]
        var seen: Set<String> = []
        var open = false
        /// Receive times: the frame's ms plus a small, fixed network delay, strictly increasing.
        var lastT: Int64 = 0
        func stamp(_ ms: Int64) -> Int64 {
            lastT = max(ms * 1000 + 350, lastT + 1)
            return lastT
        }
        func add(_ kind: RecordEntry.Kind, _ ms: Int64, text: String? = nil, url: String? = nil, reason: String? = nil) {
            entries.append(RecordEntry(t: stamp(ms), kind: kind, conn: conn, channel: script.category.rawValue,
                                       text: text, url: url, reason: reason))
        }
        func send(_ text: String, at ms: Int64) {
            add(.sent, ms, text: text)
            let effects = session.handle(text: text, now: ms, catalog: catalog) { _, _, _ in .failed("public channel") }
            for e in effects {
                switch e {
                case .send(let bytes):
                    add(.frame, ms, text: String(decoding: bytes, as: UTF8.self))
                case .subscribe(let topic):
                    guard let parsed = PublicTopic.parse(topic, category: script.category) else { continue }
                    let market = MarketKey(script.category, parsed.symbol)
                    let first = seen.insert(topic).inserted
                    if let snapshot = venue.generated!.snapshot(market, parsed, now: ms, firstSubscriber: first) {
                        add(.frame, ms, text: String(decoding: snapshot, as: UTF8.self))
                    }
                    var list = active[market] ?? []
                    if !list.contains(parsed) { list.append(parsed) }
                    list.sort { $0.description < $1.description }
                    active[market] = list
                case .unsubscribe(let topic):
                    guard let parsed = PublicTopic.parse(topic, category: script.category) else { continue }
                    active[MarketKey(script.category, parsed.symbol)]?.removeAll { $0 == parsed }
                }
            }
        }
        func request(_ op: String, _ args: [String]) -> String {
            serial += 1
            let list = args.map { "\"\($0)\"" }.joined(separator: ",")
            return "{\"op\":\"\(op)\",\"req_id\":\"\(serial)\",\"args\":[\(list)]}"
        }
        var connections = 0
        func connect(at ms: Int64) {
            connections += 1
            conn = "\(script.category.rawValue)-\(connections)"
            session = SocketSession(channel: channel, connId: "sim\(connections)-\(script.category.rawValue)")
            add(.connect, ms, url: script.url)
            open = true
            send(request("subscribe", script.symbols.flatMap(script.topics)), at: ms)
        }

        let end = script.startMs + script.durationMs
        connect(at: script.startMs)
        var dropped = false
        var reopenAt: Int64?
        var gapDone = false
        var resubscribeAt: Int64?
        var nextPing = script.startMs + 20_000
        var now = script.startMs + script.stepMs
        let gapTopic = "orderbook.50.\(script.symbols.first ?? "")"
        while now <= end {
            if let d = script.dropAfterMs, !dropped, now >= script.startMs + d {
                dropped = true
                add(.disconnect, now, reason: "closed by the exchange (simulated drop)")
                open = false
                active = [:]
                reopenAt = now + 1000
            }
            if let r = reopenAt, now >= r {
                reopenAt = nil
                connect(at: now)
            }
            if let r = resubscribeAt, now >= r, open {
                resubscribeAt = nil
                send(request("unsubscribe", [gapTopic]), at: now)
                send(request("subscribe", [gapTopic]), at: now)
            }
            if open, now >= nextPing {
                nextPing += 20_000
                send("{\"op\":\"ping\",\"req_id\":\"ping-\(now)\"}", at: now)
            }
            var skip: Set<String> = []
            if let g = script.gapAfterMs, !gapDone, open, now >= script.startMs + g {
                gapDone = true
                skip.insert("\(script.category.rawValue)/\(gapTopic)")
                // The client sees the gap on the next delta and resubscribes a moment later.
                resubscribeAt = now + 3 * script.stepMs
            }
            let out = venue.generated!.step(now: now, active: open ? active : [:], skipUpdateId: skip)
            for f in out.frames { add(.frame, now, text: String(decoding: f.bytes, as: UTF8.self)) }
            now += script.stepMs
        }
        add(.disconnect, end, reason: "end of the recorded session")
        return entries
    }
}
