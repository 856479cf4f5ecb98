/// Builders for the GET endpoints. Parameter names are Bybit's; nil parameters are left out.
extension BybitRESTRequest {
    /// `GET /v5/market/time`.
    public static func serverTime() -> BybitRESTRequest {
        BybitRESTRequest(get: .serverTime, query: RESTQuery())
    }

    /// `GET /v5/market/instruments-info` (one page; `cursor` from the previous page).
    public static func instruments(category: RESTCategory, symbol: String? = nil, status: String? = nil,
                                   baseCoin: String? = nil, limit: Int? = nil, cursor: String? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("status", status)
        q.set("baseCoin", baseCoin)
        q.set("limit", limit)
        q.set("cursor", cursor)
        return BybitRESTRequest(get: .instrumentsInfo, query: q, category: category)
    }

    /// `GET /v5/market/tickers`.
    public static func tickers(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("baseCoin", baseCoin)
        return BybitRESTRequest(get: .tickers, query: q, category: category)
    }

    /// `GET /v5/market/orderbook`.
    public static func orderbook(category: RESTCategory, symbol: String, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("limit", limit)
        return BybitRESTRequest(get: .orderbook, query: q, category: category)
    }

    /// `GET /v5/market/kline`; `start`/`end` in ms.
    public static func klines(category: RESTCategory, symbol: String, interval: RESTKlineInterval,
                              start: Int64? = nil, end: Int64? = nil, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("interval", interval.rawValue)
        q.set("start", start)
        q.set("end", end)
        q.set("limit", limit)
        return BybitRESTRequest(get: .kline, query: q, category: category)
    }

    /// `GET /v5/market/funding/history` (passing only `startTime` is an error on Bybit).
    public static func fundingHistory(category: RESTCategory, symbol: String, startTime: Int64? = nil,
                                      endTime: Int64? = nil, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("startTime", startTime)
        q.set("endTime", endTime)
        q.set("limit", limit)
        return BybitRESTRequest(get: .fundingHistory, query: q, category: category)
    }

    /// `GET /v5/market/recent-trade`.
    public static func recentTrades(category: RESTCategory, symbol: String? = nil, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("limit", limit)
        return BybitRESTRequest(get: .recentTrades, query: q, category: category)
    }

    /// `GET /v5/order/realtime`; `openOnly` 0 = open orders, 1 = recently closed (reference §2.4).
    public static func openOrders(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil,
                                  settleCoin: String? = nil, orderLinkId: String? = nil, orderId: String? = nil,
                                  openOnly: Int? = nil, orderFilter: String? = nil, cursor: String? = nil,
                                  limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("baseCoin", baseCoin)
        q.set("settleCoin", settleCoin)
        q.set("orderLinkId", orderLinkId)
        q.set("orderId", orderId)
        q.set("openOnly", openOnly)
        q.set("orderFilter", orderFilter)
        q.set("cursor", cursor)
        q.set("limit", limit)
        return BybitRESTRequest(get: .orderRealtime, query: q, category: category)
    }

    /// `GET /v5/order/history` (7-day window per query).
    public static func orderHistory(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil,
                                    settleCoin: String? = nil, orderLinkId: String? = nil, orderId: String? = nil,
                                    orderStatus: String? = nil, orderFilter: String? = nil, startTime: Int64? = nil,
                                    endTime: Int64? = nil, cursor: String? = nil, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("baseCoin", baseCoin)
        q.set("settleCoin", settleCoin)
        q.set("orderLinkId", orderLinkId)
        q.set("orderId", orderId)
        q.set("orderStatus", orderStatus)
        q.set("orderFilter", orderFilter)
        q.set("startTime", startTime)
        q.set("endTime", endTime)
        q.set("cursor", cursor)
        q.set("limit", limit)
        return BybitRESTRequest(get: .orderHistory, query: q, category: category)
    }

    /// `GET /v5/execution/list` (7-day window).
    public static func executions(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil,
                                  orderLinkId: String? = nil, orderId: String? = nil, execType: String? = nil,
                                  startTime: Int64? = nil, endTime: Int64? = nil, cursor: String? = nil,
                                  limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("baseCoin", baseCoin)
        q.set("orderLinkId", orderLinkId)
        q.set("orderId", orderId)
        q.set("execType", execType)
        q.set("startTime", startTime)
        q.set("endTime", endTime)
        q.set("cursor", cursor)
        q.set("limit", limit)
        return BybitRESTRequest(get: .executionList, query: q, category: category)
    }

    /// `GET /v5/position/list`; linear needs `symbol` or `settleCoin`.
    public static func positions(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil,
                                 settleCoin: String? = nil, cursor: String? = nil, limit: Int? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("category", category.rawValue)
        q.set("symbol", symbol)
        q.set("baseCoin", baseCoin)
        q.set("settleCoin", settleCoin)
        q.set("cursor", cursor)
        q.set("limit", limit)
        return BybitRESTRequest(get: .positionList, query: q, category: category)
    }

    /// `GET /v5/account/wallet-balance`; `coin` may list several (`USDT,USDC`).
    public static func walletBalance(accountType: String = "UNIFIED", coin: String? = nil) -> BybitRESTRequest {
        var q = RESTQuery()
        q.set("accountType", accountType)
        q.set("coin", coin)
        return BybitRESTRequest(get: .walletBalance, query: q)
    }
}
