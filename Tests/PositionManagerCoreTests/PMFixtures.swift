import Bybit
import Foundation
import OrderManagerCore
import PositionManagerCore
import Testing
import TradelogCore

/// A decimal from its text (exact, unlike a float literal).
func num(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }

/// A log in memory folded into a ``PositionManagerState`` as it is recorded; event times are
/// offsets (ms) from 2024-03-01T00:00:00Z and double as exchange times.
struct PMLog {
    static let t0Ms: Int64 = 1_709_251_200_000
    static func at(_ ms: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0Ms + ms) }

    var state: PositionManagerState
    var position: Int64 = 0
    var events: [RecordedEvent] = []
    var derived: [DerivedPositionEvent] = []
    var execCount = 0

    init(config: PositionManagerConfig = PMLog.testConfig) { state = PositionManagerState(config: config) }

    /// No coalescing delays and no grace unless a test asks for them.
    static var testConfig: PositionManagerConfig {
        var c = PositionManagerConfig()
        c.snapshotIntervalMs = 0
        c.discrepancyGraceMs = 0
        return c
    }

    @discardableResult
    mutating func fold(type: String, data: [UInt8], stream: String, at ms: Int64, exchangeTime: Timestamp? = nil) -> [DerivedPositionEvent] {
        position += 1
        let id = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "pm-tests/\(position)")
        let rec = RecordedEvent(globalPosition: position, eventID: id, stream: stream, streamVersion: 0, type: type,
                                schemaVersion: 1, data: data, metadata: EventMetadata(exchangeTime: exchangeTime ?? Self.at(ms), receiveTime: Self.at(ms)),
                                recordedAt: Self.at(ms))
        events.append(rec)
        let out = state.apply(rec)
        derived += out
        // Sample payloads for schema work: PM_DUMP_SAMPLES=/dir writes each derived event's data.
        if let dir = ProcessInfo.processInfo.environment["PM_DUMP_SAMPLES"] {
            for d in out {
                let name = "\(dir)/\(d.event.type)-\(d.event.eventID.lowercasedString).json"
                _ = FileManager.default.createFile(atPath: name, contents: Data(d.event.data))
            }
        }
        return out
    }

    @discardableResult
    mutating func record<E: EventPayload>(_ payload: E, at ms: Int64, stream: String = "test-stream") throws -> [DerivedPositionEvent] {
        fold(type: E.eventType, data: Array(try CanonicalJSON.encoder.encode(payload)), stream: stream, at: ms)
    }

    /// A private WebSocket frame through the gateway's decoder, every event it yields folded.
    @discardableResult
    mutating func frame(_ json: String, at ms: Int64) -> [DerivedPositionEvent] {
        var decoder = FrameDecoder(channel: .private)
        let decoded = decoder.decode(Array(json.utf8), receivedAt: Self.at(ms)).events
        #expect(!decoded.isEmpty, "the frame decodes")
        var out: [DerivedPositionEvent] = []
        for d in decoded { out += fold(type: d.type, data: d.data, stream: d.stream, at: ms, exchangeTime: d.exchangeTime) }
        return out
    }

    /// One fill (or a non-trade execution of `execType`), as a private `execution` frame.
    @discardableResult
    mutating func execution(_ side: String, _ qty: String, at price: String, fee: String = "0", symbol: String = "BTCUSDT",
                            category: String = "linear", link: String = "", execType: String = "Trade", feeCurrency: String = "USDT",
                            mark: String = "", ms: Int64 = 0, execId: String? = nil, seq: Int64? = nil) -> [DerivedPositionEvent] {
        execCount += 1
        let id = execId ?? "exec-\(execCount)"
        let seqField = seq.map { ",\"seq\":\($0)" } ?? ""
        return frame("""
            {"topic":"execution","id":"f-\(id)","creationTime":\(Self.t0Ms + ms),"data":[{"category":"\(category)","symbol":"\(symbol)",\
            "execId":"\(id)","execType":"\(execType)","execPrice":"\(price)","execQty":"\(qty)","execFee":"\(fee)",\
            "feeCurrency":"\(feeCurrency)","orderId":"o-\(id)","orderLinkId":"\(link)","side":"\(side)","markPrice":"\(mark)",\
            "execTime":"\(Self.t0Ms + ms)"\(seqField)}]}
            """, at: ms)
    }

    /// A `position` frame of linear `symbol`.
    @discardableResult
    mutating func exchangePosition(_ side: String, _ size: String, entry: String, symbol: String = "BTCUSDT", mark: String = "",
                                   liq: String = "", leverage: String = "10", cum: String = "0", ms: Int64 = 0,
                                   seq: Int64? = nil) -> [DerivedPositionEvent] {
        frame("""
            {"topic":"position","id":"p-\(position)","creationTime":\(Self.t0Ms + ms),"data":[{"category":"linear","symbol":"\(symbol)",\
            "positionIdx":0,"side":"\(side)","size":"\(size)","entryPrice":"\(entry)","markPrice":"\(mark)","liqPrice":"\(liq)",\
            "leverage":"\(leverage)","cumRealisedPnl":"\(cum)","updatedTime":"\(Self.t0Ms + ms)","seq":\(seq ?? position)}]}
            """, at: ms)
    }

    /// A linear (mark price) or spot (last price) ticker.
    @discardableResult
    mutating func ticker(_ symbol: String = "BTCUSDT", mark: String, category: String = "linear", ms: Int64) -> [DerivedPositionEvent] {
        let field = category == "spot" ? "lastPrice" : "markPrice"
        let json = #"{"symbol":"\#(symbol)","category":"\#(category)","ts":\#(Self.t0Ms + ms),"\#(field)":"\#(mark)"}"#
        return fold(type: TickerUpdated.eventType, data: Array(json.utf8), stream: "market.\(category).ticker-\(symbol)", at: ms)
    }

    mutating func wallet(usdt balance: String, ms: Int64) {
        frame("""
            {"topic":"wallet","id":"w-\(position)","creationTime":\(Self.t0Ms + ms),"data":[{"accountType":"UNIFIED",\
            "totalWalletBalance":"\(balance)","totalEquity":"\(balance)","coin":[{"coin":"USDT","walletBalance":"\(balance)","equity":"\(balance)"}]}]}
            """, at: ms)
    }

    mutating func order(link: String, strategy: String, signal: String, symbol: String = "BTCUSDT", ms: Int64 = 0) throws {
        let r = OrderRequested(orderLinkId: link, signalID: signal, strategyID: strategy, traceID: "trace-\(signal)", leg: 0,
                               category: .linear, symbol: symbol, side: .buy, orderType: .market, timeInForce: .ioc, qty: 1,
                               price: nil, marketUnit: nil, reduceOnly: nil, requestedAmount: 1, referencePrice: 1,
                               snapshotPrice: nil, signalReceivedAt: nil, reason: "test")
        try record(r, at: ms, stream: "order-\(link)")
    }

    static let btcRules = InstrumentRules(
        category: .linear, symbol: "BTCUSDT", baseCoin: "BTC", quoteCoin: "USDT", tickSize: num("0.1"),
        quantityStep: num("0.001"), minOrderQty: num("0.001"), maxOrderQty: num("100"), maxMarketOrderQty: num("100"),
        minNotionalValue: num("5"))

    /// Derived events of `type`, decoded.
    func all<P: EventPayload>(_ type: P.Type) -> [P] {
        derived.filter { $0.event.type == P.eventType }.compactMap { try? CanonicalJSON.decoder.decode(P.self, from: Data($0.event.data)) }
    }

    func last<P: EventPayload>(_ type: P.Type) -> P? { all(type).last }

    static func fixture(_ name: String) throws -> String {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)")
        return try String(contentsOf: url, encoding: .utf8)
    }
}
