import AMQP
import EventLog
import Foundation
import Logging
import PostgresClient
import ServiceLifecycle
import TradelogCore

/// How the relay runs.
public struct RelayOptions: Sendable {
    /// Names the checkpoint rows and the lease: one active relay per name.
    public var name = "relay"
    public var routes = RelayRoutes.standard
    public var queueArguments = QueueArguments.documented
    /// Events read from the log at a time.
    public var batchSize = 1000
    /// Unconfirmed publishes allowed in flight.
    public var confirmWindow = 1000
    /// Checkpoints are stored at least this often while publishing (and whenever idle).
    public var saveInterval: Duration = .milliseconds(200)
    /// Longest wait for new events before polling (NOTIFY usually wakes the relay first);
    /// also how often an idle connection services its heartbeats.
    public var idleWait: Duration = .seconds(1)
    public var backoff = ReconnectBackoff(initialMs: 500, maximumMs: 15_000)
    /// Stop once everything up to the log head at start is confirmed (benchmarks, tools).
    public var stopAtHead = false
    /// Wake on the log's NOTIFY (else poll every `idleWait`).
    public var useNotifications = true

    public init() {}
}

/// Publishes the log to the documented RabbitMQ queues, each event type to its queue
/// (``RelayRoutes``), at least once and in log order per queue.
///
/// A checkpoint moves only after the broker confirmed every message up to it; after a
/// failure the relay reconnects with backoff, declares the queues again and republishes
/// from the checkpoints, so a message can arrive twice, always with the same `message_id`.
/// If RabbitMQ is down, events simply wait in the log.
public final class RelayService: Service, Sendable {
    public let options: RelayOptions
    public let metrics = RelayMetrics()
    let amqp: AMQPSettings
    let settings: PGSettings
    let logger: Logger

    public init(amqp: AMQPSettings, settings: PGSettings, options: RelayOptions = RelayOptions(),
                logger: Logger = Logger(label: "tradelog.relay")) {
        self.amqp = amqp
        self.settings = settings
        self.options = options
        var l = logger
        l[metadataKey: "relay"] = "\(options.name)"
        self.logger = l
    }

    public func run() async throws {
        // SIGTERM/SIGINT: stop publishing, store what is confirmed, return.
        do {
            try await cancelWhenGracefulShutdown { try await self.relay() }
        } catch is CancellationError {}
    }

    func relay() async throws {
        let log = EventLog(settings: settings.with(applicationName: "tradelog:\(options.name)"))
        let store = PGConnection(settings: settings.with(applicationName: "tradelog:\(options.name):checkpoints"), logger: logger)
        let listener = PGConnection(settings: settings.with(applicationName: "tradelog:\(options.name):listen"), logger: logger)
        let channel = AMQPConnection(settings: amqp, name: options.name, logger: logger)
        var backoff = options.backoff
        let stopAt: Int64? = options.stopAtHead ? try await log.head() : nil
        logger.info("relay starting", metadata: ["amqp.url": "\(amqp.redactedURL)", "queues": "\(options.routes.queues.count)"])
        defer { logger.info("relay stopped") }
        while !Task.isCancelled {
            var session = RelaySession(relay: self, log: log, store: store, listener: listener, channel: channel, stopAt: stopAt)
            do {
                try await session.run { backoff.reset() }
                await session.saveBestEffort()
                break
            } catch is CancellationError {
                await session.saveBestEffort()
                break
            } catch {
                await session.saveBestEffort()
                await channel.close()
                if Task.isCancelled { break }
                let delay = backoff.next()
                logger.warning("relay interrupted; retrying", metadata: ["error": "\(error)", "retry.in.ms": "\(delay)"])
                try? await Task.sleep(for: .milliseconds(delay))
            }
        }
        await channel.close()
        await store.close()
        await listener.close()
    }
}

