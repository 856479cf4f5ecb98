import Foundation

/// Sums, differences and products of Foundation decimals, bit for bit what Foundation's `+`,
/// `-` and `*` give, without Foundation's arithmetic when the operands are small enough to be
/// exact in 128 bits. Foundation's operators turn both operands into arrays of 16-bit words
/// and allocate on every call; the position manager's views and portfolio add dozens of
/// figures per event.
///
/// The fast path reads and writes the decimal's storage: 20 bytes, the exponent (`Int8`), a
/// byte of flags (length in 16-bit words in the high nibble, `0x08` negative, `0x04`
/// compact), two reserved bytes, eight little-endian mantissa words. It takes operands that
/// are zero or compact (no trailing decimal zeros, as Foundation keeps its results) with
/// mantissas below 10³⁸; it aligns the exponents, computes exactly in 128 bits, and strips
/// the result's trailing zeros as Foundation does. Anything else (NaN, operands or results
/// of 38 digits or more, exponents far apart, a layout other than the one checked once at
/// first use) is Foundation's own operator.
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

    struct Parts {
        var negative: Bool
        var exponent: Int
        var mantissa: UInt128
        /// Zero (length 0, not negative): Foundation's zero keeps an exponent (`0.00`).
        var isZero: Bool
    }

    static let limit: UInt128 = powersOfTen[38]
    static let powersOfTen: [UInt128] = (0...38).map { n in (0..<n).reduce(UInt128(1)) { p, _ in p * 10 } }

    /// The parts of a zero or compact value; nil for NaN or a non-compact value. Read as
    /// the layout above: only after ``layoutMatches`` said so.
    static func rawParts(_ d: Decimal) -> Parts? {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: d) { b -> Parts? in
            let flags = b[1]
            let length = Int(flags >> 4)
            let negative = flags & 0x08 != 0
            let exponent = Int(Int8(bitPattern: b[0]))
            if length == 0 {
                return negative ? nil : Parts(negative: false, exponent: exponent, mantissa: 0, isZero: true)  // NaN / zero
            }
            guard length <= 8, flags & 0x04 != 0 else { return nil }
            var m: UInt128 = 0
            var i = length - 1
            while i >= 0 {
                m = m << 16 | UInt128(b[4 + 2 * i]) | UInt128(b[5 + 2 * i]) << 8
                i -= 1
            }
            return m == 0 ? nil : Parts(negative: negative, exponent: exponent, mantissa: m, isZero: false)
        }
    }

    /// A compact value from a non-zero mantissa and an exponent that fits.
    static func make(negative: Bool, exponent: Int, mantissa: UInt128) -> Decimal {
        var d = Decimal()
        var words = 0
        var t = mantissa
        while t != 0 {
            words += 1
            t >>= 16
        }
        withUnsafeMutableBytes(of: &d) { b in
            b[0] = UInt8(bitPattern: Int8(exponent))
            b[1] = UInt8(words << 4) | (negative ? 0x08 : 0) | 0x04
            b[2] = 0
            b[3] = 0
            var t = mantissa
            for i in 0..<8 {
                b[4 + 2 * i] = UInt8(truncatingIfNeeded: t)
                b[5 + 2 * i] = UInt8(truncatingIfNeeded: t >> 8)
                t >>= 16
            }
        }
        return d
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
        return make(negative: negative, exponent: e, mantissa: m)
    }

    static func fastSum(_ a: Decimal, _ b: Decimal, negatingB: Bool) -> Decimal? {
        guard let x = rawParts(a), var y = rawParts(b) else { return nil }
        // A zero operand gives the other as it is (the left's zero first, as Foundation).
        if x.isZero {
            if !negatingB || y.isZero { return b }
            return make(negative: !y.negative, exponent: y.exponent, mantissa: y.mantissa)
        }
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
            m = mx + my
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
        guard let x = rawParts(a), let y = rawParts(b) else { return nil }
        if x.isZero || y.isZero { return Decimal() }
        let (m, overflow) = x.mantissa.multipliedReportingOverflow(by: y.mantissa)
        guard !overflow, m < limit else { return nil }
        return compacted(negative: x.negative != y.negative, exponent: x.exponent + y.exponent, mantissa: m)
    }

    /// Whether this Foundation stores decimals as described above: the parts of known values
    /// read back and rebuild the same bytes, and sums and products of them agree with
    /// Foundation's. Checked once; false sends every call to Foundation.
    static let layoutMatches: Bool = {
        guard MemoryLayout<Decimal>.size == 20 else { return false }
        func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }
        let samples: [Decimal] = [
            1, -1, 100, Decimal(string: "1.5")!, Decimal(string: "-0.001")!, Decimal(string: "65000.5")!,
            Decimal(string: "123456789012345678901234567")!, Decimal(sign: .minus, exponent: -20, significand: 7),
        ]
        for d in samples {
            guard let p = rawParts(d), !p.isZero, make(negative: p.negative, exponent: p.exponent, mantissa: p.mantissa) == d,
                  bytes(make(negative: p.negative, exponent: p.exponent, mantissa: p.mantissa)) == bytes(d) else { return false }
        }
        guard rawParts(.nan) == nil, let zero = rawParts(Decimal(0)), zero.isZero,
              fastSum(1, Decimal(string: "0.5")!, negatingB: false).map(bytes) == bytes(Decimal(string: "1.5")!) else { return false }
        for a in samples {
            for b in samples {
                // Nil (too far apart, too long) is Foundation's; anything else must be its bytes.
                if let s = fastSum(a, b, negatingB: false), bytes(s) != bytes(a + b) { return false }
                if let d = fastSum(a, b, negatingB: true), bytes(d) != bytes(a - b) { return false }
                if let p = fastProduct(a, b), bytes(p) != bytes(a * b) { return false }
            }
        }
        return true
    }()
}
