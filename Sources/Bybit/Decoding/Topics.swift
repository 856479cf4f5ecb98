#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// What a topic carries, parsed once per topic (reference §1.7, §1.8).
enum TopicKind: Sendable, Hashable {
    case publicTrade
    case orderBook(depth: Int)
    case ticker
    case kline(interval: String)
    case allLiquidation
    /// `liquidation.{symbol}`, deprecated since 2025-02-20.
    case legacyLiquidation
    case order
    case execution
    case position
    case wallet
    case unknown

    /// Parses `publicTrade.BTCUSDT`, `orderbook.50.BTCUSDT`, `order.linear`, ...
    static func parse(_ topic: String) -> (kind: TopicKind, symbol: String, suffix: String?) {
        let parts = topic.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        func symbolOK(_ s: String) -> Bool { !s.isEmpty && !s.contains(".") }
        switch parts.first ?? "" {
        case "publicTrade" where parts.count == 2 && symbolOK(parts[1]):
            return (.publicTrade, parts[1], nil)
        case "orderbook" where parts.count == 3 && symbolOK(parts[2]):
            if let depth = Int(parts[1]), depth > 0 { return (.orderBook(depth: depth), parts[2], nil) }
        case "tickers" where parts.count == 2 && symbolOK(parts[1]):
            return (.ticker, parts[1], nil)
        case "kline" where parts.count == 3 && symbolOK(parts[2]) && !parts[1].isEmpty:
            return (.kline(interval: parts[1]), parts[2], nil)
        case "allLiquidation" where parts.count == 2 && symbolOK(parts[1]):
            return (.allLiquidation, parts[1], nil)
        case "liquidation" where parts.count == 2 && symbolOK(parts[1]):
            return (.legacyLiquidation, parts[1], nil)
        case "order" where parts.count <= 2:
            return (.order, "", parts.count == 2 ? parts[1] : nil)
        case "execution" where parts.count <= 3:
            // execution, execution.linear, execution.fast, execution.fast.linear
            let rest = parts.dropFirst().filter { $0 != "fast" }
            return (.execution, "", rest.first)
        case "position" where parts.count <= 2:
            return (.position, "", parts.count == 2 ? parts[1] : nil)
        case "wallet" where parts.count == 1:
            return (.wallet, "", nil)
        default:
            break
        }
        return (.unknown, "", nil)
    }
}

/// Everything the decoder keeps per topic: parsed names and the book or ticker state.
struct TopicEntry {
    let topic: String
    let topicBytes: [UInt8]
    let kind: TopicKind
    let symbol: String
    /// The symbol as a JSON string, ready to copy.
    let symbolJSON: [UInt8]
    /// Category suffix of a private topic (`order.linear` → `linear`).
    let suffix: String?
    /// The main stream: `market.linear.trade-BTCUSDT`, ... (empty for private topics).
    let stream: String
    /// `market.{ch}.funding-{S}` for tickers.
    let fundingStream: String
    var book: OrderBookTracker?
    var ticker: TickerState?

    init(topic: String, topicBytes: [UInt8], channel: BybitChannel) {
        self.topic = topic
        self.topicBytes = topicBytes
        let parsed = TopicKind.parse(topic)
        kind = parsed.kind
        symbol = parsed.symbol
        var w = JSONWriter(capacity: 32)
        w.string(parsed.symbol)
        symbolJSON = w.take()
        suffix = parsed.suffix
        let ch = channel.rawValue
        switch parsed.kind {
        case .publicTrade: stream = "market.\(ch).trade-\(parsed.symbol)"
        case .orderBook: stream = "market.\(ch).orderbook-\(parsed.symbol)"
        case .ticker: stream = "market.\(ch).ticker-\(parsed.symbol)"
        case .kline(let interval): stream = "market.\(ch).kline-\(parsed.symbol).\(interval)"
        case .allLiquidation, .legacyLiquidation: stream = "market.\(ch).liquidation-\(parsed.symbol)"
        default: stream = ""
        }
        fundingStream = parsed.kind == .ticker ? "market.\(ch).funding-\(parsed.symbol)" : ""
    }
}

/// Topic bytes → entry, looked up by hash so a frame's topic needs no `String`.
struct TopicTable {
    private(set) var entries: [TopicEntry] = []
    /// FNV-1a of the topic bytes → entry indices with that hash.
    private var byHash: [UInt64: [Int]] = [:]
    /// The entry of the previous frame: a connection's frames mostly repeat a few topics.
    private var last = -1

    static func hash(_ bytes: UnsafeRawBufferPointer) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes {
            h ^= UInt64(b)
            h = h &* 0x0000_0100_0000_01b3
        }
        return h
    }

    /// The entry index for `bytes`, adding one when new; nil for a topic we do not decode
    /// (not stored, so junk topics cannot grow the table).
    mutating func slot(for bytes: UnsafeRawBufferPointer, channel: BybitChannel) -> Int? {
        if last >= 0 && Self.equal(entries[last].topicBytes, bytes) { return last }
        let h = Self.hash(bytes)
        if let candidates = byHash[h] {
            for i in candidates where Self.equal(entries[i].topicBytes, bytes) {
                last = i
                return i
            }
        }
        let topic = String(decoding: bytes, as: UTF8.self)
        let entry = TopicEntry(topic: topic, topicBytes: Array(bytes), channel: channel)
        if entry.kind == .unknown { return nil }
        entries.append(entry)
        byHash[h, default: []].append(entries.count - 1)
        last = entries.count - 1
        return last
    }

    @inline(__always)
    private static func equal(_ a: [UInt8], _ b: UnsafeRawBufferPointer) -> Bool {
        a.count == b.count && a.withUnsafeBytes { memcmp($0.baseAddress!, b.baseAddress!, b.count) == 0 }
    }

    func slot(forTopic topic: String) -> Int? {
        var copy = topic
        return copy.withUTF8 { buf -> Int? in
            let raw = UnsafeRawBufferPointer(buf)
            guard let candidates = byHash[Self.hash(raw)] else { return nil }
            return candidates.first { Self.equal(entries[$0].topicBytes, raw) }
        }
    }

    subscript(i: Int) -> TopicEntry {
        // Borrow, never copy: a copy would retain every string and array of the entry.
        _read { yield entries[i] }
        _modify { yield &entries[i] }
    }

    /// Drops every book and ticker state (after a reconnect).
    mutating func resetState() {
        for i in entries.indices {
            entries[i].book = nil
            entries[i].ticker = nil
        }
    }
}
