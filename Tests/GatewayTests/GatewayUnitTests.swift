import Bybit
import BybitClient
import EventLog
import Foundation
import Logging
import Recording
import Testing
import TradelogCore
@testable import Gateway

@Suite("Gateway pieces without I/O")
struct GatewayUnitTests {
    @Test("a book update dropped by a full queue: the book is forgotten and resubscribed, its next updates unsynced until a snapshot")
    func droppedBookUpdatesResync() async throws {
        let buffer = IngestBuffer(capacity: 2)
        let ingest = FrameIngest(channel: .linear, gatewayName: "t", connectionStream: "gateway.connections-t", buffer: buffer,
                                 recorder: nil, logger: Logger(label: "test"))
        let info = BybitStream.Info(connectionID: "linear-1", channel: .linear)
        func frame(_ type: String, u: Int) -> [UInt8] {
            Array(#"{"topic":"orderbook.50.BTCUSDT","type":"\#(type)","ts":\#(1_700_000_000_000 + u),"data":{"s":"BTCUSDT","b":[["64999","\#(u)"]],"a":[["65001","2"]],"u":\#(u),"seq":\#(100 + u)},"cts":1700000000001}"#.utf8)
        }
        let at = Timestamp(microsecondsSinceEpoch: 1_700_000_000_000_000)
        #expect(await ingest.streamFrame(info, bytes: frame("snapshot", u: 10), at: at).resync.isEmpty, "fits in the queue")
        #expect(await ingest.streamFrame(info, bytes: frame("delta", u: 11), at: at).resync.isEmpty, "fits in the queue")
        // Dropped while the queue is full: the book is forgotten, and no resubscribe yet (its
        // snapshot would be dropped too), however many frames are dropped.
        let dropped = await ingest.streamFrame(info, bytes: frame("delta", u: 12), at: at)
        #expect(dropped.resync.isEmpty && ingest.counters.dropped == 1)
        #expect(await ingest.streamFrame(info, bytes: frame("delta", u: 13), at: at).resync.isEmpty, "no resubscribe storm")
        // The queue drains; the next delta is logged unsynced (with an invalidation), not applied
        // to a book the log lacks, and the resubscribe goes out once.
        buffer.remove(2)
        let back = await ingest.streamFrame(info, bytes: frame("delta", u: 14), at: at)
        #expect(back.resync == ["orderbook.50.BTCUSDT"])
        let next = await buffer.peek(max: 10)
        let book = try #require(next.first { $0.event.type == OrderBookUpdated.eventType })
        #expect(String(decoding: book.event.data, as: UTF8.self).contains("\"synced\":false"))
        buffer.remove(next.count)
        #expect(await ingest.streamFrame(info, bytes: frame("delta", u: 15), at: at).resync.isEmpty, "asked once")
        buffer.remove(await buffer.peek(max: 10).count)
        // The snapshot after the resubscribe is synced again.
        _ = await ingest.streamFrame(info, bytes: frame("snapshot", u: 20), at: at)
        let fresh = await buffer.peek(max: 10)
        #expect(fresh.contains { String(decoding: $0.event.data, as: UTF8.self).contains("\"synced\":true") })
    }

    @Test("the seed's channel types map to Bybit v5 topics; funding and liquidation use the topics that exist")
    func requests() throws {
        func topic(_ r: SubscriptionRequest) throws -> String { try r.resolve().get().topic }
        #expect(try topic(.init(channelType: "trades", symbol: "btcusdt")) == "publicTrade.BTCUSDT")
        #expect(try topic(.init(channelType: "ticker", symbol: "ETHUSDT", category: "spot")) == "tickers.ETHUSDT")
        // Seed 000: `orderbook` is the level-1 book unless a depth is given.
        #expect(try topic(.init(channelType: "orderbook", symbol: "BTCUSDT")) == "orderbook.1.BTCUSDT")
        #expect(try topic(.init(channelType: "orderbook", symbol: "BTCUSDT", depth: 50)) == "orderbook.50.BTCUSDT")
        #expect(try topic(.init(channelType: "kline", symbol: "BTCUSDT")) == "kline.1.BTCUSDT")
        #expect(try topic(.init(channelType: "funding", symbol: "BTCUSDT")) == "tickers.BTCUSDT")
        #expect(try topic(.init(channelType: "liquidation", symbol: "BTCUSDT")) == "allLiquidation.BTCUSDT")
        let order = try SubscriptionRequest(channelType: "order").resolve().get()
        #expect(order.channel == .private && order.topic == "order")
        #expect(try SubscriptionRequest(channelType: "balance").resolve().get().topic == "wallet")
        let raw = try SubscriptionRequest(category: "spot", topic: "orderbook.200.BTCUSDT", requestingService: "feature-service").resolve().get()
        #expect(raw.channel == .spot && raw.requestedBy == "feature-service")

        #expect(SubscriptionRequest(symbol: "BTCUSDT").resolve() == .failure(.init(field: "channel_type", problem: "is required (or give topic)")))
        #expect(try #require(SubscriptionRequest(channelType: "trades").resolve().failureField) == "symbol")
        #expect(try #require(SubscriptionRequest(channelType: "orderbook", symbol: "BTCUSDT", depth: 7).resolve().failureField) == "depth")
        #expect(try #require(SubscriptionRequest(channelType: "funding", symbol: "BTCUSDT", category: "spot").resolve().failureField) == "category")
        #expect(try #require(SubscriptionRequest(channelType: "nope", symbol: "BTCUSDT").resolve().failureField) == "channel_type")
        #expect(try #require(SubscriptionRequest(channelType: "kline", symbol: "BTCUSDT", interval: "2").resolve().failureField) == "interval")
        // Text the log would refuse (U+0000) or that has no bound is a 400 naming its field, not a 500.
        #expect(try #require(SubscriptionRequest(channelType: "order", requestingService: "svc\u{0}").resolve().failureField) == "requesting_service")
        #expect(try #require(SubscriptionRequest(category: "spot", topic: "orderbook.1.BTC\u{0}").resolve().failureField) == "topic")
        #expect(try #require(SubscriptionRequest(category: "spot", topic: String(repeating: "a", count: 300)).resolve().failureField) == "topic")
    }

    @Test("the subscription list parses channel:topic and names the bad entry and the source")
    func subscriptionList() throws {
        let keys = try parseSubscriptionList("linear:orderbook.50.BTCUSDT, spot:publicTrade.BTCUSDT,private:order", source: "test")
        #expect(keys.map(\.id) == ["linear:orderbook.50.BTCUSDT", "spot:publicTrade.BTCUSDT", "private:order"])
        #expect(throws: ConfigurationError.self) { try parseSubscriptionList("orderbook.50.BTCUSDT", source: "test") }
        do {
            _ = try GatewayConfiguration.fromEnvironment(["BYBIT_ENV": "moon"])
            Issue.record("expected an error")
        } catch let e as ConfigurationError {
            #expect(e.field == "BYBIT_ENV")
        }
        do {
            _ = try GatewayConfiguration.fromEnvironment(["BYBIT_API_KEY": "k"])
            Issue.record("expected an error")
        } catch let e as ConfigurationError {
            #expect(e.field == "BYBIT_API_SECRET")
        }
        let c = try GatewayConfiguration.fromEnvironment([
            "BYBIT_ENV": "http://127.0.0.1:9100/", "TRADELOG_API_PORT": "off",
            "TRADELOG_GATEWAY_SUBSCRIPTIONS": "linear:tickers.BTCUSDT"])
        #expect(c.environment.streamURL(.linear) == "ws://127.0.0.1:9100/v5/public/linear")
        #expect(c.environment.streamURL(.private) == "ws://127.0.0.1:9100/v5/private")
        #expect(c.apiPort == nil && c.subscriptions.count == 1)
        #expect(c.subscribeAccountTopics)
        #expect(try !GatewayConfiguration.fromEnvironment(["TRADELOG_GATEWAY_ACCOUNT_TOPICS": "off"]).subscribeAccountTopics)
        #expect(throws: ConfigurationError.self) { try GatewayConfiguration.fromEnvironment(["TRADELOG_GATEWAY_ACCOUNT_TOPICS": "maybe"]) }
        #expect(!"\(BybitCredentials(apiKey: "abcdefgh", secret: "s3cr3t"))".contains("s3cr3t"))
    }

    @Test("a BYBIT_ENV URL with credentials is refused, naming BYBIT_ENV without showing them")
    func bybitEnvCredentials() throws {
        for url in ["https://alice:t0ken-xyz@proxy.example", "http://alice:t0ken-xyz@127.0.0.1:9100/",
                    "https://alice:t0/ken-xyz@proxy.example", "https://t0ken-xyz@proxy.example/v5"] {
            do {
                _ = try GatewayConfiguration.fromEnvironment(["BYBIT_ENV": url])
                Issue.record("accepted \(url)")
            } catch let e as ConfigurationError {
                #expect(e.field == "BYBIT_ENV")
                #expect(e.problem.contains("credentials"))
                #expect(!e.description.contains("t0ken") && !e.description.contains("ken-xyz") && !e.description.contains("alice"))
            }
            #expect(BybitEnvironment.parse(url) == nil)
        }
        #expect(throws: ConfigurationError.self) { try BybitEnvironment.parse("ftp://u:p@h", field: "BYBIT_ENV", source: "test") }
        #expect(BybitEnvironment.parse("https://proxy.example/")?.restBaseURL == "https://proxy.example")
        #expect(try BybitEnvironment.parse("testnet", field: "BYBIT_ENV", source: "test") == .testnet)
    }

    @Test("the subscription set folds adds and removes in order")
    func fold() {
        var set = SubscriptionSet()
        set.apply(SubscriptionAdded(channel: .linear, topic: "a", channelType: nil, symbol: nil, requestedBy: "x", via: "api"))
        set.apply(SubscriptionAdded(channel: .spot, topic: "b", channelType: nil, symbol: nil, requestedBy: "x", via: "api"))
        set.apply(SubscriptionAdded(channel: .linear, topic: "a", channelType: nil, symbol: nil, requestedBy: "y", via: "api"))
        set.apply(SubscriptionAdded(channel: .linear, topic: "c", channelType: nil, symbol: nil, requestedBy: "x", via: "api"))
        set.apply(SubscriptionRemoved(channel: .linear, topic: "a", requestedBy: "x"))
        #expect(set.entries.map(\.key.id) == ["spot:b", "linear:c"])
        #expect(set.channels == [.spot, .linear])
    }

    @Test("the ingest buffer keeps order, is bounded, counts what it drops, and hands out batches")
    func buffer() async {
        let b = IngestBuffer(capacity: 5)
        func item(_ i: Int) -> IngestBuffer.Item {
            .init(stream: "market.linear.trade-BTCUSDT", event: NewEvent(
                eventID: DeterministicID.derived(from: "t\(i)"), type: "MarketTrades", data: Array("{}".utf8),
                metadata: EventMetadata(receiveTime: Timestamp(microsecondsSinceEpoch: Int64(i)))))
        }
        #expect(b.enqueue((0..<3).map(item)) == 0)
        #expect(b.enqueue((3..<8).map(item)) == 3)
        let batch = await b.peek(max: 4)
        #expect(batch.map { $0.event.metadata.receiveTime!.microsecondsSinceEpoch } == [0, 1, 2, 3])
        b.remove(4)
        let dropped = b.takeDropped()
        #expect(dropped?.events == 3 && dropped?.firstReceive?.microsecondsSinceEpoch == 5)
        #expect(dropped?.categories == ["market.linear.trade": 3])
        #expect(b.takeDropped() == nil)
        b.close()
        #expect(await b.peek(max: 10).count == 1)
    }

    @Test("consecutive events of one stream share an append; receive order is kept across streams")
    func runs() {
        func item(_ s: String, _ i: Int) -> IngestBuffer.Item {
            .init(stream: s, event: NewEvent(eventID: DeterministicID.derived(from: "\(s)\(i)"), type: "X", data: Array("{}".utf8)))
        }
        let appends = LogWriter.runs([item("a", 1), item("a", 2), item("b", 3), item("a", 4)])
        #expect(appends.map(\.stream) == ["a", "b", "a"])
        #expect(appends.map(\.events.count) == [2, 1, 1])
    }

    @Test("decoder control frames map to the session's acks")
    func controlMapping() {
        let ack = ControlFrame.subscription(.init(op: "subscribe", success: false, retMsg: "error:handler not found,topic:x", reqID: "3", connID: nil, error: "handler not found", failedTopic: "x"))
        #expect(FrameIngest.sessionControl(ack) == .subscribeAck(success: false, reqID: "3", message: "error:handler not found,topic:x"))
        let auth = ControlFrame.auth(.init(success: false, retMsg: "Params Error", retCode: nil, reqID: nil, connID: nil))
        #expect(FrameIngest.sessionControl(auth) == .authAck(success: false, message: "Params Error"))
    }
}

extension Result where Failure == SubscriptionRequestError {
    var failureField: String? {
        if case .failure(let e) = self { return e.field }
        return nil
    }
}

@Suite("Recording format")
struct RecordingTests {
    @Test("entries round-trip through an LZ4 frame file; a file still being written reads up to its last flush")
    func roundTrip() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-rec-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("s.jsonl.lz4").path
        let writer = try RecordingWriter(path: path, header: .header(t: 1, info: ["symbols": "BTCUSDT"]))
        let frame = #"{"topic":"publicTrade.BTCUSDT","ts":1,"data":[{"p":"1.5","s":"BTCUSDT","note":"ü \" \\ /"}]}"#
        try writer.append(RecordEntry(t: 10, kind: .connect, conn: "linear-1", channel: "linear", url: "ws://x/v5/public/linear"))
        for i in 0..<20_000 {
            try writer.append(RecordEntry(t: 11 + Int64(i), kind: .frame, conn: "linear-1", channel: "linear", text: frame))
        }
        try writer.flush()
        let partial = try RecordingReader(path: path).entries()
        #expect(partial.count == 20_002)
        try writer.append(RecordEntry(t: 99_999, kind: .rest, text: "{}", method: "GET", path: "/v5/market/time", query: "", status: 200))
        try writer.close()
        let entries = try RecordingReader(path: path).entries()
        #expect(entries.count == 20_003)
        #expect(entries[0].kind == .header && entries[0].info?["format"] == RecordEntry.formatName)
        #expect(entries[1].url == "ws://x/v5/public/linear")
        #expect(entries[2].text == frame && entries[2].seq == 2)
        #expect(entries.last?.kind == .rest && entries.last?.seq == 20_002)
        // It really is compressed, and readable by the lz4 tool's format (magic number).
        let size = try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int
        #expect(size < 20_000 * frame.utf8.count / 5)
        let magic = [UInt8](FileManager.default.contents(atPath: path)!.prefix(4))
        #expect(magic == [0x04, 0x22, 0x4D, 0x18])
    }

