import AMQP
import EventLog
import Foundation
import Logging
import PostgresClient
import Recording
import ServiceLifecycle
import Signals
import Synchronization
import TradelogCore

/// Where the intake stores what it receives: the event log, or a test double.
public protocol SignalSink: Sendable {
    /// Appends atomically; returns once the events are durable.
    func append(_ appends: [StreamAppend]) async throws -> AppendResult
    /// The `SignalReceived` already logged for a signal id, if any.
    func received(signalID: String) async throws -> SignalReceived?
    /// Whether signals may be taken now. The order manager's sink is ready only while its
    /// process holds the lease and has settled its start-up (a standby or a starting process
    /// leaves the signals in the queue, for the active one).
    func isReady() async -> Bool
}

extension SignalSink {
    public func isReady() async -> Bool { true }
}

/// The event log as a ``SignalSink``.
public struct LogSignalSink: SignalSink {
    let log: EventLog
    let registry: EventRegistry

    public init(log: EventLog) {
        self.log = log
        var r = EventRegistry()
        SignalEvents.register(&r)
        registry = r
    }

    public func append(_ appends: [StreamAppend]) async throws -> AppendResult { try await log.append(appends) }

    public func received(signalID: String) async throws -> SignalReceived? {
        let events = try await log.readStream(SignalEvents.stream(signalID: signalID), limit: 100)
        guard let event = events.first(where: { $0.type == SignalReceived.eventType }) else { return nil }
        return try registry.decode(SignalReceived.self, from: event)
    }
}

public struct SignalIntakeOptions: Sendable {
    public var queue = "model-service.trading_signals"
    /// Dead letters: the original bodies of rejected signals.
    public var deadLetterQueue = "model-service.trading_signals.dlq"
    /// Unacked deliveries the broker may send ahead; also the most handled in one batch.
    public var prefetch = 500
    public var queueArguments = QueueArguments.documented
    /// The dead-letter queue keeps what it holds until someone reads it.
    public var deadLetterArguments = QueueArguments(durable: true)
    public var backoff = ReconnectBackoff(initialMs: 500, maximumMs: 15_000)
    /// How long one wait for deliveries lasts (heartbeats are serviced in between).
    public var pollTimeout: Duration = .milliseconds(500)
    /// Sees each non-empty batch as soon as it is read from the broker, before anything else
    /// (`tradelog bench orders` timestamps deliveries with it). Must be quick.
    public var onDeliveries: (@Sendable ([AMQPDelivery]) -> Void)?
    /// Records each delivery's body (a `signal` entry at its receive time) next to the
    /// gateway's frames, so `tradelog replay` can replay the session's decisions.
    /// Bodies are recorded as UTF-8 text (invalid bytes become U+FFFD).
    public var recording: RecordingSink?

    public init() {}
}

/// Counters of the intake.
public struct SignalIntakeCounters: Sendable, Hashable {
    public var received: Int64 = 0
    public var rejected: Int64 = 0
    /// Deliveries of a body already logged (a redelivery): acked, nothing appended.
    public var redelivered: Int64 = 0
    public var deadLettered: Int64 = 0
    public var acked: Int64 = 0
}

/// Consumes `model-service.trading_signals` (seed 002) into the log.
///
/// A delivery is acked only once its event is durable: `SignalReceived` for a valid signal
/// (its id derived from `signal_id`, so a redelivery appends nothing), or `SignalRejected`
/// with a reason, whose original body then also goes to the dead-letter queue (confirmed)
/// before the ack. Any failure closes the connections, so unacked deliveries return to
/// the queue, and the intake reconnects with backoff.
public final class SignalIntake: Service, Sendable {
    public let options: SignalIntakeOptions
    let amqp: AMQPSettings
    let sink: any SignalSink
    let logger: Logger
    private let state = Mutex(SignalIntakeCounters())

    public init(amqp: AMQPSettings, sink: any SignalSink, options: SignalIntakeOptions = SignalIntakeOptions(),
                logger: Logger = Logger(label: "tradelog.signals")) {
        self.amqp = amqp
        self.sink = sink
        self.options = options
        self.logger = logger
    }

