import CCrypto
import CLZ4
import CLibPQ
import CRabbitMQ
import Foundation
import Testing
@testable import TradelogCore

@Suite("System libraries")
struct SystemLibraryTests {
    @Test("libpq, librabbitmq, liblz4 and libcrypto link and answer")
    func versions() {
        #expect(PQlibVersion() >= 150000)
        #expect(String(cString: amqp_version()).hasPrefix("0."))
        #expect(LZ4_versionNumber() >= 10900)
        #expect(OpenSSL_version_num() >= 0x3000_0000)
    }
}

@Suite("Hashing and deterministic ids")
struct HashingTests {
    @Test func sha256KnownVector() {
        #expect(Digest.hex(Digest.sha256(Array("abc".utf8)))
            == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }

    @Test func sha1KnownVector() {
        #expect(Digest.hex(Digest.sha1(Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test("UUIDv5 matches RFC 9562 / Python's uuid5")
    func uuid5() {
        let dns = UUID(uuidString: "6ba7b810-9dad-11d1-80b4-00c04fd430c8")!
        #expect(DeterministicID.uuid5(namespace: dns, name: "python.org").uuidString.lowercased()
            == "886313e1-3b8a-5372-9b90-0c9aee199e5d")
        #expect(DeterministicID.uuid5(namespace: dns, name: "www.example.com").lowercasedString
            == "2ed6657d-e927-568b-95e1-2665a8aea6a2")
    }

    @Test("UUIDv5 over bytes: the same ids as over the name, empty and long names included (Python's uuid5)")
    func uuid5OverBytes() {
        let cases: [(String, String)] = [
            ("", "7eb5e184-81fc-504a-a6f0-cf0bf90779cf"),
            ("market.linear.ticker-BTCUSDT|TickerUpdated|1767225600000|42", "5179bc1f-30cb-5ee2-a0c2-36497719ea47"),
            (String(repeating: "x", count: 5000), "51bad798-e125-5e27-a9a2-ec41aecdd42a"),
        ]
        for (name, want) in cases {
            #expect(DeterministicID.uuid5(namespace: DeterministicID.namespace, name: name).lowercasedString == want)
            let overBytes = Array(name.utf8).withUnsafeBytes { DeterministicID.uuid5(namespace: DeterministicID.namespace, name: $0) }
            #expect(overBytes.lowercasedString == want)
        }
    }

    @Test func derivedIDsAreStableAndDistinct() {
        let a = DeterministicID.derived(from: "signal-1", index: 0)
        #expect(a == DeterministicID.derived(from: "signal-1", index: 0))
        #expect(a != DeterministicID.derived(from: "signal-1", index: 1))
        #expect(a != DeterministicID.derived(from: "signal-2", index: 0))
        #expect(a != DeterministicID.derived(from: "signal-1", index: 0, kind: "leg"))
    }
}

@Suite("Streams and time")
struct StreamAndTimeTests {
    @Test func categories() {
        #expect(StreamName.category(of: "order-abc-1") == "order")
        #expect(StreamName.category(of: "market.orderbook-BTCUSDT") == "market.orderbook")
        #expect(StreamName.category(of: "subscriptions") == "subscriptions")
        #expect(StreamName.isMarketData(stream: "market.trade-BTCUSDT"))
        #expect(!StreamName.isMarketData(stream: "signal-42"))
        #expect(!StreamName.isMarketData(stream: "marketing-1"))
        #expect(StreamName.problem(with: "") != nil)
        #expect(StreamName.problem(with: "-x") != nil)
        #expect(StreamName.problem(with: "a\nb") != nil)
        #expect(StreamName.problem(with: "position-BTCUSDT") == nil)
    }