/// One connected stretch of the relay: from loading the checkpoints to the next failure.
struct RelaySession {
    let relay: RelayService
    let log: EventLog
    let store: PGConnection
    let listener: PGConnection
    let channel: AMQPConnection
    let stopAt: Int64?
    var progress = RelayProgress(overall: 0, checkpoints: [:])
    var declared: Set<String> = []
    var loaded = false
    var lastSave = ContinuousClock.now
    var savedOverall: Int64 = -1
    var head: Int64 = 0
    /// The checkpoint connection's connect count when the lease was taken: another count means
    /// the connection (and the lease it held) was lost.
    var leaseConnects = 0

    init(relay: RelayService, log: EventLog, store: PGConnection, listener: PGConnection, channel: AMQPConnection, stopAt: Int64?) {
        self.relay = relay
        self.log = log
        self.store = store
        self.listener = listener
        self.channel = channel
        self.stopAt = stopAt
    }

    var options: RelayOptions { relay.options }
    var logger: Logger { relay.logger }

    mutating func run(connected: () -> Void) async throws {
        let name = options.name
        // One relay per name: the lease is held by the checkpoint connection.
        leaseConnects = try await acquireLease()
        let state = try await store.withConnection { try RelayStore.load(relay: name, on: $0) }
        relay.metrics.load(state.queues)
        progress = RelayProgress(overall: state.overall, checkpoints: Dictionary(uniqueKeysWithValues: state.queues.map { ($0.queue, $0.checkpoint) }))
        savedOverall = state.overall
        loaded = true
        try await channel.open(confirms: true)
        progress.channelOpened()
        connected()
        logger.info("relay connected", metadata: ["from.position": "\(state.overall)"])
        if options.useNotifications { try? await listener.listen(EventLog.notifyChannel) }

        var next = prefetch(after: progress.readPosition)
        while true {
            try Task.checkCancellation()
            try await checkLease()
            let batch = try await next.value
            if batch.isEmpty {
                try await idle()
                if let stopAt, progress.readPosition >= stopAt, progress.unconfirmed == 0 {
                    try await save(force: true)
                    return
                }
                next = prefetch(after: progress.readPosition)
                continue
            }
            next = prefetch(after: batch.last!.globalPosition)
            try await publish(batch)
            try await save(force: false)
        }
    }

    private func prefetch(after position: Int64) -> Task<[RecordedEvent], Error> {
        let log = self.log, size = options.batchSize
        return Task { try await log.read(after: position, limit: size) }
    }

    private mutating func publish(_ batch: [RecordedEvent]) async throws {
        var messages: [AMQPMessage] = []
        var targets: [(position: Int64, queue: String)] = []
        messages.reserveCapacity(batch.count)
        for event in batch {
            guard let route = options.routes.route(for: event.type),
                  progress.needsPublishing(position: event.globalPosition, queue: route.queue) else { continue }
            if !declared.contains(route.queue) {
                // Declared lazily, on the first publish to the queue on this connection.
                try await channel.declare(queue: route.queue, arguments: options.queueArguments)
                declared.insert(route.queue)
            }
            messages.append(MessageEncoder.message(for: event, route: route))
            targets.append((event.globalPosition, route.queue))
        }
        // The broker may block publishing mid-batch (a resource alarm): the call pauses, and the
        // rest goes once it unblocks, on the same connection.
        var sent = 0
        while sent < messages.count {
            let report = try await channel.publish(Array(messages[sent...]), window: options.confirmWindow, pauseWhenBlocked: true)
            for (i, t) in targets[sent..<(sent + report.published)].enumerated() {
                progress.published(tag: report.firstTag + UInt64(i), position: t.position, queue: t.queue)
                relay.metrics.update(t.queue) { $0.published += 1 }
            }
            sent += report.published
            try settle(report)
            // Paused: the rest goes once the broker unblocks.
            if sent < messages.count { try await waitWhileBlocked() }
        }
        progress.read(through: batch.last!.globalPosition)
        head = max(head, batch.last!.globalPosition)
    }

