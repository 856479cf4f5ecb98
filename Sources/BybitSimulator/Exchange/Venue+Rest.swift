import Foundation

/// The v5 REST routes (reference §2.4). Errors come back with HTTP 200 and a retCode.
extension Venue {
    static let privatePaths: Set<String> = [
        "/v5/order/create", "/v5/order/amend", "/v5/order/cancel", "/v5/order/cancel-all", "/v5/order/realtime",
        "/v5/order/history", "/v5/execution/list", "/v5/position/list", "/v5/account/wallet-balance",
    ]

    /// Answers one request; the updates are the private messages it caused.
    public mutating func handle(_ r: RestRequest, now: Int64) -> (RestReply, [AccountUpdate]) {
        if Self.privatePaths.contains(r.path) {
            let apiKey: String
            switch auth.verify(r, now: now) {
            case .failure(let e): return (.error(e, time: now), [])
            case .success(let k): apiKey = k
            }
            let (limit, remaining, reset) = limiter.hit(apiKey: apiKey, path: r.path, now: now)
            let headers = RateLimiter.headers(limit: limit, remaining: remaining, reset: reset)
            if enforceRateLimits, remaining == 0, limiter.windows[apiKey + " " + r.path]!.used > limit {
                return (.error(ExchangeError(10006, "Too many visits!"), time: now, headers: headers), [])
            }
            do {
                let (body, updates) = try handlePrivate(r, apiKey: apiKey, now: now)
                return (RestReply(headers: headers, body: body), updates)
            } catch let e as ExchangeError {
                return (.error(e, time: now, headers: headers), [])
            } catch {
                return (.error(ExchangeError(10016, "System error. Please try again later."), time: now, headers: headers), [])
            }
        }
        do {
            return (RestReply(body: try handlePublic(r, now: now)), [])
        } catch let e as ExchangeError {
            if e.code == 10017 {
                return (RestReply(status: 404, body: RestReply.envelope(code: e.code, message: e.message, time: now) { $0.openObject(); $0.closeObject() }), [])
            }
            return (.error(e, time: now), [])
        } catch {
            return (.error(ExchangeError(10016, "System error. Please try again later."), time: now), [])
        }
    }

    // MARK: parameters

    static func category(_ text: String?, allowed: [SimCategory] = SimCategory.allCases) throws -> SimCategory {
        guard let text, !text.isEmpty else { throw ExchangeError.params("params error: category is required") }
        guard let c = SimCategory(rawValue: text), allowed.contains(c) else {
            throw ExchangeError.params("params error: category \(text) is not supported")
        }
        return c
    }

    static func limit(_ text: String?, default d: Int, max m: Int) throws -> Int {
        guard let text, !text.isEmpty else { return d }
        guard let v = Int(text), v >= 1, v <= m else { throw ExchangeError.params("params error: limit must be within [1, \(m)]") }
        return v
    }

    /// Cursor pagination with opaque `c<offset>` cursors.
    static func page<T>(_ items: [T], limit: Int, cursor: String?) throws -> ([T], String) {
        var offset = 0
        if let cursor, !cursor.isEmpty {
            guard cursor.hasPrefix("c"), let o = Int(cursor.dropFirst()), o >= 0 else {
                throw ExchangeError.params("params error: cursor invalid")
            }
            offset = o
        }
        let slice = Array(items.dropFirst(offset).prefix(limit))
        let next = offset + slice.count < items.count ? "c\(offset + slice.count)" : ""
        return (slice, next)
    }

    static func string(_ v: Any?) -> String? {
        switch v {
        case let s as String: return s
        case let n as NSNumber: return n.stringValue
        default: return nil
        }
    }

    static func bool(_ v: Any?) -> Bool {
        switch v {
        case let b as Bool: return b
        case let s as String: return s == "true" || s == "1"
        case let n as NSNumber: return n.boolValue
        default: return false
        }
    }

    static func fixed(_ v: Any?, name: String) throws -> Fixed? {
        guard let s = string(v), !s.isEmpty else { return nil }
        guard let f = Fixed(s) else { throw ExchangeError.params("params error: \(name) invalid") }
        return f
    }

