/// An HTTP request as the REST layer sees it: the raw query and body, exactly as received
/// (signatures are computed over those bytes).
public struct RestRequest: Sendable {
    public var method: String
    public var path: String
    public var rawQuery: String
    public var body: String
    /// Header names lowercased.
    public var headers: [String: String]

    public init(method: String, path: String, rawQuery: String = "", body: String = "", headers: [String: String] = [:]) {
        self.method = method
        self.path = path
        self.rawQuery = rawQuery
        self.body = body
        self.headers = Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    /// Query parameters, percent-decoded; the first value wins.
    public var query: [String: String] { Self.parseQuery(rawQuery) }

    public static func parseQuery(_ raw: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in raw.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let k = percentDecode(kv[0])
            if out[k] == nil { out[k] = kv.count > 1 ? percentDecode(kv[1]) : "" }
        }
        return out
    }

    static func percentDecode(_ s: Substring) -> String {
        var bytes: [UInt8] = []
        var it = Array(s.utf8)[...]
        while let b = it.popFirst() {
            if b == UInt8(ascii: "%"), it.count >= 2, let h = hexValue(it[it.startIndex]), let l = hexValue(it[it.startIndex + 1]) {
                bytes.append(h << 4 | l)
                it = it.dropFirst(2)
            } else {
                bytes.append(b)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func hexValue(_ b: UInt8) -> UInt8? {
        switch b {
        case 48...57: return b - 48
        case 65...70: return b - 55
        case 97...102: return b - 87
        default: return nil
        }
    }
}

/// An HTTP answer: status (Bybit answers errors with 200), headers, JSON body.
public struct RestReply: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]

    public init(status: Int = 200, headers: [(String, String)] = [], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public var text: String { String(decoding: body, as: UTF8.self) }

    /// `{"retCode","retMsg","result","retExtInfo":{},"time"}`.
    public static func envelope(code: Int = 0, message: String = "OK", time: Int64, result: (inout JSONOut) -> Void) -> [UInt8] {
        var j = JSONOut(capacity: 512)
        j.openObject()
        j.field("retCode", int: Int64(code))
        j.field("retMsg", message)
        j.key("result")
        result(&j)
        j.key("retExtInfo")
        j.openObject()
        j.closeObject()
        j.field("time", int: time)
        j.closeObject()
        return j.bytes
    }

    public static func error(_ e: ExchangeError, time: Int64, headers: [(String, String)] = []) -> RestReply {
        RestReply(headers: headers, body: envelope(code: e.code, message: e.message, time: time) { j in
            j.openObject()
            j.closeObject()
        })
    }
}

/// Per-key, per-path request counting in one-second windows, for the `X-Bapi-Limit*` headers.
public struct RateLimiter: Sendable {
    struct Window: Sendable {
        var start: Int64
        var used: Int
    }

    var windows: [String: Window] = [:]
    /// Replaces the limit of create, amend and cancel (see `SimulatorConfiguration.orderRateLimit`).
    var orderLimit: Int?

    public init() {}

    static let orderPaths: Set<String> = ["/v5/order/create", "/v5/order/amend", "/v5/order/cancel"]

    /// The per-second limit Bybit documents for the path (reference §2.9).
    public static func limit(path: String) -> Int {
        switch path {
        case "/v5/order/create", "/v5/order/amend", "/v5/order/cancel": return 10
        case "/v5/order/cancel-all": return 10
        default: return 50
        }
    }

    /// Counts one request; returns (limit, remaining, reset ms).
    public mutating func hit(apiKey: String, path: String, now: Int64) -> (Int, Int, Int64) {
        let limit = orderLimit.flatMap { Self.orderPaths.contains(path) ? $0 : nil } ?? Self.limit(path: path)
        let key = apiKey + " " + path
        var w = windows[key] ?? Window(start: now, used: 0)
        if now - w.start >= 1000 { w = Window(start: now, used: 0) }
        w.used += 1
        windows[key] = w
        return (limit, max(0, limit - w.used), w.start + 1000)
    }

    public static func headers(limit: Int, remaining: Int, reset: Int64) -> [(String, String)] {
        [("X-Bapi-Limit", String(limit)), ("X-Bapi-Limit-Status", String(remaining)),
         ("X-Bapi-Limit-Reset-Timestamp", String(reset))]
    }
}
