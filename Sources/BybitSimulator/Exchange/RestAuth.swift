import Bybit

/// Checks a signed REST request as Bybit does (reference §2.2): key known (10003), timestamp
/// in `[server − recvWindow, server + 1000)` (10002), HMAC over
/// `timestamp + apiKey + recvWindow + (raw query | raw body)` (10004). Secrets never leave.
public struct RestAuthenticator: Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    let secrets: [String: String]

    /// Keys only: secrets never reach logs or test failure dumps.
    public var description: String { "RestAuthenticator(keys: \(secrets.keys.sorted()))" }
    public var debugDescription: String { description }

    public init(secrets: [String: String]) { self.secrets = secrets }

    public func verify(_ r: RestRequest, now: Int64) -> Result<String, ExchangeError> {
        guard let key = r.headers["x-bapi-api-key"], !key.isEmpty, let secret = secrets[key] else {
            return .failure(ExchangeError(10003, "API key is invalid."))
        }
        let recvWindow = r.headers["x-bapi-recv-window"].flatMap { Int($0) } ?? 5000
        let tsText = r.headers["x-bapi-timestamp"] ?? ""
        guard let ts = Int64(tsText), ts >= now - Int64(recvWindow), ts < now + 1000 else {
            return .failure(ExchangeError(10002,
                "invalid request, please check your server timestamp or recv_window param. req_timestamp[\(tsText)],server_timestamp[\(now)],recv_window[\(recvWindow)]"))
        }
        let payload = r.method == "GET" ? r.rawQuery : r.body
        let given = r.headers["x-bapi-sign"] ?? ""
        let expected = BybitSigner(secret: secret).restSignature(timestamp: ts, apiKey: key, recvWindow: recvWindow, payload: payload)
        guard BybitSigner.matches(given.lowercased(), expected) else {
            // Bybit echoes its plaintext; the key is masked as in the captured fixture.
            let masked = String(repeating: "X", count: key.count)
            return .failure(ExchangeError(10004, "error sign! origin_string[\(tsText)\(masked)\(recvWindow)\(payload)]"))
        }
        return .success(key)
    }

    /// The private WebSocket auth: HMAC of `GET/realtime{expires}`.
    public func verifySocket(apiKey: String, expires: Int64, signature: String) -> AuthCheck {
        guard let secret = secrets[apiKey] else { return .failed("error:invalid api key") }
        let expected = BybitSigner(secret: secret).webSocketAuthSignature(expires: expires)
        return BybitSigner.matches(signature.lowercased(), expected) ? .ok : .failed("error:signature verification failed")
    }
}
