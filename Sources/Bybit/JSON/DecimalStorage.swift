import Foundation
import TradelogCore

/// A `Decimal`'s sign, exponent and mantissa read from its storage (``DecimalBits``), for
/// writing its text without Foundation's `description` (a long division per digit group and a
/// `String` per call: the floor of every hand-written encoder of Foundation decimals).
///
/// The text made from the parts is checked once against `description` on known values; if it
/// ever differs, or the storage is not the one ``DecimalBits`` reads, ``parts(_:)`` returns nil
/// for everything and callers use `description`, so the text stays exact either way.
public enum DecimalStorage {
    /// The value as sign, exponent and mantissa (at most 128 bits: all eight words); nil
    /// for NaN or when a check failed.
    @inline(__always)
    public static func parts(_ value: Decimal) -> (negative: Bool, exponent: Int, mantissa: UInt128)? {
        guard layoutMatches else { return nil }
        return rawParts(value)
    }

    static func rawParts(_ value: Decimal) -> (negative: Bool, exponent: Int, mantissa: UInt128)? {
        guard let f = DecimalBits.read(value), !f.isNaN else { return nil }
        // A zero's exponent does not show in its text (`0`).
        return f.isZero ? (false, 0, 0) : (f.negative, f.exponent, f.mantissa)
    }

    /// Whether the text made from the parts is `description`'s (checked once).
    static let layoutMatches: Bool = {
        let samples: [Decimal] = [
            0, 1, -1, Decimal(string: "1.50")!, Decimal(string: "-0.00100")!, Decimal(string: "123456789012.345678")!,
            Decimal(string: "-98765432109876543.21")!, Decimal(sign: .plus, exponent: 7, significand: 42),
            Decimal(sign: .minus, exponent: -30, significand: Decimal(UInt64.max)),
            Decimal(string: "123456789012345678901234567890")!, Decimal(1) / Decimal(3), Decimal(-2) / Decimal(7),
        ]
        for d in samples {
            guard let p = rawParts(d) else { return false }
            var out: [UInt8] = []
            appendText(negative: p.negative, exponent: p.exponent, mantissa: p.mantissa, to: &out)
            if String(decoding: out, as: UTF8.self) != d.description { return false }
        }
        return rawParts(.nan) == nil  // NaN must be refused, not misread
    }()

    /// The text `Decimal.description` gives: plain notation, no exponent, the mantissa's
    /// digits as stored (trailing zeros of the fraction kept), `0` for zero.
    public static func appendText(negative: Bool, exponent: Int, mantissa: UInt128, to out: inout [UInt8]) {
        withText(negative: negative, exponent: exponent, mantissa: mantissa) { out.append(contentsOf: $0) }
    }

    /// The longest text: a sign, 39 digits and 127 zeros after them, or `0.`, 127 zeros and
    /// a digit (the exponent is an `Int8`).
    static let maxTextCount = 1 + 39 + 128

    /// Lends the text of ``appendText(negative:exponent:mantissa:to:)`` from scratch space on
    /// the stack (no array per number).
    public static func withText<R>(negative: Bool, exponent: Int, mantissa: UInt128, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        precondition(exponent >= -128 && exponent <= 127, "a Decimal's exponent is an Int8")
        return withUnsafeTemporaryAllocation(byteCount: maxTextCount, alignment: 1) { out in
            var count = 0
            func put(_ b: UInt8) {
                out[count] = b
                count += 1
            }
            if mantissa == 0 {
                put(UInt8(ascii: "0"))
                return body(UnsafeRawBufferPointer(rebasing: out[..<count]))
            }
            if negative { put(UInt8(ascii: "-")) }
            // 39 digits at most: 48 bytes of scratch. Written from the end, in runs of 19
            // digits divided off with one 128-bit division each.
            var digits: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0, 0, 0)
            return withUnsafeMutableBytes(of: &digits) { buf in
                var rest = mantissa
                var n = 0
                while rest > UInt128(UInt64.max) {
                    var chunk = UInt64(rest % 10_000_000_000_000_000_000)
                    rest /= 10_000_000_000_000_000_000
                    for _ in 0..<19 {
                        buf[47 - n] = UInt8(ascii: "0") &+ UInt8(chunk % 10)
                        chunk /= 10
                        n += 1
                    }
                }
                var m = UInt64(rest)
                repeat {
                    buf[47 - n] = UInt8(ascii: "0") &+ UInt8(m % 10)
                    m /= 10
                    n += 1
                } while m > 0
                let ds = UnsafeRawBufferPointer(rebasing: buf[(48 - n)...])
                if exponent >= 0 {
                    for d in ds { put(d) }
                    for _ in 0..<exponent { put(UInt8(ascii: "0")) }
                } else if n > -exponent {
                    let point = n + exponent
                    for d in ds[..<point] { put(d) }
                    put(UInt8(ascii: "."))
                    for d in ds[point...] { put(d) }
                } else {
                    put(UInt8(ascii: "0"))
                    put(UInt8(ascii: "."))
                    for _ in 0..<(-exponent - n) { put(UInt8(ascii: "0")) }
                    for d in ds { put(d) }
                }
                return body(UnsafeRawBufferPointer(rebasing: out[..<count]))
            }
        }
    }
}

extension JSONWriter {
    /// A Foundation `Decimal` as a JSON number, in exactly the text `JSONEncoder` writes for
    /// it (its `description`), without going through `description` when the value fits.
    /// NaN has no JSON text: it writes nothing, sets ``invalidNumber`` and returns false.
    @discardableResult
    public mutating func number(_ value: Decimal) -> Bool {
        if value.isNaN {
            invalidNumber = true
            return false
        }
        if let p = DecimalStorage.parts(value) {
            DecimalStorage.withText(negative: p.negative, exponent: p.exponent, mantissa: p.mantissa) { raw($0) }
        } else {
            var text = value.description
            text.withUTF8 { raw(UnsafeRawBufferPointer($0)) }
        }
        return true
    }
}

extension JSONWriter {
    /// A member whose nil value is left out, as synthesized `Codable` does.
    public mutating func member(_ name: StaticString, _ value: Decimal?) {
        guard let value else { return }
        key(name)
        number(value)
    }
}
