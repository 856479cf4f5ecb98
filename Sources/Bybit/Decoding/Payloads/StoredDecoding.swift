import Foundation
import TradelogCore

// Hand-written decoders of the stored data of the log's most frequent market events: every
// fold and replay reads them, and `Codable` through `JSONDecoder` costs tens of microseconds
// each. They accept only the shapes the decoders write (plain strings, decimal strings, JSON
// integers, no repeated keys) and return nil for anything else, which the registry then hands
// to `Codable`; for what they accept they give exactly the value `Codable` gives.

/// One stored event's data parsed into a tape, for the decoders below.
enum StoredJSON {
    /// Runs `body` on the parsed object; nil when the data is not a JSON object.
    static func withObject<T>(_ data: [UInt8], _ body: (JSONView) -> T?) -> T? {
        withValue(data) { v in v.kind(0) == .object ? body(v) : nil }
    }

    /// Runs `body` on the parsed value (node 0); nil when the data is not JSON. The view
    /// lives only inside `body`.
    static func withValue<T>(_ data: [UInt8], _ body: (JSONView) -> T?) -> T? {
        data.withUnsafeBytes { raw -> T? in
            guard raw.count > 0 else { return nil }
            // The tape in memory left uninitialized (the parser writes every node it counts,
            // and only those are read): no array filled for each event read.
            let nodes = UnsafeMutableBufferPointer<JSONNode>.allocate(capacity: raw.count)
            defer { nodes.deallocate() }
            let count: Int
            do throws(JSONParseError) {
                count = try JSONParser.parse(raw, into: nodes)
            } catch {
                return nil
            }
            return body(JSONView(bytes: raw.baseAddress!.assumingMemoryBound(to: UInt8.self), nodes: UnsafePointer(nodes.baseAddress!),
                                 nodeCount: count))
        }
    }
}

/// Finds an object's keys in a fixed list. Keys usually come in the list's order, so the
/// entry after the last match is tried first.
struct StoredKeys {
    let keys: [[UInt8]]

    init(_ keys: [StaticString]) {
        self.keys = keys.map { Array(UnsafeBufferPointer(start: $0.utf8Start, count: $0.utf8CodeUnitCount)) }
    }

    /// The index of key node `k` in the list, or nil (an unknown or escaped key).
    func index(_ v: JSONView, key k: Int, hint: inout Int) -> Int? {
        guard v.node(k).flags == 0 else { return nil }
        let raw = v.raw(k)
        func matches(_ i: Int) -> Bool {
            let key = keys[i]
            guard key.count == raw.count else { return false }
            return key.withUnsafeBytes { $0.elementsEqual(raw) }
        }
        if hint < keys.count, matches(hint) {
            hint += 1
            return hint - 1
        }
        for i in keys.indices where matches(i) {
            hint = i + 1
            return i
        }
        return nil
    }

    /// Calls `body` with the field index and value node of each member of the top object
    /// that names a field, in order. False when a key repeats, an escaped key might name a
    /// field, or `body` returns false.
    func members(_ v: JSONView, _ body: (_ field: Int, _ value: Int) -> Bool) -> Bool {
        var seen: UInt64 = 0
        var hint = 0
        var k = 1
        for _ in 0..<v.count(0) {
            let value = k + 1
            if let f = index(v, key: k, hint: &hint) {
                guard seen & (1 << UInt64(f)) == 0 else { return false }
                seen |= 1 << UInt64(f)
                guard body(f, value) else { return false }
            } else if v.node(k).flags != 0 {
                return false
            }
            k = v.next(value)
        }
        return true
    }
}

/// What one member's value reads as: a value, an explicit absence (`null`, or `""` for
/// decimals), or a shape left to `Codable`.
enum StoredValue<T> {
    case value(T)
    case absent
    case unsupported
}

extension JSONView {
    /// A plain string (no escapes); `null` is absent.
    func storedString(_ i: Int) -> StoredValue<String> {
        switch kind(i) {
        case .null: return .absent
        case .string where node(i).flags == 0: return .value(String(decoding: raw(i), as: UTF8.self))
        default: return .unsupported
        }
    }

