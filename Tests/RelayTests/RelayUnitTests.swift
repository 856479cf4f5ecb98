import AMQP
import Foundation
import Testing
import TradelogCore
@testable import Relay

@Suite struct ConfirmWindowTests {
    @Test func multipleAcksSettleEveryTagUpToTheirs() {
        var w = ConfirmWindow()
        for _ in 0..<5 { _ = w.published() }
        #expect(w.outstanding == 5)
        let r = w.apply(tag: 3, multiple: true, acked: true)
        #expect(r.map(\.tag) == [1, 2, 3] && r.allSatisfy(\.acked))
        #expect(w.outstanding == 2)
        #expect(w.nextTag == 6)
    }

    @Test func singleConfirmsMayComeOutOfOrder() {
        var w = ConfirmWindow()
        for _ in 0..<4 { _ = w.published() }
        #expect(w.apply(tag: 3, multiple: false, acked: true).map(\.tag) == [3])
        #expect(w.apply(tag: 3, multiple: false, acked: true).isEmpty, "already settled")
        #expect(w.apply(tag: 1, multiple: false, acked: false) == [.init(tag: 1, acked: false)])
        // A multiple ack up to 4 settles what is left: 2 and 4.
        #expect(w.apply(tag: 4, multiple: true, acked: true).map(\.tag) == [2, 4])
        #expect(w.outstanding == 0)
        #expect(w.apply(tag: 9, multiple: true, acked: true).isEmpty, "never published")
    }
}

@Suite struct RelayProgressTests {
    @Test func checkpointsMoveOnlyOverConfirmedMessages() {
        var p = RelayProgress(overall: 10, checkpoints: [:])
        p.channelOpened()
        p.published(tag: 1, position: 11, queue: "a")
        p.published(tag: 2, position: 12, queue: "b")
        p.published(tag: 3, position: 14, queue: "a")
        p.read(through: 15)  // 13 and 15 have no route
        var f = p.frontier(queues: ["a", "b"])
        #expect(f.overall == 10 && f.queues == ["a": 10, "b": 11])
        let (acked, nacked) = p.apply([.init(tag: 2, acked: true)])
        #expect(acked == ["b": 1] && nacked.isEmpty)
        f = p.frontier(queues: ["a", "b"])
        // b is done through everything read; a still waits for 11.
        #expect(f.overall == 10 && f.queues == ["a": 10, "b": 15])
        _ = p.apply([.init(tag: 1, acked: true)])
        f = p.frontier(queues: ["a", "b"])
        #expect(f.overall == 13 && f.queues == ["a": 13, "b": 15])
        _ = p.apply([.init(tag: 3, acked: true)])
        #expect(p.frontier(queues: ["a", "b"]) == (15, ["a": 15, "b": 15]))
        #expect(p.unconfirmed == 0)
    }

    @Test func aRestartSkipsWhatAQueueHadConfirmed() {
        let p = RelayProgress(overall: 100, checkpoints: ["a": 150, "b": 100])
        #expect(!p.needsPublishing(position: 150, queue: "a"))
        #expect(p.needsPublishing(position: 151, queue: "a"))
        #expect(p.needsPublishing(position: 101, queue: "b"))
        #expect(p.needsPublishing(position: 101, queue: "new"), "a queue without a row starts at the overall checkpoint")
        // Nothing published yet: checkpoints stay where they were loaded.
        #expect(p.frontier(queues: []) == (100, ["a": 150, "b": 100]))
    }

    @Test func nacksAreReportedAndHoldTheCheckpoint() {
        var p = RelayProgress(overall: 0, checkpoints: [:])
        p.channelOpened()
        p.published(tag: 1, position: 1, queue: "a")
        p.published(tag: 2, position: 2, queue: "a")
        p.read(through: 2)
        let (acked, nacked) = p.apply([.init(tag: 1, acked: true), .init(tag: 2, acked: false)])
        #expect(acked == ["a": 1])
        #expect(nacked.map(\.position) == [2])
        #expect(p.frontier(queues: ["a"]) == (1, ["a": 1]))
    }
}

