import Foundation
import TradelogCore

/// The arithmetic of one position, without I/O: a signed size, the cost of the open part,
/// and what has been realized, paid in fees and paid in funding. All figures are in the
/// instrument's quote (settle) coin; quantities are in the base coin.
///
/// The open cost is kept rather than the average entry, so a fill that grows a position
/// adds exactly `qty × price`; the average is divided out once per change (every view of
/// the position reads it, and a `Decimal` division costs far more than the rest). A fill against
/// the position first closes (realizing `closed × (price − entry)` with the sign of the
/// position), and what is left of it opens the other way at the fill's price.
///
/// Sums, differences and products go through ``ExactDecimal``: Foundation's results, bit for
/// bit, without its allocations (every view and portfolio reads these figures).
public struct PositionLedger: Sendable, Hashable, Codable {
    /// Positive long, negative short.
    public private(set) var signedSize: Decimal = 0
    /// Signed: Σ signed qty × entry price of the open part.
    public private(set) var openCost: Decimal = 0
    /// Price PnL of the closed parts, before fees and funding (Bybit's `execPnl`).
    public private(set) var closedPnl: Decimal = 0
    /// Trading fees paid (a rebate is negative).
    public private(set) var fees: Decimal = 0
    /// Funding paid (received is negative), Bybit's sign of a Funding execution's `execFee`.
    public private(set) var funding: Decimal = 0
    /// Fills folded.
    public private(set) var fills: Int = 0

    /// The average entry price of the open part (`openCost / signedSize`); nil when flat.
    public private(set) var averageEntryPrice: Decimal?

    public init() {}

    public var isFlat: Bool { signedSize == 0 }
    public var size: Decimal { abs(signedSize) }

    /// After a change of the size or the open cost.
    private mutating func settle() {
        averageEntryPrice = signedSize == 0 ? nil : openCost / signedSize
    }

    // The average is derived: not encoded, divided out again when decoded.
    enum CodingKeys: String, CodingKey {
        case signedSize, openCost, closedPnl, fees, funding, fills
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        signedSize = try c.decode(Decimal.self, forKey: .signedSize)
        openCost = try c.decode(Decimal.self, forKey: .openCost)
        closedPnl = try c.decode(Decimal.self, forKey: .closedPnl)
        fees = try c.decode(Decimal.self, forKey: .fees)
        funding = try c.decode(Decimal.self, forKey: .funding)
        fills = try c.decode(Int.self, forKey: .fills)
        settle()
    }

    /// Realized PnL net of fees and funding, as Bybit's `cumRealisedPnl` counts it.
    public var realizedPnl: Decimal { ExactDecimal.difference(ExactDecimal.difference(closedPnl, fees), funding) }

    /// Price PnL of the open part at `mark`.
    public func unrealizedPnl(mark: Decimal) -> Decimal { ExactDecimal.difference(ExactDecimal.product(signedSize, mark), openCost) }

    /// Applies a fill of `qty` (> 0) at `price`, `buy` or sell, paying `fee` (quote coin).
    /// Returns the price PnL it realized.
    @discardableResult
    public mutating func fill(buy: Bool, qty: Decimal, price: Decimal, fee: Decimal) -> Decimal {
        fills += 1
        fees = ExactDecimal.sum(fees, fee)
        let q = buy ? qty : -qty
        guard let entry = averageEntryPrice, (signedSize > 0) != (q > 0) else {
            signedSize = ExactDecimal.sum(signedSize, q)
            openCost = ExactDecimal.sum(openCost, ExactDecimal.product(q, price))
            settle()
            return 0
        }
        let closing = min(qty, size)
        // Closing a long at `price` realizes (price − entry) per unit; a short, the reverse.
        let realized = ExactDecimal.product(ExactDecimal.difference(price, entry), signedSize > 0 ? closing : -closing)
        closedPnl = ExactDecimal.sum(closedPnl, realized)
        let remaining = ExactDecimal.difference(size, closing)
        if remaining == 0 {
            signedSize = 0
            openCost = 0
        } else {
            signedSize = signedSize > 0 ? remaining : -remaining
            openCost = ExactDecimal.product(signedSize, entry)
        }
        let opening = ExactDecimal.difference(qty, closing)
        if opening > 0 {
            signedSize = buy ? opening : -opening
            openCost = ExactDecimal.product(signedSize, price)
        }
        settle()
        return realized
    }

    /// Adds `qty` (> 0) at `price` to the size and the open cost as they are, without a fill, a
    /// fee or a realization: coins held from outside the log (a spot balance from before it
    /// began). Added to the position and to one strategy's share, it keeps the shares summing to
    /// the position (size, cost and so unrealized PnL).
    public mutating func hold(_ qty: Decimal, at price: Decimal) {
        if signedSize < 0 {
            // A short share (an unattributed sale of the coins): they cover it, as a fill
            // without a fee or a fill's count, so its entry stays meaningful.
            let counted = fills
            fill(buy: true, qty: qty, price: price, fee: 0)
            fills = counted
            return
        }
        signedSize = ExactDecimal.sum(signedSize, qty)
        openCost = ExactDecimal.sum(openCost, ExactDecimal.product(qty, price))
        settle()
    }

    /// A fill whose size is already in the position (adopted from the exchange): its fee and
    /// the price PnL it realized (the exchange's figure), not its size.
    public mutating func countFill(fee: Decimal, closedPnl realized: Decimal) {
        fills += 1
        fees = ExactDecimal.sum(fees, fee)
        closedPnl = ExactDecimal.sum(closedPnl, realized)
    }

    /// A funding payment (positive paid, negative received): PnL moves, size does not.
    public mutating func payFunding(_ amount: Decimal) { funding = ExactDecimal.sum(funding, amount) }

    /// Takes the exchange's size and entry price as ours (a sync resolving a discrepancy);
    /// what was realized stays.
    public mutating func adopt(signedSize: Decimal, entryPrice: Decimal?) {
        self.signedSize = signedSize
        openCost = signedSize == 0 ? 0 : ExactDecimal.product(signedSize, entryPrice ?? (averageEntryPrice ?? 0))
        settle()
    }
}
