import Foundation

/// `POST /v5/order/create` parameters. The body key order is fixed (see `body`).
public struct RESTCreateOrder: Sendable, Hashable {
    public var category: RESTCategory
    public var symbol: String
    public var side: RESTSide
    public var orderType: RESTOrderType
    public var qty: Decimal
    public var price: Decimal?
    public var timeInForce: RESTTimeInForce?
    /// ≤36 chars `[0-9A-Za-z_-]`; lets the order be found after an "outcome unknown".
    public var orderLinkId: String?
    /// 0 one-way, 1 hedge buy, 2 hedge sell.
    public var positionIdx: Int?
    public var reduceOnly: Bool?
    public var closeOnTrigger: Bool?
    public var marketUnit: RESTMarketUnit?
    public var isLeverage: Int?
    public var triggerPrice: Decimal?
    public var triggerDirection: Int?
    public var takeProfit: Decimal?
    public var stopLoss: Decimal?
    public var smpType: String?

    public init(category: RESTCategory, symbol: String, side: RESTSide, orderType: RESTOrderType, qty: Decimal,
                price: Decimal? = nil, timeInForce: RESTTimeInForce? = nil, orderLinkId: String? = nil,
                positionIdx: Int? = nil, reduceOnly: Bool? = nil, closeOnTrigger: Bool? = nil,
                marketUnit: RESTMarketUnit? = nil, isLeverage: Int? = nil, triggerPrice: Decimal? = nil,
                triggerDirection: Int? = nil, takeProfit: Decimal? = nil, stopLoss: Decimal? = nil,
                smpType: String? = nil) {
        self.category = category
        self.symbol = symbol
        self.side = side
        self.orderType = orderType
        self.qty = qty
        self.price = price
        self.timeInForce = timeInForce
        self.orderLinkId = orderLinkId
        self.positionIdx = positionIdx
        self.reduceOnly = reduceOnly
        self.closeOnTrigger = closeOnTrigger
        self.marketUnit = marketUnit
        self.isLeverage = isLeverage
        self.triggerPrice = triggerPrice
        self.triggerDirection = triggerDirection
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
        self.smpType = smpType
    }

    /// The JSON body (also the `args[0]` of a WS `order.create`).
    public var body: RESTJSONBody {
        var b = RESTJSONBody()
        b.set("category", category.rawValue)
        b.set("symbol", symbol)
        b.set("side", side.rawValue)
        b.set("orderType", orderType.rawValue)
        b.set("qty", qty)
        b.set("price", price)
        b.set("timeInForce", timeInForce?.rawValue)
        b.set("orderLinkId", orderLinkId)
        b.set("positionIdx", positionIdx)
        b.set("reduceOnly", reduceOnly)
        b.set("closeOnTrigger", closeOnTrigger)
        b.set("marketUnit", marketUnit?.rawValue)
        b.set("isLeverage", isLeverage)
        b.set("triggerPrice", triggerPrice)
        b.set("triggerDirection", triggerDirection)
        b.set("takeProfit", takeProfit)
        b.set("stopLoss", stopLoss)
        b.set("smpType", smpType)
        return b
    }

    public var request: BybitRESTRequest {
        BybitRESTRequest(post: .orderCreate, body: body, category: category, orderLinkId: orderLinkId)
    }
}

/// `POST /v5/order/amend`: `orderId` or `orderLinkId`, and what changes.
public struct RESTAmendOrder: Sendable, Hashable {
    public var category: RESTCategory
    public var symbol: String
    public var orderId: String?
    public var orderLinkId: String?
    public var qty: Decimal?
    public var price: Decimal?
    public var triggerPrice: Decimal?
    /// `0` clears TP/SL.
    public var takeProfit: Decimal?
    public var stopLoss: Decimal?

    public init(category: RESTCategory, symbol: String, orderId: String? = nil, orderLinkId: String? = nil,
                qty: Decimal? = nil, price: Decimal? = nil, triggerPrice: Decimal? = nil,
                takeProfit: Decimal? = nil, stopLoss: Decimal? = nil) {
        self.category = category
        self.symbol = symbol
        self.orderId = orderId
        self.orderLinkId = orderLinkId
        self.qty = qty
        self.price = price
        self.triggerPrice = triggerPrice
        self.takeProfit = takeProfit
        self.stopLoss = stopLoss
    }

    public var body: RESTJSONBody {
        var b = RESTJSONBody()
        b.set("category", category.rawValue)
        b.set("symbol", symbol)
        b.set("orderId", orderId)
        b.set("orderLinkId", orderLinkId)
        b.set("qty", qty)
        b.set("price", price)
        b.set("triggerPrice", triggerPrice)
        b.set("takeProfit", takeProfit)
        b.set("stopLoss", stopLoss)
        return b
    }

    public var request: BybitRESTRequest {
        BybitRESTRequest(post: .orderAmend, body: body, category: category, orderLinkId: orderLinkId)
    }
}

/// `POST /v5/order/cancel`: `orderId` or `orderLinkId`.
public struct RESTCancelOrder: Sendable, Hashable {
    public var category: RESTCategory
    public var symbol: String
    public var orderId: String?
    public var orderLinkId: String?
    /// Spot only: `Order`, `tpslOrder`, `StopOrder`.
    public var orderFilter: String?

    public init(category: RESTCategory, symbol: String, orderId: String? = nil, orderLinkId: String? = nil,
                orderFilter: String? = nil) {
        self.category = category
        self.symbol = symbol
        self.orderId = orderId
        self.orderLinkId = orderLinkId
        self.orderFilter = orderFilter
    }

    public var body: RESTJSONBody {
        var b = RESTJSONBody()
        b.set("category", category.rawValue)
        b.set("symbol", symbol)
        b.set("orderId", orderId)
        b.set("orderLinkId", orderLinkId)
        b.set("orderFilter", orderFilter)
        return b
    }

    public var request: BybitRESTRequest {
        BybitRESTRequest(post: .orderCancel, body: body, category: category, orderLinkId: orderLinkId)
    }
}

/// `POST /v5/order/cancel-all`: linear/inverse need `symbol`, `baseCoin` or `settleCoin`.
public struct RESTCancelAllOrders: Sendable, Hashable {
    public var category: RESTCategory
    public var symbol: String?
    public var baseCoin: String?
    public var settleCoin: String?
    public var orderFilter: String?

    public init(category: RESTCategory, symbol: String? = nil, baseCoin: String? = nil, settleCoin: String? = nil,
                orderFilter: String? = nil) {
        self.category = category
        self.symbol = symbol
        self.baseCoin = baseCoin
        self.settleCoin = settleCoin
        self.orderFilter = orderFilter
    }

    public var body: RESTJSONBody {
        var b = RESTJSONBody()
        b.set("category", category.rawValue)
        b.set("symbol", symbol)
        b.set("baseCoin", baseCoin)
        b.set("settleCoin", settleCoin)
        b.set("orderFilter", orderFilter)
        return b
    }

    public var request: BybitRESTRequest {
        BybitRESTRequest(post: .orderCancelAll, body: body, category: category)
    }
}
