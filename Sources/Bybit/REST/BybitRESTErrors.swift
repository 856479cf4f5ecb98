import TradelogCore

/// Bybit answered (HTTP 200) with `retCode ≠ 0`: the request was rejected.
public struct BybitAPIError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Int
    public let message: String
    /// The envelope `time` (server ms), when present.
    public let time: Int64?
    /// `retExtInfo`, when present and not empty.
    public let extInfo: JSONValue?
    /// The request path, when known.
    public var path: String?

    public init(code: Int, message: String, time: Int64? = nil, extInfo: JSONValue? = nil, path: String? = nil) {
        self.code = code
        self.message = message
        self.time = time
        self.extInfo = extInfo
        self.path = path
    }

    /// 10002: timestamp outside recv_window (re-sync the clock).
    public var isTimestampError: Bool { code == 10002 }
    /// 10003: invalid API key, or a key of another environment.
    public var isInvalidAPIKey: Bool { code == 10003 }
    /// 10004: bad signature.
    public var isSignatureError: Bool { code == 10004 }
    /// 10005: permission denied.
    public var isPermissionDenied: Bool { code == 10005 }
    /// 10006: per-UID rate limit hit.
    public var isRateLimit: Bool { code == 10006 }
    /// 10016 / 5004: Bybit-side failure or timeout.
    public var isServerError: Bool { code == 10016 || code == 5004 }
    /// 110072 (derivatives) / 170141 (spot): the orderLinkId was used before.
    public var isDuplicateOrderLinkID: Bool { code == 110072 || code == 170141 }
    /// 110001 (derivatives) / 170213 (spot): no such order.
    public var isOrderNotFound: Bool { code == 110001 || code == 170213 }
    /// 110008: the order is already filled or cancelled.
    public var isOrderAlreadyClosed: Bool { code == 110008 }
    /// Balance too low for the order.
    public var isInsufficientBalance: Bool { [110004, 110007, 110012, 170131].contains(code) }

    public var description: String {
        "Bybit API error \(code): \(message)" + (path.map { " (\($0))" } ?? "")
    }
}

/// A non-200 HTTP status (403 IP ban / region block, 429, 5xx, …).
public struct BybitHTTPError: Error, Sendable, Hashable, CustomStringConvertible {
    public let status: Int
    public let path: String
    /// The start of the body, for diagnostics.
    public let bodyPrefix: String

    public init(status: Int, path: String, bodyPrefix: String) {
        self.status = status
        self.path = path
        self.bodyPrefix = bodyPrefix
    }

    /// 403: IP rate limit ("access too frequent", wait ≥10 min) or a blocked region.
    public var isForbidden: Bool { status == 403 }
    public var isRateLimit: Bool { status == 429 }
    public var isServerError: Bool { (500...599).contains(status) }

    public var description: String { "HTTP \(status) from \(path): \(bodyPrefix)" }
}

/// An order-entry request (create/amend/cancel/cancel-all) may or may not have been executed:
/// it timed out, the connection broke after it was sent, or the server failed (5xx, 10016).
/// Never retried; settle it by querying the order by `orderLinkId`.
public struct BybitOrderOutcomeUnknownError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let orderLinkId: String?
    public let reason: String

    public init(path: String, orderLinkId: String?, reason: String) {
        self.path = path
        self.orderLinkId = orderLinkId
        self.reason = reason
    }

    public var description: String {
        "outcome unknown for \(path)" + (orderLinkId.map { " orderLinkId=\($0)" } ?? "") + ": \(reason)"
    }
}

/// The request failed below HTTP (connect, TLS, timeout, reset).
public struct BybitTransportError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String
    public let message: String
    /// False only when the request certainly never left (connection not established).
    public let mayHaveBeenSent: Bool
    public let timedOut: Bool

    public init(path: String, message: String, mayHaveBeenSent: Bool, timedOut: Bool) {
        self.path = path
        self.message = message
        self.mayHaveBeenSent = mayHaveBeenSent
        self.timedOut = timedOut
    }

    public var description: String { "transport error on \(path): \(message)" }
}

/// The body was not the expected envelope or result shape.
public struct BybitRESTDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    public let path: String?
    public let message: String
    public let bodyPrefix: String

    public init(path: String?, message: String, bodyPrefix: String) {
        self.path = path
        self.message = message
        self.bodyPrefix = bodyPrefix
    }

    public var description: String {
        "cannot decode Bybit response" + (path.map { " from \($0)" } ?? "") + ": \(message); body: \(bodyPrefix)"
    }
}

/// The client cannot send the request as configured (e.g. a private endpoint without keys,
/// or an IP ban in force).
public struct BybitRESTUsageError: Error, Sendable, Hashable, CustomStringConvertible {
    public let message: String

    public init(_ message: String) { self.message = message }

    public var description: String { message }
}
