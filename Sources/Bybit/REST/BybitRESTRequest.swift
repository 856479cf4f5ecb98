import Foundation

/// One REST request, fully built: its payload (query string or JSON body) is fixed here and
/// is exactly what gets signed and sent. Signing only adds headers.
public struct BybitRESTRequest: Sendable, Hashable, CustomStringConvertible {
    public let endpoint: RESTEndpoint
    /// The GET query string without `?` (empty for POST).
    public let queryString: String
    /// The POST body (empty for GET).
    public let body: String
    /// The budget this request counts against.
    public let rateLimitGroup: RESTRateLimitGroup
    /// The client id of an order-entry request, kept for "outcome unknown" errors.
    public let orderLinkId: String?

    /// A GET with `query`.
    public init(get endpoint: RESTEndpoint, query: RESTQuery, category: RESTCategory? = nil) {
        self.endpoint = endpoint
        self.queryString = query.encoded
        self.body = ""
        self.rateLimitGroup = RESTRateLimitGroup(kind: endpoint.kind, category: category)
        self.orderLinkId = nil
    }

    /// A POST with `body`.
    public init(post endpoint: RESTEndpoint, body: RESTJSONBody, category: RESTCategory? = nil, orderLinkId: String? = nil) {
        self.init(post: endpoint, rawBody: body.encoded, category: category, orderLinkId: orderLinkId)
    }

    /// A POST with a body string taken verbatim (tests; bodies built elsewhere).
    public init(post endpoint: RESTEndpoint, rawBody: String, category: RESTCategory? = nil, orderLinkId: String? = nil) {
        self.endpoint = endpoint
        self.queryString = ""
        self.body = rawBody
        self.rateLimitGroup = RESTRateLimitGroup(kind: endpoint.kind, category: category)
        self.orderLinkId = orderLinkId.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var method: RESTMethod { endpoint.method }
    public var path: String { endpoint.path }

    /// What is signed: the query string of a GET, the body of a POST.
    public var signedPayload: String { endpoint.method == .get ? queryString : body }

    /// `/v5/...?...` as sent.
    public var pathAndQuery: String { queryString.isEmpty ? endpoint.path : "\(endpoint.path)?\(queryString)" }

    /// Headers for this request at `timestamp` (server-time ms). Without credentials only
    /// the content type is set (public endpoints).
    public func signed(credentials: BybitCredentials?, timestampMs: Int64, recvWindowMs: Int = 5000) -> BybitSignedRESTRequest {
        var headers: [RESTHeader] = []
        if let credentials {
            let signature = credentials.signer.restSignature(
                timestamp: timestampMs, apiKey: credentials.apiKey, recvWindow: recvWindowMs, payload: signedPayload)
            headers.append(RESTHeader(name: RESTHeader.apiKey, value: credentials.apiKey))
            headers.append(RESTHeader(name: RESTHeader.timestamp, value: String(timestampMs)))
            headers.append(RESTHeader(name: RESTHeader.sign, value: signature))
            headers.append(RESTHeader(name: RESTHeader.recvWindow, value: String(recvWindowMs)))
            headers.append(RESTHeader(name: RESTHeader.signType, value: "2"))
        }
        if endpoint.method == .post {
            headers.append(RESTHeader(name: "Content-Type", value: "application/json"))
        }
        return BybitSignedRESTRequest(request: self, headers: headers, timestampMs: credentials == nil ? nil : timestampMs)
    }

    public var description: String { "\(endpoint.method.rawValue) \(pathAndQuery)" }
}

/// One HTTP header.
public struct RESTHeader: Sendable, Hashable {
    public let name: String
    public let value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }

    public static let apiKey = "X-BAPI-API-KEY"
    public static let timestamp = "X-BAPI-TIMESTAMP"
    public static let sign = "X-BAPI-SIGN"
    public static let recvWindow = "X-BAPI-RECV-WINDOW"
    public static let signType = "X-BAPI-SIGN-TYPE"
}

/// A request with its headers, ready to send. `description` redacts the key and signature.
public struct BybitSignedRESTRequest: Sendable, Hashable, CustomStringConvertible {
    public let request: BybitRESTRequest
    public let headers: [RESTHeader]
    /// The `X-BAPI-TIMESTAMP` sent, if signed.
    public let timestampMs: Int64?

    /// The value of header `name` (case-insensitive).
    public func header(_ name: String) -> String? {
        headers.first { $0.name.caseInsensitiveCompare(name) == .orderedSame }?.value
    }

    /// The exact body bytes to send (empty for GET).
    public var bodyBytes: [UInt8] { Array(request.body.utf8) }

    public var description: String {
        let shown = headers.map { h -> String in
            let secret = h.name == RESTHeader.sign || h.name == RESTHeader.apiKey
            return "\(h.name): \(secret ? "<redacted>" : h.value)"
        }
        return "\(request) [\(shown.joined(separator: ", "))]"
    }
}
