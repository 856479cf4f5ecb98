/// What matching needs to know about one market at the moment of an operation.
public struct MarketContext: Sendable {
    public var instrument: SimInstrument
    public var book: OrderBook
    public var lastPrice: Fixed
    public var markPrice: Fixed

    public init(instrument: SimInstrument, book: OrderBook, lastPrice: Fixed, markPrice: Fixed) {
        self.instrument = instrument
        self.book = book
        self.lastPrice = lastPrice
        self.markPrice = markPrice
    }
}

/// A validated-shape `/v5/order/create` request (values still unchecked against filters).
public struct OrderRequest: Sendable, Hashable {
    public var category: SimCategory
    public var symbol: String
    public var side: Side
    public var kind: OrderKind
    public var qty: Fixed
    public var price: Fixed?
    public var timeInForce: TimeInForce
    public var orderLinkId: String?
    public var reduceOnly: Bool
    public var closeOnTrigger: Bool
    /// `baseCoin`, `quoteCoin` or nil (spot market buys default to quote coin).
    public var marketUnit: String?
    public var positionIdx: Int

    public init(category: SimCategory, symbol: String, side: Side, kind: OrderKind, qty: Fixed, price: Fixed? = nil,
                timeInForce: TimeInForce? = nil, orderLinkId: String? = nil, reduceOnly: Bool = false,
                closeOnTrigger: Bool = false, marketUnit: String? = nil, positionIdx: Int = 0) {
        self.category = category
        self.symbol = symbol
        self.side = side
        self.kind = kind
        self.qty = qty
        self.price = price
        // Market orders are always IOC (reference §2.4).
        self.timeInForce = kind == .market ? .ioc : (timeInForce ?? .gtc)
        self.orderLinkId = orderLinkId
        self.reduceOnly = reduceOnly
        self.closeOnTrigger = closeOnTrigger
        self.marketUnit = marketUnit
        self.positionIdx = positionIdx
    }
}

/// The effect of one operation on one account, emitted as order → execution → position → wallet.
public struct AccountUpdate: Sendable {
    public var apiKey: String
    public var category: SimCategory
    public var symbol: String
    public var orders: [SimOrder] = []
    public var executions: [SimExecution] = []
    /// Linear only: the position after the change (sent even when unchanged, as Bybit does).
    public var position: SimPosition?
    public var walletChanged = false

    public var isEmpty: Bool { orders.isEmpty && executions.isEmpty && position == nil && !walletChanged }
}

/// Orders against the played book: limit/market, GTC/IOC/FOK/PostOnly, partial fills, fees,
/// filters, balance checks, resting orders filled by later book moves and trades. Taker fills
/// read the book without consuming it (the public stream is not ours to change).
public struct MatchingEngine: Sendable {
    public var fees: FeeSchedule
    /// Market orders carry a protection price this far from the touch (5%).
    public var marketProtection = Fixed(raw: 5_000_000)

    public init(fees: FeeSchedule = FeeSchedule()) { self.fees = fees }

    // MARK: create

