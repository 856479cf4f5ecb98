import Bybit
import BybitSimulator
import Foundation
import Gateway
import OrderManager
import OrderManagerCore
import PositionManagerCore
import Recording
import Signals
import TradelogCore

/// What a replay decides with: the order manager's and the position manager's settings.
public struct ReplaySettings: Sendable, Hashable {
    public var orderManager: OrderManagerConfig
    public var positionManager: PositionManagerConfig
    /// The `KEY=VALUE` settings these were read from (empty: the defaults).
    public private(set) var values: [String: String] = [:]

    public init(orderManager: OrderManagerConfig = .init(), positionManager: PositionManagerConfig = .init()) {
        self.orderManager = orderManager
        self.positionManager = positionManager
    }

    /// Reads a settings file: `KEY=VALUE` lines (`TRADELOG_OM_*`, `TRADELOG_PM_*`), `#` comments.
    /// A malformed line, an unknown key or a bad value names the file, the line or the field.
    /// With `base`, the file's settings override base's and the rest of base's stay: a what-if
    /// file names only what it changes from the recorded settings.
    public static func load(path: String, over base: ReplaySettings? = nil) throws -> ReplaySettings {
        let text: String
        do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
            throw ConfigurationError(field: "-", source: path, problem: "cannot read the settings file: \(error.localizedDescription)")
        }
        return try parse(text, source: path, over: base)
    }

    public static func parse(_ text: String, source: String, over base: ReplaySettings? = nil) throws -> ReplaySettings {
        // Each file's values are checked against its own name first.
        let own = try values(of: text, source: source)
        var settings = try ReplaySettings(own, source: source)
        guard let base, !base.values.isEmpty else { return settings }
        settings = try ReplaySettings(base.values.merging(own) { _, mine in mine }, source: "\(source) over the recorded settings")
        return settings
    }

    init(_ values: [String: String], source: String) throws {
        orderManager = try OrderManagerConfig.fromEnvironment(values, source: source)
        positionManager = try PositionManagerConfig.fromEnvironment(values, source: source)
        self.values = values
    }

    static func values(of text: String, source: String) throws -> [String: String] {
        var env: [String: String] = [:]
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw ConfigurationError(field: "line \(n + 1)", source: source, problem: "\(line.debugDescription) is not KEY=VALUE")
            }
            let key = line[..<eq].trimmingCharacters(in: .whitespaces)
            guard key.hasPrefix("TRADELOG_OM_") || key.hasPrefix("TRADELOG_PM_") else {
                throw ConfigurationError(field: key, source: "\(source):\(n + 1)",
                                         problem: "only TRADELOG_OM_* and TRADELOG_PM_* settings shape a replay")
            }
            guard OrderManagerConfig.environmentKeys.contains(key) || PositionManagerConfig.environmentKeys.contains(key) else {
                throw ConfigurationError(field: key, source: "\(source):\(n + 1)",
                                         problem: "is not a setting of the order or position manager (misspelled?); README lists them")
            }
            env[key] = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
        }
        return env
    }
}

/// Counts of what a replay read and produced.
public struct ReplayCounters: Sendable, Hashable, Codable {
    public var entries = 0
    public var frames = 0
    public var signals = 0
    public var connects = 0
    public var disconnects = 0
    public var restEntries = 0
    /// Recorded private frames: not fed (the exchange side is simulated again).
    public var recordedPrivateFrames = 0
    /// Frames of a connection whose channel neither the frame nor a connect marker named.
    public var undecodableFrames = 0
    public var events = 0
    public var duplicates = 0
    public var requests = 0
    public var accepted = 0
    public var rejected = 0
    public var fills = 0
    public var resyncs = 0
    /// Events left out because the live gateway dropped them (its recording's notes).
    public var droppedLive = 0
}

/// A recording read for replay: its entries, and the simulated venue's feed of its public
/// frames (each frame parsed once, however many replays play it).
public struct ReplayRecording: Sendable {
    public let entries: [RecordEntry]
    let feed: ReplayFeed
    let venueConfiguration: SimulatorConfiguration
    /// The recording has the gateway's wallet loads (a live recording): snapshots at those times, not at the start.
    let walletLoadsRecorded: Bool
    /// The times of the wallet loads the gateway did not store (wallet frames came during them).
    let discardedWalletLoads: Set<Int64>
    /// By ``ReplayMachine/dropKey(conn:t:)`` of a frame or marker: how many of its last events
    /// never reached the live log (the gateway's queue was full).
    let droppedEvents: [String: Int]

