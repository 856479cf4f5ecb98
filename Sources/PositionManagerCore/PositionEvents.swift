import Bybit
import Foundation
import TradelogCore

/// Which position: Bybit keys positions by category, symbol and position index (0 one-way,
/// 1 buy side and 2 sell side of hedge mode). Spot holdings are kept as index 0 positions.
public struct PositionKey: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var category: String
    public var symbol: String
    public var positionIdx: Int

    public init(category: String, symbol: String, positionIdx: Int = 0) {
        self.category = category
        self.symbol = symbol
        self.positionIdx = positionIdx
    }

    /// `linear.BTCUSDT.0`: the id part of the position's stream.
    public var description: String { "\(category).\(symbol).\(positionIdx)" }

    public static func < (a: PositionKey, b: PositionKey) -> Bool {
        (a.category, a.symbol, a.positionIdx) < (b.category, b.symbol, b.positionIdx)
    }
}

/// One strategy's share of a position: its own fills folded as if it traded alone.
public struct StrategyShare: Codable, Hashable, Sendable {
    public var strategyID: String
    public var signedSize: Decimal
    public var averageEntryPrice: Decimal?
    public var realizedPnl: Decimal
    public var unrealizedPnl: Decimal
    public var fees: Decimal
    public var funding: Decimal
    public var fills: Int
}

/// What the exchange last said of a position (its `position` frame or `/v5/position/list`).
public struct ExchangePositionFigures: Codable, Hashable, Sendable {
    public var side: String
    public var signedSize: Decimal
    public var entryPrice: Decimal?
    public var markPrice: Decimal?
    public var unrealisedPnl: Decimal?
    public var cumRealisedPnl: Decimal?
    public var liqPrice: Decimal?
    public var leverage: Decimal?
    public var seq: Int64?
    public var updatedTime: Timestamp?
}

/// A position as tradelog computes it, in the instrument's quote coin.
public struct PositionView: Codable, Hashable, Sendable {
    public var category: String
    public var symbol: String
    public var positionIdx: Int
    /// `Buy` (long), `Sell` (short) or `None` (flat).
    public var side: String
    public var size: Decimal
    public var signedSize: Decimal
    public var averageEntryPrice: Decimal?
    public var markPrice: Decimal?
    public var unrealizedPnl: Decimal
    /// Closed PnL less fees and funding.
    public var realizedPnl: Decimal
    /// Price PnL of closed parts, before fees and funding.
    public var closedPnl: Decimal
    public var fees: Decimal
    public var funding: Decimal
    public var totalPnl: Decimal
    /// size × mark (or the entry price before any mark).
    public var notional: Decimal
    public var quoteCoin: String
    public var leverage: Decimal?
    public var liquidationPrice: Decimal?
    public var exchange: ExchangePositionFigures?
    /// An unresolved difference with the exchange.
    public var discrepancy: Bool
    public var fills: Int
    public var strategies: [StrategyShare]
}

/// Per strategy, over all its positions (converted to USDT where possible).
public struct StrategyPnL: Codable, Hashable, Sendable {
    public var strategyID: String
    public var realizedPnl: Decimal
    public var unrealizedPnl: Decimal
    public var fees: Decimal
    public var funding: Decimal
    public var totalPnl: Decimal
    public var fills: Int
}

/// One coin of the wallet.
public struct CoinView: Codable, Hashable, Sendable {
    public var coin: String
    public var walletBalance: Decimal
    /// Wallet balance plus the unrealized PnL of the derivatives settled in this coin, marked by tradelog.
    public var equity: Decimal
}

/// The account: wallet from the wallet events, PnL and exposure from the positions, in USDT.
public struct PortfolioView: Codable, Hashable, Sendable {
    public var accountType: String?
    /// The exchange's total wallet balance (USD); nil before any wallet event.
    public var walletBalance: Decimal?
    /// Wallet balance plus the derivatives' unrealized PnL as tradelog marks it.
    public var equity: Decimal?
    /// The equity the exchange last reported, for comparison.
    public var exchangeEquity: Decimal?
    /// Unrealized PnL of derivative positions (spot holdings are valued in the wallet already).
    public var unrealizedPnl: Decimal
    /// Unrealized PnL of spot holdings against their average cost.
    public var spotUnrealizedPnl: Decimal
    public var realizedPnl: Decimal
    public var fees: Decimal
    public var funding: Decimal
    /// realized + unrealized (both kinds).
    public var totalPnl: Decimal
    /// Σ |notional| of open positions.
    public var grossExposure: Decimal
    /// Σ signed notional of open positions.
    public var netExposure: Decimal
    public var openPositions: Int
    /// Positions whose quote coin has no USDT price yet: left out of the totals.
    public var unconverted: [String]
    public var coins: [CoinView]
    public var strategies: [StrategyPnL]
}

