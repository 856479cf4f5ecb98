import AsyncHTTPClient
import Bybit
import BybitClient
import Foundation
import Logging

/// Runs `body` against a fresh stub server and always stops the server.
func withRESTStub<T>(serverSkewMs: Int64 = 0, reportedTimeSkewMs: Int64 = 0,
                     script: @escaping RESTStubServer.Script = { _ in nil },
                     _ body: (RESTStubServer) async throws -> T) async throws -> T {
    let stub = try await RESTStubServer.start(serverSkewMs: serverSkewMs, reportedTimeSkewMs: reportedTimeSkewMs, script: script)
    do {
        let value = try await body(stub)
        await stub.stop()
        return value
    } catch {
        await stub.stop()
        throw error
    }
}

/// A client on the shared HTTPClient, with short retry delays.
func makeRESTClient(_ stub: RESTStubServer, credentials: BybitCredentials? = nil, useStubCredentials: Bool = true,
                    clock: RESTClientClock = .system, timeout: Duration = .seconds(5), recvWindowMs: Int = 5000,
                    maxPages: Int = 100, onResponse: (@Sendable (RESTExchange) -> Void)? = nil) -> BybitRESTClient {
    var logger = Logger(label: "rest-client-test")
    logger.logLevel = .critical
    return BybitRESTClient(
        environment: stub.environment,
        credentials: credentials ?? (useStubCredentials ? stub.credentials : nil),
        httpClient: HTTPClient.shared,
        configuration: BybitRESTConfiguration(
            recvWindowMs: recvWindowMs, requestTimeout: timeout,
            retryPolicy: RESTRetryPolicy(maxReadAttempts: 3, baseDelayMs: 20, maxDelayMs: 100), maxPages: maxPages),
        logger: logger, clock: clock, onResponse: onResponse)
}

/// Collects observer callbacks (called from any thread).
final class ExchangeCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [RESTExchange] = []

    func add(_ exchange: RESTExchange) {
        lock.lock()
        items.append(exchange)
        lock.unlock()
    }

    var exchanges: [RESTExchange] {
        lock.lock()
        defer { lock.unlock() }
        return items
    }
}

extension StubReply {
    /// A success with Bybit's rate-limit headers.
    static func ok(_ result: String, remaining: Int, limit: Int, resetAtMs: Int64) -> StubReply {
        var reply = StubReply.ok(result)
        reply.headers = [("X-Bapi-Limit-Status", "\(remaining)"), ("X-Bapi-Limit", "\(limit)"),
                         ("X-Bapi-Limit-Reset-Timestamp", "\(resetAtMs)")]
        return reply
    }
}

let emptyOrderPage = #"{"list":[],"nextPageCursor":"","category":"linear"}"#
let emptyPositionPage = #"{"list":[],"nextPageCursor":"","category":"linear"}"#
let sampleWallet = #"{"list":[{"accountType":"UNIFIED","totalEquity":"10","coin":[{"coin":"USDT","walletBalance":"-1.5","availableToWithdraw":""}]}]}"#
let sampleTickers = #"{"category":"spot","list":[{"symbol":"BTCUSDT","bid1Price":"100.5","bid1Size":"1","ask1Price":"101","ask1Size":"2","lastPrice":"100.7"}]}"#