    public init(entries: [RecordEntry]) throws {
        self.entries = entries
        walletLoadsRecorded = entries.contains { $0.kind == .rest && $0.path == GatewayService.walletPath }
        discardedWalletLoads = Set(entries.lazy.filter { $0.kind == .note && $0.reason == RecordEntry.walletLoadDiscarded }.map(\.t))
        var dropped: [String: Int] = [:]
        for e in entries where e.kind == .note && e.reason == RecordEntry.eventsDropped {
            dropped[ReplayMachine.dropKey(conn: e.conn ?? "", t: e.t), default: 0] += max(e.count ?? 0, 0)
        }
        droppedEvents = dropped
        var configured: [SimInstrument] = []
        var seen: Set<String> = []
        for e in entries where e.kind == .frame {
            guard let ch = e.channel, let c = SimCategory(rawValue: ch), let topic = ReplayMachine.topic(of: e.text ?? ""),
                  seen.insert("\(ch)/\(topic)").inserted,
                  let p = PublicTopic.parse(topic, category: c) else { continue }
            if !configured.contains(where: { $0.key == MarketKey(c, p.symbol) }) {
                configured.append(SimInstrument.defaults(symbol: p.symbol, category: c))
            }
        }
        var config = SimulatorConfiguration()
        config.source = .fixture(path: "<recording>", speed: .asFastAsPossible)
        config.instruments = configured.sorted { $0.key < $1.key }
        config.accounts = [SimulatorAccount(apiKey: ReplayMachine.credentials.apiKey, secret: ReplayMachine.credentials.secret)]
        venueConfiguration = config
        feed = try ReplayFeed(entries: entries, configured: config.instruments)
    }
}

/// The replay of one recording, entry by entry, on the recording's clock: the gateway's
/// decoders, the signal intake's parser, the order manager's decisions and fold, the
/// simulator's venue matching our orders against the recorded book, and the position
/// manager's fold. Pure and deterministic: the same entries and settings always give the same
/// events, ids and order (no wall clock, no randomness, no unordered iteration).
public struct ReplayMachine {
    /// The account the simulated venue knows the replay by. Local to the replay; not a Bybit credential.
    static let credentials = BybitCredentials(apiKey: "tradelog-replay", secret: "tradelog-replay-local")
    public static let gatewayName = "replay"
    public static let signalQueue = "model-service.trading_signals"

    public let settings: ReplaySettings
    var venue: Venue
    /// The recording's connections, in the order first seen, and their slots by id (one
    /// lookup per frame).
    var connections: [Connection] = []
    var connectionSlots: [String: Int] = [:]
    var privateDecoder = FrameDecoder(channel: .private)
    public private(set) var orders: OrderManagerState
    public private(set) var positions: PositionManagerState
    var position: Int64 = 0
    var versions = StreamVersions()
    var ids: Set<UUID> = []
    var signalBodies: [String: String] = [:]
    /// The events the entry being fed appended, in log order. Those from `folded` on are not
    /// folded yet (FIFO: every fold sees the log in position order); every path of `feed` folds
    /// them all before it returns.
    var produced: [RecordedEvent] = []
    /// Beside each of `produced`: the payload the replay made it from, if it did (the folds read
    /// that, not the data).
    var payloads: [(any EventPayload)?] = []
    var folded = 0
    var started = false
    let categories: [RESTCategory]
    /// The recording has the gateway's wallet loads (a live recording): snapshots at those times, not at the start.
    let walletLoadsRecorded: Bool
    let discardedWalletLoads: Set<Int64>
    let droppedEvents: [String: Int]
    public private(set) var counters = ReplayCounters()

    /// - Parameters:
    ///   - entries: the whole recording (the venue's book is built from its public frames).
    ///   - categories: the categories whose instruments the order manager loads.
    public init(entries: [RecordEntry], settings: ReplaySettings, categories: [RESTCategory]) throws {
        try self.init(recording: ReplayRecording(entries: entries), settings: settings, categories: categories)
    }