    public func place(
        _ r: OrderRequest, account: inout Account, market: MarketContext, prices: PriceBoard, now: Int64
    ) throws -> (SimOrder, AccountUpdate) {
        let i = market.instrument
        var qty = r.qty
        let quoteQty = r.category == .spot && r.kind == .market
            && ((r.side == .buy && r.marketUnit != "baseCoin") || (r.side == .sell && r.marketUnit == "quoteCoin"))
        let touch = (r.side == .buy ? market.book.bestAsk?.price : market.book.bestBid?.price) ?? market.lastPrice

        // Filters first (10001), as Bybit validates before touching the account.
        guard qty.raw > 0 else { throw ExchangeError.params("params error: qty must be greater than 0") }
        var limitPrice: Fixed
        switch r.kind {
        case .limit:
            guard let p = r.price, p.raw > 0 else { throw ExchangeError.params("params error: price is required for a limit order") }
            guard p.isMultiple(of: i.tickSize) else {
                throw ExchangeError.params("params error: price \(p) is not a multiple of tickSize \(i.tickSize)")
            }
            limitPrice = p
        case .market:
            let away = touch * marketProtection
            limitPrice = r.side == .buy ? (touch + away).floored(to: i.tickSize) : (touch - away).ceiled(to: i.tickSize)
        }
        if r.category == .linear, r.reduceOnly {
            let pos = account.position(r.symbol, now: now)
            let closing = !pos.signedSize.isZero && (pos.signedSize.isNegative == (r.side == .buy))
            guard closing else { throw ExchangeError.reduceOnly }
            qty = min(qty, pos.size)
        }
        let stepName = r.category == .spot ? "basePrecision" : "qtyStep"
        let notionalName = r.category == .spot ? "minOrderAmt" : "minNotionalValue"
        if quoteQty {
            guard qty >= i.minNotional else {
                throw ExchangeError.params("params error: order value \(qty) is below \(notionalName) \(i.minNotional)")
            }
        } else {
            guard qty.isMultiple(of: i.qtyStep) else {
                throw ExchangeError.params("params error: qty \(qty) is not a multiple of \(stepName) \(i.qtyStep)")
            }
            guard qty >= i.minOrderQty else {
                throw ExchangeError.params(r.category == .linear
                    ? "The number of contracts exceeds minimum limit allowed"
                    : "params error: qty \(qty) is below minOrderQty \(i.minOrderQty)")
            }
            let maxQty = r.kind == .market ? i.maxMarketOrderQty : i.maxOrderQty
            guard qty <= maxQty else {
                throw ExchangeError.params(r.category == .linear
                    ? "The number of contracts exceeds maximum limit allowed"
                    : "params error: qty \(qty) is above the maximum \(maxQty)")
            }
            let reference = r.kind == .limit ? limitPrice : touch
            let value = qty * reference
            if !r.reduceOnly, value < i.minNotional {
                throw ExchangeError.params("params error: order value \(value) is below \(notionalName) \(i.minNotional)")
            }
        }
        let linkKey: String?
        if let link = r.orderLinkId, !link.isEmpty {
            guard link.utf8.count <= 36, link.utf8.allSatisfy({ Self.linkIdByte($0) }) else {
                throw ExchangeError.params("params error: orderLinkId invalid")
            }
            linkKey = "\(r.category.rawValue)/\(link)"
            if account.linkIds[linkKey!] != nil {
                throw r.category == .spot ? ExchangeError.spotDuplicateLinkId : ExchangeError.duplicateLinkId
            }
        } else {
            linkKey = nil
        }
        try checkBalance(r, qty: qty, price: r.kind == .limit ? limitPrice : touch, quoteQty: quoteQty,
                         account: account, market: market, prices: prices, now: now)

        // The order exists from here on.
        let (orderId, sequence) = account.nextOrderId(r.category)
        var link = r.orderLinkId ?? ""
        if link.isEmpty, r.category == .spot { link = String(Int64(orderId)! + 1) }
        var order = SimOrder(
            category: r.category, symbol: r.symbol, orderId: orderId, orderLinkId: link, side: r.side, kind: r.kind,
            timeInForce: r.timeInForce, price: limitPrice, qty: qty, quoteQty: quoteQty,
            marketUnit: r.category == .spot && r.kind == .market ? (quoteQty ? "quoteCoin" : "baseCoin") : "",
            reduceOnly: r.reduceOnly, closeOnTrigger: r.closeOnTrigger, positionIdx: r.positionIdx,
            lastPriceOnCreated: market.lastPrice, createdTime: now, updatedTime: now, sequence: sequence)
        if let linkKey { account.linkIds[linkKey] = orderId }

        var update = AccountUpdate(apiKey: account.apiKey, category: r.category, symbol: r.symbol)
        update.walletChanged = true
        execute(&order, account: &account, market: market, now: now, update: &update)
        account.store(order)
        update.orders = [order]
        if r.category == .linear { update.position = account.position(r.symbol, now: now) }
        return (order, update)
    }