    @Test("a stream has a category when its name is the category, or the category then `-`")
    func hasCategory() {
        #expect(StreamName.stream("market.linear.ticker-BTCUSDT", hasCategory: "market.linear.ticker"))
        #expect(StreamName.stream("subscriptions", hasCategory: "subscriptions"))
        #expect(!StreamName.stream("market.linear.ticker-BTCUSDT", hasCategory: "market.linear"))
        #expect(!StreamName.stream("market.linear.tickers-BTCUSDT", hasCategory: "market.linear.ticker"))
        #expect(!StreamName.stream("order", hasCategory: "order-abc"))
        #expect(!StreamName.stream("order-abc", hasCategory: ""))
        #expect(StreamName.stream("-abc", hasCategory: ""))
        #expect(StreamName.stream("signal-é", hasCategory: "signal"))
        #expect(!StreamName.stream("signalé-1", hasCategory: "signal"))
        for name in ["order-abc-1", "market.orderbook-BTCUSDT", "subscriptions", "a-", "-"] {
            #expect(StreamName.stream(name, hasCategory: StreamName.category(of: name)))
        }
    }

    @Test func timestampText() {
        #expect(Timestamp(microsecondsSinceEpoch: 1_700_000_000_123_456).description == "2023-11-14T22:13:20.123456Z")
        #expect(Timestamp(millisecondsSinceEpoch: 0).description == "1970-01-01T00:00:00.000000Z")
        #expect(Timestamp(microsecondsSinceEpoch: -1).description == "1969-12-31T23:59:59.999999Z")
    }

    @Test("milliseconds out of range (an exchange's updatedTime of 9300000000000000) are clamped to years 1-9999, never trap")
    func millisecondsSaturate() {
        #expect(Timestamp(millisecondsSinceEpoch: 9_300_000_000_000_000) == Timestamp.latest)
        #expect(Timestamp(millisecondsSinceEpoch: Int64.max) == Timestamp.latest)
        #expect(Timestamp(millisecondsSinceEpoch: Int64.min) == Timestamp.earliest)
        #expect(Timestamp(millisecondsSinceEpoch: -9_300_000_000_000_000) == Timestamp.earliest)
        #expect(Timestamp(millisecondsSinceEpoch: 1_700_000_000_123).microsecondsSinceEpoch == 1_700_000_000_123_000)
        #expect(Timestamp(millisecondsSinceEpoch: -1).microsecondsSinceEpoch == -1000)
        // Both ends print as ISO 8601 that PostgreSQL takes.
        #expect(Timestamp.latest.description == "9999-12-31T23:59:59.999000Z")
        #expect(Timestamp.earliest.description == "0001-01-01T00:00:00.000000Z")
        #expect(!Timestamp(microsecondsSinceEpoch: Int64.min).description.isEmpty)
    }
}

struct OrderPlacedV1: EventPayload {
    static let eventType = "TestOrderPlaced"
    var symbol: String
    var qty: Decimal
}

struct OrderPlacedV2: EventPayload {
    static let eventType = "TestOrderPlaced"
    static let schemaVersion: Int32 = 2
    var symbol: String
    var qty: Decimal
    var category: String
}

@Suite("Typed events")
struct RegistryTests {
    @Test func roundTrip() throws {
        var r = EventRegistry()
        r.register(OrderPlacedV1.self)
        let (type, version, data) = try r.encode(OrderPlacedV1(symbol: "BTCUSDT", qty: Decimal(string: "0.001")!))
        #expect(type == "TestOrderPlaced" && version == 1)
        #expect(String(decoding: data, as: UTF8.self) == #"{"qty":0.001,"symbol":"BTCUSDT"}"#)
        let back = try #require(r.decode(type: type, schemaVersion: version, data: data) as? OrderPlacedV1)
        #expect(back.qty == Decimal(string: "0.001")!)
    }

    /// A registry at `OrderPlacedV2` that lifts v1 data by adding a category.
    static func upcastingV1() -> EventRegistry {
        var r = EventRegistry()
        r.register(OrderPlacedV2.self)
        r.registerUpcaster(type: "TestOrderPlaced", from: 1) { old in
            var new = old
            new["category"] = .string("linear")
            return new
        }
        return r
    }