/// A position changed: a fill, a funding payment, an exchange frame, a discrepancy, a sync,
/// or its mark moved (at most once per configured interval of event time).
public struct PositionUpdated: EventPayload, Hashable {
    public static let eventType = "PositionUpdated"
    /// `fill`, `funding`, `exchange`, `mark`, `discrepancy`, `sync`.
    public var reason: String
    /// Event time the figures are as of.
    public var time: Timestamp
    /// 1, 2, ... per position.
    public var version: Int
    public var position: PositionView
}

/// The portfolio changed (at most once per configured interval of event time).
public struct PortfolioUpdated: EventPayload, Hashable {
    public static let eventType = "PortfolioUpdated"
    public var time: Timestamp
    public var version: Int
    public var portfolio: PortfolioView
}

/// A snapshot of every position and the portfolio, on an interval of event time or on request.
public struct PositionSnapshotCreated: EventPayload, Hashable {
    public static let eventType = "PositionSnapshotCreated"
    public var snapshotID: String
    /// `interval` or `request`.
    public var trigger: String
    public var time: Timestamp
    public var positions: [PositionView]
    public var portfolio: PortfolioView
}

/// Our fold and the exchange disagree on a position beyond the instrument's step, for longer
/// than the grace period.
public struct PositionDiscrepancy: EventPayload, Hashable {
    public static let eventType = "PositionDiscrepancy"
    public var category: String
    public var symbol: String
    public var positionIdx: Int
    /// `size` or `entry_price`.
    public var field: String
    public var ourSignedSize: Decimal
    public var ourEntryPrice: Decimal?
    public var exchangeSignedSize: Decimal
    public var exchangeEntryPrice: Decimal?
    public var quantityStep: Decimal
    public var tickSize: Decimal
    /// Since when (event time) the two differ.
    public var since: Timestamp
    public var time: Timestamp
}

/// A discrepancy ended: our fold caught up (`matched`) or a sync adopted the exchange's figures (`adopted_exchange`).
public struct PositionDiscrepancyResolved: EventPayload, Hashable {
    public static let eventType = "PositionDiscrepancyResolved"
    public var category: String
    public var symbol: String
    public var positionIdx: Int
    public var resolution: String
    public var ourSignedSize: Decimal
    public var ourEntryPrice: Decimal?
    public var exchangeSignedSize: Decimal
    public var exchangeEntryPrice: Decimal?
    public var syncID: String?
    public var time: Timestamp
}

/// An on-demand snapshot was asked for (`POST /api/v1/positions/snapshots`).
public struct PositionSnapshotRequested: EventPayload, Hashable {
    public static let eventType = "PositionSnapshotRequested"
    public var requestID: String
    public var reason: String
    public init(requestID: String, reason: String) {
        self.requestID = requestID
        self.reason = reason
    }
}

/// A sync with the exchange appended its REST positions and missed executions just before
/// this event: every position of `categories` not in `positions` is flat at the exchange.
public struct PositionSyncCompleted: EventPayload, Hashable {
    public static let eventType = "PositionSyncCompleted"
    public var syncID: String
    public var trigger: String
    public var categories: [String]
    /// Keys (`linear.BTCUSDT.0`) of the open positions the exchange listed.
    public var positions: [String]
    public var executionsFetched: Int
    /// The exchange's time (ms) of its answer listing the positions: a position the list leaves
    /// out was flat then, with every fill executed before it.
    public var positionsAsOfMs: Int64?
    public init(syncID: String, trigger: String, categories: [String], positions: [String], executionsFetched: Int,
                positionsAsOfMs: Int64? = nil) {
        self.syncID = syncID
        self.trigger = trigger
        self.categories = categories
        self.positions = positions
        self.executionsFetched = executionsFetched
        self.positionsAsOfMs = positionsAsOfMs
    }
}

public enum PositionEvents {
    public static let source = "position-manager"
    public static func stream(_ key: PositionKey) -> String { "position-\(key)" }
    public static let portfolioStream = "portfolio-account"
    public static func snapshotStream(_ id: String) -> String { "positionsnapshot-\(id)" }
    public static let requestStream = "positionmanager.control-snapshots"
    public static func syncStream(_ id: String) -> String { "positionmanager.sync-\(id)" }

    public static func register(_ r: inout EventRegistry) {
        r.register(PositionUpdated.self)
        r.register(PortfolioUpdated.self)
        r.register(PositionSnapshotCreated.self)
        r.register(PositionDiscrepancy.self)
        r.register(PositionDiscrepancyResolved.self)
        r.register(PositionSnapshotRequested.self)
        r.register(PositionSyncCompleted.self)
    }
}

// Read from the log over the tape before `JSONDecoder` (tested against `JSONDecoder` on the
// bundled sessions' events).
extension PositionUpdated: TapeDecodable {}
extension PortfolioUpdated: TapeDecodable {}
extension PositionSnapshotCreated: TapeDecodable {}