    /// Taker phase, then rest or cancel the remainder according to time in force.
    func execute(_ order: inout SimOrder, account: inout Account, market: MarketContext, now: Int64, update: inout AccountUpdate) {
        let opposite = order.side == .buy ? market.book.asks : market.book.bids
        let crosses = opposite.first.map { Self.crosses($0.price, order) } ?? false
        if order.timeInForce == .postOnly, crosses {
            order.status = .cancelled
            order.rejectReason = "EC_PostOnlyWillTakeLiquidity"
            order.updatedTime = now
            reconcileReserve(&order, account: &account, now: now)  // an amended order held a reserve
            return
        }
        let fills = Self.takerFills(order, levels: opposite, step: market.instrument.qtyStep)
        if order.timeInForce == .fok, !order.quoteQty {
            let available = fills.reduce(Fixed.zero) { $0 + $1.size }
            if available < order.leaves {
                order.status = .cancelled
                order.rejectReason = "EC_CancelForNoFullFill"
                order.updatedTime = now
                reconcileReserve(&order, account: &account, now: now)
                return
            }
        }
        for f in fills {
            update.executions.append(applyFill(&order, price: f.price, qty: f.size, maker: false, account: &account, market: market, now: now))
        }
        if order.quoteQty, !order.cumExecQty.isZero, let top = opposite.first,
           order.leaves < top.price * market.instrument.qtyStep {
            order.status = .filled  // the dust left of a by-value order cannot buy one more step
        }
        if order.isOpen, order.kind == .market || order.timeInForce == .ioc || order.timeInForce == .fok {
            order.status = order.cumExecQty.isZero ? .cancelled
                : (order.category == .spot ? .partiallyFilledCanceled : .cancelled)
            if order.cumExecQty.isZero { order.rejectReason = "EC_NoImmediateQtyToFill" }
            order.updatedTime = now
        }
        reconcileReserve(&order, account: &account, now: now)
    }

    static func crosses(_ levelPrice: Fixed, _ order: SimOrder) -> Bool {
        order.side == .buy ? levelPrice <= order.price : levelPrice >= order.price
    }

    /// The fills a taker gets from `levels` (best first) within its price, in the unit of the order.
    static func takerFills(_ order: SimOrder, levels: [BookLevel], step: Fixed) -> [BookLevel] {
        var remaining = order.leaves
        var fills: [BookLevel] = []
        for l in levels {
            guard remaining.raw > 0, crosses(l.price, order) else { break }
            if order.quoteQty {
                let q = min(l.size, remaining.divided(by: l.price).floored(to: step))
                guard q.raw > 0 else { break }
                fills.append(BookLevel(price: l.price, size: q))
                remaining -= q * l.price
            } else {
                let q = min(l.size, remaining)
                fills.append(BookLevel(price: l.price, size: q))
                remaining -= q
            }
        }
        return fills
    }

    static func linkIdByte(_ b: UInt8) -> Bool {
        (b >= 48 && b <= 57) || (b >= 65 && b <= 90) || (b >= 97 && b <= 122) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
    }

    // MARK: balance

    /// The part of a linear order that opens or grows the position.
    static func increasingQty(_ side: Side, _ qty: Fixed, position: SimPosition, reduceOnly: Bool) -> Fixed {
        if reduceOnly { return .zero }
        let p = position.signedSize
        if p.isZero || (p.isNegative == (side == .sell)) { return qty }
        return max(.zero, qty - p.magnitude)
    }

    /// USDT free for new commitments: wallet + UPL − position IM − order IM − spot-locked USDT.
    func availableSettle(_ account: Account, prices: PriceBoard, settle: String) -> Fixed {
        var upl = Fixed.zero, im = Fixed.zero
        for p in account.positions.values {
            upl += p.unrealisedPnl(mark: prices.marks[p.symbol] ?? p.avgPrice)
            im += p.initialMargin
        }
        let c = account.coin(settle)
        return c.walletBalance + upl - im - account.linearOrderMargin - c.locked
    }

    func checkBalance(
        _ r: OrderRequest, qty: Fixed, price: Fixed, quoteQty: Bool, account: Account, market: MarketContext,
        prices: PriceBoard, now: Int64
    ) throws {
        let i = market.instrument
        switch r.category {
        case .linear:
            let inc = Self.increasingQty(r.side, qty, position: account.position(r.symbol, now: now), reduceOnly: r.reduceOnly)
            let cost = (inc * price).divided(by: Fixed(account.leverage)) + qty * price * fees.linearTaker
            guard cost <= availableSettle(account, prices: prices, settle: i.quoteCoin) else { throw ExchangeError.insufficient }
        case .spot:
            if r.side == .buy {
                let cost = quoteQty ? qty : qty * price
                let free = i.quoteCoin == "USDT" ? availableSettle(account, prices: prices, settle: "USDT")
                    : account.coin(i.quoteCoin).walletBalance - account.coin(i.quoteCoin).locked
                guard cost <= free else { throw ExchangeError.spotInsufficient }
            } else {
                let need = quoteQty ? qty.divided(by: price) : qty
                let c = account.coin(i.baseCoin)
                guard need <= c.walletBalance - c.locked else { throw ExchangeError.spotInsufficient }
            }
        }
    }

