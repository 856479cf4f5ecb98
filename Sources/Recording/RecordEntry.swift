import Foundation

/// One line of a recording: a raw WebSocket frame, a REST exchange, a connect or disconnect
/// marker, an inbound signal, or the header. The raw text is kept byte for byte, so a replay
/// feeds the decoders exactly what the gateway received.
public struct RecordEntry: Codable, Sendable, Hashable {
    public enum Kind: String, Codable, Sendable {
        /// First line: format name, version, what was recorded.
        case header
        /// A WebSocket connection opened (`url`).
        case connect
        /// A WebSocket connection closed (`reason`).
        case disconnect
        /// A frame received on a WebSocket connection (`text`).
        case frame
        /// A frame this side sent (subscribe, auth with the signature removed, ping).
        case sent
        /// A REST request and its response (`method`, `path`, `query`, `status`, `text` = body).
        case rest
        /// An inbound signal message (`text`), for replays of order-manager sessions.
        case signal
        /// A decision of the gateway that a replay must repeat and cannot infer from the rest
        /// (`reason` says which; see ``RecordEntry/walletLoadDiscarded``).
        case note
    }

    /// `reason` of a note: the wallet load answered at the note's `t` (its `rest` entry has the
    /// same `t`) was not stored, because wallet frames, which are newer, arrived during it.
    public static let walletLoadDiscarded = "wallet-load-discarded"
    /// `reason` of a note: the gateway's queue was full, and the last `count` events of the
    /// frame or marker of connection `conn` at the note's `t` never reached the log (the books
    /// they updated were forgotten, and start again from a fresh snapshot).
    public static let eventsDropped = "events-dropped"
    /// `reason` of a note: the gateway stored its report of dropped events (`text`: the
    /// `GatewayDataDropped` payload) in its health stream at the note's `t`.
    public static let dropReported = "drop-reported"

    /// Position in the file, from 0.
    public var seq: Int64
    /// Receive time, microseconds since the epoch (the replay's virtual clock).
    public var t: Int64
    public var kind: Kind
    /// Connection id (`linear-1`, `private-3`, ...), for frames and markers.
    public var conn: String?
    /// `spot`, `linear`, `inverse`, `private` or `rest`.
    public var channel: String?
    /// The raw frame, the response body or the signal body.
    public var text: String?
    /// A signal body or a frame that is not valid UTF-8, in base64 (`text` is then absent):
    /// kept byte for byte so that a replay decodes or rejects exactly what was received.
    public var base64: String?
    public var url: String?
    public var reason: String?
    public var method: String?
    public var path: String?
    public var query: String?
    public var status: Int?
    /// Header only: free-form facts (format, version, symbols, source).
    public var info: [String: String]?
    /// A note's count (``RecordEntry/eventsDropped``: how many events).
    public var count: Int?

    public init(
        seq: Int64 = 0, t: Int64, kind: Kind, conn: String? = nil, channel: String? = nil,
        text: String? = nil, url: String? = nil, reason: String? = nil, method: String? = nil,
        path: String? = nil, query: String? = nil, status: Int? = nil, info: [String: String]? = nil, count: Int? = nil
    ) {
        self.seq = seq
        self.t = t
        self.kind = kind
        self.conn = conn
        self.channel = channel
        self.text = text
        self.url = url
        self.reason = reason
        self.method = method
        self.path = path
        self.query = query
        self.status = status
        self.info = info
        self.count = count
    }

    /// An inbound signal: its body as text when it is UTF-8, else in base64.
    public static func signal(body: [UInt8], t: Int64, channel: String = "amqp") -> RecordEntry {
        var entry = RecordEntry(t: t, kind: .signal, channel: channel)
        entry.setBody(body)
        return entry
    }

    /// `text` when the bytes are UTF-8, else `base64`.
    mutating func setBody(_ bytes: [UInt8]) {
        if let text = String(validating: bytes, as: UTF8.self) {
            self.text = text
        } else {
            base64 = Data(bytes).base64EncodedString()
        }
    }

    /// A received frame: its text when it is UTF-8, else its bytes in base64.
    public static func frame(bytes: [UInt8], t: Int64, conn: String, channel: String) -> RecordEntry {
        var entry = RecordEntry(t: t, kind: .frame, conn: conn, channel: channel)
        entry.setBody(bytes)
        return entry
    }

    /// The bytes of `text`, or of `base64` when the body was not UTF-8 (nil when neither
    /// is there, or the base64 is malformed).
    public var body: [UInt8]? {
        if let base64 { return Data(base64Encoded: base64).map { Array($0) } }
        return text.map { Array($0.utf8) }
    }

    public static let formatName = "tradelog-recording"
    public static let formatVersion = "1"

    public static func header(t: Int64, info: [String: String] = [:]) -> RecordEntry {
        var facts = info
        facts["format"] = formatName
        facts["version"] = formatVersion
        return RecordEntry(t: t, kind: .header, info: facts)
    }
}

/// Errors reading or writing recordings; each names the file.
public struct RecordingError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var problem: String
    public var line: Int64?

    public init(path: String, problem: String, line: Int64? = nil) {
        self.path = path
        self.problem = problem
        self.line = line
    }

    public var description: String {
        if let line { return "\(path):\(line): \(problem)" }
        return "\(path): \(problem)"
    }
}
