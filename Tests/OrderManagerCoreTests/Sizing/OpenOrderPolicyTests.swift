import Bybit
import Foundation
import OrderManagerCore
import Testing

private func d(_ text: String) -> Decimal { SizingFixtures.dec(text) }

@Suite("OpenOrderPolicy: every row of docs/order-policy.md")
struct OpenOrderPolicyTests {
    func order(_ id: String, _ side: RESTSide, _ type: RESTOrderType = .limit, qty: String = "1", leaves: String? = nil,
               price: String? = "100", settled: Bool = true, seq: Int64) -> RestingOrder {
        RestingOrder(orderLinkId: id, side: side, orderType: type, qty: d(qty), leavesQty: d(leaves ?? qty),
                     price: price.map(d), settled: settled, sequence: seq)
    }

    func decide(_ side: RESTSide, _ type: RESTOrderType = .limit, qty: String = "2", price: String? = "101",
                resting: [RestingOrder], maxQty: String? = nil) -> [OpenOrderAction] {
        OpenOrderPolicy.decide(side: side, orderType: type, qty: d(qty), price: price.map(d), resting: resting, maxQty: maxQty.map(d))
    }

    @Test("row 5 while REDUCE_ONLY: only an order sent with reduceOnly is amended (the newest such); without one, a new reduce-only order")
    func row5ReduceOnly() {
        let plain = order("a", .sell, seq: 1)
        var reducing = order("b", .sell, seq: 2)
        reducing.reduceOnly = true
        func decideReducing(_ resting: [RestingOrder]) -> [OpenOrderAction] {
            OpenOrderPolicy.decide(side: .sell, orderType: .limit, qty: d("2"), price: d("101"), resting: resting, maxQty: nil,
                                   reduceOnly: true)
        }
        #expect(decideReducing([plain]) == [.create(reason: "same_side_add")])
        #expect(decideReducing([plain, reducing]) == [.amend(orderLinkId: "b", qty: d("3"), price: d("101"), reason: "same_side_amend")])
        #expect(decideReducing([reducing, order("c", .sell, seq: 3)])
                == [.amend(orderLinkId: "b", qty: d("3"), price: d("101"), reason: "same_side_amend")], "the newest reduce-only one")
    }

    @Test("row 1: no resting orders → create no_resting_orders")
    func row1() {
        #expect(decide(.buy, resting: [], maxQty: "10") == [.create(reason: "no_resting_orders")])
        #expect(decide(.sell, .market, price: nil, resting: []) == [.create(reason: "no_resting_orders")])
    }

    @Test("row 1: a settled order with nothing left is not resting")
    func row1Done() {
        #expect(decide(.buy, resting: [order("a", .sell, leaves: "0", seq: 1)]) == [.create(reason: "no_resting_orders")])
    }

    @Test("row 2: any unsettled order → refuse order_in_flight and nothing else")
    func row2() {
        let actions = decide(.buy, resting: [order("a", .sell, seq: 1), order("b", .buy, .market, settled: false, seq: 2)])
        #expect(actions.count == 1)
        guard case .refuse(let code, let detail) = actions.first else { Issue.record("not a refusal"); return }
        #expect(code == "order_in_flight" && detail == "outcome not known yet for b")
        // Unsettled with leavesQty 0 (no ack yet) still counts.
        #expect(decide(.sell, resting: [order("c", .sell, leaves: "0", settled: false, seq: 1)])
                == [.refuse(code: "order_in_flight", detail: "outcome not known yet for c")])
    }

    @Test("rows 3+4: opposite resting → cancel, then create opposite_cancelled")
    func row3and4() {
        #expect(decide(.buy, resting: [order("s1", .sell, seq: 5)])
                == [.cancel(orderLinkId: "s1", reason: "opposite_signal"), .create(reason: "opposite_cancelled")])
    }

    @Test("row 3: several opposite orders are cancelled oldest first")
    func row3Several() {
        let resting = [order("s3", .sell, seq: 30), order("s1", .sell, .market, seq: 10), order("s2", .sell, seq: 20)]
        #expect(decide(.buy, .market, price: nil, resting: resting) == [
            .cancel(orderLinkId: "s1", reason: "opposite_signal"),
            .cancel(orderLinkId: "s2", reason: "opposite_signal"),
            .cancel(orderLinkId: "s3", reason: "opposite_signal"),
            .create(reason: "opposite_cancelled"),
        ])
    }

    @Test("row 5: same-side limit + new limit → amend the newest: qty summed, new price")
    func row5() {
        let resting = [order("b1", .buy, qty: "1", seq: 1), order("b2", .buy, qty: "3", leaves: "1", seq: 2)]
        #expect(decide(.buy, qty: "2", price: "101", resting: resting)
                == [.amend(orderLinkId: "b2", qty: 5, price: 101, reason: "same_side_amend")])
    }

    @Test("row 5: amended qty above maxQty → create same_side_add; equal to maxQty still amends")
    func row5Max() {
        let resting = [order("b1", .buy, qty: "4", seq: 1)]
        #expect(decide(.buy, qty: "2", resting: resting, maxQty: "5") == [.create(reason: "same_side_add")])
        #expect(decide(.buy, qty: "1", resting: resting, maxQty: "5")
                == [.amend(orderLinkId: "b1", qty: 5, price: 101, reason: "same_side_amend")])
    }

    @Test("row 5: the newest same-side LIMIT is amended, not a newer market order")
    func row5NewestLimit() {
        let resting = [order("b1", .buy, seq: 1), order("b2", .buy, .market, price: nil, seq: 2)]
        #expect(decide(.buy, resting: resting) == [.amend(orderLinkId: "b1", qty: 3, price: 101, reason: "same_side_amend")])
    }

    @Test("row 5 without a same-side limit (only market) → create same_side_add")
    func row5NoLimit() {
        #expect(decide(.sell, resting: [order("m", .sell, .market, price: nil, seq: 1)]) == [.create(reason: "same_side_add")])
    }

    @Test("row 6: same-side resting + new market → create same_side_add")
    func row6() {
        #expect(decide(.sell, .market, price: nil, resting: [order("s1", .sell, seq: 1)]) == [.create(reason: "same_side_add")])
    }

    @Test("mixed: opposite cancelled first, then same-side amend")
    func mixedAmend() {
        let resting = [order("b1", .buy, qty: "1", seq: 3), order("s1", .sell, seq: 1), order("s2", .sell, seq: 2)]
        #expect(decide(.buy, qty: "2", price: "99", resting: resting) == [
            .cancel(orderLinkId: "s1", reason: "opposite_signal"),
            .cancel(orderLinkId: "s2", reason: "opposite_signal"),
            .amend(orderLinkId: "b1", qty: 3, price: 99, reason: "same_side_amend"),
        ])
    }

    @Test("mixed: opposite cancelled, then same-side market add / over-max add")
    func mixedAdd() {
        let resting = [order("s1", .sell, seq: 2), order("b1", .buy, qty: "9", seq: 1)]
        let cancel = OpenOrderAction.cancel(orderLinkId: "s1", reason: "opposite_signal")
        #expect(decide(.buy, .market, price: nil, resting: resting) == [cancel, .create(reason: "same_side_add")])
        #expect(decide(.buy, qty: "2", resting: resting, maxQty: "10") == [cancel, .create(reason: "same_side_add")])
    }

    @Test("equal sequences are ordered by orderLinkId (deterministic)")
    func ties() {
        let resting = [order("z", .sell, seq: 1), order("a", .sell, seq: 1)]
        #expect(decide(.buy, resting: resting).prefix(2) == [.cancel(orderLinkId: "a", reason: "opposite_signal"),
                                                   .cancel(orderLinkId: "z", reason: "opposite_signal")])
    }

    @Test("actions round-trip through JSON")
    func codable() throws {
        let actions: [OpenOrderAction] = [.create(reason: "x"), .cancel(orderLinkId: "a", reason: "y"),
                                          .amend(orderLinkId: "b", qty: d("1.5"), price: nil, reason: "z"),
                                          .refuse(code: "c", detail: "d")]
        #expect(try JSONDecoder().decode([OpenOrderAction].self, from: try JSONEncoder().encode(actions)) == actions)
    }
}