    /// Holds margin (linear) or coins (spot) for what is left of an open order.
    func reconcileReserve(_ order: inout SimOrder, account: inout Account, now: Int64) {
        var reserve = Fixed.zero
        if order.isOpen {
            switch order.category {
            case .linear:
                let inc = Self.increasingQty(order.side, order.leaves, position: account.position(order.symbol, now: now),
                                             reduceOnly: order.reduceOnly)
                reserve = (inc * order.price).divided(by: Fixed(account.leverage))
            case .spot:
                reserve = order.side == .buy ? (order.quoteQty ? order.leaves : order.leaves * order.price) : order.leaves
            }
        }
        if order.category == .spot, reserve != order.reserved {
            let coin = order.side == .buy ? Self.quoteCoin(order) : Self.baseCoin(order)
            var c = account.coin(coin)
            c.locked += reserve - order.reserved
            account.coins[coin] = c
        }
        order.reserved = reserve
    }

    // Spot coins come from the symbol; the engine only knows USDT/USDC/BTC quotes.
    static func quoteCoin(_ o: SimOrder) -> String {
        ["USDT", "USDC", "BTC"].first { o.symbol.hasSuffix($0) && o.symbol.count > $0.count } ?? "USDT"
    }

    static func baseCoin(_ o: SimOrder) -> String { String(o.symbol.dropLast(quoteCoin(o).count)) }

    // MARK: fills

    func applyFill(
        _ order: inout SimOrder, price: Fixed, qty: Fixed, maker: Bool, account: inout Account, market: MarketContext, now: Int64
    ) -> SimExecution {
        let i = market.instrument
        let value = price * qty
        let rate = fees.rate(order.category, maker: maker)
        var fee: Fixed
        var feeCoin: String
        var pnl = Fixed.zero, closed = Fixed.zero
        // Bybit's cross sequence: a fill and the position update it causes share one `seq`.
        let seq = account.nextMessageSeq()
        switch order.category {
        case .spot:
            var base = account.coin(i.baseCoin), quote = account.coin(i.quoteCoin)
            if order.side == .buy {
                fee = qty * rate
                feeCoin = i.baseCoin
                base.walletBalance += qty - fee
                quote.walletBalance -= value
            } else {
                fee = value * rate
                feeCoin = i.quoteCoin
                base.walletBalance -= qty
                quote.walletBalance += value - fee
            }
            account.coins[i.baseCoin] = base
            account.coins[i.quoteCoin] = quote
        case .linear:
            fee = value * rate
            feeCoin = i.quoteCoin
            var pos = account.position(order.symbol, now: now)
            (pnl, closed) = pos.apply(side: order.side, qty: qty, price: price)
            pos.cumRealisedPnl += pnl - fee
            pos.curRealisedPnl += pnl - fee
            pos.updatedTime = now
            pos.seq = seq
            account.positions[order.symbol] = pos
            var settle = account.coin(i.quoteCoin)
            settle.walletBalance += pnl - fee
            settle.cumRealisedPnl += pnl - fee
            account.coins[i.quoteCoin] = settle
            if !closed.isZero { order.closedPnl += pnl - fee }
        }
        order.cumExecQty += qty
        order.cumExecValue += value
        order.cumExecFee += fee
        if order.category == .spot { order.feeCurrency = feeCoin }
        order.updatedTime = now
        order.status = order.leaves.raw <= 0 ? .filled : .partiallyFilled
        let exec = SimExecution(
            category: order.category, symbol: order.symbol, execId: account.nextExecId(order.category),
            orderId: order.orderId, orderLinkId: order.orderLinkId, side: order.side, orderKind: order.kind,
            orderPrice: order.price, orderQty: order.qty, execPrice: price, execQty: qty, execValue: value, execFee: fee,
            feeRate: rate, feeCurrency: feeCoin, isMaker: maker, leavesQty: order.leavesQty, closedSize: closed,
            execPnl: pnl, markPrice: market.markPrice, execTime: now, seq: seq,
            marketUnit: order.marketUnit)
        account.executions.append(exec)
        return exec
    }

