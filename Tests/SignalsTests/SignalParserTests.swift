import Foundation
import Signals
import Testing
import TradelogCore

/// One body and the rejection it must earn.
struct RejectionCase: Sendable, CustomTestStringConvertible {
    var name: String
    var body: [UInt8]
    var reason: SignalRejectionReason
    var field: String?

    init(_ name: String, _ body: SeedBody, _ reason: SignalRejectionReason, _ field: String?) {
        self.init(name, body.bytes, reason, field)
    }

    init(_ name: String, _ body: [UInt8], _ reason: SignalRejectionReason, _ field: String?) {
        self.name = name
        self.body = body
        self.reason = reason
        self.field = field
    }

    var testDescription: String { name }
}

@Suite struct SignalParserTests {
    static let seed = SeedBody()

    static let cases: [RejectionCase] = {
        var c: [RejectionCase] = []
        // invalid_json
        c.append(.init("empty", [], .invalidJSON, nil))
        c.append(.init("whitespace", Array("  \n ".utf8), .invalidJSON, nil))
        c.append(.init("open brace", Array("{".utf8), .invalidJSON, nil))
        c.append(.init("trailing text", Array((seed.text + "x").utf8), .invalidJSON, nil))
        c.append(.init("two objects", Array((seed.text + seed.text).utf8), .invalidJSON, nil))
        c.append(.init("NaN amount", seed.with("amount", "NaN"), .invalidJSON, nil))
        c.append(.init("Infinity confidence", seed.with("confidence", "-Infinity"), .invalidJSON, nil))
        c.append(.init("single quotes", Array("{'signal_id': 1}".utf8), .invalidJSON, nil))
        c.append(.init("trailing comma", Array("{\"a\": 1,}".utf8), .invalidJSON, nil))
        c.append(.init("BOM", [0xEF, 0xBB, 0xBF] + seed.bytes, .invalidJSON, nil))
        c.append(.init("bad UTF-8 in a value", Array(seed.text.utf8).replacing(Array("strat-002".utf8), with: [0x73, 0xFF, 0x74]),
                       .invalidJSON, nil))
        c.append(.init("surrogate bytes", Array(seed.text.utf8).replacing(Array("ETH".utf8), with: [0xED, 0xA0, 0x80]),
                       .invalidJSON, nil))
        c.append(.init("overlong", Array(seed.text.utf8).replacing(Array("trace".utf8), with: [0xC0, 0xAF]), .invalidJSON, nil))
        c.append(.init("duplicate key", seed.appending("amount", "2"), .invalidJSON, "amount"))
        c.append(.init("duplicate nested key", seed.with("market_data_snapshot", "{\"price\": 1, \"price\": 2}"),
                       .invalidJSON, "market_data_snapshot.price"))
        c.append(.init("escaped duplicate key", seed.appending("\\u0061mount", "5"), .invalidJSON, "amount"))
        // not_an_object
        for (i, root) in ["[]", "1", "\"x\"", "null", "true", "[\(seed.text)]", "-0.5e3"].enumerated() {
            c.append(.init("root \(i) \(root.prefix(8))", Array(root.utf8), .notAnObject, nil))
        }
        // missing_field
        for key in ["signal_id", "signal_type", "asset", "amount", "confidence", "timestamp", "strategy_id"] {
            c.append(.init("missing \(key)", seed.with(key, nil), .missingField, key))
        }
        // mistyped_field
        let mistyped: [(String, String)] = [
            ("signal_id", "5"), ("signal_id", "null"), ("signal_type", "null"), ("signal_type", "[\"buy\"]"),
            ("asset", "[]"), ("amount", "\"500\""), ("amount", "null"), ("confidence", "true"),
            ("timestamp", "1764106500"), ("strategy_id", "{}"), ("model_version", "1"), ("is_warmup", "\"true\""),
            ("is_warmup", "1"), ("market_data_snapshot", "[]"), ("metadata", "\"x\""), ("metadata", "[]"),
            ("trace_id", "5"),
        ]
        for (key, raw) in mistyped {
            c.append(.init("\(key) as \(raw)", seed.with(key, raw), .mistypedField, key))
        }
        let snapshotMistyped: [(String, String, String)] = [
            ("price", "\"3000\"", "market_data_snapshot.price"),
            ("spread", "true", "market_data_snapshot.spread"),
            ("volume_24h", "[]", "market_data_snapshot.volume_24h"),
            ("volatility", "{}", "market_data_snapshot.volatility"),
            ("orderbook_depth", "5", "market_data_snapshot.orderbook_depth"),
            ("orderbook_depth", "{\"bid_depth\": \"1\"}", "market_data_snapshot.orderbook_depth.bid_depth"),
            ("orderbook_depth", "{\"ask_depth\": false}", "market_data_snapshot.orderbook_depth.ask_depth"),
            ("technical_indicators", "[]", "market_data_snapshot.technical_indicators"),
        ]
        for (key, raw, path) in snapshotMistyped {
            c.append(.init("\(path) as \(raw)", seed.withSnapshot(key, raw), .mistypedField, path))
        }
        // invalid_field
        let invalid: [(String, String, String)] = [
            ("signal_id", "\"abc\"", "signal_id"),
            ("signal_id", "\"550e8400e29b41d4a716446655440000\"", "signal_id"),
            ("signal_id", "\"{550e8400-e29b-41d4-a716-446655440000}\"", "signal_id"),
            ("signal_id", "\"550e8400-e29b-41d4-a716-44665544000g\"", "signal_id"),
            ("timestamp", "\"2025-11-25 21:35:00\"", "timestamp"),
            ("timestamp", "\"not a time\"", "timestamp"),
            ("asset", "\"\"", "asset"),
            ("asset", "\"ethusdt\"", "asset"),
            ("asset", "\"ETH-USDT\"", "asset"),
            ("asset", "\"\(String(repeating: "A", count: 33))\"", "asset"),
            ("strategy_id", "\"\"", "strategy_id"),
            ("strategy_id", "\"a\\u0000b\"", "strategy_id"),
            ("model_version", "\"\\u0000\"", "model_version"),
            ("trace_id", "\"t\\u0000\"", "trace_id"),
            ("amount", "1e999999", "amount"),
            ("amount", "-1e999999", "amount"),
            ("amount", "1" + String(repeating: "1", count: 60), "amount"),
            ("amount", String(repeating: "9", count: 60_000), "amount"),
            ("confidence", "1e-999999", "confidence"),
            ("metadata", "{\"risk_score\": 1e999999}", "metadata.risk_score"),
            ("metadata", "{\"tags\": [\"ok\", \"\\u0000\"]}", "metadata.tags[1]"),
            ("metadata", "{\"a\\u0000\": 1}", "metadata.a\u{FFFD}"),
        ]
        for (key, raw, path) in invalid {
            c.append(.init("\(key) = \(raw.prefix(40))", seed.with(key, raw), .invalidField, path))
        }
        c.append(.init("price 0", seed.withSnapshot("price", "0"), .invalidField, "market_data_snapshot.price"))
        c.append(.init("price -1", seed.withSnapshot("price", "-1"), .invalidField, "market_data_snapshot.price"))
        c.append(.init("spread 1e999", seed.withSnapshot("spread", "1e999"), .invalidField, "market_data_snapshot.spread"))
        c.append(.init("indicator NUL", seed.withSnapshot("technical_indicators", "{\"x\": [{\"y\": \"\\u0000\"}]}"),
                       .invalidField, "market_data_snapshot.technical_indicators.x[0].y"))
        // invalid_signal_type
        for raw in ["BUY", "Sell", "hold", "", "buy ", "bu\\u0079s"] {
            c.append(.init("signal_type \(raw)", seed.with("signal_type", "\"\(raw)\""), .invalidSignalType, "signal_type"))
        }
        // non_positive_amount
        for raw in ["0", "-1", "-0", "0.000", "0e5", "-1e-50"] {
            c.append(.init("amount \(raw)", seed.with("amount", raw), .nonPositiveAmount, "amount"))
        }
        // confidence_out_of_range
        for raw in ["1.0001", "-0.1", "2", "1e1", "1.00000000000000000000000000000001"] {
            c.append(.init("confidence \(raw)", seed.with("confidence", raw), .confidenceOutOfRange, "confidence"))
        }
        // body_too_large
        let pad = String(repeating: "p", count: SignalParser.maxBodyBytes)
        c.append(.init("too large", seed.with("metadata", "{\"pad\": \"\(pad)\"}"), .bodyTooLarge, nil))
        c.append(.init("too large garbage", [UInt8](repeating: 0xFF, count: SignalParser.maxBodyBytes + 1), .bodyTooLarge, nil))
        return c
    }()