    /// A JSON integer; `null` is absent.
    func storedInt64(_ i: Int) -> StoredValue<Int64> {
        switch kind(i) {
        case .null: return .absent
        case .number: return parseInt64(raw(i)).map { .value($0) } ?? .unsupported
        default: return .unsupported
        }
    }

    /// A decimal string as ``DecimalText/decimal(_:)`` reads it; `null` and `""` are absent.
    func storedDecimal(_ i: Int) -> StoredValue<Decimal> {
        switch storedDecimalKey(i) {
        // The key is normalized like the canonical text `Decimal(string:)` reads, so its
        // `Decimal` is the same value with the same representation.
        case .value(let key): return .value(key.decimal)
        case .absent: return .absent
        case .unsupported: return .unsupported
        }
    }

    /// ``storedDecimal(_:)`` as the key, before any `Decimal` is built.
    func storedDecimalKey(_ i: Int) -> StoredValue<PriceKey> {
        switch kind(i) {
        case .null: return .absent
        case .string where node(i).flags == 0:
            if raw(i).isEmpty { return .absent }
            return storedKey(i).map { .value($0) } ?? .unsupported
        default: return .unsupported
        }
    }

    /// A plain decimal string (no exponent, at most ``PriceKey/maxDigits`` digits) as its key.
    func storedKey(_ i: Int) -> PriceKey? {
        guard kind(i) == .string, node(i).flags == 0, let (scan, key) = DecimalScan.scanWithKey(raw(i)), !scan.hasExponent
        else { return nil }
        return key
    }

    func storedBool(_ i: Int) -> StoredValue<Bool> {
        switch kind(i) {
        case .null: return .absent
        case .true: return .value(true)
        case .false: return .value(false)
        default: return .unsupported
        }
    }
}

/// Whether a member's value had a shape left to `Codable`.
struct StoredObject {
    var unsupported = false

    /// The value of an optional field (nil when absent), recording an unsupported shape.
    mutating func optional<T>(_ s: StoredValue<T>) -> T? {
        switch s {
        case .value(let v): return v
        case .absent: return nil
        case .unsupported:
            unsupported = true
            return nil
        }
    }
}

extension TickerUpdated: StoredDataDecodable {
    /// The members, in the order the decoder writes them.
    static let storedKeys = StoredKeys([
        "symbol", "category", "ts", "cs", "tickDirection", "lastPrice", "price24hPcnt", "prevPrice24h", "highPrice24h",
        "lowPrice24h", "prevPrice1h", "markPrice", "indexPrice", "openInterest", "openInterestValue", "turnover24h",
        "volume24h", "fundingRate", "nextFundingTime", "fundingIntervalHour", "fundingCap", "bid1Price", "bid1Size",
        "ask1Price", "ask1Size", "deliveryTime", "basisRate", "basis", "basisRateYear", "deliveryFeeRate",
        "predictedDeliveryPrice", "preOpenPrice", "preQty", "curPreListingPhase", "usdIndexPrice",
    ])

    /// A member of stored ticker data, by the kind of its field.
    enum StoredMember {
        case string(String?)
        case int(Int64?)
        case decimal(PriceKey?)
    }

    /// Walks the members of stored ticker data, handing each to `take` with its field index;
    /// false for any shape left to `Codable` (both readers alike): an unsupported value, a
    /// missing symbol or category, a funding interval that is not an `Int`.
    static func storedWalk(_ v: JSONView, _ take: (Int, StoredMember) -> Void) -> Bool {
        var o = StoredObject()
        var named = 0
        let whole = storedKeys.members(v) { f, value in
            switch f {
            case 0, 1, 4, 25, 33:
                let s = o.optional(v.storedString(value))
                if f < 2, s != nil { named |= 1 << f }
                take(f, .string(s))
            case 2, 3, 18, 19:
                let i = o.optional(v.storedInt64(value))
                if f == 19, let i, Int(exactly: i) == nil { o.unsupported = true }
                take(f, .int(i))
            default:
                take(f, .decimal(o.optional(v.storedDecimalKey(value))))
            }
            return !o.unsupported
        }
        return whole && named == 3
    }

