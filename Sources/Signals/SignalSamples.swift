import TradelogCore

/// Deterministic signal bodies for tests and the inbound benchmark: the same `seed` and
/// `index` give the same bytes on every run and platform (SplitMix64, no `random()`).
public enum SignalSamples {
    /// The example message of seed 002, verbatim.
    public static let seedExample = """
        {
          "signal_id": "550e8400-e29b-41d4-a716-446655440000",
          "signal_type": "sell",
          "asset": "ETHUSDT",
          "amount": 500.0,
          "confidence": 0.90,
          "timestamp": "2025-11-25T21:35:00Z",
          "strategy_id": "strat-002",
          "model_version": null,
          "is_warmup": true,
          "market_data_snapshot": {
            "price": 3000.0,
            "spread": 1.5,
            "volume_24h": 1000000.0,
            "volatility": 0.02,
            "orderbook_depth": {
              "bid_depth": 100.0,
              "ask_depth": 120.0
            },
            "technical_indicators": null
          },
          "metadata": {
            "reasoning": "Warm-up signal: sell based on heuristics",
            "risk_score": 0.3,
            "randomness_level": 0.5
          },
          "trace_id": "trace-12345"
        }
        """

    /// A valid body in the seed shape. Its signal_id is unique per `index` (for
    /// 0 ≤ index < 2^62) under one seed; assets, types, amounts, number spellings
    /// (`500.0`, `1.25e3`), timestamps (offsets, 0–9 fraction digits), optional fields
    /// (present, `null`, absent), escapes and layout (compact or indented) vary with it.
    public static func valid(index: Int, seed: UInt64) -> [UInt8] {
        let (json, pretty) = validTree(index: index, seed: seed, complete: false)
        return json.bytes(pretty: pretty)
    }

    /// The signal_id `valid(index:seed:)` uses, in lower case.
    public static func signalID(index: Int, seed: UInt64) -> String {
        uuidText(index: index, seed: seed).lowercased()
    }