    @Test(arguments: cases)
    func rejectsWithReasonAndField(_ c: RejectionCase) throws {
        let rejection = try #require(SignalParser.parse(c.body).failure)
        #expect(rejection.reason == c.reason, "\(rejection)")
        #expect(rejection.field == c.field, "\(rejection)")
        #expect(!rejection.detail.isEmpty)
        // A rejection is data: it survives encoding.
        let data = try CanonicalJSON.encoder.encode(rejection)
        #expect(try CanonicalJSON.decoder.decode(SignalRejection.self, from: data) == rejection)
    }

    @Test func everyParseReasonIsCovered() {
        let covered = Set(Self.cases.map(\.reason))
        let parseReasons = Set(SignalRejectionReason.allCases).subtracting([.duplicateSignalID, .storageRefused])
        #expect(covered == parseReasons)
    }

    @Test func checksRunInTheDocumentedOrder() throws {
        // Several problems at once: the first in the documented order wins.
        let many = Self.seed.with("signal_type", nil).with("amount", "-1").with("timestamp", "5")
        #expect(SignalParser.parse(many.bytes).failure?.field == "signal_type")
        let typeBeforeAmount = Self.seed.with("signal_type", "\"hold\"").with("amount", "0")
        #expect(SignalParser.parse(typeBeforeAmount.bytes).failure?.reason == .invalidSignalType)
        let amountBeforeConfidence = Self.seed.with("confidence", "7").with("amount", "0")
        #expect(SignalParser.parse(amountBeforeConfidence.bytes).failure?.reason == .nonPositiveAmount)
        let snapshotBeforeMetadata = Self.seed.withSnapshot("price", "0").with("metadata", "1")
        #expect(SignalParser.parse(snapshotBeforeMetadata.bytes).failure?.field == "market_data_snapshot.price")
        // Key order in the body does not matter.
        var reversed = Self.seed.with("amount", "0").with("signal_type", "\"hold\"")
        reversed.members.reverse()
        #expect(SignalParser.parse(reversed.bytes).failure?.reason == .invalidSignalType)
        // JSON-level problems come before fields; size before everything.
        let dupAndMissing = Self.seed.with("signal_id", nil).appending("amount", "1")
        #expect(SignalParser.parse(dupAndMissing.bytes).failure?.reason == .invalidJSON)
        let dupInArray = Array("[{\"a\":1,\"a\":2}]".utf8)
        #expect(SignalParser.parse(dupInArray).failure?.reason == .invalidJSON)
        let bigInvalid = [UInt8](repeating: UInt8(ascii: "{"), count: SignalParser.maxBodyBytes + 1)
        #expect(SignalParser.parse(bigInvalid).failure?.reason == .bodyTooLarge)
    }

