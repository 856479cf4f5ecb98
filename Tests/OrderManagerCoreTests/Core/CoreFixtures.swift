import Bybit
import Foundation
import OrderManagerCore
import Signals
import Testing
import TradelogCore

/// Builders for the core tests: instruments, exchange payloads decoded from small JSON (their
/// inits are not public), signals, and a log that folds events into an ``OrderManagerState``.
enum CoreFixtures {
    /// A decimal from its text (exact, unlike a float literal).
    static func num(_ text: String) -> Decimal { Decimal(string: text, locale: Locale(identifier: "en_US_POSIX"))! }

    /// 2024-03-01T00:00:00Z in ms: event times are offsets from it.
    static let t0Ms: Int64 = 1_709_251_200_000
    static func at(_ offsetMs: Int64) -> Timestamp { Timestamp(millisecondsSinceEpoch: t0Ms + offsetMs) }

    /// Linear BTCUSDT: tick 0.1, step 0.001, min qty 0.001, min notional 5.
    static let linearBTC = InstrumentRules(
        category: .linear, symbol: "BTCUSDT", baseCoin: "BTC", quoteCoin: "USDT", tickSize: num("0.1"),
        quantityStep: num("0.001"), minOrderQty: num("0.001"), maxOrderQty: num("100"), maxMarketOrderQty: num("100"),
        minNotionalValue: num("5"))

    /// Spot ETHUSDT: tick 0.01, base step 0.0001, quote step 0.0000001, min amount 1.
    static let spotETH = InstrumentRules(
        category: .spot, symbol: "ETHUSDT", baseCoin: "ETH", quoteCoin: "USDT", tickSize: num("0.01"),
        quantityStep: num("0.0001"), quotePrecision: num("0.0000001"), minOrderQty: num("0.0001"), maxOrderQty: num("1000"),
        minOrderAmt: num("1"), maxOrderAmt: num("2000000"))

    /// A payload decoded from JSON text the way the log's copy is decoded.
    static func decode<T: Decodable>(_ type: T.Type, _ json: String) throws -> T {
        try CanonicalJSON.decoder.decode(T.self, from: Data(json.utf8))
    }

    /// An `order` topic update; nil fields are left out of the JSON.
    static func orderUpdate(link: String?, orderId: String = "oid-1", symbol: String = "BTCUSDT", side: String = "Buy",
                            status: String?, qty: String? = nil, price: String? = nil, cumExecQty: String? = nil,
                            avgPrice: String? = nil, cumExecFee: String? = nil, updatedTime: Int64? = nil,
                            cancelType: String? = nil, rejectReason: String? = nil) throws -> ExchangeOrderUpdated {
        var fields: [String] = ["\"category\":\"linear\"", "\"symbol\":\"\(symbol)\"", "\"orderId\":\"\(orderId)\"",
                                "\"side\":\"\(side)\""]
        func add(_ key: String, _ value: String?) { if let value { fields.append("\"\(key)\":\"\(value)\"") } }
        add("orderLinkId", link)
        add("orderStatus", status)
        add("qty", qty)
        add("price", price)
        add("cumExecQty", cumExecQty)
        add("avgPrice", avgPrice)
        add("cumExecFee", cumExecFee)
        add("cancelType", cancelType)
        add("rejectReason", rejectReason)
        if let updatedTime { fields.append("\"updatedTime\":\(updatedTime)") }
        return try decode(ExchangeOrderUpdated.self, "{" + fields.joined(separator: ",") + "}")
    }

    /// An `execution` item (a fill).
    static func execution(link: String?, execId: String, orderId: String = "oid-1", symbol: String = "BTCUSDT",
                          side: String = "Buy", qty: String, price: String, fee: String? = nil, pnl: String? = nil,
                          leavesQty: String? = nil, execTime: Int64? = nil, isMaker: Bool? = nil,
                          feeCurrency: String = "USDT") throws -> ExecutionReport {
        var fields: [String] = ["\"category\":\"linear\"", "\"symbol\":\"\(symbol)\"", "\"execId\":\"\(execId)\"",
                                "\"orderId\":\"\(orderId)\"", "\"side\":\"\(side)\"", "\"execType\":\"Trade\"",
                                "\"execQty\":\"\(qty)\"", "\"execPrice\":\"\(price)\"", "\"feeCurrency\":\"\(feeCurrency)\""]
        func add(_ key: String, _ value: String?) { if let value { fields.append("\"\(key)\":\"\(value)\"") } }
        add("orderLinkId", link)
        add("execFee", fee)
        add("execPnl", pnl)
        add("leavesQty", leavesQty)
        if let execTime { fields.append("\"execTime\":\(execTime)") }
        if let isMaker { fields.append("\"isMaker\":\(isMaker)") }
        return try decode(ExecutionReport.self, "{" + fields.joined(separator: ",") + "}")
    }

