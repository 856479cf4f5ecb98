import Bybit
import BybitClient
import EventLog
import Foundation
import Hummingbird
import Logging
import NIOCore
import PostgresClient
import Recording
import ServiceLifecycle
import Synchronization
import TradelogCore

/// The gateway: Bybit WebSockets into the log. One stream per channel in use (spot, linear,
/// inverse, private), subscriptions kept as events (restored after a restart and after every
/// reconnect), frames decoded and appended in receive order with their receive time and
/// connection id, through a bounded buffer that rides out a PostgreSQL outage.
public actor GatewayService: Service, SubscriptionManaging {
    public let configuration: GatewayConfiguration
    private let log: EventLog
    private let logger: Logger
    private let buffer: IngestBuffer
    private let writer: LogWriter
    private let recorder: RecordingSink?
    /// The gateway closes a recording it opened itself, not one it was given (shared with the intake).
    private let ownsRecorder: Bool
    /// When the last wallet balance arrived: the snapshot's receive time, the same instant the
    /// recording gives its REST entry (a replay takes the snapshot there).
    private let rest: BybitRESTClient?
    private var set = SubscriptionSet()
    private var subscriptionVersion: Int64 = 0
    /// A change failed and the stream could not be read again then: read it before the next.
    private var needsCatchUp = false
    /// Wallet loads started (one per private auth); an older load stops when a newer starts.
    private var walletLoads = 0
    private var walletTask: Task<Void, Never>?
    /// Set at shutdown: no new wallet load starts.
    private var stopping = false
    private var streams: [BybitChannel: BybitStream] = [:]
    private var ingests: [BybitChannel: FrameIngest] = [:]
    private var streamTasks: [BybitChannel: Task<Void, Never>] = [:]
    private var started = false
    private var apiPort: Int?
    private var apiPortWaiters: [CheckedContinuation<Int, Never>] = []
    /// Subscription changes run one at a time (the actor is reentrant at every await).
    private var changing = false
    private var changeWaiters: [CheckedContinuation<Void, Never>] = []
    /// How long a stopping gateway waits for the log to take what is still queued.
    public var drainTimeout: Duration = .seconds(30)

    private func beginChange() async {
        if changing {
            await withCheckedContinuation { changeWaiters.append($0) }
        }
        changing = true
    }

    private func endChange() {
        if changeWaiters.isEmpty {
            changing = false
        } else {
            changeWaiters.removeFirst().resume()
        }
    }

    /// - Parameter recording: a recording shared with other services (`tradelog run --record`);
    ///   without it the gateway opens `configuration.recordPath`, if set.
    public init(configuration: GatewayConfiguration, log: EventLog, logger: Logger, recording: RecordingSink? = nil) throws {
        self.configuration = configuration
        self.log = log
        var logger = logger
        logger[metadataKey: "service"] = "gateway"
        self.logger = logger
        buffer = IngestBuffer(capacity: configuration.bufferCapacity)
        let recorder = try recording ?? configuration.recordPath.map {
            try RecordingSink(path: $0, info: ["source": "gateway", "environment": configuration.environment.description])
        }
        var onDropReported: (@Sendable (NewEvent) -> Void)?
        if let recorder {
            onDropReported = { event in
                recorder.append(RecordEntry(t: Timestamp.now().microsecondsSinceEpoch, kind: .note, channel: "gateway",
                                            text: String(decoding: event.data, as: UTF8.self), reason: RecordEntry.dropReported))
            }
        }
        writer = LogWriter(log: log, buffer: buffer, maxBatch: configuration.maxBatch,
                           healthStream: configuration.healthStream, logger: logger, onDropReported: onDropReported)
        self.recorder = recorder
        ownsRecorder = recording == nil
        rest = configuration.credentials.map { credentials in
            BybitRESTClient(
                environment: configuration.environment, credentials: credentials, httpClient: .shared, logger: logger,
                onResponse: { exchange in
                    if exchange.path == Self.walletPath {
                        // The receive time of this load's answer, to the load that asked (a task-local
                        // clock: two loads in flight at once each get their own answer's time).
                        ResponseClock.current?.set(exchange.receivedAtMicros)
                    }
                    // Every REST response the gateway used goes into the recording too.
                    recorder?.append(RecordEntry(
                        t: exchange.receivedAtMicros, kind: .rest, channel: "rest",
                        text: String(decoding: exchange.body, as: UTF8.self), method: exchange.method.rawValue,
                        path: exchange.path, query: exchange.query, status: exchange.status))
                })
        }
    }

    /// Bybit pushes no wallet snapshot on subscribe: after each private auth, when `wallet` is
    /// subscribed, the balance is loaded over REST and stored as `ExchangeWalletSnapshot`.
    /// The REST path of the wallet balance (a replay finds the gateway's loads by it).
    public static let walletPath = BybitRESTRequest.walletBalance(accountType: "UNIFIED").path

    /// Loads the wallet after each private auth: retried with backoff (Bybit pushes no wallet
    /// on subscribe, so a failed load would leave the balance unknown until the next auth),
    /// until a later auth starts its own load. A snapshot requested before a wallet frame
    /// arrived is older than that frame and is fetched again (the folds apply a snapshot as
    /// the whole wallet).
    /// One wallet load at a time: a new auth replaces the previous load; shutdown cancels it.
    private func startWalletLoad() {
        guard !stopping else { return }
        walletTask?.cancel()
        walletTask = Task { await self.loadWalletSnapshot() }
    }

    private func loadWalletSnapshot() async {
        guard let rest, set.contains(SubscriptionKey(channel: .private, topic: "wallet")) else { return }
        walletLoads += 1
        let generation = walletLoads
        var delayMs = 1_000
        var raced = 0
        while !Task.isCancelled && generation == walletLoads {
            let updatesBefore = ingests[.private]?.counters.walletUpdates ?? 0
            do {
                let answered = ResponseClock()
                let balance = try await ResponseClock.$current.withValue(answered) { try await rest.walletBalance(accountType: "UNIFIED") }
                let at = answered.take().map(Timestamp.init(microsecondsSinceEpoch:)) ?? Timestamp.now()
                // A replay of the recording must not store a load this one does not store.
                let discarded = RecordEntry(t: at.microsecondsSinceEpoch, kind: .note, channel: "rest",
                                            reason: RecordEntry.walletLoadDiscarded, path: Self.walletPath)
                guard generation == walletLoads else {
                    // A later auth started its own load.
                    recorder?.append(discarded)
                    return
                }
                if (ingests[.private]?.counters.walletUpdates ?? 0) != updatesBefore {
                    raced += 1
                    recorder?.append(discarded)
                    // Frames keep coming: they are newer than any snapshot, and complete per account.
                    if raced >= 3 {
                        logger.notice("wallet snapshot skipped: wallet frames arrived during each load (they are newer)")
                        return
                    }
                    continue
                }
                let items = try Self.walletSnapshotEvents(balance, at: at)
                    .map { IngestBuffer.Item(stream: $0.stream, event: $0.event) }
                let lost = buffer.enqueue(items)
                if lost > 0 {
                    // The queue is full: a replay leaves the same snapshot events out.
                    recorder?.append(RecordEntry(t: at.microsecondsSinceEpoch, kind: .note, conn: "rest", channel: "rest",
                                                 reason: RecordEntry.eventsDropped, count: lost))
                }
                logger.info("wallet snapshot loaded over REST", metadata: ["gateway.accounts": "\(balance.list.count)"])
                return
            } catch {
                logger.error("could not load the wallet snapshot over REST; retrying",
                             metadata: ["bybit.error": "\(error)", "retry.in.ms": "\(delayMs)"])
                try? await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 60_000)
            }
        }
    }

    /// The `ExchangeWalletSnapshot` events of a REST wallet balance, one per account type, with
    /// ids from the content and the receive time.
    public static func walletSnapshotEvents(_ balance: RESTWalletBalance, at: Timestamp) throws -> [(stream: String, event: NewEvent)] {
        let encoder = JSONEncoder.sorted
        return try balance.list.map { account in
            let data = try encoder.encode(account)
            let stream = "exchange.wallet-\(account.accountType)"
            let id = DeterministicID.uuid5(namespace: DeterministicID.namespace,
                                           name: "\(stream)/ExchangeWalletSnapshot/\(Digest.hex(Digest.sha256(Array(data))))/\(at.microsecondsSinceEpoch)")
            return (stream, NewEvent(eventID: id, type: "ExchangeWalletSnapshot", data: Array(data),
                                     metadata: EventMetadata(source: "gateway/rest", receiveTime: at)))
        }
    }

    public func run() async throws {
        // PostgreSQL unavailable at start: wait for it (as the writer does), not take the process down.
        var delayMs = 500
        while true {
            if Task.isShuttingDownGracefully { return }
            do {
                try await restoreSubscriptions()
                break
            } catch let error as PGError where error.isConnectionProblem || error.sqlState == "3D000" || error.sqlState == "42P01" {
                // Unreachable, or the database or its log not there yet (being created or migrated).
                logger.warning("cannot read the gateway's subscriptions from the log; retrying",
                               metadata: ["error": "\(error)", "retry.in.ms": "\(delayMs)"])
                try await Task.sleep(for: .milliseconds(delayMs))
                delayMs = min(delayMs * 2, 15_000)
            }
        }
        let writerTask = Task { await writer.run() }
        for channel in set.channels { ensureStream(channel) }
        logger.info("gateway started", metadata: [
            "bybit.env": "\(configuration.environment)",
            "gateway.subscriptions": "\(set.entries.map(\.key.id).joined(separator: ","))",
            "gateway.private": "\(configuration.credentials == nil ? "off (no BYBIT_API_KEY)" : "on")"])

        var apiGroup: ServiceGroup?
        var apiTask: Task<Void, any Error>?
        if let port = configuration.apiPort {
            let app = Application(
                router: GatewayAPI.router(manager: self, apiKey: configuration.apiKey),
                configuration: .init(address: .hostname(configuration.apiHost, port: port), serverName: "tradelog"),
                onServerRunning: { channel in await self.apiStarted(channel.localAddress?.port ?? port) },
                logger: logger)
            if configuration.apiKey == nil {
                logger.warning("TRADELOG_API_KEY is not set: the subscription API refuses every call")
            }
            let group = ServiceGroup(configuration: .init(services: [app], logger: logger))
            apiGroup = group
            let logger = self.logger
            apiTask = Task {
                do {
                    try await group.run()
                } catch {
                    logger.error("gateway API stopped", metadata: ["http.error": "\(error)"])
                }
            }
        }
        started = true

        try? await gracefulShutdown()

        logger.info("gateway stopping")
        stopping = true
        walletTask?.cancel()
        await apiGroup?.triggerGracefulShutdown()
        _ = try? await apiTask?.value
        for task in streamTasks.values { task.cancel() }
        for task in streamTasks.values { await task.value }
        buffer.close()
        let drained = await withTaskGroup(of: Bool.self) { group in
            group.addTask { await writerTask.value; return true }
            group.addTask { [drainTimeout] in try? await Task.sleep(for: drainTimeout); return false }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
        if !drained {
            writer.abandon()
            logger.critical("gateway stopped with events not in the log (the log did not take them within the drain time, or the shutdown was cut short)", metadata: [
                "gateway.lost": "\(buffer.count)", "gateway.drain_timeout": "\(drainTimeout)"])
        }
        if ownsRecorder { try recorder?.close() }
        let stats = writer.stats
        logger.info("gateway stopped", metadata: [
            "gateway.appended": "\(stats.appended)", "gateway.duplicates": "\(stats.duplicates)",
            "gateway.dropped": "\(buffer.stats.droppedTotal)"])
    }

    /// The API's port once it listens (tests use port 0).
    public func boundAPIPort() async -> Int {
        if let apiPort { return apiPort }
        return await withCheckedContinuation { apiPortWaiters.append($0) }
    }

    private func apiStarted(_ port: Int) {
        apiPort = port
        logger.info("gateway API listening", metadata: ["http.address": "\(configuration.apiHost):\(port)"])
        for w in apiPortWaiters { w.resume(returning: port) }
        apiPortWaiters.removeAll()
    }

    // MARK: - Subscriptions

    private func restoreSubscriptions() async throws {
        set = SubscriptionSet()
        subscriptionVersion = 0
        var from: Int64 = 1
        while true {
            let events = try await log.readStream(configuration.subscriptionStream, fromVersion: from, limit: 1_000)
            for e in events {
                try set.apply(e)
                subscriptionVersion = e.streamVersion
            }
            if events.count < 1_000 { break }
            from = subscriptionVersion + 1
        }
        for key in configuration.subscriptions where !set.contains(key) {
            let added = SubscriptionAdded(channel: key.channel, topic: key.topic, channelType: nil,
                                          symbol: key.topic.split(separator: ".").last.map(String.init),
                                          requestedBy: "config", via: "config")
            try await store(added)
        }
        guard configuration.credentials != nil, configuration.subscribeAccountTopics else { return }
        for t in GatewayConfiguration.accountTopics where !set.contains(SubscriptionKey(channel: .private, topic: t.topic)) {
            try await store(SubscriptionAdded(channel: .private, topic: t.topic, channelType: t.channelType, symbol: nil,
                                              requestedBy: t.requestedBy, via: "default"))
        }
    }

    private func store(_ added: SubscriptionAdded) async throws {
        let (event, result) = try await appendChange(added, kind: "added")
        set.apply(added, position: result.head, at: event.metadata.receiveTime)
    }

    /// Appends one change at the stream's next version (its id derived from that version).
    private func appendChange<P: EventPayload>(_ payload: P, kind: String) async throws -> (NewEvent, AppendResult) {
        let id = DeterministicID.derived(from: "\(configuration.subscriptionStream)/\(subscriptionVersion + 1)", kind: kind)
        let event = try NewEvent(eventID: id, payload: payload, metadata: EventMetadata(source: "gateway", receiveTime: .now()))
        let result = try await log.append(to: configuration.subscriptionStream, expectedVersion: .exact(subscriptionVersion), [event])
        // Its id is taken: an earlier change landed unseen (its answer lost, the catch-up not
        // done yet) and holds this version. Nothing was written: caught up, it fails.
        guard result.outcomes.allSatisfy(\.isAppended) else { throw SubscriptionChangeUnseen() }
        subscriptionVersion += 1
        return (event, result)
    }

    /// After an append that failed: its answer may have been lost after it landed (or another
    /// process wrote), so the stream is read past our version and what it holds applied, the
    /// sockets told of each topic it added or removed. Without this every later change would
    /// fail on the version check until a restart, and a landed topic would never be subscribed.
    private func catchUpSubscriptions() async {
        needsCatchUp = true
        do {
            while true {
                let events = try await log.readStream(configuration.subscriptionStream, fromVersion: subscriptionVersion + 1, limit: 1_000)
                for e in events {
                    let before = Set(set.entries.map(\.key))
                    try set.apply(e)
                    subscriptionVersion = e.streamVersion
                    let after = Set(set.entries.map(\.key))
                    for key in after.subtracting(before).sorted(by: { $0.id < $1.id }) where started {
                        await ensureStream(key.channel)?.subscribe([key.topic])
                    }
                    for key in before.subtracting(after).sorted(by: { $0.id < $1.id }) {
                        await streams[key.channel]?.unsubscribe([key.topic])
                    }
                }
                if events.count < 1_000 {
                    needsCatchUp = false
                    return
                }
            }
        } catch {
            logger.warning("cannot read the subscriptions stream after a failed change; the next change retries",
                           metadata: ["error": "\(error)"])
        }
    }

    /// A change whose event id the log already holds: an earlier change landed unseen.
    struct SubscriptionChangeUnseen: Error, CustomStringConvertible {
        var description: String { "the subscriptions changed unseen (an earlier change landed); read again, try once more" }
    }

    public func list() async -> [SubscriptionView] {
        var out: [SubscriptionView] = []
        for entry in set.entries {
            out.append(await view(entry))
        }
        return out
    }

    public func add(_ request: SubscriptionRequest) async throws -> (view: SubscriptionView, created: Bool) {
        let added = try request.resolve().get()
        let key = SubscriptionKey(channel: added.channel, topic: added.topic)
        await beginChange()
        defer { endChange() }
        if needsCatchUp { await catchUpSubscriptions() }
        if let entry = set.entry(key) { return (await view(entry), false) }
        do { try await store(added) } catch {
            await catchUpSubscriptions()
            throw error
        }
        logger.info("subscription added", metadata: ["ws.topic": "\(key.id)", "gateway.by": "\(added.requestedBy)"])
        if started {
            let stream = ensureStream(key.channel)
            await stream?.subscribe([key.topic])
        }
        guard let entry = set.entry(key) else {
            throw SubscriptionRequestError(field: "topic", problem: "was removed while being added")
        }
        return (await view(entry), true)
    }

    public func remove(id: String, requestedBy: String) async throws -> SubscriptionView? {
        await beginChange()
        defer { endChange() }
        if needsCatchUp { await catchUpSubscriptions() }
        guard let key = SubscriptionKey(id: id), let entry = set.entry(key) else { return nil }
        let before = await view(entry)
        let removed = SubscriptionRemoved(channel: key.channel, topic: key.topic, requestedBy: requestedBy)
        do { _ = try await appendChange(removed, kind: "removed") } catch {
            await catchUpSubscriptions()
            throw error
        }
        set.apply(removed)
        await streams[key.channel]?.unsubscribe([key.topic])
        logger.info("subscription removed", metadata: ["ws.topic": "\(key.id)", "gateway.by": "\(requestedBy)"])
        var gone = before
        gone.status = "removed"
        return gone
    }

    public func health() async -> [String: String] {
        let w = writer.stats
        let b = buffer.stats
        var facts: [String: String] = [
            "status": "ok", "appended": "\(w.appended)", "duplicates": "\(w.duplicates)",
            "append_failures": "\(w.failures)", "queued": "\(b.queued)", "dropped": "\(b.droppedTotal)",
            "log_head": "\(w.lastHead)",
        ]
        for (channel, stream) in streams.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            facts["\(channel.rawValue).connected"] = "\(await stream.isReady)"
            facts["\(channel.rawValue).connects"] = "\(await stream.connectCount)"
        }
        for (channel, ingest) in ingests.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
            let c = ingest.counters
            facts["\(channel.rawValue).frames"] = "\(c.frames)"
            facts["\(channel.rawValue).unparsed"] = "\(c.unparsed)"
        }
        return facts
    }

    /// Decoder and socket statistics per channel (tests and benchmarks).
    public func ingestCounters() -> [BybitChannel: FrameIngest.Counters] {
        ingests.mapValues(\.counters)
    }

    public var writerStats: LogWriter.Stats { writer.stats }
    public var bufferStats: IngestBuffer.Stats { buffer.stats }

    /// Closes a channel's socket (tests: the stream reconnects and resubscribes).
    public func dropConnection(_ channel: BybitChannel) async {
        await streams[channel]?.dropConnection(reason: "dropped on request")
    }

    public func stream(_ channel: BybitChannel) -> BybitStream? { streams[channel] }

    private func view(_ entry: SubscriptionSet.Entry) async -> SubscriptionView {
        var status = "pending"
        var message: String?
        if entry.key.channel == .private && configuration.credentials == nil {
            status = "unavailable"
            message = "private topics need BYBIT_API_KEY and BYBIT_API_SECRET"
        } else if let stream = streams[entry.key.channel] {
            if let auth = await stream.authFailure, !(await stream.isReady) {
                status = "failed"
                message = "auth refused: \(auth)"
            } else if let failure = await stream.failedTopics[entry.key.topic] {
                status = "failed"
                message = failure
            } else if await stream.activeTopics.contains(entry.key.topic) {
                status = "active"
            }
        }
        return SubscriptionView(
            id: entry.key.id, channel: entry.key.channel.rawValue, topic: entry.key.topic,
            channelType: entry.added.channelType, symbol: entry.added.symbol,
            requestingService: entry.added.requestedBy, via: entry.added.via, status: status, message: message,
            createdAt: entry.addedAt.map { ISO8601DateFormatter().string(from: $0.date) })
    }

    @discardableResult
    private func ensureStream(_ channel: BybitChannel) -> BybitStream? {
        if let s = streams[channel] { return s }
        if channel == .private && configuration.credentials == nil {
            logger.warning("private subscriptions wait for BYBIT_API_KEY and BYBIT_API_SECRET")
            return nil
        }
        var config = BybitStream.Configuration(channel: channel, url: configuration.environment.streamURL(channel))
        config.initialBackoffMs = configuration.initialBackoffMs
        config.maximumBackoffMs = configuration.maximumBackoffMs
        config.session.pingIntervalMs = configuration.pingIntervalMs
        config.session.deadAfterMs = configuration.deadAfterMs
        if channel == .private, let rest {
            // The auth's expiry is on Bybit's clock (GET /v5/market/time before each auth; the last offset if that fails).
            config.serverClockOffsetMs = { @Sendable in
                // Measured again before every auth (one GET): a local clock that stepped since counts.
                if let measured = try? await rest.syncClock() { return measured }
                return await rest.clockOffsetMs
            }
        }
        let ingest = FrameIngest(channel: channel, gatewayName: configuration.name,
                                 connectionStream: configuration.connectionStream,
                                 buffer: buffer, recorder: recorder, logger: logger,
                                 onAuthenticated: channel == .private ? { @Sendable [weak self] in
                                     guard let self else { return }
                                     await self.startWalletLoad()
                                 } : nil)
        let stream = BybitStream(configuration: config, credentials: channel == .private ? configuration.credentials : nil,
                                 delegate: ingest, logger: logger)
        streams[channel] = stream
        ingests[channel] = ingest
        let topics = set.topics(on: channel)
        streamTasks[channel] = Task {
            await stream.subscribe(topics)
            await stream.run()
        }
        return stream
    }
}

/// The receive time of a request's last response, handed from the REST client's hook (which runs
/// in the requesting task) to that task, through the task-local `current`.
final class ResponseClock: Sendable {
    /// The clock of the request the current task makes.
    @TaskLocal static var current: ResponseClock?
    private let micros = Mutex<Int64?>(nil)
    func set(_ t: Int64) { micros.withLock { $0 = t } }
    func take() -> Int64? { micros.withLock { v in defer { v = nil }; return v } }
}