    public var counters: SignalIntakeCounters { state.withLock { $0 } }

    public func run() async throws {
        // SIGTERM/SIGINT: stop consuming; unacked deliveries go back to the queue.
        do {
            try await cancelWhenGracefulShutdown { try await self.consume() }
        } catch is CancellationError {}
    }

    func consume() async throws {
        let consumer = AMQPConnection(settings: amqp, name: "signals", logger: logger)
        let deadLetters = AMQPConnection(settings: amqp, name: "signals-dlq", logger: logger)
        var backoff = options.backoff
        logger.info("signal intake starting", metadata: ["queue": "\(options.queue)", "amqp.url": "\(amqp.redactedURL)"])
        while !Task.isCancelled {
            // Not ready (a standby or a starting order manager): no consumer at all, so the
            // broker gives every signal to the process that can decide it.
            if await !sink.isReady() {
                logger.info("signal intake waiting: the order manager is not live (standby, or settling its start-up)",
                            metadata: ["queue": "\(options.queue)"])
                while !Task.isCancelled, await !sink.isReady() {
                    try? await Task.sleep(for: options.pollTimeout)
                }
                if Task.isCancelled { break }
                logger.info("signal intake resuming: the order manager is live", metadata: ["queue": "\(options.queue)"])
            }
            do {
                try await deadLetters.open(confirms: true)
                try await deadLetters.declare(queue: options.deadLetterQueue, arguments: options.deadLetterArguments)
                try await consumer.open(confirms: false)
                try await consumer.declare(queue: options.queue, arguments: options.queueArguments)
                try await consumer.consume(queue: options.queue, prefetch: options.prefetch)
                logger.info("signal intake consuming", metadata: ["queue": "\(options.queue)"])
                while !Task.isCancelled {
                    // The order manager stopped being live (lost its lease, or restarts its
                    // start-up): stop consuming; what is unacked goes back to the queue.
                    if await !sink.isReady() { throw IntakePaused() }
                    let deliveries = try await consumer.nextDeliveries(max: options.prefetch, timeout: options.pollTimeout)
                    if !deliveries.isEmpty { options.onDeliveries?(deliveries) }
                    // The dead-letter connection is otherwise touched only on rejects: keep
                    // its heartbeats going whatever the load.
                    _ = try await deadLetters.readConfirms(timeout: .zero)
                    if deliveries.isEmpty { continue }
                    try await handleIsolatingPoison(deliveries, consumer: consumer, deadLetters: deadLetters)
                    backoff.reset()
                }
            } catch is IntakePaused {
                await consumer.close()
                await deadLetters.close()
                logger.info("signal intake paused: the order manager is not live; unacked signals go back to the queue")
            } catch {
                await consumer.close()
                await deadLetters.close()
                if Task.isCancelled { break }
                // The sink stopped being ready during a batch (its own refusal): a pause, not a failure.
                if await !sink.isReady() {
                    logger.info("signal intake paused: the order manager is not live; unacked signals go back to the queue")
                    continue
                }
                let delay = backoff.next()
                logger.warning("signal intake interrupted; unacked signals go back to the queue",
                               metadata: ["error": "\(error)", "retry.in.ms": "\(delay)"])
                try? await Task.sleep(for: .milliseconds(delay))
            }
        }
        await consumer.close()
        await deadLetters.close()
        logger.info("signal intake stopped")
    }

    /// A batch the log refuses for its content (not for a lost connection) is handled one
    /// delivery at a time, so that one message PostgreSQL cannot store does not hold the
    /// queue: that one is recorded as `storage_refused` (body kept as base64) and dead-lettered.
    func handleIsolatingPoison(_ deliveries: [AMQPDelivery], consumer: AMQPConnection, deadLetters: AMQPConnection) async throws {
        do {
            try await handle(deliveries, consumer: consumer, deadLetters: deadLetters)
        } catch let error as PGError where error.refusesData {
            logger.warning("the log refused a batch of signals; storing them one by one", metadata: ["error": "\(error)"])
            for d in deliveries {
                do {
                    try await handle([d], consumer: consumer, deadLetters: deadLetters)
                } catch let error as PGError where error.refusesData {
                    try await handle([d], consumer: consumer, deadLetters: deadLetters, refused: error)
                }
            }
        }
    }