    /// An order book message: levels as `[price, size]` text pairs.
    static func book(_ type: String = "snapshot", symbol: String = "BTCUSDT", category: String = "linear", u: Int64 = 1,
                     bids: [(String, String)], asks: [(String, String)], synced: Bool = true) throws -> OrderBookUpdated {
        func levels(_ l: [(String, String)]) -> String { "[" + l.map { "[\"\($0.0)\",\"\($0.1)\"]" }.joined(separator: ",") + "]" }
        return try decode(OrderBookUpdated.self, """
            {"symbol":"\(symbol)","category":"\(category)","depth":50,"type":"\(type)","u":\(u),\
            "bids":\(levels(bids)),"asks":\(levels(asks)),"synced":\(synced)}
            """)
    }

    static func ticker(symbol: String = "BTCUSDT", category: String = "linear", bid: String?, ask: String?,
                       last: String? = nil, mark: String? = nil) throws -> TickerUpdated {
        var fields = ["\"symbol\":\"\(symbol)\"", "\"category\":\"\(category)\""]
        func add(_ key: String, _ value: String?) { if let value { fields.append("\"\(key)\":\"\(value)\"") } }
        add("bid1Price", bid)
        add("ask1Price", ask)
        add("lastPrice", last)
        add("markPrice", mark)
        return try decode(TickerUpdated.self, "{" + fields.joined(separator: ",") + "}")
    }

    /// A unified wallet with one USDT coin.
    static func wallet(balance: String, locked: String = "0", orderIM: String = "0", positionIM: String = "0",
                       totalAvailable: String? = nil, unrealisedPnl: String? = nil) throws -> ExchangeWalletUpdated {
        let total = totalAvailable.map { ",\"totalAvailableBalance\":\"\($0)\"" } ?? ""
        let upnl = unrealisedPnl.map { ",\"unrealisedPnl\":\"\($0)\"" } ?? ""
        return try decode(ExchangeWalletUpdated.self, """
            {"accountType":"UNIFIED"\(total),"coin":[{"coin":"USDT","walletBalance":"\(balance)","locked":"\(locked)",\
            "totalOrderIM":"\(orderIM)","totalPositionIM":"\(positionIM)"\(upnl)}]}
            """)
    }

    static func position(symbol: String = "BTCUSDT", side: String, size: String, mark: String? = nil) throws -> ExchangePositionUpdated {
        let markField = mark.map { ",\"markPrice\":\"\($0)\"" } ?? ""
        return try decode(ExchangePositionUpdated.self, """
            {"category":"linear","symbol":"\(symbol)","side":"\(side)","size":"\(size)","positionIdx":0\(markField)}
            """)
    }