    @Test("an old version is upcast in one place before decoding")
    func upcast() throws {
        let r = Self.upcastingV1()
        let v1 = Array(#"{"symbol":"ETHUSDT","qty":2}"#.utf8)
        let e = try #require(r.decode(type: "TestOrderPlaced", schemaVersion: 1, data: v1) as? OrderPlacedV2)
        #expect(e.category == "linear" && e.symbol == "ETHUSDT" && e.qty == 2)
    }

    @Test func errorsNameTheProblem() {
        var r = EventRegistry()
        #expect(throws: EventDecodingError.self) { try r.decode(type: "Nope", schemaVersion: 1, data: Array("{}".utf8)) }
        r.register(OrderPlacedV1.self)
        #expect(throws: EventDecodingError.self) { try r.decode(type: "TestOrderPlaced", schemaVersion: 3, data: Array("{}".utf8)) }
        #expect(throws: EventDecodingError.self) { try r.decode(type: "TestOrderPlaced", schemaVersion: 1, data: Array(#"{"symbol":1}"#.utf8)) }
        // v2 registered without an upcaster from v1
        var r2 = EventRegistry()
        r2.register(OrderPlacedV2.self)
        #expect(throws: EventDecodingError.self) { try r2.decode(type: "TestOrderPlaced", schemaVersion: 1, data: Array("{}".utf8)) }
    }
}

/// Counts its decodes (only `PayloadReadingTests.knownAndKept` decodes it).
struct CountedDecode: EventPayload {
    static let eventType = "TestCountedDecode"
    nonisolated(unsafe) static var decodes = 0
    var n: Int

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        n = try c.decode(Int.self, forKey: .n)
        Self.decodes += 1
    }
}

/// The same event type and shape as `OrderPlacedV1`, another Swift type.
struct OrderPlacedLookalike: EventPayload {
    static let eventType = "TestOrderPlaced"
    var symbol: String
    var qty: Decimal
}

@Suite("A payload read once for several folds")
struct PayloadReadingTests {
    static func event(_ json: String, version: Int32 = 1) -> RecordedEvent {
        RecordedEvent(globalPosition: 1, eventID: UUID(), stream: "test-1", streamVersion: 1, type: "TestOrderPlaced",
                      schemaVersion: version, data: Array(json.utf8), metadata: EventMetadata(),
                      recordedAt: Timestamp(microsecondsSinceEpoch: 0))
    }

