/// The v5 `category` parameter.
public enum RESTCategory: String, Sendable, Hashable, Codable, CaseIterable {
    case spot
    case linear
    case inverse
    case option
}

/// Order side as Bybit spells it.
public enum RESTSide: String, Sendable, Hashable, Codable, CaseIterable {
    case buy = "Buy"
    case sell = "Sell"
}

/// `Market` or `Limit`.
public enum RESTOrderType: String, Sendable, Hashable, Codable, CaseIterable {
    case market = "Market"
    case limit = "Limit"
}

/// `timeInForce`; market orders are always IOC on Bybit (reference §2.4).
public enum RESTTimeInForce: String, Sendable, Hashable, Codable, CaseIterable {
    case gtc = "GTC"
    case ioc = "IOC"
    case fok = "FOK"
    case postOnly = "PostOnly"
    case rpi = "RPI"
}

/// Spot market orders: whether `qty` is in base or quote coin (reference §2.6).
public enum RESTMarketUnit: String, Sendable, Hashable, Codable, CaseIterable {
    case baseCoin
    case quoteCoin
}

/// Kline intervals of `/v5/market/kline`.
public enum RESTKlineInterval: String, Sendable, Hashable, Codable, CaseIterable {
    case oneMinute = "1"
    case threeMinutes = "3"
    case fiveMinutes = "5"
    case fifteenMinutes = "15"
    case thirtyMinutes = "30"
    case oneHour = "60"
    case twoHours = "120"
    case fourHours = "240"
    case sixHours = "360"
    case twelveHours = "720"
    case day = "D"
    case week = "W"
    case month = "M"
}

/// GET or POST: the only methods v5 uses.
public enum RESTMethod: String, Sendable, Hashable, Codable {
    case get = "GET"
    case post = "POST"
}
