import Logging
import PostgresClient

/// What every process that follows the log needs: one active instance per name (an
/// advisory-lock lease), and waking up on the log's NOTIFY. Shared by ``Subscription`` and
/// the relay.
public enum LogFollowing {
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
