import EventLog
import Foundation
import Logging
import PostgresClient
import ServiceLifecycle
import Synchronization
import TradelogCore

public struct PositionManagerServiceOptions: Sendable {
    public var name = "position-manager"
    public var idleWait: Duration = .milliseconds(500)
    public var useNotifications = true
    public var backoff = ReconnectBackoff(initialMs: 500, maximumMs: 15_000)
    public init() {}
}

/// Runs the position manager: takes the lease, catches up with the log, syncs with the
/// exchange (when it has credentials), then follows the log until shutdown.
public final class PositionManagerService: Service, Sendable {
    public let engine: PositionManagerEngine
    let settings: PGSettings
    let options: PositionManagerServiceOptions
    let logger: Logger
    private let ready = Mutex(false)

    public init(engine: PositionManagerEngine, settings: PGSettings, options: PositionManagerServiceOptions = .init(),
                logger: Logger = Logger(label: "tradelog.position-manager")) {
        self.engine = engine
        self.settings = settings
        self.options = options
        self.logger = logger
    }

    /// True once the log is caught up and the start-up sync done.
    public var isReady: Bool { ready.withLock { $0 } }

    public func run() async throws {
        do {
            try await cancelWhenGracefulShutdown { try await self.work() }
        } catch is CancellationError {}
        await engine.drainAutoSync()
    }

    func work() async throws {
        var synced = false
        await LogFollowing.processorLoop(
            name: options.name, what: "position manager", settings: settings, useNotifications: options.useNotifications,
            idleWait: options.idleWait, backoff: options.backoff, logger: logger,
            startUp: { confirmLease in
                // Once per process, and again after a restart of the loop when drops were reported meanwhile.
                let dropsPending = await engine.dropSyncFrom != nil
                if !synced || dropsPending, engine.rest != nil {
                    let s = try await engine.sync(trigger: "start")
                    logger.info("position manager synced", metadata: [
                        "executions.fetched": "\(s.executionsFetched)", "positions": "\(s.exchangePositions)",
                    ])
                }
                synced = true
                try await confirmLease()
                await engine.goLive()
                ready.withLock { $0 = true }
            },
            follow: { _ = try await engine.follow() },
            interrupted: {
                await engine.goStandby()
                ready.withLock { $0 = false }
            })
    }
}
