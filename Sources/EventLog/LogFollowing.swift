import Logging
import PostgresClient
import TradelogCore

/// What every process that follows the log needs: one active instance per name (an
/// advisory-lock lease), and waking up on the log's NOTIFY. Shared by ``Subscription``, the
/// relay, and the order and position managers (``processorLoop(name:what:settings:useNotifications:idleWait:backoff:logger:startUp:follow:interrupted:)``).
public enum LogFollowing {
    /// The life of a processor that follows the log: win the lease `tradelog:NAME`, LISTEN
    /// for appends, catch up (`follow`), start up (`startUp`: load, sync, confirm the lease, go live), then
    /// `follow` on every NOTIFY or every `idleWait`. An error drops the lease and starts over
    /// after a growing delay, logged; cancellation ends it.
    public static func processorLoop(
        name: String, what: String, settings: PGSettings, useNotifications: Bool, idleWait: Duration,
        backoff initial: ReconnectBackoff, logger: Logger,
        startUp: (_ confirmLease: () async throws -> Void) async throws -> Void, follow: () async throws -> Void,
        interrupted: () async -> Void = {}
    ) async {
        let lease = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):lease:\(name)"), logger: logger)
        let listener = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):listen:\(name)"), logger: logger)
        defer {
            Task { await lease.close(); await listener.close() }
        }
        var backoff = initial
        while !Task.isCancelled {
            do {
                let connects = try await acquireLease("tradelog:\(name)", on: lease, retryEvery: .seconds(1), logger: logger, what: what)
                if useNotifications { try await listener.listen(EventLog.notifyChannel) }
                try await follow()
                // `confirmLease` before going live: a long start-up (a sync of many pages) may
                // have outlived the lease.
                try await startUp { try await checkLease(name, on: lease, connects: connects) }
                backoff.reset()
                var leaseChecked = ContinuousClock.now
                while !Task.isCancelled {
                    try await follow()
                    await waitForAppends(on: listener, useNotifications: useNotifications, timeout: idleWait, logger: logger)
                    // The lease's own connection is otherwise idle: a broken one released the
                    // lock on the server (another process may hold it now).
                    if ContinuousClock.now - leaseChecked >= leaseCheckInterval {
                        try await checkLease(name, on: lease, connects: connects)
                        leaseChecked = ContinuousClock.now
                    }
                }
            } catch is CancellationError {
                return
            } catch {
                await interrupted()
                if Task.isCancelled { return }
                let delay = backoff.next()
                logger.warning("\(what) interrupted; retrying", metadata: ["error": "\(error)", "retry.in.ms": "\(delay)"])
                await lease.close()
                try? await Task.sleep(for: .milliseconds(delay))
            }
        }
    }

    /// How often a processor loop checks that its lease's connection still holds the lock.
    public static let leaseCheckInterval: Duration = .seconds(1)

    /// Throws ``SubscriptionError/leaseLost(_:)`` unless the lease's connection is the one that
    /// took the lock (`connects`, its connect count then) and still answers.
    static func checkLease(_ name: String, on lease: PGConnection, connects: Int) async throws {
        _ = try await lease.scalar("SELECT 1")
        if await lease.connectCount != connects { throw SubscriptionError.leaseLost(name) }
    }

    /// Waits until `connection` holds the advisory lock `key` (standing by, and calling
    /// `standingBy`, while another process holds it) and returns the connection's connect
    /// count: a different count later means the connection, and with it the lock, was lost.
    public static func acquireLease(
        _ key: String, on connection: PGConnection, retryEvery interval: Duration, logger: Logger, what: String,
        standingBy: () -> Void = {}
    ) async throws -> Int {
        var waiting = false
        while true {
            try Task.checkCancellation()
            if try await connection.scalar("SELECT pg_try_advisory_lock(hashtextextended($1, 0))", [key]) == "t" {
                if waiting { logger.info("\(what) lease won; taking over") }
                return await connection.connectCount
            }
            if !waiting {
                logger.info("another process runs this \(what); standing by")
                waiting = true
            }
            standingBy()
            try await Task.sleep(for: interval)
        }
    }

    /// Waits for a NOTIFY of the log on `listener` (which LISTENs) or `timeout`, whichever
    /// comes first; when the notification channel fails, closes it (reconnecting renews the
    /// LISTEN) and sleeps `timeout` instead. Without notifications, just sleeps.
    public static func waitForAppends(on listener: PGConnection, useNotifications: Bool, timeout: Duration, logger: Logger) async {
        guard useNotifications else {
            try? await Task.sleep(for: timeout)
            return
        }
        do {
            _ = try await listener.waitForNotifications(timeoutMilliseconds: timeout.wholeMilliseconds)
        } catch {
            logger.info("notification channel lost; polling", metadata: ["error": "\(error)"])
            await listener.close()
            try? await Task.sleep(for: timeout)
        }
    }
}