    @Test func rejectionsEchoSignalAndTraceIDs() throws {
        let upper = Self.seed.with("signal_id", "\"550E8400-E29B-41D4-A716-446655440000\"").with("amount", "0")
        let r1 = try #require(SignalParser.parse(upper.bytes).failure)
        #expect(r1.signalID == "550e8400-e29b-41d4-a716-446655440000")
        #expect(r1.traceID == "trace-12345")
        let notUUID = try #require(SignalParser.parse(Self.seed.with("signal_id", "\"Sig-1\"").bytes).failure)
        #expect(notUUID.signalID == "Sig-1")
        let long = String(repeating: "é", count: 500)
        let r2 = try #require(SignalParser.parse(Self.seed.with("signal_id", "\"\(long)\"").bytes).failure)
        #expect(r2.signalID == String(repeating: "é", count: 128))
        // A combining-mark pile is one Character but many scalars: the cut is by scalars.
        let pile = "a" + String(repeating: "\u{301}", count: 1000)
        let r3 = try #require(SignalParser.parse(Self.seed.with("signal_id", "\"\(pile)\"").bytes).failure)
        #expect(r3.signalID?.unicodeScalars.count == 128)
        let numeric = try #require(SignalParser.parse(Self.seed.with("signal_id", "5").bytes).failure)
        #expect(numeric.signalID == nil)
        // Still echoed when a later JSON-level check fails.
        let badUTF8 = Array(Self.seed.text.utf8).replacing(Array("strat-002".utf8), with: [0xFF])
        #expect(SignalParser.parse(badUTF8).failure?.signalID == "550e8400-e29b-41d4-a716-446655440000")
        #expect(SignalParser.parse(Array("{".utf8)).failure?.signalID == nil)
    }

