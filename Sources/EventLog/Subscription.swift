import Foundation
import Logging
import PostgresClient
import ServiceLifecycle
import Synchronization
import TradelogCore

public struct SubscriptionOptions: Sendable {
    /// Events per read and per handler call.
    public var batchSize = 1000
    /// How long to wait for a NOTIFY before reading anyway: the fallback that covers
    /// notifications lost while a connection was down.
    public var pollInterval: Duration = .milliseconds(500)
    /// Whether to LISTEN at all (polling alone also works, only slower to wake).
    public var useNotifications = true
    /// Back-off after an error (connection lost, handler failure): doubles from min to max.
    public var retryMin: Duration = .milliseconds(100)
    public var retryMax: Duration = .seconds(5)
    /// Hold a PostgreSQL advisory lock named after the subscription while running, so that
    /// of several processes running the same subscription one works and the others wait.
    public var exclusive = true

    public init() {}
}

/// What a subscription feeds.
public enum SubscriptionConsumer: Sendable {
    /// A handler called with each batch; the checkpoint is stored after it returns, so an
    /// event is handed over again if the process dies in between (at least once).
    case handler(@Sendable ([RecordedEvent]) async throws -> Void)
    /// A projection: each batch and the checkpoint commit in one transaction (exactly once).
    case projection(any Projection)
}

/// Catches up from its checkpoint, then follows the log live, woken by NOTIFY with a
/// polling fallback. Survives PostgreSQL restarts: on any error it backs off, reconnects,
/// reloads its checkpoint from the database and carries on.
public final class Subscription: Service, Sendable {
    public let name: String
    let consumer: SubscriptionConsumer
    let options: SubscriptionOptions
    let logger: Logger
    let connection: PGConnection
    let listener: PGConnection
    /// Reads the next batch while one is delivered, when catching up (opened on first use).
    let reader: PGConnection

    struct State {
        var position: Int64 = 0
        var caughtUp = false
        var errors = 0
        var lastError: String?
        var standingBy = false
        var readAhead = 0
    }
    private let state = Mutex(State())

