import Bybit
import Foundation
import Signals
import TradelogCore

/// The risk manager (issue item 2): pure checks of a prospective order against the limits
/// and the state folded from the log. Every denial carries the figures that caused it.
public enum RiskManager {
    /// Checks that do not depend on the order's size: trading state, allow-list, signal rate, daily loss.
    public static func preCheck(_ s: TradingSignal, receivedAt: Timestamp, state: OrderManagerState) -> Refusal? {
        let limits = state.config.risk
        if state.tradingState == .halted {
            return Refusal("trading_halted", "trading is HALTED", ["trading_state": TradingState.halted.rawValue])
        }
        if !limits.allowedSymbols.isEmpty, !limits.allowedSymbols.contains(s.asset) {
            return Refusal("symbol_not_allowed", "\(s.asset) is not in the allow-list",
                           ["allowed": limits.allowedSymbols.joined(separator: ",")])
        }
        let recent = state.signalsInLastMinute(strategy: s.strategyID, now: receivedAt.microsecondsSinceEpoch) + 1
        if recent > limits.maxSignalsPerMinute {
            return Refusal("max_signals_per_minute", "strategy \(s.strategyID) sent \(recent) signals in 60 s (max \(limits.maxSignalsPerMinute))",
                           ["signals_last_minute": "\(recent)", "limit": "\(limits.maxSignalsPerMinute)"])
        }
        let loss = state.realizedLossToday(now: receivedAt.microsecondsSinceEpoch)
        if loss >= limits.dailyLossLimit, limits.dailyLossLimit > 0 {
            return Refusal("daily_loss_limit", "realized loss today is \(loss) (limit \(limits.dailyLossLimit))",
                           ["realized_loss_today": "\(loss)", "limit": "\(limits.dailyLossLimit)"])
        }
        return nil
    }

    /// The coin every notional, limit and exposure figure is in: signal amounts are USDT, and
    /// only instruments quoted (and, linear, settled) in it are sized and risk-checked.
    static let valuationCoin = "USDT"

    /// Denies an instrument whose prices are not in ``valuationCoin``: its notionals could not be
    /// added to the USDT limits without mixing units.
    static func unitCheck(rules: InstrumentRules) -> Refusal? {
        guard rules.quoteCoin != valuationCoin else { return nil }
        return Refusal("unsupported_quote_coin",
                       "\(rules.symbol) is quoted in \(rules.quoteCoin); amounts and risk limits are in \(valuationCoin)",
                       ["quote_coin": rules.quoteCoin, "valuation_coin": valuationCoin])
    }

    /// The exposure figures of an instrument and the account, valued at `price`. Every notional is
    /// in ``valuationCoin`` (docs/order-policy.md §5): base quantities × a price, quote amounts as they are.
    public struct Exposure: Hashable, Sendable {
        /// Signed position in base units (linear position, or the spot base balance).
        public var position: Decimal
        /// |position| × price, in USDT.
        public var positionNotional: Decimal
        /// Absolute position notionals plus open order notionals, all instruments, in USDT.
        public var gross: Decimal
        public var openOrders: Int
    }

    public static func exposure(rules: InstrumentRules, price: Decimal, state: OrderManagerState, excluding cancelled: Set<String>) -> Exposure {
        let position: Decimal = rules.category == .linear
            ? state.account.positions[rules.symbol]?.signedSize ?? 0
            : state.account.balance[rules.baseCoin] ?? 0
        var gross: Decimal = 0
        for (symbol, p) in state.account.positions.sorted(by: { $0.key < $1.key }) {
            // Linear positions: base size × the decision's price (same instrument), else mark, else the market's
            // valuation price; the exchange's own position value (USDT) when no price is known.
            let px = rules.category == .linear && symbol == rules.symbol ? price
                : (p.markPrice ?? state.market.valuationPrice(.linear, symbol))
            if let px { gross += abs(p.signedSize) * px } else { gross += abs(p.positionValue ?? 0) }
        }
        if rules.category == .spot { gross += abs(position) * price }
        var open = 0
        for o in state.restingOrders where !cancelled.contains(o.orderLinkId) {
            // A quote-coin market buy's qty is USDT already (its executed qty is base: never subtract one from the other).
            let px = o.price ?? o.referencePrice ?? state.market.valuationPrice(o.category, o.symbol) ?? 0
            gross += o.remainingNotional(price: px)
            if o.category == rules.category && o.symbol == rules.symbol { open += 1 }
        }
        return Exposure(position: position, positionNotional: abs(position) * price, gross: gross, openOrders: open)
    }

    /// The coin an order spends and how much of it (docs/order-policy.md §5):
    /// linear → the settle coin (the quote coin, USDT), notional ÷ leverage; spot buy → the quote coin, the notional;
    /// spot sell → the base coin, the base qty.
    static func balanceNeed(side: RESTSide, notional: Decimal, baseQty: Decimal, rules: InstrumentRules,
                            leverage: Decimal) -> (coin: String, amount: Decimal) {
        switch rules.category {
        case .spot where side == .sell: return (rules.baseCoin, baseQty)
        case .spot: return (rules.quoteCoin, notional)
        default: return (rules.quoteCoin, notional / max(leverage, 1))
        }
    }

