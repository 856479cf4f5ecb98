import AMQP
import EventLog
import Foundation
import PostgresClient
import Signals
import Synchronization
import Testing
import TradelogCore
import TradelogTesting
@testable import Relay

/// A sink that fails on purpose: before storing anything, or after storing (as if the
/// process died between the commit and the ack).
final class FlakySink: SignalSink {
    enum Mode { case failBeforeStoring, failAfterStoringOnce, refuseText(String) }
    let inner: LogSignalSink
    let mode: Mode
    let calls = Mutex(0)

    init(_ inner: LogSignalSink, _ mode: Mode) {
        self.inner = inner
        self.mode = mode
    }

    func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        let n = calls.withLock { $0 += 1; return $0 }
        switch mode {
        case .failBeforeStoring:
            throw TestBrokerError(message: "log unavailable (test)")
        case .failAfterStoringOnce:
            let r = try await inner.append(appends)
            if n == 1 { throw TestBrokerError(message: "died after the commit (test)") }
            return r
        case .refuseText(let marker):
            // As PostgreSQL refuses content it cannot store (the whole append fails).
            if appends.contains(where: { $0.events.contains { String(decoding: $0.data, as: UTF8.self).contains(marker) } }) {
                throw PGError(code: .server, sqlState: "22P05", message: "unsupported Unicode escape sequence (test)")
            }
            return try await inner.append(appends)
        }
    }

    func received(signalID: String) async throws -> SignalReceived? { try await inner.received(signalID: signalID) }
}

/// A sink that is ready only while a test says so (as the order manager's, live or not).
final class GatedSink: SignalSink {
    let inner: LogSignalSink
    let ready = Mutex(false)
    let calls = Mutex(0)

    init(_ inner: LogSignalSink) { self.inner = inner }

    func append(_ appends: [StreamAppend]) async throws -> AppendResult {
        calls.withLock { $0 += 1 }
        return try await inner.append(appends)
    }

    func received(signalID: String) async throws -> SignalReceived? { try await inner.received(signalID: signalID) }

    func isReady() async -> Bool { ready.withLock { $0 } }
}

@Suite("Signal intake (real PostgreSQL and RabbitMQ)")
struct SignalIntakeTests {
    static let queue = "model-service.trading_signals"
    static let dlq = "model-service.trading_signals.dlq"

    static func publish(_ bodies: [[UInt8]], _ amqp: AMQPSettings) async throws {
        let c = AMQPConnection(settings: amqp, name: "test-publisher")
        try await c.open(confirms: true)
        try await c.declare(queue: queue, arguments: .documented)
        _ = try await c.publish(bodies.enumerated().map { AMQPMessage(queue: queue, body: $1, messageID: "m-\($0)") })
        while await c.outstanding > 0 { _ = try await c.readConfirms(timeout: .seconds(1)) }
        await c.close()
    }

    static func options() -> SignalIntakeOptions {
        var o = SignalIntakeOptions()
        o.pollTimeout = .milliseconds(100)
        o.backoff = ReconnectBackoff(initialMs: 100, maximumMs: 500)
        return o
    }

    /// Runs an intake while `body` runs.
    static func withIntake<T: Sendable>(_ amqp: AMQPSettings, _ sink: any SignalSink, _ body: (SignalIntake) async throws -> T) async throws -> T {
        let intake = SignalIntake(amqp: amqp, sink: sink, options: options())
        let task = Task { try await intake.run() }
        defer { task.cancel() }
        let value = try await body(intake)
        task.cancel()
        _ = try? await task.value
        return value
    }

    static func events(_ log: EventLog, type: String) async throws -> [RecordedEvent] {
        try await log.read(after: 0, limit: 100_000).filter { $0.type == type }
    }

