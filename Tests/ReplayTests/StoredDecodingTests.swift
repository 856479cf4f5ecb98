import Bybit
import EventLog
import OrderManagerCore
import Foundation
@testable import PositionManager
import PositionManagerCore
import Recording
@testable import Replay
import Signals
import Testing
import TradelogCore

/// The hand-written decoders of stored market data and the `positions` rows read from JSON
/// must give exactly what `Codable` gives, on every such event a bundled session produces.
@Suite("Stored-data decoders against Codable, on the bundled sessions", .enabled(if: Bundled.enabled), .serialized)
struct StoredDecodingTests {
    static func events(_ name: String) throws -> [RecordedEvent] {
        let fx = try Bundled.open(name)
        let entries = try fx.entries()
        var machine = try ReplayMachine(entries: entries, settings: try fx.settings(), categories: Fixture.categories(of: entries))
        return entries.flatMap { machine.feed($0) }
    }

    @Test("tickers, books and position rows", arguments: Bundled.names)
    func agree(_ name: String) throws {
        var tickers = 0, books = 0, positions = 0
        for e in try Self.events(name) {
            switch e.type {
            case TickerUpdated.eventType:
                let fast = try #require(TickerUpdated.decodeStored(e.data))
                #expect(fast == (try CanonicalJSON.decoder.decode(TickerUpdated.self, from: Data(e.data))))
                let prices = try #require(StoredTickerPrices(storedData: e.data))
                #expect([prices.symbol, prices.category] == [fast.symbol, fast.category])
                #expect([prices.lastPrice, prices.markPrice, prices.bid1Price, prices.ask1Price]
                    == [fast.lastPrice, fast.markPrice, fast.bid1Price, fast.ask1Price])
                tickers += 1
            case OrderBookUpdated.eventType:
                let fast = try #require(OrderBookUpdated.decodeStored(e.data))
                let slow = try CanonicalJSON.decoder.decode(OrderBookUpdated.self, from: Data(e.data))
                #expect(fast == slow)
                // Same value and the same representation (what `Decimal(string:)` builds).
                for (a, b) in zip(fast.bids + fast.asks, slow.bids + slow.asks) {
                    #expect(withUnsafeBytes(of: a.price) { Array($0) } == withUnsafeBytes(of: b.price) { Array($0) })
                }
                books += 1
            case PositionUpdated.eventType:
                let fast = try #require(StoredPositionRow.row(e))
                let u = try CanonicalJSON.decoder.decode(PositionUpdated.self, from: Data(e.data))
                #expect(fast == StoredPositionRowReference.row(u, e))
                positions += 1
            default: break
            }
        }
        #expect(tickers > 1000 && books > 1000 && positions > 100)
    }

    /// Reads `e` with the tape decoder and with `JSONDecoder`: equal values (the same canonical
    /// bytes) whenever the tape decoder reads it. True when it did.
    static func tapeAgrees<P: EventPayload & Equatable>(_ type: P.Type, _ e: RecordedEvent) throws -> Bool {
        let slow = try CanonicalJSON.decoder.decode(P.self, from: Data(e.data))
        guard let fast = TapeDecoder.decode(P.self, from: e.data) else { return false }
        #expect(fast == slow, "\(e.type) #\(e.globalPosition)")
        #expect(try CanonicalJSON.encoder.encode(fast) == CanonicalJSON.encoder.encode(slow), "\(e.type) #\(e.globalPosition)")
        return true
    }

    @Test("the tape decoder reads each exchange event as JSONDecoder does, and what else it reads the same", arguments: Bundled.names)
    func tape(_ name: String) throws {
        var read: [String: (fast: Int, all: Int)] = [:]
        for e in try Self.events(name) {
            let fast: Bool
            switch e.type {
            case ExchangeOrderUpdated.eventType: fast = try Self.tapeAgrees(ExchangeOrderUpdated.self, e)
            case ExchangeExecution.eventType: fast = try Self.tapeAgrees(ExchangeExecution.self, e)
            case ExchangePositionUpdated.eventType: fast = try Self.tapeAgrees(ExchangePositionUpdated.self, e)
            case ExchangeWalletUpdated.eventType, "ExchangeWalletSnapshot": fast = try Self.tapeAgrees(ExchangeWalletUpdated.self, e)
            case TickerUpdated.eventType: fast = try Self.tapeAgrees(TickerUpdated.self, e)
            case KlineUpdated.eventType: fast = try Self.tapeAgrees(KlineUpdated.self, e)
            case MarketTrades.eventType: fast = try Self.tapeAgrees(MarketTrades.self, e)
            case InstrumentsLoaded.eventType: fast = try Self.tapeAgrees(InstrumentsLoaded.self, e)
            case OrderLifecycleChanged.eventType: fast = try Self.tapeAgrees(OrderLifecycleChanged.self, e)
            case OrderDecided.eventType: fast = try Self.tapeAgrees(OrderDecided.self, e)
            case OrderRequested.eventType: fast = try Self.tapeAgrees(OrderRequested.self, e)
            case OrderExecuted.eventType: fast = try Self.tapeAgrees(OrderExecuted.self, e)
            case SignalReceived.eventType: fast = try Self.tapeAgrees(SignalReceived.self, e)
            case PositionUpdated.eventType: fast = try Self.tapeAgrees(PositionUpdated.self, e)
            case PortfolioUpdated.eventType: fast = try Self.tapeAgrees(PortfolioUpdated.self, e)
            case PositionSnapshotCreated.eventType: fast = try Self.tapeAgrees(PositionSnapshotCreated.self, e)
            default: continue
            }
            read[e.type, default: (0, 0)].fast += fast ? 1 : 0
            read[e.type, default: (0, 0)].all += 1
        }
        print("tape decoder, \(name):", read.keys.sorted().map { "\($0) \(read[$0]!.fast)/\(read[$0]!.all)" }.joined(separator: ", "))
        // The exchange's and the order manager's events are all in the subset it reads (a
        // spot session has no position updates).
        for type in ["ExchangeOrderUpdated", "ExchangeExecution", "ExchangePositionUpdated", "ExchangeWalletUpdated",
                     "OrderDecided", "OrderExecuted", "OrderLifecycleChanged", "OrderRequested"]
        where name.hasPrefix("linear") || type != "ExchangePositionUpdated" {
            let r = try #require(read[type], "\(type)")
            #expect(r.all > 10 && r.fast == r.all, "\(type)")
        }
        #expect(read["PositionUpdated"]!.fast > 100 && read["PortfolioUpdated"]!.fast == read["PortfolioUpdated"]!.all)
    }
}

