import Bybit
import Foundation
import TradelogCore

/// Turns an inbound message body into a ``TradingSignal`` or a ``SignalRejection``.
///
/// Pure and total: any byte sequence gives a result, never a crash (the JSON parser caps
/// nesting at 256 and numbers never pass through `Double`). Checks run in this fixed
/// order and the first failure is the answer, so one body always gets one reason:
///
/// 1. size > ``maxBodyBytes`` → `body_too_large`
/// 2. JSON syntax (empty body, trailing text, `NaN`, nesting > 256) → `invalid_json`
/// 3. UTF-8 well-formedness of the whole body → `invalid_json`
/// 4. a key repeated in one object, anywhere → `invalid_json` (field: the key's path)
/// 5. root not an object → `not_an_object`
/// 6. the fields, each one fully (missing → type → value) before the next:
///    `signal_id`, `signal_type`, `asset`, `amount`, `confidence`, `timestamp`,
///    `strategy_id`, `model_version`, `is_warmup`, `market_data_snapshot` (`price`,
///    `spread`, `volume_24h`, `volatility`, `orderbook_depth` (`bid_depth`, `ask_depth`),
///    `technical_indicators`), `metadata`, `trace_id`.
///
/// Required: signal_id … strategy_id (`null` there is `mistyped_field`). Optional (absent or
/// `null` is nil): model_version, market_data_snapshot and everything inside it, metadata,
/// trace_id; is_warmup absent or `null` is false. Unknown keys are ignored, at the top
/// level and inside the snapshot.
public enum SignalParser {
    /// Largest body accepted (64 KiB).
    public static let maxBodyBytes = 65_536

    public static func parse(_ body: [UInt8]) -> Result<TradingSignal, SignalRejection> {
        if body.count > maxBodyBytes {
            return .failure(SignalRejection(
                reason: .bodyTooLarge, detail: "body is \(body.count) bytes; the limit is \(maxBodyBytes)"))
        }
        let document: JSONDocument
        do {
            document = try JSONDocument(parsing: body)
        } catch {
            let detail = body.isEmpty ? "body is empty" : error.description
            return .failure(SignalRejection(reason: .invalidJSON, detail: detail))
        }
        let root = document.root
        do throws(SignalRejection) {
            if let offset = firstInvalidUTF8(body) {
                throw SignalRejection(reason: .invalidJSON, detail: "body is not valid UTF-8 (byte \(offset))")
            }
            try checkUniqueKeys(root, path: "")
            guard root.kind == .object else {
                throw SignalRejection(reason: .notAnObject, detail: "the body is \(kindName(root.kind)), not an object")
            }
            return .success(try readSignal(root))
        } catch {
            var rejection = error
            if case .string? = root["signal_id"]?.kind, let raw = root["signal_id"]?.string {
                rejection.signalID = SignalUUID.parse(raw) ?? SignalRejection.echo(raw)
            }
            if case .string? = root["trace_id"]?.kind, let raw = root["trace_id"]?.string {
                rejection.traceID = SignalRejection.echo(raw)
            }
            return .failure(rejection)
        }
    }

    public static func parse(_ body: String) -> Result<TradingSignal, SignalRejection> {
        parse(Array(body.utf8))
    }

    // MARK: - The fields, in order

    static func readSignal(_ root: JSONDocument.Value) throws(SignalRejection) -> TradingSignal {
        let rawID = try requiredString(root, "signal_id", path: "signal_id")
        if let r = SignalRules.signalID(rawID) { throw r }
        let typeText = try requiredString(root, "signal_type", path: "signal_type")
        guard let signalType = TradingSignal.SignalType(rawValue: typeText) else {
            throw SignalRejection(reason: .invalidSignalType, field: "signal_type",
                                  detail: "signal_type \(SignalRules.quoted(typeText)) is not \"buy\" or \"sell\"")
        }
        let asset = try requiredString(root, "asset", path: "asset")
        if let r = SignalRules.asset(asset) { throw r }
        let amount = try requiredNumber(root, "amount", path: "amount")
        if let r = SignalRules.amount(amount) { throw r }
        let confidence = try requiredNumber(root, "confidence", path: "confidence")
        if let r = SignalRules.confidence(confidence) { throw r }
        let timestamp = try requiredString(root, "timestamp", path: "timestamp")
        let (time, timeProblem) = SignalRules.timestamp(timestamp)
        if let timeProblem { throw timeProblem }
        let strategyID = try requiredString(root, "strategy_id", path: "strategy_id")
        if let r = SignalRules.strategyID(strategyID) { throw r }
        let modelVersion = try optionalString(root, "model_version", path: "model_version")
        let isWarmup = try optionalBool(root, "is_warmup", path: "is_warmup") ?? false
        let snapshot = try readSnapshot(root)
        let metadata = try optionalObject(root, "metadata", path: "metadata")
        let traceID = try optionalString(root, "trace_id", path: "trace_id")
        return TradingSignal(
            signalID: SignalUUID.parse(rawID)!, signalType: signalType, asset: asset, amount: amount,
            confidence: confidence, timestamp: timestamp, time: time!, strategyID: strategyID,
            modelVersion: modelVersion, isWarmup: isWarmup, marketDataSnapshot: snapshot,
            metadata: metadata, traceID: traceID)
    }