    static let assets = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "DOGEUSDT", "ADAUSDT", "BNBUSDT", "1000PEPEUSDT"]

    /// Bits from `seed` and `index` in the high half; in the low 62 bits, `index` through a
    /// bijection of 62-bit values keyed by `seed`, so distinct indices give distinct ids.
    /// Upper case for every seventh index, to exercise lower-casing.
    static func uuidText(index: Int, seed: UInt64) -> String {
        let high = SplitMix64.mix(seed ^ SplitMix64.mix(UInt64(truncatingIfNeeded: index) &+ 0x1234_5678))
        let mask: UInt64 = 0x3FFF_FFFF_FFFF_FFFF
        // xor, multiplication by an odd constant and xor-shift right are each one-to-one
        // modulo 2^62.
        var low = (UInt64(truncatingIfNeeded: index) ^ SplitMix64.mix(seed &+ 0x5EED)) & mask
        low = (low &* 0xBF58_476D_1CE4_E5B9) & mask
        low ^= low >> 29
        low = (low &* 0x94D0_49BB_1331_11EB) & mask
        low ^= low >> 32
        var bytes = [UInt8]()
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: high >> UInt64(shift))) }
        for shift in stride(from: 56, through: 0, by: -8) { bytes.append(UInt8(truncatingIfNeeded: low >> UInt64(shift))) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40  // version 4 (random)
        bytes[8] = (bytes[8] & 0x3F) | 0x80  // RFC 9562 variant; the masked low bits stay intact
        let hex = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        for (i, b) in bytes.enumerated() {
            if i == 4 || i == 6 || i == 8 || i == 10 { out.append(UInt8(ascii: "-")) }
            out.append(hex[Int(b >> 4)])
            out.append(hex[Int(b & 0x0F)])
        }
        let text = String(decoding: out, as: UTF8.self)
        return index % 7 == 3 ? text.uppercased() : text
    }

    /// The tree of a valid body and whether to indent it. `complete` puts every optional
    /// field in (as an object or string, never null): the base the malformed samples mutate.
    static func validTree(index: Int, seed: UInt64, complete: Bool) -> (SampleJSON, pretty: Bool) {
        var rng = SplitMix64(seed: SplitMix64.mix(seed) ^ SplitMix64.mix(UInt64(truncatingIfNeeded: index) &* 0x9E37_79B9))
        var members: [(key: String, value: SampleJSON)] = []
        members.append(("signal_id", .string(uuidText(index: index, seed: seed))))
        members.append(("signal_type", .string(rng.chance(50) ? "buy" : "sell")))
        members.append(("asset", .string(rng.pick(assets))))
        members.append(("amount", .text(amountText(&rng))))
        members.append(("confidence", .text(confidenceText(&rng))))
        members.append(("timestamp", .string(timestampText(index: index, &rng))))
        members.append(("strategy_id", .string("strat-\(pad3(rng.int(1...999)))")))
        let warmup = rng.chance(30)
        switch complete ? 0 : rng.below(6) {
        case 0, 1, 2, 3: members.append(("model_version", warmup && !complete ? .null : .string(
            "v\(rng.int(0...3)).\(rng.int(0...20)).\(rng.int(0...9))")))
        case 4: members.append(("model_version", .null))
        default: break  // absent
        }
        if complete || !rng.chance(15) { members.append(("is_warmup", .text(warmup ? "true" : "false"))) }
        switch complete ? 0 : rng.below(8) {
        case 0...5: members.append(("market_data_snapshot", snapshot(&rng, complete: complete)))
        case 6: members.append(("market_data_snapshot", .null))
        default: break
        }
        switch complete ? 0 : rng.below(6) {
        case 0...3: members.append(("metadata", metadata(&rng)))
        case 4: members.append(("metadata", .null))
        default: break
        }
        if !complete && rng.chance(10) {
            members.append(("x_unknown_extension", .object([("kept", .text("false")), ("list", .text("[1, 2.5, \"three\"]"))])))
        }
        switch complete ? 0 : rng.below(5) {
        case 0...2: members.append(("trace_id", .string("trace-\(String(rng.next() >> 16, radix: 16))")))
        case 3: members.append(("trace_id", .null))
        default: break
        }
        return (.object(members), index % 4 == 1)
    }

    static func pad3(_ v: Int) -> String {
        let s = String(v)
        return String(repeating: "0", count: max(0, 3 - s.count)) + s
    }

    /// Decimal text with 0–4 fraction digits, sometimes `.0`-suffixed or in `e` notation.
    static func amountText(_ rng: inout SplitMix64) -> String {
        let whole = rng.int(1...99_999)
        switch rng.below(6) {
        case 0: return "\(whole)"
        case 1: return "\(whole).0"
        case 2: return "\(whole)e-2"  // e.g. 12345e-2 = 123.45
        case 3: return "\(whole / 100 + 1).\(pad3(rng.int(0...999)))"
        default: return "\(whole).\(rng.int(1...9))\(rng.int(0...9))"
        }
    }

    /// A value in [0, 1] spelled in several ways (`0.90`, `1`, `0`, `1.0`, `5e-1`).
    static func confidenceText(_ rng: inout SplitMix64) -> String {
        switch rng.below(10) {
        case 0: return "1"
        case 1: return "0"
        case 2: return "1.0"
        case 3: return "\(rng.int(1...9))e-1"
        case 4: return "0.\(rng.int(1...9))0"
        default: return "0.\(pad3(rng.int(0...999)))"
        }
    }

    /// Late 2025 plus `index` minutes, with a random offset and 0–9 fraction digits.
    static func timestampText(index: Int, _ rng: inout SplitMix64) -> String {
        let seconds = Int64(1_764_000_000) + Int64(index % 1_000_000) * 60 + Int64(rng.below(60))
        let micros = seconds * 1_000_000 + Int64(rng.below(1_000_000))
        let digits = rng.pick([0, 0, 1, 3, 6, 6, 9])
        let offset = rng.pick([0, 0, 0, 180, -300, 330, 60])
        return ISOTimestamp.format(Timestamp(microsecondsSinceEpoch: micros), fractionDigits: digits, offsetMinutes: offset)
    }

    static func decimalText(_ rng: inout SplitMix64, whole: ClosedRange<Int>, fraction: Int) -> String {
        var s = "\(rng.int(whole))"
        if fraction > 0 { s += "." + (0..<fraction).map { _ in String(rng.below(10)) }.joined() }
        return s
    }

    static func snapshot(_ rng: inout SplitMix64, complete: Bool) -> SampleJSON {
        var m: [(key: String, value: SampleJSON)] = []
        if complete || rng.chance(90) { m.append(("price", .text(decimalText(&rng, whole: 1...90_000, fraction: rng.below(3))))) }
        if complete || rng.chance(80) { m.append(("spread", .text(decimalText(&rng, whole: 0...9, fraction: 2)))) }
        if complete || rng.chance(80) { m.append(("volume_24h", .text(decimalText(&rng, whole: 1000...9_999_999, fraction: 1)))) }
        if complete || rng.chance(80) { m.append(("volatility", .text("0.0\(rng.int(1...9))")) ) }
        if complete || rng.chance(70) {
            m.append(("orderbook_depth", .object([
                ("bid_depth", .text(decimalText(&rng, whole: 1...500, fraction: 1))),
                ("ask_depth", .text(decimalText(&rng, whole: 1...500, fraction: 1))),
            ])))
        } else if rng.chance(50) {
            m.append(("orderbook_depth", .null))
        }
        if complete || rng.chance(50) {
            m.append(("technical_indicators", .object([
                ("rsi", .text(decimalText(&rng, whole: 0...99, fraction: 2))),
                ("macd", .object([("value", .text("-0.\(rng.int(1...99))")), ("signal", .text("0.\(rng.int(1...99))"))])),
                ("bands", .text("[\(rng.int(1...9)), \(rng.int(10...19)), \(rng.int(20...29))]")),
                ("trend", .string(rng.pick(["up", "down", "flat"]))),
            ])))
        } else {
            m.append(("technical_indicators", .null))
        }
        return .object(m)
    }

    static func metadata(_ rng: inout SplitMix64) -> SampleJSON {
        let reasoning = rng.pick([
            "Warm-up signal: sell based on heuristics",
            "momentum \\u2191 and volume spike",
            "spread tight; \\\"quoted\\\" reason with a tab\\tand newline\\n",
            "mean reversion, z-score 2.1 \u{00E9}\u{4E2D}",
        ])
        return .object([
            ("reasoning", .string(reasoning)),
            ("risk_score", .text("0.\(rng.int(1...9))")),
            ("randomness_level", .text("0.\(rng.int(0...9))")),
            ("tags", .text(rng.chance(50) ? "[]" : "[\"a\", null, true, {\"n\": 1}]")),
        ])
    }
}
