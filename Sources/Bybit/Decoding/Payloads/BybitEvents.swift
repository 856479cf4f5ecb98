import TradelogCore

/// Every event type the Bybit decoders write.
public enum BybitEvents {
    public static let types: [any EventPayload.Type] = [
        MarketTrades.self, OrderBookUpdated.self, OrderBookInvalidated.self, TickerUpdated.self,
        FundingRateUpdated.self, KlineUpdated.self, KlineClosed.self, LiquidationsReported.self,
        ExchangeOrderUpdated.self, ExchangeExecution.self, ExchangeNonTradeExecution.self,
        ExchangePositionUpdated.self, ExchangeWalletUpdated.self, UnparsedFrame.self, UnknownTopicFrame.self,
    ]

    /// Registers every Bybit event type so the log can be read back as typed payloads.
    public static func register(in registry: inout EventRegistry) {
        for type in types { registry.registerAny(type) }
    }
}

extension EventRegistry {
    /// Registers the Bybit decoder event types (see ``BybitEvents``).
    public mutating func registerBybitEvents() { BybitEvents.register(in: &self) }

    fileprivate mutating func registerAny<E: EventPayload>(_ type: E.Type) { register(type) }
}
