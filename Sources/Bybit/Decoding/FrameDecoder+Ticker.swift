import TradelogCore

/// The merged fields of one `tickers.{S}` topic.
struct TickerState: Sendable {
    /// Field name → encoded JSON value, sorted by name in byte order.
    var keys: [[UInt8]] = []
    var values: [[UInt8]] = []
    /// The funding rate and next funding time last reported (encoded), to report changes only.
    var lastFundingRate: [UInt8]?
    var lastNextFundingTime: [UInt8]?

    func position(of key: UnsafeRawBufferPointer) -> (found: Bool, index: Int) {
        var lo = 0
        var hi = keys.count
        while lo < hi {
            let mid = (lo + hi) >> 1
            let c = keys[mid].withUnsafeBytes { compareBytes($0, key) }
            if c == 0 { return (true, mid) }
            if c < 0 { lo = mid + 1 } else { hi = mid }
        }
        return (false, lo)
    }

    /// Sets or (with nil) removes a field.
    mutating func set(_ key: UnsafeRawBufferPointer, _ value: [UInt8]?) {
        let (found, i) = position(of: key)
        switch (found, value) {
        case (true, let v?): values[i] = v
        case (true, nil):
            keys.remove(at: i)
            values.remove(at: i)
        case (false, let v?):
            keys.insert(Array(key), at: i)
            values.insert(v, at: i)
        case (false, nil): break
        }
    }

    func value(_ key: StaticString) -> [UInt8]? {
        let (found, i) = position(of: UnsafeRawBufferPointer(start: key.utf8Start, count: key.utf8CodeUnitCount))
        return found ? values[i] : nil
    }

    mutating func removeAllFields() {
        keys.removeAll(keepingCapacity: true)
        values.removeAll(keepingCapacity: true)
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
                state.set(key, Self.encodeTickerValue(v, k + 1, key: key, writer: &fieldWriter))
            } else {
                let keyBytes = v.decoded(k)
                keyBytes.withUnsafeBytes { key in
                    state.set(key, Self.encodeTickerValue(v, k + 1, key: key, writer: &fieldWriter))
                }
            }
            k = v.next(k + 1)
        }

        let stream = topics[slot].stream
        let symbol = topics[slot].symbol
        let naturalKey = "\(ts ?? 0)|\(cs ?? 0)"

        // Envelope fields go in beside the merged ones, in key order.
        var extras: [(key: [UInt8], value: [UInt8])] = []
        var ew = JSONWriter(capacity: 32)
        ew.string(channelName); extras.append((Array("category".utf8), ew.take()))
        if let cs { ew.int(cs); extras.append((Array("cs".utf8), ew.take())) }
        ew.string(symbol); extras.append((Array("symbol".utf8), ew.take()))
        if let ts { ew.int(ts); extras.append((Array("ts".utf8), ew.take())) }

        var w = JSONWriter(capacity: 64 + state.keys.count * 40)
        w.beginObject()
        var i = 0
        var j = 0
        while i < state.keys.count || j < extras.count {
            let c: Int
            if i == state.keys.count { c = 1 } else if j == extras.count { c = -1 } else {
                c = state.keys[i].withUnsafeBytes { a in extras[j].key.withUnsafeBytes { b in compareBytes(a, b) } }
            }
            if c < 0 {
                state.keys[i].withUnsafeBytes { w.key(utf8: $0) }
                state.values[i].withUnsafeBytes { w.raw($0) }
                i += 1
            } else {
                extras[j].key.withUnsafeBytes { w.key(utf8: $0) }
                extras[j].value.withUnsafeBytes { w.raw($0) }
                if c == 0 { i += 1 }  // the envelope wins over a same-named field
                j += 1
            }
        }
        w.endObject()
        let type = TickerUpdated.eventType
        out.events.append(DecodedEvent(stream: stream, type: type, eventID: eventID(stream, type, naturalKey),
                                       data: w.take(), exchangeTime: exchangeTime(ms: ts)))

        if channel == .linear || channel == .inverse {
            let rate = state.value("fundingRate")
            let next = state.value("nextFundingTime")
            if let rate, rate != state.lastFundingRate || next != state.lastNextFundingTime {
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
                out.events.append(DecodedEvent(stream: fstream, type: ftype, eventID: eventID(fstream, ftype, naturalKey),
                                               data: f.take(), exchangeTime: exchangeTime(ms: ts)))
            }
            state.lastFundingRate = rate
            state.lastNextFundingTime = next
        }
        topics[slot].ticker = state
    }

    /// The encoded value of one ticker field; nil when absent (`""` or null). `writer` is
    /// scratch space kept across the fields of a frame.
    private static func encodeTickerValue(_ v: JSONView, _ i: Int, key: UnsafeRawBufferPointer, writer w: inout JSONWriter) -> [UInt8]? {
        w.reset()
        switch v.kind(i) {
        case .null:
            return nil
        case .string:
            if v.isEmptyString(i) { return nil }
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
        return w.take()
    }
}
