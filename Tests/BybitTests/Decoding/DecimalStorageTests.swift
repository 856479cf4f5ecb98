import Foundation
import Testing
import TradelogCore
@testable import Bybit

@Suite("Decimal storage and text")
struct DecimalStorageTests {
    func written(_ d: Decimal) -> String {
        var w = JSONWriter()
        w.number(d)
        return String(decoding: w.take(), as: UTF8.self)
    }

    @Test func thisFoundationsLayoutIsTheOneRead() {
        #expect(DecimalStorage.layoutMatches)
    }

    @Test(arguments: ["0", "1.50", "-0.00100", "123", "1e5", "-5e-10", "0.0", "100", "0.1", "-1", "99999999999999999999",
                      "12345678901234567890123.45", "0.33333333333333333333333333333333333333", "-98765.4321000"])
    func textEqualsDescription(_ text: String) throws {
        let d = try #require(Decimal(string: text))
        #expect(written(d) == d.description)
    }

    @Test func textEqualsDescriptionOverSeededValuesAndArithmetic() throws {
        var rng = SplitMix64(seed: 20261122)
        var fast = 0
        for _ in 0..<20_000 {
            let m = rng.next() >> (rng.next() % 64)
            let e = Int(rng.next() % 256) - 128
            let d = Decimal(sign: rng.next() % 2 == 0 ? .minus : .plus, exponent: e, significand: Decimal(m))
            if DecimalStorage.parts(d) != nil { fast += 1 }
            // NaN (an overflow) has no JSON text: nothing is written (tested below).
            #expect(written(d) == (d.isNaN ? "" : d.description), "mantissa \(m) exponent \(e)")
        }
        // Long mantissas (up to 38 digits), the results of divisions.
        for _ in 0..<5_000 {
            let digits = (0..<(1 + Int(rng.next() % 38))).map { _ in String(rng.next() % 10) }.joined()
            let e = Int(rng.next() % 80) - 40
            let d = try #require(Decimal(string: "\(rng.next() % 2 == 0 ? "-" : "")\(digits)e\(e)"))
            #expect(written(d) == d.description, "\(digits)e\(e)")
        }
        for _ in 0..<5_000 {
            let a = Decimal(Int(rng.next() % 200_001) - 100_000) / Decimal(Int(rng.next() % 1000) + 1)
            let b = Decimal(string: "0.\(rng.next() % 100_000)")! * Decimal(Int(rng.next() % 199) - 99)
            for d in [a, b, a + b, a * b, a - b] {
                #expect(written(d) == d.description)
            }
        }
        #expect(fast > 19_000)  // all but the NaNs take the fast path
    }

    @Test("the longest texts: 39 digits and the largest exponent, the smallest exponent")
    func longestTexts() throws {
        let big = try #require(Decimal(string: "340282366920938463463374607431768211455"))
        // From the parts directly: the longest texts there are (a sign, 39 digits and 127
        // zeros; `0.`, 127 zeros and a digit; 39 digits after 89 zeros).
        let cases: [(Bool, Int, UInt128, Int)] = [(true, 127, UInt128.max, 167), (false, -128, 7, 130), (false, -128, UInt128.max, 130)]
        for (negative, exponent, mantissa, length) in cases {
            var text: [UInt8] = []
            DecimalStorage.appendText(negative: negative, exponent: exponent, mantissa: mantissa, to: &text)
            #expect(text.count == length && text.count <= DecimalStorage.maxTextCount)
        }
        // And as Foundation's values, whose text must be `description`'s.
        for d in [Decimal(sign: .minus, exponent: 127, significand: big), Decimal(sign: .plus, exponent: 127, significand: 7),
                  Decimal(sign: .minus, exponent: -128, significand: 3), Decimal(sign: .plus, exponent: -128, significand: big)] {
            #expect(!d.isNaN)
            let p = try #require(DecimalStorage.parts(d))
            var text: [UInt8] = []
            DecimalStorage.appendText(negative: p.negative, exponent: p.exponent, mantissa: p.mantissa, to: &text)
            #expect(String(decoding: text, as: UTF8.self) == d.description)
            #expect(written(d) == d.description)
        }
    }

    @Test func nanIsNotReadFromStorage() throws {
        #expect(DecimalStorage.parts(.nan) == nil)
        #expect(DecimalStorage.parts(try #require(Decimal(string: "123456789012345678901234567890"))) != nil)
        var w = JSONWriter()
        let wrote = w.number(.nan)
        let flagged = w.invalidNumber, count = w.count
        #expect(!wrote && flagged && count == 0)
        _ = w.take()
        let cleared = !w.invalidNumber
        #expect(cleared)
    }

    @Test func writtenLikeJSONEncoderWritesDecimals() throws {
        struct Box: Encodable { var v: Decimal }
        for text in ["1.50", "-0.000123", "42", "1e3"] {
            let d = try #require(Decimal(string: text))
            let encoded = String(decoding: try JSONEncoder().encode(Box(v: d)), as: UTF8.self)
            #expect(encoded == "{\"v\":\(written(d))}")
        }
    }
}
