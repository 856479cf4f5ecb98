extension FrameDecoder {
    /// `orderbook.{depth}.{S}` → `OrderBookUpdated` (and `OrderBookInvalidated` when `u`
    /// breaks), keeping the topic's book (see ``OrderBookTracker``).
    ///
    /// Data: `{asks, bids, category, cts?, depth, seq?, symbol, synced, ts?, type, u}` with
    /// the frame's levels as `[[price, size]]` in canonical text.
    mutating func decodeBook(
        _ slot: Int, depth: Int, _ v: JSONView, _ env: Envelope, into out: inout FrameOutput
    ) throws(FrameError) {
        let data = env.data
        guard data >= 0, v.kind(data) == .object else {
            throw FrameError("orderbook frame without a data object")
        }
        let typeNode = env.type
        guard typeNode >= 0, v.kind(typeNode) == .string else {
            throw FrameError("orderbook frame without type")
        }
        let isSnapshot: Bool
        if v.keyEquals(typeNode, "snapshot") {
            isSnapshot = true
        } else if v.keyEquals(typeNode, "delta") {
            isSnapshot = false
        } else {
            throw FrameError("orderbook type is neither snapshot nor delta")
        }
        var bidsNode = -1, asksNode = -1, uNode = -1, seqNode = -1
        var k = data + 1
        for _ in 0..<v.count(data) {
            let key = v.raw(k)
            if key.count == 1 {
                switch key[0] {
                case UInt8(ascii: "b"): bidsNode = k + 1
                case UInt8(ascii: "a"): asksNode = k + 1
                case UInt8(ascii: "u"): uNode = k + 1
                default: break
                }
            } else if v.keyEquals(k, "seq") {
                seqNode = k + 1
            }
            k = v.next(k + 1)
        }
        guard uNode >= 0, let u = v.int64(uNode) else { throw FrameError("orderbook data without u") }
        let seq = seqNode >= 0 ? v.int64(seqNode) : nil
        let ts = env.int64(v, env.ts)
        let cts = env.int64(v, env.cts)

        // Check (and write) every level before touching the book, so a bad frame leaves it
        // as it was.
        var bids = bidScratch
        var asks = askScratch
        bidScratch = []
        askScratch = []
        defer {
            bids.removeAll(keepingCapacity: true)
            asks.removeAll(keepingCapacity: true)
            bidScratch = bids
            askScratch = asks
        }
        var w = JSONWriter(capacity: 200 + Int(v.node(data).end - v.node(data).start))
        w.beginObject()
        w.key("asks")
        try collectLevels(v, asksNode, into: &asks, writing: &w)
        w.key("bids")
        try collectLevels(v, bidsNode, into: &bids, writing: &w)

        // Take the tracker out of the table so its arrays stay uniquely referenced.
        var tracker = topics[slot].book ?? OrderBookTracker(depth: depth)
        topics[slot].book = nil
        var broken: (reason: OrderBookTracker.Break, expected: Int64?)?
        if isSnapshot || u == 1 {
            tracker.beginSnapshot(updateID: u)
            tracker.reserve(bids: bids.count, asks: asks.count)
        } else {
            broken = tracker.beginDelta(updateID: u)
        }
        for l in bids { tracker.set(.bid, price: l.price, size: l.size) }
        for l in asks { tracker.set(.ask, price: l.price, size: l.size) }
        tracker.finishMessage()
        let synced = tracker.isSynced
        topics[slot].book = tracker

        let stream = topics[slot].stream
        if let broken {
            out.events.append(invalidation(slot, depth: depth, reason: broken.reason,
                                           expected: broken.expected, received: u, ts: ts))
            out.resync.append(topics[slot].topic)
        }

        w.key("category"); w.raw(channelJSON)
        if let cts { w.key("cts"); w.integer(v, env.cts, cts) }
        w.key("depth"); w.int(depth)
        if let seq { w.key("seq"); w.integer(v, seqNode, seq) }
        w.key("symbol"); w.raw(topics[slot].symbolJSON)
        w.key("synced"); w.bool(synced)
        if let ts { w.key("ts"); w.integer(v, env.ts, ts) }
        w.key("type"); w.string(v, typeNode)
        w.key("u"); w.integer(v, uNode, u)
        w.endObject()
        let type = OrderBookUpdated.eventType
        // ts keeps ids apart when `u` restarts at 1 after a Bybit service restart.
        var name = IDName(stream, type)
        name.add(Int64(depth)); name.add(isSnapshot ? "snapshot" : "delta"); name.add(u); name.add(ts ?? 0)
        out.events.append(DecodedEvent(stream: stream, type: type, eventID: name.uuid,
                                       data: w.take(), exchangeTime: exchangeTime(ms: ts)))
    }

    /// Parses `[[price, size], ...]` into keys, checking every number, and writes the
    /// levels in canonical text.
    private func collectLevels(
        _ v: JSONView, _ node: Int, into levels: inout [LevelScratch], writing w: inout JSONWriter
    ) throws(FrameError) {
        w.beginArray()
        defer { w.endArray() }
        guard node >= 0 else { return }  // a side may be left out of a delta
        guard v.kind(node) == .array else { throw FrameError("orderbook side is not an array") }
        var e = node + 1
        for _ in 0..<v.count(node) {
            guard v.kind(e) == .array, v.count(e) >= 2 else { throw FrameError("orderbook level is not [price, size]") }
            let p = e + 1
            let s = v.next(p)
            guard v.isPlainString(p), v.isPlainString(s) else { throw FrameError("orderbook level is not [price, size]") }
            let pr = v.raw(p)
            let sr = v.raw(s)
            guard let (ps, pk) = DecimalScan.scanWithKey(pr), let (ss, sk) = DecimalScan.scanWithKey(sr),
                  !ps.negative, !ss.negative, let price = pk, let size = sk else {
                throw FrameError("orderbook level has an invalid price or size")
            }
            levels.append(LevelScratch(price: price, size: size))
            w.beginArray()
            w.decimal(ps, pr)
            w.decimal(ss, sr)
            w.endArray()
            e = v.next(e)
        }
    }

    /// `{category, depth, expectedU?, reason, receivedU, symbol, ts?}`.
    private func invalidation(
        _ slot: Int, depth: Int, reason: OrderBookTracker.Break, expected: Int64?, received: Int64, ts: Int64?
    ) -> DecodedEvent {
        let stream = topics[slot].stream
        var w = JSONWriter(capacity: 200)
        w.beginObject()
        w.key("category"); w.raw(channelJSON)
        w.key("depth"); w.int(depth)
        if let expected { w.key("expectedU"); w.int(expected) }
        w.key("reason"); w.string(reason.rawValue)
        w.key("receivedU"); w.int(received)
        w.key("symbol"); w.raw(topics[slot].symbolJSON)
        if let ts { w.key("ts"); w.int(ts) }
        w.endObject()
        let type = OrderBookInvalidated.eventType
        let key = "\(depth)|\(reason.rawValue)|\(expected ?? 0)|\(received)|\(ts ?? 0)"
        return DecodedEvent(stream: stream, type: type, eventID: eventID(stream, type, key),
                            data: w.take(), exchangeTime: exchangeTime(ms: ts))
    }
}
