import Foundation

/// Sums, differences and products of Foundation decimals, bit for bit what Foundation's `+`,
/// `-` and `*` give, without Foundation's arithmetic when the operands are small enough to be
/// exact in 128 bits. In the Foundation of Swift 6.3.1 (profiled), those operators turn both
/// operands into arrays of 16-bit words and allocate on every call; the position manager's
/// views and portfolio add dozens of figures per event.
///
/// The fast path works on the decimal's storage (``DecimalBits``). It takes operands that
/// are zero or compact (no trailing decimal zeros, as Foundation keeps its results) with
/// mantissas below 10³⁸; it aligns the exponents, computes exactly in 128 bits, and strips
/// the result's trailing zeros as Foundation does. Anything else (NaN, operands or results of
/// 10³⁸ or more, exponents far apart or leaving `Int8`, a layout other than the one checked
/// once at first use) is Foundation's own operator.
public enum ExactDecimal {
    public static func sum(_ a: Decimal, _ b: Decimal) -> Decimal {
        (layoutMatches ? fastSum(a, b, negatingB: false) : nil) ?? a + b
    }

    public static func difference(_ a: Decimal, _ b: Decimal) -> Decimal {
        (layoutMatches ? fastSum(a, b, negatingB: true) : nil) ?? a - b
    }

    public static func product(_ a: Decimal, _ b: Decimal) -> Decimal {
        (layoutMatches ? fastProduct(a, b) : nil) ?? a * b
    }

    static let limit: UInt128 = powersOfTen[38]
    static let powersOfTen: [UInt128] = (0...38).map { n in (0..<n).reduce(UInt128(1)) { p, _ in p * 10 } }

    /// The fields of a zero or a compact value; nil for NaN and anything else. Read as the
    /// layout ``DecimalBits`` describes: only once ``layoutMatches`` said so.
    static func operand(_ d: Decimal) -> DecimalBits.Fields? {
        guard let f = DecimalBits.rawRead(d), !f.isNaN, f.isZero || (f.compact && f.mantissa != 0) else { return nil }
        return f
    }

    /// Trailing decimal zeros stripped; nil when the exponent would leave `Int8`.
    static func compacted(negative: Bool, exponent: Int, mantissa: UInt128) -> Decimal? {
        var m = mantissa
        var e = exponent
        while m % 10 == 0 {
            m /= 10
            e += 1
        }
        guard e >= -128, e <= 127 else { return nil }
        return DecimalBits.make(negative: negative, exponent: e, mantissa: m)
    }

    static func fastSum(_ a: Decimal, _ b: Decimal, negatingB: Bool) -> Decimal? {
        guard let x = operand(a), var y = operand(b) else { return nil }
        // A zero operand gives the other as it is (the left's zero first, as Foundation; a
        // subtracted operand with its sign flag flipped).
        if x.isZero { return negatingB ? DecimalBits.negated(b) : b }
        if y.isZero { return a }
        if negatingB { y.negative.toggle() }
        guard x.mantissa < limit, y.mantissa < limit else { return nil }
        let e = min(x.exponent, y.exponent)
        let dx = x.exponent - e, dy = y.exponent - e
        guard dx <= 38, dy <= 38 else { return nil }
        let (mx, ox) = x.mantissa.multipliedReportingOverflow(by: powersOfTen[dx])
        let (my, oy) = y.mantissa.multipliedReportingOverflow(by: powersOfTen[dy])
        guard !ox, !oy, mx < limit, my < limit else { return nil }
        let negative: Bool
        let m: UInt128
        if x.negative == y.negative {
            m = mx + my  // < 2·10³⁸ < 2¹²⁸
            negative = x.negative
        } else if mx >= my {
            m = mx - my
            negative = x.negative
        } else {
            m = my - mx
            negative = y.negative
        }
        guard m < limit else { return nil }
        if m == 0 { return Decimal() }
        return compacted(negative: negative, exponent: e, mantissa: m)
    }

    static func fastProduct(_ a: Decimal, _ b: Decimal) -> Decimal? {
        guard let x = operand(a), let y = operand(b) else { return nil }
        if x.isZero || y.isZero { return Decimal() }
        // The exponent before stripping zeros too: how Foundation treats one that leaves
        // `Int8` is its own (it may round, or stop the process).
        let e = x.exponent + y.exponent
        guard e >= -128, e <= 127 else { return nil }
        let (m, overflow) = x.mantissa.multipliedReportingOverflow(by: y.mantissa)
        guard !overflow, m < limit else { return nil }
        return compacted(negative: x.negative != y.negative, exponent: e, mantissa: m)
    }

    /// Whether the fast path may run: the storage layout is the one ``DecimalBits`` reads,
    /// and sums, differences and products of known values (zeros among them) agree with
    /// Foundation's bytes. Checked once; false sends every call to Foundation.
    static let layoutMatches: Bool = {
        guard DecimalBits.layoutMatches else { return false }
        func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }
        let samples: [Decimal] = [
            0, Decimal(string: "0.00")!, 1, -1, 100, Decimal(string: "1.5")!, Decimal(string: "-0.001")!, Decimal(string: "65000.5")!,
            Decimal(string: "123456789012345678901234567")!, Decimal(sign: .minus, exponent: -20, significand: 7),
        ]
        for a in samples {
            for b in samples {
                // Nil (too far apart, too long) is Foundation's; anything else must be its bytes.
                if let s = fastSum(a, b, negatingB: false), bytes(s) != bytes(a + b) { return false }
                if let d = fastSum(a, b, negatingB: true), bytes(d) != bytes(a - b) { return false }
                if let p = fastProduct(a, b), bytes(p) != bytes(a * b) { return false }
            }
        }
        return fastSum(1, Decimal(string: "0.5")!, negatingB: false).map(bytes) == bytes(Decimal(string: "1.5")!)
    }()
}
