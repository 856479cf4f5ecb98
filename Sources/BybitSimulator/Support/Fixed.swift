/// An exact decimal with 8 fractional digits, stored as an `Int64` count of 1e-8 units.
///
/// Prices, quantities, fees and balances all fit (up to ±92 billion), arithmetic is exact
/// or rounds explicitly, and nothing depends on floating point, so matching is deterministic.
public struct Fixed: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The value in units of 1e-8.
    public var raw: Int64

    public static let decimals = 8
    public static let scale: Int64 = 100_000_000
    public static let zero = Fixed(raw: 0)

    public init(raw: Int64) { self.raw = raw }

    public init(_ integer: Int) { raw = Int64(integer) * Self.scale }

    /// Parses `-12.345`, `0.001`, `42`; no exponent, at most 8 decimals, nil otherwise.
    public init?(_ text: String) {
        var t = text
        guard let v = t.withUTF8({ Self.parse($0) }) else { return nil }
        raw = v
    }

    public init?(_ text: Substring) { self.init(String(text)) }

    static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Int64? {
        var i = 0
        var negative = false
        if i < bytes.count, bytes[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        else if i < bytes.count, bytes[i] == UInt8(ascii: "+") { i += 1 }
        var intPart: Int64 = 0
        var digits = 0
        while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
            let (m, o1) = intPart.multipliedReportingOverflow(by: 10)
            let (a, o2) = m.addingReportingOverflow(Int64(bytes[i] - 48))
            guard !o1, !o2 else { return nil }
            intPart = a
            i += 1; digits += 1
        }
        var frac: Int64 = 0
        var fracDigits = 0
        if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
            i += 1
            while i < bytes.count, bytes[i] >= 48, bytes[i] <= 57 {
                if fracDigits < decimals {
                    frac = frac * 10 + Int64(bytes[i] - 48)
                } else if bytes[i] != 48 {
                    return nil  // more precision than we can hold exactly
                }
                fracDigits += 1
                i += 1; digits += 1
            }
        }
        guard i == bytes.count, digits > 0 else { return nil }
        for _ in min(fracDigits, decimals)..<decimals { frac *= 10 }
        let (m, o1) = intPart.multipliedReportingOverflow(by: scale)
        let (v, o2) = m.addingReportingOverflow(frac)
        guard !o1, !o2 else { return nil }
        return negative ? -v : v
    }

    public static func < (a: Fixed, b: Fixed) -> Bool { a.raw < b.raw }
    public static func + (a: Fixed, b: Fixed) -> Fixed { Fixed(raw: a.raw + b.raw) }
    public static func - (a: Fixed, b: Fixed) -> Fixed { Fixed(raw: a.raw - b.raw) }
    public static prefix func - (a: Fixed) -> Fixed { Fixed(raw: -a.raw) }
    public static func += (a: inout Fixed, b: Fixed) { a.raw += b.raw }
    public static func -= (a: inout Fixed, b: Fixed) { a.raw -= b.raw }

    /// Multiplies by an integer (a count of lots or ticks).
    public static func * (a: Fixed, n: Int64) -> Fixed { Fixed(raw: a.raw * n) }

    /// The exact product rounded half away from zero to 8 decimals.
    public static func * (a: Fixed, b: Fixed) -> Fixed { a.multiplied(by: b) }

    public func multiplied(by other: Fixed) -> Fixed {
        let negative = (raw < 0) != (other.raw < 0)
        let p = raw.magnitude.multipliedFullWidth(by: other.raw.magnitude)
        let (q, r) = UInt64(Self.scale).dividingFullWidth(p)
        var v = Int64(truncatingIfNeeded: q)
        if r * 2 >= UInt64(Self.scale) { v += 1 }
        return Fixed(raw: negative ? -v : v)
    }

    /// The quotient rounded half away from zero to 8 decimals; zero divisor gives zero.
    public func divided(by other: Fixed) -> Fixed {
        guard other.raw != 0 else { return .zero }
        let negative = (raw < 0) != (other.raw < 0)
        let p = raw.magnitude.multipliedFullWidth(by: UInt64(Self.scale))
        let d = other.raw.magnitude
        let (q, r) = d.dividingFullWidth(p)
        var v = Int64(truncatingIfNeeded: q)
        if r >= d - r { v += 1 }
        return Fixed(raw: negative ? -v : v)
    }

    public var isZero: Bool { raw == 0 }
    public var isNegative: Bool { raw < 0 }
    public var magnitude: Fixed { Fixed(raw: raw < 0 ? -raw : raw) }

    /// True when this is a whole multiple of `step` (a positive grid size).
    public func isMultiple(of step: Fixed) -> Bool { step.raw > 0 && raw % step.raw == 0 }

    /// Rounded down (toward minus infinity) to a multiple of `step`.
    public func floored(to step: Fixed) -> Fixed {
        guard step.raw > 0 else { return self }
        var q = raw / step.raw
        if raw % step.raw != 0, raw < 0 { q -= 1 }
        return Fixed(raw: q * step.raw)
    }

    /// Rounded up (toward plus infinity) to a multiple of `step`.
    public func ceiled(to step: Fixed) -> Fixed {
        guard step.raw > 0 else { return self }
        var q = raw / step.raw
        if raw % step.raw != 0, raw > 0 { q += 1 }
        return Fixed(raw: q * step.raw)
    }

    /// Rounded half away from zero to `places` decimals (0...8).
    public func rounded(places: Int) -> Fixed {
        let unit = Self.pow10[Self.decimals - max(0, min(Self.decimals, places))]
        guard unit > 1 else { return self }
        let m = raw.magnitude
        var q = m / UInt64(unit)
        if (m % UInt64(unit)) * 2 >= UInt64(unit) { q += 1 }
        let v = Int64(q) * unit
        return Fixed(raw: raw < 0 ? -v : v)
    }

    /// The number of decimals needed to write a grid step such as `0.001` (3) or `5` (0).
    public var decimalPlaces: Int {
        var v = raw.magnitude
        var places = Self.decimals
        while places > 0, v % 10 == 0 { v /= 10; places -= 1 }
        return places
    }

    static let pow10: [Int64] = [1, 10, 100, 1000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]

    /// Trailing zeros removed: `43774`, `0.5`, `-1.25`.
    public var description: String {
        var out = [UInt8]()
        appendTrimmed(to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    /// Exactly `places` decimals (rounded half away from zero), e.g. `28550.70`.
    public func formatted(places: Int) -> String {
        var out = [UInt8]()
        appendFixed(to: &out, places: places)
        return String(decoding: out, as: UTF8.self)
    }

    public func appendTrimmed(to out: inout [UInt8]) {
        let m = raw.magnitude
        if raw < 0 { out.append(UInt8(ascii: "-")) }
        Self.appendUnsigned(m / UInt64(Self.scale), to: &out)
        var frac = m % UInt64(Self.scale)
        guard frac != 0 else { return }
        var places = Self.decimals
        while frac % 10 == 0 { frac /= 10; places -= 1 }
        out.append(UInt8(ascii: "."))
        Self.appendPadded(frac, width: places, to: &out)
    }

    public func appendFixed(to out: inout [UInt8], places: Int) {
        let p = max(0, min(Self.decimals, places))
        let v = rounded(places: p)
        let m = v.raw.magnitude
        if v.raw < 0 { out.append(UInt8(ascii: "-")) }
        Self.appendUnsigned(m / UInt64(Self.scale), to: &out)
        guard p > 0 else { return }
        out.append(UInt8(ascii: "."))
        let frac = (m % UInt64(Self.scale)) / UInt64(Self.pow10[Self.decimals - p])
        Self.appendPadded(frac, width: p, to: &out)
    }

    static func appendUnsigned(_ value: UInt64, to out: inout [UInt8]) {
        if value == 0 { out.append(48); return }
        var v = value
        var tmp: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                  UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var n = 0
        withUnsafeMutableBytes(of: &tmp) { buf in
            while v > 0 {
                buf[n] = UInt8(48 + v % 10)
                v /= 10
                n += 1
            }
            var i = n - 1
            while i >= 0 { out.append(buf[i]); i -= 1 }
        }
    }

    static func appendPadded(_ value: UInt64, width: Int, to out: inout [UInt8]) {
        var digits = 1
        var t = value
        while t >= 10 { t /= 10; digits += 1 }
        if digits < width { for _ in 0..<(width - digits) { out.append(48) } }
        appendUnsigned(value, to: &out)
    }
}

/// How a public number is written: linear pads to the instrument's decimals (`"0.100"`,
/// `"28550.70"`), spot trims trailing zeros (`"0.5"`, `"43774"`), as the captures show.
public enum NumberStyle: Sendable, Hashable {
    case places(Int)
    case trimmed

    public func string(_ v: Fixed) -> String {
        switch self {
        case .places(let p): return v.formatted(places: p)
        case .trimmed: return v.description
        }
    }

    public func append(_ v: Fixed, to out: inout [UInt8]) {
        switch self {
        case .places(let p): v.appendFixed(to: &out, places: p)
        case .trimmed: v.appendTrimmed(to: &out)
        }
    }
}
