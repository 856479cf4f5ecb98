import AsyncHTTPClient
import Bybit
import Foundation
import Logging
import NIOCore

extension BybitRESTClient {
    /// Sends any request and decodes its `result` as `Result`, with admission, signing,
    /// retries and error mapping. The typed endpoint methods all go through here.
    public func send<Result: Decodable & Sendable>(_ request: BybitRESTRequest, as type: Result.Type) async throws -> RESTResponse<Result> {
        try await send(request, as: type, resyncAllowed: true)
    }

    func send<Result: Decodable & Sendable>(_ request: BybitRESTRequest, as type: Result.Type,
                                             resyncAllowed: Bool) async throws -> RESTResponse<Result> {
        if request.endpoint.requiresAuth && credentials == nil {
            throw BybitRESTUsageError("\(request.endpoint) needs API credentials")
        }
        var log = logger
        log[metadataKey: "bybit.path"] = .string(request.path)
        log[metadataKey: "bybit.method"] = .string(request.method.rawValue)
        if let link = request.orderLinkId { log[metadataKey: "bybit.order_link_id"] = .string(link) }

        var attempt = 0
        var clockResynced = !resyncAllowed
        while true {
            attempt += 1
            try Task.checkCancellation()
            let ticket = try await admit(request.rateLimitGroup)
            let failure: RESTFailure
            let error: any Error
            switch await performAttempt(request, attempt: attempt) {
            case .transport(let transportError):
                release(ticket, .noResponse)
                (failure, error) = (.transport(mayHaveBeenSent: transportError.mayHaveBeenSent), transportError)
                log.warning("bybit request failed", metadata: [
                    "bybit.attempt": "\(attempt)", "bybit.error": "\(transportError.message)",
                ])
            case .response(let status, let headers, let body):
                switch try interpret(request, as: Result.self, ticket: ticket, status: status, headers: headers,
                                     body: body, attempt: attempt, log: log) {
                case .success(let response): return response
                case .failure(let f, let e): (failure, error) = (f, e)
                }
            }

            switch configuration.retryPolicy.decide(endpoint: request.endpoint, failure: failure, attempt: attempt,
                                                    clockResynced: clockResynced) {
            case .retry(let delayMs):
                log.info("bybit retrying", metadata: ["bybit.attempt": "\(attempt)", "bybit.delay_ms": "\(delayMs)"])
                if delayMs > 0 { try await clock.sleep(delayMs) }
            case .resyncClockThenRetry:
                clockResynced = true
                do {
                    let offsetMs = try await syncClock()
                    log.notice("bybit timestamp rejected; clock re-synced", metadata: ["bybit.clock_offset_ms": "\(offsetMs)"])
                } catch let syncError {
                    log.warning("bybit clock re-sync failed", metadata: ["bybit.error": "\(syncError)"])
                    throw error
                }
            case .fail:
                throw error
            case .outcomeUnknown:
                log.error("bybit order request outcome unknown", metadata: ["bybit.error": "\(error)"])
                throw BybitOrderOutcomeUnknownError(path: request.path, orderLinkId: request.orderLinkId, reason: "\(error)")
            }
        }
    }

    enum Interpretation<Result: Sendable> {
        case success(RESTResponse<Result>)
        case failure(RESTFailure, any Error)
    }

    /// Turns one HTTP response into a result or a failure for the retry policy, and tells
    /// the rate limiter what the response said. Throws only for undecodable bodies.
    private func interpret<Result: Decodable & Sendable>(
        _ request: BybitRESTRequest, as type: Result.Type, ticket: RESTRateLimiter.Ticket, status: Int,
        headers: [RESTHeader], body: [UInt8], attempt: Int, log: Logger
    ) throws -> Interpretation<Result> {
        let limits = RESTRateLimitStatus(headers: headers)
        guard status == 200 else {
            switch status {
            case 403: release(ticket, .ipBlocked)
            case 429: release(ticket, .rateLimited(resetAtMs: limits?.resetAtMs))
            default: release(ticket, .response(limits))
            }
            log.warning("bybit HTTP error", metadata: ["bybit.attempt": "\(attempt)", "bybit.status": "\(status)"])
            let error = BybitHTTPError(status: status, path: request.path, bodyPrefix: redact(RESTEnvelopeDecoder.prefix(body)))
            return .failure(.http(status: status), error)
        }
        let header: RESTEnvelopeDecoder.Header
        do {
            header = try RESTEnvelopeDecoder.header(body, path: request.path)
        } catch {
            release(ticket, .response(limits))
            throw undecodable(request, body: body, error: error, log: log)
        }
        release(ticket, header.retCode == 10006 ? .rateLimited(resetAtMs: limits?.resetAtMs) : .response(limits))
        guard header.retCode == 0 else {
            let raw = header.apiError(path: request.path)
            let error = BybitAPIError(code: raw.code, message: redact(raw.message), time: raw.time,
                                      extInfo: raw.extInfo, path: request.path)
            log.warning("bybit API error", metadata: [
                "bybit.attempt": "\(attempt)", "bybit.ret_code": "\(error.code)", "bybit.ret_msg": "\(error.message)",
            ])
            return .failure(.api(code: header.retCode), error)
        }
        do {
            let decoded = try RESTEnvelopeDecoder.decode(Result.self, from: body, path: request.path)
            log.trace("bybit response", metadata: ["bybit.attempt": "\(attempt)", "bybit.ret_code": "0"])
            return .success(decoded)
        } catch {
            throw undecodable(request, body: body, error: error, log: log)
        }
    }

