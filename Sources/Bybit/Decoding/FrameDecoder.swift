import Foundation
import TradelogCore

/// Turns Bybit v5 WebSocket frames into log events, one decoder per connection.
///
/// Pure and deterministic: no clock, no randomness; the receive time is passed in and only
/// feeds the ids of frames that could not be decoded. It keeps the state the protocol needs
/// (order books per `orderbook.*` topic, merged tickers per `tickers.*` topic) and never
/// throws: bad bytes and unknown topics become `UnparsedFrame` / `UnknownTopicFrame` events
/// in `gateway.unparsed-{channel}` and are counted.
///
/// ```swift
/// var decoder = FrameDecoder(channel: .linear)
/// let out = decoder.decode(frameBytes, receivedAt: .now())
/// for e in out.events { /* append e.newEvent(receivedAt:) to e.stream */ }
/// for topic in out.resync { /* resubscribe topic */ }
/// ```
public struct FrameDecoder: Sendable {
    public let channel: BybitChannel

    /// Frames passed to `decode`.
    public private(set) var frames = 0
    /// Events returned.
    public private(set) var events = 0
    /// Data frames whose topic this decoder does not handle.
    public private(set) var unknownTopicFrames = 0
    /// Frames that were not JSON, had the wrong shape, or could not be applied
    /// (e.g. a ticker delta before its snapshot).
    public private(set) var unparsableFrames = 0

    /// Raw frame text kept in unparsed events.
    public static let maxRawTextBytes = 64 * 1024

    var topics = TopicTable()
    /// Tape storage reused across frames.
    private var tape: [JSONNode] = []
    var bidScratch: [LevelScratch] = []
    var askScratch: [LevelScratch] = []
    let unparsedStream: String
    let channelName: String
    /// `"linear"` etc. as a JSON string, ready to copy.
    let channelJSON: [UInt8]

    public init(channel: BybitChannel) {
        self.channel = channel
        channelName = channel.rawValue
        channelJSON = Array("\"\(channel.rawValue)\"".utf8)
        unparsedStream = "gateway.unparsed-\(channel.rawValue)"
        bidScratch.reserveCapacity(64)
        askScratch.reserveCapacity(64)
    }

    // MARK: Book access

    /// The book kept for `topic` (e.g. `orderbook.50.BTCUSDT`), if any frame built one.
    public func book(topic: String) -> OrderBookTracker? {
        topics.slot(forTopic: topic).flatMap { topics[$0].book }
    }

    /// Drops the book of `topic`: its next frame must be a snapshot (call before resubscribing).
    public mutating func forgetBook(topic: String) {
        if let slot = topics.slot(forTopic: topic) { topics[slot].book = nil }
    }

    /// Drops the books whose events go to `streams` and returns their topics (to resubscribe):
    /// when some of their updates never reached the log, the log's book is behind this one, and
    /// both must start again from a snapshot.
    public mutating func forgetBooks(ofStreams streams: Set<String>) -> [String] {
        var forgotten: [String] = []
        for i in topics.entries.indices where topics[i].book != nil && streams.contains(topics[i].stream) {
            topics[i].book = nil
            forgotten.append(topics[i].topic)
        }
        return forgotten
    }

    /// Drops all books and ticker state (after a reconnect); counters are kept.
    public mutating func reset() {
        topics.resetState()
    }

    // MARK: Decoding

    /// Decodes one text frame.
    public mutating func decode(_ frame: [UInt8], receivedAt: Timestamp) -> FrameOutput {
        frame.withUnsafeBytes { decode($0, receivedAt: receivedAt) }
    }

    /// Decodes one text frame from borrowed bytes (e.g. a NIO buffer's readable bytes).
    public mutating func decode(_ frame: UnsafeRawBufferPointer, receivedAt: Timestamp) -> FrameOutput {
        frames += 1
        var out = FrameOutput()
        var nodes: [JSONNode] = []
        swap(&nodes, &tape)
        defer { swap(&nodes, &tape) }
        let parsed: Int
        do throws(JSONParseError) {
            parsed = try JSONParser.parse(frame, into: &nodes)
        } catch {
            out.events.append(unparsed(frame, reason: error.description, receivedAt: receivedAt))
            events += out.events.count
            return out
        }
        nodes.withUnsafeBufferPointer { np in
            let v = JSONView(bytes: frame.baseAddress!.assumingMemoryBound(to: UInt8.self),
                             nodes: np.baseAddress!, nodeCount: parsed)
            do throws(FrameError) {
                try dispatch(v, frame, receivedAt: receivedAt, into: &out)
            } catch {
                // A frame either decodes whole or not at all.
                out.events = [unparsed(frame, reason: error.reason, receivedAt: receivedAt)]
                out.resync = []
            }
        }
        events += out.events.count
        return out
    }

