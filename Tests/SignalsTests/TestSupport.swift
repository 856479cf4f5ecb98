import Foundation
import Signals
import TradelogCore

/// Builds bodies from the seed example's members (raw JSON text, seed order), so a test can
/// change, drop or add one member and leave the rest valid.
struct SeedBody {
    static let snapshot = """
        {"price": 3000.0, "spread": 1.5, "volume_24h": 1000000.0, "volatility": 0.02, \
        "orderbook_depth": {"bid_depth": 100.0, "ask_depth": 120.0}, "technical_indicators": null}
        """
    static let metadata = """
        {"reasoning": "Warm-up signal: sell based on heuristics", "risk_score": 0.3, "randomness_level": 0.5}
        """

    var members: [(key: String, raw: String)] = [
        ("signal_id", "\"550e8400-e29b-41d4-a716-446655440000\""),
        ("signal_type", "\"sell\""),
        ("asset", "\"ETHUSDT\""),
        ("amount", "500.0"),
        ("confidence", "0.90"),
        ("timestamp", "\"2025-11-25T21:35:00Z\""),
        ("strategy_id", "\"strat-002\""),
        ("model_version", "null"),
        ("is_warmup", "true"),
        ("market_data_snapshot", SeedBody.snapshot),
        ("metadata", SeedBody.metadata),
        ("trace_id", "\"trace-12345\""),
    ]

    /// Replaces (or appends) `key` with `raw`, or removes it when `raw` is nil.
    func with(_ key: String, _ raw: String?) -> SeedBody {
        var copy = self
        if let i = copy.members.firstIndex(where: { $0.key == key }) {
            if let raw { copy.members[i].raw = raw } else { copy.members.remove(at: i) }
        } else if let raw {
            copy.members.append((key, raw))
        }
        return copy
    }

    /// Replaces one member of the snapshot object.
    func withSnapshot(_ key: String, _ raw: String) -> SeedBody {
        var snapshot: [(String, String)] = [
            ("price", "3000.0"), ("spread", "1.5"), ("volume_24h", "1000000.0"), ("volatility", "0.02"),
            ("orderbook_depth", "{\"bid_depth\": 100.0, \"ask_depth\": 120.0}"), ("technical_indicators", "null"),
        ]
        if let i = snapshot.firstIndex(where: { $0.0 == key }) { snapshot[i].1 = raw } else { snapshot.append((key, raw)) }
        return with("market_data_snapshot", "{" + snapshot.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}")
    }

    var text: String { "{" + members.map { "\"\($0.key)\": \($0.raw)" }.joined(separator: ", ") + "}" }
    var bytes: [UInt8] { Array(text.utf8) }
}

func canonical(_ value: some Encodable) throws -> String {
    String(decoding: try CanonicalJSON.encoder.encode(value), as: UTF8.self)
}

extension Result {
    var failure: Failure? {
        if case .failure(let f) = self { return f }
        return nil
    }

    var success: Success? {
        if case .success(let s) = self { return s }
        return nil
    }
}
