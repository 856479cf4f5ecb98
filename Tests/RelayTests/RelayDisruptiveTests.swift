import AMQP
import EventLog
import Foundation
import Logging
import PostgresClient
import Testing
import TradelogCore
import TradelogTesting
@testable import Relay

/// Stops the local RabbitMQ for 30 s, then raises its memory alarm, under a running relay: run alone
/// (`TRADELOG_DISRUPTIVE_TESTS=1`, see scripts/test.sh), it would break the tests beside it.
@Suite("Relay across a RabbitMQ outage (disruptive)",
       .enabled(if: ProcessInfo.processInfo.environment["TRADELOG_DISRUPTIVE_TESTS"] == "1"),
       .serialized)
struct RelayDisruptiveTests {
    static func servers(_ command: String) async throws -> Int32 {
        try await runShell("bash '\(TestDatabase.repositoryRoot.path)/scripts/servers.sh' \(command) 1>&2")
    }

    /// A relay (reconnecting fast) beside a writer that appends `chunks` chunks of `size`
    /// sample events, one every `gap`; returns once the relay has confirmed `confirmed` messages.
    struct Run {
        let log: EventLog
        let conn: PGConnection
        let relay: Task<Void, Error>
        let writer: Task<Void, Error>

        init(pg: PGSettings, amqp: AMQPSettings, options base: RelayOptions = RelayOptions(), logger: Logger? = nil,
             chunks: Int, size: Int, gap: Duration, confirmed: Int) async throws {
            let log = EventLog(settings: pg)
            var options = base
            options.idleWait = .milliseconds(200)
            options.backoff = ReconnectBackoff(initialMs: 500, maximumMs: 2000)
            let relay = logger.map { RelayService(amqp: amqp, settings: pg, options: options, logger: $0) }
                ?? RelayService(amqp: amqp, settings: pg, options: options)
            self.log = log
            self.relay = Task { try await relay.run() }
            conn = PGConnection(settings: pg)
            writer = Task {
                for chunk in 0..<chunks {
                    _ = try await log.append(RelaySamples.load(size, from: chunk * size))
                    try await Task.sleep(for: gap)
                }
            }
            let conn = self.conn
            #expect(try await TestDatabase.eventually(timeout: .seconds(60)) {
                Int(try await conn.scalar("SELECT coalesce(sum(confirmed), 0) FROM relay_queues") ?? "0")! > confirmed
            })
        }

        /// Waits for the writer and for the relay's checkpoint at the head, stops the relay, and
        /// checks that every queue got each of its events (in order, duplicates only with the
        /// same message_id), `perQueue` of them.
        func finish(amqp: AMQPSettings, perQueue: Int) async throws {
            try await writer.value
            let head = try await log.head()
            let conn = self.conn
            #expect(try await TestDatabase.eventually(timeout: .seconds(120)) {
                try await conn.scalar("SELECT position FROM checkpoints WHERE name = 'relay'") == String(head)
            })
            relay.cancel()
            _ = try? await relay.value
            let counts = try await QueueReader.expectEveryEventDelivered(
                ["ws-gateway.trade", "ws-gateway.ticker", "ws-gateway.orderbook", "ws-gateway.order"], log: log, amqp)
            #expect(counts.values.allSatisfy { $0 == perQueue }, "\(counts)")
            await conn.close()
        }
    }

    @Test("RabbitMQ stopped for 30 s mid-run: afterwards every event is delivered, order kept per queue, duplicates only with the same message_id")
    func brokerOutage() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                // Events keep arriving before, during and after the outage.
                let run = try await Run(pg: pg, amqp: amqp, chunks: 60, size: 500, gap: .milliseconds(700), confirmed: 2000)
                defer { run.relay.cancel() }
                #expect(try await Self.servers("stop-rabbitmq") == 0)
                let stoppedAt = try await run.log.head()
                try await Task.sleep(for: .seconds(30))
                #expect(try await run.log.head() > stoppedAt, "events were still appended while the broker was down")
                #expect(try await Self.servers("start-rabbitmq") == 0)
                try await run.finish(amqp: amqp, perQueue: 6000)
            }
        }
    }

    @Test("a RabbitMQ memory alarm mid-run: the relay says why and waits on its connection, then delivers every event")
    func memoryAlarm() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let logs = CapturedLogs()
                var options = RelayOptions()
                // Batches (1000 events) above the confirm window: the alarm catches the relay
                // waiting for confirms in the middle of a batch.
                options.confirmWindow = 200
                let run = try await Run(pg: pg, amqp: amqp, options: options, logger: logs.logger("relay"),
                                        chunks: 10, size: 1500, gap: .milliseconds(700), confirmed: 1000)
                defer { run.relay.cancel() }
                // The alarm is cleared whatever happens in between (the broker is shared).
                #expect(try await Self.servers("rabbitmqctl set_vm_memory_high_watermark 0.0001") == 0)
                let blocked: Bool
                do {
                    blocked = try await TestDatabase.eventually(timeout: .seconds(90)) {
                        logs.contains("RabbitMQ blocked publishing")
                    }
                } catch {
                    _ = try? await Self.servers("rabbitmqctl set_vm_memory_high_watermark 0.4")
                    throw error
                }
                // A backlog builds up while blocked.
                try await Task.sleep(for: .seconds(3))
                #expect(try await Self.servers("rabbitmqctl set_vm_memory_high_watermark 0.4") == 0)
                #expect(blocked, "the relay never said the broker blocked it")
                #expect(logs.contains("amqp.blocked.reason=low on memory"))
                #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { logs.contains("RabbitMQ unblocked publishing") })
                try await run.finish(amqp: amqp, perQueue: 3000)
                // It waited on its connection: no reconnect, no republishing.
                #expect(!logs.contains("relay interrupted"), "\(logs.lines.filter { $0.contains("interrupted") })")
            }
        }
    }
}