    public init(
        name: String, settings: PGSettings, consumer: SubscriptionConsumer,
        options: SubscriptionOptions = .init(), logger: Logger = Logger(label: "tradelog.subscription")
    ) {
        self.name = name
        self.consumer = consumer
        self.options = options
        var logger = logger
        logger[metadataKey: "subscription.name"] = "\(name)"
        self.logger = logger
        self.connection = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):sub:\(name)"), logger: logger)
        self.listener = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):listen:\(name)"), logger: logger)
        self.reader = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):read:\(name)"), logger: logger)
    }

    /// The last position handled and checkpointed.
    public var position: Int64 { state.withLock { $0.position } }
    /// True once the subscription has read up to the head at least once.
    public var isCaughtUp: Bool { state.withLock { $0.caughtUp } }
    /// True once this instance has had to wait for another holder of the lease.
    public var hasStoodBy: Bool { state.withLock { $0.standingBy } }
    private var isProjection: Bool {
        if case .projection = consumer { return true }
        return false
    }

    /// Batches taken from the read-ahead (read while the batch before them was handled, when
    /// catching up), whether or not their own delivery then succeeded.
    public var batchesReadAhead: Int { state.withLock { $0.readAhead } }

    /// Errors met so far (each followed by a retry).
    public var errorCount: Int { state.withLock { $0.errors } }

    /// Runs until the task is cancelled or the service group shuts down gracefully.
    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.follow() }
    }

    /// Catches up and follows the log until the task is cancelled (``run()`` without a service group).
    public func follow() async {
        var backoff = options.retryMin
        while !Task.isCancelled {
            // The batch after the one being delivered, read ahead while catching up. Dropped on
            // any error: the loop starts again from the stored checkpoint.
            var ahead: Task<[RecordedEvent], any Error>?
            defer { ahead?.cancel() }
            do {
                if case .projection(let p) = consumer {
                    try await connection.withConnection { try p.setUp(on: $0) }
                }
                let name = self.name
                let leaseConnection = options.exclusive ? try await acquireLease() : nil
                await startListening()
                var position = try await connection.withConnection { try Checkpoints.load(name, on: $0) }
                state.withLock { $0.position = position }
                logger.debug("subscription starting", metadata: ["subscription.position": "\(position)"])
                while !Task.isCancelled {
                    let limit = options.batchSize
                    let from = position
                    let batch: [RecordedEvent]
                    if let pending = ahead {
                        ahead = nil
                        batch = try await withTaskCancellationHandler { try await pending.value } onCancel: { pending.cancel() }
                        if !batch.isEmpty { state.withLock { $0.readAhead += 1 } }
                    } else {
                        batch = try await connection.withConnection { try EventLog.read(after: from, limit: limit, on: $0) }
                    }
                    if let last = batch.last {
                        // A reconnect drops session-level locks: win the lease again first.
                        if let leaseConnection, await connection.connectCount != leaseConnection {
                            throw SubscriptionError.leaseLost(name)
                        }
                        // A full batch: the log may hold more. Read it on the reader connection
                        // while this one is handled (reading it now or after the delivery gives
                        // the same events: the log grows only at its head, in position order).
                        if batch.count == limit {
                            let next = last.globalPosition
                            ahead = Task { [reader] in
                                try await reader.withConnection { c in
                                    // Dropped before it ran (an error, or the end of `follow`, which
                                    // cancels it before closing the reader): no query, and no
                                    // connection opened again after the close.
                                    try Task.checkCancellation()
                                    return try EventLog.read(after: next, limit: limit, on: c)
                                }
                            }
                        }
                        try await deliver(batch, from: from)
                        position = last.globalPosition
                        state.withLock { $0.position = position }
                        backoff = options.retryMin
                        if batch.count == limit { continue }
                    }
                    state.withLock { $0.caughtUp = true }
                    await waitForMore()
                }
            } catch SubscriptionError.checkpointMoved(_, _, let actual) where isProjection {
                // A rebuild switched the live version (or another process applied the batch):
                // start again from the stored checkpoint, which now names the live version's.
                if Task.isCancelled { break }
                logger.info("projection checkpoint moved (a rebuild switched versions, or another process); reloading",
                            metadata: ["checkpoint": "\(actual)"])
            } catch {
                ahead?.cancel()  // now, not after the back-off
                if Task.isCancelled { break }
                state.withLock {
                    $0.errors += 1
                    $0.lastError = "\(error)"
                }
                logger.warning("subscription failed; retrying", metadata: [
                    "error": "\(error)", "retry.in": "\(backoff)",
                ])
                try? await Task.sleep(for: backoff)
                backoff = min(backoff * 2, options.retryMax)
            }
        }
        await connection.close()
        await listener.close()
        await reader.close()
    }

    /// Waits until this process holds the subscription's lease (on `connection`).
    private func acquireLease() async throws -> Int {
        try await LogFollowing.acquireLease(
            "tradelog.subscription:" + name, on: connection, retryEvery: options.pollInterval, logger: logger,
            what: "subscription", standingBy: { state.withLock { $0.standingBy = true } })
    }

    private func deliver(_ batch: [RecordedEvent], from: Int64) async throws {
        let name = self.name
        let last = batch.last!.globalPosition
        switch consumer {
        case .handler(let handle):
            try await handle(batch)
            // Conditional: if the lease was lost meanwhile and another instance moved on,
            // never move its checkpoint back.
            let moved = try await connection.withConnection { try Checkpoints.advance(name, from: from, to: last, on: $0) }
            if !moved {
                let actual = try await connection.withConnection { try Checkpoints.load(name, on: $0) }
                throw SubscriptionError.checkpointMoved(name, expected: from, actual: actual)
            }
        case .projection(let projection):
            try await connection.withTransaction { tx in
                // Whatever the lease says, never apply a batch twice: the checkpoint row is
                // locked and must still be where this batch was read from.
                let current = try Checkpoints.lockForUpdate(name, on: tx)
                guard current == from else { throw SubscriptionError.checkpointMoved(name, expected: from, actual: current) }
                try projection.apply(batch, on: tx)
                try Checkpoints.save(name, position: last, on: tx)
            }
        }
    }

    private func startListening() async {
        guard options.useNotifications else { return }
        do {
            try await listener.listen(EventLog.notifyChannel)
        } catch {
            logger.info("cannot LISTEN; polling until it can", metadata: ["error": "\(error)"])
        }
    }

    /// Waits for a NOTIFY or the poll interval, whichever comes first.
    private func waitForMore() async {
        await LogFollowing.waitForAppends(on: listener, useNotifications: options.useNotifications,
                                          timeout: options.pollInterval, logger: logger)
    }
}

public enum SubscriptionError: Error, CustomStringConvertible, Sendable {
    /// The connection holding the lease was reopened, so the lease must be won again.
    case leaseLost(String)
    /// Another process moved the checkpoint; the batch was not applied.
    case checkpointMoved(String, expected: Int64, actual: Int64)

    public var description: String {
        switch self {
        case .leaseLost(let name): "subscription \(name) lost its lease (connection reopened)"
        case .checkpointMoved(let name, let expected, let actual):
            "checkpoint of \(name) is at \(actual), not \(expected): another process applied those events"
        }
    }
}