/// The positions row as the spec built it from the decoded payload before the fast path.
enum StoredPositionRowReference {
    static func row(_ u: PositionUpdated, _ e: RecordedEvent) -> [String?] {
        let p = u.position
        let d = ProjectionValue.decimal
        let strategies = String(decoding: try! CanonicalJSON.encoder.encode(p.strategies), as: UTF8.self)
        return [p.category, p.symbol, String(p.positionIdx), p.side, d(p.size), d(p.signedSize), d(p.averageEntryPrice),
                d(p.markPrice), d(p.unrealizedPnl), d(p.realizedPnl), d(p.fees), d(p.funding), d(p.totalPnl),
                d(p.notional), p.quoteCoin, strategies,
                d(p.closedPnl), d(p.leverage), d(p.liquidationPrice), d(p.exchange?.signedSize), d(p.exchange?.entryPrice),
                ProjectionValue.bool(p.discrepancy), String(p.fills), u.reason, String(u.version), ProjectionValue.time(u.time),
                String(e.globalPosition)]
    }
}

@Suite("The topic of a recorded frame, found without parsing it")
struct FrameTopicTests {
    @Test func topics() {
        #expect(ReplayMachine.topic(of: #"{"topic":"orderbook.50.BTCUSDT","type":"delta"}"#) == "orderbook.50.BTCUSDT")
        #expect(ReplayMachine.topic(of: #"{"x":"\"topic\"","topic":"tickers.ETHUSDT"}"#) == "tickers.ETHUSDT")
        #expect(ReplayMachine.topic(of: #"{""topic":"kline.1.BTCUSDT"}"#) == "kline.1.BTCUSDT")
        #expect(ReplayMachine.topic(of: #"{"op":"pong"}"#) == nil)
        #expect(ReplayMachine.topic(of: #"{"topic":"unterminated"#) == nil)
    }
}

@Suite("Signal bodies that are not UTF-8, recorded and replayed byte for byte")
struct NonUTF8SignalTests {
    static let bytes: [UInt8] = [0x7B, 0x22, 0x61, 0x22, 0x3A, 0xFF, 0xFE, 0x7D]  // {"a":<FF FE>}

