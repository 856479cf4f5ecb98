import BybitSimulator
import EventLog
import Foundation
import Testing
import TradelogCore
import TradelogTesting
@testable import Gateway

/// PostgreSQL restarted under a running gateway (run alone, like the event log's disruptive tests).
@Suite("Gateway across a PostgreSQL restart (disruptive)",
       .enabled(if: ProcessInfo.processInfo.environment["TRADELOG_DISRUPTIVE_TESTS"] == "1"),
       .serialized)
struct GatewayDisruptiveTests {
    @Test("the gateway keeps its socket while PostgreSQL restarts, buffers, and loses nothing")
    func survivesRestart() async throws {
        try await TestDatabase.with { settings in
            try await GatewayIntegrationTests.simulator(rate: .perSecond(50)).withRunning { port in
                let config = try GatewayIntegrationTests.configuration(port: port, subscriptions: ["linear:orderbook.50.BTCUSDT"])
                try await GatewayIntegrationTests.withGateway(config, settings) { gateway, log in
                    let book = "market.linear.orderbook-BTCUSDT"
                    let warm = try await TestDatabase.eventually { try await log.streamVersion(book) >= 20 }
                    #expect(warm)
                    let command = ProcessInfo.processInfo.environment["TRADELOG_PG_RESTART_COMMAND"]
                        ?? "bash '\(TestDatabase.repositoryRoot.path)/scripts/servers.sh' restart-postgres"
                    #expect(try await runShell(command) == 0)
                    let after = try await TestDatabase.eventually(timeout: .seconds(60)) {
                        (try? await log.streamVersion(book)) ?? 0 >= 200
                    }
                    #expect(after)
                    let events = try await log.readStream(book, fromVersion: 1, limit: 100_000)
                    #expect(!events.contains { $0.type == "OrderBookInvalidated" })
                    var lastU = -1
                    var gaps = 0
                    for e in events {
                        let d = try JSONSerialization.jsonObject(with: Data(e.data)) as! [String: Any]
                        let u = (d["u"] as? NSNumber)?.intValue ?? -1
                        if d["type"] as? String == "delta", u != lastU + 1 { gaps += 1 }
                        lastU = u
                    }
                    #expect(gaps == 0, "every delta from before, during and after the restart is in the log")
                    #expect(await gateway.writerStats.failures >= 1)
                    #expect(await gateway.bufferStats.droppedTotal == 0)
                    #expect(await gateway.ingestCounters()[.linear]?.connects == 1, "the socket stayed up")
                }
            }
        }
    }
}
