import Foundation
import OrderManagerCore
import PositionManagerCore
import Testing
import TradelogCore

@Suite("Position ledger properties")
struct PositionLedgerPropertyTests {
    static let tolerance = num("0.000000000000000001")

    /// For any sequence of fills, funding payments and marks, folded through the whole
    /// position manager (frames in, PositionUpdated out): the size is the signed sum of the
    /// fills, realized + unrealized equals the mark-to-market change less fees and funding,
    /// and the strategies' shares add up to the position.
    @Test("size = signed sum; realized + unrealized = MTM change − fees − funding; strategies sum to the position", arguments: 0..<40)
    func foldedSequences(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &* 7919 &+ 17)
        var log = PMLog()
        let strategies = ["alpha", "beta", ""]
        for (i, s) in strategies.enumerated() where !s.isEmpty {
            try log.order(link: "link-\(s)", strategy: s, signal: "sig-\(i)")
        }
        var size: Decimal = 0, cash: Decimal = 0, fees: Decimal = 0, funding: Decimal = 0
        var mark = num("100")
        let steps = 1 + rng.below(60)
        for step in 0..<steps {
            let ms = Int64(step * 250)
            switch rng.below(10) {
            case 0..<7:
                let buy = rng.below(2) == 0
                let qty = Decimal(1 + rng.below(2000)) / 1000
                let price = Decimal(9000 + rng.below(2001)) / 100
                let fee = Decimal(rng.below(12_000_000)) / 100_000_000
                let s = strategies[rng.below(strategies.count)]
                log.execution(buy ? "Buy" : "Sell", "\(qty)", at: "\(price)", fee: "\(fee)", link: s.isEmpty ? "" : "link-\(s)", ms: ms)
                size += buy ? qty : -qty
                cash -= (buy ? qty : -qty) * price
                fees += fee
            case 7:
                let amount = Decimal(rng.below(2001) - 1000) / 10_000
                log.execution(size >= 0 ? "Buy" : "Sell", "\(abs(size))", at: "\(mark)", fee: "\(amount)", execType: "Funding", ms: ms)
                funding += amount
            default:
                mark = Decimal(9000 + rng.below(2001)) / 100
                log.ticker(mark: "\(mark)", ms: ms)
            }
            guard let v = log.state.view(PositionKey(category: "linear", symbol: "BTCUSDT")) else { continue }
            #expect(v.signedSize == size, "size after step \(step)")
            guard let m = v.markPrice else { continue }
            let mtm = cash + size * m
            #expect(abs(v.realizedPnl + v.unrealizedPnl - (mtm - fees - funding)) <= Self.tolerance, "PnL identity after step \(step)")
            #expect(v.fees == fees && v.funding == funding)
            let shares = v.strategies.reduce(Decimal(0)) { $0 + $1.realizedPnl + $1.unrealizedPnl }
            #expect(abs(shares - v.totalPnl) <= Self.tolerance, "strategy shares sum to the position after step \(step)")
            #expect(v.strategies.reduce(Decimal(0)) { $0 + $1.signedSize } == size)
        }
        // The published figures are the state's.
        if let last = log.last(PositionUpdated.self), let m = last.position.markPrice {
            #expect(last.position.signedSize == size)
            #expect(abs(last.position.totalPnl - (cash + size * m - fees - funding)) <= Self.tolerance)
        }
    }

    @Test("the ledger: open, add, reduce, flip, close")
    func ledgerSteps() {
        var l = PositionLedger()
        l.fill(buy: true, qty: 1, price: 100, fee: num("0.1"))
        l.fill(buy: true, qty: 1, price: 110, fee: num("0.1"))
        #expect(l.signedSize == 2 && l.averageEntryPrice == 105)
        #expect(l.fill(buy: false, qty: num("0.5"), price: 120, fee: 0) == num("7.5"))
        #expect(l.signedSize == num("1.5") && l.averageEntryPrice == 105)
        // Sell 3 at 100: closes 1.5 (−7.5) and opens 1.5 short at 100.
        #expect(l.fill(buy: false, qty: 3, price: 100, fee: 0) == num("-7.5"))
        #expect(l.signedSize == num("-1.5") && l.averageEntryPrice == 100)
        #expect(l.unrealizedPnl(mark: 90) == 15)
        l.fill(buy: true, qty: num("1.5"), price: 90, fee: 0)
        #expect(l.isFlat && l.averageEntryPrice == nil && l.closedPnl == 15)
        l.payFunding(num("0.3"))
        #expect(l.realizedPnl == 15 - num("0.2") - num("0.3"))
        #expect(l.fills == 5)
    }

    @Test("the average entry kept through fills and adoptions is always the open cost over the size", arguments: 0..<20)
    func averageEntryKept(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 101)
        var l = PositionLedger()
        for _ in 0..<80 {
            if rng.below(12) == 0 {
                l.adopt(signedSize: Decimal(rng.below(4001) - 2000) / 1000,
                        entryPrice: rng.below(3) == 0 ? nil : Decimal(9000 + rng.below(2001)) / 100)
            } else {
                l.fill(buy: rng.below(2) == 0, qty: Decimal(1 + rng.below(2000)) / 1000,
                       price: Decimal(9000 + rng.below(2001)) / 7, fee: 0)
            }
            #expect(l.averageEntryPrice == (l.signedSize == 0 ? nil : l.openCost / l.signedSize))
        }
        // Encoded without the average, which decoding divides out again.
        let data = try JSONEncoder().encode(l)
        let object = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(object["averageEntryPrice"] == nil && object["openCost"] != nil)
        #expect(try JSONDecoder().decode(PositionLedger.self, from: data) == l)
    }

    /// The portfolio leaves USDT figures unconverted: it relies on `x * 1` being `x` bit for bit
    /// for the decimals the ledger makes (sums, differences and products of prices and sizes).
    @Test("multiplying a ledger's decimal by one gives the same bytes", arguments: 0..<8)
    func timesOneIsIdentity(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed) &+ 99)
        func random() -> Decimal {
            var text = (rng.below(2) == 0 ? "-" : "") + String(rng.below(1_000_000))
            let fraction = rng.below(9)
            if fraction > 0 { text += "." + (0..<fraction).map { _ in String(rng.below(10)) }.joined() }
            return Decimal(string: text)!
        }
        func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }
        for _ in 0..<2000 {
            let a = random(), b = random(), c = random()
            let quotient = b == 0 ? a : a / b
            for x in [a, a + b, a - b, a * b, (a + b) * c, a * b - c, -a, a + b + c, Decimal(0), (a - a) * c,
                      quotient, quotient * c, a * c - quotient, Decimal(rng.below(1000)), abs(a)] {
                #expect(bytes(x * 1) == bytes(x), "\(x)")
            }
        }
    }
}