    static func readSnapshot(_ root: JSONDocument.Value) throws(SignalRejection) -> MarketDataSnapshot? {
        let base = "market_data_snapshot"
        guard let s = try optionalMember(root, base, path: base, expecting: .object) else { return nil }
        let price = try optionalNumber(s, "price", path: "\(base).price")
        if let price, let r = SignalRules.price(price) { throw r }
        let spread = try optionalNumber(s, "spread", path: "\(base).spread")
        let volume = try optionalNumber(s, "volume_24h", path: "\(base).volume_24h")
        let volatility = try optionalNumber(s, "volatility", path: "\(base).volatility")
        var depth: OrderbookDepth?
        if let d = try optionalMember(s, "orderbook_depth", path: "\(base).orderbook_depth", expecting: .object) {
            depth = OrderbookDepth(
                bidDepth: try optionalNumber(d, "bid_depth", path: "\(base).orderbook_depth.bid_depth"),
                askDepth: try optionalNumber(d, "ask_depth", path: "\(base).orderbook_depth.ask_depth"))
        }
        let indicators = try optionalObject(s, "technical_indicators", path: "\(base).technical_indicators")
        return MarketDataSnapshot(price: price, spread: spread, volume24h: volume, volatility: volatility,
                                  orderbookDepth: depth, technicalIndicators: indicators)
    }

    // MARK: - Typed member access

    static func mistyped(_ path: String, _ expected: String, _ value: JSONDocument.Value) -> SignalRejection {
        SignalRejection(reason: .mistypedField, field: path,
                        detail: "\(path) is \(kindName(value.kind)), expected \(expected)")
    }

