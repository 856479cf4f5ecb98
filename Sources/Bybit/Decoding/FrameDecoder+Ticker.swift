import Foundation
import TradelogCore

/// The merged fields of one `tickers.{S}` topic.
///
/// Each field's name, its encoded key (`"name":`, escaped as needed) and its encoded JSON value
/// are ranges of one byte arena, so that merging a delta and writing the merged state touch no
/// per-field arrays, and writing copies each member's bytes without escaping them again. A value that fits where the
/// old one was is written over it; otherwise it goes at the arena's end, and the arena is
/// compacted once more than half of it (and more than ``compactionSlack`` bytes) is dead.
struct TickerState: Sendable {
    struct Field: Sendable {
        var keyStart: Int
        var keyCount: Int
        var encodedKeyStart: Int
        var encodedKeyCount: Int
        var valueStart: Int
        var valueCount: Int
    }

    /// Sorted by name in byte order.
    private(set) var fields: [Field] = []
    private(set) var arena: [UInt8] = []
    /// Bytes of the arena the fields use.
    private(set) var liveBytes = 0
    static let compactionSlack = 4096
    /// The funding rate and next funding time last reported (encoded), to report changes only.
    var lastFundingRate: [UInt8]?
    var lastNextFundingTime: [UInt8]?

    func position(of key: UnsafeRawBufferPointer) -> (found: Bool, index: Int) {
        arena.withUnsafeBytes { a in
            fields.withUnsafeBufferPointer { f in
                var lo = 0
                var hi = f.count
                while lo < hi {
                    let mid = (lo + hi) >> 1
                    let c = compareBytes(UnsafeRawBufferPointer(rebasing: a[f[mid].keyStart..<(f[mid].keyStart + f[mid].keyCount)]), key)
                    if c == 0 { return (true, mid) }
                    if c < 0 { lo = mid + 1 } else { hi = mid }
                }
                return (false, lo)
            }
        }
    }

    /// Sets or (with nil) removes a field.
    mutating func set(_ key: UnsafeRawBufferPointer, _ value: UnsafeRawBufferPointer?) {
        let (found, i) = position(of: key)
        switch (found, value) {
        case (true, let v?):
            liveBytes += v.count - fields[i].valueCount
            if v.count <= fields[i].valueCount {
                let start = fields[i].valueStart
                arena.withUnsafeMutableBytes { a in
                    if v.count > 0 { UnsafeMutableRawBufferPointer(rebasing: a[start..<(start + v.count)]).copyMemory(from: v) }
                }
            } else {
                fields[i].valueStart = arena.count
                arena.append(contentsOf: v)
            }
            fields[i].valueCount = v.count
        case (true, nil):
            liveBytes -= fields[i].keyCount + fields[i].encodedKeyCount + fields[i].valueCount
            fields.remove(at: i)
        case (false, let v?):
            let keyStart = arena.count
            arena.append(contentsOf: key)
            let encodedKeyStart = arena.count
            // Bybit's keys are plain ASCII: quoted as they are, without a writer (a spot ticker
            // is a snapshot every time, so each of its fields is inserted on every frame).
            if key.allSatisfy(JSONWriter.isPlain) {
                arena.append(UInt8(ascii: "\""))
                arena.append(contentsOf: key)
                arena.append(UInt8(ascii: "\""))
                arena.append(UInt8(ascii: ":"))
            } else {
                var w = JSONWriter(capacity: key.count + 8)
                w.key(utf8: key)
                w.withUnsafeBytes { arena.append(contentsOf: $0) }
            }
            let encodedKeyCount = arena.count - encodedKeyStart
            let valueStart = arena.count
            arena.append(contentsOf: v)
            liveBytes += key.count + encodedKeyCount + v.count
            fields.insert(Field(keyStart: keyStart, keyCount: key.count, encodedKeyStart: encodedKeyStart,
                                encodedKeyCount: encodedKeyCount, valueStart: valueStart, valueCount: v.count), at: i)
        case (false, nil):
            break
        }
        if arena.count - liveBytes > max(liveBytes, Self.compactionSlack) { compact() }
    }

    /// Copies the live names and values into a fresh arena.
    private mutating func compact() {
        var fresh: [UInt8] = []
        fresh.reserveCapacity(liveBytes)
        for i in fields.indices {
            let f = fields[i]
            fields[i].keyStart = fresh.count
            fresh.append(contentsOf: arena[f.keyStart..<(f.keyStart + f.keyCount)])
            fields[i].encodedKeyStart = fresh.count
            fresh.append(contentsOf: arena[f.encodedKeyStart..<(f.encodedKeyStart + f.encodedKeyCount)])
            fields[i].valueStart = fresh.count
            fresh.append(contentsOf: arena[f.valueStart..<(f.valueStart + f.valueCount)])
        }
        arena = fresh
    }