    private mutating func dispatch(
        _ v: JSONView, _ frame: UnsafeRawBufferPointer, receivedAt: Timestamp, into out: inout FrameOutput
    ) throws(FrameError) {
        guard v.kind(0) == .object else { throw FrameError("frame is not a JSON object") }
        let env = Envelope(v)
        guard env.topic >= 0 else {
            if let control = decodeControl(v) {
                out.control = control
                return
            }
            throw FrameError("neither a topic frame nor a known control frame")
        }
        let topicNode = env.topic
        guard v.kind(topicNode) == .string else { throw FrameError("topic is not a string") }
        let topicBytes: [UInt8]? = v.node(topicNode).flags & JSONNode.escaped != 0 ? v.decoded(topicNode) : nil
        let slot: Int? = topicBytes.map { b in b.withUnsafeBytes { topics.slot(for: $0, channel: channel) } }
            ?? topics.slot(for: v.raw(topicNode), channel: channel)
        guard let slot else {
            unknownTopicFrames += 1
            out.events.append(unknownTopic(frame, topic: v.string(topicNode) ?? "", receivedAt: receivedAt))
            return
        }
        switch topics[slot].kind {
        case .publicTrade: try decodeTrades(slot, v, env, into: &out)
        case .orderBook(let depth): try decodeBook(slot, depth: depth, v, env, into: &out)
        case .ticker: try decodeTicker(slot, v, frame, receivedAt: receivedAt, into: &out)
        case .kline(let interval): try decodeKline(slot, interval: interval, v, into: &out)
        case .allLiquidation: try decodeAllLiquidation(slot, v, into: &out)
        case .legacyLiquidation: try decodeLegacyLiquidation(slot, v, into: &out)
        case .order, .execution, .position, .wallet: try decodePrivate(slot, v, into: &out)
        case .unknown:
            unknownTopicFrames += 1
            out.events.append(unknownTopic(frame, topic: topics[slot].topic, receivedAt: receivedAt))
        }
    }

    // MARK: Raw events

    mutating func unparsed(_ frame: UnsafeRawBufferPointer, reason: String, receivedAt: Timestamp) -> DecodedEvent {
        unparsableFrames += 1
        return rawEvent(frame, type: UnparsedFrame.eventType, label: ("reason", reason), receivedAt: receivedAt)
    }

    func unknownTopic(_ frame: UnsafeRawBufferPointer, topic: String, receivedAt: Timestamp) -> DecodedEvent {
        rawEvent(frame, type: UnknownTopicFrame.eventType, label: ("topic", topic), receivedAt: receivedAt)
    }

    /// `{base64?, byteCount, reason|topic, text, truncated}` (`base64`: the kept bytes, when the
    /// text cannot hold them exactly); the id hashes the bytes and receive
    /// time, so a replayed recording (same bytes, same recorded time) gives the same id.
    private func rawEvent(
        _ frame: UnsafeRawBufferPointer, type: String, label: (key: String, value: String), receivedAt: Timestamp
    ) -> DecodedEvent {
        var cut = min(frame.count, Self.maxRawTextBytes)
        // Do not split a UTF-8 sequence (at most 3 continuation bytes; bytes that are not UTF-8 go to base64 anyway).
        var back = 0
        while back < 3 && cut < frame.count && cut > 0 && frame[cut] & 0xC0 == 0x80 { cut -= 1; back += 1 }
        let truncated = cut < frame.count
        let kept = UnsafeRawBufferPointer(rebasing: frame[0..<cut])
        // Text PostgreSQL cannot hold as it is (U+0000, or bytes that are not UTF-8): the exact
        // bytes in base64, beside a readable text (invalid bytes and U+0000 as U+FFFD).
        let exact = !kept.contains(0) && String(validating: kept, as: UTF8.self) != nil
        func text(_ w: inout JSONWriter) {
            w.key("text")
            if exact { w.string(utf8: kept) } else { w.string(String(decoding: kept, as: UTF8.self).replacingOccurrences(of: "\u{0}", with: "\u{FFFD}")) }
        }
        var w = JSONWriter(capacity: exact ? cut + 128 : cut * 3 + 128)
        w.beginObject()
        if !exact { w.key("base64"); w.string(Data(kept).base64EncodedString()) }
        w.key("byteCount"); w.int(frame.count)
        // The label (a parse error, a topic) comes from the frame too: no U+0000 in it either.
        let label = (key: label.key, value: label.value.replacingOccurrences(of: "\u{0}", with: "\u{FFFD}"))
        if label.key == "reason" {
            w.key("reason"); w.string(label.value)
            text(&w)
        } else {
            text(&w)
            w.key("topic"); w.string(label.value)
        }
        w.key("truncated"); w.bool(truncated)
        w.endObject()
        let digest = Digest.hex(Digest.sha256(Array(frame)))
        let id = eventID(unparsedStream, type, "\(digest)|\(receivedAt.microsecondsSinceEpoch)")
        return DecodedEvent(stream: unparsedStream, type: type, eventID: id, data: w.take(), exchangeTime: nil)
    }
}

/// Where the members of a data frame's top level are (tape indices, -1 when absent),
/// found in one pass.
struct Envelope {
    var topic = -1
    var type = -1
    var ts = -1
    var cts = -1
    var cs = -1
    var data = -1