    /// A replay of a recording read once (``ReplayRecording``): each machine plays its own copy
    /// of the venue's feed from the start.
    public init(recording: ReplayRecording, settings: ReplaySettings, categories: [RESTCategory]) throws {
        self.settings = settings
        self.categories = categories
        walletLoadsRecorded = recording.walletLoadsRecorded
        discardedWalletLoads = recording.discardedWalletLoads
        droppedEvents = recording.droppedEvents
        orders = OrderManagerState(config: settings.orderManager)
        positions = PositionManagerState(config: settings.positionManager)
        venue = try recording.venueConfiguration.makeVenue(startMs: 0, replayFeed: recording.feed)
        // About one event per entry: the ids seen are not rehashed as the replay grows.
        ids.reserveCapacity(recording.entries.count + recording.entries.count / 4)
    }

    /// The `"topic"` of a public frame, found without parsing the whole frame.
    static func topic(of text: String) -> String? {
        let marker = Array("\"topic\":\"".utf8)
        let bytes = text.utf8
        var i = bytes.startIndex
        var matched = 0
        while i != bytes.endIndex {
            let b = bytes[i]
            i = bytes.index(after: i)
            if b == marker[matched] {
                matched += 1
                if matched == marker.count {
                    guard let end = bytes[i...].firstIndex(of: UInt8(ascii: "\"")) else { return nil }
                    return String(text[i..<end])
                }
            } else {
                matched = b == marker[0] ? 1 : 0
            }
        }
        return nil
    }

    // MARK: feeding

    /// Feeds one entry; returns the events it produced, in log order.
    public mutating func feed(_ entry: RecordEntry) -> [RecordedEvent] {
        // Its buffer again when the caller let go of the last list (no allocation per entry).
        produced.removeAll(keepingCapacity: true)
        payloads.removeAll(keepingCapacity: true)
        folded = 0
        counters.entries += 1
        let at = Timestamp(microsecondsSinceEpoch: entry.t)
        if !started, entry.kind != .header {
            started = true
            start(at: at)
        }
        switch entry.kind {
        case .header, .sent:
            break
        case .note:
            // The gateway's report of events it dropped, stored in its health stream (the drops
            // themselves are left out where they happened, by their own notes).
            if entry.reason == RecordEntry.dropReported, let text = entry.text,
               let report = try? CanonicalJSON.decoder.decode(GatewayDataDropped.self, from: Data(text.utf8)) {
                dropReport(report, at: at)
            }
        case .rest:
            counters.restEntries += 1
            // A live recording: the gateway loaded the wallet here (after each private auth).
            // (Only an answered load: the gateway retries failed ones, and stores nothing for them.)
            // (Not one the gateway discarded: wallet frames, newer, came during it.)
            if entry.path == GatewayService.walletPath, entry.status == nil || entry.status == 200,
               entry.text.map({ $0.contains("\"retCode\":0") }) ?? true, !discardedWalletLoads.contains(entry.t) {
                walletSnapshot(at: at)
            }
        case .connect:
            counters.connects += 1
            guard let conn = entry.conn, let channel = entry.channel.flatMap(BybitChannel.init(rawValue:)) else { break }
            // A live recording's private socket is marked as live; its frames are not fed (the venue answers again).
            let c = slot(of: conn)
            connections[c].channel = channel
            if channel != .private { connections[c].decoder = FrameDecoder(channel: channel) }
            marker(StreamConnected(connection: conn, channel: channel, url: entry.url ?? ""), conn: conn, at: at)
        case .disconnect:
            counters.disconnects += 1
            guard let conn = entry.conn, let channel = entry.channel.flatMap(BybitChannel.init(rawValue:)) else { break }
            marker(StreamDisconnected(connection: conn, channel: channel, reason: entry.reason ?? ""), conn: conn, at: at)
        case .frame:
            counters.frames += 1
            guard let conn = entry.conn, entry.text != nil || entry.base64 != nil else { break }
            let c = slot(of: conn)
            if let named = entry.channel.flatMap(BybitChannel.init(rawValue:)), connections[c].channel == nil {
                connections[c].channel = named
            }
            if entry.channel == BybitChannel.private.rawValue || connections[c].channel == .private {
                counters.recordedPrivateFrames += 1
                break
            }
            market(at: at)
            if connections[c].decoder == nil, let channel = connections[c].channel {
                connections[c].decoder = FrameDecoder(channel: channel)
            }
            guard connections[c].decoder != nil else {
                // No channel named by the frame or a connect marker: nothing to decode it as.
                counters.undecodableFrames += 1
                break
            }
            let output: FrameOutput
            if var frame = entry.text {
                // The frame's bytes as the string holds them (no copy).
                output = frame.withUTF8 { connections[c].decoder!.decode(UnsafeRawBufferPointer($0), receivedAt: at) }
            } else if let bytes = entry.body {
                // Received bytes that were not UTF-8, recorded in base64.
                output = connections[c].decoder!.decode(bytes, receivedAt: at)
            } else {
                // Malformed base64: nothing to decode.
                counters.undecodableFrames += 1
                break
            }
            counters.resyncs += output.resync.count
            let source = connections[c].source
            // Events the live gateway's full queue dropped: left out here too, and the books they
            // updated forgotten (their next updates are logged unsynced until a fresh snapshot).
            var events = output.events[...]
            if let lost = droppedEvents[Self.dropKey(conn: conn, t: entry.t)], lost > 0 {
                let cut = max(events.count - lost, 0)
                let books = Set(events[cut...].filter { $0.type == OrderBookUpdated.eventType }.map(\.stream))
                if !books.isEmpty { _ = connections[c].decoder!.forgetBooks(ofStreams: books) }
                counters.droppedLive += events.count - cut
                events = events[..<cut]
            }
            for e in events {
                append(e.stream, NewEvent(eventID: e.eventID, type: e.type, data: e.data,
                                          metadata: EventMetadata(source: source, exchangeTime: e.exchangeTime, receiveTime: at)),
                       at: at)
            }
            drain(at: at)
        case .signal:
            counters.signals += 1
            signal(entry.body ?? [], at: at)
        }
        // Every path above folds what it appended; this one keeps a path that would not from
        // losing the folds of its events (the next feed starts a fresh list).
        drain(at: at)
        counters.events += produced.count
        return produced
    }

