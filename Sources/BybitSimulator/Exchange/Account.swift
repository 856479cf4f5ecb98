import TradelogCore

/// Maker/taker fee rates per category (fractions, e.g. 0.00055).
public struct FeeSchedule: Sendable, Hashable {
    public var linearMaker: Fixed
    public var linearTaker: Fixed
    public var spotMaker: Fixed
    public var spotTaker: Fixed

    public init(linearMaker: Fixed = Fixed("0.0002")!, linearTaker: Fixed = Fixed("0.00055")!,
                spotMaker: Fixed = Fixed("0.001")!, spotTaker: Fixed = Fixed("0.001")!) {
        self.linearMaker = linearMaker
        self.linearTaker = linearTaker
        self.spotMaker = spotMaker
        self.spotTaker = spotTaker
    }

    public func rate(_ category: SimCategory, maker: Bool) -> Fixed {
        switch category {
        case .linear: return maker ? linearMaker : linearTaker
        case .spot: return maker ? spotMaker : spotTaker
        }
    }
}

/// One unified trading account: coins, orders, fills and linear positions.
public struct Account: Sendable {
    public let apiKey: String
    public let uid: Int64
    public var leverage: Int
    public internal(set) var coins: [String: CoinBalance]
    /// Every order by id (changed through ``store(_:)`` only, which keeps `openOrderIDs`).
    public private(set) var orders: [String: SimOrder] = [:]
    /// The ids of the open orders: the market's every move looks only at these.
    public private(set) var openOrderIDs: Set<String> = []
    /// `category/orderLinkId` → orderId: a link id is used once per account and category.
    var linkIds: [String: String] = [:]
    public internal(set) var executions: [SimExecution] = []
    public internal(set) var positions: [String: SimPosition] = [:]
    var orderCounter: Int64 = 0
    var execCounter: Int64 = 0
    /// Mixed into order and execution ids (see `SimulatorConfiguration.idEpoch`); 0 keeps the
    /// ids of earlier versions.
    var idEpoch: Int64 = 0
    var messageSeq: Int64 = 0

    public init(apiKey: String, uid: Int64, coins: [String: Fixed], leverage: Int = 10) {
        self.apiKey = apiKey
        self.uid = uid
        self.leverage = leverage
        self.coins = coins.mapValues { CoinBalance(walletBalance: $0) }
    }

    /// Keeps `order` under its id, and whether it is open.
    mutating func store(_ order: SimOrder) {
        orders[order.orderId] = order
        if order.isOpen { openOrderIDs.insert(order.orderId) } else { openOrderIDs.remove(order.orderId) }
    }

    /// The open orders of one market, in creation order.
    func openOrders(_ category: SimCategory, _ symbol: String) -> [SimOrder] {
        openOrderIDs.compactMap { id in orders[id].flatMap { $0.category == category && $0.symbol == symbol ? $0 : nil } }
            .sorted { $0.sequence < $1.sequence }
    }

    /// Orders sorted by creation, newest first.
    public var ordersNewestFirst: [SimOrder] { orders.values.sorted { $0.sequence > $1.sequence } }

    private var epochPart: String { idEpoch == 0 ? "" : "\(idEpoch)/" }

    mutating func nextOrderId(_ category: SimCategory) -> (String, Int64) {
        orderCounter += 1
        switch category {
        case .linear:
            return (DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "sim-order/\(uid)/\(epochPart)\(orderCounter)").lowercasedString, orderCounter)
        case .spot:
            // 19 digits like real spot ids; odd gaps leave room for the generated link id (id + 1).
            return (String(1_900_000_000_000_000_000 + idEpoch % 1000 * 1_000_000_000_000_000 + uid % 1000 * 1_000_000_000_000
                           + orderCounter * 2), orderCounter)
        }
    }

    mutating func nextExecId(_ category: SimCategory) -> String {
        execCounter += 1
        switch category {
        case .linear:
            return DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "sim-exec/\(uid)/\(epochPart)\(execCounter)").lowercasedString
        case .spot:
            return String(2_100_000_000_000_000_000 + idEpoch % 1000 * 1_000_000_000_000_000 + uid % 1000 * 1_000_000_000_000 + execCounter)
        }
    }

    mutating func nextMessageSeq() -> Int64 {
        messageSeq += 1
        return messageSeq
    }

    func position(_ symbol: String, now: Int64) -> SimPosition {
        positions[symbol] ?? SimPosition(symbol: symbol, leverage: leverage, createdTime: now, updatedTime: now)
    }

    func coin(_ name: String) -> CoinBalance { coins[name] ?? CoinBalance(walletBalance: .zero) }

    /// Margin held by open linear orders.
    var linearOrderMargin: Fixed {
        orders.values.reduce(Fixed.zero) { $0 + ($1.category == .linear && $1.isOpen ? $1.reserved : .zero) }
    }
}

