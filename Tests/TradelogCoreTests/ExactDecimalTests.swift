import Foundation
import Testing
@testable import TradelogCore

/// `ExactDecimal` must give Foundation's `+`, `-` and `*` bit for bit (the same value *and*
/// the same representation: the text written from a decimal shows its exponent).
@Suite("Exact decimal arithmetic against Foundation's")
struct ExactDecimalTests {
    static func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }

    /// Products only where Foundation's own `*` does not trap (it stops the process when an
    /// exponent leaves its range; the fast path hands those to it unchanged).
    static func expectSame(_ a: Decimal, _ b: Decimal, products: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(bytes(ExactDecimal.sum(a, b)) == bytes(a + b), "\(a) + \(b)", sourceLocation: sourceLocation)
        #expect(bytes(ExactDecimal.difference(a, b)) == bytes(a - b), "\(a) - \(b)", sourceLocation: sourceLocation)
        if products {
            #expect(bytes(ExactDecimal.product(a, b)) == bytes(a * b), "\(a) * \(b)", sourceLocation: sourceLocation)
        }
    }

    /// A value of one of the shapes the position manager meets, and the edges: zeros with an
    /// exponent (`0.00`), integers, prices and sizes, 38-digit values, quotients (which carry
    /// 38 digits), tiny and huge exponents.
    static func sample(_ rng: inout SplitMix64) -> Decimal {
        func below(_ n: UInt64) -> Int { Int(rng.next() % n) }
        switch below(24) {
        case 0: return 0
        case 1: return Decimal(string: ["0.00", "0.0", "-0", "0e5", "0e-30"][below(5)])!
        case 2: return Decimal(below(2001) - 1000)
        case 3: return Decimal(below(1000) + 1) / Decimal(below(96) + 2)
        case 4: return Decimal(sign: below(2) == 0 ? .plus : .minus, exponent: [60, -60, 45, -45][below(4)], significand: Decimal(below(99) + 1))
        default:
            let digits = below(6) == 0 ? 30 + below(9) : 1 + below(19)
            var s = below(2) == 0 ? "-" : ""
            for i in 0..<digits { s += String(i == 0 ? 1 + below(9) : below(10)) }
            return Decimal(string: s + "e\(below(41) - 25)")!
        }
    }

    @Test("the storage layout this Foundation uses is the one the fast path reads")
    func layout() {
        #expect(DecimalBits.layoutMatches && ExactDecimal.layoutMatches)
    }

    @Test("DecimalBits: fields read back and rebuild the same bytes; negation flips the flag as Foundation's; unknown storage is refused")
    func bits() throws {
        var rng = SplitMix64(seed: 3)
        for _ in 0..<5_000 {
            let x = Self.sample(&rng)
            let f = try #require(DecimalBits.read(x))
            #expect(f.isNaN == x.isNaN && f.isZero == x.isZero)
            if !f.isZero && !f.isNaN && f.compact {
                #expect(Self.bytes(DecimalBits.make(negative: f.negative, exponent: f.exponent, mantissa: f.mantissa)) == Self.bytes(x))
            }
            if !x.isNaN { #expect(Self.bytes(DecimalBits.negated(x)) == Self.bytes(-x)) }
        }
        var odd = Decimal(string: "1.5")!
        withUnsafeMutableBytes(of: &odd) { $0[2] = 1 }  // a reserved byte set
        #expect(DecimalBits.read(odd) == nil && ExactDecimal.operand(odd) == nil)
    }

    @Test("seeded operands: sums, differences and products equal Foundation's bytes")
    func seeded() {
        var rng = SplitMix64(seed: 42)
        var fast = 0
        for n in 0..<60_000 {
            let a = Self.sample(&rng)
            // Often the same exponent or the same value, as running sums meet them.
            let b = n % 5 == 0 ? a : (n % 7 == 0 ? -a : Self.sample(&rng))
            Self.expectSame(a, b)
            if ExactDecimal.fastSum(a, b, negatingB: false) != nil { fast += 1 }
        }
        // The fast path takes most of them (the rest is Foundation's own operator).
        #expect(fast > 40_000)
    }

    @Test("edges: zeros keep the operand's exponent, opposite values cancel to plain zero, NaN and overflow go to Foundation")
    func edges() {
        let d = { (s: String) in Decimal(string: s)! }
        let cases: [(Decimal, Decimal)] = [
            (0, 0), (d("0.00"), 0), (0, d("0.00")), (d("0.00"), d("0e5")), (0, d("1.5")), (d("1.5"), 0), (d("0.00"), d("-2.25")),
            (d("1.5"), d("-1.5")), (d("1.50"), d("2.50")), (d("65000.5"), d("-65000.4")), (d("0.001"), 1000),
            (d("12345678901234567890"), 1), (d("99999999999999999999999999999999999999"), 1),
            (d("9999999999999999999"), d("9999999999999999999")), (.nan, 1), (1, .nan), (d("1e30"), d("1e-30")),
            (Decimal(1) / 3, Decimal(2) / 3), (d("1e60"), d("1e60")), (d("1e-60"), d("-1e-60")),
        ]
        for (a, b) in cases {
            Self.expectSame(a, b)
            Self.expectSame(b, a)
        }
        // At the ends of the exponent's range: sums only (Foundation's product would trap).
        for (a, b) in [(d("1e127"), d("1e127")), (d("1e127"), 1), (d("1e-128"), d("1e-128")), (d("1e-128"), 1), (d("5e127"), d("5e127"))] {
            Self.expectSame(a, b, products: false)
            Self.expectSame(b, a, products: false)
        }
        // A product whose exponent would leave Int8 is not made by the fast path.
        #expect(ExactDecimal.fastProduct(d("1e100"), d("1e100")) == nil)
        #expect(ExactDecimal.fastSum(.nan, 1, negatingB: false) == nil && ExactDecimal.fastProduct(1, .nan) == nil)
    }

    @Test("x + 0, 0 + x, x - 0 and x * 1 are x, bit for bit")
    func identities() {
        var rng = SplitMix64(seed: 7)
        for _ in 0..<5_000 {
            let x = Self.sample(&rng)
            guard !x.isNaN else { continue }
            #expect(Self.bytes(ExactDecimal.sum(x, 0)) == Self.bytes(x + 0))
            #expect(Self.bytes(ExactDecimal.sum(0, x)) == Self.bytes(0 + x))
            #expect(Self.bytes(ExactDecimal.difference(x, 0)) == Self.bytes(x - 0))
            #expect(Self.bytes(ExactDecimal.product(x, 1)) == Self.bytes(x * 1))
            // And x itself, for the non-zero values the fast path takes (of two zeros, the
            // sum is the right one: `0.00 + 0` is `0`).
            if !x.isZero, ExactDecimal.operand(x) != nil {
                #expect(Self.bytes(ExactDecimal.sum(x, 0)) == Self.bytes(x) && Self.bytes(ExactDecimal.sum(0, x)) == Self.bytes(x))
                #expect(Self.bytes(ExactDecimal.difference(x, 0)) == Self.bytes(x))
                #expect(Self.bytes(ExactDecimal.product(x, 1)) == Self.bytes(x))
            }
        }
    }
}