    // MARK: amend / cancel

    func find(_ account: Account, category: SimCategory, symbol: String?, orderId: String?, orderLinkId: String?) -> String? {
        if let orderId, !orderId.isEmpty {
            guard let o = account.orders[orderId], o.category == category, symbol == nil || o.symbol == symbol else { return nil }
            return orderId
        }
        if let orderLinkId, !orderLinkId.isEmpty, let id = account.linkIds["\(category.rawValue)/\(orderLinkId)"],
           let o = account.orders[id], symbol == nil || o.symbol == symbol {
            return id
        }
        return nil
    }

    static func notFound(_ c: SimCategory) -> ExchangeError { c == .spot ? .spotOrderNotFound : .orderNotFound }

    public func amend(
        category: SimCategory, symbol: String, orderId: String?, orderLinkId: String?, qty: Fixed?, price: Fixed?,
        account: inout Account, market: MarketContext, prices: PriceBoard, now: Int64
    ) throws -> (SimOrder, AccountUpdate) {
        if (orderId ?? "").isEmpty, (orderLinkId ?? "").isEmpty {
            throw ExchangeError.params("params error: OrderId or orderLinkId is required")
        }
        guard let id = find(account, category: category, symbol: symbol, orderId: orderId, orderLinkId: orderLinkId),
              var order = account.orders[id], order.isOpen, order.kind == .limit else { throw Self.notFound(category) }
        let i = market.instrument
        if let price {
            guard price.raw > 0, price.isMultiple(of: i.tickSize) else {
                throw ExchangeError.params("params error: price \(price) is not a multiple of tickSize \(i.tickSize)")
            }
        }
        if let qty {
            guard qty.isMultiple(of: i.qtyStep), qty >= i.minOrderQty else {
                throw ExchangeError.params("params error: qty \(qty) is not a valid quantity (step \(i.qtyStep), min \(i.minOrderQty))")
            }
            guard qty > order.cumExecQty else {
                throw ExchangeError.params("params error: qty must be greater than the filled quantity \(order.cumExecQty)")
            }
        }
        let newPrice = price ?? order.price, newQty = qty ?? order.qty
        guard newPrice != order.price || newQty != order.qty else {
            throw ExchangeError(10001, "The order remains unchanged as the parameters entered match the existing ones.")
        }
        // Balance: release this order's hold, then check the amended remainder like a new order.
        var probe = account
        var released = order
        released.status = .cancelled
        reconcileReserve(&released, account: &probe, now: now)
        var r = OrderRequest(category: category, symbol: symbol, side: order.side, kind: .limit,
                             qty: newQty - order.cumExecQty, price: newPrice, timeInForce: order.timeInForce,
                             reduceOnly: order.reduceOnly)
        r.positionIdx = order.positionIdx
        if !order.reduceOnly {
            try checkBalance(r, qty: r.qty, price: newPrice, quoteQty: false, account: probe, market: market, prices: prices, now: now)
        }
        order.price = newPrice
        order.qty = newQty
        order.updatedTime = now
        var update = AccountUpdate(apiKey: account.apiKey, category: category, symbol: symbol)
        update.walletChanged = true
        execute(&order, account: &account, market: market, now: now, update: &update)
        account.store(order)
        update.orders = [order]
        if category == .linear { update.position = account.position(symbol, now: now) }
        return (order, update)
    }

    public func cancel(
        category: SimCategory, symbol: String?, orderId: String?, orderLinkId: String?, account: inout Account, now: Int64
    ) throws -> (SimOrder, AccountUpdate) {
        if (orderId ?? "").isEmpty, (orderLinkId ?? "").isEmpty {
            throw ExchangeError.params("params error: OrderId or orderLinkId is required")
        }
        guard let id = find(account, category: category, symbol: symbol, orderId: orderId, orderLinkId: orderLinkId),
              var order = account.orders[id], order.isOpen else { throw Self.notFound(category) }
        cancelOpen(&order, account: &account, now: now)
        account.store(order)
        var update = AccountUpdate(apiKey: account.apiKey, category: category, symbol: order.symbol)
        update.orders = [order]
        update.walletChanged = true
        if category == .linear { update.position = account.position(order.symbol, now: now) }
        return (order, update)
    }

