import Foundation
import OrderManagerCore
import Signals
import TradelogCore

/// What the order manager decided about one signal, reduced to what a trader compares:
/// the orders (action, side, type, size, price) or the denial, then what became of its orders
/// (amends with their size and price, cancels, the exchange's rejections), with the reasons.
public struct SignalOutcome: Sendable, Hashable {
    public var signalID: String
    public var strategyID: String
    public var asset: String
    /// One line per decision element, e.g. `create Buy Limit qty 0.003 @ 65000.5 (limit: spread ...)`
    /// or `denied max_order_notional: ...`.
    public var decision: [String]
    /// Why, in the decision's own words (order-type reason, risk figures or denial detail).
    public var reasons: [String]

    /// The part that must match for two runs to have decided the same.
    public var key: [String] { decision }
}

/// The decision-level difference of two replays of one recording (`--config OTHER --diff`).
public enum WhatIf {
    /// Each signal's decision in a run, keyed by signal id, in the order the signals came.
    public static func outcomes(_ events: [RecordedEvent]) -> [(String, SignalOutcome)] {
        var order: [String] = []
        var byID: [String: SignalOutcome] = [:]
        var signalByLink: [String: String] = [:]
        let decoder = CanonicalJSON.decoder
        func touch(_ id: String, _ strategy: String, _ asset: String) {
            if byID[id] == nil {
                order.append(id)
                byID[id] = SignalOutcome(signalID: id, strategyID: strategy, asset: asset, decision: [], reasons: [])
            }
        }
        for e in events {
            switch e.type {
            case OrderDecided.eventType:
                guard let d = try? decoder.decode(OrderDecided.self, from: Data(e.data)) else { continue }
                touch(d.signalID, d.strategyID, d.asset)
                let price = d.steps.isEmpty ? "" : " ref \(d.referencePrice) (\(d.referenceSource.rawValue))"
                for s in d.steps {
                    byID[d.signalID]!.decision.append(
                        "\(s.action.rawValue) \(d.side.rawValue) \(d.orderType.rawValue) qty \(d.qty) notional \(d.notional)\(price)")
                    byID[d.signalID]!.reasons.append(s.reason)
                }
                byID[d.signalID]!.reasons.append("order type: \(d.orderTypeReason)")
            case OrderDenied.eventType:
                guard let d = try? decoder.decode(OrderDenied.self, from: Data(e.data)) else { continue }
                touch(d.signalID, d.strategyID, d.asset)
                byID[d.signalID]!.decision.append("denied \(d.code)")
                byID[d.signalID]!.reasons.append(d.detail + figures(d.figures))
            case SignalRefused.eventType:
                guard let d = try? decoder.decode(SignalRefused.self, from: Data(e.data)) else { continue }
                touch(d.signalID, d.strategyID, d.asset)
                byID[d.signalID]!.decision.append("refused \(d.reason)")
                byID[d.signalID]!.reasons.append(d.detail + figures(d.figures))
            case OrderRequested.eventType:
                guard let r = try? decoder.decode(OrderRequested.self, from: Data(e.data)), byID[r.signalID] != nil else { continue }
                signalByLink[r.orderLinkId] = r.signalID
                let price = r.price.map { " @ \($0)" } ?? ""
                byID[r.signalID]!.decision.append("request \(r.side.rawValue) \(r.orderType.rawValue) \(r.qty)\(price)")
            // What became of the signal's orders: amends (its own, and re-prices), cancels, and
            // the exchange's rejections (a setting can change what the venue accepts).
            case OrderAmendRequested.eventType:
                guard let r = try? decoder.decode(OrderAmendRequested.self, from: Data(e.data)),
                      let id = r.signalID ?? signalByLink[r.orderLinkId], byID[id] != nil else { continue }
                let qty = r.qty.map { " qty \($0)" } ?? ""
                let price = r.price.map { " @ \($0)" } ?? ""
                byID[id]!.decision.append("amend \(r.orderLinkId)#\(r.amendIndex)\(qty)\(price)")
                byID[id]!.reasons.append("amend: \(r.reason)")
            case OrderCancelRequested.eventType:
                guard let r = try? decoder.decode(OrderCancelRequested.self, from: Data(e.data)),
                      let id = r.signalID ?? signalByLink[r.orderLinkId], byID[id] != nil else { continue }
                byID[id]!.decision.append("cancel \(r.orderLinkId)")
                byID[id]!.reasons.append("cancel: \(r.reason)")
            case OrderRejected.eventType:
                guard let r = try? decoder.decode(OrderRejected.self, from: Data(e.data)),
                      let id = signalByLink[r.orderLinkId] ?? e.metadata.correlationID, byID[id] != nil else { continue }
                byID[id]!.decision.append("exchange rejected \(r.action.rawValue) \(r.orderLinkId) (\(r.retCode))")
                byID[id]!.reasons.append("exchange: \(r.retMsg)")
            default:
                continue
            }
        }
        return order.map { ($0, byID[$0]!) }
    }

    static func figures(_ f: [String: String]) -> String {
        f.isEmpty ? "" : " (" + f.keys.sorted().map { "\($0)=\(f[$0]!)" }.joined(separator: ", ") + ")"
    }

    /// One changed signal: its outcome in the recorded run and in the other.
    public struct Change: Sendable, Hashable {
        public var signalID: String
        public var recorded: SignalOutcome?
        public var other: SignalOutcome?
    }

    /// Exactly the signals whose decisions differ, in signal order.
    public static func diff(recorded: [RecordedEvent], other: [RecordedEvent]) -> [Change] {
        let a = outcomes(recorded)
        let b = outcomes(other)
        let bByID = Dictionary(b, uniquingKeysWith: { x, _ in x })
        let aIDs = Set(a.map(\.0))
        var changes: [Change] = []
        for (id, left) in a {
            let right = bByID[id]
            if right?.key != left.key { changes.append(Change(signalID: id, recorded: left, other: right)) }
        }
        for (id, right) in b where !aIDs.contains(id) { changes.append(Change(signalID: id, recorded: nil, other: right)) }
        return changes
    }

    /// The report: one block per changed signal, both sides with their reasons.
    public static func report(_ changes: [Change], recordedName: String, otherName: String) -> String {
        var out = "\(changes.count) signal(s) decided differently (\(recordedName) → \(otherName))\n"
        for c in changes {
            let who = c.recorded ?? c.other
            out += "\nsignal \(c.signalID) (\(who?.strategyID ?? "?"), \(who?.asset ?? "?"))\n"
            for (label, side) in [(recordedName, c.recorded), (otherName, c.other)] {
                guard let side else {
                    out += "  \(label): no decision\n"
                    continue
                }
                out += "  \(label): \(side.decision.joined(separator: "; "))\n"
                for r in side.reasons { out += "    because \(r)\n" }
            }
        }
        return out
    }
}