    @Test("large entries span many 256 KiB blocks; a file cut off mid-block reads up to its last whole line")
    func largeAndTruncated() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-big-\(getpid()).lz4").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        var rng = SystemRandomNumberGenerator()
        // Book-like text that compresses poorly enough to need many blocks.
        func text(_ i: Int) -> String {
            (0..<2_000).map { _ in String(UInt32.random(in: 0...999_999, using: &rng)) }.joined(separator: ",") + "#\(i)"
        }
        let writer = try RecordingWriter(path: path, header: .header(t: 1))
        for i in 0..<400 { try writer.append(RecordEntry(t: Int64(i), kind: .frame, conn: "linear-1", channel: "linear", text: text(i))) }
        try writer.close()
        let all = try RecordingReader(path: path).entries()
        #expect(all.count == 401)
        #expect(all.last?.text?.hasSuffix("#399") == true)
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        bytes.removeLast(bytes.count * 2 / 5)
        let cut = try RecordingReader(bytes: bytes, path: "cut").entries()
        #expect(cut.count > 100 && cut.count < 401)
        #expect(cut.last?.text?.hasSuffix("#\(cut.count - 2)") == true)
    }

    @Test("a corrupt file is an error naming the file")
    func corrupt() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("tradelog-bad-\(getpid()).lz4").path
        _ = FileManager.default.createFile(atPath: path, contents: Data([0x04, 0x22, 0x4D, 0x18, 0xFF, 0xFF, 0x00, 0x01]))
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try RecordingReader(path: path)
            Issue.record("expected an error")
        } catch let e as RecordingError {
            #expect(e.description.contains(path))
        }
    }
}