    /// A 200 whose body is not the expected shape. For order entry the request did reach
    /// Bybit, so its effect is unknown.
    private func undecodable(_ request: BybitRESTRequest, body: [UInt8], error: any Error, log: Logger) -> any Error {
        log.error("bybit response not decodable", metadata: ["bybit.error": "\(redact("\(error)"))"])
        if request.endpoint.kind.isOrderEntry {
            return BybitOrderOutcomeUnknownError(path: request.path, orderLinkId: request.orderLinkId,
                                                 reason: "undecodable response: \(redact("\(error)"))")
        }
        if let decoding = error as? BybitRESTDecodingError {
            return BybitRESTDecodingError(path: decoding.path, message: redact(decoding.message), bodyPrefix: redact(decoding.bodyPrefix))
        }
        return error
    }

    enum AttemptOutcome {
        case response(status: Int, headers: [RESTHeader], body: [UInt8])
        case transport(BybitTransportError)
    }

    /// One HTTP exchange: signs with a fresh timestamp, sends, collects the body.
    private func performAttempt(_ request: BybitRESTRequest, attempt: Int) async -> AttemptOutcome {
        let signed = request.signed(credentials: request.endpoint.requiresAuth ? credentials : nil,
                                    timestampMs: serverNowMs, recvWindowMs: configuration.recvWindowMs)
        var http = HTTPClientRequest(url: environment.restBaseURL + request.pathAndQuery)
        http.method = request.method == .get ? .GET : .POST
        for header in signed.headers { http.headers.add(name: header.name, value: header.value) }
        if request.method == .post { http.body = .bytes(ByteBuffer(bytes: signed.bodyBytes)) }

        let sentAt = clock.nowMicros()
        do {
            let response = try await httpClient.execute(http, timeout: Self.timeAmount(configuration.requestTimeout))
            var buffer = try await response.body.collect(upTo: configuration.maxResponseBytes)
            let body = buffer.readBytes(length: buffer.readableBytes) ?? []
            let headers = response.headers.map { RESTHeader(name: $0.name, value: $0.value) }
            let status = Int(response.status.code)
            if let onResponse {
                onResponse(RESTExchange(
                    method: request.method, path: request.path, query: request.queryString, requestBody: request.body,
                    status: status, headers: headers, body: redactBytes(body), sentAtMicros: sentAt,
                    receivedAtMicros: clock.nowMicros(), attempt: attempt))
            }
            return .response(status: status, headers: headers, body: body)
        } catch {
            return .transport(RESTTransportClassifier.classify(error, path: request.path))
        }
    }

    /// A 10004 reply echoes the plaintext, API key included; keep it out of errors and logs.
    func redact(_ text: String) -> String {
        guard let key = credentials?.apiKey, !key.isEmpty, text.contains(key) else { return text }
        return text.replacingOccurrences(of: key, with: "<api-key>")
    }

    private func redactBytes(_ body: [UInt8]) -> [UInt8] {
        guard let key = credentials?.apiKey, !key.isEmpty else { return body }
        let text = String(decoding: body, as: UTF8.self)
        guard text.contains(key) else { return body }
        return Array(text.replacingOccurrences(of: key, with: "<api-key>").utf8)
    }

    static func timeAmount(_ duration: Duration) -> TimeAmount {
        let (seconds, attoseconds) = duration.components
        return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
