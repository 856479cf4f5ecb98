import AsyncHTTPClient
import Bybit
import Foundation
import Logging
import NIOCore

/// Settings of `BybitRESTClient` beyond where and who.
public struct BybitRESTConfiguration: Sendable {
    /// `X-BAPI-RECV-WINDOW` in ms (Bybit default 5000).
    public var recvWindowMs: Int
    /// Deadline of one HTTP attempt (connect + response).
    public var requestTimeout: Duration
    public var retryPolicy: RESTRetryPolicy
    public var rateLimits: RESTRateLimiter.Configuration
    /// Responses larger than this fail as transport errors.
    public var maxResponseBytes: Int
    /// Page limit when following cursors (`instruments`, `positions`).
    public var maxPages: Int

    public init(recvWindowMs: Int = 5000, requestTimeout: Duration = .seconds(10),
                retryPolicy: RESTRetryPolicy = RESTRetryPolicy(),
                rateLimits: RESTRateLimiter.Configuration = RESTRateLimiter.Configuration(),
                maxResponseBytes: Int = 32 << 20, maxPages: Int = 100) {
        self.recvWindowMs = recvWindowMs
        self.requestTimeout = requestTimeout
        self.retryPolicy = retryPolicy
        self.rateLimits = rateLimits
        self.maxResponseBytes = maxResponseBytes
        self.maxPages = maxPages
    }
}

