import Foundation

/// A compact, exactly comparable decimal: `mantissa × 10^exponent`, normalized so that equal
/// values have equal fields (no trailing zeros in the mantissa; zero is `0 × 10^0`).
///
/// Built straight from Bybit's decimal text without `Decimal`, it orders book levels and
/// keys dictionaries cheaply. Up to 18 significant digits, which covers every price and
/// size Bybit prints.
public struct PriceKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let mantissa: Int64
    public let exponent: Int16

    public static let zero = PriceKey(normalizedMantissa: 0, exponent: 0)

    /// Most significant digits a key holds.
    public static let maxDigits = 18

    init(normalizedMantissa: Int64, exponent: Int16) {
        self.mantissa = normalizedMantissa
        self.exponent = exponent
    }

    /// `mantissa × 10^exponent`, normalized.
    public init(mantissa: Int64, exponent: Int) {
        var m = mantissa
        var e = exponent
        if m == 0 {
            self.init(normalizedMantissa: 0, exponent: 0)
            return
        }
        while m % 10 == 0 {
            m /= 10
            e += 1
        }
        self.init(normalizedMantissa: m, exponent: Int16(clamping: e))
    }

    /// Parses decimal text (`"1.9530"`, `"-0.5"`, `"43730"`, `"1e-3"`); nil when the text is
    /// not a decimal or has more than ``maxDigits`` significant digits.
    public init?(_ text: String) {
        var copy = text
        guard let key = copy.withUTF8({ PriceKey.parse(UnsafeRawBufferPointer($0)) }) else { return nil }
        self = key
    }

    /// The key of a `Decimal`; nil when it has more than ``maxDigits`` significant digits.
    public init?(_ value: Decimal) {
        self.init(value.description)
    }

    public var isZero: Bool { mantissa == 0 }

    /// The exact `Decimal` value.
    public var decimal: Decimal {
        if mantissa == 0 { return 0 }
        return Decimal(sign: mantissa < 0 ? .minus : .plus, exponent: Int(exponent),
                       significand: Decimal(mantissa.magnitude))
    }

    /// Canonical decimal text (see ``DecimalText``).
    public var description: String {
        var out = [UInt8]()
        appendText(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Appends canonical decimal text.
    public func appendText(to out: inout [UInt8]) {
        if mantissa == 0 {
            out.append(UInt8(ascii: "0"))
            return
        }
        if mantissa < 0 { out.append(UInt8(ascii: "-")) }
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // 24 bytes of scratch, no heap
        var count = 0
        withUnsafeMutableBytes(of: &digits) { buf in
            var m = mantissa.magnitude
            repeat {
                buf[23 - count] = UInt8(ascii: "0") + UInt8(m % 10)
                m /= 10
                count += 1
            } while m > 0
            let ds = UnsafeRawBufferPointer(rebasing: buf[(24 - count)...])
            let e = Int(exponent)
            if e >= 0 {
                out.appendRaw(ds)
                for _ in 0..<e { out.append(UInt8(ascii: "0")) }
            } else if -e >= count {
                out.append(UInt8(ascii: "0"))
                out.append(UInt8(ascii: "."))
                for _ in 0..<(-e - count) { out.append(UInt8(ascii: "0")) }
                out.appendRaw(ds)
            } else {
                let split = count + e
                out.appendRaw(UnsafeRawBufferPointer(rebasing: ds[..<split]))
                out.append(UInt8(ascii: "."))
                out.appendRaw(UnsafeRawBufferPointer(rebasing: ds[split...]))
            }
        }
    }

    @inline(__always)
    public static func < (a: PriceKey, b: PriceKey) -> Bool {
        if a.exponent == b.exponent { return a.mantissa < b.mantissa }
        return lessAcrossExponents(a, b)
    }

    /// Compares keys of different scales by scaling the coarser one up (exactly, in Int64;
    /// an overflow means its magnitude is the larger one).
    @inline(never)
    static func lessAcrossExponents(_ a: PriceKey, _ b: PriceKey) -> Bool {
        if (a.mantissa < 0) != (b.mantissa < 0) || a.mantissa == 0 || b.mantissa == 0 {
            return a.mantissa < b.mantissa
        }
        if a.exponent > b.exponent {
            guard let scaled = scaled(a.mantissa, by: Int(a.exponent) - Int(b.exponent)) else {
                return a.mantissa < 0  // |a| is beyond Int64 at b's scale
            }
            return scaled < b.mantissa
        } else {
            guard let scaled = scaled(b.mantissa, by: Int(b.exponent) - Int(a.exponent)) else {
                return b.mantissa > 0
            }
            return a.mantissa < scaled
        }
    }

    @inline(__always)
    private static func scaled(_ m: Int64, by digits: Int) -> Int64? {
        guard digits <= 18 else { return nil }
        let (r, overflow) = m.multipliedReportingOverflow(by: powerOfTen(digits))
        return overflow ? nil : r
    }

    /// Parses decimal text in one pass without allocating (the exponent form goes through
    /// ``DecimalText`` first).
    @inline(__always)
    static func parse(_ src: UnsafeRawBufferPointer) -> PriceKey? {
        guard let scan = DecimalScan(src) else { return nil }
        return PriceKey(scan: scan, in: src)
    }

    /// The key of text already scanned.
    @inline(__always)
    init?(scan: DecimalScan, in src: UnsafeRawBufferPointer) {
        if scan.hasExponent {
            var plain = [UInt8]()
            guard DecimalText.appendExponentForm(src, to: &plain),
                  let key = plain.withUnsafeBytes({ PriceKey.parse($0) }) else { return nil }  // plain has no exponent
            self = key
            return
        }
        if scan.isZero {
            self = .zero
            return
        }
        var intStop = scan.intEnd
        var exponent = -(scan.fracEnd - scan.fracStart)
        var fracSig = scan.fracStart
        if scan.fracEnd == scan.fracStart {
            // A whole number: its trailing zeros go into the exponent.
            while intStop > scan.intStart && src[intStop - 1] == UInt8(ascii: "0") { intStop -= 1 }
            exponent = scan.intEnd - intStop
        } else if scan.intStart == scan.intEnd {
            // A pure fraction: its leading zeros ("0.005") are not significant.
            while fracSig < scan.fracEnd && src[fracSig] == UInt8(ascii: "0") { fracSig += 1 }
        }
        let digitCount = (intStop - scan.intStart) + (scan.fracEnd - fracSig)
        guard digitCount <= PriceKey.maxDigits, exponent > -Int(Int16.max), exponent < Int(Int16.max) else { return nil }
        var m: Int64 = 0
        var k = scan.intStart
        while k < intStop {
            m = m &* 10 &+ Int64(src[k] &- UInt8(ascii: "0"))
            k += 1
        }
        k = fracSig
        while k < scan.fracEnd {
            m = m &* 10 &+ Int64(src[k] &- UInt8(ascii: "0"))
            k += 1
        }
        self.init(normalizedMantissa: scan.negative ? -m : m, exponent: Int16(exponent))
    }
}

/// 10^n for 0 ≤ n ≤ 18 (a jump table; a static array would cost a lazy-init check per use).
@inline(__always)
func powerOfTen(_ n: Int) -> Int64 {
    switch n {
    case 0: return 1
    case 1: return 10
    case 2: return 100
    case 3: return 1_000
    case 4: return 10_000
    case 5: return 100_000
    case 6: return 1_000_000
    case 7: return 10_000_000
    case 8: return 100_000_000
    case 9: return 1_000_000_000
    case 10: return 10_000_000_000
    case 11: return 100_000_000_000
    case 12: return 1_000_000_000_000
    case 13: return 10_000_000_000_000
    case 14: return 100_000_000_000_000
    case 15: return 1_000_000_000_000_000
    case 16: return 10_000_000_000_000_000
    case 17: return 100_000_000_000_000_000
    default: return 1_000_000_000_000_000_000
    }
}
