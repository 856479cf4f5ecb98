/// How ``writeCanonicalValue(_:_:policy:key:parentKey:into:)`` treats values it copies.
struct CanonicalPolicy: Sendable {
    /// String fields that hold decimals: written canonically; anything else fails the frame.
    var decimalKeys: Set<String> = []
    /// String fields holding ms times (or other integers): written as JSON integers.
    var integerKeys: Set<String> = []
    /// Objects whose every member is a decimal (`cumFeeDetail: {"USDT": "0.02"}`).
    var decimalMapKeys: Set<String> = []
    /// Leave out `""` and null members (Bybit's "no value").
    var dropEmpty = false
    /// Fields where the string `"None"` also means "no value" (a flat position's `side`).
    var noneMeansAbsent: Set<String> = []

    /// Copies structure and values as they are (only key order and spacing change).
    static let verbatim = CanonicalPolicy()

    /// The private topics (`order`, `execution`, `position`, `wallet`): reference §1.8 and
    /// the field lists of the fixtures and docs examples.
    static let privateTopics = CanonicalPolicy(
        decimalKeys: [
            // order
            "price", "qty", "avgPrice", "leavesQty", "leavesValue", "cumExecQty", "cumExecValue",
            "cumExecFee", "closedPnl", "triggerPrice", "takeProfit", "stopLoss", "tpLimitPrice",
            "slLimitPrice", "lastPriceOnCreated", "orderIv", "basePrice", "rpiMatchedQty",
            "slippageTolerance",
            // execution
            "execFee", "execPrice", "execQty", "execValue", "feeRate", "tradeIv", "markIv", "markPrice",
            "indexPrice", "underlyingPrice", "orderPrice", "orderQty", "closedSize", "execPnl", "fee",
            // position
            "riskLimitValue", "size", "entryPrice", "leverage", "breakEvenPrice", "positionValue",
            "positionBalance", "positionIM", "positionIMByMp", "positionMM", "positionMMByMp",
            "trailingStop", "unrealisedPnl", "curRealisedPnl", "cumRealisedPnl", "sessionAvgPrice",
            "liqPrice", "bustPrice", "delta", "gamma", "vega", "theta",
            // wallet
            "accountIMRate", "accountIMRateByMp", "accountMMRate", "accountMMRateByMp", "totalEquity",
            "totalWalletBalance", "totalMarginBalance", "totalAvailableBalance", "totalPerpUPL",
            "totalInitialMargin", "totalInitialMarginByMp", "totalMaintenanceMargin",
            "totalMaintenanceMarginByMp", "accountLTV", "equity", "usdValue", "walletBalance",
            "availableToWithdraw", "availableToBorrow", "borrowAmount", "accruedInterest", "totalOrderIM",
            "totalPositionIM", "totalPositionMM", "bonus", "locked", "spotHedgingQty", "spotBorrow", "free",
        ],
        integerKeys: ["createdTime", "updatedTime", "execTime", "leverageSysUpdatedTime", "mmrSysUpdatedTime"],
        decimalMapKeys: ["cumFeeDetail"],
        dropEmpty: true)

    /// ``privateTopics`` plus `side: "None"` (older flat positions) left out.
    static let privatePositions: CanonicalPolicy = {
        var p = privateTopics
        p.noneMeansAbsent = ["side"]
        return p
    }()
}

/// Writes node `i` in canonical form: object keys sorted by bytes (last duplicate wins),
/// numbers in canonical text, strings per `policy`. `key` is the member name holding the
/// value, `parentKey` the name of the object holding that member.
func writeCanonicalValue(
    _ v: JSONView, _ i: Int, policy: CanonicalPolicy, key: String?, parentKey: String?, into w: inout JSONWriter
) throws(FrameError) {
    switch v.kind(i) {
    case .null: w.null()
    case .true: w.bool(true)
    case .false: w.bool(false)
    case .number:
        if let key, policy.integerKeys.contains(key), let n = v.int64(i) {
            w.int(n)
        } else if let key, policy.decimalKeys.contains(key) || parentKey.map(policy.decimalMapKeys.contains) == true {
            guard w.decimal(v.raw(i)) else { throw FrameError("\(key) is not a decimal") }
        } else if !w.number(v.raw(i)) {
            w.raw(v.raw(i))  // e.g. 1e999: valid JSON, beyond our canonical range
        }
    case .string:
        guard let key, !v.isEmptyString(i) else {
            w.string(v, i)
            return
        }
        if policy.decimalKeys.contains(key) || parentKey.map(policy.decimalMapKeys.contains) == true {
            guard w.decimal(v, i) else { throw FrameError("\(key) is not a decimal: \(v.text(i).prefix(40))") }
        } else if policy.integerKeys.contains(key) {
            guard let n = v.int64(i) else { throw FrameError("\(key) is not an integer: \(v.text(i).prefix(40))") }
            w.int(n)
        } else {
            w.string(v, i)
        }
    case .array:
        w.beginArray()
        var e = i + 1
        for _ in 0..<v.count(i) {
            try writeCanonicalValue(v, e, policy: policy, key: key, parentKey: parentKey, into: &w)
            e = v.next(e)
        }
        w.endArray()
    case .object:
        var members: [(key: [UInt8], value: Int, order: Int)] = []
        members.reserveCapacity(v.count(i))
        var k = i + 1
        for n in 0..<v.count(i) {
            members.append((v.decoded(k), k + 1, n))
            k = v.next(k + 1)
        }
        members.sort { a, b in
            let c = a.key.withUnsafeBytes { x in b.key.withUnsafeBytes { y in compareBytes(x, y) } }
            return c != 0 ? c < 0 : a.order < b.order
        }
        w.beginObject()
        for (n, m) in members.enumerated() {
            if n + 1 < members.count && members[n + 1].key == m.key { continue }  // last one wins
            if policy.dropEmpty && (v.kind(m.value) == .null || v.isEmptyString(m.value)) { continue }
            if !policy.noneMeansAbsent.isEmpty, v.stringEquals(m.value, "None"),
               policy.noneMeansAbsent.contains(String(decoding: m.key, as: UTF8.self)) { continue }
            m.key.withUnsafeBytes { w.key(utf8: $0) }
            try writeCanonicalValue(v, m.value, policy: policy, key: String(decoding: m.key, as: UTF8.self),
                                    parentKey: key, into: &w)
        }
        w.endObject()
    }
}