    /// One batch: events appended (durable), dead letters confirmed, then one ack for all.
    func handle(_ deliveries: [AMQPDelivery], consumer: AMQPConnection, deadLetters: AMQPConnection,
                refused: PGError? = nil) async throws {
        let queue = options.queue
        let now = Timestamp.now()
        var plan = IntakePlan(deadLetterQueue: options.deadLetterQueue)
        if let recording = options.recording {
            for d in deliveries {
                recording.append(RecordEntry.signal(body: Array(d.body), t: now.microsecondsSinceEpoch))
            }
        }
        for d in deliveries {
            if let refused {
                try plan.refuse(d, queue: queue, receiveTime: now, error: refused)
            } else {
                try plan.add(d, queue: queue, receiveTime: now)
            }
        }
        let result = try await sink.append(plan.appends)
        // A SignalReceived already in the log: the same body again (a redelivery, nothing to
        // do) or another body reusing the signal_id (rejected as a duplicate).
        var duplicates: [StreamAppend] = []
        for (i, outcome) in result.outcomes.enumerated() {
            guard case .duplicate = outcome, let pending = plan.received[plan.appends[i].events[0].eventID] else { continue }
            let existing = try await sink.received(signalID: pending.signal.signalID)
            switch SignalDisposition(existing: existing, body: pending.delivery.body) {
            case .new, .redelivery:
                plan.redeliveries += 1
            case .duplicate:
                let (stream, event) = try SignalEvents.duplicate(
                    signal: pending.signal, body: pending.delivery.body, queue: queue, receiveTime: now,
                    messageID: pending.delivery.messageID)
                duplicates.append(StreamAppend(stream: stream, events: [event]))
                plan.deadLetter(pending.delivery, event: event, reason: .duplicateSignalID, field: "signal_id",
                                detail: "signal_id \(pending.signal.signalID) is already in the log with a different body",
                                signalID: pending.signal.signalID)
            }
        }
        if !duplicates.isEmpty { _ = try await sink.append(duplicates) }

        if !plan.deadLetters.isEmpty {
            var report = try await deadLetters.publish(plan.deadLetters, window: plan.deadLetters.count)
            var settled = report.resolutions
            while settled.count < plan.deadLetters.count && report.returned == 0 {
                report = try await deadLetters.readConfirms(timeout: .seconds(10))
                if report.resolutions.isEmpty && report.returned == 0 {
                    throw AMQPError(.timeout, "dead letters not confirmed within 10 s")
                }
                settled += report.resolutions
            }
            // A returned dead letter is acked too, but it reached no queue (the .dlq was
            // deleted): fail, so the connection is reopened and the queue declared again.
            if report.returned > 0 { throw AMQPError(.unroutable, "a dead letter was returned: \(options.deadLetterQueue) is gone") }
            let nacked = settled.filter { !$0.acked }.count
            if nacked > 0 { throw AMQPError(.nacked, "the broker nacked \(nacked) dead letter(s)") }
        }
        try await consumer.ack(deliveries.last!.deliveryTag, multiple: true)
        for r in plan.rejections {
            logger.warning("signal rejected", metadata: [
                "reason": "\(r.reason.rawValue)", "field": "\(r.field ?? "-")", "detail": "\(r.detail)",
                "signal_id": "\(r.signalID ?? "-")",
            ])
        }
        let counts = plan
        state.withLock {
            $0.received += Int64(counts.received.count)
            $0.rejected += Int64(counts.rejections.count)
            $0.redelivered += Int64(counts.redeliveries)
            $0.deadLettered += Int64(counts.deadLetters.count)
            $0.acked += Int64(deliveries.count)
        }
    }
}

/// The sink stopped being ready while the intake consumed.
struct IntakePaused: Error {}

