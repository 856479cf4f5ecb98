extension FrameDecoder {
    /// `publicTrade.{S}` → one `MarketTrades` event per frame (reference §1.7):
    /// `{category, symbol, trades:[{blockTrade?, id, price, rpi?, seq?, side, size,
    /// tickDirection?, time}], ts}`.
    mutating func decodeTrades(_ slot: Int, _ v: JSONView, _ env: Envelope, into out: inout FrameOutput) throws(FrameError) {
        let data = env.data
        guard data >= 0, v.kind(data) == .array else {
            throw FrameError("publicTrade frame without a data array")
        }
        let count = v.count(data)
        guard count > 0 else { return }  // nothing traded; nothing to record
        let ts = env.int64(v, env.ts)
        let stream = topics[slot].stream
        var w = JSONWriter(capacity: 96 + count * 176)
        let type = MarketTrades.eventType
        var name = IDName(stream, type)
        name.separator()  // then the trade ids, comma-separated
        w.beginObject()
        w.key("category"); w.raw(channelJSON)
        w.key("symbol"); w.raw(topics[slot].symbolJSON)
        w.key("trades"); w.beginArray()
        var e = v.firstChild(data)
        for n in 0..<count {
            guard v.kind(e) == .object else { throw FrameError("publicTrade item is not an object") }
            var time = -1, side = -1, size = -1, price = -1, tick = -1, id = -1, block = -1, seq = -1, rpi = -1
            var k = e + 1
            for _ in 0..<v.count(e) {
                let key = v.raw(k)
                let value = k + 1
                switch key.count {
                case 1:
                    switch key[0] {
                    case UInt8(ascii: "T"): time = value
                    case UInt8(ascii: "S"): side = value
                    case UInt8(ascii: "v"): size = value
                    case UInt8(ascii: "p"): price = value
                    case UInt8(ascii: "L"): tick = value
                    case UInt8(ascii: "i"): id = value
                    default: break
                    }
                case 2 where v.keyEquals(k, "BT"): block = value
                case 3 where v.keyEquals(k, "seq"): seq = value
                case 3 where v.keyEquals(k, "RPI"): rpi = value
                default: break
                }
                k = v.next(value)
            }
            guard time >= 0, let t = v.int64(time) else { throw FrameError("publicTrade item without T") }
            guard id >= 0, v.kind(id) == .string || v.kind(id) == .number, v.node(id).start != v.node(id).end else {
                throw FrameError("publicTrade item without i")
            }
            guard side >= 0, v.kind(side) == .string, price >= 0, size >= 0 else {
                throw FrameError("publicTrade item without S, p or v")
            }
            w.beginObject()
            if block >= 0, let b = v.bool(block) { w.key("blockTrade"); w.bool(b) }
            w.key("id")
            if v.kind(id) == .number { w.plainString(v.raw(id)) } else { w.string(v, id) }
            w.key("price")
            guard w.decimal(v, price) else { throw FrameError("publicTrade price is not a decimal") }
            if rpi >= 0, let b = v.bool(rpi) { w.key("rpi"); w.bool(b) }
            if seq >= 0, let s = v.int64(seq) { w.key("seq"); w.int(s) }
            w.key("side"); w.string(v, side)
            w.key("size")
            guard w.decimal(v, size) else { throw FrameError("publicTrade size is not a decimal") }
            if tick >= 0, v.kind(tick) == .string, !v.isEmptyString(tick) { w.key("tickDirection"); w.string(v, tick) }
            w.key("time"); w.int(t)
            w.endObject()
            if n > 0 { name.extend(UInt8(ascii: ",")) }
            name.extend(v.raw(id))
            e = v.next(e)
        }
        w.endArray()
        if let ts { w.key("ts"); w.int(ts) }
        w.endObject()
        out.events.append(DecodedEvent(
            stream: stream, type: type, eventID: name.uuid,
            data: w.take(), exchangeTime: exchangeTime(ms: ts)))
    }
}