    @Test func hostileInputsNeverCrash() throws {
        let hostile: [[UInt8]] = [
            [], [0], [0xFF], [0xC0], Array("\"".utf8), Array("-".utf8), Array("1e999999".utf8),
            Array("{\"amount\":1e999999999999999999999999}".utf8),
            Array("NaN".utf8), Array("{\"amount\":NaN}".utf8),
            [UInt8](repeating: UInt8(ascii: "["), count: 60_000),
            [UInt8](repeating: UInt8(ascii: "{"), count: 60_000),
            Array((String(repeating: "{\"a\":", count: 300) + "1" + String(repeating: "}", count: 300)).utf8),
            Array((String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)).utf8),
            Array("\"\\ud800\"".utf8), Array("{\"signal_id\":\"\\ud800\\udc00\\udfff\"}".utf8),
            [UInt8](repeating: 0x20, count: SignalParser.maxBodyBytes),
            Array("{\"a\":\"".utf8) + [UInt8](repeating: 0x80, count: 1000) + Array("\"}".utf8),
        ] + (0...255).map { [UInt8($0)] } + (0...255).map { [UInt8(ascii: "{"), UInt8($0), UInt8(ascii: "}")] }
        for body in hostile {
            let result = SignalParser.parse(body)
            #expect(result.failure != nil)
            #expect(result.failure?.detail.isEmpty == false)
        }
        let nested = try #require(SignalParser.parse([UInt8](repeating: UInt8(ascii: "["), count: 60_000)).failure)
        #expect(nested.reason == .invalidJSON)
        #expect(SignalParser.parse([]).failure?.detail == "body is empty")
        #expect(SignalParser.parse(Array("1e999999".utf8)).failure?.reason == .notAnObject)
    }

    @Test func deepButAllowedMetadataIsKept() throws {
        // 250 levels inside metadata stays under the parser's 256 limit.
        let depth = 250
        let deep = String(repeating: "[", count: depth) + "1" + String(repeating: "]", count: depth)
        let signal = try SignalParser.parse(Self.seed.with("metadata", "{\"deep\": \(deep)}").bytes).get()
        var value = try #require(signal.metadata?["deep"])
        var levels = 0
        while case .array(let items) = value, let first = items.first {
            value = first
            levels += 1
        }
        #expect(levels == depth && value == .number(1))
    }

    @Test func sizeLimitIsInclusive() throws {
        let base = Self.seed.with("metadata", "{\"pad\": \"\"}").bytes
        let fill = SignalParser.maxBodyBytes - base.count
        let exact = Self.seed.with("metadata", "{\"pad\": \"\(String(repeating: "p", count: fill))\"}").bytes
        #expect(exact.count == SignalParser.maxBodyBytes)
        #expect(SignalParser.parse(exact).success != nil)
        let over = Self.seed.with("metadata", "{\"pad\": \"\(String(repeating: "p", count: fill + 1))\"}").bytes
        #expect(SignalParser.parse(over).failure?.reason == .bodyTooLarge)
    }

    @Test func escapesInStringsAreResolved() throws {
        let body = Self.seed.with("strategy_id", #""strat\/\"x\" \u00e9\n""#).with("signal_type", #""s\u0065ll""#)
        let signal = try SignalParser.parse(body.bytes).get()
        #expect(signal.strategyID == "strat/\"x\" é\n")
        #expect(signal.signalType == .sell)
        #expect(try SignalParser.parse(Array(try CanonicalJSON.encoder.encode(signal))).get() == signal)
    }

    @Test func mutatedBodiesNeverCrashAndValidOnesRoundTrip() throws {
        // Random byte edits of valid bodies: whatever the outcome, it is total, and any
        // accepted body re-encodes to a body that parses to the same signal.
        var state: UInt64 = 42
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var accepted = 0
        for i in 0..<3000 {
            var body = SignalSamples.valid(index: i, seed: 7)
            for _ in 0..<(1 + Int(next() % 3)) {
                let at = Int(next() % UInt64(body.count))
                switch next() % 3 {
                case 0: body[at] = UInt8(truncatingIfNeeded: next())
                case 1: body.remove(at: at)
                default: body.insert(UInt8(truncatingIfNeeded: next()), at: at)
                }
            }
            switch SignalParser.parse(body) {
            case .success(let signal):
                accepted += 1
                #expect(signal.validate() == nil)
                let again = try SignalParser.parse(Array(try CanonicalJSON.encoder.encode(signal))).get()
                #expect(again == signal)
            case .failure(let rejection):
                #expect(!rejection.detail.isEmpty)
            }
        }
        #expect(accepted > 0)
    }
}

extension SeedBody {
    /// Appends a member even when the key exists (for duplicate-key bodies).
    func appending(_ key: String, _ raw: String) -> SeedBody {
        var copy = self
        copy.members.append((key, raw))
        return copy
    }
}

extension Array where Element == UInt8 {
    /// The first occurrence of `pattern` replaced by `replacement`.
    func replacing(_ pattern: [UInt8], with replacement: [UInt8]) -> [UInt8] {
        guard pattern.count <= count else { return self }
        for i in 0...(count - pattern.count) where Array(self[i..<(i + pattern.count)]) == pattern {
            return Array(self[..<i]) + replacement + Array(self[(i + pattern.count)...])
        }
        return self
    }
}
