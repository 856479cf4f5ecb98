/// One REST request/response as it crossed the wire, for the recorder. Holds no key,
/// secret or signature: only the request's method, path, query and body, and the response.
public struct RESTExchange: Sendable, Hashable {
    public let method: RESTMethod
    public let path: String
    /// The query string as sent (no `?`).
    public let query: String
    /// The request body as sent (POST), `""` for GET.
    public let requestBody: String
    public let status: Int
    /// Response headers in arrival order.
    public let headers: [RESTHeader]
    public let body: [UInt8]
    /// Local clock (µs since epoch) when the request was sent and when the response arrived.
    public let sentAtMicros: Int64
    public let receivedAtMicros: Int64
    /// 1 for the first attempt, 2… for retries.
    public let attempt: Int

    public init(method: RESTMethod, path: String, query: String, requestBody: String, status: Int,
                headers: [RESTHeader], body: [UInt8], sentAtMicros: Int64, receivedAtMicros: Int64, attempt: Int) {
        self.method = method
        self.path = path
        self.query = query
        self.requestBody = requestBody
        self.status = status
        self.headers = headers
        self.body = body
        self.sentAtMicros = sentAtMicros
        self.receivedAtMicros = receivedAtMicros
        self.attempt = attempt
    }
}