/// Prices the account views need: linear marks (for unrealised PnL) and coin → USD rates.
public struct PriceBoard: Sendable {
    public var marks: [String: Fixed] = [:]
    public var usd: [String: Fixed] = ["USDT": Fixed(1), "USDC": Fixed(1)]

    public init() {}

    public func usdValue(_ coin: String, _ amount: Fixed) -> Fixed {
        amount * (usd[coin] ?? .zero)
    }
}

/// Derived unified-account figures (the `wallet` message and `/v5/account/wallet-balance`).
public struct WalletView: Sendable {
    public struct Coin: Sendable {
        public var coin: String
        public var walletBalance: Fixed
        public var equity: Fixed
        public var usdValue: Fixed
        public var locked: Fixed
        public var unrealisedPnl: Fixed
        public var cumRealisedPnl: Fixed
        public var totalOrderIM: Fixed
        public var totalPositionIM: Fixed
        public var totalPositionMM: Fixed
    }

    public var coins: [Coin]
    public var totalEquity: Fixed
    public var totalWalletBalance: Fixed
    public var totalMarginBalance: Fixed
    public var totalAvailableBalance: Fixed
    public var totalPerpUPL: Fixed
    public var totalInitialMargin: Fixed
    public var totalMaintenanceMargin: Fixed
    public var accountIMRate: Fixed
    public var accountMMRate: Fixed

    public init(account a: Account, prices: PriceBoard) {
        var upl = Fixed.zero, im = Fixed.zero, mm = Fixed.zero
        for p in a.positions.values {
            upl += p.unrealisedPnl(mark: prices.marks[p.symbol] ?? p.avgPrice)
            im += p.initialMargin
            mm += p.maintenanceMargin
        }
        let orderIM = a.linearOrderMargin
        var coins: [Coin] = []
        var equity = Fixed.zero, wallet = Fixed.zero
        for name in a.coins.keys.sorted() {
            let c = a.coins[name]!
            let settle = name == "USDT"
            let eq = c.walletBalance + (settle ? upl : .zero)
            let usd = prices.usdValue(name, eq)
            coins.append(Coin(
                coin: name, walletBalance: c.walletBalance, equity: eq, usdValue: usd, locked: c.locked,
                unrealisedPnl: settle ? upl : .zero, cumRealisedPnl: c.cumRealisedPnl,
                totalOrderIM: settle ? orderIM : .zero, totalPositionIM: settle ? im : .zero,
                totalPositionMM: settle ? mm : .zero))
            equity += usd
            wallet += prices.usdValue(name, c.walletBalance)
        }
        self.coins = coins
        totalEquity = equity
        totalWalletBalance = wallet
        totalMarginBalance = wallet + upl
        totalPerpUPL = upl
        totalInitialMargin = im + orderIM
        totalMaintenanceMargin = mm
        let lockedUSD = a.coins.reduce(Fixed.zero) { $0 + prices.usdValue($1.key, $1.value.locked) }
        totalAvailableBalance = totalMarginBalance - totalInitialMargin - lockedUSD
        let mb = totalMarginBalance
        accountIMRate = mb.raw > 0 ? totalInitialMargin.divided(by: mb).rounded(places: 4) : .zero
        accountMMRate = mb.raw > 0 ? mm.divided(by: mb).rounded(places: 4) : .zero
    }
}
