/// What an endpoint does, which decides its rate-limit budget and whether it may be retried.
public enum RESTEndpointKind: String, Sendable, Hashable, Codable, CaseIterable {
    case marketData
    case orderCreate
    case orderAmend
    case orderCancel
    case cancelAll
    case orderQuery
    case execution
    case position
    case wallet

    /// Order entry changes state on the exchange: never blindly retried.
    public var isOrderEntry: Bool {
        switch self {
        case .orderCreate, .orderAmend, .orderCancel, .cancelAll: return true
        default: return false
        }
    }
}

/// One v5 endpoint: method, path, whether it is signed, and its kind.
public struct RESTEndpoint: Sendable, Hashable, CustomStringConvertible {
    public let method: RESTMethod
    public let path: String
    public let requiresAuth: Bool
    public let kind: RESTEndpointKind

    public init(method: RESTMethod, path: String, requiresAuth: Bool, kind: RESTEndpointKind) {
        self.method = method
        self.path = path
        self.requiresAuth = requiresAuth
        self.kind = kind
    }

    /// A GET that does not change anything: safe to retry.
    public var isSafeRead: Bool { method == .get && !kind.isOrderEntry }

    public var description: String { "\(method.rawValue) \(path)" }

    public static let serverTime = RESTEndpoint(method: .get, path: "/v5/market/time", requiresAuth: false, kind: .marketData)
    public static let instrumentsInfo = RESTEndpoint(method: .get, path: "/v5/market/instruments-info", requiresAuth: false, kind: .marketData)
    public static let tickers = RESTEndpoint(method: .get, path: "/v5/market/tickers", requiresAuth: false, kind: .marketData)
    public static let orderbook = RESTEndpoint(method: .get, path: "/v5/market/orderbook", requiresAuth: false, kind: .marketData)
    public static let kline = RESTEndpoint(method: .get, path: "/v5/market/kline", requiresAuth: false, kind: .marketData)
    public static let fundingHistory = RESTEndpoint(method: .get, path: "/v5/market/funding/history", requiresAuth: false, kind: .marketData)
    public static let recentTrades = RESTEndpoint(method: .get, path: "/v5/market/recent-trade", requiresAuth: false, kind: .marketData)
    public static let orderCreate = RESTEndpoint(method: .post, path: "/v5/order/create", requiresAuth: true, kind: .orderCreate)
    public static let orderAmend = RESTEndpoint(method: .post, path: "/v5/order/amend", requiresAuth: true, kind: .orderAmend)
    public static let orderCancel = RESTEndpoint(method: .post, path: "/v5/order/cancel", requiresAuth: true, kind: .orderCancel)
    public static let orderCancelAll = RESTEndpoint(method: .post, path: "/v5/order/cancel-all", requiresAuth: true, kind: .cancelAll)
    public static let orderRealtime = RESTEndpoint(method: .get, path: "/v5/order/realtime", requiresAuth: true, kind: .orderQuery)
    public static let orderHistory = RESTEndpoint(method: .get, path: "/v5/order/history", requiresAuth: true, kind: .orderQuery)
    public static let executionList = RESTEndpoint(method: .get, path: "/v5/execution/list", requiresAuth: true, kind: .execution)
    public static let positionList = RESTEndpoint(method: .get, path: "/v5/position/list", requiresAuth: true, kind: .position)
    public static let walletBalance = RESTEndpoint(method: .get, path: "/v5/account/wallet-balance", requiresAuth: true, kind: .wallet)
}

/// A rate-limit budget. Bybit limits per UID per endpoint (order entry per category,
/// reference §2.9); the limiter learns each budget's numbers from response headers.
public enum RESTRateLimitGroup: Sendable, Hashable, CustomStringConvertible {
    case orderCreate(RESTCategory)
    case orderAmend(RESTCategory)
    case orderCancel(RESTCategory)
    case cancelAll(RESTCategory)
    case orderQuery
    case execution
    case position
    case wallet
    case marketData

    public init(kind: RESTEndpointKind, category: RESTCategory?) {
        let c = category ?? .linear
        switch kind {
        case .marketData: self = .marketData
        case .orderCreate: self = .orderCreate(c)
        case .orderAmend: self = .orderAmend(c)
        case .orderCancel: self = .orderCancel(c)
        case .cancelAll: self = .cancelAll(c)
        case .orderQuery: self = .orderQuery
        case .execution: self = .execution
        case .position: self = .position
        case .wallet: self = .wallet
        }
    }

    /// Admission priority when several requests wait on one budget: cancels first (they
    /// reduce risk), then new orders and amends, then reads.
    public var priority: Int {
        switch self {
        case .orderCancel, .cancelAll: return 2
        case .orderCreate, .orderAmend: return 1
        default: return 0
        }
    }

    public var description: String {
        switch self {
        case .orderCreate(let c): return "order-create.\(c.rawValue)"
        case .orderAmend(let c): return "order-amend.\(c.rawValue)"
        case .orderCancel(let c): return "order-cancel.\(c.rawValue)"
        case .cancelAll(let c): return "cancel-all.\(c.rawValue)"
        case .orderQuery: return "order-query"
        case .execution: return "execution"
        case .position: return "position"
        case .wallet: return "wallet"
        case .marketData: return "market-data"
        }
    }
}
