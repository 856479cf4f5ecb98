import Foundation
import TradelogCore

extension SignalSamples {
    /// `count` bodies that are all invalid by construction and pairwise distinct, each with
    /// the reason ``SignalParser`` must give. They cycle through the kinds below (the
    /// oversized ones only every eighth cycle, to keep memory small); the field-level kinds
    /// mutate one field of a valid body whose other fields are all present and valid, so the
    /// parser's check order makes the expected reason certain.
    public static func malformed(count: Int, seed: UInt64) -> [(body: [UInt8], expected: SignalRejectionReason)] {
        var out: [(body: [UInt8], expected: SignalRejectionReason)] = []
        out.reserveCapacity(max(count, 0))
        var seen = Set<[UInt8]>()
        let kinds = MalformedKind.allCases
        var attempt = 0
        let baseSeed = seed ^ 0x6D61_6C66_6F72_6D64  // not the seed of `valid`: other signal ids
        while out.count < count {
            var kind = kinds[attempt % kinds.count]
            if kind == .tooLarge && (attempt / kinds.count) % 8 != 0 { kind = .garbage }
            var rng = SplitMix64(seed: SplitMix64.mix(baseSeed &+ UInt64(truncatingIfNeeded: attempt) &* 0xD1B5_4A32_D192_ED03))
            let sample = kind.make(attempt: attempt, seed: baseSeed, &rng)
            if seen.insert(sample.body).inserted { out.append(sample) }
            attempt += 1
        }
        return out
    }
}

/// One way to break a body, with the reason it must earn.
enum MalformedKind: CaseIterable {
    case garbage, truncated, brokenColon, brokenBrace, badLiteral, invalidUTF8, duplicateKey, deepNesting
    case missingField, mistypedRequired, mistypedOptional, badSignalType, nonPositiveAmount, confidenceOutOfRange
    case badSignalID, badTimestamp, badAsset, emptyStrategyID, nulInString, badPrice, hugeNumber, nonObjectRoot
    case tooLarge

    static let required = ["signal_id", "signal_type", "asset", "amount", "confidence", "timestamp", "strategy_id"]

