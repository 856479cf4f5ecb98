import AMQP
import EventLog
import Foundation
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting
@testable import Relay

@Suite("Relay (real PostgreSQL and RabbitMQ)")
struct RelayIntegrationTests {
    static func untilHead(_ name: String = "relay") -> RelayOptions {
        var o = RelayOptions()
        o.name = name
        o.stopAtHead = true
        o.idleWait = .milliseconds(100)
        return o
    }

    @Test("every queue gets its messages, declared as seed 000 says, each valid against its committed JSON Schema")
    func everyQueueGetsValidMessages() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let samples = try RelaySamples.events()
                _ = try await log.append(samples)
                let events = try await log.read(after: 0, limit: 10_000)
                let routes = RelayRoutes.standard
                var expected: [String: [RecordedEvent]] = [:]
                for e in events { if let r = routes.route(for: e.type) { expected[r.queue, default: []].append(e) } }
                #expect(Set(expected.keys) == Set(routes.queues), "the samples reach every queue")

                let relay = RelayService(amqp: amqp, settings: pg, options: Self.untilHead())
                try await relay.run()

                for queue in routes.queues {
                    let info = try #require(try await TestBroker.queueInfo(queue, vhost: amqp.virtualHost), "\(queue) declared")
                    #expect(info.durable, "\(queue)")
                    #expect(info.arguments == ["x-message-ttl": 86_400_000, "x-max-length": 100_000], "\(queue)")
                }
                let metrics = Dictionary(uniqueKeysWithValues: relay.metrics.snapshot.map { ($0.queue, $0) })
                for (queue, list) in expected {
                    #expect(metrics[queue]?.published == Int64(list.count) && metrics[queue]?.confirmed == Int64(list.count), "\(queue)")
                    #expect(metrics[queue]?.nacked == 0 && metrics[queue]?.lag == 0, "\(queue)")
                }
                let conn = PGConnection(settings: pg)
                #expect(try await conn.scalar("SELECT position FROM checkpoints WHERE name = 'relay'") == String(events.last!.globalPosition))
                #expect(try await conn.scalar("SELECT count(*) FROM relay_queues WHERE relay = 'relay' AND position = $1",
                                              [String(events.last!.globalPosition)]) == String(routes.queues.count))

                let (rc, report) = try await PythonValidator.validate(amqp, queues: routes.queues)
                #expect(rc == 0, "validate_queues.py: \(report)")
                let queues = report["queues"] as? [String: [String: Any]] ?? [:]
                for (queue, list) in expected {
                    let q = try #require(queues[queue], "\(queue) in the report")
                    #expect((q["invalid"] as? [Any])?.isEmpty == true, "\(queue): \(q["invalid"] ?? "")")
                    let messages = q["messages"] as? [[String: Any]] ?? []
                    #expect(messages.compactMap { $0["message_id"] as? String } == list.map(\.eventID.lowercasedString), "\(queue) in log order")
                    #expect(messages.compactMap { $0["type"] as? String } == list.map(\.type))
                    #expect(messages.allSatisfy { ($0["delivery_mode"] as? Int) == 2 && ($0["content_type"] as? String) == "application/json" })
                    for (m, e) in zip(messages, list) {
                        let headers = m["headers"] as? [String: Any] ?? [:]
                        #expect(headers["trace_id"] as? String == e.metadata.traceID, "\(queue)")
                        #expect(headers["correlation_id"] as? String == e.metadata.correlationID, "\(queue)")
                        #expect((headers["x-global-position"] as? NSNumber)?.int64Value == e.globalPosition)
                    }
                }
            }
        }
    }

    @Test("a relay started again publishes only what is new; its counters carry on")
    func resumesFromItsCheckpoints() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                _ = try await log.append(RelaySamples.load(500))
                try await RelayService(amqp: amqp, settings: pg, options: Self.untilHead()).run()
                _ = try await log.append(RelaySamples.load(300, from: 500))
                let second = RelayService(amqp: amqp, settings: pg, options: Self.untilHead())
                try await second.run()
                // Counters are cumulative (stored with the checkpoints): 400 before, 240 new (4 of 5 types routed).
                #expect(second.metrics.snapshot.map(\.published).reduce(0, +) == 640)
                let trades = try await QueueReader.drain("ws-gateway.trade", amqp)
                #expect(trades.count == 160)
                #expect(trades.map(\.globalPosition) == trades.map(\.globalPosition).sorted())
            }
        }
    }

    @Test("the relay killed mid-batch resumes: every event delivered, order kept, duplicates only with the same message_id")
    func killedMidBatchLosesNothing() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let total = 20_000
                for chunk in stride(from: 0, to: total, by: 2000) { _ = try await log.append(RelaySamples.load(2000, from: chunk)) }
                let conn = PGConnection(settings: pg)
                func spawn() throws -> Process {
                    let child = Process()
                    child.executableURL = TestDatabase.tradelogExecutable
                    child.arguments = ["run", "--only", "relay", "--database", pg.url, "--log-level", "warning"]
                    var env = ProcessInfo.processInfo.environment
                    env["AMQP_URL"] = "amqp://\(amqp.user):\(amqp.password)@\(amqp.host):\(amqp.port)/\(amqp.virtualHost)"
                    child.environment = env
                    try child.run()
                    return child
                }
                let first = try spawn()
                defer { if first.isRunning { kill(first.processIdentifier, SIGKILL) } }
                // Kill it once it has confirmed some but not all.
                #expect(try await TestDatabase.eventually(timeout: .seconds(60)) {
                    Int(try await conn.scalar("SELECT coalesce(sum(confirmed), 0) FROM relay_queues") ?? "0")! > 2000
                })
                kill(first.processIdentifier, SIGKILL)
                while first.isRunning { try await Task.sleep(for: .milliseconds(20)) }
                let atKill = Int64(try await conn.scalar("SELECT position FROM checkpoints WHERE name = 'relay'") ?? "0")!
                #expect(atKill < Int64(total), "killed before the end")

                let second = try spawn()
                defer { if second.isRunning { second.terminate() } }
                let head = try await log.head()
                #expect(try await TestDatabase.eventually(timeout: .seconds(120)) {
                    try await conn.scalar("SELECT position FROM checkpoints WHERE name = 'relay'") == String(head)
                })
                second.terminate()
                while second.isRunning { try await Task.sleep(for: .milliseconds(20)) }

                _ = try await QueueReader.expectEveryEventDelivered(
                    ["ws-gateway.trade", "ws-gateway.ticker", "ws-gateway.orderbook", "ws-gateway.order"], log: log, amqp)
            }
        }
    }
}