    static func requiredMember(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> JSONDocument.Value {
        guard let value = object[key] else {
            throw SignalRejection(reason: .missingField, field: path, detail: "\(path) is missing")
        }
        return value
    }

    /// The member when present and not `null`; a mistyped error when it is another kind.
    static func optionalMember(
        _ object: JSONDocument.Value, _ key: String, path: String, expecting kind: JSONKind
    ) throws(SignalRejection) -> JSONDocument.Value? {
        guard let value = object[key], value.kind != .null else { return nil }
        guard value.kind == kind else { throw mistyped(path, kindName(kind), value) }
        return value
    }

    static func requiredString(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> String {
        let value = try requiredMember(object, key, path: path)
        guard value.kind == .string, let s = value.string else { throw mistyped(path, "a string", value) }
        return s
    }

    static func optionalString(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> String? {
        guard let value = try optionalMember(object, key, path: path, expecting: .string), let s = value.string else { return nil }
        if let r = SignalRules.storable(s, path) { throw r }
        return s
    }

    static func optionalBool(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> Bool? {
        guard let value = object[key], value.kind != .null else { return nil }
        guard let b = value.bool else { throw mistyped(path, "a boolean", value) }
        return b
    }

    static func requiredNumber(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> Decimal {
        try number(try requiredMember(object, key, path: path), path: path)
    }

    static func optionalNumber(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> Decimal? {
        guard let value = try optionalMember(object, key, path: path, expecting: .number) else { return nil }
        return try number(value, path: path)
    }

    static func number(_ value: JSONDocument.Value, path: String) throws(SignalRejection) -> Decimal {
        guard value.kind == .number, let text = value.numberText else { throw mistyped(path, "a number", value) }
        guard let d = SignalRules.exactDecimal(text) else {
            throw SignalRules.invalid(
                path, "\(path) \(SignalRules.quoted(text)) cannot be held exactly "
                    + "(at most 38 significant digits, magnitude within 1e±100)")
        }
        return d
    }

    static func optionalObject(_ object: JSONDocument.Value, _ key: String, path: String) throws(SignalRejection) -> JSONValue? {
        guard let value = try optionalMember(object, key, path: path, expecting: .object) else { return nil }
        return try jsonValue(value, path: path)
    }

    /// A JSON value kept as is (metadata, indicators), with the same number and U+0000 rules.
    static func jsonValue(_ value: JSONDocument.Value, path: String) throws(SignalRejection) -> JSONValue {
        switch value.kind {
        case .null: return .null
        case .true: return .bool(true)
        case .false: return .bool(false)
        case .number: return .number(try number(value, path: path))
        case .string:
            let s = value.string ?? ""
            if let r = SignalRules.storable(s, path) { throw r }
            return .string(s)
        case .array:
            var items = [JSONValue]()
            items.reserveCapacity(value.count)
            for (i, element) in value.elements.enumerated() {
                items.append(try jsonValue(element, path: "\(path)[\(i)]"))
            }
            return .array(items)
        case .object:
            var members = [String: JSONValue]()
            for (key, member) in value.members {
                let sub = join(path, key)
                if let r = SignalRules.storable(key, sub) { throw r }
                members[key] = try jsonValue(member, path: sub)
            }
            return .object(members)
        }
    }

    // MARK: - Document-wide checks

    /// Refuses a key repeated within one object: which copy wins differs between readers,
    /// so such a body could mean two different signals.
    static func checkUniqueKeys(_ value: JSONDocument.Value, path: String) throws(SignalRejection) {
        switch value.kind {
        case .object:
            var seen = Set<String>()
            for (key, member) in value.members {
                let sub = join(path, key)
                guard seen.insert(key).inserted else {
                    throw SignalRejection(reason: .invalidJSON, field: sub, detail: "key \(SignalRules.quoted(key)) appears twice in one object")
                }
                try checkUniqueKeys(member, path: sub)
            }
        case .array:
            for (i, element) in value.elements.enumerated() {
                try checkUniqueKeys(element, path: "\(path)[\(i)]")
            }
        default:
            return
        }
    }

    /// `path.key` (`key` at the top level), the key cut to 64 scalars.
    static func join(_ path: String, _ key: String) -> String {
        var k = key
        if key.unicodeScalars.count > 64 {
            var cut = String.UnicodeScalarView()
            cut.append(contentsOf: key.unicodeScalars.prefix(64))
            k = String(cut) + "…"
        }
        return path.isEmpty ? k : path + "." + k
    }

    static func kindName(_ kind: JSONKind) -> String {
        switch kind {
        case .null: return "null"
        case .true, .false: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    /// Offset of the first byte that does not start a well-formed UTF-8 sequence (Unicode
    /// 3.9: no overlongs, no surrogates, nothing above U+10FFFF), or nil.
    static func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
        let n = bytes.count
        var i = 0
        func cont(_ k: Int, _ lo: UInt8 = 0x80, _ hi: UInt8 = 0xBF) -> Bool {
            i + k < n && bytes[i + k] >= lo && bytes[i + k] <= hi
        }
        while i < n {
            let b = bytes[i]
            let length: Int
            switch b {
            case 0x00...0x7F: length = 1
            case 0xC2...0xDF: length = cont(1) ? 2 : 0
            case 0xE0: length = cont(1, 0xA0, 0xBF) && cont(2) ? 3 : 0
            case 0xE1...0xEC, 0xEE...0xEF: length = cont(1) && cont(2) ? 3 : 0
            case 0xED: length = cont(1, 0x80, 0x9F) && cont(2) ? 3 : 0
            case 0xF0: length = cont(1, 0x90, 0xBF) && cont(2) && cont(3) ? 4 : 0
            case 0xF1...0xF3: length = cont(1) && cont(2) && cont(3) ? 4 : 0
            case 0xF4: length = cont(1, 0x80, 0x8F) && cont(2) && cont(3) ? 4 : 0
            default: length = 0
            }
            if length == 0 { return i }
            i += length
        }
        return nil
    }
}