    /// A recorded connection: its channel, its public decoder (none for the private socket,
    /// whose frames the venue answers again) and `gateway/{connection}`, the source of its events.
    struct Connection {
        /// As the connect marker or the connection's first frame named it.
        var channel: BybitChannel?
        var decoder: FrameDecoder?
        let source: String
    }

    /// The slot of connection `conn`, added when first seen.
    mutating func slot(of conn: String) -> Int {
        if let known = connectionSlots[conn] { return known }
        connections.append(Connection(channel: nil, decoder: nil, source: "gateway/\(conn)"))
        connectionSlots[conn] = connections.count - 1
        return connections.count - 1
    }

    /// Start of the session: the instruments the order manager loads and the wallet the gateway loads.
    mutating func start(at: Timestamp) {
        let nowMs = at.microsecondsSinceEpoch / 1000
        for category in categories {
            let request = BybitRESTRequest.instruments(category: category)
            let (reply, _) = venue.handle(RestRequest(method: "GET", path: request.path, rawQuery: request.queryString), now: nowMs)
            guard let page = try? RESTEnvelopeDecoder.decode(RESTPage<RESTInstrument>.self, from: reply.body, path: request.path),
                  let (stream, event) = try? OrderManagerEngine.instrumentsEvent(category: category, page.result.list, at: at)
            else { continue }
            append(stream, event, at: at)
        }
        if !walletLoadsRecorded { walletSnapshot(at: at) }
        drain(at: at)
    }

    /// The wallet the gateway loads over REST (Bybit pushes none on subscribe), from the venue.
    mutating func walletSnapshot(at: Timestamp) {
        let nowMs = at.microsecondsSinceEpoch / 1000
        let wallet = BybitRESTRequest.walletBalance(accountType: "UNIFIED")
        let (reply, _) = venue.handle(signed(wallet, nowMs: nowMs), now: nowMs)
        if let balance = try? RESTEnvelopeDecoder.decode(RESTWalletBalance.self, from: reply.body, path: wallet.path),
           let events = try? GatewayService.walletSnapshotEvents(balance.result, at: at) {
            // The last of them the live gateway's full queue dropped, if it did.
            let lost = droppedEvents[Self.dropKey(conn: "rest", t: at.microsecondsSinceEpoch)] ?? 0
            counters.droppedLive += min(lost, events.count)
            for (stream, event) in events.dropLast(lost) { append(stream, event, at: at) }
        }
        drain(at: at)
    }

