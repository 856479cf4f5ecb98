import AMQP
import ArgumentParser
import EventLog
import Foundation
import Logging
import PostgresClient
import Relay
import Signals
import TradelogCore

struct BenchRelay: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "relay",
        abstract: "Relay throughput (log → RabbitMQ with confirms) against raw rabbitmq-c publishing, and inbound signals/s.",
        discussion: """
            A scratch database is filled with market-shaped events routed to four queues. Each \
            round publishes the same bodies twice: raw (pre-encoded, straight through the AMQP \
            client with the same confirm window) and through the relay (reading the log, \
            encoding, publishing, checkpointing after confirms), and the rates are compared in \
            the same run. Then signals are queued and the signal intake's rate into the log is \
            measured. Queues are named with a `bench.<pid>.` prefix at AMQP_URL and deleted \
            afterwards. Ends with one `key: value` line per figure.
            """)

    @OptionGroup var db: DatabaseOptions

    @Option(help: "Events in the log (each one message).")
    var events = 100_000

    @Option(help: "Unconfirmed publishes in flight (both raw and relay).")
    var window = 1000

    @Option(help: "Rounds of raw + relay; the figures are the rounds' medians.")
    var rounds = 3

    @Option(help: "Signals for the inbound measurement.")
    var signals = 20_000

    func run() async throws {
        db.bootstrapLogging()
        #if DEBUG
        print("warning: this is a debug build; benchmark with `swift build -c release`")
        #endif
        let amqp = try AMQPSettings.fromEnvironment()
        let scratch = "tradelog_benchrelay_\(getpid())"
        let prefix = "bench.\(getpid())."
        try await withScratchDatabase(db.settings("tradelog:bench"), name: scratch) { settings in
            let control = AMQPConnection(settings: amqp, name: "bench-control")
            try await control.open(confirms: false)
            var queues: Set<String> = []
            do {
                let conn = PGConnection(settings: settings)
                try await conn.withConnection { try RetentionPolicy.prepareMarketPartitions(on: $0) }
                await conn.close()
                print("scratch database \(scratch), queues \(prefix)*, \(amqp.redactedURL)")
                let figures = try await measure(settings: settings, amqp: amqp, prefix: prefix, control: control, queues: &queues)
                print("")
                print("relay_msgs_per_s: \(fmt0(figures.relay))")
                print("raw_publish_msgs_per_s: \(fmt0(figures.raw))")
                print("relay_vs_raw_ratio: \(fmt3(figures.relay / figures.raw))")
                print("inbound_signals_per_s: \(fmt0(figures.inbound))")
            } catch {
                await deleteQueues(control, queues)
                throw error
            }
            await deleteQueues(control, queues)
        }
    }

    private func deleteQueues(_ control: AMQPConnection, _ queues: Set<String>) async {
        if !(await control.isOpen) { try? await control.open(confirms: false) }
        for q in queues.sorted() { _ = try? await control.delete(queue: q) }
        await control.close()
    }

    private func measure(settings: PGSettings, amqp: AMQPSettings, prefix: String, control: AMQPConnection,
                         queues: inout Set<String>) async throws -> (relay: Double, raw: Double, inbound: Double) {
        let log = EventLog(settings: settings)
        let kinds = [("MarketTrades", "market.linear.trade-"), ("OrderBookUpdated", "market.linear.orderbook-"),
                     ("TickerUpdated", "market.linear.ticker-"), ("KlineUpdated", "market.linear.kline-")]
        var appended = 0
        while appended < events {
            let n = min(2000, events - appended)
            let batch = (appended..<(appended + n)).map { i -> StreamAppend in
                let (type, stream) = kinds[i % kinds.count]
                let data = #"{"category":"linear","symbol":"BTCUSDT","ts":\#(1_764_000_000_000 + i),"type":"delta","u":\#(i),"#
                    + #""b":[["96512.4","0.532"],["96512.3","1.204"]],"a":[["96512.6","0.010"],["96513.0","2.750"]],"seq":\#(i * 7)}"#
                return StreamAppend(stream: stream + "BTCUSDT", events: [NewEvent(
                    eventID: DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "bench-relay/\(i)"), type: type,
                    data: Array(data.utf8), metadata: EventMetadata(traceID: "bench-\(i % 97)", source: "bench"))])
            }
            _ = try await log.append(batch)
            appended += n
        }
        print("log filled: \(events) events over \(kinds.count) queues")

        // The raw side's bodies: the relay's own messages for the same events, built before timing.
        var rawMessages: [AMQPMessage] = []
        var after: Int64 = 0
        let routes = RelayRoutes.standard.prefixed(prefix + "raw.")
        while true {
            let batch = try await log.read(after: after, limit: 5000)
            guard let last = batch.last else { break }
            for e in batch { if let r = routes.route(for: e.type) { rawMessages.append(MessageEncoder.message(for: e, route: r)) } }
            after = last.globalPosition
        }
        queues.formUnion(rawMessages.map(\.queue))
        queues.formUnion(RelayRoutes.standard.prefixed(prefix).queues)

        var raw: [Double] = [], relay: [Double] = []
        for round in 1...rounds {
            for q in queues.sorted() { _ = try? await control.purge(queue: q) }
            let rawRate = try await rawPublish(rawMessages, amqp: amqp)
            raw.append(rawRate)
            for q in queues.sorted() { _ = try? await control.purge(queue: q) }
            var options = RelayOptions()
            options.name = "relay-bench-\(round)"
            options.routes = RelayRoutes.standard.prefixed(prefix)
            options.confirmWindow = window
            options.stopAtHead = true
            let service = RelayService(amqp: amqp, settings: settings, options: options, logger: Logger(label: "bench.relay"))
            let start = ContinuousClock.now
            try await service.run()
            let seconds = (ContinuousClock.now - start).seconds
            let published = service.metrics.snapshot.map(\.confirmed).reduce(0, +)
            guard published == Int64(events) else { throw ValidationError("relay confirmed \(published) of \(events)") }
            relay.append(Double(published) / seconds)
            print("round \(round): raw \(fmt0(rawRate)) msg/s, relay \(fmt0(relay.last!)) msg/s (ratio \(fmt3(relay.last! / rawRate)))")
        }
        for q in queues.sorted() { _ = try? await control.purge(queue: q) }

        let inbound = try await inboundRate(settings: settings, amqp: amqp, prefix: prefix, queues: &queues)
        print("inbound: \(signals) signals → SignalReceived in \(fmt0(inbound)) signals/s")
        return (median(relay), median(raw), inbound)
    }

    /// Publishes pre-built messages with the same window and waits for every confirm.
    private func rawPublish(_ messages: [AMQPMessage], amqp: AMQPSettings) async throws -> Double {
        let c = AMQPConnection(settings: amqp, name: "bench-raw")
        try await c.open(confirms: true)
        for q in Set(messages.map(\.queue)).sorted() { try await c.declare(queue: q, arguments: .documented) }
        let start = ContinuousClock.now
        var i = 0
        while i < messages.count {
            let end = min(i + 1000, messages.count)
            _ = try await c.publish(Array(messages[i..<end]), window: window)
            i = end
        }
        while await c.outstanding > 0 { _ = try await c.readConfirms(timeout: .seconds(5)) }
        let seconds = (ContinuousClock.now - start).seconds
        await c.close()
        return Double(messages.count) / seconds
    }

    private func inboundRate(settings: PGSettings, amqp: AMQPSettings, prefix: String, queues: inout Set<String>) async throws -> Double {
        var options = SignalIntakeOptions()
        options.queue = prefix + "model-service.trading_signals"
        options.deadLetterQueue = options.queue + ".dlq"
        queues.formUnion([options.queue, options.deadLetterQueue])
        let c = AMQPConnection(settings: amqp, name: "bench-signals")
        try await c.open(confirms: true)
        try await c.declare(queue: options.queue, arguments: .documented)
        var i = 0
        while i < signals {
            let end = min(i + 1000, signals)
            _ = try await c.publish((i..<end).map { AMQPMessage(queue: options.queue, body: SignalSamples.valid(index: $0, seed: 42)) },
                                   window: window)
            i = end
        }
        while await c.outstanding > 0 { _ = try await c.readConfirms(timeout: .seconds(5)) }
        await c.close()
        let intake = SignalIntake(amqp: amqp, sink: LogSignalSink(log: EventLog(settings: settings)), options: options,
                                  logger: Logger(label: "bench.signals"))
        let start = ContinuousClock.now
        let task = Task { try await intake.run() }
        while intake.counters.acked < Int64(signals) {
            try await Task.sleep(for: .milliseconds(5))
            if (ContinuousClock.now - start) > .seconds(600) { break }
        }
        let seconds = (ContinuousClock.now - start).seconds
        task.cancel()
        _ = try? await task.value
        guard intake.counters.received == Int64(signals) else {
            throw ValidationError("intake logged \(intake.counters.received) of \(signals) signals")
        }
        return Double(signals) / seconds
    }

    private func median(_ v: [Double]) -> Double {
        let s = v.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
}