    func value(_ key: StaticString) -> [UInt8]? {
        let (found, i) = position(of: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        guard found else { return nil }
        return Array(arena[fields[i].valueStart..<(fields[i].valueStart + fields[i].valueCount)])
    }

    /// Whether field `key`'s value is `expected` (both absent counts as equal), without a copy.
    func value(_ key: StaticString, equals expected: [UInt8]?) -> Bool {
        let (found, i) = position(of: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        guard found, let expected else { return !found && expected == nil }
        let f = fields[i]
        return expected.count == f.valueCount && arena.withUnsafeBytes { a in
            expected.withUnsafeBytes { UnsafeRawBufferPointer(rebasing: a[f.valueStart..<(f.valueStart + f.valueCount)]).elementsEqual($0) }
        }
    }

    mutating func removeAllFields() {
        fields.removeAll(keepingCapacity: true)
        arena.removeAll(keepingCapacity: true)
        liveBytes = 0
    }
}

/// Byte-order comparison (negative, zero, positive).
func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let n = min(a.count, b.count)
    for i in 0..<n where a[i] != b[i] { return a[i] < b[i] ? -1 : 1 }
    return a.count - b.count
}

extension FrameDecoder {
    /// Ticker fields written as JSON strings as sent, never as decimals.
    private static let tickerTextKeys: [[UInt8]] = ["symbol", "tickDirection", "deliveryTime", "curPreListingPhase"].map { Array($0.utf8) }
    /// Ticker fields sent as strings of digits that are integers (ms times, hours).
    private static let tickerIntegerKeys: [[UInt8]] = ["nextFundingTime", "fundingIntervalHour"].map { Array($0.utf8) }

    /// The envelope's fields written into each ticker, in byte order.
    private static let tickerEnvelopeKeys: [[UInt8]] = ["category", "cs", "symbol", "ts"].map { Array($0.utf8) }

    /// Writes envelope field `index` of ``tickerEnvelopeKeys``; false when the frame has no such field.
    private static func writeEnvelopeField(_ index: Int, into w: inout JSONWriter, category: String, cs: Int64?,
                                           symbol: String, ts: Int64?) -> Bool {
        switch index {
        case 0: w.key("category"); w.string(category)
        case 1:
            guard let cs else { return false }
            w.key("cs"); w.int(cs)
        case 2: w.key("symbol"); w.string(symbol)
        default:
            guard let ts else { return false }
            w.key("ts"); w.int(ts)
        }
        return true
    }

    private static func isOne(of names: [[UInt8]], _ key: UnsafeRawBufferPointer) -> Bool {
        names.contains { $0.count == key.count && $0.withUnsafeBytes { $0.elementsEqual(key) } }
    }