    /// The recorded book up to `at`: resting orders may fill.
    mutating func market(at: Timestamp) {
        let updates = venue.playReplay(toRecordedTime: at.microsecondsSinceEpoch, now: at.microsecondsSinceEpoch / 1000)
        if !updates.isEmpty { deliver(updates, at: at) }
    }

    /// Where a frame's or marker's drop note is found: its connection and receive time.
    static func dropKey(conn: String, t: Int64) -> String { "\(conn)@\(t)" }

    /// The gateway's `GatewayDataDropped`, as it stored it in its health stream.
    mutating func dropReport(_ report: GatewayDataDropped, at: Timestamp) {
        let stream = "gateway.health-\(Self.gatewayName)"
        let key = "\(stream)/dropped/\(report.firstReceive?.microsecondsSinceEpoch ?? 0)/\(report.events)"
        guard let event = try? NewEvent(eventID: DeterministicID.derived(from: key), payload: report,
                                        metadata: EventMetadata(source: "gateway", receiveTime: report.lastReceive)) else { return }
        append(stream, event, at: at)
        drain(at: at)
    }

    mutating func marker<P: EventPayload>(_ payload: P, conn: String, at: Timestamp) {
        // A marker the live gateway's full queue dropped.
        if let lost = droppedEvents[Self.dropKey(conn: conn, t: at.microsecondsSinceEpoch)], lost > 0 {
            counters.droppedLive += 1
            return
        }
        let stream = "gateway.connections-\(Self.gatewayName)"
        let id = DeterministicID.derived(from: "\(stream)/\(conn)/\(at.microsecondsSinceEpoch)", kind: P.eventType)
        guard let event = try? NewEvent(eventID: id, payload: payload,
                                        metadata: EventMetadata(source: "gateway/\(conn)", receiveTime: at)) else { return }
        append(stream, event, at: at)
        drain(at: at)
    }

    // MARK: signals

    mutating func signal(_ body: [UInt8], at: Timestamp) {
        switch SignalParser.parse(body) {
        case .success(let signal):
            let digest = SignalEvents.bodySHA256(body)
            if let earlier = signalBodies[signal.signalID] {
                if earlier != digest, let (stream, event) = try? SignalEvents.duplicate(
                    signal: signal, body: body, queue: Self.signalQueue, receiveTime: at, messageID: nil) {
                    append(stream, event, at: at)
                    drain(at: at)
                }
                return
            }
            signalBodies[signal.signalID] = digest
            guard let (stream, received) = try? SignalEvents.received(
                signal: signal, body: body, queue: Self.signalQueue, redelivered: false, receiveTime: at, messageID: nil)
            else { return }
            drain(at: at)
            let decision = OrderDecider.decide(signal, receivedEventID: received.eventID, receivedAt: at, state: orders)
            append(stream, received, at: at)
            for d in decision.events { append(d.stream, d.event, at: at) }
            drain(at: at)
            for d in decision.events {
                if let request = OrderManager.OrderRequest(d.event) { send(request, at: at) }
            }
        case .failure(let rejection):
            guard let (stream, event) = try? SignalEvents.rejected(rejection, body: body, queue: Self.signalQueue,
                                                                   receiveTime: at, messageID: nil) else { return }
            append(stream, event, at: at)
            drain(at: at)
        }
    }

    // MARK: the log

    /// Appends one event (a repeated id is a no-op, as in the log).
    mutating func append(_ stream: String, _ event: NewEvent, at: Timestamp) {
        guard ids.insert(event.eventID).inserted else {
            counters.duplicates += 1
            return
        }
        position += 1
        let version = versions.next(stream)
        let recorded = RecordedEvent(globalPosition: position, eventID: event.eventID, stream: stream, streamVersion: version,
                                     type: event.type, schemaVersion: event.schemaVersion, data: event.data,
                                     metadata: event.metadata, recordedAt: at)
        produced.append(recorded)
        payloads.append(event.payload)
    }

