extension FrameDecoder {
    /// `allLiquidation.{S}` → one `LiquidationsReported` per frame:
    /// `{category, liquidations:[{price, side, size, time}], symbol, ts}`.
    mutating func decodeAllLiquidation(_ slot: Int, _ v: JSONView, into out: inout FrameOutput) throws(FrameError) {
        guard let data = v.member(0, "data"), v.kind(data) == .array else {
            throw FrameError("allLiquidation frame without a data array")
        }
        guard v.count(data) > 0 else { return }
        var items: [(time: Int64, side: Int, size: Int, price: Int)] = []
        var e = data + 1
        for _ in 0..<v.count(data) {
            guard v.kind(e) == .object,
                  let t = v.member(e, "T").flatMap({ v.int64($0) }),
                  let side = v.member(e, "S"), v.kind(side) == .string,
                  let size = v.member(e, "v"), let price = v.member(e, "p") else {
                throw FrameError("allLiquidation item without T, S, v or p")
            }
            items.append((t, side, size, price))
            e = v.next(e)
        }
        let first = items[0]
        let key = "\(first.time)|\(v.text(first.side))|\(v.text(first.size))|\(v.text(first.price))|\(items.count)"
        try appendLiquidations(slot, v, items, legacy: false, naturalKey: key, into: &out)
    }

    /// Deprecated `liquidation.{S}` (one object) → the same event with `legacy: true`.
    mutating func decodeLegacyLiquidation(_ slot: Int, _ v: JSONView, into out: inout FrameOutput) throws(FrameError) {
        guard let data = v.member(0, "data"), v.kind(data) == .object,
              let t = (v.member(data, "updatedTime") ?? v.member(data, "updateTime")).flatMap({ v.int64($0) }),
              let side = v.member(data, "side"), v.kind(side) == .string,
              let size = v.member(data, "size"), let price = v.member(data, "price") else {
            throw FrameError("liquidation frame without updatedTime, side, size or price")
        }
        let key = "\(t)|\(v.text(side))|\(v.text(size))|\(v.text(price))|legacy"
        try appendLiquidations(slot, v, [(t, side, size, price)], legacy: true, naturalKey: key, into: &out)
    }

    private mutating func appendLiquidations(
        _ slot: Int, _ v: JSONView, _ items: [(time: Int64, side: Int, size: Int, price: Int)], legacy: Bool,
        naturalKey: String, into out: inout FrameOutput
    ) throws(FrameError) {
        let ts = v.member(0, "ts").flatMap { v.int64($0) }
        var w = JSONWriter(capacity: 128 + items.count * 96)
        w.beginObject()
        w.key("category"); w.string(channelName)
        if legacy { w.key("legacy"); w.bool(true) }
        w.key("liquidations"); w.beginArray()
        for item in items {
            w.beginObject()
            w.key("price")
            guard w.decimal(v, item.price) else { throw FrameError("liquidation price is not a decimal") }
            w.key("side"); w.string(v, item.side)
            w.key("size")
            guard w.decimal(v, item.size) else { throw FrameError("liquidation size is not a decimal") }
            w.key("time"); w.int(item.time)
            w.endObject()
        }
        w.endArray()
        w.key("symbol"); w.string(topics[slot].symbol)
        if let ts { w.key("ts"); w.int(ts) }
        w.endObject()
        let stream = topics[slot].stream
        let type = LiquidationsReported.eventType
        out.events.append(DecodedEvent(stream: stream, type: type, eventID: eventID(stream, type, naturalKey),
                                       data: w.take(), exchangeTime: exchangeTime(ms: ts ?? items.first?.time)))
    }
}