    /// While the broker blocks publishing (`connection.blocked`: a memory or disk alarm),
    /// waits on this connection, reading confirms (the broker still confirms what it took) and
    /// keeping the heartbeats going, instead of pushing more into a socket the broker does not
    /// read. The log says why, once, and when it is over.
    private mutating func waitWhileBlocked() async throws {
        guard let reason = await channel.blockedReason else { return }
        logger.warning("RabbitMQ blocked publishing (a resource alarm); the relay waits for it to unblock",
                       metadata: ["amqp.blocked.reason": "\(reason)", "unconfirmed": "\(progress.unconfirmed)"])
        let since = ContinuousClock.now
        while await channel.blockedReason != nil {
            try Task.checkCancellation()
            try await checkLease()
            try settle(try await channel.readConfirms(timeout: .seconds(1)))
            try await save(force: false)
        }
        logger.notice("RabbitMQ unblocked publishing; the relay goes on",
                      metadata: ["amqp.blocked.ms": "\((ContinuousClock.now - since).wholeMilliseconds)"])
    }

    /// One relay per name: the lease lives with the checkpoint connection's session, so a
    /// reconnect of that connection means the lease may be someone else's now.
    private func checkLease() async throws {
        if await store.connectCount != leaseConnects { throw SubscriptionError.leaseLost(options.name) }
    }

    /// Applies confirms to the progress and the counters; a nack or a returned message
    /// ends the session (the relay republishes from the checkpoints).
    private mutating func settle(_ report: PublishReport) throws {
        // A returned (unroutable) message is acked right after its return: drop the whole
        // report unapplied, so its checkpoint never passes it, and declare again.
        if report.returned > 0 {
            declared.removeAll()
            throw AMQPError(.unroutable, "\(report.returned) message(s) returned as unroutable (queue deleted?)")
        }
        let (acked, nacked) = progress.apply(report.resolutions)
        for (queue, n) in acked { relay.metrics.update(queue) { $0.confirmed += n } }
        for n in nacked { relay.metrics.update(n.queue) { $0.nacked += 1 } }
        if let first = nacked.first {
            throw AMQPError(.nacked, "broker nacked the message at position \(first.position) for \(first.queue)")
        }
    }

    /// Nothing new in the log: collect confirms, keep the heartbeats going, wait for NOTIFY.
    private mutating func idle() async throws {
        if progress.unconfirmed > 0 {
            try settle(try await channel.readConfirms(timeout: .milliseconds(50)))
            try await save(force: false)
            return
        }
        try settle(try await channel.readConfirms(timeout: .zero))
        try await save(force: true)
        if let stopAt, progress.readPosition >= stopAt { return }
        await LogFollowing.waitForAppends(on: listener, useNotifications: options.useNotifications,
                                          timeout: options.idleWait, logger: logger)
    }

    /// Stores the checkpoints when they moved (at most every `saveInterval` unless forced).
    mutating func save(force: Bool) async throws {
        guard loaded else { return }
        let now = ContinuousClock.now
        guard force || now - lastSave >= options.saveInterval else { return }
        let frontier = progress.frontier(queues: declared)
        var rows: [QueueMetrics] = []
        let counters = Dictionary(uniqueKeysWithValues: relay.metrics.snapshot.map { ($0.queue, $0) })
        let logHead = max(head, frontier.overall)
        for (queue, position) in frontier.queues.sorted(by: { $0.key < $1.key }) {
            var m = counters[queue] ?? QueueMetrics(queue: queue)
            m.checkpoint = position
            m.lag = max(0, logHead - position)
            rows.append(m)
            relay.metrics.update(queue) { $0.checkpoint = position; $0.lag = m.lag }
        }
        lastSave = now
        if frontier.overall == savedOverall && !force { return }
        let name = options.name, overall = frontier.overall, saved = rows
        try await store.withConnection { try RelayStore.save(relay: name, overall: overall, queues: saved, on: $0) }
        savedOverall = overall
    }

    /// Saves what is confirmed so far, ignoring errors (the session is ending anyway).
    mutating func saveBestEffort() async {
        do { try await save(force: true) } catch {
            logger.warning("relay could not store its checkpoints", metadata: ["error": "\(error)"])
        }
    }

    private func acquireLease() async throws -> Int {
        try await LogFollowing.acquireLease(RelayStore.leaseKey(options.name), on: store, retryEvery: options.idleWait,
                                            logger: logger, what: "relay")
    }
}
