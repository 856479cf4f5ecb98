/// Where the relay publishes each event type (seed 000's queue tables).
public struct RelayRoute: Sendable, Hashable {
    public enum BodyStyle: Sendable, Hashable {
        /// The envelope with the event's data under `payload` (docs/messages.md).
        case envelope
        /// The event's data at the top level with the envelope's keys beside it: for
        /// `model-service.trading_signals`, whose whole message shape seed 002 fixes.
        case flat
    }

    public var queue: String
    /// The seed's event type for the queue (`trade`, `orderbook`, ...), the body's `event_type`.
    public var eventType: String
    public var style: BodyStyle

    public init(queue: String, eventType: String, style: BodyStyle = .envelope) {
        self.queue = queue
        self.eventType = eventType
        self.style = style
    }
}

/// The routing table: log event type → queue. Types with no route are not published.
public struct RelayRoutes: Sendable {
    private var byType: [String: RelayRoute]

    public init(_ routes: [String: RelayRoute]) { byType = routes }

    public func route(for eventType: String) -> RelayRoute? { byType[eventType] }

    /// Every queue the table publishes to, sorted.
    public var queues: [String] { Array(Set(byType.values.map(\.queue))).sorted() }

    /// The log event types routed to `queue`, sorted.
    public func eventTypes(for queue: String) -> [String] {
        byType.filter { $0.value.queue == queue }.map(\.key).sorted()
    }

    /// The same table with every queue name prefixed (benchmarks and tests beside live queues).
    public func prefixed(_ prefix: String) -> RelayRoutes {
        RelayRoutes(byType.mapValues { RelayRoute(queue: prefix + $0.queue, eventType: $0.eventType, style: $0.style) })
    }

    /// The documented queues (seed 000) and the events that feed them. Types of later issues
    /// (features, order manager, position manager) are routed by name already; their
    /// payloads are defined by those issues.
    public static let standard = RelayRoutes([
        "MarketTrades": RelayRoute(queue: "ws-gateway.trade", eventType: "trade"),
        "TickerUpdated": RelayRoute(queue: "ws-gateway.ticker", eventType: "ticker"),
        "OrderBookUpdated": RelayRoute(queue: "ws-gateway.orderbook", eventType: "orderbook"),
        "KlineUpdated": RelayRoute(queue: "ws-gateway.kline", eventType: "kline"),
        "KlineClosed": RelayRoute(queue: "ws-gateway.kline", eventType: "kline"),
        "FundingRateUpdated": RelayRoute(queue: "ws-gateway.funding", eventType: "funding"),
        "ExchangeOrderUpdated": RelayRoute(queue: "ws-gateway.order", eventType: "order"),
        "ExchangeWalletUpdated": RelayRoute(queue: "ws-gateway.balance", eventType: "balance"),
        "ExchangeWalletSnapshot": RelayRoute(queue: "ws-gateway.balance", eventType: "balance"),
        "ExchangePositionUpdated": RelayRoute(queue: "ws-gateway.position", eventType: "position"),
        "LiquidationsReported": RelayRoute(queue: "ws-gateway.liquidation", eventType: "liquidation"),
        "FeaturesComputed": RelayRoute(queue: "features.live", eventType: "features"),
        "DatasetReady": RelayRoute(queue: "features.dataset.ready", eventType: "dataset_ready"),
        "SignalGenerated": RelayRoute(queue: "model-service.trading_signals", eventType: "trading_signal", style: .flat),
        "OrderLifecycleChanged": RelayRoute(queue: "order-manager.order_events", eventType: "order_event"),
        "OrderExecuted": RelayRoute(queue: "order-manager.order_executed", eventType: "order_executed"),
        "PositionUpdated": RelayRoute(queue: "position-manager.position_updated", eventType: "position_updated"),
        "PortfolioUpdated": RelayRoute(queue: "position-manager.portfolio_updated", eventType: "portfolio_updated"),
        "PositionSnapshotCreated": RelayRoute(
            queue: "position-manager.position_snapshot_created", eventType: "position_snapshot_created"),
    ])
}