    /// Checks one new order (or the added quantity of an amend).
    public static func check(side: RESTSide, notional: Decimal, baseQty: Decimal, creates: Bool, rules: InstrumentRules,
                             price: Decimal, state: OrderManagerState, cancelled: Set<String>) -> (Refusal?, [String: String]) {
        let limits = state.config.risk
        let x = exposure(rules: rules, price: price, state: state, excluding: cancelled)
        let signed = side == .buy ? baseQty : -baseQty
        // The position once our resting orders on the order's side (except those this
        // decision cancels) and the order itself have filled: the most this order can leave.
        // Counting them keeps same-side orders, each under the limit alone, from adding up
        // past it.
        let sameSide = state.restingQty(category: rules.category, symbol: rules.symbol, side: side, price: price, excluding: cancelled)
        let withResting = x.position + (side == .buy ? sameSide : -sameSide) + signed
        let after = abs(withResting) * price
        // Whether the order leaves the position no larger: once they and it have filled,
        // |position| is at most what it is now. A sell of a long passes, up to twice its size;
        // stacking sells beyond that does not.
        let doesNotGrow = abs(withResting) <= abs(x.position)
        // Linear: the part of the order that closes the position (as it stands once our resting
        // same-side orders have filled) needs no margin at the exchange; only what opens past it.
        var marginQty = baseQty
        if rules.category == .linear {
            let before = x.position + (side == .buy ? sameSide : -sameSide)
            if before > 0 && side == .sell || before < 0 && side == .buy { marginQty = max(0, baseQty - abs(before)) }
        }
        let marginNotional = baseQty > 0 ? notional * marginQty / baseQty : notional
        let need = balanceNeed(side: side, notional: marginNotional, baseQty: baseQty, rules: rules, leverage: limits.linearLeverage)
        // Only the order's own balance coin counts: a missing coin is 0 free, never another coin or the account total.
        let free = state.account.freeBalance(need.coin)
        // min_free_balance is USDT: it guards the quote coin; a spot sell spends the base coin and must only be covered.
        let minimum: Decimal = need.coin == rules.quoteCoin ? limits.minFreeBalance : 0
        var figures: [String: String] = [
            "order_notional": "\(notional)", "max_order_notional": "\(limits.maxOrderNotional)",
            "position_notional_after": "\(after)", "max_position_notional": "\(limits.maxPositionNotional)",
            "resting_same_side_qty": "\(sameSide)",
            "gross_exposure_after": "\(x.gross + notional)", "max_gross_exposure": "\(limits.maxGrossExposure)",
            "open_orders": "\(x.openOrders)", "max_open_orders": "\(limits.maxOpenOrdersPerAsset)",
            "balance_coin": need.coin, "margin": "\(need.amount)", "min_free_balance": "\(minimum)", "price": "\(price)",
        ]
        if marginQty != baseQty { figures["margin_qty"] = "\(marginQty)" }
        if let free { figures["free_balance"] = "\(free)" }
        if notional > limits.maxOrderNotional {
            return (Refusal("max_order_notional", "order notional \(notional) exceeds \(limits.maxOrderNotional)", figures), figures)
        }
        if creates, x.openOrders + 1 > limits.maxOpenOrdersPerAsset {
            return (Refusal("max_open_orders", "\(x.openOrders) open orders on \(rules.symbol) (max \(limits.maxOpenOrdersPerAsset))", figures), figures)
        }
        if after > limits.maxPositionNotional, !doesNotGrow {
            let with = sameSide == 0 ? "" : " and our resting \(side.rawValue.lowercased())s (\(sameSide))"
            return (Refusal("max_position_notional",
                            "position notional after the order\(with) \(after) exceeds \(limits.maxPositionNotional)", figures), figures)
        }
        // An order that does not grow this instrument's position passes both exposure limits:
        // above them, reducing is what the limits ask for.
        if x.gross + notional > limits.maxGrossExposure, !doesNotGrow {
            return (Refusal("max_gross_exposure", "gross exposure after the order \(x.gross + notional) exceeds \(limits.maxGrossExposure)", figures), figures)
        }
        guard let free else {
            return (Refusal("wallet_unknown", "no wallet state in the log yet: the free balance cannot be checked", figures), figures)
        }
        // An order that needs nothing (it only closes the position) passes whatever is free: an
        // open loss may have taken the free balance below the minimum, and closing is what helps.
        if need.amount > 0, free - need.amount < minimum {
            return (Refusal("insufficient_free_balance",
                            "free \(need.coin) \(free) less the order's \(need.amount) is below \(minimum)", figures), figures)
        }
        return (nil, figures)
    }
}
