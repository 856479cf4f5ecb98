import Foundation

/// A Foundation `Decimal`'s storage, read and written directly: for writing its text without
/// `description` and for arithmetic without Foundation's (see ``ExactDecimal``).
///
/// Foundation keeps these fields internal. Its storage is 20 bytes: the exponent (`Int8`),
/// a byte of flags (length in 16-bit words in the high nibble, `0x08` negative, `0x04`
/// compact, the low two bits reserved), two reserved bytes, then eight little-endian 16-bit
/// mantissa words. Length 0 is zero, or NaN when the negative flag is set. That layout is
/// checked once on known values; if a Foundation ever stores decimals differently,
/// ``read(_:)`` returns nil for everything and callers use Foundation's own API.
public enum DecimalBits {
    public struct Fields: Sendable, Equatable {
        public var negative: Bool
        public var exponent: Int
        /// Mantissa words in use; 0 for zero and NaN.
        public var length: Int
        public var compact: Bool
        public var mantissa: UInt128

        public var isNaN: Bool { length == 0 && negative }
        public var isZero: Bool { length == 0 && !negative }
    }

    /// The fields of `value`; nil when the layout check failed, or for storage this reader
    /// does not know (a reserved bit set, a length above 8).
    @inline(__always)
    public static func read(_ value: Decimal) -> Fields? {
        guard layoutMatches else { return nil }
        return rawRead(value)
    }

    static func rawRead(_ value: Decimal) -> Fields? {
        guard MemoryLayout<Decimal>.size == 20 else { return nil }
        return withUnsafeBytes(of: value) { b -> Fields? in
            let flags = b[1]
            let length = Int(flags >> 4)
            guard length <= 8, flags & 0x03 == 0, b[2] == 0, b[3] == 0 else { return nil }
            var m: UInt128 = 0
            var i = length - 1
            while i >= 0 {
                m = m << 16 | UInt128(b[4 + 2 * i]) | UInt128(b[5 + 2 * i]) << 8
                i -= 1
            }
            return Fields(negative: flags & 0x08 != 0, exponent: Int(Int8(bitPattern: b[0])), length: length,
                          compact: flags & 0x04 != 0, mantissa: m)
        }
    }

    /// A compact value with the fewest words: a non-zero mantissa and an exponent in `Int8`.
    public static func make(negative: Bool, exponent: Int, mantissa: UInt128) -> Decimal {
        precondition(mantissa != 0 && exponent >= -128 && exponent <= 127, "a compact non-zero decimal")
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

    /// `value` with its sign flipped, as Foundation's negation stores it (the flag alone); a
    /// zero or NaN as it is.
    public static func negated(_ value: Decimal) -> Decimal {
        var d = value
        withUnsafeMutableBytes(of: &d) { b in
            if b[1] >> 4 != 0 { b[1] ^= 0x08 }
        }
        return d
    }

    /// Whether this Foundation stores decimals as described above (checked once): known values
    /// read back as their sign, exponent and digits, and rebuild to the same bytes; zero and
    /// NaN read as such; negation flips the flag alone.
    public static let layoutMatches: Bool = {
        guard MemoryLayout<Decimal>.size == 20 else { return false }
        func bytes(_ d: Decimal) -> [UInt8] { withUnsafeBytes(of: d) { Array($0) } }
        let known: [(Decimal, Bool, Int, UInt128)] = [
            (1, false, 0, 1), (-1, true, 0, 1), (100, false, 2, 1), (Decimal(string: "1.5")!, false, -1, 15),
            (Decimal(string: "-0.001")!, true, -3, 1), (Decimal(string: "65000.5")!, false, -1, 650_005),
            (Decimal(string: "123456789012345678901234567")!, false, 0, 123_456_789_012_345_678_901_234_567),
            (Decimal(sign: .minus, exponent: -20, significand: 7), true, -20, 7),
        ]
        for (d, negative, exponent, mantissa) in known {
            guard let f = rawRead(d), f.negative == negative, f.exponent == exponent, f.mantissa == mantissa, f.compact,
                  bytes(make(negative: negative, exponent: exponent, mantissa: mantissa)) == bytes(d),
                  bytes(negated(d)) == bytes(-d) else { return false }
        }
        guard let zero = rawRead(Decimal(0)), zero.isZero, let nan = rawRead(.nan), nan.isNaN else { return false }
        return true
    }()
}
