import Foundation
import Signals
import Testing
import TradelogCore

@Suite struct TradingSignalTests {
    static let seedCanonical = """
        {"amount":500,"asset":"ETHUSDT","confidence":0.9,"is_warmup":true,"market_data_snapshot":\
        {"orderbook_depth":{"ask_depth":120,"bid_depth":100},"price":3000,"spread":1.5,\
        "technical_indicators":null,"volatility":0.02,"volume_24h":1000000},"metadata":\
        {"randomness_level":0.5,"reasoning":"Warm-up signal: sell based on heuristics","risk_score":0.3},\
        "model_version":null,"signal_id":"550e8400-e29b-41d4-a716-446655440000","signal_type":"sell",\
        "strategy_id":"strat-002","timestamp":"2025-11-25T21:35:00Z","trace_id":"trace-12345"}
        """

    @Test func seedExampleParsesWithEveryField() throws {
        let signal = try SignalParser.parse(SignalSamples.seedExample).get()
        #expect(signal.signalID == "550e8400-e29b-41d4-a716-446655440000")
        #expect(signal.signalUUID == UUID(uuidString: "550e8400-e29b-41d4-a716-446655440000"))
        #expect(signal.signalType == .sell)
        #expect(signal.asset == "ETHUSDT")
        #expect(signal.amount == Decimal(500))
        #expect(signal.confidence == Decimal(string: "0.9"))
        #expect(signal.timestamp == "2025-11-25T21:35:00Z")
        #expect(signal.time == Timestamp(microsecondsSinceEpoch: 1_764_106_500_000_000))
        #expect(signal.strategyID == "strat-002")
        #expect(signal.modelVersion == nil)
        #expect(signal.isWarmup == true)
        let snapshot = try #require(signal.marketDataSnapshot)
        #expect(snapshot.price == Decimal(3000))
        #expect(snapshot.spread == Decimal(string: "1.5"))
        #expect(snapshot.volume24h == Decimal(1_000_000))
        #expect(snapshot.volatility == Decimal(string: "0.02"))
        #expect(snapshot.orderbookDepth == OrderbookDepth(bidDepth: 100, askDepth: 120))
        #expect(snapshot.technicalIndicators == nil)
        #expect(signal.metadata == .object([
            "reasoning": .string("Warm-up signal: sell based on heuristics"),
            "risk_score": .number(Decimal(string: "0.3")!),
            "randomness_level": .number(Decimal(string: "0.5")!),
        ]))
        #expect(signal.traceID == "trace-12345")
        #expect(signal.validate() == nil)
    }

    @Test func seedExampleReencodesToTheSeedShape() throws {
        let signal = try SignalParser.parse(SignalSamples.seedExample).get()
        let encoded = try canonical(signal)
        #expect(encoded == Self.seedCanonical)
        // The same value as the seed text itself, canonicalized: nothing added, nothing lost.
        let seedCanonicalized = try CanonicalJSON.canonicalize(Array(SignalSamples.seedExample.utf8))
        #expect(encoded == String(decoding: seedCanonicalized, as: UTF8.self))
        // And the encoding parses back to the same signal, through both readers.
        #expect(try SignalParser.parse(encoded).get() == signal)
        #expect(try CanonicalJSON.decoder.decode(TradingSignal.self, from: Data(encoded.utf8)) == signal)
    }

    @Test(arguments: ["500.0", "0.90", "3000.123456789", "123456789012345678901234567890.12345678",
                      "0.30000000000000004", "1e-100", "1e100", "12345e-2", "99999999999999999999999999999999999999"])
    func decimalsRoundTripExactly(text: String) throws {
        let value = try #require(Decimal(string: text))
        struct Box: Codable, Equatable { var v: Decimal }
        let data = try CanonicalJSON.encoder.encode(Box(v: value))
        #expect(try CanonicalJSON.decoder.decode(Box.self, from: data) == Box(v: value))
        let expectedText = value.description
        #expect(String(decoding: data, as: UTF8.self) == "{\"v\":\(expectedText)}")
        // Through the parser as an amount, and back out.
        let signal = try SignalParser.parse(SeedBody().with("amount", text).bytes).get()
        #expect(signal.amount == value)
        #expect(try canonical(signal).contains("\"amount\":\(expectedText),"))
    }

    @Test func optionalsAbsentNullAndDefaults() throws {
        var body = SeedBody()
        for key in ["model_version", "is_warmup", "market_data_snapshot", "metadata", "trace_id"] {
            body = body.with(key, nil)
        }
        let bare = try SignalParser.parse(body.bytes).get()
        #expect(bare.modelVersion == nil && bare.isWarmup == false && bare.marketDataSnapshot == nil)
        #expect(bare.metadata == nil && bare.traceID == nil)
        let encoded = try canonical(bare)
        #expect(encoded.contains("\"model_version\":null"))
        #expect(encoded.contains("\"is_warmup\":false"))
        #expect(encoded.contains("\"market_data_snapshot\":null"))
        #expect(encoded.contains("\"metadata\":null"))
        #expect(encoded.contains("\"trace_id\":null"))

        var nulls = SeedBody()
        for key in ["model_version", "is_warmup", "market_data_snapshot", "metadata", "trace_id"] {
            nulls = nulls.with(key, "null")
        }
        #expect(try SignalParser.parse(nulls.bytes).get() == bare)

        let emptySnapshot = try SignalParser.parse(SeedBody().with("market_data_snapshot", "{}").bytes).get()
        #expect(emptySnapshot.marketDataSnapshot == MarketDataSnapshot())
        #expect(try canonical(emptySnapshot).contains(
            "\"market_data_snapshot\":{\"orderbook_depth\":null,\"technical_indicators\":null}"))
    }

    @Test func unknownKeysAreIgnoredAndIdsLowercased() throws {
        let body = SeedBody()
            .with("signal_id", "\"550E8400-E29B-41D4-A716-446655440000\"")
            .with("x_extra", "{\"nested\": [1, 2, {\"a\": null}]}")
            .withSnapshot("x_vendor", "\"ignored\"")
        let signal = try SignalParser.parse(body.bytes).get()
        #expect(signal.signalID == "550e8400-e29b-41d4-a716-446655440000")
        #expect(try canonical(signal) == Self.seedCanonical)
    }

    @Test func technicalIndicatorsAndMetadataKeepAnyJSON() throws {
        let indicators = #"{"rsi": 55.25, "macd": {"value": -0.5, "hist": [1, -2.5e-3, null, true, "x"]}, "s": "caf\u00e9 \ud83d\ude00"}"#
        let signal = try SignalParser.parse(SeedBody().withSnapshot("technical_indicators", indicators).bytes).get()
        let value = try #require(signal.marketDataSnapshot?.technicalIndicators)
        #expect(value["rsi"] == .number(Decimal(string: "55.25")!))
        #expect(value["macd"]?["hist"] == .array([.number(1), .number(Decimal(string: "-0.0025")!), .null, .bool(true), .string("x")]))
        #expect(value["s"] == .string("café 😀"))
        let encoded = try CanonicalJSON.encoder.encode(signal)
        #expect(try CanonicalJSON.decoder.decode(TradingSignal.self, from: encoded) == signal)
    }

    @Test func timestampsWithOffsetsAndFractions() throws {
        let cases: [(String, Int64)] = [
            ("2025-11-25T21:35:00Z", 1_764_106_500_000_000),
            ("2025-11-25T21:35:00.5Z", 1_764_106_500_500_000),
            ("2025-11-25T21:35:00.123456789Z", 1_764_106_500_123_456),
            ("2025-11-25T21:35:00.000001Z", 1_764_106_500_000_001),
            ("2025-11-26T00:35:00+03:00", 1_764_106_500_000_000),
            ("2025-11-25T16:35:00-05:00", 1_764_106_500_000_000),
            ("2025-11-25T21:35:00-00:00", 1_764_106_500_000_000),
            ("2025-11-25t21:35:00z", 1_764_106_500_000_000),
            ("1970-01-01T00:00:00Z", 0),
            ("1969-12-31T23:59:59Z", -1_000_000),
            ("1969-12-31T23:59:59.5Z", -500_000),
            ("2024-02-29T12:00:00Z", 1_709_208_000_000_000),
            ("0001-01-01T00:00:00Z", -62_135_596_800_000_000),
            ("0000-01-01T00:00:00Z", -62_167_219_200_000_000),
            ("9999-12-31T23:59:59.999999Z", 253_402_300_799_999_999),
            // No zone: UTC (Python's utcnow().isoformat()); ISO 8601's basic and hour-only offsets.
            ("2025-11-25T21:35:00", 1_764_106_500_000_000),
            ("2025-11-25T21:35:00.123456", 1_764_106_500_123_456),
            ("2025-11-26T00:35:00+0300", 1_764_106_500_000_000),
            ("2025-11-26T00:35:00+03", 1_764_106_500_000_000),
            ("2025-11-25T16:05:00-0530", 1_764_106_500_000_000),
        ]
        for (text, micros) in cases {
            #expect(ISOTimestamp.parse(text) == Timestamp(microsecondsSinceEpoch: micros), "\(text)")
            let signal = SignalParser.parse(SeedBody().with("timestamp", "\"\(text)\"").bytes)
            #expect(signal.success?.time == Timestamp(microsecondsSinceEpoch: micros), "\(text)")
            #expect(signal.success?.timestamp == text)
        }
        let bad = [
            "", "2025-11-25", "2025-11-25T21:35Z", "2025-11-25 21:35:00Z", "2025-11-25T21:35:0",
            "2025-11-25T21:35:00.Z", "2025-11-25T21:35:00.1234567890Z", "2025-11-25T21:35:00+030",
            "2025-11-25T21:35:00+3", "2025-11-25T21:35:00+24:00", "2025-11-25T21:35:00+03:60", "2025-11-25T21:35:00+03:",
            "2025-11-25T21:35:00+0360", "2025-11-25T21:35:00+03:000", "2025-11-25T21:35:00.",
            "2025-13-01T00:00:00Z", "2025-00-01T00:00:00Z", "2025-02-29T00:00:00Z", "1900-02-29T00:00:00Z",
            "2025-04-31T00:00:00Z", "2025-11-25T24:00:00Z", "2025-11-25T21:60:00Z", "2025-11-25T21:35:60Z",
            " 2025-11-25T21:35:00Z", "2025-11-25T21:35:00Z ", "+2025-11-25T21:35:00Z", "2025-11-25T21:35:00ZZ",
            "２０２５-11-25T21:35:00Z", "2025-11-25T21:35:00.１Z", "20251125T213500Z", "2025-W48-2T21:35:00Z",
            "1764106500", "2025-1-25T21:35:00Z", "2025-11-25T21:35:00.123456789+03:00x",
        ]
        for text in bad {
            #expect(ISOTimestamp.parse(text) == nil, "\(text)")
            let r = SignalParser.parse(SeedBody().with("timestamp", "\"\(text)\"").bytes).failure
            #expect(r?.reason == .invalidField && r?.field == "timestamp", "\(text)")
        }
    }

    @Test func formatAndParseAgree() {
        var x: UInt64 = 0x1234_5678
        for _ in 0..<2000 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            // Years 0000…9999, including before 1970.
            let micros = Int64(bitPattern: x >> 8) % 253_402_300_799_000_000 - (x & 1 == 0 ? 62_167_219_200_000_000 : 0)
            let time = Timestamp(microsecondsSinceEpoch: max(micros, -62_167_219_200_000_000))
            let offset = [0, 180, -300, 330, -720, 840][Int(x % 6)]
            let text = ISOTimestamp.format(time, fractionDigits: 6, offsetMinutes: offset)
            #expect(ISOTimestamp.parse(text) == time, "\(text)")
            if offset == 0 {
                #expect(text == time.description)
            }
        }
        #expect(ISOTimestamp.format(Timestamp(microsecondsSinceEpoch: 1_764_106_500_120_000), fractionDigits: 9,
                                    offsetMinutes: 180) == "2025-11-26T00:35:00.120000000+03:00")
        #expect(ISOTimestamp.format(Timestamp(microsecondsSinceEpoch: 1_764_106_500_120_000), fractionDigits: 0)
                == "2025-11-25T21:35:00Z")
    }

    @Test func signalsBuiltInCodeValidateAndRoundTrip() throws {
        let time = Timestamp(microsecondsSinceEpoch: 1_764_106_500_123_456)
        let signal = TradingSignal(
            signalID: UUID(uuidString: "550E8400-E29B-41D4-A716-446655440000")!, signalType: .buy, asset: "BTCUSDT",
            amount: Decimal(string: "1000.5")!, confidence: Decimal(string: "0.75")!, time: time,
            strategyID: "strat-001", modelVersion: "v1", isWarmup: false,
            marketDataSnapshot: MarketDataSnapshot(price: 91000, orderbookDepth: OrderbookDepth(bidDepth: 1)),
            metadata: .object(["k": .array([.number(1)])]), traceID: "t-1")
        #expect(signal.signalID == "550e8400-e29b-41d4-a716-446655440000")
        #expect(signal.timestamp == "2025-11-25T21:35:00.123456Z")
        #expect(signal.validate() == nil)
        let bytes = try CanonicalJSON.encoder.encode(signal)
        #expect(try SignalParser.parse(Array(bytes)).get() == signal)

        var broken = signal
        broken.amount = 0
        #expect(broken.validate()?.reason == .nonPositiveAmount)
        broken = signal
        broken.confidence = Decimal(string: "1.5")!
        #expect(broken.validate()?.reason == .confidenceOutOfRange)
        broken = signal
        broken.asset = "btc-usdt"
        #expect(broken.validate()?.reason == .invalidField && broken.validate()?.field == "asset")
        broken = signal
        broken.signalID = "nope"
        #expect(broken.validate()?.field == "signal_id")
        broken = signal
        broken.marketDataSnapshot?.price = -1
        #expect(broken.validate()?.field == "market_data_snapshot.price")
        broken = signal
        broken.metadata = .string("not an object")
        #expect(broken.validate()?.reason == .mistypedField)
        broken = signal
        broken.metadata = .object(["a": .object(["b": .string("x\u{0}y")])])
        #expect(broken.validate()?.field == "metadata.a.b")
        broken = signal
        broken.strategyID = ""
        #expect(broken.validate()?.field == "strategy_id")

        broken = signal
        let accepted = broken.setTimestamp("2025-11-25T21:35:00+01:00")
        #expect(accepted)
        #expect(broken.time == Timestamp(microsecondsSinceEpoch: 1_764_102_900_000_000))
        let refused = !broken.setTimestamp("yesterday")
        #expect(refused)
        #expect(broken.timestamp == "2025-11-25T21:35:00+01:00")
    }

    @Test func codableDecodeRefusesWhatCannotBeASignal() throws {
        let good = Self.seedCanonical
        #expect(throws: DecodingError.self) {
            try CanonicalJSON.decoder.decode(TradingSignal.self, from: Data(good.replacingOccurrences(
                of: "550e8400-e29b-41d4-a716-446655440000", with: "not-a-uuid").utf8))
        }
        #expect(throws: DecodingError.self) {
            try CanonicalJSON.decoder.decode(TradingSignal.self, from: Data(good.replacingOccurrences(
                of: "2025-11-25T21:35:00Z", with: "2025-11-25").utf8))
        }
        #expect(throws: DecodingError.self) {
            try CanonicalJSON.decoder.decode(TradingSignal.self, from: Data(good.replacingOccurrences(
                of: "\"sell\"", with: "\"hold\"").utf8))
        }
    }
}