/// Bybit v5 REST over a shared AsyncHTTPClient: signing, envelope decoding into typed
/// errors, per-endpoint rate limiting (cancels first), safe retries of reads, one clock
/// re-sync on 10002, and "outcome unknown" instead of blind retries of order entry.
///
/// Logs carry `bybit.*` metadata and never the API key, secret or signature.
public actor BybitRESTClient {
    public nonisolated let environment: BybitEnvironment
    public nonisolated let configuration: BybitRESTConfiguration
    let credentials: BybitCredentials?
    let httpClient: HTTPClient
    let logger: Logger
    let clock: RESTClientClock
    let onResponse: (@Sendable (RESTExchange) -> Void)?

    var offset = BybitClockOffset()
    var limiter: RESTRateLimiter
    /// Requests waiting for admission, by ticket id.
    var waiters: [UInt64: CheckedContinuation<RESTRateLimiter.Ticket, Error>] = [:]
    var admissionTimer: Task<Void, Never>?
    var admissionTimerDeadline: Int64?

    /// - Parameters:
    ///   - httpClient: shared; the caller owns its lifecycle (shutdown).
    ///   - credentials: nil for public endpoints only.
    ///   - onResponse: sees every HTTP response (each attempt), e.g. for the recorder.
    public init(environment: BybitEnvironment, credentials: BybitCredentials? = nil, httpClient: HTTPClient,
                configuration: BybitRESTConfiguration = BybitRESTConfiguration(),
                logger: Logger = Logger(label: "bybit.rest"), clock: RESTClientClock = .system,
                onResponse: (@Sendable (RESTExchange) -> Void)? = nil) {
        self.environment = environment
        self.credentials = credentials
        self.httpClient = httpClient
        self.configuration = configuration
        var logger = logger
        logger[metadataKey: "bybit.env"] = .string(environment.name)
        self.logger = logger
        self.clock = clock
        self.onResponse = onResponse
        self.limiter = RESTRateLimiter(configuration: configuration.rateLimits)
    }

    /// server − local clock, in ms, as last measured.
    public var clockOffsetMs: Int64 { offset.offsetMs }

    /// The rate-limit budget of `group` as currently known.
    public func rateLimitBudget(_ group: RESTRateLimitGroup) -> RESTRateLimiter.Budget? {
        limiter.budget(group)
    }

    // MARK: Market data

    /// `GET /v5/market/time`.
    public func serverTime() async throws -> RESTServerTime {
        try await send(.serverTime(), as: RESTServerTime.self).result
    }

    /// Measures the clock offset from `/v5/market/time` and uses it for all timestamps.
    @discardableResult
    public func syncClock() async throws -> Int64 {
        let sentAt = clock.nowMs
        let response = try await send(.serverTime(), as: RESTServerTime.self, resyncAllowed: false)
        let receivedAt = clock.nowMs
        let server = response.result.timeNano != nil
            ? response.result.milliseconds
            : (response.time ?? response.result.milliseconds)
        offset.record(serverTimeMs: server, sentAtMs: sentAt, receivedAtMs: receivedAt)
        logger.debug("bybit clock synced", metadata: [
            "bybit.clock_offset_ms": "\(offset.offsetMs)", "bybit.round_trip_ms": "\(receivedAt - sentAt)",
        ])
        return offset.offsetMs
    }

    /// All instruments of `category` (or one symbol), following `nextPageCursor`.
    public func instruments(category: RESTCategory, symbol: String? = nil) async throws -> [RESTInstrument] {
        try await allPages { cursor in
            .instruments(category: category, symbol: symbol, limit: category == .spot ? nil : 1000, cursor: cursor)
        }
    }

    /// `GET /v5/market/tickers`.
    public func tickers(category: RESTCategory, symbol: String? = nil) async throws -> [RESTTicker] {
        try await send(.tickers(category: category, symbol: symbol), as: RESTList<RESTTicker>.self).result.list
    }

    /// `GET /v5/market/orderbook`.
    public func orderbook(category: RESTCategory, symbol: String, limit: Int? = nil) async throws -> RESTOrderbook {
        try await send(.orderbook(category: category, symbol: symbol, limit: limit), as: RESTOrderbook.self).result
    }

    /// `GET /v5/market/kline`; rows newest first, as Bybit sends them.
    public func klines(category: RESTCategory, symbol: String, interval: RESTKlineInterval,
                       start: Int64? = nil, end: Int64? = nil, limit: Int? = nil) async throws -> [RESTKline] {
        try await send(.klines(category: category, symbol: symbol, interval: interval, start: start, end: end, limit: limit),
                       as: RESTKlines.self).result.list
    }

    /// `GET /v5/market/funding/history`.
    public func fundingHistory(category: RESTCategory, symbol: String, startTime: Int64? = nil,
                               endTime: Int64? = nil, limit: Int? = nil) async throws -> [RESTFundingRate] {
        try await send(.fundingHistory(category: category, symbol: symbol, startTime: startTime, endTime: endTime, limit: limit),
                       as: RESTList<RESTFundingRate>.self).result.list
    }

    /// `GET /v5/market/recent-trade`.
    public func recentTrades(category: RESTCategory, symbol: String? = nil, limit: Int? = nil) async throws -> [RESTPublicTrade] {
        try await send(.recentTrades(category: category, symbol: symbol, limit: limit), as: RESTList<RESTPublicTrade>.self).result.list
    }

    // MARK: Orders

    /// `POST /v5/order/create`. Throws `BybitOrderOutcomeUnknownError` when the order may or
    /// may not exist (settle by `orderLinkId`), `BybitAPIError` when rejected.
    public func createOrder(_ order: RESTCreateOrder) async throws -> RESTOrderAck {
        try await send(order.request, as: RESTOrderAck.self).result
    }

    /// `POST /v5/order/amend`.
    public func amendOrder(_ amend: RESTAmendOrder) async throws -> RESTOrderAck {
        try await send(amend.request, as: RESTOrderAck.self).result
    }

    /// `POST /v5/order/cancel`.
    public func cancelOrder(_ cancel: RESTCancelOrder) async throws -> RESTOrderAck {
        try await send(cancel.request, as: RESTOrderAck.self).result
    }

    /// `POST /v5/order/cancel-all`.
    public func cancelAllOrders(category: RESTCategory, symbol: String? = nil, settleCoin: String? = nil) async throws -> RESTCancelAllResult {
        try await send(RESTCancelAllOrders(category: category, symbol: symbol, settleCoin: settleCoin).request,
                       as: RESTCancelAllResult.self).result
    }

    /// `GET /v5/order/realtime`, one page.
    public func openOrders(category: RESTCategory, symbol: String? = nil, orderLinkId: String? = nil,
                           orderId: String? = nil, openOnly: Int? = nil, cursor: String? = nil, limit: Int? = nil,
                           settleCoin: String? = nil) async throws -> RESTPage<RESTOrder> {
        try await send(.openOrders(category: category, symbol: symbol, settleCoin: settleCoin, orderLinkId: orderLinkId,
                                   orderId: orderId, openOnly: openOnly, cursor: cursor, limit: limit),
                       as: RESTPage<RESTOrder>.self).result
    }

    /// `GET /v5/order/history`, one page.
    public func orderHistory(category: RESTCategory, symbol: String? = nil, orderLinkId: String? = nil,
                             orderId: String? = nil, orderStatus: String? = nil, startTime: Int64? = nil,
                             endTime: Int64? = nil, cursor: String? = nil, limit: Int? = nil) async throws -> RESTPage<RESTOrder> {
        try await send(.orderHistory(category: category, symbol: symbol, orderLinkId: orderLinkId, orderId: orderId,
                                     orderStatus: orderStatus, startTime: startTime, endTime: endTime, cursor: cursor, limit: limit),
                       as: RESTPage<RESTOrder>.self).result
    }

    /// `GET /v5/execution/list`, one page.
    public func executions(category: RESTCategory, symbol: String? = nil, orderLinkId: String? = nil,
                           orderId: String? = nil, startTime: Int64? = nil, endTime: Int64? = nil,
                           cursor: String? = nil, limit: Int? = nil) async throws -> RESTPage<RESTExecution> {
        try await send(.executions(category: category, symbol: symbol, orderLinkId: orderLinkId, orderId: orderId,
                                   startTime: startTime, endTime: endTime, cursor: cursor, limit: limit),
                       as: RESTPage<RESTExecution>.self).result
    }

    /// `GET /v5/order/realtime`, every page (50 per page, Bybit's most).
    public func allOpenOrders(category: RESTCategory, settleCoin: String? = nil) async throws -> [RESTOrder] {
        try await allPages { cursor in .openOrders(category: category, settleCoin: settleCoin, cursor: cursor, limit: 50) }
    }

    /// How far back Bybit keeps executions (two years).
    public static let executionHistoryMs: Int64 = 730 * 86_400_000

    /// Bybit answers `/v5/execution/list` for at most 7 days at a time.
    public static let executionWindowMs: Int64 = 7 * 86_400_000

    /// `GET /v5/execution/list`, every page, from `startTime` (ms) on: whole 7-day windows up
    /// to `nowMs`, then the last window open-ended (Bybit's own 7 days from its start). Without
    /// `startTime`, Bybit's default: the last 7 days.
    public func allExecutions(category: RESTCategory, startTime: Int64?, nowMs: Int64) async throws -> [RESTExecution] {
        var out: [RESTExecution] = []
        // Bybit keeps two years of executions: an older start would only walk empty windows.
        var from = startTime.map { max($0, nowMs - Self.executionHistoryMs) }
        while let start = from, start + Self.executionWindowMs <= nowMs {
            let end = start + Self.executionWindowMs - 1
            out += try await executions(category: category, from: start, to: end)
            from = end + 1
        }
        let last = from
        do {
            out += try await allPages(failAtPageLimit: true) { cursor in .executions(category: category, startTime: last, cursor: cursor, limit: 100) }
        } catch is BybitPaginationLimit where last != nil {
            // More than the page limit in the open window: fetched as a closed one, split as needed.
            out += try await executions(category: category, from: last!, to: last! + Self.executionWindowMs - 1)
        }
        return out
    }

    /// Every execution in `[from, to]` (ms): a window with more than the page limit is split in
    /// two (lists come newest first, so stopping at the limit would lose the oldest).
    func executions(category: RESTCategory, from: Int64, to: Int64) async throws -> [RESTExecution] {
        do {
            return try await allPages(failAtPageLimit: true) { cursor in
                .executions(category: category, startTime: from, endTime: to, cursor: cursor, limit: 100)
            }
        } catch is BybitPaginationLimit where to - from >= 1_000 {
            let middle = from + (to - from) / 2
            return try await executions(category: category, from: from, to: middle)
                + executions(category: category, from: middle + 1, to: to)
        }
    }

    // MARK: Account

    /// `GET /v5/position/list`, all pages.
    public func positions(category: RESTCategory, symbol: String? = nil, settleCoin: String? = nil) async throws -> [RESTPosition] {
        try await allPages { cursor in
            .positions(category: category, symbol: symbol, settleCoin: settleCoin, cursor: cursor, limit: 200)
        }
    }

    /// `GET /v5/position/list`, all pages, with the server's time of the first answer (ms, on
    /// the exchange's clock like the fills' `execTime`): a position it leaves out was flat then.
    public func positionsAsOf(category: RESTCategory, settleCoin: String? = nil) async throws
        -> (positions: [RESTPosition], serverTimeMs: Int64?) {
        let r: (items: [RESTPosition], serverTimeMs: Int64?) = try await allPagesAsOf { cursor in
            .positions(category: category, symbol: nil, settleCoin: settleCoin, cursor: cursor, limit: 200)
        }
        return (r.items, r.serverTimeMs)
    }

    /// `GET /v5/account/wallet-balance`.
    public func walletBalance(accountType: String = "UNIFIED", coin: String? = nil) async throws -> RESTWalletBalance {
        try await send(.walletBalance(accountType: accountType, coin: coin), as: RESTWalletBalance.self).result
    }

    /// Fetches pages until `nextPageCursor` is empty (or repeats, or `maxPages` is reached).
    func allPages<Item: Codable & Sendable & Hashable>(
        failAtPageLimit: Bool = false, _ build: (String?) -> BybitRESTRequest
    ) async throws -> [Item] {
        try await allPagesAsOf(failAtPageLimit: failAtPageLimit, build).items
    }

    /// The same, with the server's time (the envelope's `time`, ms) of the first page.
    func allPagesAsOf<Item: Codable & Sendable & Hashable>(
        failAtPageLimit: Bool = false, _ build: (String?) -> BybitRESTRequest
    ) async throws -> (items: [Item], serverTimeMs: Int64?) {
        var items: [Item] = []
        var cursor: String?
        var seen = Set<String>()
        var first: Int64?
        for page in 0..<configuration.maxPages {
            let response = try await send(build(cursor), as: RESTPage<Item>.self)
            if page == 0 { first = response.time }
            items += response.result.list
            guard let next = response.result.nextPageCursor, seen.insert(next).inserted else { return (items, first) }
            cursor = next
        }
        if failAtPageLimit {
            // Lists come newest first: what is cut is the oldest, which a caller going on from the
            // newest would never fetch again.
            throw BybitPaginationLimit(maxPages: configuration.maxPages)
        }
        logger.warning("bybit pagination stopped at the page limit", metadata: ["bybit.max_pages": "\(configuration.maxPages)"])
        return (items, first)
    }
}

/// A list longer than the client's page limit, where stopping would lose its oldest items.
public struct BybitPaginationLimit: Error, CustomStringConvertible {
    public var maxPages: Int
    public var description: String { "more than \(maxPages) pages: the oldest items would be missed (raise maxPages)" }
}
