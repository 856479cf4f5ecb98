import EventLog
import Foundation
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting

/// Tests that restart the PostgreSQL server. They run on their own, after the rest
/// (`scripts/test.sh` sets TRADELOG_DISRUPTIVE_TESTS=1 for a second `swift test` run),
/// because a restart would break every other test's connections.
@Suite("PostgreSQL restarts (disruptive)",
       .enabled(if: ProcessInfo.processInfo.environment["TRADELOG_DISRUPTIVE_TESTS"] == "1"),
       .serialized)
struct DisruptiveTests {
    func restartPostgres() async throws {
        let command = ProcessInfo.processInfo.environment["TRADELOG_PG_RESTART_COMMAND"]
            ?? "bash '\(TestDatabase.repositoryRoot.path)/scripts/servers.sh' restart-postgres"
        let status = try await runShell(command)
        #expect(status == 0, "restart command failed: \(command)")
    }

    /// Appends, retrying while the server is away (safe: event ids make a retry idempotent).
    func appendRetrying(_ log: EventLog, _ stream: String, _ e: NewEvent) async throws {
        for attempt in 0..<300 {
            do {
                _ = try await log.append(to: stream, [e])
                return
            } catch let error as PGError where error.isConnectionProblem {
                if attempt == 299 { throw error }
                try await Task.sleep(for: .milliseconds(100))
            }
        }
    }

    @Test("PostgreSQL restarted under a running subscriber: it reconnects and continues, nothing lost")
    func subscriberSurvivesRestart() async throws {
        try await TestDatabase.with { settings in
            let log = EventLog(settings: settings)
            let tail = Tail()
            let sub = Subscription(name: "survivor", settings: settings, consumer: .handler { tail.handle($0) }, options: fastOptions(batch: 100))
            let t = Task { await sub.follow() }
            for i in 0..<500 { try await appendRetrying(log, "signal-\(i % 5)", event("restart", i)) }
            #expect(try await TestDatabase.eventually { sub.position == 500 })

            let writer = Task {
                for i in 500..<1500 { try await appendRetrying(log, "signal-\(i % 5)", event("restart", i)) }
            }
            try await Task.sleep(for: .milliseconds(200))
            try await restartPostgres()
            try await writer.value
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { sub.position == 1500 })
            t.cancel()
            await t.value
            #expect(sub.errorCount >= 1)
            // at least once: a batch handled just before the restart may come again, but
            // in order, and every position is there
            let seen = tail.all
            #expect(Set(seen) == Set(1...1500))
            #expect(try await log.head() == 1500)
        }
    }

    @Test("a connection reconnects after the server restarts")
    func connectionReconnects() async throws {
        let conn = PGConnection(settings: TestDatabase.baseSettings)
        #expect(try await conn.scalar("SELECT 1") == "1")
        try await restartPostgres()
        var answered = false
        for _ in 0..<100 where !answered {
            answered = (try? await conn.scalar("SELECT 2")) == "2"
            if !answered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(answered)
        #expect(await conn.connectCount >= 2)
    }
}
