extension FrameDecoder {
    /// Private topics → one event per `data` element, the element's fields kept with decimals
    /// canonical, ms-time strings as integers and `""` left out (reference §1.8):
    /// - `order*` → `ExchangeOrderUpdated` in `exchange.order-{orderId}`;
    /// - `execution*` → `ExchangeExecution` (execType `Trade`, or none as on `execution.fast`)
    ///   or `ExchangeNonTradeExecution` (Funding, AdlTrade, BustTrade, Settle, ...) in
    ///   `exchange.execution-{orderId}` (`-{symbol}` for funding);
    /// - `position*` → `ExchangePositionUpdated` in `exchange.position-{category}.{symbol}.{positionIdx}`
    ///   (side `""`/`"None"`, a flat position, is left out);
    /// - `wallet` → `ExchangeWalletUpdated` in `exchange.wallet-{accountType}`.
    mutating func decodePrivate(_ slot: Int, _ v: JSONView, into out: inout FrameOutput) throws(FrameError) {
        guard let data = v.member(0, "data"), v.kind(data) == .array else {
            throw FrameError("\(topics[slot].topic) frame without a data array")
        }
        let creationTime = v.member(0, "creationTime").flatMap { v.int64($0) }
        let frameID = v.string(0, "id")
        let kind = topics[slot].kind
        let topicCategory = topics[slot].suffix
        var e = data + 1
        for _ in 0..<v.count(data) {
            guard v.kind(e) == .object else { throw FrameError("\(topics[slot].topic) item is not an object") }
            out.events.append(try privateEvent(kind, v, e, topicCategory: topicCategory,
                                               creationTime: creationTime, frameID: frameID))
            e = v.next(e)
        }
    }

    private func privateEvent(
        _ kind: TopicKind, _ v: JSONView, _ item: Int, topicCategory: String?, creationTime: Int64?, frameID: String?
    ) throws(FrameError) -> DecodedEvent {
        func text(_ key: StaticString) -> String? {
            guard let n = v.member(item, key), !v.isEmptyString(n), v.kind(n) == .string || v.kind(n) == .number else {
                return nil
            }
            return v.text(n)
        }
        func millis(_ key: StaticString) -> Int64? { v.member(item, key).flatMap { v.int64($0) } }

        let stream: String
        let type: String
        let naturalKey: String
        var time = creationTime
        switch kind {
        case .order:
            guard let orderID = text("orderId") else { throw FrameError("order item without orderId") }
            stream = "exchange.order-\(orderID)"
            type = ExchangeOrderUpdated.eventType
            naturalKey = [orderID, text("updatedTime") ?? "", text("orderStatus") ?? "", text("cumExecQty") ?? "",
                          text("leavesQty") ?? "", text("cancelType") ?? "", text("rejectReason") ?? ""]
                .joined(separator: "|")
            time = millis("updatedTime") ?? creationTime
        case .execution:
            guard let execID = text("execId") else { throw FrameError("execution item without execId") }
            let execType = text("execType") ?? "Trade"  // execution.fast carries fills only
            let symbol = text("symbol") ?? ""
            let orderID = text("orderId")
            let owner = execType == "Funding" || orderID == nil ? symbol : orderID!
            guard !owner.isEmpty else { throw FrameError("execution item without orderId or symbol") }
            stream = "exchange.execution-\(owner)"
            type = execType == "Trade" ? ExchangeExecution.eventType : ExchangeNonTradeExecution.eventType
            naturalKey = execID
            time = millis("execTime") ?? creationTime
        case .position:
            guard let symbol = text("symbol") else { throw FrameError("position item without symbol") }
            guard let category = text("category") ?? topicCategory else {
                throw FrameError("position item without category")
            }
            let idx = text("positionIdx") ?? "0"
            stream = "exchange.position-\(category).\(symbol).\(idx)"
            type = ExchangePositionUpdated.eventType
            naturalKey = [symbol, idx, text("seq") ?? "", text("updatedTime") ?? "", text("size") ?? ""]
                .joined(separator: "|")
            time = millis("updatedTime") ?? creationTime
        case .wallet:
            guard let accountType = text("accountType") else { throw FrameError("wallet item without accountType") }
            stream = "exchange.wallet-\(accountType)"
            type = ExchangeWalletUpdated.eventType
            naturalKey = "\(frameID ?? String(creationTime ?? 0))|\(accountType)"
        default:
            throw FrameError("not a private topic")
        }

        var w = JSONWriter(capacity: Int(v.node(item).end - v.node(item).start) + 64)
        // A position's old flat marker "None" means the same as "": no side.
        try writeCanonicalValue(v, item, policy: kind == .position ? .privatePositions : .privateTopics,
                                key: nil, parentKey: nil, into: &w)
        return DecodedEvent(stream: stream, type: type, eventID: eventID(stream, type, naturalKey),
                            data: w.take(), exchangeTime: exchangeTime(ms: time))
    }
}
