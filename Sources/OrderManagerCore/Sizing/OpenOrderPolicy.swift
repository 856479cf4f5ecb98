import Bybit
import Foundation

/// One of our open orders on the asset, as the order manager's state knows it.
public struct RestingOrder: Codable, Hashable, Sendable {
    public var orderLinkId: String
    public var side: RESTSide
    public var orderType: RESTOrderType
    /// The order's total quantity (Bybit's amend `qty` is the total, filled part included).
    public var qty: Decimal
    public var leavesQty: Decimal
    public var price: Decimal?
    /// False while our request's outcome is not known yet (no ack, or outcome unknown).
    public var settled: Bool
    /// Event order of creation (ascending = older); the policy amends the newest.
    public var sequence: Int64
    /// Sent with `reduceOnly` (only such an order may grow while trading is REDUCE_ONLY).
    public var reduceOnly: Bool

    public init(orderLinkId: String, side: RESTSide, orderType: RESTOrderType, qty: Decimal, leavesQty: Decimal,
                price: Decimal?, settled: Bool, sequence: Int64, reduceOnly: Bool = false) {
        self.reduceOnly = reduceOnly
        self.orderLinkId = orderLinkId
        self.side = side
        self.orderType = orderType
        self.qty = qty
        self.leavesQty = leavesQty
        self.price = price
        self.settled = settled
        self.sequence = sequence
    }
}

/// What to do with the exchange, in order.
public enum OpenOrderAction: Codable, Hashable, Sendable {
    case create(reason: String)
    case cancel(orderLinkId: String, reason: String)
    case amend(orderLinkId: String, qty: Decimal, price: Decimal?, reason: String)
    case refuse(code: String, detail: String)
}

/// The open-order policy table of docs/order-policy.md: create, amend or cancel first.
public enum OpenOrderPolicy {
    /// Rows (each tested; each documented in docs/order-policy.md):
    /// 1. no resting orders of ours on the asset → [create "no_resting_orders"]
    /// 2. any resting order not settled → [refuse "order_in_flight"] (nothing else)
    /// 3. opposite-side resting orders → cancel each, oldest first ("opposite_signal"), then rows 4–6 for the same side
    /// 4. no same-side resting → create ("opposite_cancelled" if row 3 cancelled any, else "no_resting_orders")
    /// 5. same-side resting Limit and the new order is Limit → amend the newest same-side limit:
    ///    qty = its qty + new qty, price = new price ("same_side_amend"); if that qty > maxQty → create ("same_side_add")
    /// 6. same-side resting and the new order is Market → create ("same_side_add")
    ///
    /// A settled order with nothing left (`leavesQty` ≤ 0) is not resting and is ignored.
    /// With `reduceOnly` (trading is REDUCE_ONLY), row 5 amends the newest limit sent with
    /// `reduceOnly`: one that was not could open a position once the one it was reducing is gone;
    /// without such an order a new reduce-only order is created ("same_side_add").
    /// A new Limit with same-side resting orders but none of them Limit is row 6's "same_side_add".
    public static func decide(side: RESTSide, orderType: RESTOrderType, qty: Decimal, price: Decimal?,
                              resting: [RestingOrder], maxQty: Decimal?, reduceOnly: Bool = false) -> [OpenOrderAction] {
        let open = resting.filter { !$0.settled || $0.leavesQty > 0 }
            .sorted { ($0.sequence, $0.orderLinkId) < ($1.sequence, $1.orderLinkId) }
        guard !open.isEmpty else { return [.create(reason: "no_resting_orders")] }

        let inFlight = open.filter { !$0.settled }
        guard inFlight.isEmpty else {
            let ids = inFlight.map(\.orderLinkId).joined(separator: ", ")
            return [.refuse(code: "order_in_flight", detail: "outcome not known yet for \(ids)")]
        }

        let cancels = open.filter { $0.side != side }
            .map { OpenOrderAction.cancel(orderLinkId: $0.orderLinkId, reason: "opposite_signal") }
        let sameSide = open.filter { $0.side == side }
        guard !sameSide.isEmpty else {
            return cancels + [.create(reason: cancels.isEmpty ? "no_resting_orders" : "opposite_cancelled")]
        }
        if orderType == .limit, let newest = sameSide.last(where: { $0.orderType == .limit && (!reduceOnly || $0.reduceOnly) }) {
            let total = newest.qty + qty
            if let maxQty, total > maxQty { return cancels + [.create(reason: "same_side_add")] }
            return cancels + [.amend(orderLinkId: newest.orderLinkId, qty: total, price: price, reason: "same_side_amend")]
        }
        return cancels + [.create(reason: "same_side_add")]
    }
}