    public static func decodeStored(_ data: [UInt8]) -> TickerUpdated? {
        StoredJSON.withObject(data) { v -> TickerUpdated? in
            var strings = [String?](repeating: nil, count: storedKeys.keys.count)
            var ints = [Int64?](repeating: nil, count: storedKeys.keys.count)
            var d = [Decimal?](repeating: nil, count: storedKeys.keys.count)
            let whole = storedWalk(v) { f, member in
                switch member {
                case .string(let x): strings[f] = x
                case .int(let x): ints[f] = x
                case .decimal(let x): d[f] = x?.decimal
                }
            }
            guard whole, let symbol = strings[0], let category = strings[1] else { return nil }
            return TickerUpdated(
                symbol: symbol, category: category, ts: ints[2], cs: ints[3], tickDirection: strings[4],
                lastPrice: d[5], price24hPcnt: d[6], prevPrice24h: d[7], highPrice24h: d[8], lowPrice24h: d[9],
                prevPrice1h: d[10], markPrice: d[11], indexPrice: d[12], openInterest: d[13], openInterestValue: d[14],
                turnover24h: d[15], volume24h: d[16], fundingRate: d[17], nextFundingTime: ints[18],
                fundingIntervalHour: ints[19].map { Int($0) }, fundingCap: d[20], bid1Price: d[21], bid1Size: d[22],
                ask1Price: d[23], ask1Size: d[24], deliveryTime: strings[25], basisRate: d[26], basis: d[27],
                basisRateYear: d[28], deliveryFeeRate: d[29], predictedDeliveryPrice: d[30], preOpenPrice: d[31],
                preQty: d[32], curPreListingPhase: strings[33], usdIndexPrice: d[34])
        }
    }
}

/// The prices of stored `TickerUpdated` data that the order and position managers fold (last,
/// mark, best bid and ask), read without building the other thirty fields: a ticker is a
/// third of the log. Nil exactly when ``TickerUpdated/decodeStored(_:)`` is nil (the same
/// walk checks every member); otherwise its fields equal the decoded payload's.
public struct StoredTickerPrices: Sendable, Hashable {
    public var symbol: String
    public var category: String
    public var lastPrice: Decimal?
    public var markPrice: Decimal?
    public var bid1Price: Decimal?
    public var ask1Price: Decimal?
}

// In an extension, so the memberwise initializer stays.
extension StoredTickerPrices {
    /// The prices of a logged `TickerUpdated` of the schema version the reader knows; nil for
    /// any other event, and for data left to `Codable`.
    public init?(event e: RecordedEvent) {
        guard e.type == TickerUpdated.eventType, e.schemaVersion == TickerUpdated.schemaVersion else { return nil }
        self.init(storedData: e.data)
    }

    public init?(storedData data: [UInt8]) {
        guard let me = StoredJSON.withObject(data, { v -> StoredTickerPrices? in
            var me = StoredTickerPrices(symbol: "", category: "")
            let whole = TickerUpdated.storedWalk(v) { f, member in
                switch (f, member) {
                case (0, .string(let x?)): me.symbol = x
                case (1, .string(let x?)): me.category = x
                case (5, .decimal(let x)): me.lastPrice = x?.decimal
                case (11, .decimal(let x)): me.markPrice = x?.decimal
                case (21, .decimal(let x)): me.bid1Price = x?.decimal
                case (23, .decimal(let x)): me.ask1Price = x?.decimal
                default: break
                }
            }
            return whole ? me : nil
        }) else { return nil }
        self = me
    }
}

/// A stored `OrderBookUpdated` with its levels as ``PriceKey``s, for folds that keep a book
/// (no `Decimal` on the way).
public struct StoredOrderBook: Sendable, Hashable {
    public var symbol: String
    public var category: String
    public var depth: Int
    /// `snapshot` or `delta`.
    public var type: String
    public var u: Int64
    public var seq: Int64?
    public var ts: Int64?
    public var cts: Int64?
    public var bids: [(price: PriceKey, size: PriceKey)]
    public var asks: [(price: PriceKey, size: PriceKey)]
    public var synced: Bool

    public var isSnapshot: Bool { type == "snapshot" }

