extension FrameDecoder {
    /// `kline.{interval}.{S}` → per `data` element `KlineUpdated` (confirm=false) or
    /// `KlineClosed` (confirm=true) in `market.{ch}.kline-{S}.{interval}`:
    /// `{category, close, confirm, end, high, interval, low, open, start, symbol, timestamp,
    /// turnover, volume}`.
    mutating func decodeKline(_ slot: Int, interval: String, _ v: JSONView, into out: inout FrameOutput) throws(FrameError) {
        guard let data = v.member(0, "data"), v.kind(data) == .array else {
            throw FrameError("kline frame without a data array")
        }
        let stream = topics[slot].stream
        let symbol = topics[slot].symbol
        var e = data + 1
        for _ in 0..<v.count(data) {
            guard v.kind(e) == .object else { throw FrameError("kline item is not an object") }
            func node(_ key: StaticString) throws(FrameError) -> Int {
                guard let n = v.member(e, key) else { throw FrameError("kline item without \(key)") }
                return n
            }
            func millis(_ key: StaticString) throws(FrameError) -> Int64 {
                guard let t = v.int64(try node(key)) else { throw FrameError("kline \(key) is not an integer") }
                return t
            }
            func decimal(_ key: StaticString, _ w: inout JSONWriter) throws(FrameError) {
                guard w.decimal(v, try node(key)) else { throw FrameError("kline \(key) is not a decimal") }
            }
            let start = try millis("start")
            let end = try millis("end")
            let timestamp = try millis("timestamp")
            guard let confirm = v.bool(try node("confirm")) else { throw FrameError("kline confirm is not a boolean") }
            var w = JSONWriter(capacity: 320)
            w.beginObject()
            w.key("category"); w.string(channelName)
            w.key("close"); try decimal("close", &w)
            w.key("confirm"); w.bool(confirm)
            w.key("end"); w.int(end)
            w.key("high"); try decimal("high", &w)
            w.key("interval")
            if let n = v.member(e, "interval"), v.kind(n) == .string { w.string(v, n) } else { w.string(interval) }
            w.key("low"); try decimal("low", &w)
            w.key("open"); try decimal("open", &w)
            w.key("start"); w.int(start)
            w.key("symbol"); w.string(symbol)
            w.key("timestamp"); w.int(timestamp)
            w.key("turnover"); try decimal("turnover", &w)
            w.key("volume"); try decimal("volume", &w)
            w.endObject()
            let type = confirm ? KlineClosed.eventType : KlineUpdated.eventType
            var name = IDName(stream, type)  // `{start}|{timestamp}|{confirm}`
            name.add(start)
            name.add(timestamp)
            name.add(confirm ? "true" : "false")
            out.events.append(DecodedEvent(stream: stream, type: type, eventID: name.uuid,
                                           data: w.take(), exchangeTime: exchangeTime(ms: timestamp)))
            e = v.next(e)
        }
    }
}
