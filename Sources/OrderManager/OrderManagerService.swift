import AMQP
import Bybit
import BybitClient
import EventLog
import Foundation
import Logging
import OrderManagerCore
import PostgresClient
import Relay
import ServiceLifecycle
import Signals
import Synchronization
import TradelogCore

/// The order manager as the intake's sink: each batch of signals is appended together with
/// its decisions, then its requests are sent (the intake acks once this returns).
public struct OrderManagerSink: SignalSink {
    let engine: OrderManagerEngine
    let log: EventLog

    public init(engine: OrderManagerEngine, log: EventLog) {
        self.engine = engine
        self.log = log
    }

    public func append(_ appends: [StreamAppend]) async throws -> AppendResult { try await engine.handle(appends) }

    public func received(signalID: String) async throws -> SignalReceived? {
        try await LogSignalSink(log: log).received(signalID: signalID)
    }

    /// Live: this process holds the order manager's lease and has settled its start-up.
    public func isReady() async -> Bool { await engine.isLive }
}

public struct OrderManagerServiceOptions: Sendable {
    public var name = "order-manager"
    /// Categories whose instruments are loaded and whose orders are synced.
    public var categories: [RESTCategory] = [.linear, .spot]
    public var idleWait: Duration = .milliseconds(500)
    public var useNotifications = true
    public var backoff = ReconnectBackoff(initialMs: 500, maximumMs: 15_000)
    public init() {}
}

/// Runs the order manager: takes the lease, loads instruments, catches up with the log,
/// syncs with the exchange, then follows the log (sending the requests the fold derives)
/// until shutdown. The signal intake and the HTTP API run beside it as their own services.
public final class OrderManagerService: Service, Sendable {
    public let engine: OrderManagerEngine
    let settings: PGSettings
    let options: OrderManagerServiceOptions
    let logger: Logger
    private let readyBox = ReadyFlag()

    public init(engine: OrderManagerEngine, settings: PGSettings, options: OrderManagerServiceOptions = .init(),
                logger: Logger = Logger(label: "tradelog.order-manager")) {
        self.engine = engine
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    /// True once instruments are loaded, the log caught up and the start-up sync done.
    public var isReady: Bool { readyBox.value }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.work() }
        } catch is CancellationError {}
        await engine.drainRequests()
    }

    func work() async throws {
        await LogFollowing.processorLoop(
            name: options.name, what: "order manager", settings: settings, useNotifications: options.useNotifications,
            idleWait: options.idleWait, backoff: options.backoff, logger: logger,
            startUp: { confirmLease in
                try await engine.loadInstruments(categories: options.categories)
                let summary = try await engine.sync(trigger: "start", categories: options.categories)
                try await confirmLease()
                await engine.goLive()
                readyBox.set()
                let position = await engine.state.position
                logger.info("order manager ready", metadata: [
                    "sync.settled": "\(summary.settledIntents)", "sync.resent": "\(summary.resent)",
                    "sync.external": "\(summary.external)", "position": "\(position)",
                ])
            },
            follow: { _ = try await engine.follow() },
            interrupted: {
                // The lease may be gone (another process may take over): no signal is decided
                // here until the lease is held and the start-up sync has run again.
                await engine.goStandby()
                readyBox.clear()
            })
    }
}

final class ReadyFlag: Sendable {
    private let box = Mutex(false)
    var value: Bool { box.withLock { $0 } }
    func set() { box.withLock { $0 = true } }
    func clear() { box.withLock { $0 = false } }
}

extension OrderManagerEngine {
    /// From now on, signals are decided and the requests derived by the fold are sent.
    public func goLive() {
        live = true
        // Drops reported while the start-up sync ran (it left them for another sync).
        if dropSyncFrom != nil { scheduleSyncAfterDrop() }
    }

    /// Until the next ``goLive()``: no signal is decided (``handle(_:)`` throws
    /// ``OrderManagerNotLive``), no derived request is sent.
    public func goStandby() {
        live = false
        syncAfterDrop?.cancel()
    }

    public var isLive: Bool { live }
}

/// A batch of signals reached an order manager that is not live (a standby, or one settling
/// its start-up): nothing was stored; the intake returns the signals to the queue.
public struct OrderManagerNotLive: Error, CustomStringConvertible {
    public var description: String { "the order manager is not live (standby, or settling its start-up): signals not taken" }
}