/// The events and dead letters of one batch of deliveries.
struct IntakePlan {
    struct Pending {
        var signal: TradingSignal
        var delivery: AMQPDelivery
    }

    var appends: [StreamAppend] = []
    /// Valid signals by the id of their `SignalReceived`.
    var received: [UUID: Pending] = [:]
    let deadLetterQueue: String
    var deadLetters: [AMQPMessage] = []
    /// What was rejected, for the log lines.
    var rejections: [SignalRejection] = []
    var redeliveries = 0
    private var bodiesBySignal: [String: String] = [:]
    private var eventIDs: Set<UUID> = []

    init(deadLetterQueue: String) { self.deadLetterQueue = deadLetterQueue }

    mutating func add(_ d: AMQPDelivery, queue: String, receiveTime: Timestamp) throws {
        switch SignalParser.parse(d.body) {
        case .success(let signal):
            let digest = SignalEvents.bodySHA256(d.body)
            if let earlier = bodiesBySignal[signal.signalID] {
                // Twice in one batch: the same body is one signal, another body a duplicate.
                if earlier == digest {
                    redeliveries += 1
                    return
                }
                let (stream, event) = try SignalEvents.duplicate(
                    signal: signal, body: d.body, queue: queue, receiveTime: receiveTime, messageID: d.messageID)
                append(stream, event)
                deadLetter(d, event: event, reason: .duplicateSignalID, field: "signal_id",
                           detail: "signal_id \(signal.signalID) appears twice with different bodies", signalID: signal.signalID)
                return
            }
            bodiesBySignal[signal.signalID] = digest
            let (stream, event) = try SignalEvents.received(
                signal: signal, body: d.body, queue: queue, redelivered: d.redelivered, receiveTime: receiveTime,
                messageID: d.messageID)
            append(stream, event)
            received[event.eventID] = Pending(signal: signal, delivery: d)
        case .failure(let rejection):
            let (stream, event) = try SignalEvents.rejected(
                rejection, body: d.body, queue: queue, receiveTime: receiveTime, messageID: d.messageID)
            append(stream, event)
            deadLetter(d, event: event, reason: rejection.reason, field: rejection.field, detail: rejection.detail,
                       signalID: rejection.signalID)
        }
    }

    /// A delivery the log refused to store as parsed: kept as a `storage_refused` rejection
    /// with its body in base64 only.
    mutating func refuse(_ d: AMQPDelivery, queue: String, receiveTime: Timestamp, error: PGError) throws {
        let rejection = SignalRejection(
            reason: .storageRefused, detail: "the log refused the message: \(error.sqlState ?? "?") \(error.message)")
        let (stream, event) = try SignalEvents.rejected(rejection, body: d.body, queue: queue, receiveTime: receiveTime,
                                                        messageID: d.messageID, forceBase64: true)
        append(stream, event)
        deadLetter(d, event: event, reason: rejection.reason, field: nil, detail: rejection.detail, signalID: nil)
    }

    private mutating func append(_ stream: String, _ event: NewEvent) {
        // The same malformed body twice in a batch is one event (its id is the body's digest).
        guard eventIDs.insert(event.eventID).inserted else { return }
        appends.append(StreamAppend(stream: stream, events: [event]))
    }

    mutating func deadLetter(_ d: AMQPDelivery, event: NewEvent, reason: SignalRejectionReason, field: String?,
                             detail: String, signalID: String?) {
        rejections.append(SignalRejection(reason: reason, field: field, detail: detail, signalID: signalID))
        var headers: [AMQPMessage.Header] = [
            .init("rejection_reason", reason.rawValue),
            .init("rejection_detail", String(detail.prefix(512))),
        ]
        if let field { headers.append(.init("rejection_field", field)) }
        if let id = d.messageID { headers.append(.init("original_message_id", id)) }
        deadLetters.append(AMQPMessage(
            queue: deadLetterQueue, body: d.body, messageID: event.eventID.lowercasedString, type: "SignalRejected",
            timestamp: event.metadata.receiveTime.map { $0.microsecondsSinceEpoch / 1_000_000 }, headers: headers))
    }
}