    public static func == (a: StoredOrderBook, b: StoredOrderBook) -> Bool {
        a.symbol == b.symbol && a.category == b.category && a.depth == b.depth && a.type == b.type && a.u == b.u
            && a.seq == b.seq && a.ts == b.ts && a.cts == b.cts && a.synced == b.synced
            && a.bids.elementsEqual(b.bids, by: ==) && a.asks.elementsEqual(b.asks, by: ==)
    }

    public func hash(into h: inout Hasher) {
        h.combine(symbol); h.combine(category); h.combine(u)
    }

    static let keys = StoredKeys(["symbol", "category", "depth", "type", "u", "seq", "ts", "cts", "bids", "asks", "synced"])

    /// Parses an `OrderBookUpdated` event's data; nil for any shape `decodeStored` would not accept.
    public init?(storedData data: [UInt8]) {
        guard let book = StoredJSON.withObject(data, { v in Self.parse(v) }) else { return nil }
        self = book
    }

    private init(symbol: String, category: String, depth: Int, type: String, u: Int64, seq: Int64?, ts: Int64?, cts: Int64?,
                 bids: [(price: PriceKey, size: PriceKey)], asks: [(price: PriceKey, size: PriceKey)], synced: Bool) {
        self.symbol = symbol
        self.category = category
        self.depth = depth
        self.type = type
        self.u = u
        self.seq = seq
        self.ts = ts
        self.cts = cts
        self.bids = bids
        self.asks = asks
        self.synced = synced
    }

    static func parse(_ v: JSONView) -> StoredOrderBook? {
        var o = StoredObject()
        var symbol: String?, category: String?, type: String?
        var depth: Int64?, u: Int64?, seq: Int64?, ts: Int64?, cts: Int64?
        var synced: Bool?
        var bids: [(price: PriceKey, size: PriceKey)]?
        var asks: [(price: PriceKey, size: PriceKey)]?
        let whole = keys.members(v) { f, value in
            switch f {
            case 0: symbol = o.optional(v.storedString(value))
            case 1: category = o.optional(v.storedString(value))
            case 2: depth = o.optional(v.storedInt64(value))
            case 3: type = o.optional(v.storedString(value))
            case 4: u = o.optional(v.storedInt64(value))
            case 5: seq = o.optional(v.storedInt64(value))
            case 6: ts = o.optional(v.storedInt64(value))
            case 7: cts = o.optional(v.storedInt64(value))
            case 8: bids = levels(v, value)
            case 9: asks = levels(v, value)
            default: synced = o.optional(v.storedBool(value))
            }
            return !o.unsupported
        }
        guard whole else { return nil }
        guard let symbol, let category, let type, let d = depth, let depth = Int(exactly: d), let u, let bids, let asks,
              let synced else { return nil }
        return StoredOrderBook(symbol: symbol, category: category, depth: depth, type: type, u: u, seq: seq, ts: ts, cts: cts,
                               bids: bids, asks: asks, synced: synced)
    }

    /// `[["price","size"], ...]`; nil for any other shape.
    static func levels(_ v: JSONView, _ i: Int) -> [(price: PriceKey, size: PriceKey)]? {
        guard v.kind(i) == .array else { return nil }
        var out: [(price: PriceKey, size: PriceKey)] = []
        out.reserveCapacity(v.count(i))
        var e = i + 1
        for _ in 0..<v.count(i) {
            guard v.kind(e) == .array, v.count(e) == 2,
                  let p = v.storedKey(e + 1), let s = v.storedKey(v.next(e + 1)) else { return nil }
            out.append((p, s))
            e = v.next(e)
        }
        return out
    }
}

extension OrderBookUpdated: StoredDataDecodable {
    public static func decodeStored(_ data: [UInt8]) -> OrderBookUpdated? {
        guard let b = StoredOrderBook(storedData: data) else { return nil }
        return OrderBookUpdated(b)
    }

    /// The payload of a stored book, its levels as exact decimals.
    public init(_ b: StoredOrderBook) {
        self.init(symbol: b.symbol, category: b.category, depth: b.depth, type: b.type, u: b.u, seq: b.seq, ts: b.ts, cts: b.cts,
                  bids: b.bids.map { BookLevel(price: $0.price.decimal, size: $0.size.decimal) },
                  asks: b.asks.map { BookLevel(price: $0.price.decimal, size: $0.size.decimal) }, synced: b.synced)
    }
}
