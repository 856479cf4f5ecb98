@testable import Bybit
import Foundation
import Testing
import TradelogCore

/// The tape decoder reads a value exactly as `JSONDecoder` does, or not at all.
@Suite("Tape decoder")
struct TapeDecoderTests {
    struct Inner: Codable, Hashable {
        var name: String
        var n: Int
    }

    struct Sample: Codable, Hashable {
        var text: String
        var count: Int
        var big: Int64?
        var flag: Bool
        var missing: String?
        var null: Int?
        var tags: [String: String]
        var list: [Int]
        var inner: Inner
        var inners: [Inner?]
        var amount: Decimal
        var maybe: Decimal?
        @OptionalDecimalString var price: Decimal?
        @OptionalDecimalString var empty: Decimal?
        var time: Timestamp
        var id: UUID
    }

    static let sample = #"""
        {"amount":-12.50,"big":9223372036854775807,"count":-3,"empty":"","flag":true,"id":"6F1D1A3E-6B0E-5C4E-9A51-7472616465AB",
         "inner":{"n":1,"name":"a"},"inners":[null,{"name":"b","n":2}],"list":[1,2,3],"maybe":null,"null":null,
         "price":"0.000100","tags":{"X":"ü","x":"1"},"text":"plain ünïcode","time":1767225600000000}
        """#

    static func both<T: Decodable>(_ type: T.Type, _ json: String) -> (tape: T?, foundation: T?) {
        let bytes = Array(json.utf8)
        return (TapeDecoder.decode(T.self, from: bytes), try? JSONDecoder().decode(T.self, from: Data(bytes)))
    }

    @Test("a value in the subset: the same value JSONDecoder reads, keys in order or not")
    func sameValue() throws {
        let (tape, foundation) = Self.both(Sample.self, Self.sample)
        let value = try #require(tape)
        #expect(value == foundation)
        #expect(value.amount == Decimal(string: "-12.5") && value.price == Decimal(string: "0.0001") && value.empty == nil)
        #expect(value.inners == [nil, Inner(name: "b", n: 2)] && value.tags["X"] == "ü" && value.big == Int64.max)
        // Decimals with the very representation JSONDecoder gives.
        #expect(withUnsafeBytes(of: value.amount) { Array($0) } == withUnsafeBytes(of: foundation!.amount) { Array($0) })
        // Out of order (not canonical): found by a scan.
        let shuffled = #"{"n":7,"name":"z"}"#
        #expect(Self.both(Inner.self, shuffled).tape == Inner(name: "z", n: 7))
    }

    @Test("outside the subset, or any error: nil, and decodeOrFallBack gives JSONDecoder's answer", arguments: [
        #"{"name":"a\"b","n":1}"#,  // an escaped string
        #"{"name":"a","n":1,"n":2}"#,  // a repeated key
        #"{"n":2,"name":"a","name":"b"}"#,  // a repeated key, out of order
        #"{"name":"a"}"#,  // a missing key
        #"{"name":null,"n":1}"#,  // null where a value is required
        #"{"name":"a","n":1e2}"#,  // an integer with an exponent
        #"{"name":"a","n":1.0}"#,  // an integer with a fraction
        #"{"name":"a","n":99999999999999999999}"#,  // too large
        #"{"name":"a","n":"1"}"#,  // a string for a number
        #"{"name":"a","n":1} x"#,  // not JSON
        #"{"na\u006de":"a","n":1}"#,  // an escaped key
    ])
    func declines(_ json: String) {
        let (tape, foundation) = Self.both(Inner.self, json)
        #expect(tape == nil)
        let fallBack = try? TapeDecoder.decodeOrFallBack(Inner.self, from: Array(json.utf8))
        #expect(fallBack == foundation)
    }

    @Test("a key that is not ASCII is left to JSONDecoder, which matches keys as Strings (canonical equivalence)")
    func nonASCIIKeys() {
        struct Kelvin: Codable, Hashable {
            var k: Int
            enum CodingKeys: String, CodingKey { case k = "\u{212A}" }
        }
        // U+212A KELVIN SIGN equals "K" as a String: JSONDecoder finds it under either.
        let ascii = Self.both(Kelvin.self, #"{"K":1}"#)
        #expect(ascii.tape == nil && ascii.foundation == Kelvin(k: 1))
        // A precomposed and a decomposed é are one key to JSONDecoder.
        let tags = Self.both([String: String].self, "{\"e\u{301}\":\"1\",\"é\":\"2\"}")
        #expect(tags.tape == nil)
        #expect(Self.both([String: String].self, #"{"caf\u00e9":"1"}"#).tape == nil)
        #expect(Self.both([String: String].self, #"{"b":"1","a":"2"}"#).tape == ["a": "2", "b": "1"])
    }

    @Test("plain decimals read bit for bit as JSONDecoder reads them (seeded)", arguments: 0..<4)
    func decimalsBitForBit(seed: Int) throws {
        var rng = SplitMix64(seed: UInt64(seed) &+ 5)
        var texts = ["0", "-0", "-0.0", "0.000", "1.500", "12345678901234567890123456789012345678",
                     "-1234567890123456789012345678901234567.8", "0.0000000000000000000000000000000000001"]
        for _ in 0..<1500 {
            var t = (rng.below(2) == 0 ? "-" : "") + String(rng.below(10_000_000))
            let fraction = rng.below(12)
            if fraction > 0 { t += "." + (0..<fraction).map { _ in String(rng.below(10)) }.joined() }
            texts.append(t)
        }
        let json = Array(("[" + texts.joined(separator: ",") + "]").utf8)
        let read = TapeDecoder.decode([Decimal].self, from: json)
        #expect(read != nil, "the tape decoder declined seed \(seed)")
        guard let tape = read else { return }
        let foundation = try JSONDecoder().decode([Decimal].self, from: Data(json))
        #expect(tape.count == foundation.count)
        for (a, b) in zip(tape, foundation) {
            #expect(withUnsafeBytes(of: a) { Array($0) } == withUnsafeBytes(of: b) { Array($0) }, "\(b)")
        }
        // 39 digits: more than a Decimal holds exactly.
        #expect(TapeDecoder.decode([Decimal].self, from: Array("[123456789012345678901234567890123456789]".utf8)) == nil)
    }

    @Test("integers: within the type as JSONDecoder reads them; beyond it, or beyond Int64, left to JSONDecoder")
    func integers() {
        #expect(TapeDecoder.decode([Int64].self, from: Array("[-9223372036854775807,0,-0,9223372036854775807]".utf8))
            == [-9_223_372_036_854_775_807, 0, 0, Int64.max])
        #expect(TapeDecoder.decode([UInt64].self, from: Array("[18446744073709551615]".utf8)) == nil)
        #expect(TapeDecoder.decode([Int8].self, from: Array("[127,-128]".utf8)) == [127, -128])
        #expect(TapeDecoder.decode([Int8].self, from: Array("[128]".utf8)) == nil)
        #expect(TapeDecoder.decode([UInt8].self, from: Array("[-1]".utf8)) == nil)
        #expect(TapeDecoder.decode([Int64].self, from: Array("[-9223372036854775808]".utf8)) == nil)
    }

    /// Reads with every container and probe a `Decodable` can use.
    struct Containers: Decodable, Hashable {
        var present: Bool
        var null: Bool
        var nested: [String]
        var unkeyedNils: [Bool]
        var empty: Bool
        enum CodingKeys: String, CodingKey { case a, b, c, d, e }
        enum Inner: String, CodingKey { case x }
        init(present: Bool, null: Bool, nested: [String], unkeyedNils: [Bool], empty: Bool) {
            (self.present, self.null, self.nested, self.unkeyedNils, self.empty) = (present, null, nested, unkeyedNils, empty)
        }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            present = c.contains(.a) && !c.contains(.e)
            null = try c.decodeNil(forKey: .b)
            let inner = try c.nestedContainer(keyedBy: Inner.self, forKey: .a)
            var list = try inner.nestedUnkeyedContainer(forKey: .x)
            nested = []
            while !list.isAtEnd { nested.append(try list.decode(String.self)) }
            var d = try c.nestedUnkeyedContainer(forKey: .d)
            unkeyedNils = []
            while !d.isAtEnd { unkeyedNils.append(try d.decodeNil()) ; if !(unkeyedNils.last!) { _ = try d.decode(Int.self) } }
            empty = try c.nestedContainer(keyedBy: Inner.self, forKey: .c).allKeys.isEmpty
        }
    }

    @Test("keyed, nested, unkeyed and single-value containers, contains and decodeNil, as JSONDecoder reads them")
    func containers() {
        let json = #"{"a":{"x":["p","q"]},"b":null,"c":{},"d":[null,1,null]}"#
        let (tape, foundation) = Self.both(Containers.self, json)
        #expect(tape != nil && tape == foundation)
        #expect(tape == Containers(present: true, null: true, nested: ["p", "q"], unkeyedNils: [true, false, true], empty: true))
        #expect(Self.both([Int].self, "[]").tape == [] && Self.both([String: Int].self, "{}").tape == [:])
    }

    enum Side: String, Codable, Hashable { case buy, sell }
    struct Sided: Decodable, Hashable {
        var side: Side?
        enum CodingKeys: String, CodingKey { case side }
        init(from decoder: Decoder) throws {
            side = try? decoder.container(keyedBy: CodingKeys.self).decode(Side.self, forKey: .side)
        }
    }

    @Test("an enum: its raw value read; an unknown one fails in the enum's own code, given the same text, as with JSONDecoder")
    func enums() {
        #expect(Self.both(Sided.self, #"{"side":"sell"}"#).tape?.side == .sell)
        let unknown = Self.both(Sided.self, #"{"side":"hold"}"#)
        #expect(unknown.tape != nil && unknown.tape == unknown.foundation && unknown.tape?.side == nil)
    }

    struct Decimals: Codable, Hashable { var d: Decimal }
    struct Floating: Codable, Hashable { var x: Double }
    struct Dated: Codable, Hashable { var t: Date }
    struct Linked: Codable, Hashable { var u: URL }
    struct Bytes: Codable, Hashable { var b: Data }

    @Test("decimals with an exponent or more than 38 digits, floating point, dates, data and URLs are left to JSONDecoder")
    func leftToFoundation() {
        #expect(Self.both(Decimals.self, #"{"d":1.5e3}"#).tape == nil)
        #expect(Self.both(Decimals.self, #"{"d":1234567890123456789012345678901234567890}"#).tape == nil)
        #expect(Self.both(Decimals.self, #"{"d":"1.5"}"#).tape == nil)
        #expect(Self.both(Decimals.self, #"{"d":123456789012345678901234567890.12345678}"#).tape != nil)
        #expect(Self.both(Floating.self, #"{"x":1.5}"#).tape == nil)
        #expect(Self.both(Dated.self, #"{"t":0}"#).tape == nil)
        #expect(Self.both(Linked.self, #"{"u":"https://example.com"}"#).tape == nil)
        #expect(Self.both(Bytes.self, #"{"b":"AAE="}"#).tape == nil)
        #expect(Self.both(Bytes.self, #"{"b":[0,1]}"#).tape == nil)
    }

    /// Recovers from an error with `try?`: the tape decoder still gives up, since its
    /// recovery could differ from JSONDecoder's.
    struct Recovering: Decodable, Hashable {
        var value: String
        enum CodingKeys: String, CodingKey { case value }
        init(value: String) { self.value = value }
        init(from decoder: Decoder) throws {
            let c = try decoder.container(keyedBy: CodingKeys.self)
            value = (try? c.decode(String.self, forKey: .value)) ?? "default"
        }
    }

    @Test("an error the value's own decoder recovers from still sends the read to JSONDecoder")
    func recoveredErrors() {
        #expect(Self.both(Recovering.self, #"{"value":"x"}"#).tape == Recovering(value: "x"))
        // Escaped: JSONDecoder reads "a\"b"; a recovery would have said "default".
        let escaped = Self.both(Recovering.self, #"{"value":"a\"b"}"#)
        #expect(escaped.tape == nil && escaped.foundation?.value == #"a"b"#)
        #expect(Self.both(Recovering.self, #"{"value":5}"#).tape == nil)
    }

    @Test("strings: valid UTF-8 as it is, anything else left to JSONDecoder")
    func utf8() {
        let valid: [UInt8] = Array(#"{"name":""#.utf8) + [0xC3, 0xA9] + Array(#"","n":1}"#.utf8)
        #expect(TapeDecoder.decode(Inner.self, from: valid) == Inner(name: "é", n: 1))
        let invalid: [UInt8] = Array(#"{"name":""#.utf8) + [0xFF] + Array(#"","n":1}"#.utf8)
        #expect(TapeDecoder.decode(Inner.self, from: invalid) == nil)
        #expect(TapeDecoder.decode(Inner.self, from: []) == nil)
    }
}
