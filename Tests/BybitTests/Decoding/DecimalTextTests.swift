import Foundation
import Testing
@testable import Bybit
import TradelogCore

@Suite("Decimal text and PriceKey")
struct DecimalTextTests {
    @Test(arguments: [
        ("0", "0"), ("-0", "0"), ("-0.000", "0"), ("000", "0"), ("0.0", "0"), ("1.0", "1"), ("1.50", "1.5"),
        ("007", "7"), ("007.50", "7.5"), ("28560.50", "28560.5"), ("0.00010", "0.0001"), ("-0.5", "-0.5"),
        ("100", "100"), ("1.9530", "1.953"), ("0.000000000000000000", "0"), ("1e3", "1000"), ("1.5e-3", "0.0015"),
        ("-2.50E+2", "-250"), ("0e5", "0"), ("123456789012345678901234567890.5", "123456789012345678901234567890.5"),
    ])
    func canonicalizes(_ input: String, _ expected: String) {
        #expect(DecimalText.canonical(input) == expected)
        #expect(DecimalText.read(input) == .value(expected))
        // Canonical text is what Decimal prints.
        if input.count < 30 { #expect(Decimal(string: input)!.description == expected) }
    }

    @Test(arguments: ["", "abc", "1.", ".5", "+1", "1,5", " 1", "1 ", "--1", "1e", "1e+", "0x10", "NaN", "Infinity", "1e1000", "1.2.3", "-"])
    func rejects(_ input: String) {
        #expect(DecimalText.canonical(input) == nil)
        #expect(DecimalText.decimal(input) == nil)
    }

    @Test func emptyMeansAbsentNotInvalid() {
        #expect(DecimalText.read("") == .absent)
        #expect(DecimalText.read("x") == .invalid)
        #expect(DecimalText.text(dec("1.50")) == "1.5")
        #expect(DecimalText.decimal("0.0001") == dec("0.0001"))
    }

    @Test func priceKeysNormalizeAndRoundTrip() throws {
        let cases: [(String, Int64, Int16, String)] = [
            ("1.9530", 1953, -3, "1.953"), ("43730", 4373, 1, "43730"), ("0.005", 5, -3, "0.005"),
            ("-12.340", -1234, -2, "-12.34"), ("0", 0, 0, "0"), ("-0.0", 0, 0, "0"), ("1e-8", 1, -8, "0.00000001"),
            ("123456789012345678", 123_456_789_012_345_678, 0, "123456789012345678"),
            ("0.000000000000000000000001", 1, -24, "0.000000000000000000000001"),
        ]
        for (text, m, e, canonical) in cases {
            let key = try #require(PriceKey(text), "\(text)")
            #expect(key.mantissa == m && key.exponent == e, "\(text)")
            #expect(key.description == canonical)
            #expect(key.decimal == Decimal(string: canonical)!)
            #expect(PriceKey(key.decimal) == key)
            // The one-pass scanner used by the book agrees.
            try Array(text.utf8).withUnsafeBytes { raw in
                let scanned = try #require(DecimalScan.scanWithKey(raw))
                #expect(scanned.key == key, "\(text)")
            }
        }
        #expect(PriceKey("1234567890123456789") == nil)  // 19 significant digits
        #expect(PriceKey("abc") == nil)
        #expect(PriceKey("") == nil)
        Array("1234567890123456789".utf8).withUnsafeBytes { raw in
            #expect(DecimalScan.scanWithKey(raw)?.key == nil)
            #expect(DecimalScan.scanWithKey(raw) != nil)
        }
    }

    @Test func priceKeysOrderExactlyAcrossScales() throws {
        let texts = ["-100", "-1.5", "-0.0001", "0", "0.00000001", "0.5", "1.9529", "1.953", "1.9531", "2", "10",
                     "99.999999", "100", "100.0000001", "43730", "922337203685477580", "9223372036854775800000"]
        let keys = try texts.map { try #require(PriceKey($0), "\($0)") }
        for i in keys.indices {
            for j in keys.indices {
                #expect((keys[i] < keys[j]) == (i < j), "\(texts[i]) < \(texts[j])")
                #expect((keys[i] == keys[j]) == (i == j))
            }
        }
        #expect(PriceKey("1.50") == PriceKey("1.5"))
        #expect(Set([PriceKey("1.50")!, PriceKey("1.5")!]).count == 1)
    }

    @Test func decimalStringWrapperCodesCanonicalText() throws {
        struct Box: Codable, Equatable {
            @DecimalString var a: Decimal
            @OptionalDecimalString var b: Decimal?
            @OptionalDecimalString var c: Decimal?
        }
        let decoded = try JSONDecoder().decode(Box.self, from: Data(#"{"a":"1.50","b":""}"#.utf8))
        #expect(decoded.a == dec("1.5"))
        #expect(decoded.b == nil)
        #expect(decoded.c == nil)
        let fromNumber = try JSONDecoder().decode(Box.self, from: Data(#"{"a":2.5,"c":"0.1000"}"#.utf8))
        #expect(fromNumber.a == dec("2.5"))
        #expect(fromNumber.c == dec("0.1"))
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        #expect(String(decoding: try e.encode(fromNumber), as: UTF8.self) == #"{"a":"2.5","c":"0.1"}"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(Box.self, from: Data(#"{"a":"x"}"#.utf8)) }
    }
}

@Suite("PriceKey decimals")
struct PriceKeyDecimalTests {
    @Test("a key's Decimal is Decimal(string:) of the canonical text, bit for bit")
    func sameRepresentation() {
        for text in ["100", "1.50", "0.005", "-42.10", "0", "-0", "0.000", "1000000", "98765.4321", "123456789012345678",
                     "0.000000000000000001", "12345.678901234567", "-0.1", "7", "250.0"] {
            let key = PriceKey(text)!
            let parsed = DecimalText.decimal(text)!
            #expect(key.decimal == parsed, "\(text)")
            #expect(withUnsafeBytes(of: key.decimal) { Array($0) } == withUnsafeBytes(of: parsed) { Array($0) }, "\(text)")
        }
    }
}

@Suite("Stored market data decoders")
struct StoredMarketDecoderTests {
    static let ticker = #"{"ask1Price":"87001.5","bid1Price":"87000","category":"linear","lastPrice":"87000.50","symbol":"BTCUSDT","ts":1767225600123,"volume24h":""}"#

    @Test("a stored ticker decodes as Codable decodes it")
    func ticker() throws {
        let fast = try #require(TickerUpdated.decodeStored(Array(Self.ticker.utf8)))
        #expect(fast == (try JSONDecoder().decode(TickerUpdated.self, from: Data(Self.ticker.utf8))))
        #expect(fast.lastPrice == Decimal(string: "87000.5") && fast.volume24h == nil)
        let prices = try #require(StoredTickerPrices(storedData: Array(Self.ticker.utf8)))
        #expect(prices == StoredTickerPrices(symbol: "BTCUSDT", category: "linear", lastPrice: fast.lastPrice, markPrice: nil,
                                             bid1Price: fast.bid1Price, ask1Price: fast.ask1Price))
        // From a logged event: a ticker of the known schema version only.
        func logged(_ type: String, _ version: Int32) -> RecordedEvent {
            RecordedEvent(globalPosition: 1, eventID: UUID(), stream: "market.linear.ticker-BTCUSDT", streamVersion: 1, type: type,
                          schemaVersion: version, data: Array(Self.ticker.utf8), metadata: EventMetadata(),
                          recordedAt: Timestamp(microsecondsSinceEpoch: 0))
        }
        #expect(StoredTickerPrices(event: logged(TickerUpdated.eventType, TickerUpdated.schemaVersion)) == prices)
        #expect(StoredTickerPrices(event: logged(TickerUpdated.eventType, TickerUpdated.schemaVersion + 1)) == nil)
        #expect(StoredTickerPrices(event: logged("KlineUpdated", TickerUpdated.schemaVersion)) == nil)
    }

    @Test("shapes it does not take are left to Codable", arguments: [
        #"{"symbol":"BTCUSDT","category":"linear","symbol":"ETHUSDT"}"#,        // repeated key
        #"{"symbol":"BTCUSDT","c\u0061tegory":"linear"}"#,                     // escaped key
        #"{"symbol":"BTCUSDT","category":"linear","lastPrice":87000.5}"#,      // a number, not a decimal string
        #"{"symbol":"BTCUSDT","category":"linear","lastPrice":"1.5e3"}"#,      // exponent form
        #"{"symbol":"BTCUSDT"}"#,                                               // a required member missing
        #"[1,2]"#,
    ])
    func fallsBack(_ json: String) {
        #expect(TickerUpdated.decodeStored(Array(json.utf8)) == nil)
        #expect(StoredTickerPrices(storedData: Array(json.utf8)) == nil)
    }

    @Test("the prices reader checks the members it does not build, as the full decoder does")
    func pricesRefuseWhatTheDecoderRefuses() {
        for bad in [#""volume24h":"1.5e3""#, #""fundingIntervalHour":99999999999999999999"#, #""tickDirection":7"#, #""ts":"1""#] {
            let json = #"{"symbol":"BTCUSDT","category":"linear","lastPrice":"1",\#(bad)}"#
            #expect(TickerUpdated.decodeStored(Array(json.utf8)) == nil, "\(bad)")
            #expect(StoredTickerPrices(storedData: Array(json.utf8)) == nil, "\(bad)")
        }
    }

    @Test("a stored book: levels as keys, the same payload as Codable")
    func book() throws {
        let json = #"{"asks":[["87001.5","0.25"]],"bids":[["87000","1.500"],["86999.9","0"]],"category":"linear","cts":1,"depth":50,"seq":9,"symbol":"BTCUSDT","synced":true,"ts":2,"type":"delta","u":77}"#
        let keys = try #require(StoredOrderBook(storedData: Array(json.utf8)))
        #expect(keys.bids.map(\.price) == [PriceKey("87000")!, PriceKey("86999.9")!])
        #expect(keys.bids[1].size.isZero && !keys.isSnapshot)
        #expect(OrderBookUpdated.decodeStored(Array(json.utf8)) == (try JSONDecoder().decode(OrderBookUpdated.self, from: Data(json.utf8))))
        #expect(StoredOrderBook(storedData: Array(json.replacingOccurrences(of: #"["87001.5","0.25"]"#, with: #"["87001.5"]"#).utf8)) == nil)
    }
}