    @Test("the payload at hand is read instead of the data; decoded once, then kept for the same event only")
    func knownAndKept() throws {
        var r = EventRegistry()
        r.register(OrderPlacedV1.self)
        let e = Self.event(#"{"qty":1,"symbol":"BTCUSDT"}"#)
        var known = PayloadReading(known: OrderPlacedV1(symbol: "ETHUSDT", qty: 2))
        #expect((known.payload(of: e, registry: r) as? OrderPlacedV1)?.symbol == "ETHUSDT")
        var fresh = PayloadReading()
        #expect((fresh.payload(of: e, registry: r) as? OrderPlacedV1)?.symbol == "BTCUSDT")
        // Another event is its own: what was held for the first is dropped.
        #expect((fresh.payload(of: Self.event(#"{"qty":3,"symbol":"SOLUSDT"}"#), registry: r) as? OrderPlacedV1)?.qty == 3)

        // Kept: the second fold of the same event does not decode again.
        var counting = EventRegistry()
        counting.register(CountedDecode.self)
        let c = RecordedEvent(globalPosition: 1, eventID: UUID(), stream: "test-1", streamVersion: 1, type: CountedDecode.eventType,
                              schemaVersion: 1, data: Array(#"{"n":1}"#.utf8), metadata: EventMetadata(),
                              recordedAt: Timestamp(microsecondsSinceEpoch: 0))
        var once = PayloadReading()
        let before = CountedDecode.decodes
        #expect((once.payload(of: c, registry: counting) as? CountedDecode)?.n == 1)
        #expect((once.payload(of: c, registry: counting) as? CountedDecode)?.n == 1)
        #expect(CountedDecode.decodes == before + 1)
    }

    @Test("a payload of another Swift type than the registry decodes to is not handed out: the registry decodes the data")
    func otherSwiftType() throws {
        var r = EventRegistry()
        r.register(OrderPlacedV1.self)
        var reading = PayloadReading(known: OrderPlacedLookalike(symbol: "ETHUSDT", qty: 2))
        let p = try #require(reading.payload(of: Self.event(#"{"qty":1,"symbol":"BTCUSDT"}"#), registry: r) as? OrderPlacedV1)
        #expect(p.symbol == "BTCUSDT")
    }

    @Test("a registry that does not know the type, or decodes it at a newer version, is not handed the payload at hand")
    func registryDecides() throws {
        let known = OrderPlacedV1(symbol: "ETHUSDT", qty: 2)
        var none = PayloadReading(known: known)
        #expect(none.payload(of: Self.event(#"{"qty":1,"symbol":"BTCUSDT"}"#), registry: EventRegistry()) == nil)
        let r2 = RegistryTests.upcastingV1()
        var reading = PayloadReading(known: known)
        let up = try #require(reading.payload(of: Self.event(#"{"qty":1,"symbol":"BTCUSDT"}"#), registry: r2) as? OrderPlacedV2)
        #expect(up.symbol == "BTCUSDT" && up.category == "linear")
        // A failed decode is not kept.
        var failing = PayloadReading()
        var r1 = EventRegistry()
        r1.register(OrderPlacedV1.self)
        #expect(failing.payload(of: Self.event(#"{"qty":"x"}"#), registry: r1) == nil)
        #expect(failing.payload(of: Self.event(#"{"qty":1,"symbol":"BTCUSDT"}"#), registry: r1) != nil)
    }
}

@Suite("Canonical JSON and digests")
struct CanonicalTests {
    @Test("key order, spacing and number spelling do not change the canonical form")
    func canonicalForm() throws {
        let a = try CanonicalJSON.canonicalize(Array(#"{"b": [1, 2.50], "a": {"y": null, "x": "p/q"}}"#.utf8))
        let b = try CanonicalJSON.canonicalize(Array(#"{"a":{"x":"p/q","y":null},"b":[1,2.5]}"#.utf8))
        #expect(a == b)
        #expect(String(decoding: a, as: UTF8.self) == #"{"a":{"x":"p/q","y":null},"b":[1,2.5]}"#)
    }

    @Test func digestIsOrderSensitiveAndStable() throws {
        func digest(_ items: [(String, String, String)]) throws -> String {
            var d = LogDigest()
            for (s, t, j) in items { try d.add(stream: s, type: t, data: Array(j.utf8)) }
            return d.hexDigest()
        }
        let x = ("order-1", "OrderRequested", #"{"qty":"1","price":"2"}"#)
        let xJsonb = ("order-1", "OrderRequested", #"{"price": "2", "qty": "1"}"#)
        let y = ("order-1", "OrderAccepted", #"{}"#)
        #expect(try digest([x, y]) == digest([xJsonb, y]))
        #expect(try digest([x, y]) != digest([y, x]))
        #expect(try digest([]) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
    }
}

@Suite("UUID text")
struct UUIDTextTests {
    @Test func lowercasedMatchesFoundation() {
        for _ in 0..<100 {
            let u = UUID()
            #expect(u.lowercasedString == u.uuidString.lowercased())
        }
    }
}

@Suite("Environment settings")
struct EnvironmentSettingTests {
    @Test("a port: a number, off, or the default; anything else names the field and the source")
    func port() throws {
        let field = "TRADELOG_X_API_PORT"
        #expect(try EnvironmentSetting.port([:], field, default: 8081, source: "environment") == 8081)
        #expect(try EnvironmentSetting.port([field: "off"], field, default: 8081, source: "environment") == nil)
        #expect(try EnvironmentSetting.port([field: "0"], field, default: nil, source: "environment") == 0)
        #expect(try EnvironmentSetting.port([field: "65535"], field, default: 8081, source: "environment") == 65535)
        for bad in ["65536", "-1", "http", "", " 80"] {
            #expect {
                try EnvironmentSetting.port([field: bad], field, default: 8081, source: ".env")
            } throws: { error in
                "\(error)" == ".env: \(field): \(bad.debugDescription) is not a port number or off"
            }
        }
    }
}
