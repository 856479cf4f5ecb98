import Bybit
import Logging
import NIOCore

/// Faults armed for tests: each fires once (except `paused`).
struct Faults: Sendable {
    /// `category/topic` entries: the next delta of that topic skips one `u`.
    var skipUpdateId: Set<String> = []
    /// path → retCode answered on the next request.
    var failNext: [String: Int] = [:]
    /// Paths whose next request is never answered (until shutdown).
    var timeoutNext: Set<String> = []
    var paused = false
    var holdNext: Set<String> = []
    var httpStatusNext: [String: Int] = [:]
}

/// What the HTTP layer should do with a request.
enum RestOutcome: Sendable {
    case reply(RestReply)
    /// Hold the request open (fault injection).
    case hang
    /// The request was executed; its answer is held until shutdown (a crash after the call, before the ack).
    case holdAnswer(RestReply)
}

/// The simulator's single point of mutation: venue, sockets, subscriptions and faults. All
/// frames are queued from inside the actor, so acks, snapshots and deltas keep their order.
actor SimulatorEngine {
    struct Socket {
        var session: SocketSession
        let channel: BybitChannel
        let outbox: Outbox
        let close: @Sendable () -> Void
    }

    var venue: Venue
    let catalog: TopicCatalog
    var sockets: [Int: Socket] = [:]
    /// `category/topic` → subscribed socket ids, in subscription order.
    var subscribers: [String: [Int]] = [:]
    /// Active public topics per market, sorted by name.
    var active: [MarketKey: [PublicTopic]] = [:]
    var nextSocketId = 0
    var faults = Faults()
    /// `POST /v5/order/create` requests received, per `orderLinkId` (whatever their outcome,
    /// faults included): a client that sends an order twice shows here even when the second
    /// is refused as a duplicate.
    var createRequests: [String: Int] = [:]
    let logger: Logger
    let maxPending: Int
    public private(set) var framesQueued: Int64 = 0

    init(venue: Venue, logger: Logger, maxPending: Int) {
        self.venue = venue
        var catalog = venue.catalog
        // A replay serves exactly the symbols it carries.
        if let r = venue.replay {
            for i in r.instruments { catalog.symbols[i.category, default: []].insert(i.symbol) }
        }
        self.catalog = catalog
        self.logger = logger
        self.maxPending = maxPending
    }

    // MARK: sockets

    func connect(channel: BybitChannel, close: @escaping @Sendable () -> Void) -> (Int, Outbox) {
        nextSocketId += 1
        let id = nextSocketId
        let control: ControlFrames.Channel = channel == .spot ? .spot : (channel == .private ? .private : .linear)
        let outbox = Outbox(limit: maxPending)
        sockets[id] = Socket(session: SocketSession(channel: control, connId: "sim\(id)-\(channel.rawValue)"),
                             channel: channel, outbox: outbox, close: close)
        return (id, outbox)
    }

    func disconnect(_ id: Int) {
        guard let s = sockets.removeValue(forKey: id) else { return }
        s.outbox.close()
        if let category = Self.category(s.channel) {
            for t in s.session.topics { unsubscribe(id, category: category, topic: t) }
        }
    }

    static func category(_ c: BybitChannel) -> SimCategory? {
        switch c {
        case .spot: return .spot
        case .linear: return .linear
        default: return nil
        }
    }

    func receive(_ id: Int, text: String, now: Int64) {
        guard var s = sockets[id] else { return }
        let auth = venue.auth
        let effects = s.session.handle(text: text, now: now, catalog: catalog) { key, expires, sig in
            auth.verifySocket(apiKey: key, expires: expires, signature: sig)
        }
        sockets[id] = s
        let category = Self.category(s.channel)
        for e in effects {
            switch e {
            case .send(let bytes): push(id, bytes)
            case .subscribe(let topic): if let category { subscribe(id, category: category, topic: topic, now: now) }
            case .unsubscribe(let topic): if let category { unsubscribe(id, category: category, topic: topic) }
            }
        }
    }

    func subscribe(_ id: Int, category: SimCategory, topic: String, now: Int64) {
        guard let parsed = PublicTopic.parse(topic, category: category) else { return }
        let key = "\(category.rawValue)/\(topic)"
        let first = subscribers[key, default: []].isEmpty
        let market = MarketKey(category, parsed.symbol)
        var snapshot: [UInt8]?
        if venue.generated != nil {
            snapshot = venue.generated!.snapshot(market, parsed, now: now, firstSubscriber: first)
        } else if let r = venue.replay {
            snapshot = r.snapshot(category: category, topic: topic)
        }
        if let snapshot { push(id, snapshot) }
        subscribers[key, default: []].append(id)
        if first {
            var list = active[market] ?? []
            list.append(parsed)
            list.sort { $0.description < $1.description }
            active[market] = list
        }
    }

    func unsubscribe(_ id: Int, category: SimCategory, topic: String) {
        let key = "\(category.rawValue)/\(topic)"
        subscribers[key]?.removeAll { $0 == id }
        guard subscribers[key]?.isEmpty ?? false else { return }
        subscribers[key] = nil
        if let parsed = PublicTopic.parse(topic, category: category) {
            let market = MarketKey(category, parsed.symbol)
            active[market]?.removeAll { $0 == parsed }
        }
    }

    func push(_ id: Int, _ bytes: [UInt8]) {
        guard let s = sockets[id] else { return }
        framesQueued += 1
        if !s.outbox.push(ByteBuffer(bytes: bytes)) {
            logger.warning("closing a slow socket", metadata: ["conn": "\(s.session.connId)"])
            s.close()
        }
    }

    func broadcast(_ frames: [FeedFrame]) {
        for f in frames {
            guard let ids = subscribers["\(f.category.rawValue)/\(f.topic)"], !ids.isEmpty else { continue }
            let buffer = ByteBuffer(bytes: f.bytes)
            for id in ids {
                guard let s = sockets[id] else { continue }
                framesQueued += 1
                if !s.outbox.push(buffer) { s.close() }
            }
        }
    }

    /// Sends the private messages of `updates` to the owner's sockets, order → execution → position → wallet.
    func deliver(_ updates: [AccountUpdate], now: Int64) {
        for u in updates {
            let targets = sockets.keys.sorted().filter { sockets[$0]!.session.apiKey == u.apiKey && sockets[$0]!.channel == .private }
            guard !targets.isEmpty else { continue }
            for kind in PrivateTopic.allCases {
                let names = [kind.rawValue, "\(kind.rawValue).\(u.category.rawValue)"]
                var cache: [String: [UInt8]] = [:]
                for id in targets {
                    for name in names where sockets[id]!.session.topics.contains(name) {
                        if cache[name] == nil { cache[name] = venue.privateFrame(kind, update: u, topicName: name, now: now) ?? [] }
                        if let bytes = cache[name], !bytes.isEmpty { push(id, bytes) }
                    }
                }
            }
        }
    }

    // MARK: market time

    /// One generator step: public frames for active topics, then fills of resting orders.
    func step(now: Int64) -> Int {
        guard !faults.paused, venue.generated != nil else { return 0 }
        let skip = faults.skipUpdateId
        let out = venue.generated!.step(now: now, active: active, skipUpdateId: skip)
        if !skip.isEmpty {
            let fired = Set(out.frames.map { "\($0.category.rawValue)/\($0.topic)" })
            faults.skipUpdateId.subtract(fired.filter { $0.contains("orderbook.") })
        }
        broadcast(out.frames)
        deliver(venue.match(out, now: now), now: now)
        return out.frames.count
    }

    /// Replays frames due at recorded time `t` (or the next `count` frames when `t` is nil).
    func replay(until t: Int64?, count: Int, now: Int64) -> (frames: Int, finished: Bool) {
        guard !faults.paused, venue.replay != nil else { return (0, venue.replay?.finished ?? true) }
        let out = t.map { venue.replay!.advance(toRecordedTime: $0) } ?? venue.replay!.advance(count: count)
        broadcast(out.frames)
        deliver(venue.match(out, now: now), now: now)
        return (out.frames.count, venue.replay!.finished)
    }

    /// The largest queue of any socket (for `max`-rate back-pressure).
    func largestPending() -> Int {
        sockets.values.reduce(0) { max($0, $1.outbox.pending) }
    }

    var hasSubscribers: Bool { !subscribers.isEmpty }

    // MARK: REST

    func rest(_ r: RestRequest, now: Int64) -> RestOutcome {
        if r.path == "/v5/order/create", let link = JSONNode.parse(r.body)?["orderLinkId"]?.stringValue {
            createRequests[link, default: 0] += 1
        }
        if faults.timeoutNext.remove(r.path) != nil { return .hang }
        if let status = faults.httpStatusNext.removeValue(forKey: r.path) {
            return .reply(RestReply(status: status, body: Array("<html>\(status) simulated</html>".utf8)))
        }
        if faults.holdNext.remove(r.path) != nil {
            let (reply, updates) = venue.handle(r, now: now)
            deliver(updates, now: now)
            return .holdAnswer(reply)
        }
        if let code = faults.failNext.removeValue(forKey: r.path) {
            let text = code == 10006 ? "Too many visits!" : (code == 10016 ? "System error. Please try again later." : "Simulated failure")
            let headers = RateLimiter.headers(limit: RateLimiter.limit(path: r.path), remaining: 0, reset: now + 1000)
            return .reply(.error(ExchangeError(code, text), time: now, headers: headers))
        }
        let (reply, updates) = venue.handle(r, now: now)
        deliver(updates, now: now)
        return .reply(reply)
    }

    // MARK: faults

    /// Closes every socket (or those of one channel) abruptly; returns how many.
    func dropSockets(_ channel: BybitChannel?) -> Int {
        let ids = sockets.keys.sorted().filter { channel == nil || sockets[$0]!.channel == channel }
        for id in ids {
            sockets[id]!.close()
            sockets[id]!.outbox.close()
        }
        return ids.count
    }

    func skipUpdateId(topic: String, channel: BybitChannel?) {
        for c in [SimCategory.spot, .linear] where channel == nil || Self.category(channel!) == c {
            faults.skipUpdateId.insert("\(c.rawValue)/\(topic)")
        }
    }

    func failNext(path: String, retCode: Int) { faults.failNext[path] = retCode }
    func timeoutNext(path: String) { faults.timeoutNext.insert(path) }
    func holdNextAnswer(path: String) { faults.holdNext.insert(path) }
    func httpStatusNext(path: String, status: Int) { faults.httpStatusNext[path] = status }
    func setPaused(_ p: Bool) { faults.paused = p }

    /// A small status object for `/sim/status`.
    func status() -> [UInt8] {
        var j = JSONOut()
        j.openObject()
        j.field("sockets", int: sockets.count)
        j.field("framesQueued", int: framesQueued)
        j.field("paused", bool: faults.paused)
        j.key("subscriptions")
        j.openArray()
        for k in subscribers.keys.sorted() { j.string(k) }
        j.closeArray()
        j.closeObject()
        return j.bytes
    }
}

extension SimulatorEngine {
    /// Recorded time of the replay's first frame.
    func replayStart() -> Int64 { venue.replay?.startTime ?? 0 }
}