    /// `tickers.{S}` → `TickerUpdated` with the full merged state, plus
    /// `FundingRateUpdated` on linear/inverse when the funding rate or next funding time changes.
    ///
    /// Linear/inverse send a snapshot and then deltas holding only changed fields (reference
    /// §1.7); `""` means the field is absent. A delta before any snapshot cannot be merged and
    /// becomes an `UnparsedFrame`.
    mutating func decodeTicker(
        _ slot: Int, _ v: JSONView, _ frame: UnsafeRawBufferPointer, receivedAt: Timestamp,
        into out: inout FrameOutput
    ) throws(FrameError) {
        guard let data = v.member(0, "data"), v.kind(data) == .object else {
            throw FrameError("tickers frame without a data object")
        }
        let typeNode = v.member(0, "type")
        let isDelta = typeNode.map { v.stringEquals($0, "delta") } ?? false
        if let typeNode, !isDelta, !v.stringEquals(typeNode, "snapshot") {
            throw FrameError("tickers type is neither snapshot nor delta")
        }
        let ts = v.member(0, "ts").flatMap { v.int64($0) }
        let cs = v.member(0, "cs").flatMap { v.int64($0) }
        guard isDelta == false || topics[slot].ticker != nil else {
            throw FrameError("ticker delta before snapshot for \(topics[slot].topic)")
        }
        var state = topics[slot].ticker ?? TickerState()
        topics[slot].ticker = nil
        if !isDelta { state.removeAllFields() }
        var k = data + 1
        var fieldWriter = JSONWriter(capacity: 64)
        for _ in 0..<v.count(data) {
            if v.node(k).flags & JSONNode.escaped == 0 {
                // Most keys: their bytes as they sit in the frame.
                let key = v.raw(k)
                let present = Self.encodeTickerValue(v, k + 1, key: key, writer: &fieldWriter)
                fieldWriter.withUnsafeBytes { state.set(key, present ? $0 : nil) }
            } else {
                let keyBytes = v.decoded(k)
                keyBytes.withUnsafeBytes { key in
                    let present = Self.encodeTickerValue(v, k + 1, key: key, writer: &fieldWriter)
                    fieldWriter.withUnsafeBytes { state.set(key, present ? $0 : nil) }
                }
            }
            k = v.next(k + 1)
        }

        let stream = topics[slot].stream
        let symbol = topics[slot].symbol
        // The natural key `{ts}|{cs}` (0 for either absent).
        func idOf(_ stream: String, _ type: String) -> UUID {
            var name = IDName(stream, type)
            name.add(ts ?? 0)
            name.add(cs ?? 0)
            return name.uuid
        }

        // The envelope's fields go in beside the merged ones, in key order (this list's order),
        // and win over a same-named field.
        var w = JSONWriter(capacity: 64 + state.liveBytes + state.fields.count * 4)
        w.beginObject()
        var extra = 0
        let channelName = channelName
        state.arena.withUnsafeBytes { arena in
            for f in state.fields {
                let key = UnsafeRawBufferPointer(rebasing: arena[f.keyStart..<(f.keyStart + f.keyCount)])
                var shadowed = false
                while extra < Self.tickerEnvelopeKeys.count {
                    let c = Self.tickerEnvelopeKeys[extra].withUnsafeBytes { compareBytes($0, key) }
                    if c > 0 { break }
                    if Self.writeEnvelopeField(extra, into: &w, category: channelName, cs: cs, symbol: symbol, ts: ts), c == 0 {
                        shadowed = true
                    }
                    extra += 1
                }
                if shadowed { continue }
                w.rawMember(encodedKey: UnsafeRawBufferPointer(rebasing: arena[f.encodedKeyStart..<(f.encodedKeyStart + f.encodedKeyCount)]),
                            value: UnsafeRawBufferPointer(rebasing: arena[f.valueStart..<(f.valueStart + f.valueCount)]))
            }
        }
        while extra < Self.tickerEnvelopeKeys.count {
            _ = Self.writeEnvelopeField(extra, into: &w, category: channelName, cs: cs, symbol: symbol, ts: ts)
            extra += 1
        }
        w.endObject()
        let type = TickerUpdated.eventType
        out.events.append(DecodedEvent(stream: stream, type: type, eventID: idOf(stream, type),
                                       data: w.take(), exchangeTime: exchangeTime(ms: ts)))

        // Most tickers leave both as they were: compared in place, copied only when changed.
        if channel == .linear || channel == .inverse,
           !state.value("fundingRate", equals: state.lastFundingRate) || !state.value("nextFundingTime", equals: state.lastNextFundingTime) {
            let rate = state.value("fundingRate")
            let next = state.value("nextFundingTime")
            if let rate {
                var f = JSONWriter(capacity: 160)
                f.beginObject()
                f.key("category"); f.string(channelName)
                f.key("fundingRate"); rate.withUnsafeBytes { f.raw($0) }
                if let next { f.key("nextFundingTime"); next.withUnsafeBytes { f.raw($0) } }
                f.key("symbol"); f.string(symbol)
                if let ts { f.key("ts"); f.int(ts) }
                f.endObject()
                let fstream = topics[slot].fundingStream
                let ftype = FundingRateUpdated.eventType
                out.events.append(DecodedEvent(stream: fstream, type: ftype, eventID: idOf(fstream, ftype),
                                               data: f.take(), exchangeTime: exchangeTime(ms: ts)))
            }
            state.lastFundingRate = rate
            state.lastNextFundingTime = next
        }
        topics[slot].ticker = state
    }

    /// Writes the encoded value of one ticker field into `writer` (emptied first); false when
    /// the field is absent (`""` or null). `writer` is scratch space kept across the fields of a frame.
    private static func encodeTickerValue(_ v: JSONView, _ i: Int, key: UnsafeRawBufferPointer, writer w: inout JSONWriter) -> Bool {
        w.reset()
        switch v.kind(i) {
        case .null:
            return false
        case .string:
            if v.isEmptyString(i) { return false }
            if isOne(of: tickerTextKeys, key) {
                w.string(v, i)
            } else if isOne(of: tickerIntegerKeys, key), let n = v.int64(i) {
                w.int(n)
            } else if !w.decimal(v, i) {
                w.string(v, i)
            }
        case .number:
            if !w.number(v.raw(i)) { w.raw(v.raw(i)) }
        default:
            try? writeCanonicalValue(v, i, policy: .verbatim, key: String(decoding: key, as: UTF8.self), parentKey: nil, into: &w)
        }
        return true
    }
}
