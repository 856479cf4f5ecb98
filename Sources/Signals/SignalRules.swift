import Bybit
import Foundation
import TradelogCore

/// The value rules of a signal, shared by ``SignalParser`` (on JSON) and
/// ``TradingSignal/validate()`` (on a built value), so both refuse the same things with
/// the same reason.
enum SignalRules {
    /// Longest asset symbol accepted.
    static let maxAssetLength = 32
    /// Longest canonical number text handed to `Decimal(string:)` (1e±100 with 38 digits
    /// fits well inside).
    static let maxNumberTextLength = 200

    static func invalid(_ field: String, _ detail: String) -> SignalRejection {
        SignalRejection(reason: .invalidField, field: field, detail: detail)
    }

    /// `text` in quotes for a detail message, cut to 64 scalars.
    static func quoted(_ text: String) -> String {
        let scalars = text.unicodeScalars
        if scalars.count <= 64 { return "\"\(text)\"" }
        var cut = String.UnicodeScalarView()
        cut.append(contentsOf: scalars.prefix(64))
        return "\"\(String(cut))…\""
    }

    static func signalID(_ text: String) -> SignalRejection? {
        SignalUUID.parse(text) == nil
            ? invalid("signal_id", "signal_id \(quoted(text)) is not a UUID (8-4-4-4-12 hex digits)") : nil
    }

    static func asset(_ text: String) -> SignalRejection? {
        if text.isEmpty { return invalid("asset", "asset is empty") }
        let ok = text.utf8.count <= maxAssetLength && text.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
        }
        return ok ? nil : invalid("asset", "asset \(quoted(text)) is not 1–32 upper-case letters and digits")
    }

    static func amount(_ value: Decimal) -> SignalRejection? {
        value > 0 ? nil : SignalRejection(
            reason: .nonPositiveAmount, field: "amount", detail: "amount \(DecimalText.text(value)) is not greater than 0")
    }

    static func confidence(_ value: Decimal) -> SignalRejection? {
        value >= 0 && value <= 1 ? nil : SignalRejection(
            reason: .confidenceOutOfRange, field: "confidence",
            detail: "confidence \(DecimalText.text(value)) is outside [0, 1]")
    }

    static func timestamp(_ text: String) -> (Timestamp?, SignalRejection?) {
        if let t = ISOTimestamp.parse(text) { return (t, nil) }
        return (nil, invalid("timestamp",
                             "timestamp \(quoted(text)) is not ISO 8601 (YYYY-MM-DDThh:mm:ss[.fraction] with Z, ±hh:mm, ±hhmm, ±hh or no zone for UTC)"))
    }

    static func strategyID(_ text: String) -> SignalRejection? {
        if text.isEmpty { return invalid("strategy_id", "strategy_id is empty") }
        return storable(text, "strategy_id")
    }

    /// PostgreSQL's `jsonb` refuses U+0000 in strings, so no stored string may hold it.
    static func storable(_ text: String, _ field: String) -> SignalRejection? {
        text.utf8.contains(0) ? invalid(field, "\(field) contains U+0000, which the log cannot store") : nil
    }

    static func price(_ value: Decimal) -> SignalRejection? {
        let field = "market_data_snapshot.price"
        return value > 0 ? nil : invalid(field, "\(field) \(DecimalText.text(value)) is not greater than 0")
    }

    /// A `Decimal` holding exactly the value of JSON number text, or nil when the value is
    /// beyond what `Decimal` holds exactly (more than 38 significant digits, or a magnitude
    /// outside about 1e±100: ``DecimalText`` refuses exponents past 100, which also stops
    /// `1e999999` before it costs anything).
    static func exactDecimal(_ text: String) -> Decimal? {
        guard let canonical = DecimalText.canonical(text), canonical.utf8.count <= maxNumberTextLength,
              let value = Decimal(string: canonical, locale: nil), !value.isNaN,
              DecimalText.text(value) == canonical
        else { return nil }
        return value
    }

    /// Whether a `Decimal` built in code is one the parser could have produced.
    static func isExact(_ value: Decimal) -> Bool {
        !value.isNaN && exactDecimal(DecimalText.text(value)) != nil
    }

    /// Why a `Decimal` built in code could not have come from the parser, or nil.
    static func exactNumber(_ value: Decimal, _ field: String) -> SignalRejection? {
        if value.isNaN { return invalid(field, "\(field) is not a number") }
        return isExact(value) ? nil : invalid(field, "\(field) \(DecimalText.text(value)) cannot be held exactly")
    }

    /// The first problem of a JSON value kept as is (metadata, technical indicators):
    /// U+0000 in a string or key, or a number `exactDecimal` would refuse.
    static func jsonValue(_ value: JSONValue, _ path: String) -> SignalRejection? {
        switch value {
        case .null, .bool: return nil
        case .number(let d): return exactNumber(d, path)
        case .string(let s): return storable(s, path)
        case .array(let items):
            for (i, item) in items.enumerated() {
                if let r = jsonValue(item, "\(path)[\(i)]") { return r }
            }
            return nil
        case .object(let members):
            // Sorted so that the first problem reported does not depend on dictionary order.
            for key in members.keys.sorted() {
                let sub = path + "." + key
                if let r = storable(key, sub) { return r }
                if let r = jsonValue(members[key]!, sub) { return r }
            }
            return nil
        }
    }

    /// The first rule `signal` breaks, in the parser's order.
    static func firstProblem(in signal: TradingSignal) -> SignalRejection? {
        var checks: [() -> SignalRejection?] = [
            { signalID(signal.signalID) },
            { asset(signal.asset) },
            { exactNumber(signal.amount, "amount") ?? amount(signal.amount) },
            { exactNumber(signal.confidence, "confidence") ?? confidence(signal.confidence) },
            { timestamp(signal.timestamp).1 },
            { strategyID(signal.strategyID) },
            { signal.modelVersion.flatMap { storable($0, "model_version") } },
        ]
        if let snapshot = signal.marketDataSnapshot {
            checks.append { snapshotProblem(snapshot) }
        }
        checks.append {
            guard let metadata = signal.metadata else { return nil }
            guard case .object = metadata else {
                return SignalRejection(reason: .mistypedField, field: "metadata", detail: "metadata is not an object")
            }
            return jsonValue(metadata, "metadata")
        }
        checks.append { signal.traceID.flatMap { storable($0, "trace_id") } }
        for check in checks {
            if let r = check() { return r }
        }
        return nil
    }

    private static func snapshotProblem(_ s: MarketDataSnapshot) -> SignalRejection? {
        let base = "market_data_snapshot"
        let numbers: [(String, Decimal?)] = [
            ("price", s.price), ("spread", s.spread), ("volume_24h", s.volume24h), ("volatility", s.volatility),
        ]
        for (name, value) in numbers {
            guard let value else { continue }
            if let r = exactNumber(value, "\(base).\(name)") { return r }
            if name == "price", let r = price(value) { return r }
        }
        if let depth = s.orderbookDepth {
            for (name, value) in [("bid_depth", depth.bidDepth), ("ask_depth", depth.askDepth)] {
                if let value, let r = exactNumber(value, "\(base).orderbook_depth.\(name)") { return r }
            }
        }
        if let indicators = s.technicalIndicators {
            guard case .object = indicators else {
                return SignalRejection(reason: .mistypedField, field: "\(base).technical_indicators",
                                       detail: "\(base).technical_indicators is not an object")
            }
            return jsonValue(indicators, "\(base).technical_indicators")
        }
        return nil
    }
}