    /// A signal id for a test number (lower-case UUID text).
    static func signalUUID(_ n: Int) -> UUID {
        DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "core-tests/signal/\(n)")
    }

    /// A signal built in code (timestamp = `time`).
    static func signal(_ n: Int, _ type: TradingSignal.SignalType = .buy, asset: String = "BTCUSDT", amount: String = "1000",
                       confidence: String = "0.9", time: Timestamp = at(0), strategy: String = "strat-1", warmup: Bool = false,
                       snapshotPrice: String? = nil, trace: String? = "trace-1") -> TradingSignal {
        TradingSignal(
            signalID: signalUUID(n), signalType: type, asset: asset, amount: num(amount), confidence: num(confidence), time: time,
            strategyID: strategy, modelVersion: warmup ? nil : "m1", isWarmup: warmup,
            marketDataSnapshot: snapshotPrice.map { MarketDataSnapshot(price: num($0)) }, traceID: trace)
    }

    /// The intent of a linear BTCUSDT order.
    static func requested(_ link: String, side: RESTSide = .buy, type: RESTOrderType = .limit, qty: String = "0.01",
                          price: String? = "50000", marketUnit: RESTMarketUnit? = nil, symbol: String = "BTCUSDT",
                          category: RESTCategory = .linear, snapshot: String? = "50000", receivedAt: Timestamp? = at(0),
                          signalID: String = "sig-1", reduceOnly: Bool? = nil) -> OrderRequested {
        OrderRequested(
            orderLinkId: link, signalID: signalID, strategyID: "strat-1", traceID: "trace-1", leg: 0, category: category,
            symbol: symbol, side: side, orderType: type, timeInForce: type == .limit ? .postOnly : .ioc, qty: num(qty),
            price: price.map(num), marketUnit: marketUnit, reduceOnly: reduceOnly, requestedAmount: num("500"),
            referencePrice: num(price ?? snapshot ?? "50000"), snapshotPrice: snapshot.map(num), signalReceivedAt: receivedAt,
            reason: "no_resting_orders")
    }

    static func accepted(_ link: String, orderId: String = "oid-1", action: OrderAction = .create, via: String = "rest",
                         exchangeStatus: String? = nil) -> OrderAccepted {
        OrderAccepted(orderLinkId: link, orderId: orderId, action: action, via: via, exchangeStatus: exchangeStatus)
    }

    static func config(_ edit: (inout OrderManagerConfig) -> Void = { _ in }) -> OrderManagerConfig {
        var c = OrderManagerConfig()
        edit(&c)
        return c
    }
}

/// A log in memory: each recorded event gets the next global position, a deterministic id and
/// a receive time, and is folded into ``state`` at once.
struct TestLog {
    var state: OrderManagerState
    var position: Int64 = 0
    /// Everything recorded, in order (to fold again into a fresh state).
    var events: [RecordedEvent] = []

    init(config: OrderManagerConfig = OrderManagerConfig()) { state = OrderManagerState(config: config) }

    /// Records `payload` at `t0 + ms` and folds it; returns what the fold derived.
    @discardableResult
    mutating func record<E: EventPayload>(_ payload: E, at ms: Int64 = 0, stream: String = "test-stream") throws -> [DerivedEvent] {
        let id = DeterministicID.uuid5(namespace: DeterministicID.namespace, name: "core-tests/event/\(position + 1)")
        let new = try NewEvent(eventID: id, payload: payload, metadata: EventMetadata(receiveTime: CoreFixtures.at(ms)))
        return apply(new, stream: stream)
    }

    /// Records an event built elsewhere (a decision's or a derived event) and folds it.
    @discardableResult
    mutating func apply(_ e: NewEvent, stream: String) -> [DerivedEvent] {
        if e.metadata.receiveTime == nil { Issue.record("events in these tests carry a receive time") }
        position += 1
        let rec = RecordedEvent(globalPosition: position, eventID: e.eventID, stream: stream, streamVersion: 0, type: e.type,
                                schemaVersion: e.schemaVersion, data: e.data, metadata: e.metadata,
                                recordedAt: e.metadata.receiveTime ?? CoreFixtures.at(0))
        events.append(rec)
        return state.apply(rec)
    }

    /// The standard market: linear BTCUSDT loaded, a synced book 49 990 / 50 010 (spread 4 bps), a wallet of `balance` USDT.
    static func market(config: OrderManagerConfig = OrderManagerConfig(), balance: String? = "100000") throws -> TestLog {
        var log = TestLog(config: config)
        try log.record(InstrumentsLoaded(category: .linear, instruments: [CoreFixtures.linearBTC]))
        try log.record(CoreFixtures.book(bids: [("49990", "5")], asks: [("50010", "5")]))
        if let balance { try log.record(CoreFixtures.wallet(balance: balance)) }
        return log
    }
}

extension DerivedEvent {
    /// The payload decoded as `T` (nil when the type differs).
    func payload<T: EventPayload>(_ type: T.Type) -> T? {
        guard event.type == T.eventType else { return nil }
        return try? CanonicalJSON.decoder.decode(T.self, from: Data(event.data))
    }
}

extension SignalDecision {
    /// The payloads of type `T` among the decision's events.
    func payloads<T: EventPayload>(_ type: T.Type) -> [T] {
        events.filter { $0.event.type == T.eventType }.compactMap { try? CanonicalJSON.decoder.decode(T.self, from: Data($0.event.data)) }
    }
}