    @Test("a recorded body: text when UTF-8, base64 otherwise, the same bytes back after a JSON round trip")
    func entry() throws {
        let text = RecordEntry.signal(body: Array(#"{"a":1}"#.utf8), t: 5)
        #expect(text.text == #"{"a":1}"# && text.base64 == nil && text.body == Array(#"{"a":1}"#.utf8))
        let raw = RecordEntry.signal(body: Self.bytes, t: 6)
        #expect(raw.text == nil && raw.base64 != nil)
        let back = try JSONDecoder().decode(RecordEntry.self, from: JSONEncoder().encode(raw))
        #expect(back.body == Self.bytes)
    }

    @Test("the replay rejects the bytes the intake received, with their digest")
    func replay() throws {
        let entries = [RecordEntry.header(t: 1), RecordEntry.signal(body: Self.bytes, t: 2)]
        var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
        let events = entries.flatMap { machine.feed($0) }
        let rejected = try #require(events.first { $0.type == SignalRejected.eventType })
        let payload = try CanonicalJSON.decoder.decode(SignalRejected.self, from: Data(rejected.data))
        #expect(payload.bodySHA256 == SignalEvents.bodySHA256(Self.bytes))
        #expect(payload.bodyBase64 == Data(Self.bytes).base64EncodedString())
    }
}

@Suite("Recorded frames the replay cannot decode")
struct UndecodableFrameTests {
    @Test("a frame naming no channel, on a connection never marked connected, is counted and skipped; the next is decoded")
    func noChannel() throws {
        let ticker = #"{"topic":"tickers.BTCUSDT","type":"snapshot","data":{"symbol":"BTCUSDT","lastPrice":"1.5"},"cs":1,"ts":1700000000000}"#
        let entries = [
            RecordEntry.header(t: 1),
            RecordEntry(t: 2, kind: .frame, conn: "c-1", text: ticker),
            RecordEntry(t: 3, kind: .frame, conn: "c-1", channel: "linear", text: ticker),
        ]
        var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
        #expect(machine.feed(entries[0]).isEmpty)
        #expect(machine.feed(entries[1]).filter { $0.stream.hasPrefix("market.") }.isEmpty)
        #expect(machine.counters.undecodableFrames == 1 && machine.counters.frames == 1)
        let decoded = machine.feed(entries[2])
        #expect(decoded.map(\.type).contains(TickerUpdated.eventType))
        #expect(decoded.first { $0.type == TickerUpdated.eventType }?.metadata.source == "gateway/c-1")
        #expect(machine.counters.undecodableFrames == 1 && machine.counters.frames == 2)
    }

    @Test("a frame that is not UTF-8 is recorded in base64 and replayed byte for byte: the UnparsedFrame the gateway stored live")
    func framesThatAreNotUTF8() throws {
        let bytes: [UInt8] = [0x7b, 0xff, 0x00, 0x7d]
        let recorded = RecordEntry.frame(bytes: bytes, t: 5, conn: "linear-1", channel: "linear")
        #expect(recorded.text == nil && recorded.body == bytes)
        #expect(RecordEntry.frame(bytes: Array("{\"op\":\"pong\"}".utf8), t: 6, conn: "linear-1", channel: "linear").text == "{\"op\":\"pong\"}")
        // Through the file format and back.
        let line = try JSONEncoder().encode(recorded)
        let read = try JSONDecoder().decode(RecordEntry.self, from: line)
        let entries = [RecordEntry.header(t: 1), RecordEntry(t: 2, kind: .connect, conn: "linear-1", channel: "linear", url: "wss://x"), read]
        var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
        let replayed = entries.flatMap { machine.feed($0) }.filter { $0.type == UnparsedFrame.eventType }
        var live = FrameDecoder(channel: .linear)
        let stored = live.decode(bytes, receivedAt: Timestamp(microsecondsSinceEpoch: 5)).events
        #expect(replayed.count == 1 && replayed.map(\.eventID) == stored.map(\.eventID) && replayed.map(\.data) == stored.map(\.data))
        let payload = try CanonicalJSON.decoder.decode(UnparsedFrame.self, from: Data(replayed[0].data))
        #expect(payload.base64 == Data(bytes).base64EncodedString())
    }

    @Test("a frame naming no channel on a connection marked private is a recorded private frame")
    func privateConnection() throws {
        let entries = [
            RecordEntry.header(t: 1),
            RecordEntry(t: 2, kind: .connect, conn: "p-1", channel: "private", url: "wss://example/v5/private"),
            RecordEntry(t: 3, kind: .frame, conn: "p-1", text: #"{"topic":"order","data":[]}"#),
        ]
        var machine = try ReplayMachine(entries: entries, settings: ReplaySettings(), categories: [])
        for e in entries { _ = machine.feed(e) }
        #expect(machine.counters.recordedPrivateFrames == 1 && machine.counters.undecodableFrames == 0)
    }
}

@Suite("The replay's stream versions")
struct StreamVersionsTests {
    @Test("versions count from 1 per stream, as a dictionary counts them, past the table's growth")
    func againstADictionary() {
        var table = StreamVersions()
        var model: [String: Int64] = [:]
        // 300 streams (the table starts at 64 slots) hit in an interleaved order, some often.
        for n in 0..<3000 {
            let stream = n % 7 == 0 ? "market.linear.ticker-BTCUSDT" : "order-\((n * 37) % 300)"
            model[stream, default: 0] += 1
            #expect(table.next(stream) == model[stream])
        }
        #expect(table.count == model.count)
        for (stream, version) in model { #expect(table.version(of: stream) == version) }
        #expect(table.version(of: "order-never") == 0)
        #expect(table.next("") == 1 && table.next("") == 2)
    }

    @Test("names equal as Strings are one stream, as in a dictionary: composed and decomposed é, the Kelvin sign and K")
    func equivalentNames() {
        var table = StreamVersions()
        #expect(table.next("order-\u{E9}") == 1 && table.next("order-e\u{301}") == 2)
        #expect(table.next("order-K") == 1 && table.next("order-\u{212A}") == 2)
        #expect(StreamVersions.hash("order-\u{212A}") == StreamVersions.hash("order-K"))
        #expect(table.version(of: "order-e\u{301}") == 2 && table.count == 2)
    }
}