    /// Folds everything appended so far, in order; what the folds derive is appended and folded
    /// too, and the order manager's derived intents are sent once appended.
    mutating func drain(at: Timestamp) {
        while folded < produced.count {
            let e = produced[folded]
            let payload = payloads[folded]
            folded += 1
            var send: [OrderManager.OrderRequest] = []
            // A ticker's prices and any other payload, read once for both folds.
            let prices = StoredTickerPrices(event: e)
            var reading = PayloadReading(known: payload)
            for d in orders.apply(e, prices: prices, reading: &reading) {
                let fresh = !ids.contains(d.event.eventID)
                append(d.stream, d.event, at: at)
                if fresh, d.intent != nil, let request = OrderManager.OrderRequest(d.event) { send.append(request) }
            }
            for d in positions.apply(e, prices: prices, reading: &reading) { append(d.stream, d.event, at: at) }
            for r in send { self.send(r, at: at) }
        }
    }

    // MARK: the exchange

    func signed(_ request: BybitRESTRequest, nowMs: Int64) -> RestRequest {
        let s = request.signed(credentials: Self.credentials, timestampMs: nowMs)
        var headers: [String: String] = [:]
        for h in s.headers { headers[h.name] = h.value }
        return RestRequest(method: request.method.rawValue, path: request.path, rawQuery: request.queryString,
                           body: request.body, headers: headers)
    }

    /// Sends one request to the venue at `at`; its outcome and the private frames it causes are appended.
    mutating func send(_ request: OrderManager.OrderRequest, at: Timestamp) {
        counters.requests += 1
        let nowMs = at.microsecondsSinceEpoch / 1000
        let rest: BybitRESTRequest
        switch request {
        case .create(let r): rest = r.restRequest.request
        case .amend(let r):
            rest = RESTAmendOrder(category: r.category, symbol: r.symbol, orderLinkId: r.orderLinkId, qty: r.qty, price: r.price).request
        case .cancel(let r):
            rest = RESTCancelOrder(category: r.category, symbol: r.symbol, orderLinkId: r.orderLinkId).request
        }
        let (reply, updates) = venue.handle(signed(rest, nowMs: nowMs), now: nowMs)
        let link = request.orderLinkId
        let record = orders.order(link)
        let outcome: NewEvent?
        do {
            let ack = try RESTEnvelopeDecoder.decode(RESTOrderAck.self, from: reply.body, path: rest.path).result
            counters.accepted += 1
            outcome = OrderManagerEngine.outcomeEvent(
                OrderAccepted(orderLinkId: link, orderId: ack.orderId, action: request.action, via: "rest", exchangeStatus: nil,
                              amendIndex: request.amendIndex),
                link: link, kind: "accepted", record: record, at: at)
        } catch let e as BybitAPIError {
            counters.rejected += 1
            outcome = OrderManagerEngine.outcomeEvent(
                OrderRejected(orderLinkId: link, action: request.action, retCode: e.code, retMsg: e.message, amendIndex: request.amendIndex),
                link: link, kind: "rejected", record: record, at: at)
        } catch {
            counters.rejected += 1
            outcome = OrderManagerEngine.outcomeEvent(
                OrderRejected(orderLinkId: link, action: request.action, retCode: -1, retMsg: "\(error)", amendIndex: request.amendIndex),
                link: link, kind: "rejected", record: record, at: at)
        }
        if let outcome { append(OrderEvents.stream(orderLinkId: link), outcome, at: at) }
        drain(at: at)
        deliver(updates, at: at)
    }

    /// The private frames of account updates (order, execution, position, wallet), through the private decoder.
    mutating func deliver(_ updates: [AccountUpdate], at: Timestamp) {
        let nowMs = at.microsecondsSinceEpoch / 1000
        for u in updates {
            counters.fills += u.executions.count
            for kind in PrivateTopic.allCases {
                guard let bytes = venue.privateFrame(kind, update: u, topicName: kind.rawValue, now: nowMs) else { continue }
                for e in privateDecoder.decode(bytes, receivedAt: at).events {
                    append(e.stream, NewEvent(eventID: e.eventID, type: e.type, data: e.data,
                                              metadata: EventMetadata(source: "gateway/private-replay", exchangeTime: e.exchangeTime,
                                                                      receiveTime: at)),
                           at: at)
                }
            }
        }
        drain(at: at)
    }
}