    init(_ v: JSONView) {
        var k = 1
        for _ in 0..<v.count(0) {
            let key = v.raw(k)
            let value = k + 1
            switch key.count {
            case 2 where key[0] == UInt8(ascii: "t") && key[1] == UInt8(ascii: "s"): ts = value
            case 2 where key[0] == UInt8(ascii: "c") && key[1] == UInt8(ascii: "s"): cs = value
            case 3 where v.keyEquals(k, "cts"): cts = value
            case 4 where v.keyEquals(k, "type"): type = value
            case 4 where v.keyEquals(k, "data"): data = value
            case 5 where v.keyEquals(k, "topic"): topic = value
            default: break
            }
            k = v.next(value)
        }
    }

    func int64(_ v: JSONView, _ node: Int) -> Int64? { node >= 0 ? v.int64(node) : nil }
}

/// Why a frame could not be decoded; becomes the `reason` of an `UnparsedFrame`.
struct FrameError: Error {
    var reason: String
    init(_ reason: String) { self.reason = reason }
}

/// One parsed book level, kept until the whole frame has been checked.
struct LevelScratch {
    var price: PriceKey
    var size: PriceKey
}

/// The deterministic id of an event: UUIDv5 of `stream|type|natural key`, named by ``IDName``
/// like every decoded event's id.
@inline(__always)
func eventID(_ stream: String, _ type: String, _ key: String) -> UUID {
    var name = IDName(stream, type)
    name.add(key)
    return name.uuid
}

/// Builds the name of a deterministic id (`stream|type|key parts`) without string
/// interpolation on the hot path, in bytes on the stack: an array per event would cost more
/// than hashing the name. A name longer than the inline bytes (a trade frame listing many
/// trade ids) moves to the heap.
struct IDName: ~Copyable {
    private var inline = InlineArray<192, UInt8>(repeating: 0)
    /// Bytes used of `inline` (not updated once the name has spilled).
    private var count = 0
    /// The whole name, once it no longer fits inline.
    private var spilled: [UInt8]?

    init(_ stream: String, _ type: String) {
        add(string: stream)
        extend(UInt8(ascii: "|"))
        add(string: type)
    }

    mutating func add(_ part: UnsafeRawBufferPointer) {
        extend(UInt8(ascii: "|"))
        extend(part)
    }

    mutating func add(_ part: String) {
        extend(UInt8(ascii: "|"))
        add(string: part)
    }

    mutating func add(_ n: Int64) {
        extend(UInt8(ascii: "|"))
        // Digits backwards into 24 bytes of scratch (Int64.min takes 20: a sign and 19 digits).
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { d in
            var m = n.magnitude
            var k = d.count
            repeat {
                k -= 1
                d[k] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: m % 10)
                m /= 10
            } while m > 0
            if n < 0 {
                k -= 1
                d[k] = UInt8(ascii: "-")
            }
            extend(UnsafeRawBufferPointer(rebasing: d[k...]))
        }
    }

    private mutating func add(string: String) {
        var s = string
        s.withUTF8 { extend(UnsafeRawBufferPointer($0)) }
    }

    /// Starts an empty part, to be filled with `extend`.
    mutating func separator() { extend(UInt8(ascii: "|")) }

    /// Appends to the last part (no separator), e.g. a list of trade ids.
    mutating func extend(_ part: UnsafeRawBufferPointer) {
        guard spilled == nil, count + part.count <= inline.count else {
            spill()
            spilled!.append(contentsOf: part)
            return
        }
        guard let from = part.baseAddress, part.count > 0 else { return }
        let at = count
        var span = inline.mutableSpan
        span.withUnsafeMutableBufferPointer { b in
            UnsafeMutableRawPointer(b.baseAddress! + at).copyMemory(from: from, byteCount: part.count)
        }
        count += part.count
    }

    mutating func extend(_ byte: UInt8) {
        guard spilled == nil, count < inline.count else {
            spill()
            spilled!.append(byte)
            return
        }
        inline[count] = byte
        count += 1
    }

    /// Moves the inline bytes to the heap (once).
    private mutating func spill() {
        guard spilled == nil else { return }
        let n = count
        spilled = inline.span.withUnsafeBufferPointer { Array($0[0..<n]) }
    }

    var uuid: UUID {
        let n = count
        if let spilled { return spilled.withUnsafeBytes { Self.uuid($0) } }
        return inline.span.withUnsafeBufferPointer { Self.uuid(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer($0)[0..<n])) }
    }

    private static func uuid(_ bytes: UnsafeRawBufferPointer) -> UUID {
        // An ASCII name is hashed as it is; any other as a String holds it (bytes of a frame
        // that are not UTF-8 repaired, as the name always was).
        if bytes.allSatisfy({ $0 < 0x80 }) {
            return DeterministicID.uuid5(namespace: DeterministicID.namespace, name: bytes)
        }
        return DeterministicID.uuid5(namespace: DeterministicID.namespace, name: String(decoding: bytes, as: UTF8.self))
    }
}

/// Milliseconds since the epoch as a ``Timestamp``.
@inline(__always)
func exchangeTime(ms: Int64?) -> Timestamp? {
    guard let ms, ms > 0, ms < Int64.max / 1000 else { return nil }
    return Timestamp(millisecondsSinceEpoch: ms)
}
