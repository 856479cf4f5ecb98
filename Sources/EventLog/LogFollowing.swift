import Logging
import PostgresClient
import TradelogCore

/// What every process that follows the log needs: one active instance per name (an
/// advisory-lock lease), and waking up on the log's NOTIFY. Shared by ``Subscription``, the
/// relay, and the order and position managers (``processorLoop(name:what:settings:useNotifications:idleWait:backoff:logger:startUp:follow:)``).
public enum LogFollowing {
    /// The life of a processor that follows the log: win the lease `tradelog:NAME`, LISTEN
    /// for appends, catch up (`follow`), start up (`startUp`: load, sync, go live), then
    /// `follow` on every NOTIFY or every `idleWait`. An error drops the lease and starts over
    /// after a growing delay, logged; cancellation ends it.
    public static func processorLoop(
        name: String, what: String, settings: PGSettings, useNotifications: Bool, idleWait: Duration,
        backoff initial: ReconnectBackoff, logger: Logger,
        startUp: () async throws -> Void, follow: () async throws -> Void
    ) async {
        let lease = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):lease:\(name)"), logger: logger)
        let listener = PGConnection(settings: settings.with(applicationName: "\(settings.applicationName):listen:\(name)"), logger: logger)
        defer {
            Task { await lease.close(); await listener.close() }
        }
        var backoff = initial
        while !Task.isCancelled {
            do {
                _ = try await acquireLease("tradelog:\(name)", on: lease, retryEvery: .seconds(1), logger: logger, what: what)
                if useNotifications { try await listener.listen(EventLog.notifyChannel) }
                try await follow()
                try await startUp()
                backoff.reset()
                while !Task.isCancelled {
                    try await follow()
                    await waitForAppends(on: listener, useNotifications: useNotifications, timeout: idleWait, logger: logger)
                }
            } catch is CancellationError {
                return
            } catch {
                if Task.isCancelled { return }
                let delay = backoff.next()
                logger.warning("\(what) interrupted; retrying", metadata: ["error": "\(error)", "retry.in.ms": "\(delay)"])
                await lease.close()
                try? await Task.sleep(for: .milliseconds(delay))
            }
        }
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