@Suite struct MessageEncoderTests {
    static let event = RecordedEvent(
        globalPosition: 42, eventID: UUID(uuidString: "8C1F0000-0000-5000-8000-000000000001")!,
        stream: "market.linear.orderbook-BTCUSDT", streamVersion: 7, type: "OrderBookUpdated", schemaVersion: 1,
        data: Array(#"{"symbol": "BTCUSDT", "type": "delta", "u": 8}"#.utf8),
        metadata: EventMetadata(correlationID: "c-1", traceID: "t\"1", source: "gateway:ws-1",
                                exchangeTime: Timestamp(microsecondsSinceEpoch: 1_764_106_500_123_000)),
        recordedAt: Timestamp(microsecondsSinceEpoch: 1_764_106_500_200_000))

    @Test func theEnvelopeCarriesTheEventAndItsPayload() throws {
        let route = try #require(RelayRoutes.standard.route(for: "OrderBookUpdated"))
        let m = MessageEncoder.message(for: Self.event, route: route)
        #expect(m.queue == "ws-gateway.orderbook")
        #expect(m.messageID == "8c1f0000-0000-5000-8000-000000000001")
        #expect(m.type == "OrderBookUpdated" && m.persistent && m.globalPosition == 42)
        #expect(m.timestamp == 1_764_106_500)
        #expect(m.headers == [.init("trace_id", "t\"1"), .init("correlation_id", "c-1")])
        let body = try #require(try JSONSerialization.jsonObject(with: Data(m.body)) as? [String: Any])
        #expect(body["event_type"] as? String == "orderbook")
        #expect(body["log_event_type"] as? String == "OrderBookUpdated")
        #expect(body["global_position"] as? Int == 42 && body["stream_version"] as? Int == 7)
        #expect(body["exchange_time"] as? String == "2025-11-25T21:35:00.123000Z")
        #expect(body["receive_time"] is NSNull)
        #expect(body["trace_id"] as? String == "t\"1")
        let payload = try #require(body["payload"] as? [String: Any])
        #expect(payload["type"] as? String == "delta", "seed 000: orderbook messages say snapshot or delta")
    }

    @Test func signalsKeepTheSeedShapeWithTheEnvelopeBeside() throws {
        var e = Self.event
        e.type = "SignalGenerated"
        e.data = Array(#"{"signal_id": "s-1", "amount": 500.0, "trace_id": "trace-1"}"#.utf8)
        let route = try #require(RelayRoutes.standard.route(for: "SignalGenerated"))
        let body = try #require(try JSONSerialization.jsonObject(with: Data(MessageEncoder.body(for: e, route: route))) as? [String: Any])
        #expect(body["signal_id"] as? String == "s-1")
        #expect(body["trace_id"] as? String == "trace-1")
        #expect(body["event_type"] as? String == "trading_signal")
        #expect(body["payload"] == nil)
        e.data = Array("{}".utf8)
        let empty = try JSONSerialization.jsonObject(with: Data(MessageEncoder.body(for: e, route: route))) as? [String: Any]
        #expect(empty?["event_id"] != nil)
    }

    @Test func theRoutesCoverEveryDocumentedQueue() {
        #expect(RelayRoutes.standard.queues == [
            "features.dataset.ready", "features.live", "model-service.trading_signals",
            "order-manager.order_events", "order-manager.order_executed",
            "position-manager.portfolio_updated", "position-manager.position_snapshot_created",
            "position-manager.position_updated",
            "ws-gateway.balance", "ws-gateway.funding", "ws-gateway.kline", "ws-gateway.liquidation",
            "ws-gateway.order", "ws-gateway.orderbook", "ws-gateway.position", "ws-gateway.ticker", "ws-gateway.trade",
        ])
        #expect(RelayRoutes.standard.route(for: "SignalReceived") == nil, "inbound signals are not sent back")
        #expect(RelayRoutes.standard.prefixed("b.").route(for: "MarketTrades")?.queue == "b.ws-gateway.trade")
    }
}

@Suite struct AMQPSettingsTests {
    @Test func urlsParse() throws {
        let s = try AMQPSettings(url: "amqp://u%40x:p%2Fw@rabbit:5673/%2f?heartbeat=10&connection_timeout=2500")
        #expect(s.host == "rabbit" && s.port == 5673 && s.user == "u@x" && s.password == "p/w")
        #expect(s.virtualHost == "/" && s.heartbeat == 10 && s.connectTimeout == .milliseconds(2500))
        #expect(!s.redactedURL.contains("p/w") && !s.redactedURL.contains("p%2Fw"))
        #expect(try AMQPSettings(url: "amqp://h").virtualHost == "/")
        #expect(try AMQPSettings(url: "amqp://h/prod").virtualHost == "prod")
        #expect(try AMQPSettings.fromEnvironment([:]).port == 5672)
    }

    @Test(arguments: ["http://h/", "amqps://h/", "amqp://h/a/b", "amqp://h/?heartbeat=x", "amqp://h/?frame=1", "::"])
    func badURLsNameTheSetting(_ url: String) {
        #expect {
            try AMQPSettings(url: url)
        } throws: { error in
            "\(error)".contains("AMQP_URL")
        }
    }
}