    func make(attempt: Int, seed: UInt64, _ rng: inout SplitMix64) -> (body: [UInt8], expected: SignalRejectionReason) {
        let (tree, pretty) = SignalSamples.validTree(index: attempt, seed: seed, complete: true)
        let base = tree.bytes(pretty: pretty)
        func with(_ path: [String], _ raw: String) -> [UInt8] {
            tree.setting(path, to: .text(raw)).bytes(pretty: pretty)
        }
        switch self {
        case .garbage:
            // The first byte can start no JSON value, so whatever follows cannot rescue it.
            let starts: [UInt8] = [0x00, 0x01, 0x7F, 0x80, 0xC3, 0xFF, 0xEF, UInt8(ascii: "x"), UInt8(ascii: "}"),
                                   UInt8(ascii: "]"), UInt8(ascii: ","), UInt8(ascii: ":"), UInt8(ascii: "'"),
                                   UInt8(ascii: "+"), UInt8(ascii: "."), UInt8(ascii: "N"), UInt8(ascii: "I")]
            var body = [rng.pick(starts)]
            for _ in 0..<rng.int(0...80) { body.append(UInt8(truncatingIfNeeded: rng.next())) }
            return (body, .invalidJSON)
        case .truncated:
            // Any strict prefix leaves the root object open (it ends at the last byte).
            return (Array(base.prefix(rng.below(base.count))), .invalidJSON)
        case .brokenColon:
            // Only keys are followed by `":` in the samples; anything else there is an error.
            var body = base
            var colons = [Int]()
            for i in 1..<body.count where body[i] == UInt8(ascii: ":") && body[i - 1] == UInt8(ascii: "\"") {
                colons.append(i)
            }
            body[rng.pick(colons)] = rng.pick([UInt8(ascii: ";"), UInt8(ascii: "="), UInt8(ascii: ","), UInt8(ascii: "}"),
                                               UInt8(ascii: " "), UInt8(ascii: "x"), UInt8(ascii: "\""), 0x00])
            return (body, .invalidJSON)
        case .brokenBrace:
            var body = base
            if rng.chance(50) {
                body[0] = rng.pick([UInt8(ascii: "["), UInt8(ascii: " "), UInt8(ascii: "x"), UInt8(ascii: "\""),
                                    UInt8(ascii: "0"), UInt8(ascii: "}"), UInt8(ascii: "(")])
            } else {
                body[body.count - 1] = rng.pick([UInt8(ascii: " "), UInt8(ascii: ","), UInt8(ascii: "]"),
                                                 UInt8(ascii: "x"), UInt8(ascii: "{"), 0x0A])
            }
            return (body, .invalidJSON)
        case .badLiteral:
            let path = rng.pick([["amount"], ["confidence"], ["is_warmup"], ["market_data_snapshot", "price"], ["metadata", "risk_score"]])
            let raw = rng.pick(["NaN", "Infinity", "-Infinity", "+1", ".5", "01", "1.", "1e", "0x10", "1_000", "TRUE",
                                "nul", "'5'", "1.5.2", "--1", "- 1", "True", "undefined", "-"])
            return (with(path, raw), .invalidJSON)
        case .invalidUTF8:
            let path = rng.pick([["strategy_id"], ["trace_id"], ["metadata", "reasoning"], ["asset"]])
            let bad = rng.pick([[0xFF], [0xC0, 0xAF], [0xED, 0xA0, 0x80], [0xF5, 0x80, 0x80, 0x80], [0x80],
                                [0xE2, 0x82], [0xF4, 0x90, 0x80, 0x80], [0xFE], [0xC2]] as [[UInt8]])
            let value = SampleJSON.raw(Array("\"x-".utf8) + bad + Array("-\(attempt)\"".utf8))
            return (tree.setting(path, to: value).bytes(pretty: pretty), .invalidJSON)
        case .duplicateKey:
            let path: [String] = rng.chance(70) ? [] : ["market_data_snapshot"]
            let key = path.isEmpty ? rng.pick(Self.required + ["trace_id", "metadata"]) : rng.pick(["price", "spread"])
            let copy = tree[path + [key]] ?? .null
            return (tree.appending(key: key, value: copy, at: path).bytes(pretty: pretty), .invalidJSON)
        case .deepNesting:
            let depth = rng.int(260...600)
            let nested = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
            return (with(["metadata", "deep"], nested), .invalidJSON)
        case .missingField:
            return (tree.setting([rng.pick(Self.required)], to: nil).bytes(pretty: pretty), .missingField)
        case .mistypedRequired:
            let key = rng.pick(Self.required)
            let isNumber = key == "amount" || key == "confidence"
            let raw = isNumber
                ? rng.pick(["\"500\"", "true", "null", "[1]", "{}", "\"\"", "false", "[]"])
                : rng.pick(["123", "true", "false", "null", "[]", "{}", "[\"buy\"]", "12.5", "{\"v\":\"x\"}"])
            return (with([key], raw), .mistypedField)
        case .mistypedOptional:
            let options: [([String], [String])] = [
                (["model_version"], ["1", "true", "{}", "[]"]),
                (["is_warmup"], ["\"true\"", "1", "0", "[]", "{}", "\"false\""]),
                (["market_data_snapshot"], ["[]", "\"x\"", "5", "true"]),
                (["market_data_snapshot", "price"], ["\"3000\"", "true", "[]", "{}"]),
                (["market_data_snapshot", "spread"], ["\"1.5\"", "false", "[0]"]),
                (["market_data_snapshot", "volume_24h"], ["\"1\"", "{}", "true"]),
                (["market_data_snapshot", "volatility"], ["\"0.02\"", "[]"]),
                (["market_data_snapshot", "orderbook_depth"], ["5", "\"x\"", "[]", "true"]),
                (["market_data_snapshot", "orderbook_depth", "bid_depth"], ["\"1\"", "false", "[]"]),
                (["market_data_snapshot", "orderbook_depth", "ask_depth"], ["\"2\"", "true", "{}"]),
                (["market_data_snapshot", "technical_indicators"], ["[]", "\"rsi\"", "1", "true"]),
                (["metadata"], ["\"x\"", "[]", "1", "false"]),
                (["trace_id"], ["1", "{}", "[]", "false"]),
            ]
            let (path, raws) = rng.pick(options)
            return (with(path, rng.pick(raws)), .mistypedField)
        case .badSignalType:
            let raw = rng.pick(["BUY", "Sell", "hold", "", "buy ", "b", "short", "long", " sell", "buy\\u0000", "sel", "bu\\u0079s"])
            return (with(["signal_type"], "\"\(raw)\""), .invalidSignalType)
        case .nonPositiveAmount:
            let raw = rng.pick(["0", "-1", "-0.0001", "-0", "0.0", "0e10", "-500.5", "-1e3", "0.000", "-\(rng.int(1...99999)).\(rng.int(0...99))"])
            return (with(["amount"], raw), .nonPositiveAmount)
        case .confidenceOutOfRange:
            let raw = rng.pick(["1.0001", "-0.1", "2", "1e1", "-1", "100", "1.00000000000000000001", "-0.0000001",
                                "\(rng.int(2...1000)).\(rng.int(0...9))"])
            return (with(["confidence"], raw), .confidenceOutOfRange)
        case .badSignalID:
            let id = SignalSamples.uuidText(index: attempt, seed: seed)
            let raw = rng.pick([
                id.replacingOccurrences(of: "-", with: ""), "{\(id)}", String(id.dropLast()), id + "0",
                "g" + String(id.dropFirst()), "urn:uuid:\(id)", "sig-\(attempt)", "", " \(id)", id.replacingOccurrences(of: "-", with: "_"),
            ])
            return (with(["signal_id"], "\"\(raw)\""), .invalidField)
        case .badTimestamp:
            let raw = rng.pick([
                "2025-13-01T00:00:00Z", "2025-11-25 21:35:00Z", "2025-11-25T21:35", "yesterday", "2025-02-30T00:00:00Z",
                "2025-11-25T24:00:00Z", "2025-11-25T21:60:00Z", "2025-11-25T21:35:60Z", "2025-11-25T21:35:00.Z",
                "2025-11-25T21:35:00.1234567890Z", "2025-11-25T21:35:00+030", "2025-11-25T21:35:00+24:00", "2025-11-25",
                "1764106500", "2025-11-25T21:35:00Z ", " 2025-11-25T21:35:00Z", "2023-02-29T00:00:00Z",
                "2025-W48-2T00:00:00Z", "", "25-11-25T21:35:00Z", "2025-11-25T21:35:00+3", "2025-00-10T00:00:00Z",
            ])
            return (with(["timestamp"], "\"\(raw)\""), .invalidField)
        case .badAsset:
            let raw = rng.pick(["", "ethusdt", "ETH-USDT", "ETH USDT", String(repeating: "A", count: 33), "\u{00C9}TH",
                                "BTC/USDT", "btc", "ETHUSDT\\n", "ETH\\u0000"])
            return (with(["asset"], "\"\(raw)\""), .invalidField)
        case .emptyStrategyID:
            return (with(["strategy_id"], "\"\""), .invalidField)
        case .nulInString:
            let path = rng.pick([["strategy_id"], ["model_version"], ["trace_id"], ["metadata", "reasoning"],
                                 ["market_data_snapshot", "technical_indicators", "trend"]])
            return (with(path, "\"a\\u0000b\""), .invalidField)
        case .badPrice:
            let raw = rng.pick(["0", "-3000", "-0.01", "0.0", "-0", "-\(rng.int(1...90000))"])
            return (with(["market_data_snapshot", "price"], raw), .invalidField)
        case .hugeNumber:
            let path = rng.pick([["amount"], ["confidence"], ["market_data_snapshot", "price"],
                                 ["market_data_snapshot", "spread"], ["metadata", "risk_score"]])
            let raw = rng.pick(["1e999999", "-1e999999", "1e101", "1e-999", "1" + String(repeating: "7", count: 50),
                                "0." + String(repeating: "3", count: 45), "9E+9999999999999999999999"])
            return (with(path, raw), .invalidField)
        case .nonObjectRoot:
            let body: String
            switch rng.below(8) {
            case 0: body = "[]"
            case 1: body = "[" + String(decoding: base, as: UTF8.self) + "]"
            case 2: body = "\"signal \(attempt)\""
            case 3: body = "\(rng.int(-99999...99999)).\(rng.below(100))"
            case 4: body = "null"
            case 5: body = rng.chance(50) ? "true" : "false"
            case 6: body = "\"\(SignalSamples.uuidText(index: attempt, seed: seed))\""
            default: body = " [\(attempt), {\"signal_id\": null}] "
            }
            return (Array(body.utf8), .notAnObject)
        case .tooLarge:
            let size = SignalParser.maxBodyBytes + 1 + rng.below(4000)
            let padding = max(0, size - base.count - 16)
            let padded = tree.setting(["metadata", "padding"], to: .string(String(repeating: "p", count: padding)))
            var body = padded.bytes(pretty: pretty)
            while body.count <= SignalParser.maxBodyBytes { body.insert(UInt8(ascii: " "), at: 1) }
            return (body, .bodyTooLarge)
        }
    }
}