    static func payload(_ e: RecordedEvent) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(e.data)) as? [String: Any]) ?? [:]
    }

    @Test("a valid signal becomes SignalReceived; the same body again is a no-op; another body with its id is a duplicate")
    func validSignalRedeliveryAndDuplicate() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let body = Array(SignalSamples.seedExample.utf8)
                try await Self.withIntake(amqp, LogSignalSink(log: log)) { intake in
                    try await Self.publish([body], amqp)
                    #expect(try await TestDatabase.eventually { try await Self.events(log, type: "SignalReceived").count == 1 })
                    let received = try await Self.events(log, type: "SignalReceived")[0]
                    #expect(received.stream == "signal-550e8400-e29b-41d4-a716-446655440000")
                    #expect(received.eventID == SignalEvents.receivedEventID(signalID: "550e8400-e29b-41d4-a716-446655440000"))
                    #expect(received.metadata.traceID == "trace-12345" && received.metadata.correlationID == "550e8400-e29b-41d4-a716-446655440000")
                    #expect(received.metadata.causationID == "m-0" && received.metadata.receiveTime != nil)
                    let signal = Self.payload(received)["signal"] as? [String: Any]
                    #expect(signal?["asset"] as? String == "ETHUSDT" && signal?["strategy_id"] as? String == "strat-002")

                    try await Self.publish([body], amqp)  // the same body: a redelivery
                    #expect(try await TestDatabase.eventually { intake.counters.redelivered == 1 })
                    let other = SignalSamples.seedExample.replacingOccurrences(of: "500.0", with: "700.0")
                    try await Self.publish([Array(other.utf8)], amqp)
                    #expect(try await TestDatabase.eventually { try await Self.events(log, type: "SignalRejected").count == 1 })
                    let dup = try await Self.events(log, type: "SignalRejected")[0]
                    #expect(Self.payload(dup)["reason"] as? String == "duplicate_signal_id")
                    #expect(try await Self.events(log, type: "SignalReceived").count == 1)
                    #expect(try await TestDatabase.eventually { intake.counters.acked == 3 })
                }
                let dead = try await QueueReader.drainBodies(Self.dlq, amqp)
                #expect(dead.map(\.body) == [Array(SignalSamples.seedExample.replacingOccurrences(of: "500.0", with: "700.0").utf8)])
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).isEmpty, "all acked")
            }
        }
    }

    @Test("a signal queue another system declared first with other arguments is used as it is (the broker refused tradelog's with 406)")
    func queueDeclaredWithOtherArguments() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                // The model service's own declare: durable, no TTL, no length limit.
                let theirs = AMQPConnection(settings: amqp, name: "model-service")
                try await theirs.open(confirms: true)
                #expect(try await theirs.declare(queue: Self.queue, arguments: QueueArguments(durable: true)) == .declared)
                // Ours is refused by the broker, and the queue is used as it is; the connection
                // (its publishing channel) is unaffected.
                let ours = try await theirs.declare(queue: Self.queue, arguments: .documented)
                guard case .existsWithOtherArguments(let refusal) = ours else {
                    Issue.record("expected the 406 fallback, got \(ours)")
                    return
                }
                #expect(refusal.contains("406") && refusal.contains("PRECONDITION_FAILED"), "\(refusal)")
                _ = try await theirs.publish([AMQPMessage(queue: Self.queue, body: Array(SignalSamples.seedExample.utf8), messageID: "m-0")])
                while await theirs.outstanding > 0 { _ = try await theirs.readConfirms(timeout: .seconds(1)) }
                await theirs.close()

                let log = EventLog(settings: pg)
                try await Self.withIntake(amqp, LogSignalSink(log: log)) { (intake: SignalIntake) async throws in
                    #expect(try await TestDatabase.eventually { try await Self.events(log, type: "SignalReceived").count == 1 })
                    #expect(try await TestDatabase.eventually { intake.counters.acked == 1 })
                }
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).isEmpty, "acked")
            }
        }
    }

    static let malformed: [(String, String, String?)] = [
        ("{\"signal_id\": ", "invalid_json", nil),
        ("[1, 2]", "not_an_object", nil),
        (SignalSamples.seedExample.replacingOccurrences(of: "\"amount\": 500.0,", with: ""), "missing_field", "amount"),
        (SignalSamples.seedExample.replacingOccurrences(of: "\"amount\": 500.0", with: "\"amount\": \"500\""), "mistyped_field", "amount"),
        (SignalSamples.seedExample.replacingOccurrences(of: "\"confidence\": 0.90", with: "\"confidence\": \"high\""), "mistyped_field", "confidence"),
        (SignalSamples.seedExample.replacingOccurrences(of: "\"sell\"", with: "\"hold\""), "invalid_signal_type", "signal_type"),
        (SignalSamples.seedExample.replacingOccurrences(of: "500.0", with: "0"), "non_positive_amount", "amount"),
        (SignalSamples.seedExample.replacingOccurrences(of: "500.0", with: "-5"), "non_positive_amount", "amount"),
        (SignalSamples.seedExample.replacingOccurrences(of: "0.90", with: "1.5"), "confidence_out_of_range", "confidence"),
        (SignalSamples.seedExample.replacingOccurrences(of: "0.90", with: "-0.1"), "confidence_out_of_range", "confidence"),
        (SignalSamples.seedExample.replacingOccurrences(of: "550e8400-e29b-41d4-a716-446655440000", with: "not-a-uuid"), "invalid_field", "signal_id"),
    ]

    @Test("each malformed case becomes SignalRejected with its reason and field, and is dead-lettered with its original body")
    func malformedSignalsAreRejectedAndDeadLettered() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let bodies = Self.malformed.map { Array($0.0.utf8) }
                try await Self.withIntake(amqp, LogSignalSink(log: log)) { intake in
                    try await Self.publish(bodies, amqp)
                    #expect(try await TestDatabase.eventually { intake.counters.acked == Int64(bodies.count) })
                }
                let rejected = try await Self.events(log, type: "SignalRejected")
                #expect(rejected.count == bodies.count)
                #expect(try await Self.events(log, type: "SignalReceived").isEmpty)
                for (i, (text, reason, field)) in Self.malformed.enumerated() {
                    let p = try #require(rejected.first { Self.payload($0)["body"] as? String == text }.map(Self.payload), "case \(i)")
                    #expect(p["reason"] as? String == reason, "case \(i)")
                    #expect(p["field"] as? String == field, "case \(i)")
                    #expect((p["detail"] as? String)?.isEmpty == false)
                }
                let dead = try await QueueReader.drainBodies(Self.dlq, amqp)
                #expect(Set(dead.map(\.body)) == Set(bodies))
                #expect(Set(dead.compactMap { $0.headers["rejection_reason"] }) == Set(Self.malformed.map(\.1)))
            }
        }
    }

    @Test("1,000 fuzzed bodies: no crash, each rejected with a reason, each dead-lettered, all acked")
    func fuzzedBodies() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let samples = SignalSamples.malformed(count: 1000, seed: 2026)
                try await Self.withIntake(amqp, LogSignalSink(log: log)) { intake in
                    try await Self.publish(samples.map(\.body), amqp)
                    #expect(try await TestDatabase.eventually(timeout: .seconds(60)) { intake.counters.acked == 1000 })
                    #expect(intake.counters.rejected == 1000)
                }
                let rejected = try await Self.events(log, type: "SignalRejected")
                #expect(rejected.count == 1000)
                let reasons = rejected.compactMap { Self.payload($0)["reason"] as? String }
                #expect(reasons.count == 1000 && Set(reasons).isSubset(of: Set(SignalRejectionReason.allCases.map(\.rawValue))))
                let byDigest = Dictionary(uniqueKeysWithValues: rejected.map { (Self.payload($0)["body_sha256"] as? String ?? "", Self.payload($0)["reason"] as? String ?? "") })
                for s in samples {
                    #expect(byDigest[SignalEvents.bodySHA256(s.body)] == s.expected.rawValue)
                }
                #expect(try await QueueReader.drainBodies(Self.dlq, amqp).count == 1000)
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).isEmpty)
            }
        }
    }

    @Test("nothing is acked before it is in the log: with the log failing, every signal stays in the queue")
    func nothingAckedBeforeDurable() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let bodies = (0..<50).map { SignalSamples.valid(index: $0, seed: 1) }
                let sink = FlakySink(LogSignalSink(log: log), .failBeforeStoring)
                try await Self.withIntake(amqp, sink) { intake in
                    try await Self.publish(bodies, amqp)
                    #expect(try await TestDatabase.eventually { sink.calls.withLock { $0 } >= 3 }, "it keeps retrying")
                    #expect(intake.counters.acked == 0)
                }
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).count == 50, "every signal is still there")
            }
        }
    }

    @Test("a sink not ready takes nothing: signals stay in the queue until it is, and the intake stops consuming when it is not again")
    func waitsForTheSinkToBeReady() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let sink = GatedSink(LogSignalSink(log: log))
                try await Self.withIntake(amqp, sink) { intake in
                    try await Self.publish((0..<10).map { SignalSamples.valid(index: $0, seed: 11) }, amqp)
                    try await Task.sleep(for: .seconds(1))
                    #expect(sink.calls.withLock { $0 } == 0 && intake.counters.acked == 0, "nothing taken while not ready")
                    sink.ready.withLock { $0 = true }
                    #expect(try await TestDatabase.eventually { intake.counters.acked == 10 })
                    // Not ready again: the consumer goes away; what comes next waits in the queue.
                    sink.ready.withLock { $0 = false }
                    try await Task.sleep(for: .seconds(1))
                    try await Self.publish((10..<15).map { SignalSamples.valid(index: $0, seed: 11) }, amqp)
                    try await Task.sleep(for: .seconds(1))
                    #expect(intake.counters.acked == 10)
                }
                #expect(try await Self.events(log, type: "SignalReceived").count == 10)
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).count == 5, "the later signals are still in the queue")
            }
        }
    }

    @Test("a crash between the commit and the ack: the redelivered signals are logged once")
    func redeliveryAfterCommitIsANoOp() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                let bodies = (0..<20).map { SignalSamples.valid(index: $0, seed: 3) } + [Array("nope".utf8)]
                let sink = FlakySink(LogSignalSink(log: log), .failAfterStoringOnce)
                try await Self.withIntake(amqp, sink) { intake in
                    try await Self.publish(bodies, amqp)
                    #expect(try await TestDatabase.eventually { intake.counters.acked == 21 })
                    #expect(intake.counters.redelivered >= 1, "the first batch came back after the crash")
                }
                #expect(try await Self.events(log, type: "SignalReceived").count == 20)
                #expect(try await Self.events(log, type: "SignalRejected").count == 1)
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).isEmpty)
            }
        }
    }

    @Test("a message the log refuses is stored as storage_refused and dead-lettered; the rest of its batch goes through")
    func poisonMessageDoesNotHoldTheQueue() async throws {
        try await TestDatabase.with { pg in
            try await TestBroker.with { amqp in
                let log = EventLog(settings: pg)
                var bodies = (0..<30).map { SignalSamples.valid(index: $0, seed: 5) }
                let poison = SignalSamples.seedExample.replacingOccurrences(of: "strat-002", with: "POISON")
                bodies.insert(Array(poison.utf8), at: 10)
                let sink = FlakySink(LogSignalSink(log: log), .refuseText("POISON"))
                try await Self.withIntake(amqp, sink) { intake in
                    try await Self.publish(bodies, amqp)
                    #expect(try await TestDatabase.eventually { intake.counters.acked == 31 })
                }
                #expect(try await Self.events(log, type: "SignalReceived").count == 30)
                let refused = try await Self.events(log, type: "SignalRejected")
                #expect(refused.count == 1)
                let p = Self.payload(try #require(refused.first))
                #expect(p["reason"] as? String == "storage_refused")
                #expect(p["body_base64"] as? String == Data(poison.utf8).base64EncodedString())
                let dead = try await QueueReader.drainBodies(Self.dlq, amqp)
                #expect(dead.map(\.body) == [Array(poison.utf8)])
                #expect(dead.first?.headers["rejection_reason"] == "storage_refused")
                #expect(try await QueueReader.drainBodies(Self.queue, amqp).isEmpty)
            }
        }
    }
}