    func cancelOpen(_ order: inout SimOrder, account: inout Account, now: Int64) {
        order.status = order.category == .spot && !order.cumExecQty.isZero ? .partiallyFilledCanceled : .cancelled
        order.cancelType = "CancelByUser"
        order.updatedTime = now
        reconcileReserve(&order, account: &account, now: now)
    }

    /// Cancels every open order of the category (optionally one symbol / base / settle coin).
    public func cancelAll(
        category: SimCategory, symbol: String?, baseCoin: String?, settleCoin: String?, account: inout Account, now: Int64
    ) -> [AccountUpdate] {
        var bySymbol: [String: AccountUpdate] = [:]
        for var o in account.ordersNewestFirst.reversed() where o.isOpen && o.category == category {
            if let symbol, o.symbol != symbol { continue }
            if let baseCoin, Self.baseCoin(o) != baseCoin { continue }
            if let settleCoin, Self.quoteCoin(o) != settleCoin { continue }
            cancelOpen(&o, account: &account, now: now)
            account.store(o)
            var u = bySymbol[o.symbol] ?? AccountUpdate(apiKey: account.apiKey, category: category, symbol: o.symbol)
            u.orders.append(o)
            u.walletChanged = true
            bySymbol[o.symbol] = u
        }
        return bySymbol.keys.sorted().map { s in
            var u = bySymbol[s]!
            if category == .linear { u.position = account.position(s, now: now) }
            return u
        }
    }

    // MARK: market events

    /// Fills resting orders of this market that the book or the trades now cross (as maker,
    /// at the order's price). Returns nil when nothing happened.
    public func onMarket(account: inout Account, market: MarketContext, trades: [TradePrint], now: Int64) -> AccountUpdate? {
        let i = market.instrument
        let open = account.openOrders(i.category, i.symbol).filter { !$0.quoteQty }
        guard !open.isEmpty else { return nil }
        var update = AccountUpdate(apiKey: account.apiKey, category: i.category, symbol: i.symbol)
        for var order in open {
            var touched = false
            let opposite = order.side == .buy ? market.book.asks : market.book.bids
            var crossing = Fixed.zero
            for l in opposite {
                guard Self.crosses(l.price, order) else { break }
                crossing += l.size
            }
            if crossing.raw > 0 {
                let q = min(order.leaves, crossing)
                update.executions.append(applyFill(&order, price: order.price, qty: q, maker: true, account: &account, market: market, now: now))
                touched = true
            }
            for t in trades where order.isOpen {
                let through = order.side == .buy
                    ? (t.price < order.price || (t.price == order.price && t.takerSide == .sell))
                    : (t.price > order.price || (t.price == order.price && t.takerSide == .buy))
                guard through else { continue }
                let q = min(order.leaves, t.size)
                update.executions.append(applyFill(&order, price: order.price, qty: q, maker: true, account: &account, market: market, now: now))
                touched = true
            }
            guard touched else { continue }
            reconcileReserve(&order, account: &account, now: now)
            account.store(order)
            update.orders.append(order)
        }
        guard !update.orders.isEmpty else { return nil }
        update.walletChanged = true
        if i.category == .linear { update.position = account.position(i.symbol, now: now) }
        return update
    }
}

extension SimPosition {
    /// Applies a fill; returns the realised PnL and the closed size.
    mutating func apply(side: Side, qty: Fixed, price: Fixed) -> (Fixed, Fixed) {
        let q = side == .buy ? qty : -qty
        if signedSize.isZero || signedSize.isNegative == q.isNegative {
            let newSize = signedSize + q
            avgPrice = (positionValue + price * qty).divided(by: newSize.magnitude)
            signedSize = newSize
            return (.zero, .zero)
        }
        let closeQty = min(qty, size)
        let pnl = (price - avgPrice) * (signedSize.isNegative ? -closeQty : closeQty)
        signedSize += side == .buy ? closeQty : -closeQty
        let rest = qty - closeQty
        if rest.raw > 0 {
            signedSize = side == .buy ? rest : -rest
            avgPrice = price
        } else if signedSize.isZero {
            avgPrice = .zero
        }
        return (pnl, closeQty)
    }
}