    static func body(_ r: RestRequest) throws -> [String: Any] {
        guard let data = r.body.data(using: .utf8), !data.isEmpty else { return [:] }
        guard let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw ExchangeError.params("params error: body is not a JSON object")
        }
        return o
    }

    func market(_ category: SimCategory, _ symbol: String?) throws -> MarketContext {
        guard let symbol, !symbol.isEmpty else { throw ExchangeError.params("params error: symbol is required") }
        guard let ctx = context(MarketKey(category, symbol)) else { throw ExchangeError.params("params error: symbol invalid") }
        return ctx
    }

    static func envelope(_ now: Int64, _ result: (inout JSONOut) -> Void) -> [UInt8] {
        RestReply.envelope(time: now, result: result)
    }

    // MARK: private

    mutating func handlePrivate(_ r: RestRequest, apiKey: String, now: Int64) throws -> ([UInt8], [AccountUpdate]) {
        let isPost = r.path == "/v5/order/create" || r.path == "/v5/order/amend" || r.path == "/v5/order/cancel"
            || r.path == "/v5/order/cancel-all"
        guard r.method == (isPost ? "POST" : "GET") else { throw ExchangeError(10017, "route not found") }
        let prices = self.prices
        switch r.path {
        case "/v5/order/create":
            let b = try Self.body(r)
            let category = try Self.category(Self.string(b["category"]))
            let ctx = try market(category, Self.string(b["symbol"]))
            guard let side = Self.string(b["side"]).flatMap(Side.init) else { throw ExchangeError.params("params error: side invalid") }
            guard let kind = Self.string(b["orderType"]).flatMap(OrderKind.init) else {
                throw ExchangeError.params("params error: orderType invalid")
            }
            guard let qty = try Self.fixed(b["qty"], name: "qty") else { throw ExchangeError.params("params error: qty invalid") }
            var tif: TimeInForce?
            if let t = Self.string(b["timeInForce"]), !t.isEmpty {
                guard let v = TimeInForce(rawValue: t) else { throw ExchangeError.params("params error: timeInForce invalid") }
                tif = v
            }
            let positionIdx = Self.string(b["positionIdx"]).flatMap { Int($0) } ?? 0
            guard positionIdx == 0 else { throw ExchangeError.params("position idx not match position mode") }
            let request = OrderRequest(
                category: category, symbol: ctx.instrument.symbol, side: side, kind: kind, qty: qty,
                price: kind == .limit ? try Self.fixed(b["price"], name: "price") : nil, timeInForce: tif,
                orderLinkId: Self.string(b["orderLinkId"]), reduceOnly: Self.bool(b["reduceOnly"]),
                closeOnTrigger: Self.bool(b["closeOnTrigger"]), marketUnit: Self.string(b["marketUnit"]),
                positionIdx: positionIdx)
            let (order, update) = try matching.place(request, account: &accounts[apiKey]!, market: ctx, prices: prices, now: now)
            return (Self.envelope(now) { j in Self.idPair(&j, order) }, [update])
        case "/v5/order/amend":
            let b = try Self.body(r)
            let category = try Self.category(Self.string(b["category"]))
            let ctx = try market(category, Self.string(b["symbol"]))
            let (order, update) = try matching.amend(
                category: category, symbol: ctx.instrument.symbol, orderId: Self.string(b["orderId"]),
                orderLinkId: Self.string(b["orderLinkId"]), qty: try Self.fixed(b["qty"], name: "qty"),
                price: try Self.fixed(b["price"], name: "price"), account: &accounts[apiKey]!, market: ctx, prices: prices, now: now)
            return (Self.envelope(now) { j in Self.idPair(&j, order) }, [update])
        case "/v5/order/cancel":
            let b = try Self.body(r)
            let category = try Self.category(Self.string(b["category"]))
            let ctx = try market(category, Self.string(b["symbol"]))
            let (order, update) = try matching.cancel(
                category: category, symbol: ctx.instrument.symbol, orderId: Self.string(b["orderId"]),
                orderLinkId: Self.string(b["orderLinkId"]), account: &accounts[apiKey]!, now: now)
            return (Self.envelope(now) { j in Self.idPair(&j, order) }, [update])
        case "/v5/order/cancel-all":
            let b = try Self.body(r)
            let category = try Self.category(Self.string(b["category"]))
            let symbol = Self.string(b["symbol"]).flatMap { $0.isEmpty ? nil : $0 }
            let base = Self.string(b["baseCoin"]).flatMap { $0.isEmpty ? nil : $0 }
            let settle = Self.string(b["settleCoin"]).flatMap { $0.isEmpty ? nil : $0 }
            if category == .linear, symbol == nil, base == nil, settle == nil {
                throw ExchangeError.params("params error: symbol, baseCoin or settleCoin is required")
            }
            if let symbol { _ = try market(category, symbol) }
            let updates = matching.cancelAll(category: category, symbol: symbol, baseCoin: base, settleCoin: settle,
                                             account: &accounts[apiKey]!, now: now)
            let body = Self.envelope(now) { j in
                j.openObject()
                j.key("list")
                j.openArray()
                for u in updates { for o in u.orders { Self.idPair(&j, o) } }
                j.closeArray()
                j.field("success", "1")
                j.closeObject()
            }
            return (body, updates)
        case "/v5/order/realtime", "/v5/order/history":
            return (try orderList(r, apiKey: apiKey, now: now, history: r.path == "/v5/order/history"), [])
        case "/v5/execution/list":
            return (try executionList(r, apiKey: apiKey, now: now), [])
        case "/v5/position/list":
            return (try positionList(r, apiKey: apiKey, now: now), [])
        case "/v5/account/wallet-balance":
            let q = r.query
            guard q["accountType"] == "UNIFIED" else { throw ExchangeError.params("accountType only support UNIFIED.") }
            var view = WalletView(account: accounts[apiKey]!, prices: prices)
            if let coins = q["coin"], !coins.isEmpty {
                let wanted = Set(coins.split(separator: ",").map(String.init))
                view.coins = view.coins.filter { wanted.contains($0.coin) }
            }
            return (Self.envelope(now) { j in
                j.openObject()
                j.key("list")
                j.openArray()
                PrivateFrames.walletItem(&j, view)
                j.closeArray()
                j.closeObject()
            }, [])
        default:
            throw ExchangeError(10017, "route not found")
        }
    }

    static func idPair(_ j: inout JSONOut, _ o: SimOrder) {
        j.openObject()
        j.field("orderId", o.orderId)
        j.field("orderLinkId", o.orderLinkId)
        j.closeObject()
    }

    func orderList(_ r: RestRequest, apiKey: String, now: Int64, history: Bool) throws -> [UInt8] {
        let q = r.query
        let category = try Self.category(q["category"])
        let symbol = q["symbol"].flatMap { $0.isEmpty ? nil : $0 }
        let base = q["baseCoin"].flatMap { $0.isEmpty ? nil : $0 }
        let settle = q["settleCoin"].flatMap { $0.isEmpty ? nil : $0 }
        if !history, category == .linear, symbol == nil, base == nil, settle == nil {
            throw ExchangeError.params("params error: symbol, baseCoin or settleCoin is required")
        }
        let limit = try Self.limit(q["limit"], default: 20, max: 50)
        let openOnly = q["openOnly"] ?? "0"
        var list = accounts[apiKey]!.ordersNewestFirst.filter { o in
            o.category == category && (symbol == nil || o.symbol == symbol)
                && (base == nil || MatchingEngine.baseCoin(o) == base) && (settle == nil || MatchingEngine.quoteCoin(o) == settle)
                && (q["orderId"].map { $0.isEmpty || $0 == o.orderId } ?? true)
                && (q["orderLinkId"].map { $0.isEmpty || $0 == o.orderLinkId } ?? true)
        }
        if history {
            if let s = q["orderStatus"], !s.isEmpty { list = list.filter { $0.status.rawValue == s } }
            if let s = q["startTime"].flatMap({ Int64($0) }) { list = list.filter { $0.createdTime >= s } }
            if let e = q["endTime"].flatMap({ Int64($0) }) { list = list.filter { $0.createdTime <= e } }
        } else {
            // openOnly=0: active orders; 1 (or 2): recently closed ones as well.
            list = openOnly == "0" ? list.filter(\.isOpen) : list.filter { !$0.isOpen }.prefix(500).map { $0 }
        }
        let (slice, next) = try Self.page(list, limit: limit, cursor: q["cursor"])
        return Self.envelope(now) { j in
            j.openObject()
            j.key("list")
            j.openArray()
            for o in slice {
                if let i = instruments[MarketKey(o.category, o.symbol)] { PrivateFrames.restOrderItem(&j, o, instrument: i) }
            }
            j.closeArray()
            j.field("nextPageCursor", next)
            j.field("category", category.rawValue)
            j.closeObject()
        }
    }

    func executionList(_ r: RestRequest, apiKey: String, now: Int64) throws -> [UInt8] {
        let q = r.query
        let category = try Self.category(q["category"])
        let limit = try Self.limit(q["limit"], default: 50, max: 100)
        var list = accounts[apiKey]!.executions.reversed().filter { e in
            e.category == category && (q["symbol"].map { $0.isEmpty || $0 == e.symbol } ?? true)
                && (q["orderId"].map { $0.isEmpty || $0 == e.orderId } ?? true)
                && (q["orderLinkId"].map { $0.isEmpty || $0 == e.orderLinkId } ?? true)
        }
        if let s = q["startTime"].flatMap({ Int64($0) }) { list = list.filter { $0.execTime >= s } }
        if let e = q["endTime"].flatMap({ Int64($0) }) { list = list.filter { $0.execTime <= e } }
        let (slice, next) = try Self.page(list, limit: limit, cursor: q["cursor"])
        return Self.envelope(now) { j in
            j.openObject()
            j.field("nextPageCursor", next)
            j.field("category", category.rawValue)
            j.key("list")
            j.openArray()
            for e in slice {
                if let i = instruments[MarketKey(e.category, e.symbol)] { PrivateFrames.executionItem(&j, e, instrument: i, rest: true) }
            }
            j.closeArray()
            j.closeObject()
        }
    }

    func positionList(_ r: RestRequest, apiKey: String, now: Int64) throws -> [UInt8] {
        let q = r.query
        let category = try Self.category(q["category"], allowed: [.linear])
        let symbol = q["symbol"].flatMap { $0.isEmpty ? nil : $0 }
        let settle = q["settleCoin"].flatMap { $0.isEmpty ? nil : $0 }
        guard symbol != nil || settle != nil else {
            throw ExchangeError.params("params error: symbol or settleCoin is required")
        }
        let limit = try Self.limit(q["limit"], default: 20, max: 200)
        let account = accounts[apiKey]!
        var list: [SimPosition] = []
        if let symbol {
            _ = try market(category, symbol)
            list = [account.position(symbol, now: now)]
        } else {
            list = account.positions.values
                .filter { !$0.signedSize.isZero && instruments[MarketKey(.linear, $0.symbol)]?.quoteCoin == settle }
                .sorted { $0.symbol < $1.symbol }
        }
        let (slice, next) = try Self.page(list, limit: limit, cursor: q["cursor"])
        let prices = self.prices
        return Self.envelope(now) { j in
            j.openObject()
            j.key("list")
            j.openArray()
            for p in slice {
                if let i = instruments[MarketKey(.linear, p.symbol)] {
                    PrivateFrames.positionItem(&j, p, instrument: i, mark: prices.marks[p.symbol] ?? p.avgPrice, rest: true)
                }
            }
            j.closeArray()
            j.field("nextPageCursor", next)
            j.field("category", category.rawValue)
            j.closeObject()
        }
    }
}
